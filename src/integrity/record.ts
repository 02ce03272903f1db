/**
 * The integrity record format: the one-line `sealfig_integrity: sealfig-mac:v2:<base64url>` entry
 * at the top level of a sealed file. Pure parsing and serialisation, no crypto. The normative
 * description is docs/format.md §9; keep the two in step. Writers write v2; v1 records (same
 * layout, version byte 0x01, prefix `sealfig-mac:v1:`) are still read (see verify.ts for what a
 * v1 record is accepted over).
 *
 * ```text
 * sealfig-mac:v2:<base64url, unpadded, canonical>     (v1: sealfig-mac:v1:, version 0x01)
 *   u8  version            = 0x02 (0x01), must match the prefix
 *   u64 generation         1 .. 2^53-1, +1 on every write that changes the file
 *   u8  P, P bytes         provider id, [a-z0-9-], 1..32
 *   u16 K, K bytes         key id, UTF-8, 1..2048
 *   u16 W, W bytes         the wrapped integrity data key, 1..4096
 *   32 bytes               HMAC-SHA-256 (see mac.ts)
 * ```
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import { type Bytes, ByteWriter, fromBase64Url, toBase64Url, utf8 } from "../crypto/bytes.ts";
import {
  isValidProviderId,
  type KeySlot,
  MAX_KEY_ID,
  MAX_KEY_SLOTS,
  MAX_WRAPPED_DEK,
  readKeySlots,
  writeSlot,
} from "../envelope/format.ts";
import { isMap, isScalar, type Node, type Pair, type YAMLMap } from "yaml";
import { parseDocument, type SealfigDocument } from "../document/document.ts";
import type { ValuePath } from "../path.ts";
import { applyEdits, type TextEdit } from "../document/text_edits.ts";

/** The top-level key that holds a file's integrity record. Reserved: never part of the config. */
export const INTEGRITY_KEY = "sealfig_integrity";
/**
 * Where a document's record sits: `sealfig_integrity` at the top level, or in a file of several
 * YAML documents at the top level of the LAST one, `[N-1].sealfig_integrity` (docs/format.md
 * §9.3.4).
 *
 * @example
 * ```ts
 * import { parseDocument, recordPath } from "@sealfig/sealfig/document";
 * recordPath(parseDocument("a: 1\n---\nb: 2\n")); // [1, "sealfig_integrity"]
 * ```
 */
export function recordPath(doc: SealfigDocument): ValuePath {
  const n = doc.documentCount;
  return n > 1 ? [n - 1, INTEGRITY_KEY] : [INTEGRITY_KEY];
}

/**
 * True when `path` is where a record sits, in a file of one document or of several (the reader
 * refuses the key at the top level of any document but the last).
 *
 * @example
 * ```ts
 * import { isRecordPath } from "@sealfig/sealfig/document";
 * isRecordPath(["sealfig_integrity"]); // true
 * isRecordPath([2, "sealfig_integrity"]); // true
 * isRecordPath(["db", "sealfig_integrity"]); // false
 * ```
 */
export function isRecordPath(path: ValuePath): boolean {
  return (path.length === 1 && path[0] === INTEGRITY_KEY) ||
    (path.length === 2 && typeof path[0] === "number" && path[1] === INTEGRITY_KEY);
}

/** @internal The map that holds (or will hold) the record: the last document's top level. */
export function recordRoot(doc: SealfigDocument): Node | null {
  return doc.documentRoot(doc.documentCount - 1);
}

/** The text every integrity record sealfig writes starts with (v2). */
export const INTEGRITY_PREFIX = "sealfig-mac:v2:";
/** Record format version byte of the records sealfig writes (v2). */
export const INTEGRITY_VERSION = 0x02;
/** A record format version sealfig reads: 1 (read only, with limits; docs/format.md §9.4) or 2. */
export type IntegrityVersion = 1 | 2;
/** The text a record of each version starts with. */
const PREFIXES: Readonly<Record<IntegrityVersion, string>> = {
  1: "sealfig-mac:v1:",
  2: INTEGRITY_PREFIX,
};
/** Length of the MAC: 32 bytes (HMAC-SHA-256). */
/** Prefix of a record whose integrity data key is wrapped under several keys (§11.2). */
export const INTEGRITY_PREFIX_V3 = "sealfig-mac:v3:";
export const MAC_LENGTH = 32;
/** Largest generation a record may hold (2^53 - 1, so it is exact as a JavaScript number). */
export const MAX_GENERATION: number = Number.MAX_SAFE_INTEGER;

