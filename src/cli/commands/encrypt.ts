/**
 * `sealfig encrypt FILE [-i]`: seal every `!secret` value and every value the rules mark secret.
 * Values that are already sealed stay as they are; with `--previous`, values of a plaintext view
 * whose plaintext did not change keep their old blobs.
 *
 * @module
 */
import { readDocument } from "../../document/document.ts";
import { sealDocument } from "../../document/seal.ts";
import { UsageError } from "../args.ts";
import { type Command, flagBool, flagString } from "../command.ts";
import {
  markedSecret,
  priorUnverified,
  readTarget,
  resolveTarget,
  RULE_FLAGS,
  sealOptions,
  stampForWrite,
  verifyForWrite,
  warnNarrowedKeys,
  writeTarget,
} from "../target.ts";

/** The encrypt command. */
export const encryptCommand: Command = {
  name: "encrypt",
  summary: "Seal !secret values and values the rules mark secret (stdout, or -i in place)",
  usage: "encrypt FILE|- [-i] [--previous SEALED_FILE] [--force] [--key REF] [--context K=V]...",
  details:
    "Already sealed values are left alone, so running it twice changes nothing. When FILE is a\n" +
    "plaintext view (from `sealfig decrypt`), --previous names the sealed file it came from so that\n" +
    "unchanged values keep their blobs and the diff shows only what changed.\n" +
    "The output carries an integrity record. A sealed input (or --previous) whose record does not\n" +
    "verify is refused: it was changed outside sealfig. --force vouches for it after you reviewed it.",
  flags: {
    "in-place": {
      type: "boolean",
      short: "i",
      description: "Write the result back to FILE (atomically)",
    },
    previous: {
      type: "string",
      value: "FILE",
      description: "Sealed version of FILE, to keep unchanged blobs",
    },
    force: {
      type: "boolean",
      description: "Seal even though the file's integrity record does not verify (review it first)",
    },
    ...RULE_FLAGS,
  },
  async run(args, ctx) {
    const [file, ...extra] = args.positionals;
    if (!file || extra.length) {
      throw new UsageError("encrypt takes exactly one FILE (or - for stdin)");
    }
    const inPlace = flagBool(args, "in-place");
    const target = await resolveTarget(file, args, ctx);
    const doc = await readTarget(target, ctx);
    const isMarked = markedSecret(target.rule);
    const pending = doc.values().filter((v) =>
      v.kind === "secret" || (v.kind === "plain" && isMarked(v))
    );
    if (pending.length === 0) {
      // Nothing to seal, but the output still carries a record (when the rules give a key).
      const prior = flagBool(args, "force")
        ? priorUnverified(doc)
        : await verifyForWrite(target, doc, ctx);
      const stamp = target.rule.integrity !== "off" && prior.record === undefined &&
        target.rule.key !== undefined;
      const out = stamp ? await stampForWrite(target, undefined, doc, prior) : doc;
      if (!inPlace || out !== doc) await writeTarget(target, out, inPlace, ctx);
      ctx.stderr(`${file}: nothing to seal${stamp ? "; integrity record written" : ""}\n`);
      return 0;
    }
    const prevFile = flagString(args, "previous");
    const previous = prevFile ? await readDocument(prevFile) : undefined;
    // The record carried on is the sealed file's: --previous, else the input itself.
    const base = previous ?? doc;
    const prior = flagBool(args, "force")
      ? priorUnverified(base)
      : await verifyForWrite(target, base, ctx);
    const result = await sealDocument(doc, sealOptions(target, previous));
    const out = await stampForWrite(target, base, result.document, prior);
    warnNarrowedKeys(ctx, file, base, out);
    await writeTarget(target, out, inPlace, ctx);
    ctx.stderr(
      `${file}: sealed ${result.sealed} value(s), kept ${result.kept}, ${result.dataKeysGenerated} new data key(s)\n`,
    );
    return 0;
  },
};
