/**
 * The one interface for anything that wraps data keys (DEKs) under a key-encryption key (KEK).
 *
 * The envelope layer, the cache, the loader and the CLI talk to providers only through this
 * interface; none of them knows which provider it is talking to. A provider is identified by a
 * short ASCII id (`local`, `aws-kms`) that is recorded in every blob.
 *
 * @module
 */

/**
 * Non-secret key/value pairs bound to a data key and to every value sealed with it
 * (e.g. `{ app: "shop", env: "prod" }`). KMS logs it in CloudTrail: never put secrets in it.
 */
export type EncryptionContext = Readonly<Record<string, string>>;

/** A freshly generated data key: the plaintext (zero it when done) and its wrapped form. */
export interface GeneratedDataKey {
  /** The plaintext DEK, 32 bytes. The caller owns it and must zero it (`fill(0)`) when done. */
  plaintext: Uint8Array;
  /** The DEK wrapped under the KEK; safe to store. */
  wrapped: Uint8Array;
  /**
   * The canonical id of the KEK that wrapped it, to record in blobs (for KMS: the full key ARN,
   * even when the request named an alias).
   */
  keyId: string;
}

/** A re-wrapped data key. */
export interface RewrappedDataKey {
  /** The same DEK wrapped under the new KEK. */
  wrapped: Uint8Array;
  /** The canonical id of the new KEK. */
  keyId: string;
}

/** Per-call options a provider may honour. */
export interface ProviderCallOptions {
  /** Abort the call (for deadlines). */
  signal?: AbortSignal;
  /**
   * The caller's overall deadline (a time as from `Date.now()`), e.g. the startup deadline a load
   * gives all its calls. The KMS provider retries throttling until it, without counting throttled
   * attempts against `maxAttempts` (docs/kms.md, "Deadlines"). Default: none (per-call budget).
   */
  deadline?: number;
}

/**
 * Wraps and unwraps data keys. Implemented by {@link LocalKeyProvider} and the AWS KMS provider.
 *
 * Errors are {@link SealfigError}s naming the key id and what to do, never key material.
 */
export interface KeyProvider {
  /** Short ASCII id recorded in blobs, e.g. `local` or `aws-kms` (1-32 chars of `[a-z0-9-]`). */
  readonly id: string;
  /** Generate a new 256-bit data key wrapped under `keyId`, bound to `context`. */
  generateDataKey(
    keyId: string,
    context: EncryptionContext,
    options?: ProviderCallOptions,
  ): Promise<GeneratedDataKey>;
  /** Unwrap a data key that was wrapped under `keyId` with the same `context`. */
  decryptDataKey(
    keyId: string,
    wrapped: Uint8Array,
    context: EncryptionContext,
    options?: ProviderCallOptions,
  ): Promise<Uint8Array>;
  /**
   * Wrap a data key this process already holds (`plaintext`, 32 bytes; the caller keeps ownership
   * and zeroes it) under another KEK `keyId`, bound to `context`: what seals a value under several
   * keys (docs/format.md §11). Needs only the right to wrap under `keyId`, never to unwrap
   * (KMS `Encrypt`; an age recipient). Returns the wrapped key and the KEK's canonical id (for KMS
   * the key ARN, even when `keyId` is an alias). Optional: a provider without it can only be the
   * first key of a rule (which generates the data key).
   */
  wrapDataKey?(
    keyId: string,
    plaintext: Uint8Array,
    context: EncryptionContext,
    options?: ProviderCallOptions,
  ): Promise<RewrappedDataKey>;
  /**
   * Re-wrap a data key under another KEK of the same provider without exposing it to the caller
   * where the provider allows (KMS ReEncrypt). Optional.
   */
  rewrapDataKey?(
    keyId: string,
    wrapped: Uint8Array,
    context: EncryptionContext,
    toKeyId: string,
    options?: ProviderCallOptions,
  ): Promise<RewrappedDataKey>;
  /**
   * The canonical id (as recorded in blobs) of a key reference such as an alias, so a key
   * allowlist naming `alias/app` can be compared with the key ARNs blobs record. Optional: without
   * it, references are compared as written. The KMS provider asks `DescribeKey` once per reference.
   */
  resolveKeyId?(keyId: string, options?: ProviderCallOptions): Promise<string>;
  /**
   * The ids of the keys this provider holds (the local provider: its key file and
   * `SEALFIG_KEY`). Optional. A key allowlist that trusts "the local keys you hold" trusts
   * exactly these: a provider without `keyIds` makes it trust none (fail closed).
   */
  keyIds?(): Promise<string[]>;

  /**
   * Get ready to call the provider about `keyId` (load libraries, create clients, resolve
   * credentials) without calling it. Optional; the loader calls it, without waiting, as soon as a
   * file holds a blob of this provider. Must never reject.
   */
  prepare?(keyId: string): Promise<void>;
}
