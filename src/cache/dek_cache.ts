/**
 * A bounded in-memory cache of unwrapped data keys, in front of the key providers.
 *
 * - bounded by entry count (LRU eviction), age (TTL) and optionally uses per entry;
 * - expired entries are dropped and zeroed on every access, and by an unref'd timer when the
 *   oldest one expires (it never keeps a process alive), so key bytes do not outlive their TTL
 *   in an idle process;
 * - concurrent requests for the same wrapped key share one provider call; a failed call is not
 *   cached and every waiter gets its error;
 * - `clear()` wins over loads in flight: what they bring back is handed to their waiters and
 *   zeroed, never cached, and later requests start a new call;
 * - an evicted, expired or cleared entry's plaintext key bytes are zeroed (`fill(0)`).
 *
 * Entries are keyed by the canonical, length-prefixed encoding of (provider instance, provider
 * id, key id, wrapped DEK, encryption context). None of these is secret, and an unambiguous
 * encoding cannot collide, so no hashing step is needed on the hot path. The provider instance
 * (`scope`) keeps one provider from being handed what another one (other credentials, other
 * key file) unwrapped.
 *
 * @module
 */
import { DataKey } from "../crypto/data_key.ts";
import { contextKey } from "../envelope/aad.ts";
import { byteString } from "../crypto/bytes.ts";
import type { EncryptionContext } from "../keys/key_provider.ts";
import { unrefTimeout } from "../runtime.ts";

/** What identifies a wrapped data key. */
export interface DekCacheKey {
  /** Provider id. */
  providerId: string;
  /** KEK id as recorded in the blob. */
  keyId: string;
  /** The wrapped DEK. */
  wrapped: Uint8Array;
  /** The encryption context it was wrapped with. */
  context: EncryptionContext;
  /**
   * The provider instance that unwraps it: entries loaded through one instance are never handed
   * to another (whose credentials may be denied). Omitted: shared by every instance.
   */
  scope?: object;
}

/** Default capacity of a {@link DekCache}: 4096 data keys. */
export const DEFAULT_MAX_ENTRIES = 4096;

/** Options for {@link DekCache}. */
export interface DekCacheOptions {
  /**
   * Maximum number of cached keys. Default 4096: room for every data key of a 4,000-value config
   * sealed one key per value (plus its integrity keys), so a reload makes no provider call. An
   * entry costs about 6 KiB on Node 20 (KMS-sized wrapped key, key handle, cache key), so a full
   * default cache holds about 24 MiB; memory grows only with the keys actually cached.
   */
  maxEntries?: number;
  /** Maximum age of an entry in ms. Default 300000 (5 minutes). */
  ttlMs?: number;
  /** Maximum number of times one entry is handed out before it is dropped. Default unlimited. */
  maxUses?: number;
  /** Clock in ms, injectable for tests. Default `Date.now`. */
  now?: () => number;
  /**
   * Drop expired entries with a timer when the oldest one expires (unref'd: it never keeps a
   * process alive), not only when the cache is next used. Default true.
   */
  expiryTimer?: boolean;
}

/** Counters of a {@link DekCache}, for tests, benchmarks and logs. */
export interface DekCacheStats {
  /** Requests answered from the cache (including those that joined an in-flight call). */
  hits: number;
  /** Requests that started a provider call. */
  misses: number;
  /** Provider calls made (successful or not). */
  providerCalls: number;
  /** Requests that waited on another request's in-flight provider call. */
  inflightJoins: number;
  /** Entries dropped by LRU, TTL, max uses or clear(). */
  evictions: number;
  /** Entries currently held. */
  size: number;
}

interface Entry {
  key: DataKey;
  expiresAt: number;
  uses: number;
}

/**
 * A bounded, TTL'd, LRU cache of data keys with in-flight de-duplication.
 *
 * @example
 * ```ts
 * import { DekCache } from "@sealfig/sealfig/document";
 * const cache = new DekCache({ maxEntries: 100, ttlMs: 60_000 });
 * // pass { cache } to decryptValue / loadConfig; later:
 * console.log(cache.stats().providerCalls);
 * cache.clear(); // zeroes every cached key
 * ```
 */
export class DekCache {
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #maxUses: number;
  readonly #now: () => number;
  readonly #expiryTimer: boolean;
  // Map iteration order is insertion order: re-inserting on use makes it an LRU list.
  readonly #entries = new Map<string, Entry>();
  // The same entries in insertion order, which is expiry order (the TTL is the same for all).
  readonly #byAge = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<DataKey>>();
  #generation = 0;
  #cancelTimer: (() => void) | undefined;
  #stats = { hits: 0, misses: 0, providerCalls: 0, inflightJoins: 0, evictions: 0 };

  /**
   * Create an empty cache.
   *
   * @param options bounds and clock; see {@link DekCacheOptions} for defaults.
   */
  constructor(options: DekCacheOptions = {}) {
    this.#maxEntries = positive(options.maxEntries ?? DEFAULT_MAX_ENTRIES, "maxEntries");
    this.#ttlMs = positive(options.ttlMs ?? 300_000, "ttlMs");
    this.#maxUses = positive(options.maxUses ?? Infinity, "maxUses");
    this.#now = options.now ?? Date.now;
    this.#expiryTimer = options.expiryTimer ?? true;
  }

