/**
 * `sealfig seal-env NAME [VALUE|-]`: seal a value for one environment variable (or `.env` entry)
 * and print `NAME=sealfig:v1:…`. The blob is bound to the variable (path `[NAME]`) and to the
 * environment layers (context + `sealfig:source = env`): it opens only as that variable, and no
 * blob from a YAML file opens there (docs/config.md, "Sealed values in the environment").
 *
 * @module
 */
import { envSealing } from "../../config/env_overrides.ts";
import { encryptValue } from "../../envelope/values.ts";
import { UsageError } from "../args.ts";
import { type Command, flagList, flagString } from "../command.ts";
import { parseContextFlags, resolveTarget, RULE_FLAGS, sealingKey } from "../target.ts";
import { typed } from "./set.ts";
import { isEnvName } from "../../document/dotenv.ts";

/** The seal-env command. */
export const sealEnvCommand: Command = {
  name: "seal-env",
  summary: "Seal a value for an environment variable or .env; prints NAME=sealfig:v1:…",
  usage: "seal-env NAME [VALUE|-] [--type TYPE] [--key REF] [--context K=V]...",
  details: [
    "Without VALUE, or with -, the value is read from stdin (one trailing newline is removed), so",
    "it stays out of shell history. The blob opens only as the variable NAME (prefix included) and",
    "only from the environment or .env, never from a YAML file; a blob copied from a file does not",
    "open as a variable either. The key is --key, else the rules' key for .env. The context is",
    "the --context entries only (default none): it must equal the loader's env.context.",
  ].join("\n"),
  flags: {
    type: { type: "string", value: "TYPE", description: "Value type (default: string)" },
    ...RULE_FLAGS,
    context: {
      type: "list",
      value: "K=V",
      description: "Encryption context entry: the loader's env.context (repeatable; default none)",
    },
  },
  async run(args, ctx) {
    const [name, raw, ...extra] = args.positionals;
    if (!name || extra.length) {
      throw new UsageError("seal-env takes NAME and optionally VALUE (or - for stdin)");
    }
    if (name.length > 255 || !isEnvName(name)) {
      throw new UsageError(`seal-env: ${JSON.stringify(name)} is not an environment variable name`);
    }
    const text = raw === undefined || raw === "-"
      ? new TextDecoder().decode(await ctx.readStdin()).replace(/\r?\n$/, "")
      : raw;
    const value = typed(text, flagString(args, "type") ?? "string");
    const target = await resolveTarget(".env", args);
    // Only the --context flags (the loader's env.context): the rules' contexts are for files.
    const context = parseContextFlags(flagList(args, "context"));
    const blob = await encryptValue(value, { ...sealingKey(target), ...envSealing(name, context) });
    ctx.stdout(`${name}=${blob}\n`);
    return 0;
  },
};
