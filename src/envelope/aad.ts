/**
 * Canonical associated data for a value: the header's value fields (version, suite, type, salt,
 * IV, commitment; see `boundHeader` in format.ts), the value's path and the file's
 * encryption context, each length-prefixed so no two different inputs share an encoding
 * (a key named `a.b` never equals the path `a` → `b`; context pairs are sorted by their UTF-8
 * bytes, not by UTF-16 code units).
 *
 * ```text
 * "sealfig/v1/aad" (14 bytes)
 * u32 len, bound header bytes (79)
 * u32 segment count; per segment: u8 0x01 + u32 len + UTF-8 key | u8 0x02 + u32 index
 * u32 pair count; per pair (sorted by key bytes): u32 len + key, u32 len + value
 * ```
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import { type Bytes, byteString, hasLoneSurrogate, utf8 } from "../crypto/bytes.ts";
import type { EncryptionContext } from "../keys/key_provider.ts";
import type { ValuePath } from "../path.ts";

const LABEL = utf8("sealfig/v1/aad");
const MAX_CONTEXT_PAIRS = 64;
const MAX_CONTEXT_BYTES = 8192;
const encoder = new TextEncoder();

/**
 * The associated data that authenticates a value's bound header fields, path and context.
 *
 * Built in one pass into one exact-size array: lengths first, then the bytes. Allocation of
 * small typed arrays is what this function is made of otherwise, and it is cheap on Node (V8
 * keeps arrays of up to 64 bytes on its own heap) but not on Deno (every typed array gets an
 * off-heap backing store, ~0.4–0.7 µs each), where a writer with a part per field made building
 * the AAD ~5–10× Node's cost (issue 16). The bytes are the same as the length-prefixed encoding
 * above (the vectors and the adversarial suite's reference-encoding property pin them).
 */
export function buildAad(header: Uint8Array, path: ValuePath, context: EncryptionContext): Bytes {
  let n = LABEL.length + 4 + header.length + 4;
  for (const seg of path) {
    if (typeof seg === "number") {
      if (!Number.isInteger(seg) || seg < 0 || seg > 0xffffffff) {
        throw new SealfigError("PATH_INVALID", `Invalid sequence index ${seg}`);
      }
      n += 5;
    } else {
      n += 5 + utf8Length(seg);
    }
  }
  const section = contextSection(context);
  n += section.length;
  const out = new Uint8Array(n);
  out.set(LABEL, 0);
  let o = putU32(out, LABEL.length, header.length);
  out.set(header, o);
  o = putU32(out, o + header.length, path.length);
  for (const seg of path) {
    if (typeof seg === "number") {
      out[o++] = 0x02;
      o = putU32(out, o, seg);
    } else {
      out[o++] = 0x01;
      const len = utf8Length(seg);
      o = putUtf8(out, putU32(out, o, len), seg, len);
    }
  }
  out.set(section, o);
  return out;
}

/**
 * Encodings of contexts that cannot change: the frozen copies {@link fixedContext} makes, and any
 * frozen context whose entries are all data properties (a frozen object's data properties are
 * fixed; a getter is not), checked once.
 */
const fixed = new WeakMap<EncryptionContext, { section: Bytes; key: string } | null>();

function encodingOf(context: EncryptionContext): { section: Bytes; key: string } | undefined {
  requireContextObject(context);
  const known = fixed.get(context);
  if (known) return known;
  if (known === null || !Object.isFrozen(context)) return undefined;
  const descriptors = Object.getOwnPropertyDescriptors(context);
  for (const key of Object.keys(context)) {
    if (!("value" in descriptors[key]!)) {
      fixed.set(context, null);
      return undefined;
    }
  }
  const section = encodeContextSection(context);
  const encoding = { section, key: byteString(section) };
  fixed.set(context, encoding);
  return encoding;
}

/**
 * A frozen copy of `context` whose canonical encoding ({@link contextSection},
 * {@link contextKey}) is computed once instead of per value: what a loader or writer holds for a
 * file's context while it opens or seals many values under it. Validates the context as
 * {@link canonicalContext} does (throws `OPTION_INVALID`).
 */
export function fixedContext(context: EncryptionContext): EncryptionContext {
  if (encodingOf(context)) return context;
  encodeContextSection(context); // validates the context as given (a copy would drop symbol keys)
  const copy: EncryptionContext = Object.freeze(Object.fromEntries(Object.entries(context)));
  encodingOf(copy);
  return copy;
}

/**
 * The context's part of the associated data: u32 pair count, then per pair (sorted by key bytes)
 * u32 length + key, u32 length + value. Computed once for a context that cannot change.
 */
export function contextSection(context: EncryptionContext): Bytes {
  return encodingOf(context)?.section ?? encodeContextSection(context);
}

/**
 * The same canonical encoding as a string of one character per byte (a map key: injective, since
 * every part is length-prefixed). Computed once for a context that cannot change.
 */
export function contextKey(context: EncryptionContext): string {
  return encodingOf(context)?.key ?? byteString(encodeContextSection(context));
}

