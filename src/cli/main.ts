/**
 * The `sealfig` command line: dispatch to one module per command, print errors as one line
 * (stack traces only with `SEALFIG_DEBUG=1`), map failures to stable exit codes.
 *
 * @module
 */
import { isSealfigError } from "../errors.ts";
import { permissionDenied } from "../runtime.ts";
import { VERSION } from "../version.ts";
import { formatFlags, parseArgs, UsageError } from "./args.ts";
import type { CliContext, Command } from "./command.ts";
import { ExitCode, exitCodeFor } from "./exit_codes.ts";
import { COMMANDS } from "./commands/index.ts";

const HELP_FLAG = {
  help: { type: "boolean", short: "h", description: "Show help for this command" },
} as const;

/** Top-level help text. */
export function mainHelp(commands: readonly Command[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `sealfig ${VERSION}: envelope-encrypted secrets in committed YAML config`,
    "",
    "Usage: sealfig <command> [options]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run `sealfig <command> --help` for a command's options.",
    "Environment: SEALFIG_KEY_FILE (else $XDG_CONFIG_HOME/sealfig/keys or ~/.config/sealfig/keys),",
    "  SEALFIG_KEY, SEALFIG_AGE_KEY_FILE (else $XDG_CONFIG_HOME/sealfig/age/keys.txt or",
    "  ~/.config/sealfig/age/keys.txt), SEALFIG_AGE_KEY,",
    "  SEALFIG_KMS_KEY, SEALFIG_TRUSTED_KEYS, SEALFIG_EDITOR/VISUAL/EDITOR,",
    "  SEALFIG_TMPDIR, SEALFIG_DEBUG=1, NO_COLOR. Guides: docs/troubleshooting.md",
    "Exit codes: 0 ok, 1 internal, 2 usage, 3 bad input, 4 not authentic or untrusted key,",
    "            5 key/provider, 6 check failed, 7 schema, 8 edit conflict, 9 edit aborted,",
    "            130 interrupted (SIGINT), 143 terminated (SIGTERM)",
    "",
  ].join("\n");
}

/** Help text for one command. */
export function commandHelp(cmd: Command): string {
  return [
    `Usage: sealfig ${cmd.usage}`,
    "",
    cmd.summary,
    ...(cmd.details ? ["", cmd.details] : []),
    "",
    "Options:",
    formatFlags({ ...cmd.flags, ...HELP_FLAG }),
    "",
  ].join("\n");
}

/** Run the CLI with `argv` (without the program name); resolves to the exit code. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === "--help" || verb === "-h" || verb === "help") {
    const target = verb === "help" ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    ctx.stdout(target ? commandHelp(target) : mainHelp());
    return verb === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  if (verb === "--version" || verb === "-V" || verb === "version") {
    ctx.stdout(`sealfig ${VERSION}\n`);
    return ExitCode.OK;
  }
  const cmd = COMMANDS.find((c) => c.name === verb);
  if (!cmd) {
    ctx.stderr(`sealfig: unknown command "${verb}". Run \`sealfig --help\` for the list.\n`);
    return ExitCode.USAGE;
  }
  try {
    if (cmd.runRaw) return await cmd.runRaw(rest, ctx);
    const args = parseArgs(rest, { ...cmd.flags, ...HELP_FLAG });
    if (args.flags.help === true) {
      ctx.stdout(commandHelp(cmd));
      return ExitCode.OK;
    }
    return await cmd.run(args, ctx);
  } catch (err) {
    return reportError(err, cmd, ctx);
  }
}

function reportError(thrown: unknown, cmd: Command, ctx: CliContext): number {
  const debug = ctx.env.SEALFIG_DEBUG === "1";
  // A runtime permission denial from a library (not through runtime.ts) is not an internal error.
  const err = permissionDenied(thrown) ?? thrown;
  if (err instanceof UsageError) {
    ctx.stderr(`sealfig ${cmd.name}: ${err.message}\nUsage: sealfig ${cmd.usage.split("\n")[0]}\n`);
    return ExitCode.USAGE;
  }
  if (isSealfigError(err)) {
    ctx.stderr(`sealfig ${cmd.name}: ${err.message} [${err.code}]\n`);
    if (debug && err.stack) ctx.stderr(err.stack + "\n");
    return exitCodeFor(err.code);
  }
  // Not ours: say what kind of failure it was, without echoing arbitrary error text that could
  // carry data, unless debugging.
  const name = err instanceof Error ? err.name : typeof err;
  const code = typeof err === "object" && err !== null && "code" in err
    ? ` (${String((err as { code: unknown }).code)})`
    : "";
  ctx.stderr(
    `sealfig ${cmd.name}: unexpected ${name}${code}. Run with SEALFIG_DEBUG=1 for details and report it\n`,
  );
  if (debug && err instanceof Error) ctx.stderr((err.stack ?? err.message) + "\n");
  return ExitCode.INTERNAL;
}
