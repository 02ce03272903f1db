/**
 * `sealfig kms-server`: the local AWS KMS-compatible server, for development and tests.
 *
 * @module
 */
import { runKmsServer } from "../../kms_server/cli.ts";
import type { Command } from "../command.ts";

/** The kms-server command (its flags are parsed by the server's own entry). */
export const kmsServerCommand: Command = {
  name: "kms-server",
  summary: "Run a local AWS KMS-compatible server (development and tests only)",
  usage:
    "kms-server [--port N] [--state FILE] [--policy FILE] [--latency MS] [--throttle-rate R] ...",
  flags: {},
  run: (args) => runKmsServer(args.positionals),
  runRaw: (argv) => runKmsServer([...argv]),
};
