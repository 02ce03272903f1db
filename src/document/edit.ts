/**
 * Setting and removing single values without an editor (`sealfig set/unset`). Edits touch only
 * the lines of the value they change or add; `setSecret` seals the new value under a fresh data
 * key and never opens another value, so it needs only permission to generate data keys, unless
 * asked to reuse one of the file's data keys (the `per-file` policy), which needs Decrypt.
 *
 * @module
 */
import { topLevelNotMap } from "./top_level.ts";
import { isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap, type YAMLSeq } from "yaml";
import { isSealfigError, SealfigError } from "../errors.ts";
import { DekCache } from "../cache/dek_cache.ts";
import { toBase64Url } from "../crypto/bytes.ts";
import {
  DEFAULT_MAX_VALUES_PER_DEK,
  encryptValue,
  openDataKey,
  type SealingKey,
} from "../envelope/values.ts";
import { sealWithDataKey } from "../envelope/seal.ts";
import { isBlob, parseBlob, type ParsedBlob } from "../envelope/format.ts";
import { inferValueType, type SecretValue } from "../envelope/value_codec.ts";
import type { EncryptionContext, KeyProvider } from "../keys/key_provider.ts";
import { formatPath, toSegments, type ValuePath } from "../path.ts";
import { INTEGRITY_KEY, recordRoot } from "../integrity/record.ts";
import { type SealfigDocument, SECRET_TAG } from "./document.ts";
import { doubleQuote, isPlainSafe, renderScalar, type TypedValue, typedValueOf } from "./scalar.ts";
import { renderValueEdit } from "./seal.ts";
import { applyEdits, type ExpectedValue, spliceValues, type TextEdit } from "./splice.ts";

/** Options for {@link setValue}. */
export interface SetValueOptions {
  /**
   * Write the value tagged `!secret` (plaintext view, to be sealed later) instead of plain.
   * Default false.
   */
  secretTag?: boolean;
}

/** Options for {@link setSecret}. */
export interface SetSecretOptions {
  /** The provider that wraps the new data key. */
  provider: KeyProvider;
  /** The key-encryption key. */
  keyId: string;
  /**
   * More keys, in order: every new data key is also wrapped under each (several-key blobs,
   * docs/format.md §11). Default none.
   */
  additionalKeys?: readonly SealingKey[];
  /** The file's encryption context. Default `{}`. */
  context?: EncryptionContext;
  /**
   * The `per-file` policy: seal under a data key the document already uses (same provider and
   * key id, fewer than `maxValuesPerDek` values on it), opened through these providers, instead of
   * generating one. When none fits or it cannot be opened (a caller without Decrypt permission),
   * a new data key is generated. Default: always a new data key.
   */
  reuseDataKey?: {
    providers: readonly KeyProvider[];
    cache?: DekCache;
    /** Values per data key. Default 256. */
    maxValuesPerDek?: number;
  };
}

/**
 * Set the value at `path`, creating missing maps. An existing value is replaced in place (its
 * anchor kept); a new key is appended to its block map with the map's indentation. Throws
 * `PATH_CONFLICT` when the path runs through a scalar or names a map or sequence, and
 * `VALUE_NOT_REPRESENTABLE` for a plain (untagged) string that starts like a blob
 * (`sealfig:v1:…`): every reader takes such a string for a sealed value, so it cannot be plain.
 *
 * @example
 * ```ts
 * import { parseDocument, setValue } from "@sealfig/sealfig/document";
 * const doc = setValue(parseDocument("db:\n  host: a # primary\n"), "db.port", 5432);
 * doc.toString(); // "db:\n  host: a # primary\n  port: 5432\n"
 * ```
 */