/** The fields of an integrity record. */
export interface IntegrityRecord {
  /**
   * Record format version: 2 for every record sealfig writes, 1 for older records read from
   * files. Default (when encoding) 2.
   */
  version?: IntegrityVersion;
  /** Write counter: 1 for the first record, +1 on every write that changes the file. */
  generation: number;
  /** Provider of the key that wraps the integrity data key. */
  providerId: string;
  /** That key's canonical id (local fingerprint, KMS key ARN). */
  keyId: string;
  /** The integrity data key, wrapped under `keyId` with the integrity encryption context. */
  wrappedDek: Uint8Array;
  /**
   * Every key slot, in order, when the integrity data key is wrapped under several keys (the first
   * is `providerId`/`keyId`/`wrappedDek`). Such a record is written as `sealfig-mac:v3:` and its MAC
   * is the v2 MAC (`version` 2); see docs/format.md §11.2. Absent or one slot: a v2 (v1) record.
   */
  slots?: readonly KeySlot[];
  /** HMAC-SHA-256 over the canonical encoding of the file (see mac.ts). */
  mac: Uint8Array;
}

function malformed(why: string, file?: string): SealfigError {
  return new SealfigError("INTEGRITY_MALFORMED", `Malformed integrity record: ${why}`, {
    ...(file !== undefined ? { file } : {}),
    path: INTEGRITY_KEY,
    hint: "The record line was edited or truncated; restore the file from git, or review the " +
      "file and run sealfig stamp --force",
  });
}

/**
 * Serialize a record to its one-line text. Throws `OPTION_INVALID` when a field is out of range.
 *
 * @example
 * ```ts
 * import { encodeIntegrityRecord, parseIntegrityRecord } from "./record.ts";
 * const text = encodeIntegrityRecord({
 *   generation: 1,
 *   providerId: "local",
 *   keyId: "lk_0123456789abcdef",
 *   wrappedDek: new Uint8Array(61),
 *   mac: new Uint8Array(32),
 * });
 * parseIntegrityRecord(text).generation; // 1
 * ```
 */
export function encodeIntegrityRecord(record: IntegrityRecord): string {
  const provider = utf8(record.providerId);
  const keyId = utf8(record.keyId);
  const bad = (why: string) => new SealfigError("OPTION_INVALID", `Cannot write record: ${why}`);
  if (!isValidProviderId(record.providerId)) throw bad("bad provider id");
  if (keyId.length < 1 || keyId.length > MAX_KEY_ID) throw bad("bad key id length");
  if (record.wrappedDek.length < 1 || record.wrappedDek.length > MAX_WRAPPED_DEK) {
    throw bad("bad wrapped key length");
  }
  if (record.mac.length !== MAC_LENGTH) throw bad("bad MAC length");
  const version = record.version ?? INTEGRITY_VERSION;
  if (version !== 1 && version !== 2) throw bad("unknown version");
  if (record.slots && record.slots.length > 1) {
    if (version !== 2) throw bad("several keys need the v2 MAC");
    if (record.slots.length > MAX_KEY_SLOTS) throw bad(`more than ${MAX_KEY_SLOTS} keys`);
    const seen = new Set(record.slots.map((k) => `${k.providerId}\u0000${k.keyId}`));
    if (seen.size !== record.slots.length) throw bad("a key is listed twice");
    const w = new ByteWriter().u8(0x03).bytes(u64(record.generation)).u8(record.slots.length);
    try {
      for (const slot of record.slots) writeSlot(w, slot);
    } catch (err) {
      throw bad(err instanceof SealfigError ? err.reason : "bad key slot");
    }
    return INTEGRITY_PREFIX_V3 + toBase64Url(w.bytes(record.mac).finish());
  }
  const bytes = new ByteWriter()
    .u8(version)
    .bytes(u64(record.generation))
    .u8(provider.length).bytes(provider)
    .u16(keyId.length).bytes(keyId)
    .u16(record.wrappedDek.length).bytes(record.wrappedDek)
    .bytes(record.mac)
    .finish();
  return PREFIXES[version] + toBase64Url(bytes);
}

