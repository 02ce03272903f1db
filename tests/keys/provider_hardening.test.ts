/**
 * Issue 19, provider and cache: a malformed KMS answer never puts response text (part of a
 * plaintext data key) in an error; the key KMS answers with is checked; cache entries are scoped
 * per provider instance; expired keys are zeroed without being touched; clear() wins over loads
 * in flight; a file refused anyway costs no provider call.
 *
 * KMS is the real SDK against the local KMS server over HTTP; a small proxy in front of the
 * server's handler rewrites answers only to force the faults.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DekCache, parseDocument, sealDocument } from "../../document.ts";
import { createKmsHandler, startKmsServer } from "../../kms_server.ts";
import { KmsKeyProvider, loadConfig } from "../../mod.ts";
import type { KmsHandler, KmsServer } from "../../kms_server.ts";
import { type HttpServerHandle, serveHttp } from "../../src/runtime.ts";
import { fromBase64Url } from "../../src/crypto/bytes.ts";
import { isSealfigError, type SealfigError } from "../../src/errors.ts";
import { byteForms, renderings } from "../_helpers/leaks.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const tmp = makeTempDir("sealfig-provider-hardening-");
let kms: KmsServer;
afterAll(async () => {
  await kms?.close();
  tmp.cleanup();
});
beforeAll(async () => {
  kms = await startKmsServer({
    seed: 19,
    policy: {
      AKIDALLOWED: { "*": ["*"] },
      AKIDDENIED: { "*": ["GenerateDataKey", "DescribeKey"] },
    },
  });
});

function provider(endpoint: string, accessKeyId = "AKIDALLOWED"): KmsKeyProvider {
  return new KmsKeyProvider({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId, secretAccessKey: "x" },
    maxAttempts: 2,
    baseDelayMs: 1,
    maxDelayMs: 2,
  });
}

async function failure(p: Promise<unknown>): Promise<SealfigError> {
  try {
    await p;
  } catch (err) {
    if (isSealfigError(err)) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

/** The local KMS handler behind a proxy that may rewrite an operation's JSON answer. */
async function proxied(
  rewrite: (op: string, body: string) => string | { status: number; body: string } | undefined,
): Promise<{ handler: KmsHandler; http: HttpServerHandle; endpoint: string; seen: string[] }> {
  const handler = createKmsHandler({ seed: 7 });
  const seen: string[] = [];
  const http = await serveHttp(async (request) => {
    const op = (request.headers.get("x-amz-target") ?? "").replace("TrentService.", "");
    const response = await handler.handle(request);
    const text = await response.text();
    seen.push(text);
    const out = rewrite(op, text);
    if (out === undefined) {
      return new Response(text, { status: response.status, headers: response.headers });
    }
    const { status, body } = typeof out === "string" ? { status: 200, body: out } : out;
    return new Response(body, {
      status,
      headers: { "content-type": "application/x-amz-json-1.1" },
    });
  });
  return { handler, http, endpoint: `http://127.0.0.1:${http.port}`, seen };
}

