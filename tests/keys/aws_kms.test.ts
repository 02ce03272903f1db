import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DisableKeyCommand,
  EncryptCommand,
  KMSClient,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from "@aws-sdk/client-kms";
import { isSealfigError, SealfigError } from "../../src/errors.ts";
import { kmsKeyFromEnv, KmsKeyProvider } from "../../src/keys/aws_kms.ts";
import type { KmsServer } from "../../src/kms_server/server.ts";
import { toBase64Url, toHex } from "../../src/crypto/bytes.ts";
import { inspectValue } from "../../src/runtime.ts";
import {
  ACCESS_KEY,
  equalBytes,
  noCredentials,
  providerFor,
  rejection,
  SECRET_KEY,
  startTestServer,
} from "./_kms_fixture.ts";

const CTX = { app: "shop", env: "dev" };

function sdkClient(server: KmsServer, region = server.region): KMSClient {
  return new KMSClient({
    endpoint: server.endpoint,
    region,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
  });
}

function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

describe("KmsKeyProvider over the real SDK and the local KMS server", () => {
  let server: KmsServer;
  let kms: KmsKeyProvider;
  let sdk: KMSClient;

  beforeAll(async () => {
    server = await startTestServer();
    kms = providerFor(server);
    sdk = sdkClient(server);
  });
  afterAll(async () => {
    kms.destroy();
    sdk.destroy();
    await server.close();
  });

  it("generateDataKey() then decryptDataKey() returns the same 32-byte data key", async () => {
    const key = await server.createKey();
    const dek = await kms.generateDataKey(key.arn, CTX);
    expect(dek.plaintext.length).toBe(32);
    expect(dek.keyId).toBe(key.arn);
    const again = await kms.decryptDataKey(dek.keyId, dek.wrapped, CTX);
    expect(equalBytes(again, dek.plaintext)).toBe(true);
    expect(kms.id).toBe("aws-kms");
  });

  it("generateDataKey() through an alias name or alias ARN records the key ARN", async () => {
    const key = await server.createKey({ alias: "alias/shop-dev" });
    const viaName = await kms.generateDataKey("alias/shop-dev", CTX);
    const viaArn = await kms.generateDataKey(
      `arn:aws:kms:${server.region}:${server.account}:alias/shop-dev`,
      CTX,
    );
    const viaId = await kms.generateDataKey(key.keyId, CTX);
    expect([viaName.keyId, viaArn.keyId, viaId.keyId]).toEqual([key.arn, key.arn, key.arn]);
    // The alias moves to another key: blobs sealed earlier still open through the recorded ARN.
    const other = await server.createKey();
    await server.setAlias("alias/shop-dev", other.arn);
    const opened = await kms.decryptDataKey(viaName.keyId, viaName.wrapped, CTX);
    expect(equalBytes(opened, viaName.plaintext)).toBe(true);
    expect((await kms.generateDataKey("alias/shop-dev", CTX)).keyId).toBe(other.arn);
  });

  it("rewrapDataKey() moves a data key to a second key with ReEncrypt; the new key opens it", async () => {
    const a = await server.createKey();
    const b = await server.createKey();
    const dek = await kms.generateDataKey(a.arn, CTX);
    const before = kms.stats.calls;
    const moved = await kms.rewrapDataKey(a.arn, dek.wrapped, CTX, b.arn);
    expect(moved.keyId).toBe(b.arn);
    expect(kms.stats.calls.ReEncrypt).toBe((before.ReEncrypt ?? 0) + 1);
    expect(kms.stats.calls.Decrypt ?? 0).toBe(before.Decrypt ?? 0); // no Decrypt on the way
    expect(equalBytes(await kms.decryptDataKey(b.arn, moved.wrapped, CTX), dek.plaintext)).toBe(
      true,
    );
    const wrongKey = await rejection(kms.decryptDataKey(a.arn, moved.wrapped, CTX));
    expect(wrongKey).toBeInstanceOf(SealfigError);
    expect(wrongKey.code).toBe("KMS_INCORRECT_KEY");
    expect(wrongKey.keyId).toBe(a.arn);
  });

  it("decryptDataKey() still opens data keys wrapped before RotateKeyOnDemand", async () => {
    const key = await server.createKey();
    const old = await kms.generateDataKey(key.arn, CTX);
    await sdk.send(new RotateKeyOnDemandCommand({ KeyId: key.arn }));
    expect(server.materialVersions(key.arn)).toBe(2);
    const fresh = await kms.generateDataKey(key.arn, CTX);
    expect(equalBytes(await kms.decryptDataKey(key.arn, old.wrapped, CTX), old.plaintext)).toBe(
      true,
    );
    expect(equalBytes(await kms.decryptDataKey(key.arn, fresh.wrapped, CTX), fresh.plaintext)).toBe(
      true,
    );
  });

  it("decryptDataKey() with a disabled key fails with KMS_KEY_DISABLED naming the ARN", async () => {
    const key = await server.createKey();
    const dek = await kms.generateDataKey(key.arn, CTX);
    await sdk.send(new DisableKeyCommand({ KeyId: key.arn }));
    const err = await rejection(kms.decryptDataKey(key.arn, dek.wrapped, CTX));
    expect(isSealfigError(err, "KMS_KEY_DISABLED")).toBe(true);
    expect(err.keyId).toBe(key.arn);
    expect(err.message).toContain(key.arn);
    expect(err.message).toContain("enable-key");
  });

  it("decryptDataKey() with another encryption context fails with KMS_INVALID_CIPHERTEXT", async () => {
    const key = await server.createKey();
    const dek = await kms.generateDataKey(key.arn, CTX);
    const err = await rejection(kms.decryptDataKey(key.arn, dek.wrapped, { ...CTX, env: "prod" }));
    expect(err).toBeInstanceOf(SealfigError);
    expect(err.code).toBe("KMS_INVALID_CIPHERTEXT");
    expect(err.keyId).toBe(key.arn);
    const corrupted = new Uint8Array(dek.wrapped);
    corrupted[corrupted.length - 1]! ^= 1;
    expect((await rejection(kms.decryptDataKey(key.arn, corrupted, CTX))).code).toBe(
      "KMS_INVALID_CIPHERTEXT",
    );
  });

  it("maps a key pending deletion to KMS_INVALID_STATE and a missing key to KMS_KEY_NOT_FOUND", async () => {
    const key = await server.createKey();
    const dek = await kms.generateDataKey(key.arn, CTX);
    await sdk.send(new ScheduleKeyDeletionCommand({ KeyId: key.arn, PendingWindowInDays: 7 }));
    expect((await rejection(kms.decryptDataKey(key.arn, dek.wrapped, CTX))).code).toBe(
      "KMS_INVALID_STATE",
    );
    const missing =
      `arn:aws:kms:${server.region}:${server.account}:key/00000000-0000-4000-8000-000000000000`;
    const err = await rejection(kms.generateDataKey(missing, CTX));
    expect(err.code).toBe("KMS_KEY_NOT_FOUND");
    expect(err.keyId).toBe(missing);
    expect((await rejection(kms.generateDataKey("alias/does-not-exist", CTX))).code).toBe(
      "KMS_KEY_NOT_FOUND",
    );
  });

  it("maps an unknown access key to KMS_CREDENTIALS_INVALID and missing credentials to KMS_CREDENTIALS_MISSING", async () => {
    const key = await server.createKey();
    server.setPolicy({ [ACCESS_KEY]: { "*": ["*"] } });
    try {
      const stranger = providerFor(server, {
        credentials: { accessKeyId: "AKIDSTRANGER", secretAccessKey: "x" },
      });
      expect((await rejection(stranger.generateDataKey(key.arn, CTX))).code).toBe(
        "KMS_CREDENTIALS_INVALID",
      );
      stranger.destroy();
    } finally {
      server.setPolicy(undefined);
    }
    // A credential provider that finds nothing fails the way the SDK's default chain does.
    const noCreds = new KmsKeyProvider({
      endpoint: server.endpoint,
      region: server.region,
      clientFactory: noCredentials,
    });
    const err = await rejection(noCreds.generateDataKey(key.arn, CTX));
    expect(err.code).toBe("KMS_CREDENTIALS_MISSING");
    expect(noCreds.stats.retries).toBe(0);
    noCreds.destroy();
  });

  it("keeps one cached client per region and endpoint", async () => {
    const p = providerFor(server);
    const key = await server.createKey();
    await Promise.all([1, 2, 3].map(() => p.generateDataKey(key.arn, CTX)));
    await p.generateDataKey("alias/shop-dev", CTX); // no region in the reference: the option's
    expect(p.stats.clientsCreated).toBe(1); // ARN region and option region are both us-east-1
    const west = await server.createKey({ region: "us-west-2" });
    await p.generateDataKey(west.arn, CTX);
    await p.generateDataKey(west.arn, CTX);
    expect(p.stats.clientsCreated).toBe(2);
    p.destroy();
  });

  it("decryptDataKey() of a multi-Region key goes through the preferred region's replica first", async () => {
    const primary = await server.createKey({ multiRegion: true });
    expect(primary.keyId.startsWith("mrk-")).toBe(true);
    const replica = await server.replicateKey(primary.arn, "eu-west-1");
    expect(replica.arn).toBe(primary.arn.replace(server.region, "eu-west-1"));
    const dek = await kms.generateDataKey(primary.arn, CTX);
    const near = providerFor(server, { preferredRegion: "eu-west-1" });
    server.stats.reset();
    expect(equalBytes(await near.decryptDataKey(primary.arn, dek.wrapped, CTX), dek.plaintext))
      .toBe(true);
    expect(server.stats.count("Decrypt")).toBe(1);
    expect(near.stats.fallbacks).toBe(0);
    // No replica in ap-south-1: falls back to the recorded region.
    const far = providerFor(server, { preferredRegion: "ap-south-1" });
    expect(equalBytes(await far.decryptDataKey(primary.arn, dek.wrapped, CTX), dek.plaintext)).toBe(
      true,
    );
    expect(far.stats.fallbacks).toBe(1);
    near.destroy();
    far.destroy();
  });

  it("error messages, JSON and inspect output never contain the data key or the credentials", async () => {
    const key = await server.createKey();
    const canary = new TextEncoder().encode("CANARY-DEK-0123456789abcdefghijk");
    expect(canary.length).toBe(32);
    const { CiphertextBlob } = await sdk.send(
      new EncryptCommand({ KeyId: key.arn, Plaintext: canary, EncryptionContext: CTX }),
    );
    const wrapped = CiphertextBlob!;
    const generated = await kms.generateDataKey(key.arn, CTX);
    const errors = [
      await rejection(kms.decryptDataKey(key.arn, wrapped, { env: "other" })),
      await rejection(kms.decryptDataKey(key.arn, generated.wrapped, { env: "other" })),
    ];
    await sdk.send(new DisableKeyCommand({ KeyId: key.arn }));
    errors.push(await rejection(kms.decryptDataKey(key.arn, wrapped, CTX)));
    const secrets = [canary, generated.plaintext].flatMap((
      s,
    ) => [b64(s), toBase64Url(s), toHex(s), toHex(s).toUpperCase()]);
    secrets.push("CANARY-DEK", SECRET_KEY);
    for (const err of errors) {
      const located = (err as unknown as SealfigError).withLocation({
        file: "config/prod.yaml",
        path: "db.password",
      });
      const texts = [
        String(err),
        err.stack ?? "",
        JSON.stringify(err),
        inspectValue(err),
        inspectValue(located),
        JSON.stringify(located),
      ];
      for (const text of texts) for (const s of secrets) expect(text.includes(s)).toBe(false);
    }
    const providerText = inspectValue(kms) + JSON.stringify(kms) + inspectValue(kms.stats);
    expect(providerText.includes(SECRET_KEY)).toBe(false);
  });

  it("kmsKeyFromEnv() returns undefined when unset and rejects a value that is not a key reference", () => {
    expect(kmsKeyFromEnv({ name: "SEALFIG_TEST_SURELY_UNSET_VARIABLE" })).toBeUndefined();
    // PATH is set and is not a key reference.
    const err = (() => {
      try {
        kmsKeyFromEnv({ name: "PATH" });
      } catch (e) {
        return e as SealfigError;
      }
      return undefined;
    })();
    expect(err?.code).toBe("OPTION_INVALID");
  });

  it("the KmsKeyProvider constructor rejects invalid options with OPTION_INVALID", () => {
    expect(() => new KmsKeyProvider({ maxConcurrency: 0 })).toThrow(SealfigError);
    expect(() => new KmsKeyProvider({ deadlineMs: -1 })).toThrow(/deadlineMs/);
  });
});
