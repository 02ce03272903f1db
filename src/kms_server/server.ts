/**
 * A small AWS KMS-compatible server for development, tests and benchmarks.
 *
 * It speaks the KMS JSON 1.1 protocol (`POST /`, `X-Amz-Target: TrentService.<Op>`) well enough
 * for the real `@aws-sdk/client-kms` and the AWS CLI, keeps keys in memory or in a state file, and
 * injects faults (latency, throttling, 5xx, hangs, connection resets) on demand. The request
 * handler is a runtime-neutral `(Request) => Promise<Response>`; {@link startKmsServer} serves it
 * over HTTP through the runtime module.
 *
 * It does not verify SigV4 signatures: it reads the access key id and the region from the
 * `Authorization` header's credential scope. Never expose it beyond localhost, and never point it
 * at real secrets: the state file holds raw key material.
 *
 * @module
 */
import {
  HttpConnectionReset,
  type HttpRefusal,
  readFileBytes,
  serveHttp,
  writeFileAtomic,
} from "../runtime.ts";
import { fromUtf8 } from "../crypto/bytes.ts";
import { SealfigError } from "../errors.ts";
import {
  type KmsCaller,
  type KmsJson,
  type KmsKeyRecord,
  type KmsPolicy,
  KmsService,
} from "./_service.ts";
import { KmsApiError, parseSigV4 } from "./_wire.ts";
import { type KmsQuota, RequestQuota } from "./_quota.ts";

export type { KmsPolicy } from "./_service.ts";
export type { KmsQuota } from "./_quota.ts";

/** The faults the server injects, changeable at any time. Rates are probabilities in 0..1. */
export interface KmsFaults {
  /** Milliseconds added before every answer. Default 0. */
  latencyMs: number;
  /** Rate of `ThrottlingException` (HTTP 400) answers. Default 0. */
  throttleRate: number;
  /** Rate of server errors. Default 0. */
  errorRate: number;
  /** What a server error looks like: `KMSInternalException` (HTTP 500) or a bare 503. Default `internal`. */
  errorKind: "internal" | "unavailable";
  /** Rate of connection resets (no HTTP answer at all). Default 0. */
  resetRate: number;
  /** When true, requests are never answered until the server closes. Default false. */
  hang: boolean;
  /** Operations the faults apply to (e.g. `["Decrypt"]`); undefined means all. Default undefined. */
  operations: readonly string[] | undefined;
}

/**
 * Request counters, for tests and benchmarks.
 *
 * @example
 * ```ts
 * import { startKmsServer } from "@sealfig/sealfig/kms-server";
 * const server = await startKmsServer();
 * server.stats.reset();
 * // ... run the code under test ...
 * console.assert(server.stats.maxInFlight <= 16);
 * console.log(server.stats.count("Decrypt"), server.stats.throttled);
 * await server.close();
 * ```
 */
export class KmsServerStats {
  /** Requests received per operation (including faulted ones). */
  requests: Record<string, number> = {};
  /** Requests received in total. */
  total = 0;
  /** Requests being handled right now. */
  inFlight = 0;
  /** The highest `inFlight` seen since the last reset. */
  maxInFlight = 0;
  /** Requests answered with an injected ThrottlingException. */
  throttled = 0;
  /** Requests answered with ThrottlingException because the request-rate quota was spent. */
  quotaThrottled = 0;
  /** Requests answered with an injected server error. */
  errors = 0;
  /** Connections reset on purpose. */
  resets = 0;
  /** Requests left hanging. */
  hung = 0;

  /** Zero every counter (`inFlight` keeps counting requests still running). */
  reset(): void {
    this.requests = {};
    this.total = 0;
    this.maxInFlight = this.inFlight;
    this.throttled = 0;
    this.quotaThrottled = 0;
    this.errors = 0;
    this.resets = 0;
    this.hung = 0;
  }

  /** Requests received for one operation. */
  count(op: string): number {
    return this.requests[op] ?? 0;
  }
}

