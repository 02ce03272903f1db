/**
 * `sealfig rotate FILE...`: new data keys for every value (decrypt and reseal).
 * `sealfig rewrap FILE... --to KEY`: wrap the existing data keys under another key of the same
 * provider (KMS ReEncrypt: the data keys never reach this process); ciphertexts stay unchanged.
 * `sealfig rewrap FILE... --add-key KEY --remove-key KEY`: change the key list of several-key
 * values (docs/format.md §11): each data key is opened once and wrapped under the added keys, the
 * removed keys' slots are dropped; ciphertexts stay unchanged.
 *
 * @module
 */
import { applyEdits, decryptDocument, sealDocument, type TextEdit } from "../../document/seal.ts";
import {
  type KeySlot,
  parseBlob,
  type ParsedBlob,
  replaceKeySlots,
} from "../../envelope/format.ts";
import { wrapForKeys } from "../../envelope/values.ts";
import type { KeyProvider } from "../../keys/key_provider.ts";
import type { KeyRef } from "../../rules.ts";
import type { Target } from "../target.ts";
import { isSealfigError, SealfigError } from "../../errors.ts";
import { providerById } from "../../keys/registry.ts";
import { formatKeyRef, parseKeyRef } from "../../rules.ts";
import { writeFileAtomic } from "../../runtime.ts";
import { UsageError } from "../args.ts";
import { type CliContext, type Command, flagList, flagString } from "../command.ts";
import {
  readTarget,
  resolveTarget,
  RULE_FLAGS,
  sealOptions,
  stampForWrite,
  verifyForWrite,
  warnNarrowedKeys,
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
      warnNarrowedKeys(ctx, file, sealed, out);
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
  usage: "rewrap FILE... --to REF | rewrap FILE... [--add-key REF]... [--remove-key REF]...",
  details:
    "--to: only within one provider (local→local, KMS→KMS); to move between providers use\n" +
    "`sealfig rotate --key REF`. Remember to update .sealfig.yaml to the new key.\n" +
    "--add-key/--remove-key change which keys can open the values (each data key is opened\n" +
    "once and wrapped under the added keys; removed keys' slots are dropped; ciphertexts stay\n" +
    "as they are). Update the rule's keys: [...] in .sealfig.yaml to match.",
  flags: {
    to: { type: "string", value: "REF", description: "The key to wrap under" },
    "add-key": {
      type: "list",
      value: "REF",
      description: "Also wrap every data key under this key (repeatable)",
    },
    "remove-key": {
      type: "list",
      value: "REF",
      description: "Drop this key from every value (repeatable; never the last key)",
    },
    rules: RULE_FLAGS.rules!,
    context: RULE_FLAGS.context!,
    format: RULE_FLAGS.format!,
  },
  async run(args, ctx) {
    const toText = flagString(args, "to");
    const adding = flagList(args, "add-key").map(parseKeyRef);
    const removing = flagList(args, "remove-key").map(parseKeyRef);
    if (adding.length || removing.length) {
      if (toText) throw new UsageError("rewrap takes --to, or --add-key/--remove-key, not both");
      if (args.positionals.length === 0) throw new UsageError("rewrap takes one or more FILEs");
      let n = 0;
      for (const file of args.positionals) {
        await changeKeys(file, adding, removing, args, ctx);
        progress(ctx, "rewrap", ++n, args.positionals.length);
      }
      return 0;
    }
    if (!toText) throw new UsageError("rewrap needs --to REF (or --add-key/--remove-key)");
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
          // A several-key value keeps its other keys; the first moves to the new key.
          text: replaceKeySlots(blob, [
            { providerId: to.providerId, keyId: slot.keyId, wrappedDek: slot.wrapped },
            ...blob.slots.slice(1).filter((k) =>
              !(k.providerId === to.providerId && k.keyId === slot.keyId)
            ),
          ]),
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
      rulesNote(ctx, target, [to]);
    }
    return 0;
  },
};

