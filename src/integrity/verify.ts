/**
 * Whole-file integrity: read, verify and write a document's integrity record.
 *
 * A record authenticates, with a key only the holders of the file's KMS (or local) key can
 * derive, every value of the file (plaintext values included), its paths and order, and the file's
 * encryption context. The MAC key comes from an **integrity data key** wrapped under the file's key
 * with the context `file context + {"sealfig:purpose": "integrity"}`, so opening it is one
 * provider call per file (none when cached) and IAM can grant it separately from value data keys.
 *
 * @module
 */
import { underlyingProvider } from "../keys/call_deadline.ts";
import { topLevelNotMap } from "../document/top_level.ts";
import { DekCache } from "../cache/dek_cache.ts";
import { timingSafeEqual } from "../crypto/bytes.ts";
import { DataKey } from "../crypto/data_key.ts";
import { isSealfigError, SealfigError } from "../errors.ts";
import type { KeyAllowlist } from "../keys/allowlist.ts";
import type { EncryptionContext, KeyProvider } from "../keys/key_provider.ts";
import { applyEdits } from "../document/text_edits.ts";
import type { DocumentValue, SealfigDocument } from "../document/document.ts";
import { isMap, isScalar } from "yaml";
import { KeysUnavailable, openDataKey, type SealingKey, wrapForKeys } from "../envelope/values.ts";
import type { KeySlot } from "../envelope/format.ts";
import { formatPath } from "../path.ts";
import { integrityContext, macInput, recordMac, refuseUncoveredV1 } from "./mac.ts";
import {
  encodeIntegrityRecord,
  INTEGRITY_KEY,
  INTEGRITY_VERSION,
  type IntegrityRecord,
  parseIntegrityRecord,
  recordPath,
  recordRoot,
} from "./record.ts";

/** What is known about a file's integrity record. */
export type IntegrityState =
  /** The record matches the file. */
  | "valid"
  /** The file has no record. */
  | "missing"
  /** The record does not match the file: changed outside sealfig. */
  | "invalid"
  /** The record is not a well-formed record. */
  | "malformed"
  /** The record's key is not trusted. */
  | "untrusted"
  /** The record could not be checked (no access to its key, provider unavailable). */
  | "unverified";

/** Options for reading and verifying records. */
export interface VerifyIntegrityOptions {
  /** Providers to open the integrity data key with. */
  providers: readonly KeyProvider[];
  /** The file's encryption context (the one its values are sealed with). Default `{}`. */
  context?: EncryptionContext;
  /** Keys a record may be under. Checked before any provider call. */
  trust: KeyAllowlist;
  /** Data key cache. Default: a private cache for this call. */
  cache?: DekCache;
  /** Counts the keys of a several-key record passed over before the one that opened. */
  stats?: { keyFallThroughs: number };
}

/** The outcome of {@link checkIntegrity}. */
export interface IntegrityCheck {
  /** The state. */
  state: IntegrityState;
  /** The record, when one could be parsed. */
  record: IntegrityRecord | undefined;
  /** The error behind any state other than `valid` and `missing`. */
  error: SealfigError | undefined;
}

/** Error codes of a failed integrity data key unwrap that mean "altered", not "no access". */
const TAMPERED = new Set<string>([
  "DEK_UNWRAP_FAILED",
  "KMS_INVALID_CIPHERTEXT",
  "KMS_INCORRECT_KEY",
  "BLOB_AUTH_FAILED",
]);

function where(doc: SealfigDocument, entry?: DocumentValue) {
  return {
    ...(doc.file !== undefined ? { file: doc.file } : {}),
    ...(entry ? { line: entry.line, col: entry.col } : {}),
    path: formatPath(recordPath(doc)),
  };
}

/**
 * The document's integrity record, or undefined when it has none. Throws `INTEGRITY_MALFORMED`
 * when the `sealfig_integrity` entry is not a well-formed record.
 *
 * @example
 * ```ts
 * import { parseDocument, readIntegrityRecord } from "@sealfig/sealfig/document";
 * readIntegrityRecord(parseDocument("a: 1\n")); // undefined
 * ```
 */
