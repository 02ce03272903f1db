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
import { type Bytes, ByteWriter, utf8 } from "../crypto/bytes.ts";
import type { EncryptionContext } from "../keys/key_provider.ts";
import type { ValuePath } from "../path.ts";

const LABEL = utf8("sealfig/v1/aad");
const MAX_CONTEXT_PAIRS = 64;
const MAX_CONTEXT_BYTES = 8192;

/** The associated data that authenticates a value's bound header fields, path and context. */
export function buildAad(header: Uint8Array, path: ValuePath, context: EncryptionContext): Bytes {
  const w = new ByteWriter().bytes(LABEL).lp32(header).u32(path.length);
  for (const seg of path) {
    if (typeof seg === "number") {
      if (!Number.isInteger(seg) || seg < 0 || seg > 0xffffffff) {
        throw new SealfigError("PATH_INVALID", `Invalid sequence index ${seg}`);
      }
      w.u8(0x02).u32(seg);
    } else {
      w.u8(0x01).lp32(utf8(seg));
    }
  }
  const pairs = canonicalContext(context);
  w.u32(pairs.length);
  for (const [k, v] of pairs) w.lp32(k).lp32(v);
  return w.finish();
}

/**
 * Validate a context and return its pairs as UTF-8 bytes sorted by key bytes.
 * Throws `OPTION_INVALID` for non-string entries, empty keys or an oversized context.
 */
export function canonicalContext(context: EncryptionContext): [Bytes, Bytes][] {
  const pairs: [Bytes, Bytes][] = [];
  let total = 0;
  for (const [k, v] of Object.entries(context)) {
    if (typeof v !== "string" || k.length === 0) {
      throw new SealfigError(
        "OPTION_INVALID",
        `Encryption context entry ${JSON.stringify(k)} must be a non-empty key with a string value`,
      );
    }
    const kb = utf8(k), vb = utf8(v);
    total += kb.length + vb.length;
    pairs.push([kb, vb]);
  }
  if (pairs.length > MAX_CONTEXT_PAIRS || total > MAX_CONTEXT_BYTES) {
    throw new SealfigError(
      "OPTION_INVALID",
      `Encryption context is too large (at most ${MAX_CONTEXT_PAIRS} pairs, ${MAX_CONTEXT_BYTES} bytes)`,
    );
  }
  pairs.sort((a, b) => compareBytes(a[0], b[0]));
  return pairs;
}

/** Lexicographic comparison of byte strings. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
