/**
 * Shared state of the adversarial suite (tests/adversarial/adversarial.test.ts and the `_*.ts`
 * category modules it registers): the knobs of the default and the deep mode, canary secrets,
 * everything captured for the final leak scan (error renderings, CLI output, temp dirs), and the
 * per-category counters printed at the end.
 *
 * Default mode is fast (it runs inside `npm test`, on Node and on Deno); `SEALFIG_TEST_DEEP=1`
 * (`npm run test:deep`) runs more property cases, more fuzzing and 100 crash repetitions.
 */
import { expect } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { isSealfigError, type SealfigError } from "../../src/errors.ts";
import { byteForms, renderings } from "../_helpers/leaks.ts";
import { makeTempDir, type TempDir } from "../_helpers/tmp_dir.ts";
import type { CliResult } from "../_helpers/cli.ts";
import type { LoadConfigOptions } from "../../src/config/load_config.ts";
import type { StandardSchemaV1 } from "../../src/config/validate.ts";

/** True in deep mode (`SEALFIG_TEST_DEEP=1`). */
export const DEEP = process.env.SEALFIG_TEST_DEEP === "1";

/** How much each category does, per mode. */
export const KNOBS = DEEP
  ? {
    valueRuns: 2_000,
    documentRuns: 400,
    mutationRuns: 5_000,
    randomInputRuns: 5_000,
    crashRepeats: 100,
    concurrentLoads: 200,
  }
  : {
    valueRuns: 100,
    documentRuns: 25,
    mutationRuns: 300,
    randomInputRuns: 300,
    crashRepeats: 4,
    concurrentLoads: 200,
  };

/** The runtime, for the summary. */
export const RUNTIME = "Deno" in globalThis ? "deno" : `node ${process.version}`;

// --- canaries --------------------------------------------------------------------------------

const RUN_ID = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16))
  .join("");
const canaries: string[] = [];

/**
 * A fresh canary secret: `cnry-<label>-<run>-<n>`, plain-scalar safe. Every canary is searched
 * for in everything the suite captured, at the end.
 */
export function canary(label: string): string {
  const c = `cnry-${label}-${RUN_ID}-${canaries.length}`;
  canaries.push(c);
  return c;
}

// --- captures --------------------------------------------------------------------------------

interface Capture {
  label: string;
  text: string;
}
const captures: Capture[] = [];
const dirs: TempDir[] = [];
const plaintextByDesign = new Set<string>();

/** Keep text (CLI output, a message) for the leak scan. */
export function captureText(label: string, text: string): void {
  captures.push({ label, text });
}

/** Keep every rendering of an error (message, stack, cause, inspect, JSON) for the leak scan. */
export function captureError(label: string, err: unknown): void {
  captures.push({ label, text: renderings(err) });
}

/** Keep a CLI run's stdout and stderr for the leak scan. */
export function captureCli(label: string, r: CliResult): void {
  captures.push({ label: `${label} (stdout)`, text: r.stdout });
  captures.push({ label: `${label} (stderr)`, text: r.stderr });
}

/** A temp dir whose files are scanned for canaries at the end of the suite, then removed. */
export function tempDir(prefix: string): TempDir {
  const d = makeTempDir(`sealfig-adv-${prefix}-`);
  dirs.push(d);
  return d;
}

/** A file that holds plaintext on purpose (a plaintext view given to `encrypt -i`): not scanned. */
export function plaintextOnPurpose(file: string): void {
  plaintextByDesign.add(path.resolve(file));
}

// --- counters --------------------------------------------------------------------------------

/** The categories of the summary, in print order. */
export const CATEGORIES = [
  "tampering",
  "properties",
  "bad input",
  "kms faults",
  "crash safety",
  "concurrency",
  "differential",
  "parse bounds",
  "lookalike keys",
  "kms answers",
  "kms server",
] as const;
/** A summary category. */
export type Category = typeof CATEGORIES[number];

const counts = new Map<Category, { tried: number; handled: number }>(
  CATEGORIES.map((c) => [c, { tried: 0, handled: 0 }]),
);
const notes = new Map<Category, string[]>();

/** Count one case tried; call the returned function once it was detected or handled. */
export function tried(category: Category, n = 1): (m?: number) => void {
  counts.get(category)!.tried += n;
  return (m = n) => {
    counts.get(category)!.handled += m;
  };
}

/** Run one case: counted as tried, and as handled when `fn` completes (its asserts passed). */
export async function attempt<T>(category: Category, fn: () => Promise<T> | T): Promise<T> {
  const done = tried(category);
  const out = await fn();
  done();
  return out;
}

/** A line of detail for a category in the summary (e.g. crash outcomes, error codes seen). */
export function note(category: Category, text: string): void {
  const list = notes.get(category) ?? [];
  list.push(text);
  notes.set(category, list);
}

