/**
 * Run the sealfig CLI as a real process. Node: the bundle of scripts/sealfig.ts built for this
 * test run with the npm bin's esbuild options (tests/_helpers/bin_bundle_setup.ts; built here,
 * once per process, when no globalSetup ran, e.g. a file run on its own); Deno: `deno run` on the
 * sources.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { buildBinBundle } from "../../scripts/bin_bundle.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const script = fileURLToPath(new URL("../../scripts/sealfig.ts", import.meta.url));
const isDeno = "Deno" in globalThis;

let nodeBin: string | undefined;

/**
 * The CLI bundle Node runs: the one the globalSetup built for this run, or else one built on first
 * use for this process (removed when it exits). Never a bundle left from an earlier run.
 */
function nodeCliBundle(): string {
  if (nodeBin !== undefined) return nodeBin;
  const fromSetup = process.env.SEALFIG_TEST_BIN;
  if (fromSetup && existsSync(fromSetup)) return (nodeBin = fromSetup);
  const { bin, remove } = buildTestBundle(`pid${process.pid}-`);
  process.on("exit", remove);
  return (nodeBin = bin);
}

/**
 * Bundle the CLI into a fresh directory under .test-build/ (inside the repository, so the lazy
 * externals resolve from node_modules; gitignored), named `prefix…`. Returns the bundle's path and
 * the function that removes the directory.
 */
export function buildTestBundle(prefix: string): { bin: string; remove: () => void } {
  const base = join(root, ".test-build");
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, prefix));
  const bin = join(dir, "sealfig.mjs");
  buildBinBundle(bin);
  return { bin, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The command and arguments that start the CLI on this runtime. */
export function cliCommand(): [string, string[]] {
  if (isDeno) return [process.execPath, ["run", "-A", "--quiet", script]];
  return [process.execPath, [nodeCliBundle()]];
}

/** Result of a CLI run. */
export interface CliResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Options for {@link runSealfig}. */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string | Uint8Array;
  /** Called with the child once spawned (to send signals). */
  onSpawn?: (child: import("node:child_process").ChildProcess) => void;
  /**
   * Kill the command and everything it started, and fail, after this many ms (default 240,000).
   * Deno's test runner has no per-test timeout: a command that never ends must not hang the run.
   */
  timeoutMs?: number;
}

/** Run `sealfig ARGS` and collect its output. */
export function runSealfig(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const [cmd, pre] = cliCommand();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, NO_COLOR: "1", ...options.env })) {
    if (v !== undefined) env[k] = v;
  }
  return new Promise((resolve, reject) => {
    // Its own process group (POSIX), so that a timeout also ends what it started (an editor).
    const child = spawn(cmd, [...pre, ...args], {
      cwd: options.cwd ?? root,
      env,
      stdio: "pipe",
      detached: process.platform !== "win32",
    });
    let stdout = "", stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const limit = options.timeoutMs ?? 240_000;
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
      reject(new Error(`sealfig ${args.join(" ")} did not end within ${limit} ms\n${stderr}`));
    }, limit);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
    else child.stdin!.end();
    options.onSpawn?.(child);
  });
}