/** Whether a slot is the key `ref` names: as recorded, or as the provider resolves `ref`. */
async function matches(
  slot: KeySlot,
  ref: KeyRef,
  providers: readonly KeyProvider[],
  resolved: Map<string, Promise<string>>,
): Promise<boolean> {
  if (slot.providerId !== ref.providerId) return false;
  if (slot.keyId === ref.keyId) return true;
  const provider = providers.find((p) => p.id === ref.providerId);
  if (!provider?.resolveKeyId) return false;
  const id = `${ref.providerId}:${ref.keyId}`;
  let p = resolved.get(id);
  if (!p) {
    p = provider.resolveKeyId(ref.keyId).catch(() => ref.keyId);
    resolved.set(id, p);
  }
  return (await p) === slot.keyId;
}

/**
 * The plaintext data key of a blob through the first of its keys that opens (the caller zeroes
 * it). The providers are the target's, guarded by its allowlist: untrusted keys are refused.
 */
async function rawDataKey(
  blob: ParsedBlob,
  target: Target,
): Promise<Uint8Array> {
  const tried: string[] = [];
  for (const slot of blob.slots) {
    const provider = target.providers.find((p) => p.id === slot.providerId);
    if (!provider) {
      tried.push(`${slot.providerId}:${slot.keyId} (PROVIDER_UNKNOWN)`);
      continue;
    }
    try {
      return await provider.decryptDataKey(slot.keyId, slot.wrappedDek, target.rule.context);
    } catch (err) {
      if (blob.slots.length === 1) throw err;
      tried.push(`${slot.providerId}:${slot.keyId} (${isSealfigError(err) ? err.code : "?"})`);
    }
  }
  throw new SealfigError(
    "KEYS_UNAVAILABLE",
    `Cannot add a key: none of the value's keys opens its data key here: ${tried.join(", ")}`,
    { hint: "Adding a key needs one of the existing keys (to wrap the same data key again)" },
  );
}

