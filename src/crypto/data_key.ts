/**
 * A plaintext data key (DEK) held as an opaque crypto-library key handle (HKDF input keying
 * material, see primitives.ts), plus the raw bytes the provider handed over, which
 * {@link DataKey.destroy} zeroes. Never printed: inspect and JSON show only `DataKey(<redacted>)`.
 *
 * @module
 */
import { importSecretKey, type SecretKeyHandle } from "./primitives.ts";

/** Length of every data key: 256 bits. */
export const DEK_LENGTH = 32;

const REDACTED = "DataKey(<redacted>)";

/** A data key ready for HKDF derivation. Create with {@link DataKey.fromBytes}. */
export class DataKey {
  #bytes: Uint8Array;
  #hkdf: SecretKeyHandle;
  #destroyed = false;

  private constructor(bytes: Uint8Array, hkdf: SecretKeyHandle) {
    this.#bytes = bytes;
    this.#hkdf = hkdf;
  }

  /**
   * Take ownership of `bytes` (the plaintext DEK) and import it as a key handle. The bytes are
   * zeroed by {@link destroy}; the caller must not zero or reuse them meanwhile.
   * Throws a `TypeError` when the length is not 32 bytes (the bytes are zeroed first).
   */
  static fromBytes(bytes: Uint8Array): Promise<DataKey> {
    if (bytes.length !== DEK_LENGTH) {
      bytes.fill(0);
      return Promise.reject(new TypeError(`A data key must be ${DEK_LENGTH} bytes`));
    }
    return Promise.resolve(new DataKey(bytes, importSecretKey(bytes)));
  }

  /** The key handle, HKDF input keying material (opaque: the bytes cannot be read back). */
  get hkdfKey(): SecretKeyHandle {
    return this.#hkdf;
  }

  /** True after {@link destroy}. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Zero the raw key bytes. The key handle stays usable by holders until garbage collected. */
  destroy(): void {
    this.#bytes.fill(0);
    this.#destroyed = true;
  }

  /** Never the key: always `DataKey(<redacted>)`. */
  toString(): string {
    return REDACTED;
  }

  /** Never the key: `JSON.stringify` gives `"DataKey(<redacted>)"`. */
  toJSON(): string {
    return REDACTED;
  }

  /** Node's `util.inspect` / `console.log` show `DataKey(<redacted>)`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }

  /** Deno's `Deno.inspect` / `console.log` show `DataKey(<redacted>)`. */
  [Symbol.for("Deno.customInspect")](): string {
    return REDACTED;
  }
}