/** A key created through the test API. */
export interface KmsKeyInfo {
  /** The key id (`mrk-…` for multi-Region keys). */
  keyId: string;
  /** The full key ARN. */
  arn: string;
  /** The region it lives in. */
  region: string;
}

/** Options for {@link createKmsHandler} and {@link startKmsServer}. */
export interface KmsHandlerOptions {
  /** Region for the test API and for requests without a credential scope. Default `us-east-1`. */
  region?: string;
  /** Account id in ARNs. Default `111122223333`. */
  account?: string;
  /** Permission model; undefined allows everything. Default undefined. */
  policy?: KmsPolicy;
  /** Initial faults. Default none. */
  faults?: Partial<KmsFaults>;
  /** Seed for the fault dice, for reproducible runs. Default: random. */
  seed?: number;
  /** Request-rate quota (token bucket per account and region). Default: none (unlimited). */
  quota?: KmsQuota;
}

/** A KMS request handler with its state, faults and counters. */
export interface KmsHandler {
  /** Answer one HTTP request. */
  handle(request: Request): Promise<Response>;
  /** Counters. */
  readonly stats: KmsServerStats;
  /** The current faults; assign fields to change them. */
  readonly faults: KmsFaults;
  /** The default region. */
  readonly region: string;
  /** The account id. */
  readonly account: string;
  /** Replace the permission model (undefined allows everything). */
  setPolicy(policy: KmsPolicy | undefined): void;
  /** Set the request-rate quota (a full bucket), or remove it with undefined. */
  setQuota(quota: KmsQuota | undefined): void;
  /** Turn every fault off. */
  resetFaults(): void;
  /** Re-seed the fault dice. */
  reseed(seed: number): void;
  /** Create a symmetric key directly (not counted in stats, not subject to the policy). */
  createKey(options?: CreateTestKeyOptions): Promise<KmsKeyInfo>;
  /** Create or move an alias (`alias/name`) to a key. */
  setAlias(alias: string, keyRef: string, region?: string): Promise<void>;
  /** Replicate a multi-Region primary key into another region (same id and key material). */
  replicateKey(keyRef: string, toRegion: string): Promise<KmsKeyInfo>;
  /** Number of key material versions (1 + rotations). */
  materialVersions(keyRef: string, region?: string): number;
  /** Release hanging requests (they are answered with a bare 503). */
  releaseHanging(): void;
  /** State as JSON text (holds raw key material). */
  serialize(): string;
  /** Restore state from {@link serialize} output. */
  restore(text: string): void;
  /** Resolves when pending state writes have finished. */
  flush(): Promise<void>;
}

/** Options for {@link KmsHandler.createKey}. */
export interface CreateTestKeyOptions {
  /** Region. Default: the handler's region. */
  region?: string;
  /** Description. Default empty. */
  description?: string;
  /** Make a multi-Region (`mrk-`) key. Default false. */
  multiRegion?: boolean;
  /** Also create this alias (`alias/name`) for it. Default none. */
  alias?: string;
}

const NO_FAULTS: KmsFaults = {
  latencyMs: 0,
  throttleRate: 0,
  errorRate: 0,
  errorKind: "internal",
  resetRate: 0,
  hang: false,
  operations: undefined,
};

const JSON_TYPE = "application/x-amz-json-1.1";

/**
 * Build the KMS request handler without starting a server (for any `fetch`-style host).
 *
 * @example In-process, without HTTP
 * ```ts
 * import { createKmsHandler } from "@sealfig/sealfig/kms-server";
 * const kms = createKmsHandler({ region: "eu-west-1" });
 * const key = await kms.createKey({ alias: "alias/app" });
 * const res = await kms.handle(new Request("http://kms.local/", {
 *   method: "POST",
 *   headers: {
 *     "x-amz-target": "TrentService.DescribeKey",
 *     "content-type": "application/x-amz-json-1.1",
 *     authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/eu-west-1/kms/aws4_request",
 *   },
 *   body: JSON.stringify({ KeyId: "alias/app" }),
 * }));
 * console.assert((await res.json()).KeyMetadata.Arn === key.arn);
 * ```
 */
