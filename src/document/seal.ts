/**
 * Sealing and opening whole documents: plaintext view → sealed view (keeping the blob of every
 * value that did not change) and back, plus reading single values.
 *
 * @module
 */
import { DekCache } from "../cache/dek_cache.ts";
import { isSealfigError, SealfigError } from "../errors.ts";
import { parseBlob } from "../envelope/format.ts";
import {
  decryptValue,
  DEFAULT_MAX_VALUES_PER_DEK,
  Sealer,
  type SealingKey,
} from "../envelope/values.ts";
import type { SecretValue } from "../envelope/value_codec.ts";
import type { EncryptionContext, KeyProvider } from "../keys/key_provider.ts";
import { formatPath, toSegments, type ValuePath } from "../path.ts";
import { DEFAULT_CONCURRENCY, mapConcurrent } from "./_concurrency.ts";
import {
  type DocumentEntry,
  type DocumentValue,
  locate,
  type SealfigDocument,
  SECRET_TAG,
} from "./document.ts";
import { doubleQuote, renderScalar, sameTypedValue, type TypedValue } from "./scalar.ts";
import { type SpliceOptions, spliceValues, type ValueEdit } from "./splice.ts";

/**
 * How data keys are shared when sealing:
 * - `per-file` (default): one data key per (file, key, context) per operation, shared by up to
 *   `maxValuesPerDek` values: few provider calls at startup, larger blast radius per data key;
 * - `per-value`: a data key for every value: one provider call per value.
 */
export type DekPolicy = "per-file" | "per-value";

/** Options for opening blobs: {@link decryptDocument}, {@link openDocument}, {@link getValue}. */
export interface OpenDocumentOptions {
  /** Providers to open data keys with. */
  providers: readonly KeyProvider[];
  /** The file's encryption context (must be the one it was sealed with). Default `{}`. */
  context?: EncryptionContext;
  /**
   * Data key cache. Default: a cache private to this call, cleared (keys zeroed) at its end, so
   * every distinct data key is still fetched once.
   */
  cache?: DekCache;
  /** Values opened at once. Default 16. */
  concurrency?: number;
}

/** Options for {@link sealDocument}. */
export interface SealDocumentOptions {
  /** The provider that wraps new data keys. */
  provider: KeyProvider;
  /** The key-encryption key for new data keys (local key id, KMS key ARN or alias). */
  keyId: string;
  /**
   * More keys, in order: every new data key is also wrapped under each (several-key blobs,
   * docs/format.md §11). Default none.
   */
  additionalKeys?: readonly SealingKey[];
  /** The file's encryption context. Default `{}`. */
  context?: EncryptionContext;
  /** Data key sharing. Default `per-file`. */
  dekPolicy?: DekPolicy;
  /** Values per data key under the `per-file` policy. Default 256. */
  maxValuesPerDek?: number;
  /**
   * The sealed document the plaintext was decrypted from. A value whose path, type and plaintext
   * are unchanged keeps its previous blob (when that still opens), so diffs show only changes.
   */
  previous?: SealfigDocument;
  /** Providers to open the previous blobs with. Default `[provider]`. */
  providers?: readonly KeyProvider[];
  /** Cache for opening previous blobs. Default: a private cache for this call. */
  cache?: DekCache;
  /**
   * Also seal these untagged plain values (e.g. keys that rules mark secret). Default: only values
   * tagged `!secret`.
   */
  select?: (value: DocumentValue) => boolean;
  /** Values sealed or opened at once. Default 16. */
  concurrency?: number;
}

/** What {@link sealDocument} did. */
export interface SealDocumentResult {
  /** The sealed document. */
  document: SealfigDocument;
  /** Values that got a new blob. */
  sealed: number;
  /** Values that kept their previous blob. */
  kept: number;
  /** Data keys generated (= `generateDataKey` provider calls). */
  dataKeysGenerated: number;
}