function encodeContextSection(context: EncryptionContext): Bytes {
  const pairs = contextPairs(context);
  let n = 4;
  for (const p of pairs) n += 8 + p.keyBytes + p.valueBytes;
  const out = new Uint8Array(n);
  let o = putU32(out, 0, pairs.length);
  for (const p of pairs) {
    o = putUtf8(out, putU32(out, o, p.keyBytes), p.key, p.keyBytes);
    o = putUtf8(out, putU32(out, o, p.valueBytes), p.value, p.valueBytes);
  }
  return out;
}

function putU32(out: Uint8Array, o: number, v: number): number {
  out[o] = v >>> 24;
  out[o + 1] = (v >>> 16) & 255;
  out[o + 2] = (v >>> 8) & 255;
  out[o + 3] = v & 255;
  return o + 4;
}

/** Write `text` (whose UTF-8 length is `len`) at `o`; returns the offset after it. */
function putUtf8(out: Uint8Array, o: number, text: string, len: number): number {
  if (len === text.length) {
    for (let i = 0; i < len; i++) out[o + i] = text.charCodeAt(i); // ASCII
  } else {
    encoder.encodeInto(text, out.subarray(o, o + len));
  }
  return o + len;
}

/** UTF-8 length of `text` as TextEncoder encodes it (a lone surrogate becomes U+FFFD: 3 bytes). */
function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (
      c >= 0xd800 && c <= 0xdbff && i + 1 < text.length &&
      (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      n += 2; // a pair: two code units, four bytes
      i++;
    } else n += 2;
  }
  return n;
}

interface ContextPair {
  key: string;
  value: string;
  keyBytes: number;
  valueBytes: number;
}

/**
 * OPTION_INVALID unless `context` is a plain object (`{…}` or `Object.create(null)`): a string,
 * an array, a Map or a class instance is not a context (its entries would be read as other keys,
 * or as none).
 */
export function requireContextObject(context: unknown): void {
  const proto = typeof context === "object" && context !== null
    ? Object.getPrototypeOf(context)
    : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new SealfigError(
      "OPTION_INVALID",
      `Encryption context must be a plain object of string values, not ${kindOf(context)}`,
      { hint: 'Pass e.g. { app: "shop", env: "prod" }, or {} for none' },
    );
  }
}

function kindOf(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (typeof x !== "object") return typeof x === "undefined" ? "undefined" : `a ${typeof x}`;
  const name = (x as { constructor?: { name?: string } }).constructor?.name;
  return name && name !== "Object" ? `a ${name}` : "an object with another prototype";
}

/**
 * Validate a context; its pairs sorted by the UTF-8 bytes of their keys, with byte lengths.
 * Refuses a key or value with a lone surrogate: UTF-8 has no encoding for it (an encoder writes
 * U+FFFD, so two different strings would give the same associated data and cache key, while KMS,
 * which receives the strings as JSON, would tell them apart).
 */
function contextPairs(context: EncryptionContext): ContextPair[] {
  requireContextObject(context);
  const pairs: ContextPair[] = [];
  let total = 0;
  let ascii = true;
  if (Object.getOwnPropertySymbols(context).length > 0) {
    throw new SealfigError(
      "OPTION_INVALID",
      "Encryption context keys must be strings, not symbols",
    );
  }
  for (const [key, value] of Object.entries(context)) {
    if (key === "__proto__") {
      // No JavaScript object reliably holds it (an assignment sets the prototype instead, and
      // schema validators drop it): a context naming it would not be the one applied everywhere.
      throw new SealfigError(
        "OPTION_INVALID",
        'Encryption context key "__proto__" is not supported',
        { hint: "Rename that context entry" },
      );
    }
    if (typeof value !== "string" || key.length === 0) {
      throw new SealfigError(
        "OPTION_INVALID",
        `Encryption context entry ${
          JSON.stringify(key)
        } must be a non-empty key with a string value`,
      );
    }
    if (hasLoneSurrogate(key) || hasLoneSurrogate(value)) {
      throw new SealfigError(
        "OPTION_INVALID",
        `Encryption context entry ${
          JSON.stringify(key)
        } is not well-formed Unicode (a lone surrogate)`,
        { hint: "Use text that is valid Unicode in the context's keys and values" },
      );
    }
    const keyBytes = utf8Length(key), valueBytes = utf8Length(value);
    if (keyBytes !== key.length) ascii = false;
    total += keyBytes + valueBytes;
    pairs.push({ key, value, keyBytes, valueBytes });
  }
  if (pairs.length > MAX_CONTEXT_PAIRS || total > MAX_CONTEXT_BYTES) {
    throw new SealfigError(
      "OPTION_INVALID",
      `Encryption context is too large (at most ${MAX_CONTEXT_PAIRS} pairs, ${MAX_CONTEXT_BYTES} bytes)`,
    );
  }
  if (pairs.length > 1) {
    if (ascii) {
      // For ASCII, UTF-16 code unit order is byte order.
      pairs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    } else {
      pairs.sort((a, b) => compareBytes(utf8(a.key), utf8(b.key)));
    }
  }
  return pairs;
}

/**
 * Validate a context and return its pairs as UTF-8 bytes sorted by key bytes.
 * Throws `OPTION_INVALID` for non-string entries, empty keys or an oversized context.
 */
export function canonicalContext(context: EncryptionContext): [Bytes, Bytes][] {
  return contextPairs(context).map((p) => [utf8(p.key), utf8(p.value)]);
}

/** Lexicographic comparison of byte strings. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