export function setValue(
  doc: SealfigDocument,
  path: string | ValuePath,
  value: SecretValue,
  options: SetValueOptions = {},
): SealfigDocument {
  const segments = toSegments(path);
  if (options.secretTag !== true && isBlob(value)) {
    throw new SealfigError(
      "VALUE_NOT_REPRESENTABLE",
      "A plain value that starts like a sealed value (sealfig:vN:) would be read as one",
      {
        ...location(doc, [...segments]),
        hint: "Seal it instead (sealfig set without --plain, or !secret in sealfig edit)",
      },
    );
  }
  return setTyped(doc, segments, typedValueOf(value), options.secretTag === true);
}

/**
 * Seal `value` under a new data key (one `generateDataKey` call, no decryption) and set it at
 * `path` in a sealed document.
 *
 * @example
 * ```ts
 * import { LocalKeyProvider } from "@sealfig/sealfig";
 * import { parseDocument, setSecret } from "@sealfig/sealfig/document";
 * const { id, key } = await LocalKeyProvider.generateKey();
 * const provider = new LocalKeyProvider({ keys: [key] });
 * const doc = await setSecret(parseDocument("db: {}\n"), "db.password", "hunter2", {
 *   provider,
 *   keyId: id,
 * });
 * doc.get("db.password")?.kind; // "sealed"
 * ```
 */
export async function setSecret(
  doc: SealfigDocument,
  path: string | ValuePath,
  value: SecretValue,
  options: SetSecretOptions,
): Promise<SealfigDocument> {
  const segments = [...toSegments(path)];
  // Check the path before spending a provider call.
  checkSettable(doc, segments);
  const blob = await sealWithFileDataKey(doc, segments, value, options) ??
    await encryptValue(value, {
      provider: options.provider,
      keyId: options.keyId,
      ...(options.additionalKeys ? { additionalKeys: options.additionalKeys } : {}),
      path: segments,
      ...(options.context ? { context: options.context } : {}),
    });
  return setTyped(doc, segments, { value: blob, type: "string" }, false);
}

/** Count of `setSecret` calls that reused a data key of the file (for tests). */
export const dataKeyReuse: { reused: number } = { reused: 0 };

/** Seal under the document's least-full data key of the same key, or undefined (see options). */
async function sealWithFileDataKey(
  doc: SealfigDocument,
  segments: ValuePath,
  value: SecretValue,
  options: SetSecretOptions,
): Promise<string | undefined> {
  const reuse = options.reuseDataKey;
  if (!reuse) return undefined;
  const max = reuse.maxValuesPerDek ?? DEFAULT_MAX_VALUES_PER_DEK;
  const replaced = doc.entryAt(segments);
  const uses = new Map<string, { parsed: ParsedBlob; n: number }>();
  for (const e of doc.entries()) {
    if (e.kind !== "sealed" || e === replaced) continue;
    let parsed: ParsedBlob;
    try {
      parsed = parseBlob(e.value as string);
    } catch {
      continue;
    }
    if (!sameKeys(parsed.slots, options)) continue;
    const id = toBase64Url(parsed.wrappedDek);
    const u = uses.get(id) ?? { parsed, n: 0 };
    u.n++;
    uses.set(id, u);
  }
  const fits = [...uses.values()].filter((u) => u.n < max).sort((a, b) => b.n - a.n)[0];
  if (!fits) return undefined;
  const context = options.context ?? {};
  const cache = reuse.cache ?? new DekCache();
  try {
    const key = await openDataKey(fits.parsed, reuse.providers, context, cache);
    const blob = await sealWithDataKey(
      key,
      fits.parsed.slots.map((s) => ({
        providerId: s.providerId,
        keyId: s.keyId,
        wrapped: s.wrappedDek,
      })),
      value,
      inferValueType(value),
      segments,
      context,
    );
    dataKeyReuse.reused++;
    return blob;
  } catch (err) {
    if (isSealfigError(err)) return undefined; // e.g. no Decrypt permission: a new data key
    throw err;
  } finally {
    if (!reuse.cache) cache.clear();
  }
}