  /**
   * The data key for `id`: from the cache, from an in-flight call for the same id, or by calling
   * `load` (the provider) once. `load` must return fresh plaintext bytes the cache may own.
   */
  get(id: DekCacheKey, load: () => Promise<Uint8Array>): Promise<DataKey> {
    this.#sweep();
    const k = cacheKey(id);
    if (this.#entries.has(k)) {
      // Hands out this last use and drops it when it reaches maxUses: zeroing the raw bytes
      // leaves the holder's key handle working.
      return Promise.resolve(this.#get(k));
    }
    const pending = this.#inflight.get(k);
    if (pending) {
      this.#stats.hits++;
      this.#stats.inflightJoins++;
      return pending;
    }
    this.#stats.misses++;
    this.#stats.providerCalls++;
    const generation = this.#generation;
    const p = (async () => {
      const key = await DataKey.fromBytes(await load());
      if (generation === this.#generation) this.#insert(k, key);
      else {
        // clear() ran while this call was out: hand the key to its waiters, keep nothing.
        this.#stats.evictions++;
        key.destroy();
      }
      return key;
    })();
    this.#inflight.set(k, p);
    const done = () => {
      if (this.#inflight.get(k) === p) this.#inflight.delete(k);
    };
    p.then(done, done);
    return p;
  }

  /**
   * The cached data key for `id`, or undefined: never calls a provider, never starts a load (a
   * hit counts like one of {@link DekCache.get}). A several-key blob asks this for each of its
   * keys first, so a file whose first key is unusable here makes one failing call, not one per
   * value.
   */
  peek(id: DekCacheKey): DataKey | undefined {
    this.#sweep();
    const k = cacheKey(id);
    if (!this.#entries.has(k)) return undefined;
    return this.#get(k);
  }

  #get(k: string): DataKey {
    const entry = this.#entries.get(k)!;
    this.#stats.hits++;
    entry.uses++;
    this.#entries.delete(k);
    if (entry.uses >= this.#maxUses) {
      this.#stats.evictions++;
      this.#byAge.delete(k);
      entry.key.destroy();
    } else {
      this.#entries.set(k, entry);
    }
    return entry.key;
  }

  #insert(k: string, key: DataKey): void {
    const old = this.#entries.get(k);
    if (old) this.#evict(k, old);
    if (this.#maxUses <= 1) {
      // Each entry may be used once: the request that loaded it (and any that joined it while in
      // flight) is that use.
      this.#stats.evictions++;
      key.destroy();
      return;
    }
    const entry = { key, expiresAt: this.#now() + this.#ttlMs, uses: 1 };
    this.#entries.set(k, entry);
    this.#byAge.set(k, entry);
    while (this.#entries.size > this.#maxEntries) {
      const [oldestKey, oldest] = this.#entries.entries().next().value as [string, Entry];
      this.#evict(oldestKey, oldest);
    }
    this.#schedule();
  }

  #evict(k: string, entry: Entry): void {
    this.#entries.delete(k);
    this.#byAge.delete(k);
    this.#stats.evictions++;
    entry.key.destroy();
  }

  /** Drop and zero every expired entry: the oldest first, stopping at the first live one. */
  #sweep(): void {
    if (this.#byAge.size === 0) return;
    const now = this.#now();
    for (const [k, e] of this.#byAge) {
      if (now < e.expiresAt) break;
      this.#evict(k, e);
    }
  }

  /** Arm the expiry timer for the oldest entry, unless one is armed or the cache is empty. */
  #schedule(): void {
    if (!this.#expiryTimer || this.#cancelTimer || this.#byAge.size === 0) return;
    const oldest = this.#byAge.values().next().value as Entry;
    const wait = Math.max(0, Math.min(oldest.expiresAt - this.#now(), 2 ** 31 - 1));
    this.#cancelTimer = unrefTimeout(() => {
      this.#cancelTimer = undefined;
      this.#sweep();
      this.#schedule();
    }, wait + 1);
  }

  /**
   * Drop every entry and zero its key bytes. Loads in flight are forgotten: what they bring back
   * goes to their waiters and is zeroed, never cached. Counters are kept.
   */
  clear(): void {
    this.#generation++;
    this.#inflight.clear();
    for (const [k, e] of [...this.#entries]) this.#evict(k, e);
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  /** Number of live entries (expired ones are dropped first). */
  get size(): number {
    this.#sweep();
    return this.#entries.size;
  }

  /** A snapshot of the counters (expired entries are dropped first). */
  stats(): DekCacheStats {
    this.#sweep();
    return { ...this.#stats, size: this.#entries.size };
  }

  /** Reset the counters to zero (entries stay). */
  resetStats(): void {
    this.#stats = { hits: 0, misses: 0, providerCalls: 0, inflightJoins: 0, evictions: 0 };
  }
}

function positive(n: number, name: string): number {
  if (!(n > 0)) throw new RangeError(`DekCache option ${name} must be > 0`);
  return n;
}

/** A number per provider instance (a scope), for cache keys; 0 is "no scope". */
const scopes = new WeakMap<object, number>();
let lastScope = 0;

/**
 * The map key for a wrapped DEK (not secret): every part length-prefixed, context entries sorted
 * by key bytes (the context's canonical encoding), the wrapped bytes as one character per byte.
 */
function cacheKey(id: DekCacheKey): string {
  let scope = 0;
  if (id.scope !== undefined) {
    scope = scopes.get(id.scope) ?? 0;
    if (scope === 0) scopes.set(id.scope, scope = ++lastScope);
  }
  const ctx = contextKey(id.context); // validates: throws OPTION_INVALID
  return `${scope}:${id.providerId.length}:${id.providerId}${id.keyId.length}:${id.keyId}${ctx.length}:${ctx}${
    byteString(id.wrapped)
  }`;
}