export function readIntegrityRecord(doc: SealfigDocument): IntegrityRecord | undefined {
  const root = recordRoot(doc);
  if (!isMap(root) || !root.has(INTEGRITY_KEY)) return undefined;
  const entry = doc.get(recordPath(doc));
  if (!entry || typeof entry.value !== "string") {
    throw new SealfigError("INTEGRITY_MALFORMED", "The integrity record is not a string", {
      ...where(doc, entry),
      hint: "Restore the record line from git, or review the file and run sealfig stamp --force",
    });
  }
  if (entry.value.startsWith("sealfig-merge:v1:")) {
    // What `sealfig merge` leaves in a conflicted file: not a record, the generation reached.
    throw new SealfigError(
      "INTEGRITY_MALFORMED",
      "The file is a merge with conflicts that was not stamped after the resolution",
      {
        ...where(doc, entry),
        hint: "Resolve the conflicts, then run sealfig stamp FILE (the generation continues " +
          "from the merge)",
      },
    );
  }
  try {
    return parseIntegrityRecord(entry.value, doc.file);
  } catch (err) {
    throw isSealfigError(err) ? err.withLocation(where(doc, entry)) : err;
  }
}

/**
 * The error of opening the record's data key, saying so: the record is checked before any value,
 * so a user who asked for one value learns why the error names the record.
 */
function recordKeyError(err: SealfigError): SealfigError {
  if (err.reason.startsWith("Opening the integrity record's data key")) return err;
  return new SealfigError(err.code, `Opening the integrity record's data key: ${err.reason}`, {
    ...(err.file !== undefined ? { file: err.file } : {}),
    ...(err.line !== undefined ? { line: err.line } : {}),
    ...(err.col !== undefined ? { col: err.col } : {}),
    ...(err.path !== undefined ? { path: err.path } : {}),
    ...(err.keyId !== undefined ? { keyId: err.keyId } : {}),
    ...(err.hint !== undefined ? { hint: err.hint } : {}),
    ...(err.cause !== undefined ? { cause: err.cause } : {}),
  });
}

/** Open the record's integrity data key (through the cache) after checking its key is trusted. */
async function openIntegrityKey(
  doc: SealfigDocument,
  record: IntegrityRecord,
  options: VerifyIntegrityOptions,
  cache: DekCache,
): Promise<DataKey> {
  const loc = where(doc, doc.get(recordPath(doc)));
  try {
    await options.trust.check(record, options.providers);
  } catch (err) {
    throw isSealfigError(err) ? err.withLocation(loc) : err;
  }
  if (record.slots && record.slots.length > 1) {
    // Several keys (docs/format.md §11.2): the trusted ones in order, falling through.
    try {
      return await openDataKey(
        record,
        options.providers,
        integrityContext(options.context ?? {}),
        cache,
        { trust: options.trust, ...(options.stats ? { stats: options.stats } : {}) },
      );
    } catch (err) {
      // Every key that was tried refused the wrapped key as altered or of another context: the
      // usual cause is a reader with another context, as for a one-key record.
      const tried = isSealfigError(err) && err.cause instanceof KeysUnavailable
        ? err.cause.codes
        : [];
      if (tried.length > 0 && tried.every((c) => TAMPERED.has(c))) {
        throw mismatch(doc, record, options.context ?? {}, err);
      }
      throw isSealfigError(err) ? recordKeyError(err).withLocation(loc) : err;
    }
  }
  const provider = options.providers.find((p) => p.id === record.providerId);
  if (!provider) {
    throw new SealfigError(
      "PROVIDER_UNKNOWN",
      `The integrity record uses provider "${record.providerId}", which is not configured`,
      { ...loc, keyId: record.keyId },
    );
  }
  try {
    return await unwrapIntegrityKey(cache, provider, record, options.context ?? {});
  } catch (err) {
    if (isSealfigError(err) && TAMPERED.has(err.code)) {
      throw mismatch(doc, record, options.context ?? {}, err);
    }
    if (isSealfigError(err)) throw recordKeyError(err).withLocation(loc);
    throw new SealfigError("PROVIDER_FAILED", "Cannot open the integrity key", {
      ...loc,
      cause: err,
    });
  }
}

/** A record's integrity data key, through the cache, unwrapped with the integrity context. */
function unwrapIntegrityKey(
  cache: DekCache,
  provider: KeyProvider,
  record: Pick<IntegrityRecord, "keyId" | "wrappedDek">,
  fileContext: EncryptionContext,
): Promise<DataKey> {
  const context = integrityContext(fileContext);
  return cache.get(
    {
      providerId: provider.id,
      keyId: record.keyId,
      wrapped: record.wrappedDek,
      context,
      scope: underlyingProvider(provider),
    },
    () => provider.decryptDataKey(record.keyId, record.wrappedDek, context),
  );
}

/**
 * The record's integrity data key does not open under its key with this context: the file was
 * sealed with another encryption context (the usual cause) or key, or the record line was altered.
 * Never "changed outside sealfig": the content was not checked yet, and stamping would not help.
 */