/** Whether a blob's keys are exactly the ones `options` seals for, in order, by recorded id. */
function sameKeys(slots: ParsedBlob["slots"], options: SetSecretOptions): boolean {
  const want = [
    { providerId: options.provider.id, keyId: options.keyId },
    ...(options.additionalKeys ?? []).map((k) => ({ providerId: k.provider.id, keyId: k.keyId })),
  ];
  return slots.length === want.length &&
    slots.every((s, i) => s.providerId === want[i]!.providerId && s.keyId === want[i]!.keyId);
}

/**
 * Remove the value (or the whole map or sequence) at `path`. Throws `PATH_NOT_FOUND` when there
 * is nothing there, and `PATH_CONFLICT` when removing a sequence item would shift sealed values
 * after it to other paths (their blobs are bound to their paths).
 *
 * @example
 * ```ts
 * import { parseDocument, unsetValue } from "@sealfig/sealfig/document";
 * unsetValue(parseDocument("a: 1\nb: 2\n"), "a").toString(); // "b: 2\n"
 * ```
 */
export function unsetValue(doc: SealfigDocument, path: string | ValuePath): SealfigDocument {
  const segments = [...toSegments(path)];
  const where = location(doc, segments);
  if (segments.length === 0 || !doc.yaml.hasIn(segments)) {
    throw new SealfigError("PATH_NOT_FOUND", "No value at this path", where);
  }
  if (doc.documentCount > 1 && segments.length === 1) {
    throw new SealfigError("PATH_CONFLICT", "Cannot remove a whole document of the file", {
      ...where,
      hint: "Edit the file with sealfig edit to remove a document",
    });
  }
  const parentPath = segments.slice(0, -1);
  const last = segments[segments.length - 1]!;
  const parent = parentPath.length ? doc.yaml.getIn(parentPath, true) : doc.yaml.contents;
  if (isSeq(parent) && typeof last === "number") {
    const later = doc.entries().some((e) =>
      e.kind === "sealed" && startsWith(e.path, parentPath) &&
      typeof e.path[parentPath.length] === "number" && (e.path[parentPath.length] as number) > last
    );
    if (later) {
      throw new SealfigError(
        "PATH_CONFLICT",
        "Removing this item would move the sealed values after it to other indexes",
        {
          ...where,
          hint: "Decrypt, edit and encrypt the file instead, so the moved values are sealed again",
        },
      );
    }
  }
  // Every other value must survive; a removed sequence item shifts the items after it.
  const released = isSeq(parent) ? [parentPath] : [segments];
  const verified = (text: string) => {
    if (doc.documentCount > 1) {
      let count: number | undefined;
      try {
        count = doc.withText(text).documentCount;
      } catch {
        count = undefined; // the splice check reports it
      }
      if (count !== undefined && count !== doc.documentCount) {
        // A first document's only line gone: the next `---` would start the file.
        throw new SealfigError("PATH_CONFLICT", "Removing this value would join two documents", {
          ...where,
          hint: "Edit the file with sealfig edit instead",
        });
      }
    }
    return checked(
      doc,
      spliceValues(doc, [], { rewritten: () => doc.withText(text), released }),
      segments,
      false,
    );
  };
  if (isMap(parent) && !parent.flow) {
    const pair = (parent as YAMLMap<unknown, unknown>).items.find((p) =>
      isScalar(p.key) && keyText(p.key.value) === String(last)
    );
    const span = pair && pairSpan(doc, pair);
    if (span) return verified(applyEdits(doc.text, [span]));
  }
  if (isSeq(parent) && !parent.flow && typeof last === "number") {
    const item = (parent as YAMLSeq<unknown>).items[last] as Node | undefined;
    const span = item && itemSpan(doc, item);
    if (span) return verified(applyEdits(doc.text, [span]));
  }
  noRewrite(doc, segments);
  const clone = doc.yaml.clone();
  clone.deleteIn(segments);
  return verified(clone.toString({ lineWidth: 0 }));
}

