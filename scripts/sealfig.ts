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
  getEnv,
  getEnvAll,
  isTerminal,
  readStdin,
  setEnv,
  setExitCode,
  writeStderr,
  writeStdout,
} from "../src/runtime.ts";

// The AWS SDK prints an 8-line notice about Node versions on every KMS-using command; the CLI is
// not where that decision is made. The SDK is imported lazily (src/keys/aws_kms_sdk.ts), so this
// is set before it loads. An explicit setting wins.
if (getEnv("AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED") === undefined) {
  setEnv("AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED", "true");
}

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
