/**
 * What every CLI command is: a name, help, flags and a `run` that returns an exit code. Commands
 * receive their I/O through {@link CliContext}, so they never reach for the host directly.
 *
 * @module
 */
import type { FlagSpec, ParsedArgs } from "./args.ts";

/** I/O and environment a command runs with. */
export interface CliContext {
  /** Write to standard output. */
  stdout(text: string): void;
  /** Write to standard error (messages, progress). */
  stderr(text: string): void;
  /** Read all of standard input. */
  readStdin(): Promise<Uint8Array>;
  /** Environment variables. */
  env: Readonly<Record<string, string>>;
  /** Whether stderr is a terminal (for progress output). */
  stderrIsTty: boolean;
  /** Whether stdin is a terminal (for prompts). */
  stdinIsTty: boolean;
}

/** One `sealfig` command. */
export interface Command {
  /** The verb. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage line(s) after `sealfig`. */
  usage: string;
  /** Longer help text shown under the usage (optional). */
  details?: string;
  /** Flags besides `--help`. */
  flags: Record<string, FlagSpec>;
  /** Do it; resolve to the exit code. Throw SealfigError/UsageError for failures. */
  run(args: ParsedArgs, ctx: CliContext): Promise<number>;
  /** For commands that parse their own arguments (and print their own help): gets argv as is. */
  runRaw?(argv: readonly string[], ctx: CliContext): Promise<number>;
}

/** Shorthand: a string flag value or undefined. */
export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === "string" ? v : undefined;
}

/** Shorthand: a boolean flag. */
export function flagBool(args: ParsedArgs, name: string): boolean {
  return args.flags[name] === true;
}

/** Shorthand: a repeatable flag's values. */
export function flagList(args: ParsedArgs, name: string): string[] {
  const v = args.flags[name];
  return Array.isArray(v) ? v : [];
}