function setTyped(
  doc: SealfigDocument,
  segments: ValuePath,
  tv: TypedValue,
  secretTag: boolean,
): SealfigDocument {
  checkSettable(doc, segments);
  const tag = secretTag ? `${SECRET_TAG} ` : "";
  const kind = secretTag
    ? "secret"
    : tv.type === "string" && isBlob(String(tv.value))
    ? "sealed"
    : "plain";
  const expect: ExpectedValue = { kind, type: tv.type, value: tv.value };
  const existing = doc.entryAt(segments);
  if (existing) {
    const from = existing.kind === "secret" ? existing.propsStart : existing.start;
    const anchors = existing.kind === "secret" && existing.anchors.length
      ? `${existing.anchors.join(" ")} `
      : "";
    const lead = existing.start === existing.end && existing.kind === "plain" ? " " : "";
    const edit = renderValueEdit(doc, existing, tv, lead + anchors + tag, "plain", from);
    return spliceValues(doc, [{ ...edit, expect }]);
  }
  const edit = insertionEdit(doc, segments, tv, tag, false);
  if (edit) {
    const quoted = tv.type === "string" ? insertionEdit(doc, segments, tv, tag, true) : undefined;
    return spliceValues(doc, [{
      ...edit,
      path: segments,
      expect,
      ...(quoted ? { fallback: quoted } : {}),
    }], { released: nullPrefixes(doc, segments) });
  }
  // Flow collections and other shapes: let yaml rewrite the document (checked all the same).
  noRewrite(doc, segments);
  const clone = doc.yaml.clone();
  const node = clone.createNode(tv.value);
  if (secretTag) node.tag = SECRET_TAG;
  clone.setIn(segments, node);
  return spliceValues(doc, [{ from: 0, to: 0, text: "", path: segments, expect }], {
    rewritten: () => doc.withText(clone.toString({ lineWidth: 0 })),
    released: nullPrefixes(doc, segments),
  });
}

/**
 * A file of several documents is never rewritten whole by yaml (it would come out as one
 * sequence): `PATH_CONFLICT` where only a rewrite could make the change.
 */
function noRewrite(doc: SealfigDocument, segments: ValuePath): void {
  if (doc.documentCount === 1) return;
  throw new SealfigError(
    "PATH_CONFLICT",
    "This change cannot be written in place in a file of several documents (an empty document, " +
      "or a flow collection)",
    { ...location(doc, segments), hint: "Edit the file with sealfig edit instead" },
  );
}

/** Prefixes of `segments` that hold a null (`db:`), which setting a path below replaces. */
function nullPrefixes(doc: SealfigDocument, segments: ValuePath): ValuePath[] {
  const out: ValuePath[] = [];
  for (let i = 0; i < segments.length; i++) {
    const e = doc.entryAt(segments.slice(0, i));
    if (e && e.value === null) out.push(segments.slice(0, i));
  }
  return out;
}

