/**
 * Envelope format v1: blob string <-> fields. Pure parsing and serialisation, no crypto.
 * The normative description is docs/format.md; keep the two in step.
 *
 * ```text
 * sealfig:v1:<base64url, unpadded, canonical>
 *   u8  version            = 0x01
 *   u8  suite              = 0x01 (AES-256-GCM, HKDF-SHA-256, 256-bit key commitment)
 *   u8  value type         (0x01 string, 0x02 integer, 0x03 float, 0x04 boolean, 0x05 null)
 *   u8  P, P bytes         provider id, [a-z0-9-], 1..32
 *   u16 K, K bytes         key id, UTF-8, 1..2048
 *   u16 W, W bytes         wrapped data key, 1..4096
 *   32 bytes               HKDF salt
 *   12 bytes               AES-GCM IV
 *   32 bytes               key commitment
 *   --- end of header ---
 *   C bytes                ciphertext (0 .. 1 MiB)
 *   16 bytes               GCM tag
 * ```
 *
 * Format v2 (`sealfig:v2:`, docs/format.md §11) differs only in the key slots: after the value type,
 * `u8 N` (1..16) and N key slots (each as the v1 slot), then salt, IV, commitment and ciphertext as
 * in v1. The value's crypto, and the bound header in the AAD (version byte 0x01), are v1's, so a
 * value moves between v1 and v2 without its ciphertext changing.
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import {
  type Bytes,
  ByteWriter,
  concat,
  fromBase64Url,
  fromUtf8,
  markImmutable,
  toBase64Url,
  utf8,
} from "../crypto/bytes.ts";

/** The text every v1 blob starts with. */
export const BLOB_PREFIX = "sealfig:v1:";
/** The text every v2 (several keys) blob starts with. */
export const BLOB_PREFIX_V2 = "sealfig:v2:";
/** Matches any sealfig blob of any version (for recognising, not validating). */
export const ANY_BLOB = /^sealfig:v[0-9]+:/;

/** Format version byte. */
export const VERSION_1 = 0x01;
/** Suite 1: AES-256-GCM, HKDF-SHA-256 per-value keys, 256-bit key commitment. */
export const SUITE_1 = 0x01;
/** Format version byte of blobs with several key slots. */
export const VERSION_2 = 0x02;
/** Most key slots a v2 blob (or a v3 integrity record) may hold. */
export const MAX_KEY_SLOTS = 16;

export const SALT_LENGTH = 32;
export const IV_LENGTH = 12;
export const COMMITMENT_LENGTH = 32;
export const TAG_LENGTH = 16;
/** Largest plaintext a blob may hold (1 MiB). */
export const MAX_PLAINTEXT = 1024 * 1024;
export const MAX_PROVIDER_ID = 32;
export const MAX_KEY_ID = 2048;
export const MAX_WRAPPED_DEK = 4096;
const MAX_SLOT = 1 + MAX_PROVIDER_ID + 2 + MAX_KEY_ID + 2 + MAX_WRAPPED_DEK;
const MAX_HEADER = 4 + MAX_KEY_SLOTS * MAX_SLOT + SALT_LENGTH + IV_LENGTH + COMMITMENT_LENGTH;
/** Longest blob string accepted, checked before any decoding. */
export const MAX_BLOB_CHARS = BLOB_PREFIX_V2.length +
  Math.ceil(((MAX_HEADER + MAX_PLAINTEXT + TAG_LENGTH) * 4) / 3);

/** The type of a sealed value, recorded (and authenticated) in the header. */
export const ValueType = {
  string: 0x01,
  integer: 0x02,
  float: 0x03,
  boolean: 0x04,
  null: 0x05,
} as const;
/** Name of a value type. */
export type ValueTypeName = keyof typeof ValueType;
const TYPE_NAMES = new Map<number, ValueTypeName>(
  Object.entries(ValueType).map(([k, v]) => [v, k as ValueTypeName]),
);

const PROVIDER_ID = /^[a-z0-9-]{1,32}$/;

