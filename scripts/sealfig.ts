#!/usr/bin/env node
/**
 * The `sealfig` command. Runs with `deno run -A scripts/sealfig.ts`, `npm run sealfig -- …` in the
 * repository, and as the `sealfig` bin of the npm package.
 *
 * @module
 */
import { runCli } from "../src/cli/main.ts";
import {
  commandLineArgs,
  getEnvAll,
  isTerminal,
  readStdin,
  setExitCode,
  writeStderr,
  writeStdout,
} from "../src/runtime.ts";

setExitCode(
  await runCli(commandLineArgs(), {
    stdout: writeStdout,
    stderr: writeStderr,
    readStdin,
    env: getEnvAll(),
    stderrIsTty: isTerminal("stderr"),
    stdinIsTty: isTerminal("stdin"),
  }),
);
