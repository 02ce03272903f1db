/**
 * The guides in docs/ and the README are tested: every fenced ```sh block whose first line is `# test` runs. A
 * guide's blocks run in order as ONE `bash -euo pipefail` session (a reader's terminal: shell
 * variables carry over from block to block) in a fresh temporary directory, with `sealfig` on
 * the PATH (this checkout's CLI, on the runtime running the test), a fresh HOME (so the default
 * key file is `$HOME/.config/sealfig/keys`) and no SEALFIG_* or AWS_* variables. The test fails
 * when any command fails, naming the block. A command that must fail ends with a `# exit N`
 * comment (`sealfig check oops.yaml   # exit 6: …`): the test requires exactly that status, and a
 * reader who pastes the line sees it. A guide whose snippets touch the key file (`sealfig/keys`)
 * runs again with XDG_CONFIG_HOME set.
 *
 * Also: troubleshooting.md documents every error code of src/errors.ts with its exit status.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { cliCommand } from "../_helpers/cli.ts";
import { ErrorCode } from "../../src/errors.ts";
import { exitCodeFor } from "../../src/cli/exit_codes.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const GUIDES = [
  "README.md",
  "docs/rules.md",
  "docs/keys.md",
  "docs/deploy.md",
  "docs/migrate.md",
  "docs/troubleshooting.md",
];
const root = mkdtempSync(join(tmpdir(), "sealfig-guides-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A `# test` block: where it starts (1-based line of its first code line) and its code. */
interface Block {
  line: number;
  code: string;
}

/** The `# test` sh blocks of a markdown text, in order. */
function testBlocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```sh" || !/^# test\b/.test(lines[i + 1] ?? "")) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end] !== "```") end++;
    out.push({ line: start + 1, code: lines.slice(start, end).join("\n") });
    i = end;
  }
  return out;
}

/** Each `CMD   # exit N` line becomes: CMD must exit with status N exactly. */
function expectExits(code: string): string {
  return code.split("\n").map((line) => {
    const m = /^(\s*)(\S.*?)\s+# exit (\d+)\b.*$/.exec(line);
    if (!m) return line;
    const [, indent, cmd, n] = m;
    const what = q(cmd!);
    return `${indent}if ${cmd}; then echo "expected exit ${n}, got 0: "${what} >&2; exit 99; ` +
      `else __rc=$?; [ "$__rc" -eq ${n} ] || { echo "expected exit ${n}, got $__rc: "${what} >&2; ` +
      `exit 98; }; fi`;
  }).join("\n");
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A bin directory with a `sealfig` that runs this checkout's CLI on this runtime. */
function binDir(): string {
  const bin = join(root, "bin");
  mkdirSync(bin, { recursive: true });
  const [cmd, pre] = cliCommand();
  writeFileSync(
    join(bin, "sealfig"),
    `#!/bin/sh\nexec ${[cmd, ...pre].map(q).join(" ")} "$@"\n`,
  );
  chmodSync(join(bin, "sealfig"), 0o755);
  return bin;
}

function runBash(code: string, cwd: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn("bash", ["-euo", "pipefail", "-c", code], { cwd, env, stdio: "pipe" });
    let stdout = "", stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (c) => resolve({ code: c, stdout, stderr }));
    child.stdin.end();
  });
}

function guideEnv(home: string, bin: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("SEALFIG_") || k.startsWith("AWS_")) continue;
    if (k === "XDG_CONFIG_HOME" || k === "EDITOR" || k === "VISUAL") continue;
    env[k] = v;
  }
  return {
    ...env,
    HOME: home,
    // this checkout's dev tools too: docs/migrate.md runs the real dotenvx
    PATH: `${bin}:${join(repoRoot, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
    NO_COLOR: "1",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    GIT_AUTHOR_NAME: "Doc Test",
    GIT_AUTHOR_EMAIL: "doc@example.invalid",
    GIT_COMMITTER_NAME: "Doc Test",
    GIT_COMMITTER_EMAIL: "doc@example.invalid",
    GIT_CONFIG_NOSYSTEM: "1",
  };
}

describe("the guides' # test snippets run against the CLI", () => {
  const bin = binDir();
  let total = 0;
  for (const guide of GUIDES) {
    const text = readFileSync(join(repoRoot, guide), "utf8");
    const blocks = testBlocks(text);
    total += blocks.length;
    if (blocks.length === 0) continue;
    // A guide whose snippets touch the key file runs a second time with XDG_CONFIG_HOME set, so
    // a snippet that hard-codes ~/.config fails (the CLI then keeps keys elsewhere).
    const keyFile = blocks.some((b) => b.code.includes("sealfig/keys"));
    for (const xdg of keyFile ? [false, true] : [false]) {
      const name = `${guide}: ${blocks.length} snippet(s)${xdg ? " with XDG_CONFIG_HOME set" : ""}`;
      it(name, async () => {
        const dir = join(root, guide.replace(/\W/g, "_") + (xdg ? "_xdg" : ""));
        const home = join(dir, ".home");
        mkdirSync(home, { recursive: true });
        const env = {
          ...guideEnv(home, bin),
          ...(xdg ? { XDG_CONFIG_HOME: join(dir, ".xdg-config") } : {}),
        };
        const script = blocks
          .map((b) => `echo '@@ ${guide}:${b.line}' >&2\n${expectExits(b.code)}`)
          .join("\n");
        const r = await runBash(script, dir, env);
        const at = [...r.stderr.matchAll(/^@@ (.*)$/gm)].pop()?.[1] ?? "?";
        expect(
          r.code,
          `the block at ${at} failed (exit ${r.code})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
        ).toBe(0);
        expect([...r.stderr.matchAll(/^@@ /gm)]).toHaveLength(blocks.length);
      }, 300_000);
    }
  }

  it("there are snippets to run (the marker convention did not silently break)", () => {
    expect(total).toBeGreaterThanOrEqual(8);
    expect(testBlocks("```sh\n# test\necho a\n```\n```sh\necho b\n```\n")).toEqual([
      { line: 2, code: "# test\necho a" },
    ]);
  });

  it("a `# exit N` line passes only with exactly that status", async () => {
    const env = guideEnv(root, binDir());
    for (
      const [cmd, ok] of [["false   # exit 1", true], ["true   # exit 1", false], [
        "exit 2   # exit 1",
        false,
      ], ["sh -c 'exit 6'  # exit 6: check", true]] as const
    ) {
      const r = await runBash(expectExits(cmd), root, env);
      expect([cmd, r.code === 0]).toEqual([cmd, ok]);
    }
  });
});

describe("docs/troubleshooting.md", () => {
  const text = readFileSync(join(repoRoot, "docs", "troubleshooting.md"), "utf8");
  const headings = [...text.matchAll(/^### `([A-Z0-9_]+)` \(exit (\d+)\)$/gm)];

  it("has one section per error code of src/errors.ts, and no other", () => {
    const documented = headings.map((m) => m[1]).sort();
    expect(documented).toEqual(Object.values(ErrorCode).slice().sort());
  });

  it("gives each code the exit status the CLI really uses", () => {
    const wrong = headings
      .filter((m) => exitCodeFor(m[1]!) !== Number(m[2]))
      .map((m) => `${m[1]}: documented ${m[2]}, actual ${exitCodeFor(m[1]!)}`);
    expect(wrong).toEqual([]);
  });
});
