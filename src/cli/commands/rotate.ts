/**
 * `sealfig rotate FILE...`: new data keys for every value (decrypt and reseal).
 * `sealfig rewrap FILE... --to KEY`: wrap the existing data keys under another key of the same
 * provider (KMS ReEncrypt: the data keys never reach this process); ciphertexts stay unchanged.
 *
 * @module
 */
import { applyEdits, decryptDocument, sealDocument, type TextEdit } from "../../document/seal.ts";
import { parseBlob, replaceKeySlot } from "../../envelope/format.ts";
import { SealfigError } from "../../errors.ts";
import { providerById } from "../../keys/registry.ts";
import { formatKeyRef, parseKeyRef } from "../../rules.ts";
import { writeFileAtomic } from "../../runtime.ts";
import { UsageError } from "../args.ts";
import { type CliContext, type Command, flagString } from "../command.ts";
import {
  readTarget,
  resolveTarget,
  RULE_FLAGS,
  sealOptions,
  stampForWrite,
  verifyForWrite,
} from "../target.ts";
import { toBase64Url } from "../../crypto/bytes.ts";

function progress(ctx: CliContext, verb: string, done: number, total: number): void {
  if (!ctx.stderrIsTty || total < 5) return;
  ctx.stderr(`\r${verb}: ${done}/${total} files${done === total ? "\n" : ""}`);
}

/** The rotate command. */
export const rotateCommand: Command = {
  name: "rotate",
  summary: "New data keys for every sealed value (decrypt and reseal), in place",
  usage: "rotate FILE... [--key REF]",
  details: "With --key, values are resealed under that key (e.g. to move to another provider).",
  flags: { ...RULE_FLAGS },
  async run(args, ctx) {
    if (args.positionals.length === 0) throw new UsageError("rotate takes one or more FILEs");
    let n = 0;
    for (const file of args.positionals) {
      const target = await resolveTarget(file, args, ctx);
      const sealed = await readTarget(target, ctx);
      const prior = await verifyForWrite(target, sealed, ctx);
      const plain = await decryptDocument(sealed, {
        providers: target.providers,
        context: target.rule.context,
        cache: target.cache,
      });
      // The view keeps the old record (a plain value, never sealed): the stamp replaces it, so
      // the view is not cut and parsed again (issue 16: one parse per file).
      const result = await sealDocument(plain.document, sealOptions(target));
      // A new integrity data key too: rotation replaces every data key of the file.
      const out = await stampForWrite(target, sealed, result.document, prior, { freshKey: true });
      await writeFileAtomic(file, out.toBytes());
      progress(ctx, "rotate", ++n, args.positionals.length);
      if (!ctx.stderrIsTty) {
        ctx.stderr(
          `${file}: resealed ${result.sealed} value(s) under ${result.dataKeysGenerated} new data key(s)\n`,
        );
      }
    }
    return 0;
  },
};

/** The rewrap command. */
export const rewrapCommand: Command = {
  name: "rewrap",
  summary: "Re-wrap existing data keys under another key (KMS ReEncrypt); ciphertexts unchanged",
  usage: "rewrap FILE... --to REF",
  details: "Only within one provider (local→local, KMS→KMS); to move between providers use\n" +
    "`sealfig rotate --key REF`. Remember to update .sealfig.yaml to the new key.",
  flags: {
    to: { type: "string", value: "REF", description: "The key to wrap under" },
    rules: RULE_FLAGS.rules!,
    context: RULE_FLAGS.context!,
    format: RULE_FLAGS.format!,
  },
  async run(args, ctx) {
    const toText = flagString(args, "to");
    if (!toText) throw new UsageError("rewrap needs --to REF");
    if (args.positionals.length === 0) throw new UsageError("rewrap takes one or more FILEs");
    const to = parseKeyRef(toText);
    let n = 0;
    for (const file of args.positionals) {
      const target = await resolveTarget(file, args, ctx);
      const doc = await readTarget(target, ctx);
      const prior = await verifyForWrite(target, doc, ctx);
      const provider = providerById(target.providers, to.providerId);
      if (!provider.rewrapDataKey) {
        throw new SealfigError(
          "OPTION_INVALID",
          `Provider ${to.providerId} cannot re-wrap data keys`,
          { file },
        );
      }
      const rewrapped = new Map<string, Promise<{ wrapped: Uint8Array; keyId: string }>>();
      const edits: TextEdit[] = [];
      for (const e of doc.entries()) {
        if (e.kind !== "sealed") continue;
        const where = { file, line: e.line, col: e.col, path: e.pathText };
        let blob: ReturnType<typeof parseBlob>;
        try {
          blob = parseBlob(e.value as string);
        } catch (err) {
          throw err instanceof SealfigError ? err.withLocation(where) : err;
        }
        if (blob.providerId !== to.providerId) {
          throw new SealfigError(
            "OPTION_INVALID",
            `Value is sealed with provider ${blob.providerId}; rewrap works within one provider`,
            {
              file,
              line: e.line,
              col: e.col,
              path: e.pathText,
              hint: `Use sealfig rotate --key ${formatKeyRef(to)}`,
            },
          );
        }
        const id = `${blob.keyId}\u0000${toBase64Url(blob.wrappedDek)}`;
        let p = rewrapped.get(id);
        if (!p) {
          p = provider.rewrapDataKey(blob.keyId, blob.wrappedDek, target.rule.context, to.keyId);
          rewrapped.set(id, p);
        }
        const slot = await p.catch((err: unknown) => {
          throw err instanceof SealfigError ? err.withLocation(where) : err;
        });
        edits.push({
          from: e.start,
          to: e.end,
          text: replaceKeySlot(blob, {
            providerId: to.providerId,
            keyId: slot.keyId,
            wrappedDek: slot.wrapped,
          }),
        });
      }
      // The record moves to the new key too, also in a file without a sealed value.
      const out = await stampForWrite(
        target,
        doc,
        doc.withText(applyEdits(doc.text, edits)),
        prior,
        { freshKey: true, key: to },
      );
      await writeFileAtomic(file, out.toBytes());
      progress(ctx, "rewrap", ++n, args.positionals.length);
      if (!ctx.stderrIsTty) {
        ctx.stderr(
          `${file}: re-wrapped ${rewrapped.size} data key(s) for ${edits.length} value(s)\n`,
        );
      }
    }
    return 0;
  },
};
