/**
 * The consumer scenario on Deno: imports each entry point deno.json exports (`.` = mod.ts,
 * `./document`, `./kms-server`) from the sources, as a Deno or JSR user gets them (no build), and
 * runs tests/consumer/scenario.mjs, with the `./cli` entry point (`deno run -A scripts/sealfig.ts`)
 * as the `sealfig` command. tests/consumer/run.ts starts it:
 *
 *   deno run -A tests/consumer/deno_app.ts <empty dir>
 *
 * @module
 */
import process from "node:process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { runScenario } from "./scenario.mjs";

const root = new URL("../../", import.meta.url);
const { exports } = JSON.parse(readFileSync(new URL("deno.json", root), "utf8")) as {
  exports: Record<string, string>;
};
const entry = (subpath: string): string => {
  const file = exports[subpath];
  if (!file) throw new Error(`deno.json exports no ${subpath}`);
  return new URL(file, root).href;
};

const dir = process.argv[2];
if (!dir) throw new TypeError("Usage: deno run -A tests/consumer/deno_app.ts <empty dir>");
const deno = process.execPath;
const cli = [deno, "run", "-A", "--quiet", fileURLToPath(entry("./cli"))];
const result = await runScenario({
  sealfig: await import(entry(".")),
  document: await import(entry("./document")),
  kmsServer: await import(entry("./kms-server")),
  z,
  dir,
  cli,
  cliEntry: cli,
  evalCommand: (code) => [deno, "eval", code],
});
process.exitCode = result.failed === 0 ? 0 : 1;