export function createKmsHandler(
  options: KmsHandlerOptions = {},
  persist?: (state: string) => Promise<void>,
): KmsHandler {
  const region = options.region ?? "us-east-1";
  const account = options.account ?? "111122223333";
  if (!/^\d{12}$/.test(account)) {
    throw new TypeError(`Invalid account id ${JSON.stringify(account)}`);
  }
  let dirty = false;
  let saving: Promise<void> = Promise.resolve();
  const service = new KmsService({
    account,
    policy: options.policy,
    onChange: () => {
      dirty = true;
    },
  });
  const stats = new KmsServerStats();
  const faults: KmsFaults = { ...NO_FAULTS, ...options.faults };
  let rand = mulberry32(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  let quota = options.quota ? new RequestQuota(options.quota) : undefined;
  const hanging = new Set<() => void>();

  const save = (): Promise<void> => {
    if (!dirty || !persist) return saving;
    dirty = false;
    const text = service.serialize();
    // A failed write does not poison later ones: each waits for the previous one to settle, and
    // a failure marks the state dirty again so the next change (or close) writes it all.
    const next = saving.catch(() => {}).then(() => persist(text));
    next.catch(() => {
      dirty = true;
    });
    saving = next;
    return next;
  };

  const applies = (op: string) => faults.operations === undefined || faults.operations.includes(op);

  async function handle(request: Request): Promise<Response> {
    const target = request.headers.get("x-amz-target") ?? "";
    const op = target.startsWith("TrentService.") ? target.slice("TrentService.".length) : "";
    stats.total++;
    stats.requests[op || "(none)"] = (stats.requests[op || "(none)"] ?? 0) + 1;
    stats.inFlight++;
    if (stats.inFlight > stats.maxInFlight) stats.maxInFlight = stats.inFlight;
    try {
      const body = new Uint8Array(await request.arrayBuffer());
      if (applies(op)) {
        if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
      }
      if (quota) {
        const scope = parseSigV4(request.headers.get("authorization"))?.region ?? region;
        if (!quota.take(account, scope, op)) {
          stats.quotaThrottled++;
          return errorResponse(new KmsApiError("ThrottlingException", "Rate exceeded"));
        }
      }
      if (applies(op)) {
        if (faults.hang) {
          stats.hung++;
          await new Promise<void>((resolve) => hanging.add(resolve));
          return new Response("Service Unavailable", { status: 503 });
        }
        if (faults.resetRate > 0 && rand() < faults.resetRate) {
          stats.resets++;
          throw new HttpConnectionReset();
        }
        if (faults.throttleRate > 0 && rand() < faults.throttleRate) {
          stats.throttled++;
          return errorResponse(new KmsApiError("ThrottlingException", "Rate exceeded"));
        }
        if (faults.errorRate > 0 && rand() < faults.errorRate) {
          stats.errors++;
          if (faults.errorKind === "unavailable") {
            return new Response("Service Unavailable", {
              status: 503,
              headers: { "content-type": "text/plain" },
            });
          }
          return errorResponse(
            new KmsApiError("KMSInternalException", "An internal error occurred", 500),
          );
        }
      }
      return await answer(request, op, body);
    } finally {
      stats.inFlight--;
    }
  }

  async function answer(request: Request, op: string, body: Uint8Array): Promise<Response> {
    try {
      if (request.method !== "POST") {
        throw new KmsApiError("UnknownOperationException", "Only POST is supported");
      }
      if (!op) throw new KmsApiError("UnknownOperationException", "Missing X-Amz-Target");
      const auth = request.headers.get("authorization");
      const sig = parseSigV4(auth);
      if (!auth) {
        throw new KmsApiError(
          "MissingAuthenticationTokenException",
          "Missing Authentication Token",
        );
      }
      if (!sig) {
        throw new KmsApiError(
          "IncompleteSignatureException",
          "Authorization header requires a SigV4 credential scope",
        );
      }
      const text = fromUtf8(body) ?? "";
      let input: unknown = {};
      if (text.trim() !== "") {
        try {
          input = JSON.parse(text);
        } catch {
          throw new KmsApiError(
            "SerializationException",
            "Start of structure or map found where not expected",
          );
        }
      }
      if (typeof input !== "object" || input === null || Array.isArray(input)) {
        throw new KmsApiError("SerializationException", "Request body must be a JSON object");
      }
      const caller: KmsCaller = { accessKeyId: sig.accessKeyId, region: sig.region };
      const out = await service.call(op, input as KmsJson, caller);
      await save();
      return new Response(JSON.stringify(out), {
        status: 200,
        headers: { "content-type": JSON_TYPE, "x-amzn-requestid": crypto.randomUUID() },
      });
    } catch (err) {
      if (err instanceof KmsApiError) {
        await save();
        return errorResponse(err);
      }
      return errorResponse(
        new KmsApiError("KMSInternalException", "An internal error occurred", 500),
      );
    }
  }

  const find = (ref: string, r = region): KmsKeyRecord => service.resolve(ref, r);
  const info = (k: KmsKeyRecord): KmsKeyInfo => ({
    keyId: k.keyId,
    arn: service.keyArn(k),
    region: k.region,
  });

  return {
    handle,
    stats,
    faults,
    region,
    account,
    setPolicy(policy) {
      service.policy = policy;
    },
    setQuota(q) {
      quota = q ? new RequestQuota(q) : undefined;
    },
    resetFaults() {
      Object.assign(faults, NO_FAULTS);
    },
    reseed(seed) {
      rand = mulberry32(seed);
    },
    async createKey(o = {}) {
      const r = o.region ?? region;
      const key = service.createKey(r, {
        ...(o.description !== undefined ? { description: o.description } : {}),
        ...(o.multiRegion !== undefined ? { multiRegion: o.multiRegion } : {}),
      });
      if (o.alias !== undefined) service.setAlias(r, o.alias, key);
      await save();
      return info(key);
    },
    async setAlias(alias, keyRef, r = region) {
      service.setAlias(r, alias, find(keyRef, r));
      await save();
    },
    async replicateKey(keyRef, toRegion) {
      const arnRegion = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(keyRef)?.[1];
      const replica = service.replicateKey(find(keyRef, arnRegion ?? region), toRegion);
      await save();
      return info(replica);
    },
    materialVersions(keyRef, r = region) {
      return service.materialVersions(find(keyRef, r).keyId);
    },
    releaseHanging() {
      for (const resolve of hanging) resolve();
      hanging.clear();
    },
    serialize: () => service.serialize(),
    restore: (text) => service.restore(text),
    flush: async () => {
      await saving.catch(() => {});
      if (dirty) await save();
    },
  };
}

function errorResponse(err: KmsApiError): Response {
  return new Response(JSON.stringify({ __type: err.type, message: err.message }), {
    status: err.status,
    headers: {
      "content-type": JSON_TYPE,
      "x-amzn-requestid": crypto.randomUUID(),
      "x-amzn-errortype": err.type,
    },
  });
}

/** Deterministic PRNG (mulberry32) for the fault dice. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options for {@link startKmsServer}. */
export interface KmsServerOptions extends KmsHandlerOptions {
  /** Interface to bind. Default `127.0.0.1`. */
  hostname?: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
  /**
   * File to keep the state in (read at start when it exists, rewritten atomically with mode 0600
   * after every change). It holds raw key material: development only. Default: in memory.
   */
  statePath?: string;
  /**
   * Allow binding to an interface other than loopback (127.0.0.0/8, ::1, localhost). The server
   * has no authentication and its state holds raw key material, so without this a non-loopback
   * `hostname` is refused (`OPTION_INVALID`). Default false.
   */
  allowRemote?: boolean;
  /**
   * `Host` header names accepted besides the loopback ones (`localhost`, `127.x.x.x`, `[::1]`) and,
   * with {@link allowRemote}, the bound address. Other names are refused with HTTP 421, so a web
   * page cannot reach the server through DNS rebinding. Default none.
   */
  allowedHosts?: readonly string[];
  /** Transport limits; see {@link KMS_SERVER_LIMITS} for the defaults. */
  limits?: Partial<KmsServerLimits>;
}

/** Transport limits of the local KMS server (one slow or huge request cannot hold it). */
export interface KmsServerLimits {
  /** Largest request body, in bytes (KMS requests are a few KiB). */
  maxBodyBytes: number;
  /** Connections open at once; more are closed as they arrive. */
  maxConnections: number;
  /** Time to send a request's headers, and idle time between requests on a connection. */
  headersTimeoutMs: number;
  /** Time for a request's body to arrive once its headers have. */
  bodyTimeoutMs: number;
}

/**
 * Default transport limits: 64 KiB bodies, 128 connections, 5 s for headers (and idle between
 * requests), 10 s for a body.
 *
 * @example
 * ```ts
 * import { KMS_SERVER_LIMITS } from "@sealfig/sealfig/kms-server";
 * console.log(KMS_SERVER_LIMITS.maxBodyBytes); // 65536
 * ```
 */
export const KMS_SERVER_LIMITS: Readonly<KmsServerLimits> = Object.freeze({
  maxBodyBytes: 64 * 1024,
  maxConnections: 128,
  headersTimeoutMs: 5_000,
  bodyTimeoutMs: 10_000,
});

/** A running local KMS server. */
export interface KmsServer extends KmsHandler {
  /** `http://host:port`, for the SDK's `endpoint` option or `AWS_ENDPOINT_URL_KMS`. */
  readonly endpoint: string;
  /** The port it listens on. */
  readonly port: number;
  /** The interface it is bound to. */
  readonly hostname: string;
  /**
   * Requests and connections refused by the transport checks, by reason: `host` (a `Host` header
   * that is not allowed), `body-too-large`, `too-many-connections`, `headers-timeout`,
   * `body-timeout`.
   */
  readonly refused: Readonly<Record<string, number>>;
  /** Release hanging requests, stop listening, close connections, write pending state. */
  close(): Promise<void>;
}

/**
 * Start the local KMS server on `127.0.0.1` and a free port (by default).
 *
 * @example Point the real SDK at it
 * ```ts
 * import { startKmsServer } from "@sealfig/sealfig/kms-server";
 * import { KMSClient, EncryptCommand } from "@aws-sdk/client-kms";
 * const server = await startKmsServer();
 * const key = await server.createKey();
 * const kms = new KMSClient({
 *   endpoint: server.endpoint,
 *   region: server.region,
 *   credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" },
 * });
 * await kms.send(new EncryptCommand({ KeyId: key.arn, Plaintext: new Uint8Array([1, 2, 3]) }));
 * console.assert(server.stats.count("Encrypt") === 1);
 * await server.close();
 * ```
 */
export async function startKmsServer(options: KmsServerOptions = {}): Promise<KmsServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  checkBind(hostname, options.allowRemote === true);
  const statePath = options.statePath;
  const persist = statePath === undefined
    ? undefined
    : (text: string) => writeFileAtomic(statePath, text, { mode: 0o600 });
  const handler = createKmsHandler(options, persist);
  if (statePath !== undefined) await restoreState(handler, statePath);
  const refused: Record<string, number> = {};
  const count = (reason: HttpRefusal | "host") => (refused[reason] = (refused[reason] ?? 0) + 1);
  const allowed = new Set((options.allowedHosts ?? []).map((h) => h.toLowerCase()));
  // As a Host header names it: an IPv6 address in brackets.
  if (options.allowRemote === true) {
    allowed.add(hostname.includes(":") ? `[${hostname.toLowerCase()}]` : hostname.toLowerCase());
  }
  const limits = { ...KMS_SERVER_LIMITS, ...options.limits };
  const http = await serveHttp(guardHost(handler.handle, allowed, () => count("host")), {
    hostname,
    port: options.port ?? 0,
    ...limits,
    onRefused: count,
  });
  const host = http.hostname.includes(":") ? `[${http.hostname}]` : http.hostname;
  return {
    ...handler,
    endpoint: `http://${host}:${http.port}`,
    port: http.port,
    hostname: http.hostname,
    refused,
    async close() {
      handler.releaseHanging();
      await http.close();
      await handler.flush();
    },
  };
}

