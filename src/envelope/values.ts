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
import { toBase64Url } from "../crypto/bytes.ts";
import { type KeySlot, parseBlob, type ParsedBlob, type ValueTypeName } from "./format.ts";
import type { KeyAllowlist } from "../keys/allowlist.ts";
import { type DataKeyRef, openWithDataKey, sealWithDataKey } from "./seal.ts";
import { inferValueType, type SecretValue } from "./value_codec.ts";
import { fixedContext, requireContextObject } from "./aad.ts";

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
  /**
   * More keys, in order: every new data key is also wrapped under each (several-key blobs,
   * docs/format.md §11). Default none.
   */
  additionalKeys?: readonly SealingKey[];
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
    ...(options.additionalKeys ? { additionalKeys: options.additionalKeys } : {}),
    maxValuesPerDek: 1,
    ...(options.context ? { context: options.context } : {}),
  });
  try {
    return await sealer.seal(value, options.path, options.type);
  } finally {
    sealer.dispose();
  }
}

/** A key to seal for: its provider and key id (local key id, KMS key ARN or alias). */
export interface SealingKey {
  /** The provider of the key. */
  provider: KeyProvider;
  /** The key id, as the provider takes it. */
  keyId: string;
}

/** Options for {@link Sealer}. */
export interface SealerOptions {
  /** The provider that wraps data keys. */
  provider: KeyProvider;
  /** The key-encryption key. */
  keyId: string;
  /**
   * More keys, in order, each of which alone can open what is sealed (docs/format.md §11): every
   * data key is also wrapped under each of them (`wrapDataKey`, one call per key per data key),
   * and the blobs are v2. Default none (v1 blobs).
   */
  additionalKeys?: readonly SealingKey[];
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
  readonly #more: readonly SealingKey[];
  readonly #context: EncryptionContext;
  readonly #max: number;
  #current: Promise<{ key: DataKey; ref: DataKeyRef[] }> | undefined;
  #used = 0;
  #all: Promise<{ key: DataKey; ref: DataKeyRef[] }>[] = [];
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
    this.#more = options.additionalKeys ?? [];
    this.#context = fixedContext(options.context ?? {});
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
    let dataKey: { key: DataKey; ref: DataKeyRef[] };
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

