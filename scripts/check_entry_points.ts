/**
 * The public API's shape, checked (scripts/test.sh runs it; `npx tsx scripts/check_entry_points.ts`):
 *
 * 1. deno.json `exports` and package.json `exports` name the same entry points and files.
 * 2. Each entry file re-exports one name per line (`export { x } from "./src/…";`), so the names
 *    can be counted and merges stay line-by-line; the counts are printed (docs/architecture.md
 *    states them) and `.` stays within {@link ROOT_LIMIT}.
 * 3. `deno doc --lint` per entry point: every public symbol documented (with an `@example` where
 *    the symbol is a function or class), and every type a public signature names exported. A type
 *    may be exported by another entry point of the package instead (an app's `.` names
 *    `KeyProvider`, whose member types a provider implementer finds in `./document`; `import type`
 *    costs nothing at run time): such a reference is accepted only when that other entry point
 *    exports the type. The only other exceptions are the third-party types in {@link THIRD_PARTY}.
 * 4. Every exported function and class has an `@example` (`deno doc --json`), and every example
 *    that imports from `@sealfig/sealfig…` imports each name from an entry point that exports it.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** At most this many names in `.`: what an app needs at startup, and no more. */
export const ROOT_LIMIT = 30;

/**
 * Types of other packages that sealfig's public signatures name (the AWS SDK client for a custom
 * client factory, the yaml library's Document behind `SealfigDocument.yaml`): `type` referenced by
 * `from`, both exactly.
 */
const THIRD_PARTY: readonly { from: string; type: string }[] = [
  { from: "KmsClientFactory", type: "KMSClientConfig" },
  { from: "KmsClientFactory", type: "KMSClient" },
  { from: "SealfigDocument.prototype.yaml", type: "Document" },
  { from: "SealfigDocument.prototype.yaml", type: "Document.Parsed" },
];

/** One entry point: its subpath, its file and the names it exports. */
export interface EntryPoint {
  /** `.`, `./document` … */
  subpath: string;
  /** The file, relative to the repository root (`./mod.ts`). */
  file: string;
  /** Every exported name (values and types). */
  names: string[];
  /** The exported values (what `import * as m` shows at run time). */
  values: string[];
}

/** The entry points as deno.json declares them, with their exported names. */
export function entryPoints(): EntryPoint[] {
  const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")) as {
    exports: Record<string, string>;
  };
  return Object.entries(deno.exports).map(([subpath, file]) => {
    const { names, values } = exportedNames(readFileSync(join(root, file), "utf8"));
    return { subpath, file, names, values };
  });
}

/**
 * The names a re-export file exports. Only `export { x } from "…";` and
 * `export type { X } from "…";` with one name per line are allowed; anything else that exports is
 * an error (it could not be counted).
 */
export function exportedNames(text: string): { names: string[]; values: string[] } {
  const names: string[] = [];
  const values: string[] = [];
  for (const line of text.split("\n")) {
    if (!/^\s*export\b/.test(line)) continue;
    const m = /^export (type )?\{ ([A-Za-z_$][\w$]*) \} from "\.\/[^"]+";$/.exec(line);
    if (!m) throw new Error(`not one re-exported name per line: ${line}`);
    names.push(m[2]!);
    if (!m[1]) values.push(m[2]!);
  }
  return { names, values };
}