/** The header fields of a blob. */
export interface BlobHeader {
  /** Format version (1, or 2 for a blob with several key slots). */
  version: number;
  /** Algorithm suite (1: AES-256-GCM, HKDF-SHA-256, key commitment). */
  suite: number;
  /** The type of the sealed value. */
  valueType: ValueTypeName;
  /** The key provider of the first key slot (`local`, `aws-kms`). */
  providerId: string;
  /** The wrapping key: a local key fingerprint or a KMS key ARN. */
  keyId: string;
  /** The data key as the provider wrapped it (opaque). */
  wrappedDek: Bytes;
  /** Per-value HKDF salt (32 bytes). */
  salt: Bytes;
  /** AES-GCM nonce (12 bytes). */
  iv: Bytes;
  /** Key commitment (32 bytes), checked before decrypting. */
  commitment: Bytes;
}

/** A parsed blob: header fields, the exact header bytes, and ciphertext with tag. */
export interface ParsedBlob extends BlobHeader {
  /**
   * Every key slot, in order (one for a v1 blob); the first is also `providerId`, `keyId` and
   * `wrappedDek`. Any slot unwraps the same data key.
   */
  slots: readonly KeySlot[];
  /** The serialized header exactly as it appeared. */
  headerBytes: Bytes;
  /**
   * The header fields bound into the associated data: version, suite, type, salt, IV and
   * commitment (see {@link boundHeader}). The key slot (provider, key id, wrapped DEK) is bound
   * through the key commitment instead, so it can be re-wrapped without touching the ciphertext.
   */
  boundHeader: Bytes;
  /** Ciphertext followed by the 16-byte GCM tag. */
  ciphertext: Bytes;
}

/**
 * True when `text` looks like a sealfig blob of any version (cheap; does not validate).
 *
 * @example
 * ```ts
 * import { isBlob } from "@sealfig/sealfig/document";
 * isBlob("sealfig:v1:AQEB"); // true (parseBlob would refuse it)
 * isBlob("hunter2"); // false
 * ```
 */
export function isBlob(text: unknown): text is string {
  return typeof text === "string" && ANY_BLOB.test(text);
}

/** Validate that a provider id may be recorded in a blob. */
export function isValidProviderId(id: string): boolean {
  return PROVIDER_ID.test(id);
}

/**
 * Serialize header fields. With `slots` of two or more keys the header is v2 (several key slots),
 * otherwise v1 (the one slot: `slots[0]`, else `providerId`, `keyId`, `wrappedDek`). Throws
 * `VALUE_INVALID` when a field is out of range or a key is listed twice.
 */
export function encodeHeader(
  h: Omit<BlobHeader, "version" | "suite"> & { slots?: readonly KeySlot[] },
): Bytes {
  const slots: readonly KeySlot[] = h.slots && h.slots.length > 0
    ? h.slots
    : [{ providerId: h.providerId, keyId: h.keyId, wrappedDek: h.wrappedDek }];
  if (slots.length > MAX_KEY_SLOTS) {
    throw new SealfigError("VALUE_INVALID", `At most ${MAX_KEY_SLOTS} keys per value`);
  }
  const seen = new Set<string>();
  for (const slot of slots) {
    const id = `${slot.providerId}\u0000${slot.keyId}`;
    if (seen.has(id)) {
      throw new SealfigError(
        "VALUE_INVALID",
        `Key ${slot.providerId}:${slot.keyId} is listed twice`,
      );
    }
    seen.add(id);
  }
  if (
    h.salt.length !== SALT_LENGTH || h.iv.length !== IV_LENGTH ||
    h.commitment.length !== COMMITMENT_LENGTH
  ) {
    throw new SealfigError("VALUE_INVALID", "Salt, IV or commitment has the wrong length");
  }
  const w = new ByteWriter()
    .u8(slots.length > 1 ? VERSION_2 : VERSION_1)
    .u8(SUITE_1)
    .u8(ValueType[h.valueType]);
  if (slots.length > 1) w.u8(slots.length);
  for (const slot of slots) writeSlot(w, slot);
  return w.bytes(h.salt).bytes(h.iv).bytes(h.commitment).finish();
}

