import { describe, expect, it } from "vitest";
import {
  BLOB_PREFIX,
  decryptValue,
  DekCache,
  encryptValue,
  parseBlob,
  Sealer,
} from "../../document.ts";
import { LocalKeyProvider, SealfigError } from "../../mod.ts";
import type { SecretValue } from "../../document.ts";
import type { KeyProvider } from "../../mod.ts";
import { byteForms, CountingProvider, renderings } from "../_helpers/leaks.ts";
import { replaceKeySlot } from "../../src/envelope/format.ts";

const { id: keyId, key } = await LocalKeyProvider.generateKey();
const provider = new LocalKeyProvider({ keys: [key] });
const context = { app: "shop", env: "prod" };

async function roundTrip(value: SecretValue, path = "db.password"): Promise<SecretValue> {
  const blob = await encryptValue(value, { provider, keyId, path, context });
  return decryptValue(blob, { providers: [provider], path, context });
}

async function failure(p: Promise<unknown>): Promise<SealfigError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SealfigError);
  return err as SealfigError;
}

describe("encryptValue() / decryptValue() round trips", () => {
  it("round-trips every value type", async () => {
    const values: SecretValue[] = [
      "hunter2",
      "",
      "multi\nline\r\nvalue\n",
      "unicode: pässwörd ✓ 秘密 🔐",
      "NUL\u0000inside",
      "x".repeat(64 * 1024),
      0,
      -1,
      Number.MAX_SAFE_INTEGER,
      2n ** 100n,
      -(2n ** 70n),
      3.14159,
      1e-300,
      NaN,
      Infinity,
      -Infinity,
      -0,
      true,
      false,
      null,
    ];
    for (const v of values) {
      const out = await roundTrip(v);
      expect(Object.is(out, v) || out === v, `value ${String(v).slice(0, 20)}`).toBe(true);
    }
  });

  it("keeps the integer/float distinction when the type is given", async () => {
    const blob = await encryptValue(1, { provider, keyId, path: "x", type: "float" });
    expect(parseBlob(blob).valueType).toBe("float");
    expect(await decryptValue(blob, { providers: [provider], path: "x" })).toBe(1);
  });

  it("produces a single-line ASCII blob usable as a YAML plain scalar, JSON string and .env value", async () => {
    const blob = await encryptValue("line1\nline2 \"quoted\" 'x' #not-a-comment", {
      provider,
      keyId,
      path: "a",
    });
    expect(blob.startsWith(BLOB_PREFIX)).toBe(true);
    expect(blob).toMatch(/^sealfig:v1:[A-Za-z0-9_-]+$/);
    expect(JSON.parse(JSON.stringify(blob))).toBe(blob);
  });

  it("rejects values it cannot seal with VALUE_INVALID", async () => {
    const err = await failure(
      encryptValue("x".repeat(1024 * 1024 + 1), { provider, keyId, path: "big" }),
    );
    expect(err.code).toBe("VALUE_INVALID");
    expect(err.path).toBe("big");
    const lone = await failure(encryptValue("\ud800", { provider, keyId, path: "s" }));
    expect(lone.code).toBe("VALUE_INVALID");
  });
});

