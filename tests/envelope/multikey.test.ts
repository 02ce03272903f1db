/**
 * Several keys per value (docs/format.md §11): each key alone opens (the others absent), none
 * available is a typed error naming every key tried, untrusted keys are never called, the key
 * slots are re-encoded without touching the ciphertext, and one extra wrap per key per data key.
 *
 * KMS keys live on two local KMS servers (two Regions, two accounts) reached through the real
 * `@aws-sdk/client-kms` over HTTP: the provider's client factory sends each Region's client to its
 * server, as AWS routes each Region to its own endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decryptValue, DekCache, KeyAllowlist, parseBlob, Sealer } from "../../document.ts";
import { LocalKeyProvider, SealfigError } from "../../mod.ts";
import type { EncryptionContext, KeyProvider } from "../../mod.ts";
import type { GeneratedDataKey, ProviderCallOptions, RewrappedDataKey } from "../../document.ts";
import { KmsKeyProvider } from "../../src/keys/aws_kms.ts";
import { startKmsServer } from "../../src/kms_server/server.ts";
import type { KmsServer } from "../../src/kms_server/server.ts";
import { replaceKeySlots } from "../../src/envelope/format.ts";
import { ACCESS_KEY, SECRET_KEY } from "../keys/_kms_fixture.ts";
import { byteForms, renderings } from "../_helpers/leaks.ts";

const CTX = { app: "shop", env: "prod" };
const REGION_A = "eu-west-1";
const REGION_B = "us-west-2";

/** Counts provider calls by method; forwards everything. */
class Counting implements KeyProvider {
  readonly id: string;
  readonly calls = { generate: 0, decrypt: 0, wrap: 0 };
  constructor(readonly inner: KeyProvider) {
    this.id = inner.id;
  }
  keyIds(): Promise<string[]> {
    return this.inner.keyIds ? this.inner.keyIds() : Promise.resolve([]);
  }
  generateDataKey(
    keyId: string,
    context: EncryptionContext,
    options?: ProviderCallOptions,
  ): Promise<GeneratedDataKey> {
    this.calls.generate++;
    return this.inner.generateDataKey(keyId, context, options);
  }
  decryptDataKey(
    keyId: string,
    wrapped: Uint8Array,
    context: EncryptionContext,
    options?: ProviderCallOptions,
  ): Promise<Uint8Array> {
    this.calls.decrypt++;
    return this.inner.decryptDataKey(keyId, wrapped, context, options);
  }
  wrapDataKey(
    keyId: string,
    plaintext: Uint8Array,
    context: EncryptionContext,
    options?: ProviderCallOptions,
  ): Promise<RewrappedDataKey> {
    this.calls.wrap++;
    return this.inner.wrapDataKey!(keyId, plaintext, context, options);
  }
}

async function failure(p: Promise<unknown>): Promise<SealfigError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SealfigError);
  return err as SealfigError;
}

