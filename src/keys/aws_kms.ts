/**
 * The AWS KMS key provider (`aws-kms`): data keys are generated, unwrapped and re-wrapped by AWS KMS
 * through the real `@aws-sdk/client-kms` (v3), so the key-encryption key never leaves KMS.
 *
 * - Seal: `GenerateDataKey` (KeySpec AES_256). The blob records the full key ARN KMS answers with,
 *   never an alias, so an alias that later moves cannot change what a blob decrypts with.
 * - Open: `Decrypt` with an explicit `KeyId` (the recorded ARN).
 * - Re-wrap: `ReEncrypt`, so the data key never reaches the caller.
 * - The encryption context goes to KMS as `EncryptionContext` (KMS logs it in CloudTrail: never put
 *   secrets in it).
 *
 * The SDK is imported lazily on the first call (see `aws_kms_sdk.ts`); clients are created lazily,
 * one per (region, endpoint, profile), and reused. Credentials, `AWS_PROFILE`, `AWS_REGION` and the
 * endpoint overrides `AWS_ENDPOINT_URL_KMS` / `AWS_ENDPOINT_URL` are left to the SDK.
 *
 * Faults: at most `maxConcurrency` requests in flight per provider; throttling and transient
 * faults are retried with exponential backoff and full jitter under one overall deadline per
 * call; every other error becomes a {@link SealfigError} with a `KMS_*` code, the key ARN and a hint.
 *
 * @module
 */
import type {
  DecryptCommandOutput,
  DescribeKeyCommandOutput,
  EncryptCommandOutput,
  GenerateDataKeyCommandOutput,
  KMSClient,
  KMSClientConfig,
  ReEncryptCommandOutput,
} from "@aws-sdk/client-kms";
import { SealfigError } from "../errors.ts";
import { getEnv } from "../runtime.ts";
import type {
  EncryptionContext,
  GeneratedDataKey,
  KeyProvider,
  ProviderCallOptions,
  RewrappedDataKey,
} from "./key_provider.ts";
import { type KmsSdk, loadKmsSdk } from "./aws_kms_sdk.ts";
import {
  budgetExhausted,
  classifyKmsError,
  deadlineExceeded,
  type KmsErrorContext,
  mapKmsError,
} from "./aws_kms_errors.ts";

export { kmsSdkLoadCount } from "./aws_kms_sdk.ts";

/** Static AWS credentials (for tests and special setups; normally the SDK chain finds them). */
export interface KmsCredentials {
  /** Access key id. */
  accessKeyId: string;
  /** Secret access key. */
  secretAccessKey: string;
  /** Session token for temporary credentials. */
  sessionToken?: string;
}

/** Creates a KMS client from the lazily loaded SDK and the config the provider chose. */
export type KmsClientFactory = (sdk: KmsSdk, config: KMSClientConfig) => KMSClient;

