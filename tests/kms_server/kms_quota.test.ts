/**
 * The local KMS server's request-rate quota (a token bucket per account and region, answering
 * ThrottlingException), and what the KMS provider does under it: a direct call keeps its per-call
 * budget; a load's calls are retried until the load's startup deadline, so instances sharing a
 * quota start late instead of failing (docs/kms.md, "Deadlines"). Counts only, never times.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import type { KmsServer } from "../../src/kms_server/server.ts";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { loadConfigWithReport } from "../../src/config/load_config.ts";
import { parseDocument } from "../../src/document/document.ts";
import { sealDocument } from "../../src/document/seal.ts";
import { stampDocument } from "../../src/integrity/verify.ts";
import { SealfigError } from "../../src/errors.ts";
import { makeTempDir, type TempDir } from "../_helpers/tmp_dir.ts";
import {
  ACCESS_KEY,
  providerFor,
  rejection,
  SECRET_KEY,
  startTestServer,
} from "../keys/_kms_fixture.ts";

const CTX = { app: "fleet" };

describe("KMS request-rate quota", () => {
  let server: KmsServer;
  let keyArn: string;
  let kms: KMSClient;
  let clock = 0;
  let tmp: TempDir;

  beforeAll(async () => {
    server = await startTestServer();
    keyArn = (await server.createKey()).arn;
    kms = new KMSClient({
      endpoint: server.endpoint,
      region: server.region,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      maxAttempts: 1,
    });
    tmp = makeTempDir("sealfig-quota-");
  });
  afterAll(async () => {
    kms.destroy();
    await server.close();
    tmp.cleanup();
  });

  it("a full bucket answers `burst` requests, then ThrottlingException until it refills; management calls are not limited", async () => {
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: keyArn, Plaintext: new Uint8Array([1]) }),
    );
    clock = 0;
    server.setQuota({ requestsPerSecond: 10, burst: 5, now: () => clock });
    server.stats.reset();
    try {
      const decrypt = () =>
        kms.send(new DecryptCommand({ KeyId: keyArn, CiphertextBlob })).then(
          () => "ok",
          (e: Error) => e.name,
        );
      const first = [];
      for (let i = 0; i < 8; i++) first.push(await decrypt());
      expect(first).toEqual([
        "ok",
        "ok",
        "ok",
        "ok",
        "ok",
        ...Array(3).fill("ThrottlingException"),
      ]);
      await kms.send(new DescribeKeyCommand({ KeyId: keyArn })); // not a cryptographic operation
      clock += 300; // 3 tokens at 10 per second
      const second = [];
      for (let i = 0; i < 4; i++) second.push(await decrypt());
      expect(second).toEqual(["ok", "ok", "ok", "ThrottlingException"]);
      expect(server.stats.quotaThrottled).toBe(4);
      expect(server.stats.count("Decrypt")).toBe(12);
      expect(server.stats.count("DescribeKey")).toBe(1);
    } finally {
      server.setQuota(undefined);
    }
  });

  it("a direct call under a spent quota fails after maxAttempts; with a caller deadline it keeps retrying", async () => {
    const { plaintext, wrapped } = await providerFor(server).generateDataKey(keyArn, CTX);
    plaintext.fill(0);
    clock = 0;
    server.setQuota({ requestsPerSecond: 1, burst: 1, now: () => clock });
    server.stats.reset();
    const direct = providerFor(server, { maxAttempts: 3 });
    const patient = providerFor(server, { maxAttempts: 3 });
    try {
      (await direct.decryptDataKey(keyArn, wrapped, CTX)).fill(0); // the one token
      const err = await rejection(direct.decryptDataKey(keyArn, wrapped, CTX));
      expect(err).toBeInstanceOf(SealfigError);
      expect((err as unknown as SealfigError).code).toBe("KMS_THROTTLED");
      expect(direct.stats.attempts).toBe(1 + 3);
      const late = await rejection(
        patient.decryptDataKey(keyArn, wrapped, CTX, { deadline: Date.now() + 300 }),
      );
      expect((late as unknown as SealfigError).code).toMatch(/^KMS_(DEADLINE_EXCEEDED|THROTTLED)$/);
      expect(patient.stats.throttled).toBeGreaterThan(3); // throttles did not use up maxAttempts
      // Every attempt was throttled, but the last one may have been cut off by the deadline.
      expect(patient.stats.attempts - patient.stats.throttled).toBeGreaterThanOrEqual(0);
      expect(patient.stats.attempts - patient.stats.throttled).toBeLessThanOrEqual(1);
    } finally {
      server.setQuota(undefined);
      direct.destroy();
      patient.destroy();
    }
  });

  it("instances sharing a quota all start (late): every load succeeds, every throttle is retried", async () => {
    // 4 instances × (10 values, one data key each, + the integrity key) = 44 Decrypt requests
    // against a bucket of 4 refilled at 100/s: most first attempts are throttled.
    const seal = providerFor(server);
    let plain = "";
    for (let i = 0; i < 10; i++) plain += `v${i}: !secret value-${i}\n`;
    const { document } = await sealDocument(parseDocument(plain), {
      provider: seal,
      keyId: keyArn,
      context: CTX,
      dekPolicy: "per-value",
    });
    const stamped = await stampDocument(document, {
      provider: seal,
      keyId: keyArn,
      context: CTX,
      generation: 1,
    });
    seal.destroy();
    const file = tmp.write("app.yaml", stamped.document.toBytes());
    server.setQuota({ requestsPerSecond: 100, burst: 4 });
    server.stats.reset();
    // maxAttempts 2: under a per-call budget most of these calls would fail.
    const providers = Array.from({ length: 4 }, () => providerFor(server, { maxAttempts: 2 }));
    try {
      const results = await Promise.allSettled(providers.map((p) =>
        loadConfigWithReport({
          files: [file],
          providers: [p],
          cache: new DekCache(),
          context: CTX,
          trustedKeys: [keyArn],
          concurrency: 8,
        })
      ));
      expect(results.map((r) => r.status)).toEqual(Array(4).fill("fulfilled"));
      for (const r of results) {
        const { config, report } = (r as PromiseFulfilledResult<
          Awaited<ReturnType<typeof loadConfigWithReport>>
        >).value;
        expect((config as Record<string, string>)["v9"]).toBe("value-9");
        expect(report.providerCalls).toBe(11);
      }
      const throttled = providers.reduce((n, p) => n + p.stats.throttled, 0);
      expect(server.stats.quotaThrottled).toBeGreaterThan(0);
      expect(throttled).toBe(server.stats.quotaThrottled);
      expect(server.stats.count("Decrypt")).toBe(44 + throttled);
    } finally {
      server.setQuota(undefined);
      for (const p of providers) p.destroy();
    }
  });
});
