import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SealfigError } from "../../src/errors.ts";
import type { KmsServer } from "../../src/kms_server/server.ts";
import { KmsKeyProvider } from "../../src/keys/aws_kms.ts";
import { ACCESS_KEY, equalBytes, providerFor, rejection, startTestServer } from "./_kms_fixture.ts";

const CTX = { env: "dev" };

describe("KmsKeyProvider under faults (retries, deadline, access denied, concurrency)", () => {
  let server: KmsServer;
  let keyArn: string;

  beforeAll(async () => {
    server = await startTestServer();
    keyArn = (await server.createKey()).arn;
  });
  afterAll(async () => {
    await server.close();
  });

  async function wrapMany(n: number): Promise<{ wrapped: Uint8Array; plaintext: Uint8Array }[]> {
    // The default per-call deadline (10 s) counts time queued behind the other 999 calls; on a
    // loaded machine that is not what this fixture is about.
    const p = providerFor(server, { maxConcurrency: 32, deadlineMs: 300_000 });
    const out = await Promise.all(
      Array.from({ length: n }, () => p.generateDataKey(keyArn, CTX)),
    );
    p.destroy();
    return out;
  }

  it("a refused connection is KMS_UNAVAILABLE naming ECONNREFUSED, not a bare Error", async () => {
    const closed = await startTestServer();
    const endpoint = closed.endpoint;
    await closed.close(); // nothing listens there now
    const p = new KmsKeyProvider({
      endpoint,
      region: server.region,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: "x" },
      baseDelayMs: 1,
      maxDelayMs: 2,
      maxAttempts: 2,
    });
    const err = await rejection(p.generateDataKey(keyArn, CTX));
    p.destroy();
    expect(err).toBeInstanceOf(SealfigError);
    expect(err.code).toBe("KMS_UNAVAILABLE");
    expect(err.message).toContain("last: ECONNREFUSED");
  });

  it("decryptDataKey() succeeds within the retry budget when 30% of requests are throttled", async () => {
    const deks = await wrapMany(100);
    const kms = providerFor(server, { maxAttempts: 10, maxConcurrency: 8 });
    server.stats.reset();
    server.reseed(7);
    Object.assign(server.faults, { throttleRate: 0.3, operations: ["Decrypt"] });
    try {
      const opened = await Promise.all(deks.map((d) => kms.decryptDataKey(keyArn, d.wrapped, CTX)));
      expect(opened.every((o, i) => equalBytes(o, deks[i]!.plaintext))).toBe(true);
    } finally {
      server.resetFaults();
    }
    const s = kms.stats;
    expect(server.stats.throttled).toBeGreaterThan(10); // the fault really fired
    expect(s.retries).toBe(server.stats.throttled); // one retry per throttled answer
    expect(s.throttled).toBe(server.stats.throttled);
    expect(server.stats.count("Decrypt")).toBe(100 + server.stats.throttled);
    expect(s.attempts).toBe(server.stats.count("Decrypt"));
    kms.destroy();
  });

  it("decryptDataKey() retries 5xx answers (KMSInternalException and a bare 503)", async () => {
    const [dek] = await wrapMany(1);
    const kms = providerFor(server, { maxAttempts: 20 });
    for (const errorKind of ["internal", "unavailable"] as const) {
      server.stats.reset();
      server.reseed(3);
      Object.assign(server.faults, { errorRate: 0.5, errorKind, operations: ["Decrypt"] });
      try {
        for (let i = 0; i < 10; i++) await kms.decryptDataKey(keyArn, dek!.wrapped, CTX);
      } finally {
        server.resetFaults();
      }
      expect(server.stats.errors).toBeGreaterThan(0);
      expect(server.stats.count("Decrypt")).toBe(10 + server.stats.errors);
    }
    kms.destroy();
  });

  it("decryptDataKey() fails with KMS_THROTTLED when throttling outlasts maxAttempts", async () => {
    const [dek] = await wrapMany(1);
    const kms = providerFor(server, { maxAttempts: 3 });
    server.stats.reset();
    Object.assign(server.faults, { throttleRate: 1, operations: ["Decrypt"] });
    try {
      const err = await rejection(kms.decryptDataKey(keyArn, dek!.wrapped, CTX));
      expect(err.code).toBe("KMS_THROTTLED");
      expect(err.keyId).toBe(keyArn);
    } finally {
      server.resetFaults();
    }
    expect(server.stats.count("Decrypt")).toBe(3);
    expect(kms.stats.retries).toBe(2);
    kms.destroy();
  });

  it("decryptDataKey() against a server that never answers fails with KMS_DEADLINE_EXCEEDED", async () => {
    const [dek] = await wrapMany(1);
    const kms = providerFor(server, { deadlineMs: 300 });
    server.stats.reset();
    server.faults.hang = true;
    try {
      const err = await rejection(kms.decryptDataKey(keyArn, dek!.wrapped, CTX));
      expect(err).toBeInstanceOf(SealfigError);
      expect(err.code).toBe("KMS_DEADLINE_EXCEEDED");
      expect(err.keyId).toBe(keyArn);
      expect(server.stats.hung).toBeGreaterThanOrEqual(1);
    } finally {
      server.resetFaults();
      server.releaseHanging();
    }
    kms.destroy();
  });

  it("a connection reset is retried like a network error", async () => {
    const [dek] = await wrapMany(1);
    const kms = providerFor(server, { maxAttempts: 20 });
    server.stats.reset();
    server.reseed(5);
    Object.assign(server.faults, { resetRate: 0.3, operations: ["Decrypt"] });
    try {
      for (let i = 0; i < 20; i++) {
        expect(equalBytes(await kms.decryptDataKey(keyArn, dek!.wrapped, CTX), dek!.plaintext))
          .toBe(true);
      }
    } finally {
      server.resetFaults();
    }
    expect(server.stats.resets).toBeGreaterThan(0);
    expect(kms.stats.retries).toBeGreaterThan(0);
    kms.destroy();
  });

  it("AccessDeniedException is reported as KMS_ACCESS_DENIED with the key ARN and is not retried", async () => {
    const [dek] = await wrapMany(1);
    const kms = providerFor(server);
    server.setPolicy({ [ACCESS_KEY]: { "*": ["GenerateDataKey"] } });
    server.stats.reset();
    try {
      const err = await rejection(kms.decryptDataKey(keyArn, dek!.wrapped, { env: "dev" }));
      expect(err).toBeInstanceOf(SealfigError);
      expect(err.code).toBe("KMS_ACCESS_DENIED");
      expect(err.keyId).toBe(keyArn);
      expect(err.message).toContain(keyArn);
      expect(err.message).toContain("kms:Decrypt");
      expect(String(err.hint)).toContain('{"env":"dev"}');
    } finally {
      server.setPolicy(undefined);
    }
    expect(server.stats.count("Decrypt")).toBe(1);
    expect(kms.stats.attempts).toBe(1);
    expect(kms.stats.retries).toBe(0);
    kms.destroy();
  });

  it("1,000 decrypts of distinct data keys never have more than maxConcurrency requests in flight", async () => {
    const deks = await wrapMany(1000);
    expect(new Set(deks.map((d) => d.wrapped.join())).size).toBe(1000);
    const limit = 8;
    const kms = providerFor(server, { maxConcurrency: limit, deadlineMs: 300_000 });
    server.stats.reset();
    server.faults.latencyMs = 1; // keep requests open long enough to overlap
    let opened: Uint8Array[];
    try {
      opened = await Promise.all(deks.map((d) => kms.decryptDataKey(keyArn, d.wrapped, CTX)));
    } finally {
      server.resetFaults();
    }
    expect(opened.every((o, i) => equalBytes(o, deks[i]!.plaintext))).toBe(true);
    expect(server.stats.count("Decrypt")).toBe(1000);
    expect(server.stats.maxInFlight).toBeLessThanOrEqual(limit);
    expect(server.stats.maxInFlight).toBeGreaterThan(1); // it did run concurrently
    expect(kms.stats.maxInFlight).toBeLessThanOrEqual(limit);
    expect(kms.stats.calls.Decrypt).toBe(1000);
    kms.destroy();
  });
});