/** Append one key slot (`P ‖ provider ‖ K ‖ key id ‖ W ‖ wrapped`), validating its ranges. */
export function writeSlot(w: ByteWriter, slot: KeySlot): ByteWriter {
  const provider = utf8(slot.providerId);
  const keyId = utf8(slot.keyId);
  if (!PROVIDER_ID.test(slot.providerId)) {
    throw new SealfigError(
      "VALUE_INVALID",
      `Provider id ${JSON.stringify(slot.providerId)} is not [a-z0-9-]{1,32}`,
    );
  }
  if (keyId.length < 1 || keyId.length > MAX_KEY_ID) {
    throw new SealfigError("VALUE_INVALID", `Key id must be 1..${MAX_KEY_ID} bytes`);
  }
  if (slot.wrappedDek.length < 1 || slot.wrappedDek.length > MAX_WRAPPED_DEK) {
    throw new SealfigError("VALUE_INVALID", `Wrapped data key must be 1..${MAX_WRAPPED_DEK} bytes`);
  }
  return w.u8(provider.length).bytes(provider)
    .u16(keyId.length).bytes(keyId)
    .u16(slot.wrappedDek.length).bytes(slot.wrappedDek as Bytes);
}

/**
 * The header fields that enter the associated data: `version ‖ suite ‖ type ‖ salt ‖ IV ‖
 * commitment` (79 bytes). The key slot is deliberately not among them: a different wrapping of
 * the same DEK (a re-wrap) is harmless, and a wrapping of another DEK fails the key commitment.
 */
export function boundHeader(
  h: Pick<BlobHeader, "valueType" | "salt" | "iv" | "commitment">,
): Bytes {
  return new ByteWriter()
    .u8(VERSION_1)
    .u8(SUITE_1)
    .u8(ValueType[h.valueType])
    .bytes(h.salt)
    .bytes(h.iv)
    .bytes(h.commitment)
    .finish();
}

/** Build the blob string from header bytes and ciphertext+tag (the prefix by the version byte). */
export function encodeBlob(headerBytes: Uint8Array, ciphertext: Uint8Array): string {
  const prefix = headerBytes[0] === VERSION_2 ? BLOB_PREFIX_V2 : BLOB_PREFIX;
  return prefix + toBase64Url(concat(headerBytes, ciphertext));
}

function malformed(why: string): SealfigError {
  return new SealfigError("BLOB_MALFORMED", `Malformed sealed value: ${why}`, {
    hint: "The blob was truncated or edited; restore it from git or set the value again",
  });
}

// Blobs parsed recently, by their text. One value's blob is read for its type when its document
// is parsed, for its key when the allowlist checks it, and for its fields when it is opened (and
// by the CLI once more to render it): with this, it is decoded and validated once. Only valid
// blobs are kept, oldest dropped first, bounded by their total length. Blobs are not secret.
const recent = new Map<string, ParsedBlob>();
let recentChars = 0;
const RECENT_MAX_CHARS = 4 * 1024 * 1024;
const RECENT_MAX_BLOB = 64 * 1024;
let decodes = 0;

/**
 * How many blob texts {@link parseBlob} has decoded in this isolate (not counting the answers it
 * gave again from its memo): for tests that assert each blob is decoded once.
 */
export function blobDecodeCount(): number {
  return decodes;
}

/**
 * Parse a blob string strictly. Throws `BLOB_MALFORMED` (wrong prefix, bad base64, truncated or
 * oversized fields, trailing bytes) or `BLOB_UNSUPPORTED` (unknown version or suite). Never
 * throws anything else, and does no work proportional to more than {@link MAX_BLOB_CHARS}.
 *
 * The result is frozen and may be handed out again for the same text: treat its byte arrays as
 * read-only.
 *
 * @example Which key wraps a value's data key, without opening it
 * ```ts
 * import { parseBlob, readDocument } from "@sealfig/sealfig/document";
 * const doc = await readDocument("config/app.yaml");
 * const blob = doc.values().find((v) => v.kind === "sealed");
 * if (blob) console.log(parseBlob(String(blob.value)).keyId);
 * ```
 */
