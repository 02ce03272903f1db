/**
 * The value-level API: seal one value ({@link encryptValue}), many values under shared data keys
 * ({@link Sealer}), and open a blob ({@link decryptValue}) through the providers and the cache.
 *
 * @module
 */
import { underlyingProvider } from "../keys/call_deadline.ts";
import { isSealfigError, SealfigError } from "../errors.ts";
import { DataKey } from "../crypto/data_key.ts";
import type { DekCache } from "../cache/dek_cache.ts";
import type { EncryptionContext, KeyProvider } from "../keys/key_provider.ts";
import { formatPath, toSegments, type ValuePath } from "../path.ts";
import { parseBlob, type ParsedBlob, type ValueTypeName } from "./format.ts";
import { type DataKeyRef, openWithDataKey, sealWithDataKey } from "./seal.ts";
import { inferValueType, type SecretValue } from "./value_codec.ts";

/** Options for {@link encryptValue}. */
export interface EncryptValueOptions {
  /** The provider that wraps the new data key. */
  provider: KeyProvider;
  /** The key-encryption key to wrap under (local key id, KMS key ARN or alias). */
  keyId: string;
  /** The value's path in its document, as text (`db.password`) or segments. */
  path: string | ValuePath;
  /** The file's encryption context. Default `{}`. */
  context?: EncryptionContext;
  /** Seal as this type instead of the value's natural type (e.g. `float` for `1`). */
  type?: ValueTypeName;
}

/**
 * Seal one value under a new data key. For many values, use a {@link Sealer}, which shares data
 * keys and so makes fewer provider calls.
 *
 * @example
 * ```ts
 * import { LocalKeyProvider } from "@sealfig/sealfig";
 * import { encryptValue } from "@sealfig/sealfig/document";
 * const { id, key } = await LocalKeyProvider.generateKey();
 * const blob = await encryptValue("hunter2", {
 *   provider: new LocalKeyProvider({ keys: [key] }),
 *   keyId: id,
 *   path: "db.password",
 *   context: { app: "shop", env: "prod" },
 * });
 * blob.startsWith("sealfig:v1:"); // true
 * ```
 */
export async function encryptValue(
  value: SecretValue,
  options: EncryptValueOptions,
): Promise<string> {
  const sealer = new Sealer({
    provider: options.provider,
    keyId: options.keyId,
    maxValuesPerDek: 1,
    ...(options.context ? { context: options.context } : {}),
  });
  try {
    return await sealer.seal(value, options.path, options.type);
  } finally {
    sealer.dispose();
  }
}

/** Options for {@link Sealer}. */
export interface SealerOptions {
  /** The provider that wraps data keys. */
  provider: KeyProvider;
  /** The key-encryption key. */
  keyId: string;
  /** The file's encryption context, bound to every value. Default `{}`. */
  context?: EncryptionContext;
  /**
   * How many values share one data key before a new one is generated. Default
   * {@link DEFAULT_MAX_VALUES_PER_DEK}; `1` gives one data key per value.
   */
  maxValuesPerDek?: number;
}

/** Default bound on values sealed under one data key: 256. */
export const DEFAULT_MAX_VALUES_PER_DEK = 256;

/**
 * Seals many values of one file, sharing each data key across up to `maxValuesPerDek` values
 * (every value still gets its own HKDF-derived key and IV). Call {@link Sealer.dispose} when done
 * to zero the data key.
 *
 * @example
 * ```ts
 * import { LocalKeyProvider } from "@sealfig/sealfig";
 * import { Sealer } from "@sealfig/sealfig/document";
 * const { id, key } = await LocalKeyProvider.generateKey();
 * const sealer = new Sealer({ provider: new LocalKeyProvider({ keys: [key] }), keyId: id });
 * const a = await sealer.seal("one", "a");
 * const b = await sealer.seal("two", "b"); // same data key, one provider call in all
 * sealer.dispose();
 * ```
 */
export class Sealer {
  readonly #provider: KeyProvider;
  readonly #keyId: string;
  readonly #context: EncryptionContext;
  readonly #max: number;
  #current: Promise<{ key: DataKey; ref: DataKeyRef }> | undefined;
  #used = 0;
  #all: Promise<{ key: DataKey; ref: DataKeyRef }>[] = [];
  #dataKeys = 0;

  /**
   * Create a sealer. No data key is generated until the first value is sealed.
   *
   * @param options provider, key and DEK policy; see {@link SealerOptions}.
   */
  constructor(options: SealerOptions) {
    const max = options.maxValuesPerDek ?? DEFAULT_MAX_VALUES_PER_DEK;
    if (!Number.isInteger(max) || max < 1) {
      throw new SealfigError("OPTION_INVALID", "maxValuesPerDek must be a positive integer");
    }
    this.#provider = options.provider;
    this.#keyId = options.keyId;
    this.#context = options.context ?? {};
    this.#max = max;
  }

  /** Number of data keys generated so far (= provider calls). */
  get dataKeysGenerated(): number {
    return this.#dataKeys;
  }