function mismatch(
  doc: SealfigDocument,
  record: IntegrityRecord,
  context: EncryptionContext,
  cause: unknown,
): SealfigError {
  const entries = Object.entries(context);
  const shown = entries.length
    ? `{ ${entries.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ")} }`
    : "{} (no context)";
  return new SealfigError(
    "CONTEXT_MISMATCH",
    `The integrity record does not open with encryption context ${shown} under key ` +
      `${record.providerId}:${record.keyId}: the file was sealed with another context or key ` +
      "(or its record line was altered)",
    {
      ...(doc.file !== undefined ? { file: doc.file } : {}),
      path: INTEGRITY_KEY,
      keyId: record.keyId,
      cause,
      hint: "Open it with the context it was sealed with: its rule's context in .sealfig.yaml " +
        "(sealfig status FILE checks it) or the loader's context option. To move a file to " +
        "another context, decrypt it with the old context and encrypt it with the new one",
    },
  );
}

function invalid(doc: SealfigDocument, cause?: unknown): SealfigError {
  return new SealfigError(
    "INTEGRITY_INVALID",
    "The file does not match its integrity record: it was changed outside sealfig",
    {
      ...(doc.file !== undefined ? { file: doc.file } : {}),
      ...(cause !== undefined ? { cause } : {}),
      hint: "Inspect the change (git diff, git log -p); if it is genuine, review the whole file " +
        "and run sealfig stamp --force",
    },
  );
}

/**
 * Verify the document's integrity record. Resolves to the record when it matches, to undefined
 * when there is none and `required` is false. Throws `INTEGRITY_MISSING` (no record, required),
 * `INTEGRITY_MALFORMED`, `KEY_UNTRUSTED` (the record's key), `INTEGRITY_INVALID` (changed outside
 * sealfig), `INTEGRITY_UNSUPPORTED` (a v1 record over a plain integer beyond 2^53, which v1 does
 * not pin), or the provider's error when the integrity data key cannot be opened.
 *
 * @example
 * ```ts
 * import { LocalKeyProvider } from "@sealfig/sealfig";
 * import {
 *   KeyAllowlist, parseDocument, sealDocument, stampDocument, verifyIntegrity,
 * } from "@sealfig/sealfig/document";
 * const { id, key } = await LocalKeyProvider.generateKey();
 * const provider = new LocalKeyProvider({ keys: [key] });
 * const sealed = (await sealDocument(parseDocument("pw: !secret x\n"), { provider, keyId: id }))
 *   .document;
 * const { document } = await stampDocument(sealed, { provider, keyId: id, generation: 1 });
 * const trust = KeyAllowlist.of([`local:${id}`]);
 * (await verifyIntegrity(document, { providers: [provider], trust }))?.generation; // 1
 * ```
 */
export function verifyIntegrity(
  doc: SealfigDocument,
  options: VerifyIntegrityOptions & { required?: boolean },
): Promise<IntegrityRecord | undefined> {
  let record: IntegrityRecord | undefined;
  try {
    record = readIntegrityRecord(doc);
  } catch (err) {
    return Promise.reject(err);
  }
  return verifyRecord(doc, record, options);
}

/**
 * {@link verifyIntegrity} for a record already read with {@link readIntegrityRecord} (the loader
 * reads each file's record once, for its key check, and verifies it with this).
 */
export async function verifyRecord(
  doc: SealfigDocument,
  record: IntegrityRecord | undefined,
  options: VerifyIntegrityOptions & { required?: boolean },
): Promise<IntegrityRecord | undefined> {
  if (!record) {
    if (options.required === false) return undefined;
    throw new SealfigError("INTEGRITY_MISSING", "The file has no integrity record", {
      ...(doc.file !== undefined ? { file: doc.file } : {}),
      hint: "Files written by sealfig carry a sealfig_integrity line; if this file is yours, " +
        "review it and run sealfig stamp FILE",
    });
  }
  const cache = options.cache ?? new DekCache();
  try {
    const key = await openIntegrityKey(doc, record, options, cache);
    const version = record.version ?? INTEGRITY_VERSION;
    const input = macInput(doc, record.generation, options.context ?? {}, version);
    const mac = await recordMac(key, version, input);
    if (!timingSafeEqual(mac, record.mac)) throw invalid(doc);
    // A v1 record is accepted only where its MAC input pins the loaded config (§9.4).
    refuseUncoveredV1(doc, { version });
    return record;
  } finally {
    if (!options.cache) cache.clear();
  }
}

/**
 * Check a document's record without throwing for its state: for `sealfig status` and `check`.
 *
 * @example
 * ```ts
 * import { checkIntegrity, KeyAllowlist, parseDocument } from "@sealfig/sealfig/document";
 * const c = await checkIntegrity(parseDocument("a: 1\n"), {
 *   providers: [],
 *   trust: KeyAllowlist.of([]),
 * });
 * c.state; // "missing"
 * ```
 */