export function parseBlob(text: string): ParsedBlob {
  const hit = recent.get(text);
  if (hit !== undefined) return hit;
  const parsed = Object.freeze(decodeBlob(text));
  if (text.length <= RECENT_MAX_BLOB) {
    recent.set(text, parsed);
    recentChars += text.length;
    while (recentChars > RECENT_MAX_CHARS) {
      const [oldest] = recent.keys();
      recentChars -= oldest!.length;
      recent.delete(oldest!);
    }
  }
  return parsed;
}

function decodeBlob(text: string): ParsedBlob {
  decodes++;
  if (typeof text !== "string") throw malformed("not a string");
  if (text.length > MAX_BLOB_CHARS) throw malformed(`longer than ${MAX_BLOB_CHARS} characters`);
  const v2 = text.startsWith(BLOB_PREFIX_V2);
  if (!v2 && !text.startsWith(BLOB_PREFIX)) {
    const m = /^sealfig:v([0-9]{1,6}):/.exec(text);
    if (m) {
      throw new SealfigError(
        "BLOB_UNSUPPORTED",
        `Sealed value has format version ${m[1]}, this sealfig reads versions 1 and 2`,
        { hint: "Upgrade sealfig to read it" },
      );
    }
    throw malformed(`does not start with "${BLOB_PREFIX}"`);
  }
  const bytes = fromBase64Url(text.slice((v2 ? BLOB_PREFIX_V2 : BLOB_PREFIX).length));
  if (!bytes) throw malformed("not canonical unpadded base64url");
  // One copy (the decoded bytes, private to this call) and one array for the bound header: the
  // fields are views into them, not copies. Each small typed array costs an off-heap allocation
  // on Deno (~0.5 µs), and a blob's fields used to be a dozen of them (issue 16).
  let off = 0;
  const need = (n: number, what: string) => {
    if (off + n > bytes.length) throw malformed(`truncated in ${what}`);
  };
  const take = (n: number, what: string): Bytes => {
    need(n, what);
    const out = bytes.subarray(off, off + n);
    off += n;
    return out;
  };
  need(3, "header");
  const version = bytes[0]!;
  const suite = bytes[1]!;
  const typeByte = bytes[2]!;
  off = 3;
  if (version !== (v2 ? VERSION_2 : VERSION_1)) {
    throw malformed(`version byte ${version} does not match the "v${v2 ? 2 : 1}" prefix`);
  }
  if (suite !== SUITE_1) {
    throw new SealfigError(
      "BLOB_UNSUPPORTED",
      `Sealed value uses unknown algorithm suite ${suite}`,
      {
        hint: "Upgrade sealfig to read it",
      },
    );
  }
  const valueType = TYPE_NAMES.get(typeByte);
  if (!valueType) throw malformed(`unknown value type ${typeByte}`);
  let count = 1;
  if (v2) {
    need(1, "key count");
    count = bytes[off++]!;
    // One encoding per value: a value under one key is v1, so v2 holds 2..16 slots.
    if (count < 2 || count > MAX_KEY_SLOTS) throw malformed("bad key count");
  }
  const read = readKeySlots(bytes, off, count, malformed);
  const slots = read.slots;
  off = read.off;
  const { providerId, keyId, wrappedDek } = slots[0]! as KeySlot & { wrappedDek: Bytes };
  const fieldsAt = off;
  take(SALT_LENGTH, "salt");
  take(IV_LENGTH, "IV");
  take(COMMITMENT_LENGTH, "commitment");
  const headerBytes = bytes.subarray(0, off);
  const ctLen = bytes.length - off;
  if (ctLen < TAG_LENGTH) throw malformed("truncated in ciphertext");
  if (ctLen - TAG_LENGTH > MAX_PLAINTEXT) throw malformed("ciphertext too long");
  // version ‖ suite ‖ type ‖ salt ‖ IV ‖ commitment: the header's first 3 bytes and its last 76.
  // The bound version is the value's (1) in v2 blobs too: only the key slots differ (§11).
  const bound = new Uint8Array(3 + SALT_LENGTH + IV_LENGTH + COMMITMENT_LENGTH);
  bound.set(bytes.subarray(0, 3), 0);
  bound[0] = VERSION_1;
  bound.set(bytes.subarray(fieldsAt, off), 3);
  return {
    version,
    suite,
    valueType,
    providerId,
    keyId,
    wrappedDek,
    slots,
    salt: bound.subarray(3, 3 + SALT_LENGTH),
    iv: bound.subarray(3 + SALT_LENGTH, 3 + SALT_LENGTH + IV_LENGTH),
    commitment: bound.subarray(3 + SALT_LENGTH + IV_LENGTH),
    headerBytes,
    boundHeader: bound,
    ciphertext: bytes.subarray(off),
  };
}