describe("decryptValue() binds path and context", () => {
  it("rejects a blob moved to another path", async () => {
    const blob = await encryptValue("s3cret", { provider, keyId, path: "db.password", context });
    const err = await failure(
      decryptValue(blob, { providers: [provider], path: "db.user", context, file: "prod.yaml" }),
    );
    expect(err.code).toBe("BLOB_AUTH_FAILED");
    expect(err.path).toBe("db.user");
    expect(err.message).toContain("prod.yaml");
  });

  it("distinguishes a key containing the separator from a nested path", async () => {
    const blob = await encryptValue("v", { provider, keyId, path: ["a.b"] });
    expect(await decryptValue(blob, { providers: [provider], path: '["a.b"]' })).toBe("v");
    const err = await failure(decryptValue(blob, { providers: [provider], path: "a.b" }));
    expect(err.code).toBe("BLOB_AUTH_FAILED");
  });

  it("distinguishes a sequence index from a map key that looks like one", async () => {
    const blob = await encryptValue("v", { provider, keyId, path: ["list", 0] });
    expect(await decryptValue(blob, { providers: [provider], path: "list[0]" })).toBe("v");
    expect((await failure(decryptValue(blob, { providers: [provider], path: "list.0" }))).code)
      .toBe("BLOB_AUTH_FAILED");
  });

  it("rejects a blob opened with another file context", async () => {
    const blob = await encryptValue("s3cret", { provider, keyId, path: "p", context });
    const err = await failure(
      decryptValue(blob, {
        providers: [provider],
        path: "p",
        context: { app: "shop", env: "dev" },
      }),
    );
    expect(["DEK_UNWRAP_FAILED", "BLOB_AUTH_FAILED"]).toContain(err.code);
  });

  it("rejects a blob whose provider is not configured, before any provider call", async () => {
    const blob = await encryptValue("s3cret", { provider, keyId, path: "p" });
    const err = await failure(decryptValue(blob, { providers: [], path: "p" }));
    expect(err.code).toBe("PROVIDER_UNKNOWN");
  });
});

describe("tamper detection", () => {
  it("fails with a typed error for every single-character change of a blob", async () => {
    const blob = await encryptValue("tamper-canary-7d1e", { provider, keyId, path: "p", context });
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const codes = new Map<string, number>();
    const cache = new DekCache();
    for (let i = 0; i < blob.length; i++) {
      const c = blob[i]!;
      const replacement = alphabet[(alphabet.indexOf(c) + 1) % alphabet.length] ?? "A";
      const tampered = blob.slice(0, i) + (replacement === c ? "B" : replacement) +
        blob.slice(i + 1);
      const err = await failure(
        decryptValue(tampered, { providers: [provider], path: "p", context, cache }),
      );
      codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
      expect(renderings(err)).not.toContain("tamper-canary-7d1e");
    }
    let total = 0;
    for (const n of codes.values()) total += n;
    expect(total).toBe(blob.length);
    for (const code of codes.keys()) {
      expect([
        "BLOB_MALFORMED",
        "BLOB_UNSUPPORTED",
        "BLOB_AUTH_FAILED",
        "PROVIDER_UNKNOWN",
        "KEY_NOT_FOUND",
        "DEK_UNWRAP_FAILED",
      ]).toContain(code);
    }
  });

  it("fails with a typed error for every single-bit flip of the decoded bytes", async () => {
    const blob = await encryptValue("bitflip", { provider, keyId, path: "p" });
    const bytes = decode(blob);
    for (let i = 0; i < bytes.length; i++) {
      const copy = bytes.slice();
      copy[i]! ^= 0x01;
      const err = await failure(decryptValue(encode(copy), { providers: [provider], path: "p" }));
      expect(err.code).not.toBe("PROVIDER_FAILED");
    }
  });

  it("fails for every truncation of a blob", async () => {
    const blob = await encryptValue("truncate me", { provider, keyId, path: "p" });
    for (let n = 0; n < blob.length; n++) {
      await failure(decryptValue(blob.slice(0, n), { providers: [provider], path: "p" }));
    }
  });
});

describe("re-wrapping", () => {
  it("a blob re-wrapped to another key keeps its ciphertext and still opens", async () => {
    const other = await LocalKeyProvider.generateKey();
    const both = new LocalKeyProvider({ keys: [key, other.key] });
    const blob = await encryptValue("rewrap-me", { provider: both, keyId, path: "p", context });
    const parsed = parseBlob(blob);
    const re = await both.rewrapDataKey(keyId, parsed.wrappedDek, context, other.id);
    const moved = replaceKeySlot(parsed, {
      providerId: "local",
      keyId: other.id,
      wrappedDek: re.wrapped,
    });
    const after = parseBlob(moved);
    expect(after.keyId).toBe(other.id);
    expect(after.ciphertext).toEqual(parsed.ciphertext);
    expect(after.salt).toEqual(parsed.salt);
    expect(await decryptValue(moved, { providers: [both], path: "p", context })).toBe("rewrap-me");
    // Only the new key is needed now.
    const onlyNew = new LocalKeyProvider({ keys: [other.key] });
    expect(await decryptValue(moved, { providers: [onlyNew], path: "p", context })).toBe(
      "rewrap-me",
    );
  });
});