  async #generate(): Promise<{ key: DataKey; ref: DataKeyRef[] }> {
    const generated = await this.#provider.generateDataKey(this.#keyId, this.#context);
    const refs: DataKeyRef[] = [
      { providerId: this.#provider.id, keyId: generated.keyId, wrapped: generated.wrapped },
    ];
    try {
      refs.push(...await wrapForKeys(generated.plaintext, this.#more, this.#context));
    } catch (err) {
      generated.plaintext.fill(0);
      throw err;
    }
    const key = await DataKey.fromBytes(generated.plaintext);
    return { key, ref: refs };
  }

  /** Zero every data key this sealer generated. */
  dispose(): void {
    for (const p of this.#all) p.then(({ key }) => key.destroy(), () => {});
    this.#all = [];
    this.#current = undefined;
  }
}

/**
 * Wrap a data key held in plaintext under each of `keys` (`wrapDataKey`), in order: the extra key
 * slots of a several-key blob. The caller keeps (and zeroes) `plaintext`. Throws `OPTION_INVALID`
 * for a provider that cannot wrap an existing data key.
 */
export async function wrapForKeys(
  plaintext: Uint8Array,
  keys: readonly SealingKey[],
  context: EncryptionContext,
): Promise<DataKeyRef[]> {
  const out: DataKeyRef[] = [];
  for (const k of keys) {
    if (!k.provider.wrapDataKey) {
      throw new SealfigError(
        "OPTION_INVALID",
        `Provider "${k.provider.id}" cannot wrap a data key for an additional key`,
        {
          keyId: k.keyId,
          hint: "List this key first in the rule's keys, or use a provider with wrapDataKey",
        },
      );
    }
    const w = await k.provider.wrapDataKey(k.keyId, plaintext, context);
    out.push({ providerId: k.provider.id, keyId: w.keyId, wrapped: w.wrapped });
  }
  return out;
}

/** Options for {@link decryptValue}. */
export interface DecryptValueOptions {
  /** Providers to open data keys with, matched by the provider id in the blob. */
  providers: readonly KeyProvider[];
  /** The value's path in its document (must be the path it was sealed at). */
  path: string | ValuePath;
  /**
   * The file's encryption context (must be the one it was sealed with). Default `{}`. A frozen
   * object (`Object.freeze`) is encoded once for all the values opened with it, as the loader's
   * are; any other is encoded on every call.
   */
  context?: EncryptionContext;
  /** Cache for data keys; without one every call asks the provider. */
  cache?: DekCache;
  /** The file the blob came from, for error messages. */
  file?: string;
  /** Only keys this allowlist trusts are tried (see {@link OpenDataKeyOptions.trust}). */
  trust?: KeyAllowlist;
  /** Counts key slots passed over (see {@link OpenDataKeyOptions.stats}). */
  stats?: { keyFallThroughs: number };
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
  const cache = options.cache;
  try {
    const context = options.context ?? {};
    requireContextObject(context);
    // The common case (one key, trusted by name, its data key cached): no await on the way.
    if (cache && parsed.slots.length <= 1 && (!options.trust || options.trust.trustedNow(parsed))) {
      const provider = options.providers.find((p) => p.id === parsed.providerId);
      const key = provider && cache.peek(cacheId(parsed, provider, context));
      if (key) return openWithDataKey(parsed, key, toSegments(options.path), context);
    }
  } catch (err) {
    throw located(err, options);
  }
  try {
    const segments = toSegments(options.path);
    const key = await openDataKey(parsed, options.providers, options.context ?? {}, options.cache, {
      ...(options.trust ? { trust: options.trust } : {}),
      ...(options.stats ? { stats: options.stats } : {}),
    });
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

/** Options for {@link openDataKey} beyond the providers, context and cache. */
export interface OpenDataKeyOptions {
  /**
   * Only keys this allowlist trusts are tried (no provider call for the others). Without it every
   * key is tried (the caller has checked trust, or its providers are guarded).
   */
  trust?: KeyAllowlist;
  /**
   * Counts the keys passed over before the one that opened (several-key blobs): once per data key
   * and key, however many values share that data key.
   */
  stats?: { keyFallThroughs: number };
}

/**
 * Find the blob's provider and get its data key, through the cache when given. A several-key blob
 * (docs/format.md §11) tries its keys in order: first any whose data key is cached, then each
 * usable key (trusted, provider configured), falling through on failure. Throws the key's own
 * error for a one-key blob; `KEY_UNTRUSTED` when no key is trusted; `KEYS_UNAVAILABLE`, naming
 * every key tried and its error code, when none opened.
 */
export async function openDataKey(
  parsed: KeySlot & { readonly slots?: readonly KeySlot[] },
  providers: readonly KeyProvider[],
  context: EncryptionContext,
  cache: DekCache | undefined,
  options: OpenDataKeyOptions = {},
): Promise<DataKey> {
  const slots: readonly KeySlot[] = parsed.slots ?? [parsed];
  if (slots.length <= 1) {
    const only = slots[0] ?? parsed;
    if (options.trust && !(await options.trust.isTrusted(only, providers))) {
      throw new SealfigError(
        "KEY_UNTRUSTED",
        `Sealed with key ${keyText(only)}, which is not trusted`,
        { keyId: only.keyId, hint: `Trusted: ${options.trust.describe()}` },
      );
    }
    return await openSlot(only, providers, context, cache);
  }
  const usable: { slot: KeySlot; provider: KeyProvider }[] = [];
  const skipped: { slot: KeySlot; code: string }[] = [];
  let trusted = 0;
  for (const slot of slots) {
    if (options.trust && !(await options.trust.isTrusted(slot, providers))) {
      skipped.push({ slot, code: "KEY_UNTRUSTED" });
      continue;
    }
    trusted++;
    const provider = providers.find((p) => p.id === slot.providerId);
    if (!provider) skipped.push({ slot, code: "PROVIDER_UNKNOWN" });
    else usable.push({ slot, provider });
  }
  if (trusted === 0) {
    throw new SealfigError(
      "KEY_UNTRUSTED",
      `Sealed with keys ${slots.map(keyText).join(", ")}, none of which is trusted`,
      {
        keyId: slots[0]!.keyId,
        hint: `Trusted: ${options.trust!.describe()}. If one of the keys is yours, name it in ` +
          "the rules or the loader's trustedKeys option",
      },
    );
  }
  if (cache) {
    for (const { slot, provider } of usable) {
      const hit = cache.peek(cacheId(slot, provider, context));
      if (hit) return hit;
    }
  }
  const failed: { slot: KeySlot; code: string; reason?: string; hint?: string }[] = [];
  for (const { slot, provider } of usable) {
    try {
      const key = await openSlot(slot, [provider], context, cache);
      // Every slot before this one was passed over (untrusted, no provider, or failed): counted
      // once per data key and key, however many values (or concurrent opens) share the data key.
      if (options.stats) {
        let seen = passedOver.get(options.stats);
        if (!seen) passedOver.set(options.stats, seen = new Set());
        for (const before of slots.slice(0, slots.indexOf(slot))) {
          const id = `${before.providerId}\u0000${before.keyId}\u0000${
            toBase64Url(before.wrappedDek)
          }`;
          if (!seen.has(id)) {
            seen.add(id);
            options.stats.keyFallThroughs++;
          }
        }
      }
      return key;
    } catch (err) {
      failed.push(
        isSealfigError(err)
          ? {
            slot,
            code: err.code,
            reason: err.file && !err.reason.includes(err.file)
              ? `${err.file}: ${err.reason}`
              : err.reason,
            ...(err.hint ? { hint: err.hint } : {}),
          }
          : { slot, code: "PROVIDER_FAILED" },
      );
    }
  }
  const tried = [...failed, ...skipped];
  throw new SealfigError(
    "KEYS_UNAVAILABLE",
    `None of the value's ${slots.length} keys could open it: ${
      tried.map((t) => `${keyText(t.slot)} (${t.code})`).join(", ")
    }`,
    {
      keyId: slots[0]!.keyId,
      hint: unavailableHint(slots, failed, skipped),
      cause: new KeysUnavailable(failed.map((f) => f.code)),
    },
  );
}

/**
 * The hint of a `KEYS_UNAVAILABLE` error: each tried key's own hint (deduplicated), then advice
 * built from the kinds of keys in the list and why each was passed over.
 */
function unavailableHint(
  slots: readonly KeySlot[],
  failed: readonly { slot: KeySlot; code: string; reason?: string; hint?: string }[],
  skipped: readonly { slot: KeySlot; code: string }[],
): string {
  const parts: string[] = [];
  // Each tried key's own reason and advice (a key file's mode, a bad identity line), once each.
  for (const f of failed) {
    const own = [f.reason, f.hint].filter(Boolean).join(": ");
    if (own && !parts.includes(own)) parts.push(own);
  }
  const untrusted = skipped.filter((s) => s.code === "KEY_UNTRUSTED").map((s) => keyText(s.slot));
  if (untrusted.length > 0) {
    parts.push(
      `Not trusted here: ${untrusted.join(", ")}; if ${
        untrusted.length > 1 ? "one is" : "it is"
      } yours, add it to the rule's keys or trusted_keys in .sealfig.yaml (or the loader's ` +
        "trustedKeys option)",
    );
  }
  const kinds = new Set(slots.map((s) => s.providerId));
  const ways: string[] = [];
  if (kinds.has("local")) ways.push("a local key in the key file or SEALFIG_KEY");
  if (kinds.has("age")) ways.push("an age identity in SEALFIG_AGE_KEY or SEALFIG_AGE_KEY_FILE");
  if (kinds.has("aws-kms")) ways.push("credentials that may decrypt with one of the KMS keys");
  for (const k of kinds) {
    if (k !== "local" && k !== "age" && k !== "aws-kms") ways.push(`a "${k}" key provider`);
  }
  parts.push(
    `Or give this process one of these keys: ${ways.join(", or ")} (docs/keys.md, several keys)`,
  );
  return parts.join(". ");
}

/**
 * The cause of a `KEYS_UNAVAILABLE` error: the codes of the keys that were tried (called) and
 * failed, in order (no key material, no values).
 */
export class KeysUnavailable extends Error {
  /** The error code of each key tried, in order. */
  readonly codes: readonly string[];
  /** @param codes the error code of each key tried */
  constructor(codes: readonly string[]) {
    super(`keys tried: ${codes.join(", ") || "none"}`);
    this.name = "KeysUnavailable";
    this.codes = codes;
  }
}

/** The (data key, key) pairs already counted as passed over, per stats object. */
const passedOver = new WeakMap<object, Set<string>>();

function keyText(k: { providerId: string; keyId: string }): string {
  return k.providerId === "aws-kms" && k.keyId.startsWith("arn:")
    ? k.keyId
    : `${k.providerId}:${k.keyId}`;
}

function cacheId(slot: KeySlot, provider: KeyProvider, context: EncryptionContext) {
  return {
    providerId: provider.id,
    keyId: slot.keyId,
    wrapped: slot.wrappedDek,
    context,
    scope: underlyingProvider(provider),
  };
}

/** One key slot's data key, through the cache when given. */
async function openSlot(
  slot: KeySlot,
  providers: readonly KeyProvider[],
  context: EncryptionContext,
  cache: DekCache | undefined,
): Promise<DataKey> {
  const provider = providers.find((p) => p.id === slot.providerId);
  if (!provider) {
    throw new SealfigError(
      "PROVIDER_UNKNOWN",
      `Value is sealed with provider "${slot.providerId}", which is not configured`,
      {
        keyId: slot.keyId,
        hint: `Configured providers: ${providers.map((p) => p.id).join(", ") || "none"}`,
      },
    );
  }
  const load = () => provider.decryptDataKey(slot.keyId, slot.wrappedDek, context);
  if (cache) return cache.get(cacheId(slot, provider, context), load);
  return DataKey.fromBytes(await load());
}