/** What {@link decryptDocument} did. */
export interface DecryptDocumentResult {
  /** The plaintext view, with `!secret` tags. */
  readonly document: SealfigDocument;
  /** The plaintext view's text, as `document.toString()` gives it. */
  text: string;
  /** Values decrypted. */
  decrypted: number;
}

export { applyEdits, type TextEdit } from "./splice.ts";

/** Error codes that mean "this previous blob cannot be reused; seal the value anew". */
const NOT_REUSABLE = new Set<string>([
  "BLOB_MALFORMED",
  "BLOB_UNSUPPORTED",
  "BLOB_AUTH_FAILED",
  "DEK_UNWRAP_FAILED",
  "PROVIDER_UNKNOWN",
  "KEY_NOT_FOUND",
  "KMS_INVALID_CIPHERTEXT",
  "KMS_INCORRECT_KEY",
]);

/**
 * Seal a plaintext view: every value tagged `!secret` (and every plain value `select` picks)
 * becomes a blob; already sealed values are left as they are. With `previous`, an unchanged
 * value keeps its old blob; only new or changed values are sealed, sharing data keys per the
 * {@link DekPolicy}. Everything else in the text is left byte for byte, so a value changes exactly
 * its own line.
 *
 * @example
 * ```ts
 * import { LocalKeyProvider } from "@sealfig/sealfig";
 * import { parseDocument, sealDocument } from "@sealfig/sealfig/document";
 * const { id, key } = await LocalKeyProvider.generateKey();
 * const provider = new LocalKeyProvider({ keys: [key] });
 * const plain = parseDocument("# db\npassword: !secret hunter2 # rotate yearly\n");
 * const { document } = await sealDocument(plain, { provider, keyId: id });
 * document.get("password")?.kind; // "sealed"
 * ```
 */
export async function sealDocument(
  doc: SealfigDocument,
  options: SealDocumentOptions,
): Promise<SealDocumentResult> {
  const context = options.context ?? {};
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const targets = doc.entries().filter((e) =>
    e.kind === "secret" ||
    (e.kind === "plain" && e.type !== undefined && options.select?.(publicOf(e)) === true)
  );
  const reused = await reusableBlobs(targets, options, context, concurrency);
  const sealer = new Sealer({
    provider: options.provider,
    keyId: options.keyId,
    ...(options.additionalKeys ? { additionalKeys: options.additionalKeys } : {}),
    context,
    maxValuesPerDek: options.dekPolicy === "per-value"
      ? 1
      : options.maxValuesPerDek ?? DEFAULT_MAX_VALUES_PER_DEK,
  });
  try {
    const fresh = targets.filter((e) => !reused.has(e));
    const blobs = await mapConcurrent(fresh, concurrency, async (e) => {
      try {
        return await sealer.seal(e.value, e.path, e.type);
      } catch (err) {
        throw locate(err, doc, e);
      }
    });
    const newBlob = new Map(fresh.map((e, i) => [e, blobs[i]!]));
    const edits = targets.map((e): ValueEdit => {
      const blob = reused.get(e) ?? newBlob.get(e)!;
      const anchors = e.anchors.length ? `${e.anchors.join(" ")} ` : "";
      return {
        from: e.propsStart,
        to: e.end,
        text: anchors + blob,
        path: e.path,
        expect: { kind: "sealed", type: e.type, value: blob },
      };
    });
    return {
      document: edits.length ? spliceValues(doc, edits) : doc,
      sealed: fresh.length,
      kept: reused.size,
      dataKeysGenerated: sealer.dataKeysGenerated,
    };
  } finally {
    sealer.dispose();
  }
}