/** Tally of error codes, for notes. */
export function codeTally(codes: Iterable<string>): string {
  const m = new Map<string, number>();
  for (const c of codes) m.set(c, (m.get(c) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(", ");
}

// --- asserts ---------------------------------------------------------------------------------

/** What a typed failure must name. */
export interface Expected {
  /** Allowed codes (any SealfigError when omitted). */
  codes?: readonly string[];
  file?: string;
  line?: number;
  path?: string;
}

/**
 * Assert `err` is a SealfigError with an allowed code that names the file, line and path given,
 * never a canary; capture it for the leak scan. Returns it typed.
 */
export function expectTyped(label: string, err: unknown, want: Expected = {}): SealfigError {
  captureError(label, err);
  if (!isSealfigError(err)) {
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    expect.fail(`${label}: expected a SealfigError, got ${what}`);
  }
  const e = err as SealfigError;
  if (want.codes) expect(want.codes, `${label}: ${e.message}`).toContain(e.code);
  if (want.file !== undefined) {
    expect(e.file, `${label}: ${e.message}`).toBe(want.file);
    expect(e.message).toContain(want.file);
  }
  if (want.line !== undefined) expect(e.line, `${label}: ${e.message}`).toBe(want.line);
  if (want.path !== undefined) {
    expect(e.path, `${label}: ${e.message}`).toBe(want.path);
    expect(e.message).toContain(`"${want.path}"`);
  }
  expect(e.reason.length).toBeGreaterThan(0);
  return e;
}

/** The rejection of `p`, failing when it resolves. */
export async function rejectionOf(p: Promise<unknown>, label: string): Promise<unknown> {
  let resolved = false;
  try {
    await p;
    resolved = true;
  } catch (err) {
    return err;
  }
  expect(resolved, `${label}: expected a rejection`).toBe(false);
  return undefined;
}

/**
 * loadConfig options with the integrity check off (issue 9 adds one, on by default): these tests
 * are about what each blob proves on its own. `trustedKeys` is issue 9's key allowlist (default:
 * the local keys held); set through a cast so this file also compiles without it.
 */
export function noIntegrity<S extends StandardSchemaV1 | undefined>(
  options: LoadConfigOptions<S>,
  trustedKeys?: readonly string[] | "any",
): LoadConfigOptions<S> {
  return {
    ...options,
    integrity: "off",
    ...(trustedKeys !== undefined ? { trustedKeys } : {}),
  } as LoadConfigOptions<S>;
}

/** Resolve `p`, or fail (not hang) after `ms`: a guard against hangs, not a timing assertion. */
export async function returnsWithin<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: did not return within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

// --- the end of the suite ----------------------------------------------------------------------

/** Result of {@link scanForLeaks}. */
export interface LeakScan {
  canaries: number;
  captures: number;
  files: number;
  skippedPlaintext: number;
  hits: string[];
}

function walk(dir: string, out: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

/** Search every capture and every file in the suite's temp dirs for every canary. */
export function scanForLeaks(): LeakScan {
  const needles: { canary: string; form: string }[] = [];
  for (const c of canaries) {
    needles.push({ canary: c, form: c });
    for (const f of byteForms(new TextEncoder().encode(c))) needles.push({ canary: c, form: f });
  }
  const hits: string[] = [];
  const search = (where: string, text: string) => {
    for (const n of needles) {
      if (text.includes(n.form)) {
        hits.push(`${where}: ${n.canary}${n.form === n.canary ? "" : ` (as ${n.form})`}`);
      }
    }
  };
  for (const c of captures) search(c.label, c.text);
  let files = 0;
  let skippedPlaintext = 0;
  for (const d of dirs) {
    const list: string[] = [];
    walk(d.dir, list);
    for (const f of list) {
      if (plaintextByDesign.has(path.resolve(f))) {
        skippedPlaintext++;
        continue;
      }
      files++;
      search(f, new TextDecoder("latin1").decode(fs.readFileSync(f)));
    }
  }
  return { canaries: canaries.length, captures: captures.length, files, skippedPlaintext, hits };
}

let lastScan: LeakScan | undefined;

/** Remember the scan for the summary. */
export function recordScan(scan: LeakScan): void {
  lastScan = scan;
}

/** The summary table, one line per category, plus leak numbers. */
export function summary(): string {
  const lines = [
    "",
    `=== sealfig adversarial suite (${DEEP ? "deep" : "default"} mode, ${RUNTIME}) ===`,
  ];
  let tTried = 0, tHandled = 0;
  for (const c of CATEGORIES) {
    const { tried: t, handled: h } = counts.get(c)!;
    tTried += t;
    tHandled += h;
    lines.push(
      `${c.padEnd(14)} tried ${String(t).padStart(6)}  detected/handled ${String(h).padStart(6)}`,
    );
    for (const n of notes.get(c) ?? []) lines.push(`${"".padEnd(16)}${n}`);
  }
  lines.push(
    `${"total".padEnd(14)} tried ${String(tTried).padStart(6)}  detected/handled ${
      String(tHandled).padStart(6)
    }`,
  );
  if (lastScan) {
    lines.push(
      `leaks          ${lastScan.hits.length} found: ${lastScan.canaries} canaries searched in ` +
        `${lastScan.captures} captured outputs/errors and ${lastScan.files} temp files ` +
        `(${lastScan.skippedPlaintext} plaintext inputs by design skipped)`,
    );
  } else {
    lines.push("leaks          scan did not run");
  }
  lines.push("");
  return lines.join("\n");
}

/**
 * Print the summary to stderr, and also write it to `$SEALFIG_ADVERSARIAL_SUMMARY_DIR` when set
 * (scripts/test.sh prints it again at the end: Deno's dot reporter swallows test output).
 */
export function printSummary(): void {
  const text = summary();
  console.error(text);
  const dir = process.env.SEALFIG_ADVERSARIAL_SUMMARY_DIR;
  if (dir) {
    fs.writeFileSync(
      path.join(dir, `adversarial-${"Deno" in globalThis ? "deno" : "node"}.txt`),
      text,
    );
  }
}

/** Remove every temp dir (after the scan). */
export function cleanupDirs(): void {
  for (const d of dirs.splice(0)) d.cleanup();
}
