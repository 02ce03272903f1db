/**
 * The local KMS server's request-rate quota: a token bucket per account and region, shared by
 * the cryptographic operations, as AWS KMS's "cryptographic operations (symmetric) request rate"
 * quota is. A request that finds the bucket empty is answered `ThrottlingException` (and, as in
 * KMS, is not counted against the quota). This is what many instances starting at once meet in a
 * real deployment; `npm run bench`'s fleet scenario runs against it.
 *
 * @module
 */

/** The request-rate quota of {@link createKmsHandler}. */
export interface KmsQuota {
  /** Requests per second per account and region (the bucket's refill rate). */
  requestsPerSecond: number;
  /**
   * Requests the bucket holds when full (what a quiet account may send at once). Default: a tenth
   * of a second's worth, at least 1.
   */
  burst?: number;
  /**
   * Operations that share the quota. Default: the symmetric cryptographic operations (`Decrypt`,
   * `Encrypt`, `GenerateDataKey`, `GenerateDataKeyWithoutPlaintext`, `ReEncrypt`,
   * `GenerateRandom`); management calls such as `DescribeKey` are not limited.
   */
  operations?: readonly string[];
  /** Clock in ms, injectable for tests. Default `performance.now`. */
  now?: () => number;
}

/** The operations that share KMS's cryptographic request quota. */
export const CRYPTO_OPERATIONS: readonly string[] = [
  "Decrypt",
  "Encrypt",
  "GenerateDataKey",
  "GenerateDataKeyWithoutPlaintext",
  "ReEncrypt",
  "GenerateRandom",
];

/** Token buckets, one per account and region. */
export class RequestQuota {
  readonly #rate: number;
  readonly #burst: number;
  readonly #operations: ReadonlySet<string>;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(quota: KmsQuota) {
    if (!(quota.requestsPerSecond > 0) || !Number.isFinite(quota.requestsPerSecond)) {
      throw new TypeError("quota.requestsPerSecond must be a positive number");
    }
    this.#rate = quota.requestsPerSecond / 1000; // tokens per ms
    this.#burst = quota.burst ?? Math.max(1, quota.requestsPerSecond / 10);
    if (!(this.#burst >= 1) || !Number.isFinite(this.#burst)) {
      throw new TypeError("quota.burst must be a number >= 1");
    }
    this.#operations = new Set(quota.operations ?? CRYPTO_OPERATIONS);
    this.#now = quota.now ?? (() => performance.now());
  }

  /**
   * Take one token for `op` by `account` in `region`: true when the request may proceed, false
   * when it must be throttled. Operations outside the quota always proceed.
   */
  take(account: string, region: string, op: string): boolean {
    if (!this.#operations.has(op)) return true;
    const key = `${account}/${region}`;
    const now = this.#now();
    let b = this.#buckets.get(key);
    if (!b) {
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#rate);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