/** An IPv4 octet written in decimal without leading zeros (0–255). */
const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const LOOPBACK_V4 = new RegExp(`^127(?:\\.${OCTET}){3}$`);
const LOOPBACK_V6 = new RegExp(`^(?:::1|::ffff:127(?:\\.${OCTET}){3})$`);

/** True for loopback names and addresses: `localhost`, 127.0.0.0/8, `::1` (bracketed or not). */
function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  return h === "localhost" || LOOPBACK_V4.test(h) || LOOPBACK_V6.test(h);
}

/**
 * The host name of a `Host` header, read strictly (RFC 9110 `uri-host [ ":" port ]`): a
 * bracketed IPv6 literal or a name of letters, digits, dots and hyphens, then at most a port of
 * 1–5 digits, and nothing else. Lower-cased, the brackets kept. Undefined for anything else: an
 * empty header, several values, text after `]` (`[::1]evil.com`), userinfo, spaces.
 */
function hostHeaderName(header: string): string | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z.-]+)(?::([0-9]{1,5}))?$/.exec(header);
  if (!m || (m[2] !== undefined && Number(m[2]) > 65535)) return undefined;
  return m[1]!.toLowerCase();
}

/**
 * True when a `Host` header names a loopback host (`localhost`, `127.x.y.z`, `[::1]`,
 * `[::ffff:127.x.y.z]`) or one of `allowed` (lower case, IPv6 in brackets), with or without a
 * port: what the local KMS server answers (anything else gets 421).
 */