/** Throw `PATH_CONFLICT` when `segments` runs through a scalar or names a collection. */
function checkSettable(doc: SealfigDocument, segments: ValuePath): void {
  const where = location(doc, segments);
  if (segments.length === 0) {
    throw new SealfigError("PATH_CONFLICT", "Cannot set the document root", where);
  }
  let node: unknown = doc.yaml.contents;
  let i = 0;
  if (doc.documentCount > 1) {
    // Several documents: the path starts with a document's index (docs/config.md).
    const n = doc.documentCount;
    const index = segments[0]!;
    if (typeof index !== "number" || index >= n) {
      throw new SealfigError(
        "PATH_CONFLICT",
        typeof index !== "number"
          ? `The file holds ${n} YAML documents: a path starts with the document's index`
          : `The file holds ${n} YAML documents (indexes 0 to ${n - 1})`,
        { ...where, hint: `Start the path with a document index, e.g. [${n - 1}].key` },
      );
    }
    if (segments.length === 1) {
      throw new SealfigError("PATH_CONFLICT", "The path names a whole document", {
        ...where,
        hint: "Set a path inside it, e.g. [0].key",
      });
    }
    node = doc.documentRoot(index);
    i = 1;
  } else if (isSeq(node) || (isScalar(node) && node.value !== null)) {
    // The loader's rule (config/tree.ts), so that both refuse such a file alike.
    throw topLevelNotMap(doc);
  }
  for (; i < segments.length; i++) {
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return;
    const seg = segments[i]!;
    if (isMap(node)) {
      if (typeof seg !== "string") {
        throw new SealfigError("PATH_CONFLICT", `${formatPath(segments.slice(0, i))} is a map`, {
          ...where,
          hint: "Address map entries by key",
        });
      }
      node = (node as YAMLMap<unknown, unknown>).items.find((p) =>
        isScalar(p.key) && keyText(p.key.value) === seg
      )?.value;
    } else if (isSeq(node)) {
      if (typeof seg !== "number") {
        throw new SealfigError(
          "PATH_CONFLICT",
          `${formatPath(segments.slice(0, i)) || "The root"} is a sequence`,
          { ...where, hint: "Address sequence items by index, e.g. servers[0]" },
        );
      }
      const items = (node as YAMLSeq<unknown>).items;
      if (seg > items.length) {
        throw new SealfigError(
          "PATH_CONFLICT",
          `Index ${seg} is past the end of a sequence of ${items.length}`,
          { ...where, hint: `Use index ${items.length} to append` },
        );
      }
      node = items[seg];
    } else {
      throw new SealfigError(
        "PATH_CONFLICT",
        `${formatPath(segments.slice(0, i)) || "The root"} holds a single value, not a map`,
        { ...where, hint: "Unset it first to replace it with a map" },
      );
    }
  }
  if (isMap(node) || isSeq(node)) {
    throw new SealfigError(
      "PATH_CONFLICT",
      `The path holds a ${isMap(node) ? "map" : "sequence"}, not a single value`,
      { ...where, hint: "Unset it first, or set a path inside it" },
    );
  }
}