/** Which targets can keep the blob they had at the same path in `options.previous`. */
async function reusableBlobs(
  targets: DocumentEntry[],
  options: SealDocumentOptions,
  context: EncryptionContext,
  concurrency: number,
): Promise<Map<DocumentEntry, string>> {
  const out = new Map<DocumentEntry, string>();
  const previous = options.previous;
  if (!previous) return out;
  const candidates: [DocumentEntry, DocumentEntry][] = [];
  for (const e of targets) {
    const old = previous.entryAt(e.path);
    if (old?.kind === "sealed" && old.type === e.type) candidates.push([e, old]);
  }
  if (candidates.length === 0) return out;
  const cache = options.cache ?? new DekCache();
  try {
    await mapConcurrent(candidates, concurrency, async ([e, old]) => {
      const blob = old.value as string;
      let opened: SecretValue;
      try {
        opened = await decryptValue(blob, {
          providers: options.providers ?? [options.provider],
          path: old.path,
          context,
          cache,
          ...(previous.file !== undefined ? { file: previous.file } : {}),
        });
      } catch (err) {
        if (isSealfigError(err) && NOT_REUSABLE.has(err.code)) return;
        throw locate(err, previous, old);
      }
      if (sameTypedValue({ value: opened, type: old.type! }, { value: e.value, type: e.type! })) {
        out.set(e, blob);
      }
    });
  } finally {
    if (!options.cache) cache.clear();
  }
  return out;
}

/**
 * Open every blob of a document: a map from each sealed value's path text to its plaintext.
 * Each distinct data key is fetched once; at most `concurrency` values are opened at once.
 * Errors name file, line, column and path, never a value.
 *
 * @example
 * ```ts ignore
 * import { LocalKeyProvider } from "@sealfig/sealfig";
 * import { openDocument, readDocument } from "@sealfig/sealfig/document";
 * const doc = await readDocument("config/production.yaml");
 * const values = await openDocument(doc, { providers: [new LocalKeyProvider()] });
 * values.get("db.password");
 * ```
 */
export async function openDocument(
  doc: SealfigDocument,
  options: OpenDocumentOptions,
): Promise<Map<string, SecretValue>> {
  const opened = await openEntries(doc, doc.entries().filter((e) => e.kind === "sealed"), options);
  return new Map([...opened].map(([e, v]) => [e.pathText, v]));
}

/** @internal Open the given sealed entries; keyed by entry. */
export async function openEntries(
  doc: SealfigDocument,
  entries: readonly DocumentEntry[],
  options: OpenDocumentOptions,
): Promise<Map<DocumentEntry, SecretValue>> {
  const cache = options.cache ?? new DekCache();
  try {
    const values = await mapConcurrent(
      entries,
      options.concurrency ?? DEFAULT_CONCURRENCY,
      async (e) => {
        try {
          return await decryptValue(e.value as string, {
            providers: options.providers,
            path: e.path,
            ...(options.context ? { context: options.context } : {}),
            cache,
            ...(doc.file !== undefined ? { file: doc.file } : {}),
          });
        } catch (err) {
          throw locate(err, doc, e);
        }
      },
    );
    return new Map(entries.map((e, i) => [e, values[i]!]));
  } finally {
    if (!options.cache) cache.clear();
  }
}

/**
 * Decrypt a sealed document to its plaintext view: every blob becomes `!secret <value>`, written
 * plain when that reads back as the same typed value, as a literal block for multi-line strings,
 * else double-quoted. Sealing the result with `previous: doc` gives `doc` back byte for byte.
 *
 * @example
 * ```ts
 * import { LocalKeyProvider } from "@sealfig/sealfig";
 * import { decryptDocument, parseDocument, sealDocument } from "@sealfig/sealfig/document";
 * const { id, key } = await LocalKeyProvider.generateKey();
 * const provider = new LocalKeyProvider({ keys: [key] });
 * const sealed = (await sealDocument(parseDocument("pw: !secret hunter2\n"), { provider, keyId: id }))
 *   .document;
 * const plain = (await decryptDocument(sealed, { providers: [provider] })).document;
 * plain.toString(); // "pw: !secret hunter2\n"
 * ```
 */
export function decryptDocument(
  doc: SealfigDocument,
  options: OpenDocumentOptions,
): Promise<DecryptDocumentResult> {
  return decryptView(doc, options);
}