describe("several keys per value: local + KMS in two Regions/accounts", () => {
  let serverA: KmsServer;
  let serverB: KmsServer;
  let arnA: string;
  let arnB: string;
  const deadEndpoint = "http://127.0.0.1:9"; // discard port: connection refused
  let local: { id: string; key: string };
  const made: KmsKeyProvider[] = [];

  /** A KMS provider whose Region A / B clients reach these endpoints (undefined: unreachable). */
  function kms(endpoints: { a?: string; b?: string }): KmsKeyProvider {
    const p = new KmsKeyProvider({
      region: REGION_A,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      baseDelayMs: 1,
      maxDelayMs: 2,
      maxAttempts: 1,
      clientFactory: (sdk, config) =>
        new sdk.KMSClient({
          ...config,
          endpoint: (config.region === REGION_B ? endpoints.b : endpoints.a) ?? deadEndpoint,
        }),
    });
    made.push(p);
    return p;
  }

  beforeAll(async () => {
    serverA = await startKmsServer({ seed: 1, region: REGION_A, account: "111122223333" });
    serverB = await startKmsServer({ seed: 2, region: REGION_B, account: "444455556666" });
    arnA = (await serverA.createKey()).arn;
    arnB = (await serverB.createKey()).arn;
    local = await LocalKeyProvider.generateKey();
  });
  afterAll(async () => {
    for (const p of made) p.destroy();
    await serverA.close();
    await serverB.close();
  });

  /** Seal `n` values under [KMS A, KMS B, local] with the default per-file DEK policy. */
  async function sealThree(n: number) {
    const provider = kms({ a: serverA.endpoint, b: serverB.endpoint });
    const k = new Counting(provider);
    const l = new Counting(new LocalKeyProvider({ keys: [local.key] }));
    const sealer = new Sealer({
      provider: k,
      keyId: arnA,
      additionalKeys: [{ provider: k, keyId: arnB }, { provider: l, keyId: local.id }],
      context: CTX,
    });
    const blobs: string[] = [];
    for (let i = 0; i < n; i++) blobs.push(await sealer.seal(`secret-${i}`, `v${i}`));
    sealer.dispose();
    return {
      blobs,
      kmsCalls: k.calls,
      localCalls: l.calls,
      clients: provider.stats.clientsCreated,
    };
  }

  it("seals v2 blobs with one slot per key, in order, one wrap per extra key per data key", async () => {
    const { blobs, kmsCalls, localCalls, clients } = await sealThree(10);
    expect(kmsCalls).toEqual({ generate: 1, decrypt: 0, wrap: 1 });
    expect(clients).toBe(2); // one cached KMS client per Region
    expect(localCalls).toEqual({ generate: 0, decrypt: 0, wrap: 1 });
    for (const b of blobs) {
      expect(b.startsWith("sealfig:v2:")).toBe(true);
      const p = parseBlob(b);
      expect(p.slots.map((s) => [s.providerId, s.keyId])).toEqual([
        ["aws-kms", arnA],
        ["aws-kms", arnB],
        ["local", local.id],
      ]);
      expect(p.providerId).toBe("aws-kms");
      expect(p.keyId).toBe(arnA);
    }
  });

  it("each key alone opens (the others unreachable or absent), counting fall-throughs", async () => {
    const { blobs } = await sealThree(3);
    const cases: { name: string; providers: KeyProvider[]; fallThroughs: number }[] = [
      { name: "KMS A only", providers: [kms({ a: serverA.endpoint })], fallThroughs: 0 },
      { name: "KMS B only", providers: [kms({ b: serverB.endpoint })], fallThroughs: 1 },
      {
        name: "local only",
        providers: [new LocalKeyProvider({ keys: [local.key] })],
        fallThroughs: 2,
      },
    ];
    for (const c of cases) {
      const stats = { keyFallThroughs: 0 };
      const cache = new DekCache();
      for (const [i, b] of blobs.entries()) {
        const v = await decryptValue(b, {
          providers: c.providers,
          path: `v${i}`,
          context: CTX,
          cache,
          stats,
        });
        expect(v, c.name).toBe(`secret-${i}`);
      }
      // One data key: the slots are walked once; the later values find it in the cache.
      expect(stats.keyFallThroughs, c.name).toBe(c.fallThroughs);
      expect(cache.stats().size, c.name).toBe(1);
    }
  });

  it("a failing first key costs one failed call per data key, not one per value", async () => {
    const { blobs } = await sealThree(6);
    const k = new Counting(kms({ b: serverB.endpoint })); // A unreachable
    const cache = new DekCache();
    for (const [i, b] of blobs.entries()) {
      await decryptValue(b, { providers: [k], path: `v${i}`, context: CTX, cache });
    }
    expect(k.calls.decrypt).toBe(2); // A (failed), then B; values 2..6 from the cache
  });

  it("none available: KEYS_UNAVAILABLE naming every key tried and why, no key material", async () => {
    const { blobs } = await sealThree(1);
    const other = await LocalKeyProvider.generateKey();
    const err = await failure(decryptValue(blobs[0]!, {
      providers: [kms({}), new LocalKeyProvider({ keys: [other.key] })],
      path: "v0",
      context: CTX,
    }));
    expect(err.code).toBe("KEYS_UNAVAILABLE");
    expect(err.message).toContain(arnA);
    expect(err.message).toContain(arnB);
    expect(err.message).toContain(`local:${local.id} (KEY_NOT_FOUND)`);
    expect(err.path).toBe("v0");
    const text = renderings(err);
    for (const f of byteForms(new TextEncoder().encode(local.key))) expect(text).not.toContain(f);
    expect(text).not.toContain(local.key);
    expect(text).not.toContain("secret-0");
  });

  it("a provider that is not configured is skipped and named (PROVIDER_UNKNOWN)", async () => {
    const { blobs } = await sealThree(1);
    const err = await failure(decryptValue(blobs[0]!, {
      providers: [new LocalKeyProvider({ keys: [] })],
      path: "v0",
      context: CTX,
    }));
    expect(err.code).toBe("KEYS_UNAVAILABLE");
    expect(err.message).toContain(`${arnA} (PROVIDER_UNKNOWN)`);
  });

  it("only trusted keys are tried: an untrusted slot is never called", async () => {
    const { blobs } = await sealThree(1);
    const k = new Counting(kms({ a: serverA.endpoint, b: serverB.endpoint }));
    const l = new LocalKeyProvider({ keys: [local.key] });
    const stats = { keyFallThroughs: 0 };
    const v = await decryptValue(blobs[0]!, {
      providers: [k, l],
      path: "v0",
      context: CTX,
      trust: KeyAllowlist.of([`local:${local.id}`]),
      stats,
    });
    expect(v).toBe("secret-0");
    expect(k.calls.decrypt).toBe(0);
    expect(stats.keyFallThroughs).toBe(2);
    // No key trusted: KEY_UNTRUSTED naming the keys, before any call.
    const err = await failure(decryptValue(blobs[0]!, {
      providers: [k, l],
      path: "v0",
      context: CTX,
      trust: KeyAllowlist.of([]),
    }));
    expect(err.code).toBe("KEY_UNTRUSTED");
    expect(err.message).toContain(arnB);
    expect(k.calls.decrypt).toBe(0);
    // The allowlist accepts a several-key blob when any of its keys is trusted.
    const trust = KeyAllowlist.of([arnB]);
    expect(await trust.isTrusted(parseBlob(blobs[0]!), [k])).toBe(true);
    expect(await KeyAllowlist.of([]).isTrusted(parseBlob(blobs[0]!), [k])).toBe(false);
  });

  it("a trusted slot wrapping another data key cannot smuggle in a value", async () => {
    // The attacker seals their own value under their key, then adds a slot naming a trusted
    // key that wraps the victim file's data key: the commitment refuses it.
    const { blobs } = await sealThree(1);
    const attacker = await LocalKeyProvider.generateKey();
    const ap = new LocalKeyProvider({ keys: [attacker.key] });
    const forged = parseBlob(
      await new Sealer({ provider: ap, keyId: attacker.id, context: CTX }).seal("evil", "v0"),
    );
    const victimLocal = parseBlob(blobs[0]!).slots[2]!;
    const swapped = replaceKeySlots(forged, [victimLocal, forged.slots[0]!]);
    const err = await failure(decryptValue(swapped, {
      providers: [new LocalKeyProvider({ keys: [local.key] })],
      path: "v0",
      context: CTX,
      trust: KeyAllowlist.of([`local:${local.id}`]),
    }));
    expect(err.code).toBe("BLOB_AUTH_FAILED");
  });

  it("re-encoding the key list keeps salt, IV, commitment and ciphertext byte for byte", async () => {
    const { blobs } = await sealThree(1);
    const p = parseBlob(blobs[0]!);
    const onlyLocal = replaceKeySlots(p, [p.slots[2]!]);
    expect(onlyLocal.startsWith("sealfig:v1:")).toBe(true);
    const q = parseBlob(onlyLocal);
    expect(q.boundHeader).toEqual(p.boundHeader);
    expect(q.ciphertext).toEqual(p.ciphertext);
    expect(
      await decryptValue(onlyLocal, {
        providers: [new LocalKeyProvider({ keys: [local.key] })],
        path: "v0",
        context: CTX,
      }),
    ).toBe("secret-0");
    const back = replaceKeySlots(q, p.slots);
    expect(back).toBe(blobs[0]);
  });

  it("refuses a key listed twice, a key count of 0 or above 16", async () => {
    const { blobs } = await sealThree(1);
    const p = parseBlob(blobs[0]!);
    expect(() => replaceKeySlots(p, [p.slots[0]!, p.slots[0]!])).toThrow(/listed twice/);
    const bytes = Uint8Array.from(
      atob(blobs[0]!.slice("sealfig:v2:".length).replace(/-/g, "+").replace(/_/g, "/")),
      (c) => c.charCodeAt(0),
    );
    for (const n of [0, 17]) {
      const b = bytes.slice();
      b[3] = n;
      const text = "sealfig:v2:" +
        btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(
          /=+$/,
          "",
        );
      expect(() => parseBlob(text)).toThrow(SealfigError);
      try {
        parseBlob(text);
      } catch (e) {
        expect((e as SealfigError).code).toBe("BLOB_MALFORMED");
      }
    }
  });
});