export async function checkIntegrity(
  doc: SealfigDocument,
  options: VerifyIntegrityOptions,
): Promise<IntegrityCheck> {
  let record: IntegrityRecord | undefined;
  try {
    record = readIntegrityRecord(doc);
    if (!record) return { state: "missing", record: undefined, error: undefined };
    await verifyRecord(doc, record, options);
    return { state: "valid", record, error: undefined };
  } catch (err) {
    if (!isSealfigError(err)) throw err;
    if (err.code === "SECRET_UNSEALED" || err.code === "VALUE_INVALID") {
      // A `!secret` plaintext value in a stamped file: it was edited by hand.
      return { state: "invalid", record, error: invalid(doc, err) };
    }
    const state: IntegrityState = err.code === "INTEGRITY_MALFORMED"
      ? "malformed"
      : err.code === "INTEGRITY_INVALID" || err.code === "CONTEXT_MISMATCH" ||
          err.code === "INTEGRITY_UNSUPPORTED"
      ? "invalid"
      : err.code === "KEY_UNTRUSTED"
      ? "untrusted"
      : "unverified";
    return { state, record, error: err };
  }
}

/** Options for {@link stampDocument}. */
export interface StampDocumentOptions {
  /** The provider that wraps a new integrity data key. */
  provider: KeyProvider;
  /** The key to wrap a new integrity data key under (local key id, KMS key ARN or alias). */
  keyId: string;
  /**
   * More keys, in order, to wrap a new integrity data key under (a several-key file: the record is
   * then `sealfig-mac:v3:`, docs/format.md §11.2). A `reuse` record is kept only when its keys
   * are exactly `keyId` and these (by the ids it records); otherwise a new integrity data key is
   * made. Default none.
   */
  additionalKeys?: readonly SealingKey[];
  /** The file's encryption context. Default `{}`. */
  context?: EncryptionContext;
  /** The record's generation: 1 for a new file, the previous generation + 1 on each change. */
  generation: number;
  /**
   * A previous record (already verified) whose integrity data key to keep, so the record line
   * changes only in its generation and MAC. When its key cannot be opened, a new one is made.
   * Default: a new integrity data key.
   */
  reuse?: IntegrityRecord;
  /** Providers to open `reuse`'s data key with. Default `[provider]`. */
  providers?: readonly KeyProvider[];
  /** Data key cache for opening `reuse`'s key. Default: a private cache. */
  cache?: DekCache;
}

/** What {@link stampDocument} did. */
export interface StampDocumentResult {
  /** The document with its new record. */
  document: SealfigDocument;
  /** The record written. */
  record: IntegrityRecord;
  /** True when a new integrity data key was generated (one `generateDataKey` call). */
  newDataKey: boolean;
}

/**
 * Write (or replace) the document's integrity record: `sealfig_integrity: sealfig-mac:v2:…` as
 * the last top-level entry (an existing record line is replaced where it is). Nothing else in the
 * text changes. Throws `SECRET_UNSEALED` when a `!secret` value is not sealed, and
 * `OPTION_INVALID` when the top level is not a block map.
 *
 * @example
 * ```ts
 * import { LocalKeyProvider } from "@sealfig/sealfig";
 * import { parseDocument, stampDocument } from "@sealfig/sealfig/document";
 * const { id, key } = await LocalKeyProvider.generateKey();
 * const provider = new LocalKeyProvider({ keys: [key] });
 * const { document } = await stampDocument(parseDocument("host: db.internal\n"), {
 *   provider,
 *   keyId: id,
 *   generation: 1,
 * });
 * document.toString().startsWith("host: db.internal\nsealfig_integrity: sealfig-mac:v2:"); // true
 * ```
 */