/** Big-endian u64 of a generation (1 .. 2^53-1). Throws `OPTION_INVALID` out of range. */
export function u64(n: number): Bytes {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new SealfigError("OPTION_INVALID", `Generation must be an integer 1..2^53-1, got ${n}`);
  }
  const out = new Uint8Array(8);
  const hi = Math.floor(n / 2 ** 32);
  const lo = n % 2 ** 32;
  new DataView(out.buffer).setUint32(0, hi);
  new DataView(out.buffer).setUint32(4, lo);
  return out;
}

/**
 * Parse a record's text strictly. Throws `INTEGRITY_MALFORMED` for anything but a well-formed v2,
 * v3 (several keys, docs/format.md §11.2) or v1 record (wrong prefix, a version byte that is not the prefix's, bad base64, truncated or
 * oversized fields, trailing bytes, generation 0 or above 2^53-1). `file` only goes into the
 * error.
 */
export function parseIntegrityRecord(text: string, file?: string): IntegrityRecord {
  if (typeof text !== "string") throw malformed("not a string", file);
  if (text.length > 8192) throw malformed("too long", file);
  if (text.startsWith(INTEGRITY_PREFIX_V3)) return parseV3(text, file);
  const version = text.startsWith(PREFIXES[2]) ? 2 : text.startsWith(PREFIXES[1]) ? 1 : undefined;
  if (version === undefined) {
    if (/^sealfig-mac:v[0-9]{1,6}:/.test(text)) {
      throw malformed("unknown record version (upgrade sealfig to read it)", file);
    }
    throw malformed(`does not start with "${INTEGRITY_PREFIX}"`, file);
  }
  const bytes = fromBase64Url(text.slice(PREFIXES[version].length));
  if (!bytes) throw malformed("not canonical unpadded base64url", file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  const need = (n: number, what: string) => {
    if (off + n > bytes.length) throw malformed(`truncated in ${what}`, file);
  };
  need(9, "header");
  if (bytes[0] !== version) {
    throw malformed(
      `version byte ${bytes[0]} does not match the prefix sealfig-mac:v${version}:`,
      file,
    );
  }
  const hi = view.getUint32(1), lo = view.getUint32(5);
  off = 9;
  const generation = hi * 2 ** 32 + lo;
  if (hi >= 2 ** 21 || generation < 1) throw malformed("generation out of range", file);
  const read = readKeySlots(bytes, off, 1, (why) => malformed(why, file));
  off = read.off;
  const { providerId, keyId } = read.slots[0]!;
  const wrappedDek = read.slots[0]!.wrappedDek.slice();
  need(MAC_LENGTH, "MAC");
  const mac = bytes.slice(off, off + MAC_LENGTH);
  off += MAC_LENGTH;
  if (off !== bytes.length) throw malformed("trailing bytes", file);
  return { version, generation, providerId, keyId, wrappedDek, mac };
}

/** A `sealfig-mac:v3:` record: generation, key slots, the v2 MAC (docs/format.md §11.2). */
function parseV3(text: string, file: string | undefined): IntegrityRecord {
  const bytes = fromBase64Url(text.slice(INTEGRITY_PREFIX_V3.length));
  if (!bytes) throw malformed("not canonical unpadded base64url", file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  const need = (n: number, what: string) => {
    if (off + n > bytes.length) throw malformed(`truncated in ${what}`, file);
  };
  need(10, "header");
  if (bytes[0] !== 0x03) {
    throw malformed(`version byte ${bytes[0]} does not match the prefix sealfig-mac:v3:`, file);
  }
  const hi = view.getUint32(1), lo = view.getUint32(5);
  const generation = hi * 2 ** 32 + lo;
  if (hi >= 2 ** 21 || generation < 1) throw malformed("generation out of range", file);
  const count = bytes[9]!;
  off = 10;
  if (count < 2 || count > MAX_KEY_SLOTS) throw malformed("bad key count", file);
  const read = readKeySlots(bytes, off, count, (why) => malformed(why, file));
  off = read.off;
  const slots: KeySlot[] = read.slots.map((k) => ({ ...k, wrappedDek: k.wrappedDek.slice() }));
  need(MAC_LENGTH, "MAC");
  const mac = bytes.slice(off, off + MAC_LENGTH);
  off += MAC_LENGTH;
  if (off !== bytes.length) throw malformed("trailing bytes", file);
  const first = slots[0]!;
  return {
    version: 2,
    generation,
    providerId: first.providerId,
    keyId: first.keyId,
    wrappedDek: first.wrappedDek,
    slots,
    mac,
  };
}

/**
 * The document's text (with its BOM and line endings) without its top-level `sealfig_integrity`
 * entry, found in the parsed document (the top-level pair's source range), never by a text
 * pattern: text that merely looks like a record inside a string, a sealed value or a nested map is
 * content and stays. A block-map record goes with its whole line (and trailing comment); a flow
 * top level (`{a: 1, sealfig_integrity: …}`) loses the entry and its comma. The result is parsed
 * again: every other value must read back the same, or the text is returned unchanged (the record
 * then shows, nothing else is lost).
 *
 * @example
 * ```ts
 * import { parseDocument, stripIntegrityRecord } from "@sealfig/sealfig/document";
 * const doc = parseDocument('a: "x, sealfig_integrity: y}"\nsealfig_integrity: sealfig-mac:v1:AAAA\n');
 * stripIntegrityRecord(doc); // 'a: "x, sealfig_integrity: y}"\n'
 * ```
 */
export function stripIntegrityRecord(doc: SealfigDocument): string {
  // A .env file's record is its comment line: its document removes it in its own format.
  if (doc.format !== "yaml") return doc.textWithoutRecord(stripIntegrityLines);
  return recordless(doc).toString();
}

/**
 * @internal The YAML document without its top-level record, parsed once and checked as
 * {@link stripIntegrityRecord} checks it; `doc` itself when it has no record or the record
 * cannot be cut cleanly (then it stays, nothing else is lost).
 */
export function recordless(doc: SealfigDocument): SealfigDocument {
  return withoutRecord(doc) ?? doc;
}

/**
 * Remove the top-level `sealfig_integrity` entry from YAML text (for 3-way merges and plaintext
 * views); see {@link stripIntegrityRecord}. Text that does not parse as a sealfig document has no
 * record to locate and is returned as it is.
 *
 * @example
 * ```ts
 * import { stripIntegrityLines } from "./record.ts";
 * stripIntegrityLines("a: 1\nsealfig_integrity: sealfig-mac:v2:AAAA\n"); // "a: 1\n"
 * ```
 */
export function stripIntegrityLines(text: string): string {
  if (!text.includes(INTEGRITY_KEY)) return text;
  let doc: SealfigDocument;
  try {
    doc = parseDocument(text);
  } catch {
    return text;
  }
  return stripIntegrityRecord(doc);
}

/** `doc` without the record entry, or undefined when there is none or it cannot be cut. */
function withoutRecord(doc: SealfigDocument): SealfigDocument | undefined {
  const cut = recordCut(doc);
  if (!cut) return undefined;
  const text = applyEdits(doc.text, [cut.edit]);
  let after: SealfigDocument;
  try {
    after = doc.withText(text);
  } catch {
    return undefined;
  }
  // Every other value must be exactly what it was (the cut touched the record alone).
  const rest = (d: SealfigDocument) =>
    d.entries().filter((e) => !isRecordPath(e.path.slice(0, doc.documentCount > 1 ? 2 : 1))).map((
      e,
    ) => `${e.pathText}\u0000${e.kind}\u0000${e.type}\u0000${d.text.slice(e.propsStart, e.end)}`)
      .join("\u0001");
  return cut.removed(after) && rest(after) === rest(doc) ? after : undefined;
}

/**
 * @internal The text edit that removes a document's record entry (the top level of a YAML file,
 * or of the last document of several), and the check that a parse of the edited text lost that
 * entry alone from that top level (the caller checks every other value, e.g. as a splice that
 * releases the record's path, so that one parse of the output serves both). Undefined when there
 * is no record or it cannot be cut.
 */
export function recordCut(
  doc: SealfigDocument,
): { edit: TextEdit; removed: (after: SealfigDocument) => boolean } | undefined {
  if (doc.format !== "yaml") return undefined;
  const root = recordRoot(doc);
  if (!isMap(root)) return undefined;
  const items = root.items as Pair<unknown, unknown>[];
  const at = items.findIndex((p) => isScalar(p.key) && p.key.value === INTEGRITY_KEY);
  if (at < 0) return undefined;
  const span = root.flow ? flowSpan(doc.text, root, items, at) : blockSpan(doc.text, items[at]!);
  if (!span) return undefined;
  return {
    edit: { from: span.from, to: span.to, text: span.text ?? "" },
    removed(after) {
      if (after.documentCount !== doc.documentCount) return false;
      const afterRoot = recordRoot(after);
      const emptied = items.length === 1 && (afterRoot === null || isMap(afterRoot) ||
        (isScalar(afterRoot) && afterRoot.value === null));
      if (!emptied && !(isMap(afterRoot) && afterRoot.items.length === items.length - 1)) {
        return false;
      }
      return !(isMap(afterRoot) && afterRoot.has(INTEGRITY_KEY));
    },
  };
}

function end(pair: Pair<unknown, unknown>): number | undefined {
  const key = pair.key as Node | null, value = pair.value as Node | null;
  if (!key?.range) return undefined;
  return Math.max(key.range[1], value?.range?.[1] ?? 0);
}

/** A block-map pair's lines, from the start of its key's line to the end of its value's. */
function blockSpan(
  text: string,
  pair: Pair<unknown, unknown>,
): { from: number; to: number; text?: string } | undefined {
  const key = pair.key as Node, stop = end(pair);
  if (!key.range || stop === undefined) return undefined;
  const from = text.lastIndexOf("\n", key.range[0] - 1) + 1;
  const lead = text.slice(from, key.range[0]);
  // Before a top-level key on its line: an explicit-key `?`, tags and anchors, or a `---` marker.
  const m = /^(---[ \t]+)?(?:\?[ \t]+)?(?:[!&][^ \t]*[ \t]+)*$/.exec(lead);
  if (!m) return undefined;
  const nl = stop > 0 && text[stop - 1] === "\n" ? stop - 1 : text.indexOf("\n", stop);
  const to = nl < 0 ? text.length : nl + 1;
  return { from, to, ...(m[1] ? { text: "---\n" } : {}) };
}

/** A flow-map entry with the comma that separates it from its neighbour. */
function flowSpan(
  text: string,
  root: YAMLMap<unknown, unknown>,
  items: Pair<unknown, unknown>[],
  at: number,
): { from: number; to: number; text?: string } | undefined {
  const stop = end(items[at]!);
  if (stop === undefined || !root.range) return undefined;
  if (at > 0) {
    const prev = end(items[at - 1]!);
    return prev === undefined ? undefined : { from: prev, to: stop };
  }
  const open = text.indexOf("{", root.range[0]);
  if (open < 0 || open >= stop) return undefined;
  if (items.length === 1) return { from: open + 1, to: stop };
  // The first of several: up to and including the comma after it, and the blanks after that.
  const comma = /^(?:[ \t\n]|#[^\n]*)*,[ \t]*/.exec(text.slice(stop));
  return comma ? { from: open + 1, to: stop + comma[0].length } : undefined;
}