/**
 * @internal {@link decryptDocument} with more edits for the view's one checked splice (the CLI's
 * removal of the integrity record).
 */
export async function decryptView(
  doc: SealfigDocument,
  options: OpenDocumentOptions,
  splice?: Pick<SpliceOptions, "extra" | "released">,
): Promise<DecryptDocumentResult> {
  const sealed = doc.entries().filter((e) => e.kind === "sealed");
  const opened = await openEntries(doc, sealed, options);
  const edits = sealed.map((e): ValueEdit => {
    const tv: TypedValue = { value: opened.get(e)!, type: parseBlob(e.value as string).valueType };
    return renderValueEdit(doc, e, tv, `${SECRET_TAG} `, "secret");
  });
  if (!edits.length && !splice?.extra?.length) {
    return { document: doc, text: doc.toString(), decrypted: 0 };
  }
  // The checked splice parses the view once to prove every value reads back exactly; that parse
  // is the view's document.
  const document = spliceValues(doc, edits, splice);
  return {
    document,
    text: document.toString(),
    decrypted: sealed.length,
  };
}

/**
 * The plaintext of the value at `path`: a sealed value is decrypted (one blob, one data key), a
 * `!secret` or plain value is returned as it is. Throws `PATH_NOT_FOUND` when no scalar is there.
 *
 * @example
 * ```ts ignore
 * import { LocalKeyProvider } from "@sealfig/sealfig";
 * import { getValue, readDocument } from "@sealfig/sealfig/document";
 * const doc = await readDocument("config/production.yaml");
 * await getValue(doc, "db.password", { providers: [new LocalKeyProvider()] });
 * ```
 */
export async function getValue(
  doc: SealfigDocument,
  path: string | ValuePath,
  options: OpenDocumentOptions,
): Promise<SecretValue> {
  const segments = toSegments(path);
  const entry = doc.entryAt(segments);
  if (!entry) {
    throw new SealfigError("PATH_NOT_FOUND", "No value at this path", {
      ...(doc.file !== undefined ? { file: doc.file } : {}),
      path: formatPath(segments),
    });
  }
  if (entry.kind !== "sealed") return entry.value;
  const opened = await openEntries(doc, [entry], options);
  return opened.get(entry)!;
}

/**
 * @internal The edit that writes `tv` over the value of `e` (from `e.start`, after its tag and
 * anchors), prefixed by `prefix`: plain, a literal block or double-quoted as
 * {@link renderScalar} picks, with the double-quoted form as the fallback. A literal block is only
 * used when nothing but blanks follows the value on its line (they are swallowed: after a block's
 * last line they would become part of it).
 */
export function renderValueEdit(
  doc: SealfigDocument,
  e: DocumentEntry,
  tv: TypedValue,
  prefix: string,
  kind: "secret" | "plain",
  from: number = e.start,
): ValueEdit {
  const expect = { kind, type: tv.type, value: tv.value };
  const quoted = tv.type === "string" ? `${prefix}${doubleQuote(String(tv.value))}` : undefined;
  let text = renderScalar(tv, { keyColumn: e.keyColumn, flow: e.flow });
  let to = e.end;
  if (text.startsWith("|")) {
    const nl = doc.text.indexOf("\n", e.end);
    const lineEnd = nl < 0 ? doc.text.length : nl;
    if (/^[ \t]*$/.test(doc.text.slice(e.end, lineEnd))) {
      to = lineEnd;
      // A block scalar needs a line break after it; at the very end of the file there is none.
      if (nl < 0) text += "\n";
    } else if (quoted !== undefined) {
      text = doubleQuote(String(tv.value));
    }
  }
  return {
    from,
    to,
    text: prefix + text,
    path: e.path,
    expect,
    ...(quoted !== undefined ? { fallback: { from, to: e.end, text: quoted } } : {}),
  };
}

function publicOf(e: DocumentEntry): DocumentValue {
  const { path, pathText, kind, type, value, line, col } = e;
  return { path, pathText, kind, type, value, line, col };
}
