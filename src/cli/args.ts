/**
 * A small, strict command-line parser: long flags (`--name`, `--name=value`, `--name value`),
 * short aliases (`-i`), repeatable string flags, positionals, and `--` ending option parsing.
 * Unknown flags are usage errors, so a typo never silently changes what a command does.
 *
 * @module
 */

/** How one flag is parsed. */
export interface FlagSpec {
  /** `boolean` flags take no value; `string` takes one; `list` may repeat. */
  type: "boolean" | "string" | "list";
  /** One-letter alias, without the dash. */
  short?: string;
  /** Shown in help. */
  description: string;
  /** Placeholder for the value in help, e.g. `FILE`. */
  value?: string;
}

/** Parsed arguments. */
export interface ParsedArgs {
  /** Flag values by long name: `true` for booleans, string, or string[] for lists. */
  flags: Record<string, string | boolean | string[]>;
  /** Positional arguments before `--`. */
  positionals: string[];
  /** Arguments after `--` (undefined when there was no `--`). */
  rest: string[] | undefined;
}

/** A usage error: wrong flags or arguments. The CLI exits with code 2. */
export class UsageError extends Error {
  /** @param message what is wrong, one line */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parse `argv` against `specs`. Throws {@link UsageError}. */
export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>): ParsedArgs {
  const flags: ParsedArgs["flags"] = {};
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.short) byShort.set(spec.short, name);
  const set = (name: string, value: string | boolean) => {
    const spec = specs[name]!;
    if (spec.type === "list") {
      const list = (flags[name] as string[] | undefined) ?? [];
      list.push(value as string);
      flags[name] = list;
    } else {
      flags[name] = value;
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return { flags, positionals, rest: argv.slice(i + 1) };
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) inline = arg.slice(eq + 1);
      if (!specs[name]) throw new UsageError(`Unknown option --${name}`);
    } else if (arg.startsWith("-") && arg.length === 2 && arg !== "-") {
      name = byShort.get(arg[1]!);
      if (!name) throw new UsageError(`Unknown option ${arg}`);
    } else {
      positionals.push(arg);
      continue;
    }
    const spec = specs[name]!;
    if (spec.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`Option --${name} takes no value`);
      set(name, true);
    } else {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`Option --${name} needs a value`);
      set(name, value);
    }
  }
  return { flags, positionals, rest: undefined };
}

/** Help text lines for flags. */
export function formatFlags(specs: Record<string, FlagSpec>): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const left = `${s.short ? `-${s.short}, ` : "    "}--${name}${
      s.type === "boolean" ? "" : ` ${s.value ?? "VALUE"}`
    }`;
    return [left, s.description] as const;
  });
  const width = Math.max(0, ...rows.map(([l]) => l.length));
  return rows.map(([l, d]) => `  ${l.padEnd(width)}  ${d}`).join("\n");
}