  /** Seal one value at `path`. `type` overrides the natural type. */
  async seal(value: SecretValue, path: string | ValuePath, type?: ValueTypeName): Promise<string> {
    const segments = toSegments(path);
    const valueType = type ?? inferValueType(value);
    if (!this.#current || this.#used >= this.#max) {
      this.#used = 0;
      this.#dataKeys++;
      this.#current = this.#generate();
      this.#all.push(this.#current);
      // A failed generation is not reused by the next value.
      const failed = this.#current;
      failed.catch(() => {
        if (this.#current === failed) this.#current = undefined;
      });
    }
    this.#used++;
    const where = { path: formatPath(segments) };
    let dataKey: { key: DataKey; ref: DataKeyRef };
    try {
      dataKey = await this.#current;
    } catch (err) {
      // A provider failure (generating the data key) names the value too.
      if (isSealfigError(err)) throw err.withLocation(where);
      throw new SealfigError("PROVIDER_FAILED", "Cannot seal value: the key provider failed", {
        ...where,
        cause: err,
      });
    }
    try {
      return sealWithDataKey(
        dataKey.key,
        dataKey.ref,
        value,
        valueType,
        segments,
        this.#context,
      );
    } catch (err) {
      throw isSealfigError(err) ? err.withLocation(where) : err;
    }
  }

  async #generate(): Promise<{ key: DataKey; ref: DataKeyRef }> {
    const generated = await this.#provider.generateDataKey(this.#keyId, this.#context);
    const key = await DataKey.fromBytes(generated.plaintext);
    return {
      key,
      ref: { providerId: this.#provider.id, keyId: generated.keyId, wrapped: generated.wrapped },
    };
  }

  /** Zero every data key this sealer generated. */
  dispose(): void {
    for (const p of this.#all) p.then(({ key }) => key.destroy(), () => {});
    this.#all = [];
    this.#current = undefined;
  }
}

/** Options for {@link decryptValue}. */
export interface DecryptValueOptions {
  /** Providers to open data keys with, matched by the provider id in the blob. */
  providers: readonly KeyProvider[];
  /** The value's path in its document (must be the path it was sealed at). */
  path: string | ValuePath;
  /** The file's encryption context (must be the one it was sealed with). Default `{}`. */
  context?: EncryptionContext;
  /** Cache for data keys; without one every call asks the provider. */
  cache?: DekCache;
  /** The file the blob came from, for error messages. */
  file?: string;
}

/**
 * Decrypt a blob to its typed value. Throws a {@link SealfigError} (`BLOB_MALFORMED`,
 * `BLOB_UNSUPPORTED`, `BLOB_AUTH_FAILED`, `PROVIDER_UNKNOWN`, provider errors) that names the
 * path and file, never the value.
 *
 * @example
 * ```ts
 * import { LocalKeyProvider } from "@sealfig/sealfig";
 * import { decryptValue, DekCache, encryptValue } from "@sealfig/sealfig/document";
 * const { id, key } = await LocalKeyProvider.generateKey();
 * const provider = new LocalKeyProvider({ keys: [key] });
 * const blob = await encryptValue(42, { provider, keyId: id, path: "port" });
 * await decryptValue(blob, { providers: [provider], path: "port", cache: new DekCache() }); // 42
 * ```
 */
export async function decryptValue(
  blob: string,
  options: DecryptValueOptions,
): Promise<SecretValue> {
  let parsed: ParsedBlob;
  try {
    parsed = parseBlob(blob);
  } catch (err) {
    throw located(err, options);
  }
  return await decryptParsed(parsed, options);
}

/**
 * {@link decryptValue} for a blob already parsed with `parseBlob` (the loader parses each blob
 * once, for its key check, and opens it with this).
 */
export async function decryptParsed(
  parsed: ParsedBlob,
  options: DecryptValueOptions,
): Promise<SecretValue> {
  try {
    const segments = toSegments(options.path);
    const key = await openDataKey(parsed, options.providers, options.context ?? {}, options.cache);
    try {
      return openWithDataKey(parsed, key, segments, options.context ?? {});
    } finally {
      if (!options.cache) key.destroy();
    }
  } catch (err) {
    throw located(err, options);
  }
}

/** An error of opening a value, with its path and file; any other error becomes PROVIDER_FAILED. */
function located(err: unknown, options: DecryptValueOptions): SealfigError {
  const location = {
    path: formatPath(toSegments(options.path)),
    ...(options.file ? { file: options.file } : {}),
  };
  if (isSealfigError(err)) return err.withLocation(location);
  return new SealfigError("PROVIDER_FAILED", "Cannot decrypt value: the key provider failed", {
    ...location,
    cause: err,
  });
}

/** Find the blob's provider and get its data key, through the cache when given. */
export async function openDataKey(
  parsed: ParsedBlob,
  providers: readonly KeyProvider[],
  context: EncryptionContext,
  cache: DekCache | undefined,
): Promise<DataKey> {
  const provider = providers.find((p) => p.id === parsed.providerId);
  if (!provider) {
    throw new SealfigError(
      "PROVIDER_UNKNOWN",
      `Value is sealed with provider "${parsed.providerId}", which is not configured`,
      {
        keyId: parsed.keyId,
        hint: `Configured providers: ${providers.map((p) => p.id).join(", ") || "none"}`,
      },
    );
  }
  const load = () => provider.decryptDataKey(parsed.keyId, parsed.wrappedDek, context);
  if (cache) {
    return cache.get(
      {
        providerId: provider.id,
        keyId: parsed.keyId,
        wrapped: parsed.wrappedDek,
        context,
        scope: underlyingProvider(provider),
      },
      load,
    );
  }
  return DataKey.fromBytes(await load());
}