/** Options for {@link KmsKeyProvider}. */
export interface KmsKeyProviderOptions {
  /**
   * Region for key references without one (alias names, bare key ids). Key ARNs always use their
   * own region. Default: the SDK's chain (`AWS_REGION`, the profile's region).
   */
  region?: string;
  /**
   * The caller's region: multi-Region keys (`mrk-…`) are decrypted through their replica in this
   * region first, falling back to the region recorded in the blob. Default: none.
   */
  preferredRegion?: string;
  /**
   * Endpoint URL for every client (e.g. a local KMS server). Default: the SDK's resolution, which
   * honours `AWS_ENDPOINT_URL_KMS` and `AWS_ENDPOINT_URL`.
   */
  endpoint?: string;
  /** Shared-config profile. Default: the SDK's (`AWS_PROFILE`, else `default`). */
  profile?: string;
  /** Static credentials. Default: the SDK's default credential chain. */
  credentials?: KmsCredentials;
  /** Build clients yourself (wrapping, tracing, tests). Default: `new sdk.KMSClient(config)`. */
  clientFactory?: KmsClientFactory;
  /** Most KMS requests in flight at once through this provider. Default 16. */
  maxConcurrency?: number;
  /** Most attempts per call, the first included. Default 8. */
  maxAttempts?: number;
  /** Base of the exponential backoff (full jitter) in ms. Default 50. */
  baseDelayMs?: number;
  /** Cap of one backoff delay in ms. Default 2000. */
  maxDelayMs?: number;
  /** Overall deadline per call (queueing, attempts and backoff included) in ms. Default 10000. */
  deadlineMs?: number;
  /** Timeout of one HTTP request in ms. Default 5000. */
  requestTimeoutMs?: number;
  /** Timeout to open a connection in ms. Default 3000. */
  connectionTimeoutMs?: number;
  /** Random numbers in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
}

/** Counters of one provider, for tests and benchmarks. */
export interface KmsProviderStats {
  /** Calls per KMS operation (GenerateDataKey, Decrypt, ReEncrypt), as asked by callers. */
  calls: Record<string, number>;
  /** HTTP attempts made (first tries and retries). */
  attempts: number;
  /** Retries after throttling or transient faults. */
  retries: number;
  /** Attempts answered with throttling. */
  throttled: number;
  /** Multi-Region decrypts that fell back from the preferred region to the recorded one. */
  fallbacks: number;
  /** KMS clients created. */
  clientsCreated: number;
  /** Requests in flight now. */
  inFlight: number;
  /** Highest `inFlight` seen. */
  maxInFlight: number;
}

const KEY_ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

/** A waiting queue bounding requests in flight. */
class Semaphore {
  #free: number;
  readonly #waiters: (() => void)[] = [];

  constructor(n: number) {
    this.#free = n;
  }

  acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free++;
  }
}

class DeadlineSignal extends Error {}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function positive(name: string, v: number | undefined, dflt: number, integer = true): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new SealfigError(
      "OPTION_INVALID",
      `Invalid KmsKeyProvider option ${name}: ${String(v)}`,
      {
        hint: `Pass a positive ${integer ? "integer" : "number"}`,
      },
    );
  }
  return v;
}

/**
 * Wraps data keys with AWS KMS through the real `@aws-sdk/client-kms`.
 *
 * @example Seal and open through a local KMS server
 * ```ts
 * import { KmsKeyProvider } from "@sealfig/sealfig";
 * import { startKmsServer } from "@sealfig/sealfig/kms-server";
 * const server = await startKmsServer();
 * await server.createKey({ alias: "alias/app" });
 * const kms = new KmsKeyProvider({
 *   endpoint: server.endpoint,
 *   region: server.region,
 *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" },
 * });
 * const dek = await kms.generateDataKey("alias/app", { env: "dev" });
 * console.assert(dek.keyId.startsWith("arn:aws:kms:")); // the ARN, not the alias
 * const again = await kms.decryptDataKey(dek.keyId, dek.wrapped, { env: "dev" });
 * console.assert(again.every((b, i) => b === dek.plaintext[i]));
 * dek.plaintext.fill(0);
 * again.fill(0);
 * kms.destroy();
 * await server.close();
 * ```
 */
export class KmsKeyProvider implements KeyProvider {
  /** The provider id recorded in blobs. */
  readonly id = "aws-kms";
  readonly #region: string | undefined;
  readonly #preferredRegion: string | undefined;
  readonly #endpoint: string | undefined;
  readonly #profile: string | undefined;
  readonly #credentials: KmsCredentials | undefined;
  readonly #factory: KmsClientFactory | undefined;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #deadlineMs: number;
  readonly #requestTimeoutMs: number;
  readonly #connectionTimeoutMs: number;
  readonly #random: () => number;
  readonly #semaphore: Semaphore;
  readonly #clients = new Map<string, Promise<KMSClient>>();
  readonly #resolved = new Map<string, Promise<string>>();
  #stats: KmsProviderStats = emptyStats();