/** An insertion that adds `segments` = value to a block map or sequence, or undefined. */
function insertionEdit(
  doc: SealfigDocument,
  segments: ValuePath,
  tv: TypedValue,
  tag: string,
  quote: boolean,
): TextEdit | undefined {
  // Deepest existing prefix.
  let depth = 0;
  let node: unknown = doc.yaml.contents;
  while (depth < segments.length) {
    const seg = segments[depth]!;
    let child: unknown;
    if (isMap(node)) {
      child = (node as YAMLMap<unknown, unknown>).items.find((p) =>
        isScalar(p.key) && keyText(p.key.value) === seg
      )?.value;
    } else if (isSeq(node) && typeof seg === "number") {
      child = (node as YAMLSeq<unknown>).items[seg];
    }
    if (child === undefined || child === null) break;
    if (isScalar(child) && child.value === null) break;
    node = child;
    depth++;
  }
  const rest = segments.slice(depth);
  const prefix = segments.slice(0, depth);
  const nullEntry = depth < segments.length ? doc.entryAt(segments.slice(0, depth + 1)) : undefined;
  if (nullEntry && nullEntry.value === null && nullEntry.kind === "plain") {
    // `db:` with no value: put the new block under it.
    if (nullEntry.flow) return undefined;
    const lines = blockLines(rest.slice(1), nullEntry.keyColumn + 2, tv, tag, quote);
    if (lines === undefined) return undefined;
    return { from: nullEntry.start, to: nullEntry.end, text: `\n${lines.replace(/\n$/, "")}` };
  }
  if (node === null || node === undefined || (isScalar(node) && node.value === null)) {
    if (prefix.length > 0) return undefined;
    // Empty document: replace an explicit null (`~`), or add at column 0 before a
    // document-end marker (`...`), else at the end.
    const lines = blockLines(rest, 0, tv, tag, quote);
    if (lines === undefined) return undefined;
    if (isScalar(node) && node.range && node.range[1] > node.range[0]) {
      const [from, to] = node.range;
      const nul = doc.text.slice(from, to).trimEnd(); // linear (/\s+$/ is quadratic on blank runs)
      return { from, to: from + nul.length, text: lines.replace(/\n$/, "") };
    }
    const marker = /^\.\.\.(?=[ \t]|$)/m.exec(doc.text);
    const at = marker ? marker.index : doc.text.length;
    const sep = at === 0 || doc.text[at - 1] === "\n" ? "" : "\n";
    return { from: at, to: at, text: sep + lines };
  }
  // The integrity record stays the top level's last entry: a new top-level key goes before it.
  const record = isMap(node) && node === recordRoot(doc)
    ? (node as YAMLMap<unknown, unknown>).items.find((p) =>
      isScalar(p.key) && p.key.value === INTEGRITY_KEY
    )?.key as Node | undefined
    : undefined;
  if ((isMap(node) || isSeq(node)) && node.flow && node.range && rest.length >= 1) {
    // `{a: 1}` / `[1]`: one more entry before the closing bracket (nested maps in flow style
    // too, so that nothing else in the collection is rewritten).
    const seg = rest[0]!;
    if (isSeq(node) !== (typeof seg === "number")) return undefined;
    if (rest.slice(1).some((r) => typeof r === "number")) return undefined;
    const close = doc.text.lastIndexOf(isMap(node) ? "}" : "]", node.range[1]);
    if (close < node.range[0]) return undefined;
    let entry = quote && tv.type === "string"
      ? doubleQuote(String(tv.value))
      : renderScalar(tv, { keyColumn: 0, flow: true });
    entry = tag + entry;
    for (const r of rest.slice(1).reverse()) entry = `{ ${renderKey(String(r))}: ${entry} }`;
    if (typeof seg !== "number") entry = `${renderKey(seg)}: ${entry}`;
    if (record?.range) return { from: record.range[0], to: record.range[0], text: `${entry}, ` };
    const sep = node.items.length ? ", " : "";
    return { from: close, to: close, text: `${sep}${entry}` };
  }
  if (record?.range && isMap(node) && !node.flow) {
    const lines = blockLines(rest, doc.position(record.range[0]).col - 1, tv, tag, quote);
    if (lines === undefined) return undefined;
    const at = doc.text.lastIndexOf("\n", record.range[0] - 1) + 1;
    return { from: at, to: at, text: lines };
  }
  if ((isMap(node) || isSeq(node)) && !node.flow && node.items.length > 0 && node.range) {
    const first = node.items[0] as Pair | Node;
    const firstNode = (isMap(node) ? (first as Pair).key : first) as Node | null;
    if (!firstNode?.range) return undefined;
    let column = doc.position(firstNode.range[0]).col - 1;
    if (isMap(node)) {
      // The map's column is where its first entry starts: an explicit key's `?`, or the tags and
      // anchors written before the key (`!!str a: 1`), not the key text itself.
      let i = Math.min(node.range[0], firstNode.range[0]);
      const lead = doc.text.slice(doc.text.lastIndexOf("\n", i - 1) + 1, i);
      const props = /(?:[!&][^ \t]*[ \t]+)+$/.exec(lead);
      if (props) i -= props[0].length;
      column = doc.position(i).col - 1;
    }
    if (isSeq(node)) {
      // The dash of the first item.
      let i = firstNode.range[0];
      while (i > 0 && doc.text[i - 1] === " ") i--;
      if (doc.text[i - 1] !== "-") return undefined;
      column = doc.position(i - 1).col - 1;
    }
    const lines = blockLines(rest, column, tv, tag, quote);
    if (lines === undefined) return undefined;
    let at = node.range[1];
    if (doc.text[at - 1] !== "\n") {
      const nl = doc.text.indexOf("\n", at);
      // At the end of a file without a final newline, the new lines have none either.
      if (nl < 0) {
        return {
          from: doc.text.length,
          to: doc.text.length,
          text: `\n${lines}`.replace(/\n$/, ""),
        };
      }
      at = nl + 1;
    }
    return { from: at, to: at, text: lines };
  }
  return undefined;
}

