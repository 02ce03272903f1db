/**
 * The consumer scenario on Deno: imports mod.ts directly (no build, as a Deno or JSR user gets it)
 * and runs tests/consumer/scenario.mjs, with `deno run -A scripts/sealfig.ts` as the `sealfig`
 * command. tests/consumer/run.ts starts it:
 *
 *   deno run -A tests/consumer/deno_app.ts <empty dir>
 *
 * @module
 */
import process from "node:process";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import * as sealfig from "../../mod.ts";
import { runScenario } from "./scenario.mjs";

const dir = process.argv[2];
if (!dir) throw new TypeError("Usage: deno run -A tests/consumer/deno_app.ts <empty dir>");
const deno = process.execPath;
const result = await runScenario({
  sealfig,
  z,
  dir,
  cli: [
    deno,
    "run",
    "-A",
    "--quiet",
    fileURLToPath(new URL("../../scripts/sealfig.ts", import.meta.url)),
  ],
  evalCommand: (code) => [deno, "eval", code],
});
process.exitCode = result.failed === 0 ? 0 : 1;