/** `rewrap --add-key/--remove-key` on one file. */
async function changeKeys(
  file: string,
  adding: readonly KeyRef[],
  removing: readonly KeyRef[],
  args: Parameters<Command["run"]>[0],
  ctx: CliContext,
): Promise<void> {
  const target = await resolveTarget(file, args, ctx);
  const doc = await readTarget(target, ctx);
  const prior = await verifyForWrite(target, doc, ctx);
  const context = target.rule.context;
  const resolved = new Map<string, Promise<string>>();
  const addKeys = adding.map((k) => ({
    ref: k,
    provider: providerById(target.providers, k.providerId),
  }));
  // Per data key (first slot + wrapped bytes): its new key slots.
  const perDek = new Map<string, Promise<KeySlot[]>>();
  // Which --remove-key found a slot and which --add-key was missing from a value: a change that
  // would change nothing is refused before anything is written.
  const removedSomewhere = new Set<number>();
  const addedSomewhere = new Set<number>();
  const newSlots = async (blob: ParsedBlob): Promise<KeySlot[]> => {
    const kept: KeySlot[] = [];
    for (const slot of blob.slots) {
      let drop = false;
      for (const [i, r] of removing.entries()) {
        if (await matches(slot, r, target.providers, resolved)) {
          drop = true;
          removedSomewhere.add(i);
        }
      }
      if (!drop) kept.push(slot);
    }
    const missing = [];
    for (const [i, k] of addKeys.entries()) {
      let present = false;
      for (const slot of kept) {
        if (await matches(slot, k.ref, target.providers, resolved)) present = true;
      }
      if (!present) {
        missing.push({ provider: k.provider, keyId: k.ref.keyId });
        addedSomewhere.add(i);
      }
    }
    if (missing.length) {
      const dek = await rawDataKey(blob, target);
      try {
        const refs = await wrapForKeys(dek, missing, context);
        for (const r of refs) {
          if (!kept.some((s) => s.providerId === r.providerId && s.keyId === r.keyId)) {
            kept.push({ providerId: r.providerId, keyId: r.keyId, wrappedDek: r.wrapped });
          }
        }
      } finally {
        dek.fill(0);
      }
    }
    if (kept.length === 0) {
      throw new SealfigError("OPTION_INVALID", "Cannot remove every key of a value", {
        hint: "Keep at least one key (add the new key in the same command)",
      });
    }
    return kept;
  };
  const edits: TextEdit[] = [];
  let keyList: KeySlot[] | undefined;
  for (const e of doc.entries()) {
    if (e.kind !== "sealed") continue;
    const where = { file, line: e.line, col: e.col, path: e.pathText };
    try {
      const blob = parseBlob(e.value as string);
      const id = `${blob.providerId}\u0000${blob.keyId}\u0000${toBase64Url(blob.wrappedDek)}`;
      let p = perDek.get(id);
      if (!p) perDek.set(id, p = newSlots(blob));
      const slots = await p;
      keyList ??= slots;
      const text = replaceKeySlots(blob, slots);
      if (text !== e.value) edits.push({ from: e.start, to: e.end, text });
    } catch (err) {
      throw err instanceof SealfigError ? err.withLocation(where) : err;
    }
  }
  if (keyList) {
    const notIn = removing.filter((_, i) => !removedSomewhere.has(i));
    const allHave = adding.filter((_, i) => !addedSomewhere.has(i));
    if (notIn.length > 0 || allHave.length > 0) {
      throw new SealfigError(
        "REWRAP_NO_CHANGE",
        [
          notIn.length
            ? `${notIn.map(formatKeyRef).join(", ")} ${
              notIn.length > 1 ? "are" : "is"
            } not a key of any value in the file`
            : "",
          allHave.length
            ? `every value in the file already has ${allHave.map(formatKeyRef).join(", ")}`
            : "",
        ].filter(Boolean).join("; ") + "; nothing was written",
        {
          file,
          hint: "Run `sealfig status` to see the file's keys; name only keys that change something",
        },
      );
    }
  }
  // The record follows the values' keys (the rule's keys, changed the same way, without values).
  let recordKeys: KeyRef[] = keyList?.map((s) => ({ providerId: s.providerId, keyId: s.keyId })) ??
    [];
  if (!keyList) {
    recordKeys = [];
    for (const k of target.rule.keys) {
      let drop = false;
      for (const r of removing) {
        if (await matches({ ...k, wrappedDek: new Uint8Array() }, r, target.providers, resolved)) {
          drop = true;
        }
      }
      if (!drop) recordKeys.push(k);
    }
    for (const k of adding) {
      if (!recordKeys.some((r) => r.providerId === k.providerId && r.keyId === k.keyId)) {
        recordKeys.push(k);
      }
    }
    if (recordKeys.length === 0) {
      throw new SealfigError("OPTION_INVALID", "Cannot remove every key of the file", { file });
    }
  }
  const out = await stampForWrite(
    target,
    doc,
    doc.withText(applyEdits(doc.text, edits)),
    prior,
    { freshKey: true, keys: recordKeys },
  );
  await writeFileAtomic(file, out.toBytes());
  if (!ctx.stderrIsTty) {
    ctx.stderr(
      `${file}: ${perDek.size} data key(s) of ${edits.length} value(s) now under ${
        recordKeys.map(formatKeyRef).join(", ")
      }\n`,
    );
  }
  rulesNote(ctx, target, adding);
}

/** The note after a rewrap that gave the file keys its rule does not name (`--add-key`, `--to`). */
function rulesNote(ctx: CliContext, target: Target, keys: readonly KeyRef[]): void {
  const ruleRefs = new Set(target.rule.keys.map((k) => `${k.providerId}:${k.keyId}`));
  const outside = keys.filter((k) => !ruleRefs.has(`${k.providerId}:${k.keyId}`));
  if (outside.length > 0) {
    ctx.stderr(
      `sealfig: note: add ${
        outside.map(formatKeyRef).join(", ")
      } to the rule's keys in .sealfig.yaml so new values are sealed for it too\n`,
    );
  }
}