/** Block YAML lines (each ending in `\n`) for `segments: value` at `indent`. */
function blockLines(
  segments: ValuePath,
  indent: number,
  tv: TypedValue,
  tag: string,
  quote: boolean,
): string | undefined {
  const pad = " ".repeat(indent);
  const seg = segments[0];
  if (seg === undefined) return undefined;
  const head = typeof seg === "number" ? "-" : `${renderKey(seg)}:`;
  if (typeof seg === "number" && seg !== 0 && segments.length > 1) return undefined;
  if (segments.length === 1) {
    const text = quote && tv.type === "string"
      ? doubleQuote(String(tv.value))
      : renderScalar(tv, { keyColumn: indent, flow: false });
    return `${pad}${head} ${tag}${text}\n`;
  }
  if (typeof segments[1] === "number" && segments[1] !== 0) return undefined;
  const inner = blockLines(segments.slice(1), indent + 2, tv, tag, quote);
  return inner === undefined ? undefined : `${pad}${head}\n${inner}`;
}

function renderKey(key: string): string {
  return isPlainSafe(key, false) && !isBlob(key) ? key : doubleQuote(key);
}

function keyText(v: unknown): string {
  return typeof v === "symbol" ? "<<" : v === null ? "" : String(v);
}

/** The lines of a block-map pair, when its key starts its own line. */
function pairSpan(doc: SealfigDocument, pair: Pair<unknown, unknown>): TextEdit | undefined {
  const key = pair.key as Node;
  if (!key.range) return undefined;
  const lineStart = doc.text.lastIndexOf("\n", key.range[0] - 1) + 1;
  if (doc.text.slice(lineStart, key.range[0]).trim() !== "") return undefined;
  const value = pair.value as Node | null;
  const end = value?.range ? value.range[1] : key.range[1];
  return { from: lineStart, to: lineEnd(doc.text, end), text: "" };
}

/** The lines of a block-sequence item, when its dash starts its own line. */
function itemSpan(doc: SealfigDocument, item: Node): TextEdit | undefined {
  if (!item.range) return undefined;
  let i = item.range[0];
  while (i > 0 && doc.text[i - 1] === " ") i--;
  if (doc.text[i - 1] !== "-") return undefined;
  const lineStart = doc.text.lastIndexOf("\n", i - 2) + 1;
  if (doc.text.slice(lineStart, i - 1).trim() !== "") return undefined;
  return { from: lineStart, to: lineEnd(doc.text, item.range[1]), text: "" };
}

function lineEnd(text: string, end: number): number {
  if (end > 0 && text[end - 1] === "\n") return end;
  const nl = text.indexOf("\n", end);
  return nl < 0 ? text.length : nl + 1;
}

function startsWith(path: ValuePath, prefix: ValuePath): boolean {
  return prefix.every((s, i) => path[i] === s);
}

function location(doc: SealfigDocument, segments: ValuePath) {
  return {
    ...(doc.file !== undefined ? { file: doc.file } : {}),
    path: formatPath(segments),
  };
}

/** Make sure a splice did what it meant to; otherwise report it rather than write garbage. */
function checked(
  before: SealfigDocument,
  after: SealfigDocument,
  segments: ValuePath,
  expectPresent: boolean,
): SealfigDocument {
  const present = after.yaml.hasIn(segments);
  if (present !== expectPresent) {
    throw new SealfigError("PATH_CONFLICT", "Cannot edit the document at this path", {
      ...location(before, segments),
      hint: "Edit the file with sealfig edit instead",
    });
  }
  return after;
}
