/**
 * Seal and open one value with a data key that is already at hand. Per value: a random 32-byte
 * salt, HKDF-SHA-256(DEK, salt) → 64 bytes = AES-256-GCM key ‖ key commitment, a random 12-byte
 * IV, and associated data binding the header's value fields, path and context (see aad.ts).
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import { type Bytes, randomBytes, timingSafeEqual, utf8 } from "../crypto/bytes.ts";
import { aesGcmDecrypt, aesGcmEncrypt, hkdfSha256 } from "../crypto/primitives.ts";
import type { DataKey } from "../crypto/data_key.ts";
import type { EncryptionContext } from "../keys/key_provider.ts";
import type { ValuePath } from "../path.ts";
import { buildAad } from "./aad.ts";
import {
  boundHeader,
  COMMITMENT_LENGTH,
  encodeBlob,
  encodeHeader,
  IV_LENGTH,
  type ParsedBlob,
  SALT_LENGTH,
  SUITE_1,
  type ValueTypeName,
} from "./format.ts";
import { decodeValue, encodeValue, type SecretValue } from "./value_codec.ts";

const HKDF_INFO = utf8("sealfig/v1/value-key\u0001");
HKDF_INFO[HKDF_INFO.length - 1] = SUITE_1;

/** Where a data key came from: recorded in every blob sealed with it. */
export interface DataKeyRef {
  /** Provider id, e.g. `local`. */
  providerId: string;
  /** Canonical KEK id returned by the provider. */
  keyId: string;
  /** The wrapped DEK. */
  wrapped: Uint8Array;
}

/**
 * HKDF-SHA-256(DEK, salt, info) → 64 bytes: the value's AES-256-GCM key (bytes 0..31) and its key
 * commitment (32..63). The caller zeroes the whole array when done.
 */
function deriveKeys(dataKey: DataKey, salt: Uint8Array): Bytes {
  return hkdfSha256(dataKey.hkdfKey, salt, HKDF_INFO, 32 + COMMITMENT_LENGTH);
}

/**
 * Seal one value. With several refs (the same data key wrapped under each key, in order) the blob
 * is v2 (docs/format.md §11); with one, v1.
 */
export function sealWithDataKey(
  dataKey: DataKey,
  ref: DataKeyRef | readonly DataKeyRef[],
  value: SecretValue,
  type: ValueTypeName,
  path: ValuePath,
  context: EncryptionContext,
): string {
  const plaintext = encodeValue(value, type);
  let okm: Bytes | undefined;
  try {
    const salt = randomBytes(SALT_LENGTH);
    const iv = randomBytes(IV_LENGTH);
    okm = deriveKeys(dataKey, salt);
    const commitment = okm.slice(32);
    const refs: readonly DataKeyRef[] = Array.isArray(ref) ? ref : [ref as DataKeyRef];
    const first = refs[0]!;
    const header = encodeHeader({
      slots: refs.map((r) => ({ providerId: r.providerId, keyId: r.keyId, wrappedDek: r.wrapped })),
      valueType: type,
      providerId: first.providerId,
      keyId: first.keyId,
      wrappedDek: first.wrapped as Bytes,
      salt,
      iv,
      commitment,
    });
    const additionalData = buildAad(
      boundHeader({ valueType: type, salt, iv, commitment }),
      path,
      context,
    );
    const ct = aesGcmEncrypt(okm.subarray(0, 32), iv, additionalData, plaintext);
    return encodeBlob(header, ct);
  } finally {
    okm?.fill(0);
    plaintext.fill(0);
  }
}

function authFailed(): SealfigError {
  return new SealfigError(
    "BLOB_AUTH_FAILED",
    "Cannot decrypt value: authentication failed",
    {
      hint:
        "The value was altered, moved to another path or a file with another context, or sealed under another data key; restore it from git or set it again",
    },
  );
}

/** Open one parsed blob with its data key. Throws `BLOB_AUTH_FAILED` or `BLOB_MALFORMED`. */
export function openWithDataKey(
  blob: ParsedBlob,
  dataKey: DataKey,
  path: ValuePath,
  context: EncryptionContext,
): SecretValue {
  const okm = deriveKeys(dataKey, blob.salt);
  let plaintext: Uint8Array | undefined;
  try {
    if (!timingSafeEqual(okm.subarray(32), blob.commitment)) throw authFailed();
    const additionalData = buildAad(blob.boundHeader, path, context);
    plaintext = aesGcmDecrypt(okm.subarray(0, 32), blob.iv, additionalData, blob.ciphertext);
  } finally {
    okm.fill(0);
  }
  if (plaintext === undefined) throw authFailed();
  try {
    const value = decodeValue(plaintext, blob.valueType);
    if (value === undefined) {
      throw new SealfigError(
        "BLOB_MALFORMED",
        `Sealed value does not hold a valid ${blob.valueType}`,
        { hint: "The value was sealed by a faulty tool; set it again" },
      );
    }
    return value;
  } finally {
    plaintext.fill(0);
  }
}