export function isAllowedHost(header: string, allowed: ReadonlySet<string>): boolean {
  const name = hostHeaderName(header);
  return name !== undefined && (isLoopback(name) || allowed.has(name));
}

/** Refuse (loudly) to listen beyond loopback unless asked to. */
function checkBind(hostname: string, allowRemote: boolean): void {
  if (isLoopback(hostname) || allowRemote) return;
  throw new SealfigError(
    "OPTION_INVALID",
    `Refusing to bind the local KMS server to ${hostname}: it would be reachable from other ` +
      `machines, and it has no authentication while its state holds raw key material`,
    {
      hint: "Bind to 127.0.0.1 (the default); only if you really mean it, pass allowRemote " +
        "(sealfig kms-server --allow-remote)",
    },
  );
}

/**
 * Answer only requests whose `Host` header names this machine's loopback (or an allowed name):
 * a page that rebinds its own DNS name to 127.0.0.1 sends its own name, and is refused.
 */
function guardHost(
  handle: (request: Request) => Promise<Response>,
  allowed: ReadonlySet<string>,
  onRefused: () => void,
): (request: Request) => Promise<Response> {
  return (request) => {
    if (isAllowedHost(request.headers.get("host") ?? "", allowed)) return handle(request);
    onRefused();
    return Promise.resolve(
      new Response("Misdirected request: Host is not a loopback name", {
        status: 421,
        headers: { "content-type": "text/plain", connection: "close" },
      }),
    );
  };
}

/** Read the state file into the handler; a corrupt one is a typed error (never its content). */
async function restoreState(handler: KmsHandler, statePath: string): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await readFileBytes(statePath);
  } catch (err) {
    if ((err as { code?: unknown }).code === "ENOENT") return;
    throw new SealfigError("STATE_FILE_INVALID", "The KMS server state file cannot be read", {
      file: statePath,
      hint: "Check its permissions, or point --state at another file",
      cause: new Error((err as { code?: string }).code ?? "read failed"),
    });
  }
  try {
    const text = fromUtf8(bytes);
    if (text === undefined) throw new Error("not UTF-8");
    handler.restore(text);
  } catch {
    // The parser's message could quote the file, which holds raw key material: not kept.
    throw new SealfigError(
      "STATE_FILE_INVALID",
      "The KMS server state file is corrupt (not a sealfig kms-server state)",
      {
        file: statePath,
        hint: "Restore it from a backup, or move it away to start with no keys (values sealed " +
          "under its keys cannot be opened without it)",
      },
    );
  }
}
