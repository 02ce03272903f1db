/**
 * `sealfig set FILE PATH [VALUE|-]` and `sealfig unset FILE PATH`: change one value without an
 * editor. `set` never decrypts another value. Under the `per-file` data key policy it seals the
 * new value under a data key the file already uses (fewer than the per-DEK bound of values on it),
 * which needs Decrypt permission on that key; a caller without it (write-only) gets a fresh data
 * key instead, as under `per-value`.
 *
 * @module
 */
import { parseDocument } from "../../document/document.ts";
import { setSecret, setValue, unsetValue } from "../../document/edit.ts";
import type { SecretValue } from "../../envelope/value_codec.ts";
import { SealfigError } from "../../errors.ts";
import { UsageError } from "../args.ts";
import { type Command, flagBool, flagString } from "../command.ts";
import { INTEGRITY_KEY, isRecordPath } from "../../integrity/record.ts";
import { toSegments } from "../../path.ts";
import {
  readTarget,
  resolveTarget,
  RULE_FLAGS,
  sealingKey,
  stampForWrite,
  targetExists,
  verifyForWrite,
  warnNarrowedKeys,
  writeTarget,
} from "../target.ts";

/** The set command. */
export const setCommand: Command = {
  name: "set",
  summary: "Seal VALUE (or stdin with -) at PATH, without decrypting anything else",
  usage: "set FILE PATH [VALUE|-] [--type string|integer|float|boolean|null] [--plain] [--stdout]",
  details:
    "Without VALUE, or with -, the value is read from stdin (so it stays out of shell history;\n" +
    "one trailing newline is removed). The file is rewritten atomically; a new file is created.\n" +
    "Under the per-file data key policy the value joins a data key the file already uses (needs\n" +
    "Decrypt permission on it); without that permission a new data key is made.",
  flags: {
    type: { type: "string", value: "TYPE", description: "Value type (default: string)" },
    plain: { type: "boolean", description: "Store the value unencrypted" },
    stdout: { type: "boolean", description: "Print the result instead of writing FILE" },
    ...RULE_FLAGS,
  },
  async run(args, ctx) {
    const [file, path, raw, ...extra] = args.positionals;
    if (!file || file === "-" || path === undefined || extra.length) {
      throw new UsageError("set takes FILE, PATH and optionally VALUE (or - for stdin)");
    }
    const text = raw === undefined || raw === "-"
      ? new TextDecoder("utf-8", { ignoreBOM: true }).decode(await ctx.readStdin())
        .replace(/\r?\n$/, "")
      : raw;
    const value = typed(text, flagString(args, "type") ?? "string");
    refuseReserved(path);
    const target = await resolveTarget(file, args, ctx);
    const exists = await targetExists(target);
    const doc = exists ? await readTarget(target, ctx) : parseDocument("", { file });
    const prior = await verifyForWrite(target, exists ? doc : undefined, ctx);
    let out;
    if (flagBool(args, "plain")) {
      out = setValue(doc, path, value);
    } else {
      out = await setSecret(doc, path, value, {
        ...sealingKey(target),
        context: target.rule.context,
        // per-file policy: add to a data key the file already uses (needs Decrypt on it).
        ...(target.rule.maxValuesPerDek > 1
          ? {
            reuseDataKey: {
              providers: target.providers,
              cache: target.cache,
              maxValuesPerDek: target.rule.maxValuesPerDek,
            },
          }
          : {}),
      });
    }
    const final = await stampForWrite(target, exists ? doc : undefined, out, prior);
    warnNarrowedKeys(ctx, file, exists ? doc : undefined, final);
    if (final !== doc || !exists || flagBool(args, "stdout")) {
      await writeTarget(target, final, !flagBool(args, "stdout"), ctx);
    }
    return 0;
  },
};

/** The integrity record is written by sealfig only. */
function refuseReserved(path: string): void {
  const segments = toSegments(path);
  if (isRecordPath(segments)) {
    throw new SealfigError(
      "OPTION_INVALID",
      `${INTEGRITY_KEY} is reserved for the integrity record`,
      {
        hint: "sealfig writes it on every change; use sealfig stamp to recreate it",
      },
    );
  }
}

/** The unset command. */
export const unsetCommand: Command = {
  name: "unset",
  summary: "Remove the value (or map/sequence) at PATH",
  usage: "unset FILE PATH [--stdout]",
  flags: { stdout: { type: "boolean", description: "Print the result instead of writing FILE" } },
  async run(args, ctx) {
    const [file, path, ...extra] = args.positionals;
    if (!file || file === "-" || path === undefined || extra.length) {
      throw new UsageError("unset takes FILE and PATH");
    }
    refuseReserved(path);
    const target = await resolveTarget(file, args, ctx);
    const doc = await readTarget(target, ctx);
    const prior = await verifyForWrite(target, doc, ctx);
    const out = await stampForWrite(target, doc, unsetValue(doc, path), prior);
    await writeTarget(target, out, !flagBool(args, "stdout"), ctx);
    return 0;
  },
};

/** A value of `type` (string, integer, float, boolean, null) from its text (shared with seal-env). */
export function typed(text: string, type: string): SecretValue {
  switch (type) {
    case "string":
      return text;
    case "integer":
      if (!/^-?(0|[1-9][0-9]*)$/.test(text)) {
        throw new UsageError("--type integer needs a decimal integer");
      }
      return Number.isSafeInteger(Number(text)) ? Number(text) : BigInt(text);
    case "float":
      if (Number.isNaN(Number(text)) && text !== "NaN") {
        throw new UsageError("--type float needs a number");
      }
      return Number(text);
    case "boolean":
      if (text !== "true" && text !== "false") {
        throw new UsageError("--type boolean needs true or false");
      }
      return text === "true";
    case "null":
      return null;
    default:
      throw new UsageError("--type must be string, integer, float, boolean or null");
  }
}
