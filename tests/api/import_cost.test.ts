/**
 * Import cost is part of the API: importing `.` (the app's entry point) does not load the local
 * KMS server, the document writer (seal, edit, splice, merge) or the CLI; those are what
 * `./kms-server`, `./document` and `./cli` are for.
 *
 * Measured on module lists, two ways:
 * - Deno's view: `deno info --json <entry>` gives the module graph; the modules an import loads are
 *   the closure of its static imports (a dynamic `import()` loads nothing until it runs).
 * - Node's view, at run time: a child `node --import tsx` with a load hook
 *   (tests/api/_load_log_hook.mjs) that logs every module Node actually loads while importing the
 *   entry point.
 *
 * Each entry point that should load one of those parts is measured the same way and must show it
 * (positive controls), so a measurement that could never see a module fails the test.
 * tests/consumer/run.ts repeats the Node check on the packed npm package.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const deno = join(root, "node_modules", ".bin", process.platform === "win32" ? "deno.cmd" : "deno");
/** Node itself, also when this file runs under Deno (then `node` from the PATH). */
const node = "Deno" in globalThis ? "node" : process.execPath;

/** What `.` must not load: repository-relative path prefixes. */
const NOT_IN_ROOT = [
  "src/kms_server/",
  "src/cli/",
  "src/document/seal.ts",
  "src/document/edit.ts",
  "src/document/splice.ts",
  "src/document/merge.ts",
  "document.ts",
  "kms_server.ts",
  "scripts/",
];

/** Per entry point, modules it must load (the positive controls). */
const CONTROLS: Record<string, string[]> = {
  "document.ts": ["src/document/seal.ts", "src/document/edit.ts", "src/document/splice.ts"],
  "kms_server.ts": ["src/kms_server/server.ts", "src/kms_server/cli.ts"],
  "scripts/sealfig.ts": ["src/cli/main.ts", "src/kms_server/cli.ts", "src/document/merge.ts"],
};

/** Repository-relative paths of sealfig's own modules among `urls`. */
function ownModules(urls: Iterable<string>): string[] {
  const prefix = pathToFileURL(root).href;
  const out = new Set<string>();
  for (const u of urls) {
    if (!u.startsWith(prefix)) continue;
    const rel = u.slice(prefix.length).replace(/[?#].*$/, "");
    if (!rel.startsWith("node_modules/")) out.add(rel);
  }
  return [...out].sort();
}

interface DenoInfo {
  roots: string[];
  modules: {
    specifier: string;
    dependencies?: { isDynamic?: boolean; code?: { specifier?: string } }[];
  }[];
}

/** Deno's view: the static import closure of `entry`. */
function staticGraph(entry: string): string[] {
  const r = spawnSync(deno, ["info", "--json", entry], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  });
  if (r.status !== 0) throw new Error(`deno info ${entry}: ${r.stderr.slice(-1000)}`);
  const info = JSON.parse(r.stdout) as DenoInfo;
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...info.roots];
  while (stack.length) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of bySpecifier.get(s)?.dependencies ?? []) {
      if (!d.isDynamic && d.code?.specifier) stack.push(d.code.specifier);
    }
  }
  return ownModules(seen);
}

/** Node's view: the modules Node loads while importing `entry` (through tsx). */
function nodeLoaded(entry: string): string[] {
  const tmp = makeTempDir("sealfig-import-cost-");
  try {
    const log = join(tmp.dir, "loaded.txt");
    const hook = pathToFileURL(join(root, "tests", "api", "_load_log_hook.mjs")).href;
    const code = `import { register } from "node:module";
register(${JSON.stringify(hook)}, { data: { log: ${JSON.stringify(log)} } });
await import(${JSON.stringify(pathToFileURL(join(root, entry)).href)});`;
    const r = spawnSync(node, ["--import", "tsx", "--input-type=module", "-e", code], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, NO_COLOR: "1" },
    });
    if (r.status !== 0) throw new Error(`node import ${entry}: ${r.stderr.slice(-1000)}`);
    return ownModules(readFileSync(log, "utf8").split("\n"));
  } finally {
    tmp.cleanup();
  }
}

function offending(mods: string[]): string[] {
  return mods.filter((m) =>
    NOT_IN_ROOT.some((p) => m === p || (p.endsWith("/") && m.startsWith(p)))
  );
}

describe("importing the app entry point '.' is cheap", () => {
  it("Deno: mod.ts's static graph has no KMS server, document writer or CLI module", () => {
    const mods = staticGraph("mod.ts");
    expect(mods).toContain("src/config/load_config.ts");
    expect(offending(mods)).toEqual([]);
    for (const [entry, needed] of Object.entries(CONTROLS)) {
      const graph = staticGraph(entry);
      for (const m of needed) expect(graph, `${entry} loads ${m}`).toContain(m);
    }
  });

  it("Node: importing mod.ts loads no KMS server, document writer or CLI module", () => {
    const mods = nodeLoaded("mod.ts");
    expect(mods).toContain("src/config/load_config.ts");
    expect(offending(mods)).toEqual([]);
    // Positive control: the same measurement sees the writer when ./document is imported.
    const doc = nodeLoaded("document.ts");
    for (const m of CONTROLS["document.ts"]!) expect(doc).toContain(m);
  });
});