describe("data key sharing", () => {
  it("1,000 concurrent decryptValue() calls over one data key make exactly 1 provider call", async () => {
    const counting = new CountingProvider(provider);
    const sealer = new Sealer({ provider, keyId, context, maxValuesPerDek: 1000 });
    const blobs = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => sealer.seal(`value-${i}`, ["k", i])),
    );
    sealer.dispose();
    expect(new Set(blobs.map((b) => parseBlob(b).wrappedDek.join(","))).size).toBe(1);
    const cache = new DekCache();
    const out = await Promise.all(
      blobs.map((b, i) =>
        decryptValue(b, { providers: [counting], path: ["k", i], context, cache })
      ),
    );
    expect(out[999]).toBe("value-999");
    expect(counting.decryptCalls).toBe(1);
    expect(cache.stats().providerCalls).toBe(1);
  });

  it("Sealer generates ⌈n / maxValuesPerDek⌉ data keys", async () => {
    const counting = new CountingProvider(provider);
    const sealer = new Sealer({ provider: counting, keyId, maxValuesPerDek: 3 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => sealer.seal(i, `v${i}`)));
    expect(counting.generateCalls).toBe(4);
    expect(sealer.dataKeysGenerated).toBe(4);
    sealer.dispose();
  });

  it("a provider failure while sealing names the value's path, and the next value retries", async () => {
    let fail = true;
    const flaky: KeyProvider = {
      id: provider.id,
      generateDataKey: (k, c) => {
        if (fail) {
          fail = false;
          return Promise.reject(new SealfigError("KEY_NOT_FOUND", "no such key"));
        }
        return provider.generateDataKey(k, c);
      },
      decryptDataKey: (k, w, c) => provider.decryptDataKey(k, w, c),
    };
    const sealer = new Sealer({ provider: flaky, keyId });
    const err = await failure(sealer.seal("x", "db.password"));
    expect(err.code).toBe("KEY_NOT_FOUND");
    expect(err.path).toBe("db.password");
    expect(err.message).toContain("db.password");
    const blob = await sealer.seal("y", "db.user");
    expect(await decryptValue(blob, { providers: [provider], path: "db.user" })).toBe("y");
    sealer.dispose();
  });
});

describe("no secret leaks", () => {
  it("never shows the plaintext, the DEK or the KEK in errors, String(), JSON or inspect", async () => {
    const canary = "CANARY-value-4f1c9b";
    const counting = new CountingProvider(provider);
    const blob = await encryptValue(canary, { provider, keyId, path: "p", context });
    const cache = new DekCache();
    expect(await decryptValue(blob, { providers: [counting], path: "p", context, cache })).toBe(
      canary,
    );
    const dek = counting.handedOut[0]!.slice();
    const errors = [
      await failure(decryptValue(blob, { providers: [counting], path: "q", context, cache })),
      await failure(
        decryptValue(blob.slice(0, -4), { providers: [counting], path: "p", context, cache }),
      ),
      await failure(decryptValue(blob, { providers: [counting], path: "p", context: {}, cache })),
    ];
    const keyBytes = decode(key.replace("sealfig-local-key-v1:", "sealfig:v1:"));
    const texts = renderings([...errors, cache, provider, counting.inner]);
    expect(texts).not.toContain(canary);
    expect(texts).not.toContain(key);
    for (const form of [...byteForms(dek), ...byteForms(keyBytes)]) {
      expect(texts).not.toContain(form);
    }
  });
});

function decode(blob: string): Uint8Array {
  const s = blob.slice(BLOB_PREFIX.length).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(s + "==".slice(0, (4 - (s.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

function encode(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return BLOB_PREFIX + btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