export async function stampDocument(
  doc: SealfigDocument,
  options: StampDocumentOptions,
): Promise<StampDocumentResult> {
  const context = options.context ?? {};
  const input = macInput(doc, options.generation, context);
  const cache = options.cache ?? new DekCache();
  let key: DataKey | undefined;
  let slots: readonly KeySlot[] | undefined;
  const more = options.additionalKeys ?? [];
  let newDataKey = false;
  let owned: DataKey | undefined;
  try {
    const reuse = options.reuse;
    if (reuse && sameExtraKeys(reuse, more)) {
      const provider = (options.providers ?? [options.provider]).find((p) =>
        p.id === reuse.providerId
      );
      if (provider) {
        try {
          key = await unwrapIntegrityKey(cache, provider, reuse, context);
          slots = reuse.slots ?? [reuse];
        } catch {
          key = undefined;
        }
      }
    }
    if (!key) {
      const generated = await options.provider.generateDataKey(
        options.keyId,
        integrityContext(context),
      );
      let extra;
      try {
        extra = await wrapForKeys(generated.plaintext, more, integrityContext(context));
      } catch (err) {
        generated.plaintext.fill(0);
        throw err;
      }
      owned = await DataKey.fromBytes(generated.plaintext);
      key = owned;
      slots = [
        { providerId: options.provider.id, keyId: generated.keyId, wrappedDek: generated.wrapped },
        ...extra.map((r) => ({ providerId: r.providerId, keyId: r.keyId, wrappedDek: r.wrapped })),
      ];
      newDataKey = true;
    }
    const record: IntegrityRecord = {
      version: INTEGRITY_VERSION,
      generation: options.generation,
      providerId: slots![0]!.providerId,
      keyId: slots![0]!.keyId,
      wrappedDek: slots![0]!.wrappedDek,
      ...(slots!.length > 1 ? { slots: slots! } : {}),
      mac: await recordMac(key, INTEGRITY_VERSION, input),
    };
    const document = withRecord(doc, encodeIntegrityRecord(record));
    // The record must not change what it authenticates (e.g. by joining a block scalar).
    if (!timingSafeEqual(macInput(document, options.generation, context), input)) {
      throw new SealfigError("OPTION_INVALID", "Cannot add the integrity record to this file", {
        ...(doc.file !== undefined ? { file: doc.file } : {}),
        hint: "End the file with a newline after a top-level block map",
      });
    }
    return { document, record, newDataKey };
  } finally {
    owned?.destroy();
    if (!options.cache) cache.clear();
  }
}

/**
 * Whether a record's extra key slots (after its first) are exactly `more`, by provider and the
 * key id recorded. Its first key is the file's key as before (a record is reused whatever the
 * primary key reference's spelling, as for one-key files).
 */
function sameExtraKeys(record: IntegrityRecord, more: readonly SealingKey[]): boolean {
  const extra = (record.slots ?? [record]).slice(1);
  return extra.length === more.length &&
    extra.every((s, i) => s.providerId === more[i]!.provider.id && s.keyId === more[i]!.keyId);
}

/**
 * @internal The document with `text` as its record: replaced in place, or appended as the last
 * line (also used by the CLI to keep an old record it could not verify).
 */
export function withRecord(doc: SealfigDocument, text: string): SealfigDocument {
  const root = recordRoot(doc);
  const existing = doc.entryAt(recordPath(doc));
  if (existing && isMap(root)) {
    return doc.withText(applyEdits(doc.text, [{ from: existing.start, to: existing.end, text }]));
  }
  const emptyRoot = root === null || root === undefined ||
    (isScalar(root) && root.value === null && !root.tag);
  const line = `${INTEGRITY_KEY}: ${text}`;
  if (isMap(root) && root.flow && root.range) {
    // `{a: 1}` (JSON-style): the record is the map's last entry, before its closing brace.
    const close = doc.text.lastIndexOf("}", root.range[1]);
    if (close >= root.range[0]) {
      const sep = root.items.length ? ", " : "";
      return doc.withText(applyEdits(doc.text, [{ from: close, to: close, text: sep + line }]));
    }
  }
  if (!emptyRoot && !(isMap(root) && !root.flow)) {
    throw topLevelNotMap(doc);
  }
  if (isScalar(root) && root.range && root.range[1] > root.range[0]) {
    // An explicit null document (`~`, `null`): the record takes its place.
    const from = root.range[0];
    const nul = doc.text.slice(from, root.range[1]).trimEnd(); // linear (/\s+$/ is quadratic on blank runs)
    return doc.withText(applyEdits(doc.text, [{ from, to: from + nul.length, text: line }]));
  }
  // Before a document-end marker (`...`), which nothing may follow but comments (in a file of
  // several documents: the last document's).
  const [last, stop] = doc.documentRange(doc.documentCount - 1);
  const marker = doc.documentCount > 1
    ? /^\.\.\.(?=[ \t]|$)/m.exec(doc.text.slice(last, stop))
    : /^\.\.\.(?=[ \t]|$)/m.exec(doc.text);
  const at = marker ? marker.index + (doc.documentCount > 1 ? last : 0) : doc.text.length;
  // At the end of a file without a final newline, the record line has none either.
  const insert = at > 0 && doc.text[at - 1] !== "\n" ? `\n${line}` : `${line}\n`;
  return doc.withText(applyEdits(doc.text, [{ from: at, to: at, text: insert }]));
}
