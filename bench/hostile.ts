/**
 * Hostile files (issue 19): for each shape, a file at or near the 10 MiB size limit built to cost
 * the parser the most, parsed by `readDocument` in a fresh Node process. Prints one Markdown row
 * per shape: the outcome (values listed, or the refusal's code), CPU seconds (user + system,
 * runtime start-up included) and peak RSS. The table in docs/config.md ("Parsing budget") comes
 * from this script; it runs outside `npm test` (a 10 MiB parse per shape, and timing is no test).
 *
 *   node --import tsx bench/hostile.ts [shape-substring …]   (HOSTILE_TIMEOUT_S=120 per shape)
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const MAX_BYTES = 10 * 1024 * 1024;

/** Repeat `unit(i)` between `head` and `tail` while the whole stays within `max` bytes. */
function fill(head: string, unit: (i: number) => string, tail: string, max = MAX_BYTES): string {
  const parts: string[] = [];
  let size = head.length + tail.length;
  for (let i = 0;; i++) {
    const u = unit(i);
    if (size + u.length > max) break;
    parts.push(u);
    size += u.length;
  }
  return head + parts.join("") + tail;
}

/** The shapes: name → file text. */
const SHAPES: [string, () => string][] = [
  ["short keys in one map (1.3 M keys)", () => fill("", (i) => `k${i.toString(36)}: 1\n`, "")],
  [
    "short keys, 50,000 (350 KB)",
    () => Array.from({ length: 50_000 }, (_, i) => `k${i}: 1\n`).join(""),
  ],
  ["flow map of short keys", () => fill("{", (i) => `k${i.toString(36)}: 1,`, "z: 1}\n")],
  ["flow sequence of 5 M scalars", () => fill("a: [", () => "1,", "1]\n")],
  ["nested flow, 250 deep, repeated", () => {
    const u = `${"[".repeat(250)}${"]".repeat(250)},`;
    return fill("a: [", () => u, "1]\n");
  }],
  ["`- {}` lines", () => fill("", () => "- {}\n", "")],
  ["empty documents", () => fill("a: 1\n", () => "---\n", "")],
  ["aliases: 100,000 `*a` items", () => {
    const head = "a: &a x\nb:\n";
    return head + "- *a\n".repeat(99_990);
  }],
  ["aliases: 25,000 anchors, each aliased once", () => {
    return `a:\n${Array.from({ length: 25_000 }, (_, i) => `- &a${i} x\n- *a${i}\n`).join("")}`;
  }],
  ["one block scalar of blank lines", () => fill("a: |\n  x\n", () => "\n", "  y\n")],
  ["block scalars of blank lines, 2,000", () => {
    const blanks = "\n".repeat(Math.floor(MAX_BYTES / 2_000) - 20);
    return fill("", (i) => `k${i}: |\n  x\n${blanks}  y\n`, "");
  }],
  ["block scalars of blank lines, 50,000", () => {
    const blanks = "\n".repeat(Math.floor(MAX_BYTES / 50_000) - 20);
    return fill("", (i) => `k${i}: |\n  x\n${blanks}  y\n`, "");
  }],
  ["blank-line block scalars in a sequence", () => {
    const blanks = "\n".repeat(200);
    return fill("a:\n", () => `- |\n  x\n${blanks}  y\n`, "");
  }],
  ["folded block scalar of blank lines", () => fill("a: >\n  x\n", () => "\n", "  y\n")],
  ["double-quoted scalar of blank lines", () => fill('a: "x', () => "\n", ' y"\n')],
  ["plain multi-line scalar, 5 M lines", () => fill("a: x\n", () => "  y\n", "")],
  ["one 10 MiB double-quoted value", () => `a: "${"v".repeat(MAX_BYTES - 10)}"\n`],
  ["one 10 MiB single-quoted value", () => `a: '${"v".repeat(MAX_BYTES - 10)}'\n`],
  ["one 10 MiB plain value", () => `a: ${"v".repeat(MAX_BYTES - 10)}\n`],
  ["one 10 MiB key", () => `"${"k".repeat(MAX_BYTES - 10)}": 1\n`],
  ["long explicit `?` key over 50,000 values", () => {
    const key = "k".repeat(200_000);
    return `? ${key}\n:\n${"  - 1\n".repeat(45_000)}`;
  }],
  ["deep paths: 150 levels of 40-char keys, 40,000 leaves", () => {
    let head = "";
    for (let d = 0; d < 150; d++) head += `${" ".repeat(d)}${"k".repeat(39)}${d % 10}:\n`;
    return head + `${" ".repeat(150)}- 1\n`.repeat(40_000);
  }],
  [
    "largest accepted: block scalar of 999,990 lines",
    () => `a: |\n  x\n${"\n".repeat(999_985)}  y\n`,
  ],
  ["9 double-quoted values of 1 MiB", () => {
    const v = "v".repeat(1024 * 1024);
    return Array.from({ length: 9 }, (_, i) => `k${i}: "${v}"\n`).join("");
  }],
  ["largest accepted: double-quoted values of 2 MiB in all", () => {
    const v = "v".repeat(256 * 1024);
    return Array.from({ length: 8 }, (_, i) => `k${i}: "${v}"\n`).join("") +
      `rest: '${"v".repeat(MAX_BYTES - 8 * (256 * 1024 + 8) - 20)}'\n`;
  }],
  ["largest accepted: 99,997-item sequence", () => `a: [${"1,".repeat(99_996)}1]\n`],
  ["largest accepted: 999,985 tokens of comments", () => `a: 1\n${"#\n".repeat(499_990)}`],
];

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === "--one") {
  // Child: parse one file, print the outcome and the resources used.
  const { readDocument } = await import("../src/document/document.ts");
  let outcome: string;
  try {
    const doc = await readDocument(process.argv[3]!);
    outcome = `parsed: ${doc.values().length} values`;
  } catch (err) {
    outcome = `refused: ${(err as { code?: string }).code ?? String(err)}`;
  }
  const r = process.resourceUsage();
  process.stdout.write(
    JSON.stringify({ outcome, cpu: (r.userCPUTime + r.systemCPUTime) / 1e6, rss: r.maxRSS }),
  );
  process.exit(0);
}

const only = process.argv.slice(2);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealfig-hostile-"));
console.log("| File | Size | Outcome | CPU | Peak RSS |");
console.log("| --- | --- | --- | --- | --- |");
try {
  for (const [name, make] of SHAPES) {
    if (only.length > 0 && !only.some((o) => name.includes(o))) continue;
    const file = path.join(dir, "hostile.yaml");
    const text = make();
    fs.writeFileSync(file, text);
    const size = fs.statSync(file).size;
    const r = spawnSync(process.execPath, ["--import", "tsx", self, "--one", file], {
      encoding: "utf8",
      timeout: Number(process.env.HOSTILE_TIMEOUT_S ?? 120) * 1000,
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    let cells: string;
    try {
      const m = JSON.parse(r.stdout) as { outcome: string; cpu: number; rss: number };
      cells = `${m.outcome} | ${m.cpu.toFixed(1)} s | ${Math.round(m.rss / 1024)} MB`;
    } catch {
      cells = `${r.signal ? `killed (${r.signal})` : `exit ${r.status}`} | – | –`;
    }
    const kb = size >= 1 << 20
      ? `${(size / (1 << 20)).toFixed(1)} MiB`
      : `${Math.round(size / 1024)} KB`;
    console.log(`| ${name} | ${kb} | ${cells} |`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