/** Strict UTF-8 text of a short field; ASCII (every provider id, most key ids) without a decoder. */
/**
 * @internal Read `count` key slots (provider id, key id, wrapped DEK; docs/format.md §2, §11) from
 * `bytes` at `off`, no key twice: the one slot reader of blobs and integrity records. `fail`
 * makes the caller's error from a reason. The slots' wrapped DEKs are views into `bytes`.
 */
export function readKeySlots(
  bytes: Bytes,
  off: number,
  count: number,
  fail: (reason: string) => Error,
): { slots: KeySlot[]; off: number } {
  const take = (n: number, what: string): Bytes => {
    if (off + n > bytes.length) throw fail(`truncated in ${what}`);
    const out = bytes.subarray(off, off + n);
    off += n;
    return out;
  };
  const u16 = (what: string) => {
    const b = take(2, what);
    return (b[0]! << 8) | b[1]!;
  };
  const slots: KeySlot[] = [];
  for (let i = 0; i < count; i++) {
    const pLen = take(1, "provider id length")[0]!;
    if (pLen < 1 || pLen > MAX_PROVIDER_ID) throw fail("bad provider id length");
    const providerId = textOf(take(pLen, "provider id"));
    if (providerId === undefined || !PROVIDER_ID.test(providerId)) throw fail("bad provider id");
    const kLen = u16("key id length");
    if (kLen < 1 || kLen > MAX_KEY_ID) throw fail("bad key id length");
    const keyId = textOf(take(kLen, "key id"));
    if (keyId === undefined) throw fail("key id is not UTF-8");
    const wLen = u16("wrapped key length");
    if (wLen < 1 || wLen > MAX_WRAPPED_DEK) throw fail("bad wrapped key length");
    const wrappedDek = take(wLen, "wrapped key");
    markImmutable(wrappedDek);
    if (slots.some((k) => k.providerId === providerId && k.keyId === keyId)) {
      throw fail("a key is listed twice");
    }
    slots.push({ providerId, keyId, wrappedDek });
  }
  return { slots, off };
}

function textOf(b: Uint8Array): string | undefined {
  let s = "";
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c > 0x7f) return fromUtf8(b);
    s += String.fromCharCode(c);
  }
  return s;
}

/** The key slot of a blob: which provider and key wrapped its data key, and the wrapped bytes. */
export interface KeySlot {
  /** Provider id. */
  providerId: string;
  /** Canonical KEK id. */
  keyId: string;
  /** The wrapped DEK. */
  wrappedDek: Uint8Array;
}

/**
 * The same blob with another key slot (a re-wrapped DEK); salt, IV, commitment and ciphertext
 * are unchanged. Only a wrapping of the same DEK will open: anything else fails the commitment.
 */
export function replaceKeySlot(blob: ParsedBlob, slot: KeySlot): string {
  return replaceKeySlots(blob, [slot]);
}

/**
 * The same blob with these key slots, in order (v1 for one, v2 for several); salt, IV,
 * commitment and ciphertext are unchanged, byte for byte. Every slot must wrap the blob's DEK.
 */
export function replaceKeySlots(blob: ParsedBlob, slots: readonly KeySlot[]): string {
  const slot = slots[0];
  if (!slot) throw new SealfigError("VALUE_INVALID", "A value needs at least one key");
  const header = encodeHeader({
    slots,
    valueType: blob.valueType,
    providerId: slot.providerId,
    keyId: slot.keyId,
    wrappedDek: slot.wrappedDek as Bytes,
    salt: blob.salt,
    iv: blob.iv,
    commitment: blob.commitment,
  });
  return encodeBlob(header, blob.ciphertext);
}