function main(): void {
  const problems: string[] = [];
  const entries = entryPoints();
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    exports?: Record<string, string>;
  };
  const denoExports = Object.fromEntries(entries.map((e) => [e.subpath, e.file]));
  if (JSON.stringify(pkg.exports) !== JSON.stringify(denoExports)) {
    problems.push(
      `package.json exports ${JSON.stringify(pkg.exports)} differ from deno.json exports ` +
        JSON.stringify(denoExports),
    );
  }
  const owner = new Map<string, string[]>();
  for (const e of entries) {
    for (const n of e.names) owner.set(n, [...(owner.get(n) ?? []), e.subpath]);
  }
  // docs/architecture.md's table states the counts: they must be these.
  const arch = readFileSync(join(root, "docs", "architecture.md"), "utf8");
  for (const e of entries) {
    const row = new RegExp(
      "^\\| `" + e.subpath.replace(/[.]/g, "\\.") +
        "` +\\| `[^`]+` +\\| +(\\d+) \\| +(\\d+) \\| +(\\d+) \\|",
      "m",
    ).exec(arch);
    const stated = row ? row.slice(1, 4).map(Number) : undefined;
    const actual = [e.names.length, e.values.length, e.names.length - e.values.length];
    if (JSON.stringify(stated) !== JSON.stringify(actual)) {
      problems.push(
        `docs/architecture.md states ${e.subpath}: ${stated?.join("/") ?? "no row"} ` +
          `(names/values/types), actual ${actual.join("/")}`,
      );
    }
  }
  const root_ = entries.find((e) => e.subpath === ".");
  if (!root_) problems.push('deno.json exports no "."');
  else if (root_.names.length > ROOT_LIMIT) {
    problems.push(`"." exports ${root_.names.length} names, more than ${ROOT_LIMIT}`);
  }
  const deno = join(
    root,
    "node_modules",
    ".bin",
    process.platform === "win32" ? "deno.cmd" : "deno",
  );
  for (const e of entries) {
    const r = spawnSync(deno, ["doc", "--lint", e.file], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    });
    const out = `${r.stdout}${r.stderr}`;
    let crossEntry = 0;
    for (const line of out.split("\n")) {
      if (!line.startsWith("error[")) continue;
      const ref =
        /^error\[private-type-ref\]: public type '([^']+)' references private type '([^']+)'$/
          .exec(line);
      if (ref) {
        const [, from, type] = ref as unknown as [string, string, string];
        if (THIRD_PARTY.some((t) => t.from === from && t.type === type)) continue;
        const elsewhere = (owner.get(type) ?? []).filter((s) => s !== e.subpath);
        if (elsewhere.length) {
          crossEntry++;
          continue;
        }
      }
      problems.push(`${e.file}: ${line}`);
    }
    if (r.status !== 0 && !/documentation lint error/.test(out)) {
      problems.push(`deno doc --lint ${e.file} failed:\n${out.slice(-2000)}`);
    }
    problems.push(...exampleProblems(deno, e, entries));
    console.log(
      `${e.subpath}: ${e.names.length} names (${e.values.length} values, ` +
        `${e.names.length - e.values.length} types); deno doc --lint ${e.file}: ok` +
        (crossEntry ? ` (${crossEntry} references to types another entry point exports)` : ""),
    );
  }
  if (problems.length) {
    console.error(`check_entry_points:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
}

interface DocJson {
  nodes: Record<string, {
    symbols?: {
      name: string;
      declarations: { kind: string; jsDoc?: { tags?: { kind: string; doc?: string }[] } }[];
    }[];
  }>;
}

/** Functions and classes without an `@example`; examples importing a name from the wrong entry. */
function exampleProblems(deno: string, e: EntryPoint, entries: EntryPoint[]): string[] {
  const r = spawnSync(deno, ["doc", "--json", e.file], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  });
  if (r.status !== 0) return [`deno doc --json ${e.file} failed: ${r.stderr.slice(-2000)}`];
  const spec = (subpath: string) => `@sealfig/sealfig${subpath === "." ? "" : subpath.slice(1)}`;
  const bySpec = new Map(entries.map((x) => [spec(x.subpath), new Set(x.names)]));
  const problems: string[] = [];
  for (const node of Object.values((JSON.parse(r.stdout) as DocJson).nodes)) {
    for (const sym of node.symbols ?? []) {
      if (!e.values.includes(sym.name)) continue; // type-only exports: documented, no example
      const tags = sym.declarations.flatMap((d) => d.jsDoc?.tags ?? []);
      const examples = tags.filter((t) => t.kind === "example").map((t) => t.doc ?? "");
      const callable = sym.declarations.some((d) => d.kind === "function" || d.kind === "class");
      if (callable && examples.length === 0) {
        problems.push(`${e.file}: ${sym.name} has no @example`);
      }
      for (const ex of examples) {
        for (const m of ex.matchAll(/import \{([^}]*)\} from "(@sealfig\/sealfig[^"]*)"/g)) {
          const have = bySpec.get(m[2]!);
          for (const raw of m[1]!.split(",")) {
            const name = raw.replace(/^\s*type\s+/, "").trim();
            if (name && !have?.has(name)) {
              problems.push(`${e.file}: ${sym.name}'s example imports ${name} from ${m[2]}`);
            }
          }
        }
      }
    }
  }
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