  /**
   * Create a provider. No client is created and the SDK is not loaded until the first call.
   *
   * @param options see {@link KmsKeyProviderOptions}; all optional.
   */
  constructor(options: KmsKeyProviderOptions = {}) {
    this.#region = options.region;
    this.#preferredRegion = options.preferredRegion;
    this.#endpoint = options.endpoint;
    this.#profile = options.profile;
    this.#credentials = options.credentials ? { ...options.credentials } : undefined;
    this.#factory = options.clientFactory;
    this.#semaphore = new Semaphore(positive("maxConcurrency", options.maxConcurrency, 16));
    this.#maxAttempts = positive("maxAttempts", options.maxAttempts, 8);
    this.#baseDelayMs = positive("baseDelayMs", options.baseDelayMs, 50, false);
    this.#maxDelayMs = positive("maxDelayMs", options.maxDelayMs, 2000, false);
    this.#deadlineMs = positive("deadlineMs", options.deadlineMs, 10_000, false);
    this.#requestTimeoutMs = positive("requestTimeoutMs", options.requestTimeoutMs, 5000, false);
    this.#connectionTimeoutMs = positive(
      "connectionTimeoutMs",
      options.connectionTimeoutMs,
      3000,
      false,
    );
    this.#random = options.random ?? Math.random;
  }

  /** A snapshot of the counters. */
  get stats(): KmsProviderStats {
    return { ...this.#stats, calls: { ...this.#stats.calls } };
  }

  /** Zero the counters (in-flight requests keep being counted). */
  resetStats(): void {
    const inFlight = this.#stats.inFlight;
    this.#stats = { ...emptyStats(), inFlight, maxInFlight: inFlight };
  }

  /** Close the cached clients' connections. The provider stays usable (clients are recreated). */
  destroy(): void {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    for (const c of clients) c.then((client) => client.destroy(), () => {});
  }

  /** Generate a 256-bit data key under `keyId` (ARN, id, alias name or alias ARN). */
  async generateDataKey(
    keyId: string,
    context: EncryptionContext,
    options: ProviderCallOptions = {},
  ): Promise<GeneratedDataKey> {
    const out = await this.#call(
      "GenerateDataKey",
      { keyId, context },
      options,
      (sdk, client, signal) =>
        client.send(
          new sdk.GenerateDataKeyCommand({
            KeyId: keyId,
            KeySpec: "AES_256",
            EncryptionContext: { ...context },
          }),
          { abortSignal: signal },
        ),
    ) as GenerateDataKeyCommandOutput;
    const plaintext = out.Plaintext;
    const wrapped = out.CiphertextBlob;
    if (!plaintext || plaintext.length !== 32 || !wrapped || !out.KeyId) {
      plaintext?.fill(0);
      throw new SealfigError(
        "PROVIDER_FAILED",
        `KMS GenerateDataKey with key ${keyId} returned an unexpected answer`,
        {
          keyId,
          hint: "Check that the endpoint is AWS KMS (or a compatible server)",
        },
      );
    }
    try {
      answeredKey("GenerateDataKey", keyId, out.KeyId);
    } catch (err) {
      plaintext.fill(0);
      throw err;
    }
    const dek = new Uint8Array(32);
    dek.set(plaintext);
    plaintext.fill(0);
    return { plaintext: dek, wrapped: new Uint8Array(wrapped), keyId: out.KeyId };
  }

  /**
   * Unwrap a data key with `Decrypt` and an explicit `KeyId` (the key ARN recorded in the blob).
   * Multi-Region keys go through the replica in `preferredRegion` first, when set.
   */
  async decryptDataKey(
    keyId: string,
    wrapped: Uint8Array,
    context: EncryptionContext,
    options: ProviderCallOptions = {},
  ): Promise<Uint8Array> {
    const send = (ref: string) => (sdk: KmsSdk, client: KMSClient, signal: AbortSignal) =>
      client.send(
        new sdk.DecryptCommand({
          KeyId: ref,
          CiphertextBlob: wrapped,
          EncryptionContext: { ...context },
        }),
        { abortSignal: signal },
      );
    const replica = this.#preferredReplica(keyId);
    let out: DecryptCommandOutput;
    let asked = replica ?? keyId;
    if (replica === undefined) {
      out = await this.#call(
        "Decrypt",
        { keyId, context },
        options,
        send(keyId),
      ) as DecryptCommandOutput;
    } else {
      // Give the preferred region at most half of the budget so the fallback still has time.
      const started = Date.now();
      try {
        out = await this.#call(
          "Decrypt",
          { keyId: replica, context },
          options,
          send(replica),
          this.#deadlineMs / 2,
        ) as DecryptCommandOutput;
      } catch (err) {
        if (!(err instanceof SealfigError) || !FALLBACK_CODES.has(err.code)) throw err;
        this.#stats.fallbacks++;
        asked = keyId;
        const left = Math.max(1, this.#deadlineMs - (Date.now() - started));
        out = await this.#call(
          "Decrypt",
          { keyId, context },
          options,
          send(keyId),
          left,
          false,
        ) as DecryptCommandOutput;
      }
    }
    const plaintext = out.Plaintext;
    if (!plaintext || plaintext.length !== 32) {
      plaintext?.fill(0);
      throw new SealfigError(
        "DEK_UNWRAP_FAILED",
        `KMS returned a data key of unexpected length for key ${keyId}`,
        {
          keyId,
          hint: "The wrapped value is not a sealfig data key; re-seal the value",
        },
      );
    }
    try {
      answeredKey("Decrypt", asked, out.KeyId);
    } catch (err) {
      plaintext.fill(0);
      throw err;
    }
    const dek = new Uint8Array(32);
    dek.set(plaintext);
    plaintext.fill(0);
    return dek;
  }

  /**
   * Wrap a data key this process holds under `keyId` with `Encrypt` (needs only `kms:Encrypt` on
   * that key: a writer may seal for a recovery key it cannot use). The key's Region's client.
   */
  async wrapDataKey(
    keyId: string,
    plaintext: Uint8Array,
    context: EncryptionContext,
    options: ProviderCallOptions = {},
  ): Promise<RewrappedDataKey> {
    if (plaintext.length !== 32) {
      throw new SealfigError("VALUE_INVALID", "A data key must be 32 bytes", { keyId });
    }
    const out = await this.#call(
      "Encrypt",
      { keyId, context },
      options,
      (sdk, client, signal) =>
        client.send(
          new sdk.EncryptCommand({
            KeyId: keyId,
            Plaintext: plaintext,
            EncryptionContext: { ...context },
          }),
          { abortSignal: signal },
        ),
    ) as EncryptCommandOutput;
    if (!out.CiphertextBlob || !out.KeyId) {
      throw new SealfigError(
        "PROVIDER_FAILED",
        `KMS Encrypt with key ${keyId} returned an unexpected answer`,
        { keyId, hint: "Check that the endpoint is AWS KMS (or a compatible server)" },
      );
    }
    answeredKey("Encrypt", keyId, out.KeyId);
    return { wrapped: new Uint8Array(out.CiphertextBlob), keyId: out.KeyId };
  }

  /** Re-wrap a data key under `toKeyId` with `ReEncrypt`; the plaintext never leaves KMS. */
  async rewrapDataKey(
    keyId: string,
    wrapped: Uint8Array,
    context: EncryptionContext,
    toKeyId: string,
    options: ProviderCallOptions = {},
  ): Promise<RewrappedDataKey> {
    const from = KEY_ARN.exec(keyId)?.[2];
    const to = KEY_ARN.exec(toKeyId)?.[2];
    if (from !== undefined && to !== undefined && from !== to) {
      throw new SealfigError(
        "OPTION_INVALID",
        `Cannot re-wrap from ${keyId} to ${toKeyId}: KMS ReEncrypt works within one region`,
        {
          keyId,
          hint: "Use a key (or a multi-Region replica) in the same region as the source key",
        },
      );
    }
    const out = await this.#call(
      "ReEncrypt",
      { keyId, context, toKeyId },
      options,
      (sdk, client, signal) =>
        client.send(
          new sdk.ReEncryptCommand({
            CiphertextBlob: wrapped,
            SourceKeyId: keyId,
            SourceEncryptionContext: { ...context },
            DestinationKeyId: toKeyId,
            DestinationEncryptionContext: { ...context },
          }),
          { abortSignal: signal },
        ),
    ) as ReEncryptCommandOutput;
    if (!out.CiphertextBlob || !out.KeyId) {
      throw new SealfigError(
        "PROVIDER_FAILED",
        `KMS ReEncrypt to key ${toKeyId} returned an unexpected answer`,
        {
          keyId: toKeyId,
        },
      );
    }
    answeredKey("ReEncrypt", keyId, out.SourceKeyId);
    answeredKey("ReEncrypt", toKeyId, out.KeyId);
    return { wrapped: new Uint8Array(out.CiphertextBlob), keyId: out.KeyId };
  }

  /**
   * Get ready to call KMS about `keyId` without calling it: import the SDK, create the key's
   * region's client and resolve its credentials (which may mean a round trip to an instance or
   * container metadata endpoint). The loader calls this as soon as a parsed file holds a KMS blob,
   * so that work overlaps the rest of the load instead of delaying the first request. Never
   * rejects (the first real call reports any problem); makes no KMS request.
   */
  async prepare(keyId: string): Promise<void> {
    try {
      const sdk = await loadKmsSdk();
      const client = await this.#client(sdk, keyId);
      await client.config.credentials();
    } catch {
      // The call that needs the client reports it.
    }
  }

  /**
   * The key ARN a reference (alias name, alias ARN, key id) stands for, from `DescribeKey`; a key
   * ARN is returned as it is without a call. Each reference is resolved once per provider (a failed
   * lookup is retried next time). Used by key allowlists to compare aliases with recorded ARNs.
   */
  resolveKeyId(keyId: string, options: ProviderCallOptions = {}): Promise<string> {
    const m = KEY_ARN.exec(keyId);
    if (m && m[4] === "key") return Promise.resolve(keyId);
    let p = this.#resolved.get(keyId);
    if (!p) {
      p = this.#call(
        "DescribeKey",
        { keyId, context: {} },
        options,
        (sdk, client, signal) =>
          client.send(new sdk.DescribeKeyCommand({ KeyId: keyId }), { abortSignal: signal }),
      ).then((out) => {
        const arn = (out as DescribeKeyCommandOutput).KeyMetadata?.Arn;
        if (!arn || !KEY_ARN.test(arn)) {
          throw new SealfigError(
            "PROVIDER_FAILED",
            `KMS DescribeKey for ${keyId} returned no key ARN`,
            { keyId, hint: "Check that the endpoint is AWS KMS (or a compatible server)" },
          );
        }
        return arn;
      });
      const mine = p;
      mine.catch(() => {
        if (this.#resolved.get(keyId) === mine) this.#resolved.delete(keyId);
      });
      this.#resolved.set(keyId, p);
    }
    return p;
  }

  /** The replica ARN in the preferred region for a multi-Region key ARN in another region. */
  #preferredReplica(keyId: string): string | undefined {
    const preferred = this.#preferredRegion;
    const m = KEY_ARN.exec(keyId);
    if (!preferred || !m || m[4] !== "key" || !m[5]!.startsWith("mrk-") || m[2] === preferred) {
      return undefined;
    }
    return `arn:${m[1]}:kms:${preferred}:${m[3]}:key/${m[5]}`;
  }

  #client(sdk: KmsSdk, keyId: string): Promise<KMSClient> {
    const region = KEY_ARN.exec(keyId)?.[2] ?? this.#region;
    const cacheKey = JSON.stringify([
      region ?? null,
      this.#endpoint ?? null,
      this.#profile ?? null,
    ]);
    let client = this.#clients.get(cacheKey);
    if (!client) {
      // The SDK's own retries are off (maxAttempts 1): this provider owns the retry budget, so
      // attempts, backoff and the deadline are counted in one place and never multiply.
      const config: KMSClientConfig = {
        maxAttempts: 1,
        requestHandler: {
          requestTimeout: this.#requestTimeoutMs,
          connectionTimeout: this.#connectionTimeoutMs,
          throwOnRequestTimeout: true,
        },
      };
      if (region !== undefined) config.region = region;
      if (this.#endpoint !== undefined) config.endpoint = this.#endpoint;
      if (this.#profile !== undefined) config.profile = this.#profile;
      if (this.#credentials !== undefined) config.credentials = { ...this.#credentials };
      const factory = this.#factory;
      client = Promise.resolve().then(() =>
        factory ? factory(sdk, config) : new sdk.KMSClient(config)
      );
      client.catch(() => this.#clients.delete(cacheKey));
      this.#clients.set(cacheKey, client);
      this.#stats.clientsCreated++;
    }
    return client;
  }

  /** One KMS call: concurrency slot per attempt, retries with backoff, one deadline. */
  async #call(
    operation: string,
    what: { keyId: string; context: EncryptionContext; toKeyId?: string },
    options: ProviderCallOptions,
    send: (sdk: KmsSdk, client: KMSClient, signal: AbortSignal) => Promise<unknown>,
    deadlineMs: number = this.#deadlineMs,
    countCall = true,
  ): Promise<unknown> {
    if (countCall) this.#stats.calls[operation] = (this.#stats.calls[operation] ?? 0) + 1;
    const ctx: KmsErrorContext = {
      operation,
      keyId: what.keyId,
      context: what.context,
      attempts: 0,
    };
    if (what.toKeyId !== undefined) ctx.toKeyId = what.toKeyId;
    const sdk = await loadKmsSdk();
    let client: KMSClient;
    try {
      client = await this.#client(sdk, what.keyId);
    } catch (err) {
      throw mapKmsError(err, ctx);
    }

    const controller = new AbortController();
    const deadline = new DeadlineSignal();
    // Without a caller deadline, `deadlineMs` bounds the whole call from now, and throttled
    // attempts count against maxAttempts. Under a caller's (a load's) deadline, `deadlineMs` bounds
    // the time without progress, from the first send (time queued behind this provider's own
    // calls does not count) and again from each throttling answer (KMS is up, the account's quota
    // is busy): throttling is retried until the caller's deadline, faults still fail the call
    // after maxAttempts or deadlineMs of silence (docs/kms.md, "Deadlines").
    const hard = options.deadline;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let budgetMs = deadlineMs;
    let progress = 0;
    const arm = () => {
      clearTimeout(timer);
      progress = Date.now();
      const left = hard === undefined ? deadlineMs : Math.min(hard - Date.now(), deadlineMs);
      budgetMs = hard === undefined || hard - Date.now() > deadlineMs
        ? deadlineMs
        : Math.max(0, hard - started);
      timer = setTimeout(() => controller.abort(deadline), Math.max(0, left));
    };
    const started = Date.now();
    if (hard === undefined) arm();
    else timer = setTimeout(() => controller.abort(deadline), Math.max(0, hard - started));
    let faults = 0;
    const caller = options.signal;
    const onCallerAbort = () => controller.abort(caller?.reason);
    if (caller?.aborted) onCallerAbort();
    else caller?.addEventListener("abort", onCallerAbort, { once: true });
    const signal = controller.signal;

    try {
      for (let attempt = 1;; attempt++) {
        let failure: unknown;
        try {
          await this.#semaphore.acquire(signal);
        } catch {
          break; // aborted while queued
        }
        if (hard !== undefined && attempt === 1) arm();
        const s = this.#stats;
        s.inFlight++;
        if (s.inFlight > s.maxInFlight) s.maxInFlight = s.inFlight;
        s.attempts++;
        ctx.attempts = attempt;
        try {
          return await send(sdk, client, signal);
        } catch (err) {
          failure = err;
        } finally {
          this.#stats.inFlight--;
          this.#semaphore.release();
        }
        if (signal.aborted) break;
        const kind = classifyKmsError(failure);
        if (kind === "throttled") this.#stats.throttled++;
        if (kind === "final") throw mapKmsError(failure, ctx);
        const patient = kind === "throttled" && hard !== undefined;
        if (!patient && ++faults >= this.#maxAttempts) throw budgetExhausted(kind, failure, ctx);
        if (patient) arm();
        const cap = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
        const delay = this.#random() * cap;
        const end = hard === undefined
          ? started + deadlineMs
          : Math.min(hard, progress + deadlineMs);
        if (Date.now() + delay >= end) throw budgetExhausted(kind, failure, ctx);
        this.#stats.retries++;
        try {
          await sleep(delay, signal);
        } catch {
          break;
        }
      }
      // Only an abort leaves the loop.
      if (signal.reason === deadline) throw deadlineExceeded(budgetMs, ctx);
      throw signal.reason;
    } finally {
      clearTimeout(timer);
      caller?.removeEventListener("abort", onCallerAbort);
    }
  }
}

/**
 * Check the key KMS says it used against the key that was asked for, when the request named one
 * exactly (a key ARN or a key id; an alias can point anywhere). Real KMS never answers with
 * another key; an endpoint that does is not trusted with the answer (`KMS_INCORRECT_KEY`).
 */
function answeredKey(op: string, requested: string, answered: string | undefined): void {
  const arn = KEY_ARN.exec(requested);
  let ok: boolean;
  if (arn && arn[4] === "key") ok = answered === requested;
  else if (/^(mrk-[0-9a-f]{32}|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12})$/.test(requested)) {
    ok = answered !== undefined && KEY_ARN.exec(answered)?.[5] === requested;
  } else ok = true;
  if (!ok) {
    throw new SealfigError(
      "KMS_INCORRECT_KEY",
      `KMS answered ${op} for key ${requested} with ${
        answered === undefined ? "no key id" : `key ${answered}`
      }`,
      {
        keyId: requested,
        hint: "Check that the endpoint is AWS KMS (or a compatible server) and not a proxy " +
          "that rewrites answers",
      },
    );
  }
}

const FALLBACK_CODES: ReadonlySet<string> = new Set([
  "KMS_KEY_NOT_FOUND",
  "KMS_KEY_DISABLED",
  "KMS_INVALID_STATE",
  "KMS_ACCESS_DENIED",
  "KMS_THROTTLED",
  "KMS_UNAVAILABLE",
  "KMS_DEADLINE_EXCEEDED",
  "KMS_REGION_UNKNOWN",
]);

function emptyStats(): KmsProviderStats {
  return {
    calls: {},
    attempts: 0,
    retries: 0,
    throttled: 0,
    fallbacks: 0,
    clientsCreated: 0,
    inFlight: 0,
    maxInFlight: 0,
  };
}

/** Options for {@link kmsKeyFromEnv}. */
export interface KmsKeyFromEnvOptions {
  /** The variable to read. Default `SEALFIG_KMS_KEY`. */
  name?: string;
}

/**
 * The KMS key to seal with, from `SEALFIG_KMS_KEY` (a key ARN, key id, `alias/name` or alias
 * ARN). Returns undefined when the variable is unset or empty; throws `OPTION_INVALID` when it
 * is set to something that is not a key reference.
 *
 * @example
 * ```ts
 * import { kmsKeyFromEnv } from "@sealfig/sealfig/document";
 * const keyId = kmsKeyFromEnv(); // e.g. "alias/shop-prod" or undefined
 * ```
 */
export function kmsKeyFromEnv(options: KmsKeyFromEnvOptions = {}): string | undefined {
  const name = options.name ?? "SEALFIG_KMS_KEY";
  const value = getEnv(name)?.trim();
  if (!value) return undefined;
  const ok = KEY_ARN.test(value) || /^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(value) ||
    /^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.test(value);
  if (!ok) {
    throw new SealfigError("OPTION_INVALID", `${name} is not a KMS key reference`, {
      hint: "Set it to a key ARN, a key id, alias/<name> or an alias ARN",
    });
  }
  return value;
}