/** Every form of the data key a Decrypt answer held, as the leak scan searches for it. */
function dataKeyForms(answer: string): string[] {
  const b64 = (JSON.parse(answer) as { Plaintext: string }).Plaintext;
  const bytes = fromBase64Url(b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")) ??
    new Uint8Array();
  // Any 8-character piece of the base64 text, and the byte forms of the key.
  const pieces: string[] = [];
  for (let i = 0; i + 8 <= b64.length; i++) pieces.push(b64.slice(i, i + 8));
  return [...pieces, ...byteForms(bytes)];
}

describe("KMS answers that cannot be trusted", () => {
  it("a truncated or mistyped Decrypt answer gives fixed text, never the response body", async () => {
    const cuts: ((body: string) => string | { status: number; body: string })[] = [
      (b) => b.replace(/"Plaintext":"([^"]*)"/, '"Plaintext":$1'), // the key unquoted
      (b) => b.slice(0, b.indexOf('"Plaintext"') + 30), // cut inside the key
      (b) => b.replace(/"Plaintext":"/, '"Plaintext":"!!'), // not base64
      (b) => b.replace(/"KeyId"/, '"KeyId":7,"x"'), // a number where a string goes
      (b) => `${b.slice(0, -1)},}`, // trailing comma
      (b) => ({ status: 500, body: `<html>${b}</html>` }), // an HTML error page quoting it
    ];
    let checked = 0;
    for (const [i, cut] of cuts.entries()) {
      let active = false;
      const p = await proxied((op, body) => (active && op === "Decrypt" ? cut(body) : undefined));
      try {
        const key = await p.handler.createKey();
        const kp = provider(p.endpoint);
        const made = await kp.generateDataKey(key.arn, { case: String(i) });
        active = true;
        const err = await failure(kp.decryptDataKey(key.arn, made.wrapped, { case: String(i) }));
        expect(["PROVIDER_FAILED", "KMS_UNAVAILABLE", "KMS_INCORRECT_KEY"], err.message).toContain(
          err.code,
        );
        const text = renderings(err);
        const decryptAnswer = p.seen.find((s) =>
          s.includes('"Plaintext"') && s.includes(key.arn) &&
          !s.includes("CiphertextBlob")
        );
        expect(decryptAnswer).toBeDefined();
        for (const form of dataKeyForms(decryptAnswer!)) expect(text).not.toContain(form);
        expect(text).not.toContain("Plaintext");
        kp.destroy();
        checked++;
      } finally {
        await p.http.close();
      }
    }
    expect(checked).toBe(cuts.length);
  });

  it("an answer naming another key than the one asked for is KMS_INCORRECT_KEY", async () => {
    let other = "";
    let ops: string[] = [];
    const p = await proxied((op, body) => {
      if (!ops.includes(op)) return undefined;
      const json = JSON.parse(body) as Record<string, unknown>;
      json.KeyId = other;
      return JSON.stringify(json);
    });
    try {
      const key = await p.handler.createKey();
      other = (await p.handler.createKey()).arn;
      const kp = provider(p.endpoint);
      const made = await kp.generateDataKey(key.arn, {});
      ops = ["Decrypt"];
      const err = await failure(kp.decryptDataKey(key.arn, made.wrapped, {}));
      expect(err.code).toBe("KMS_INCORRECT_KEY");
      expect(err.message).toContain(other);
      ops = ["GenerateDataKey"];
      expect((await failure(kp.generateDataKey(key.arn, {}))).code).toBe("KMS_INCORRECT_KEY");
      ops = ["ReEncrypt"];
      const to = (await p.handler.createKey()).arn;
      expect((await failure(kp.rewrapDataKey(key.arn, made.wrapped, {}, to))).code).toBe(
        "KMS_INCORRECT_KEY",
      );
      // Unchanged answers still work (and an alias cannot be checked, so it is not).
      ops = [];
      expect(await kp.decryptDataKey(key.arn, made.wrapped, {})).toHaveLength(32);
      kp.destroy();
    } finally {
      await p.http.close();
    }
  });
});

describe("the data key cache and the loader", () => {
  it("a provider whose credentials are denied is never handed what another one unwrapped", async () => {
    const key = await kms.createKey();
    const allowed = provider(kms.endpoint, "AKIDALLOWED");
    const denied = provider(kms.endpoint, "AKIDDENIED");
    const { document } = await sealDocument(parseDocument("db:\n  password: !secret pw-19\n"), {
      provider: allowed,
      keyId: key.arn,
      context: {},
    });
    tmp.write("scoped.yaml", document.toBytes());
    const cache = new DekCache(); // one cache shared by both loads, like the process-wide one
    const options = { files: [tmp.path("scoped.yaml")], cache, integrity: "off" as const };
    const config = await loadConfig({ ...options, providers: [allowed], trustedKeys: [key.arn] });
    expect((config.db as { password: string }).password).toBe("pw-19");
    const before = kms.stats.count("Decrypt");
    const err = await failure(
      loadConfig({ ...options, providers: [denied], trustedKeys: [key.arn] }),
    );
    expect(err.code).toBe("KMS_ACCESS_DENIED");
    expect(kms.stats.count("Decrypt") - before).toBe(1);
    // The same instance again: a cache hit, no call.
    await loadConfig({ ...options, providers: [allowed], trustedKeys: [key.arn] });
    expect(kms.stats.count("Decrypt") - before).toBe(1);
    allowed.destroy();
    denied.destroy();
  });

  it("a file without its required record is refused before any provider call", async () => {
    const key = await kms.createKey();
    const kp = provider(kms.endpoint);
    const { document } = await sealDocument(
      parseDocument("a: !secret one\nb: !secret two\n"),
      { provider: kp, keyId: key.arn, context: {} },
    );
    // sealDocument writes no record: this is a sealed file without one.
    expect(document.toString()).not.toContain("sealfig_integrity");
    tmp.write("norecord.yaml", document.toBytes());
    const before = kms.stats.total;
    kp.resetStats();
    const err = await failure(loadConfig({
      files: [tmp.path("norecord.yaml")],
      providers: [kp],
      cache: new DekCache(),
      trustedKeys: [key.arn],
    }));
    expect(err.code).toBe("INTEGRITY_MISSING");
    expect(kms.stats.total - before).toBe(0);
    expect(kp.stats.calls).toEqual({});
    kp.destroy();
  });
});

describe("DekCache lifetime", () => {
  const id = (n: number, scope?: object) => ({
    providerId: "local",
    keyId: "lk_test",
    wrapped: Uint8Array.of(n),
    context: {},
    ...(scope ? { scope } : {}),
  });
  const fresh = () => new Uint8Array(32).fill(9);

  it("expired keys are zeroed when the cache is used for anything, not only when touched", async () => {
    let now = 0;
    const cache = new DekCache({ ttlMs: 100, now: () => now, expiryTimer: false });
    const handed: Uint8Array[] = [];
    const load = () => {
      const k = fresh();
      handed.push(k);
      return Promise.resolve(k);
    };
    await cache.get(id(1), load);
    now = 50;
    await cache.get(id(2), load);
    now = 100;
    expect(cache.size).toBe(1); // entry 1 expired and was dropped by the size query
    expect(handed[0]!.every((b) => b === 0)).toBe(true);
    expect(handed[1]!.some((b) => b !== 0)).toBe(true);
    now = 150;
    await cache.get(id(3), load); // a use of another entry drops entry 2
    expect(handed[1]!.every((b) => b === 0)).toBe(true);
    expect(cache.stats()).toMatchObject({ evictions: 2, size: 1 });
  });

  it("an idle cache zeroes expired keys by its own (unref'd) timer", async () => {
    const cache = new DekCache({ ttlMs: 20 });
    const bytes = fresh();
    await cache.get(id(1), () => Promise.resolve(bytes));
    // Timers fire in deadline order: this later one runs after the cache's expiry timer.
    await new Promise((r) => setTimeout(r, 200));
    expect(bytes.every((b) => b === 0)).toBe(true);
    expect(cache.stats()).toMatchObject({ evictions: 1, size: 0 });
  });

  it("clear() wins over a load in flight: its key is handed out, zeroed, not cached", async () => {
    const cache = new DekCache({ expiryTimer: false });
    let release!: (b: Uint8Array) => void;
    const bytes = fresh();
    const first = cache.get(id(1), () => new Promise((r) => (release = r)));
    await Promise.resolve();
    cache.clear();
    // A request after clear() does not join the forgotten load.
    let calls = 0;
    const second = cache.get(id(1), () => {
      calls++;
      return Promise.resolve(fresh());
    });
    release(bytes);
    const [a, b] = await Promise.all([first, second]);
    expect(a).not.toBe(b);
    expect(calls).toBe(1);
    expect(bytes.every((x) => x === 0)).toBe(true);
    expect(cache.size).toBe(1); // only the post-clear load
    expect(cache.stats().providerCalls).toBe(2);
  });

  it("entries are scoped per provider instance", async () => {
    const cache = new DekCache({ expiryTimer: false });
    const [p1, p2] = [{}, {}];
    let calls = 0;
    const load = () => {
      calls++;
      return Promise.resolve(fresh());
    };
    await cache.get(id(1, p1), load);
    await cache.get(id(1, p1), load);
    await cache.get(id(1, p2), load);
    await cache.get(id(1), load);
    expect(calls).toBe(3);
  });
});
