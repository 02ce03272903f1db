/**
 * The symmetric primitives the format uses per value and per file: HKDF-SHA-256, AES-256-GCM and
 * HMAC-SHA-256, from `node:crypto`. Node (>= 20) and Deno 2 both ship `node:crypto`, so this is
 * one code path on both runtimes; it computes the same bytes as the WebCrypto calls it replaced
 * (the committed vectors and tests/envelope/primitives.test.ts pin that) at a fraction of the cost:
 * synchronous, no promise or thread-pool hop per call, no `importKey` per derived key.
 *
 * This is the only module that imports `node:crypto` (docs/architecture.md says why there is no
 * WebCrypto fallback). Derived key bytes are zeroed by the callers right after use; plaintext
 * buffers the cipher hands back are copied and zeroed here.
 *
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  type KeyObject,
} from "node:crypto";
import type { Bytes } from "./bytes.ts";

/**
 * An opaque handle to secret key material held by the crypto library (a `KeyObject`). Zeroing the
 * bytes it was made from does not affect it; it is freed when garbage collected, as a
 * non-extractable `CryptoKey` is.
 */
export type SecretKeyHandle = KeyObject;

const GCM_TAG_LENGTH = 16;

/** Import raw key bytes as a {@link SecretKeyHandle} (the library keeps its own copy). */
export function importSecretKey(bytes: Uint8Array): SecretKeyHandle {
  return createSecretKey(bytes);
}

/** HKDF-SHA-256 (RFC 5869): `length` bytes from `ikm`, `salt` (may be empty) and `info`. */
export function hkdfSha256(
  ikm: SecretKeyHandle | Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Bytes {
  return new Uint8Array(hkdfSync("sha256", ikm, salt, info, length));
}

/** AES-256-GCM encrypt with a 128-bit tag: returns ciphertext ‖ tag (as WebCrypto does). */
export function aesGcmEncrypt(
  key: Uint8Array,
  iv: Uint8Array,
  additionalData: Uint8Array,
  plaintext: Uint8Array,
): Bytes {
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: GCM_TAG_LENGTH });
  cipher.setAAD(additionalData);
  const body = cipher.update(plaintext);
  const tail = cipher.final();
  const tag = cipher.getAuthTag();
  const out = new Uint8Array(body.length + tail.length + tag.length);
  out.set(body, 0);
  out.set(tail, body.length);
  out.set(tag, body.length + tail.length);
  return out;
}

/**
 * AES-256-GCM decrypt of ciphertext ‖ 128-bit tag. Returns the plaintext, or undefined when the
 * tag does not verify (nothing decrypted is kept then).
 */
export function aesGcmDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  additionalData: Uint8Array,
  sealed: Uint8Array,
): Bytes | undefined {
  if (sealed.length < GCM_TAG_LENGTH) return undefined;
  const split = sealed.length - GCM_TAG_LENGTH;
  const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: GCM_TAG_LENGTH });
  decipher.setAAD(additionalData);
  decipher.setAuthTag(sealed.subarray(split));
  const body = decipher.update(sealed.subarray(0, split));
  let tail: Uint8Array;
  try {
    tail = decipher.final();
  } catch {
    body.fill(0);
    return undefined;
  }
  // GCM is a stream mode: final() yields no bytes of its own, so the body is the plaintext (no
  // second copy to make and zero).
  if (tail.length === 0) return body;
  const out = new Uint8Array(body.length + tail.length);
  out.set(body, 0);
  out.set(tail, body.length);
  body.fill(0);
  tail.fill(0);
  return out;
}

/** HMAC-SHA-256 of `data` under `key`. */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Bytes {
  const mac = createHmac("sha256", key).update(data).digest();
  const out = new Uint8Array(mac.length);
  out.set(mac);
  return out;
}
