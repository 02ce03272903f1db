/**
 * Byte helpers: strict base64url, UTF-8, big-endian integers, constant-time comparison.
 * `Uint8Array` only (never `Buffer`), so the same code runs on every runtime.
 *
 * @module
 */

/** A byte array backed by a plain `ArrayBuffer`, as WebCrypto wants it. */
export type Bytes = Uint8Array<ArrayBuffer>;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Encode bytes as unpadded base64url (RFC 4648 §5). */
export function toBase64Url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! +
      ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!;
  }
  return out;
}

/**
 * Decode unpadded base64url strictly: only the URL-safe alphabet, no padding, no whitespace, and
 * the unused low bits of the last character must be zero, so every string has exactly one
 * decoding and every changed character changes the bytes. Returns undefined when invalid.
 */
export function fromBase64Url(text: string): Bytes | undefined {
  const len = text.length;
  if (len % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let o = 0;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    const a = sextet(text, i),
      b = sextet(text, i + 1),
      c = sextet(text, i + 2),
      d = sextet(text, i + 3);
    if ((a | b | c | d) < 0) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  const rest = len - i;
  if (rest === 2) {
    const a = sextet(text, i), b = sextet(text, i + 1);
    if ((a | b) < 0 || (b & 15) !== 0) return undefined;
    out[o++] = (a << 2) | (b >> 4);
  } else if (rest === 3) {
    const a = sextet(text, i), b = sextet(text, i + 1), c = sextet(text, i + 2);
    if ((a | b | c) < 0 || (c & 3) !== 0) return undefined;
    out[o++] = (a << 2) | (b >> 4);
    out[o++] = ((b & 15) << 4) | (c >> 2);
  }
  return out;
}

function sextet(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c < 128 ? DECODE[c]! : -1;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** UTF-8 encode a string. */
export function utf8(text: string): Bytes {
  // Short ASCII strings (context entries, path segments, labels) are most of the calls, and
  // TextEncoder's per-call cost dominates for them.
  const n = text.length;
  if (n > 64) return encoder.encode(text) as Bytes;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return encoder.encode(text) as Bytes;
    out[i] = c;
  }
  return out;
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * True when `text` holds a lone surrogate: text with no UTF-8 form of its own (an encoder writes
 * U+FFFD for it, the same bytes as another string), refused wherever bytes must mean one text.
 */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/** UTF-8 decode strictly; undefined when the bytes are not valid UTF-8. */
export function fromUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Strings of byte arrays that are never written after {@link markImmutable}. */
const byteStrings = new WeakMap<Uint8Array, string | null>();

/**
 * Declare that `bytes` is never written again (a parsed blob's wrapped data key, a view into bytes
 * private to the parse), so {@link byteString} computes its string once.
 */
export function markImmutable(bytes: Uint8Array): void {
  if (!byteStrings.has(bytes)) byteStrings.set(bytes, null);
}

/**
 * The bytes as a string of one character (U+0000–U+00FF) per byte: a map key that is equal for
 * equal bytes. Computed once for arrays passed to {@link markImmutable}.
 */
export function byteString(bytes: Uint8Array): string {
  const known = byteStrings.get(bytes);
  if (typeof known === "string") return known;
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  if (known === null) byteStrings.set(bytes, text);
  return text;
}

/** Concatenate byte arrays. */
export function concat(...parts: Uint8Array[]): Bytes {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A copy of `bytes` in a fresh `ArrayBuffer`. */
export function copyBytes(bytes: Uint8Array): Bytes {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/** Compare two byte arrays in time that depends only on their lengths. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Cryptographically random bytes. */
export function randomBytes(n: number): Bytes {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Builds length-prefixed canonical byte strings (big-endian lengths). */
export class ByteWriter {
  #parts: Uint8Array[] = [];

  /** Append one byte. */
  u8(n: number): this {
    this.#parts.push(Uint8Array.of(n & 255));
    return this;
  }

  /** Append a big-endian u16. */
  u16(n: number): this {
    this.#parts.push(Uint8Array.of((n >>> 8) & 255, n & 255));
    return this;
  }

  /** Append a big-endian u32. */
  u32(n: number): this {
    this.#parts.push(Uint8Array.of((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255));
    return this;
  }

  /** Append raw bytes. */
  bytes(b: Uint8Array): this {
    this.#parts.push(b);
    return this;
  }

  /** Append u32 length then the bytes. */
  lp32(b: Uint8Array): this {
    return this.u32(b.length).bytes(b);
  }

  /** The bytes written so far. */
  finish(): Bytes {
    return concat(...this.#parts);
  }
}
