import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DekCache } from "../../document.ts";
import { fixedContext } from "../../src/envelope/aad.ts";
import { markImmutable } from "../../src/crypto/bytes.ts";
import type { DekCacheKey } from "../../document.ts";

const id = (n: number, context: Record<string, string> = {}): DekCacheKey => ({
  providerId: "local",
  keyId: "lk_test",
  wrapped: Uint8Array.of(n),
  context,
});

/** A loader that hands out fresh 32-byte keys and remembers them, to check zeroing. */
function loader() {
  const handed: Uint8Array[] = [];
  let calls = 0;
  return {
    handed,
    get calls() {
      return calls;
    },
    load: () => {
      calls++;
      const k = new Uint8Array(32).fill(7);
      handed.push(k);
      return Promise.resolve(k);
    },
  };
}

describe("DekCache", () => {
  it("returns the cached key without a second provider call", async () => {
    const cache = new DekCache();
    const l = loader();
    const a = await cache.get(id(1), l.load);
    const b = await cache.get(id(1), l.load);
    expect(a).toBe(b);
    expect(l.calls).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, providerCalls: 1, size: 1 });
  });

  it("keys entries by provider, key id, wrapped key and context", async () => {
    const cache = new DekCache();
    const l = loader();
    await cache.get(id(1), l.load);
    await cache.get(id(2), l.load);
    await cache.get(id(1, { env: "prod" }), l.load);
    await cache.get({ ...id(1), keyId: "lk_other" }, l.load);
    await cache.get({ ...id(1), providerId: "aws-kms" }, l.load);
    expect(l.calls).toBe(5);
  });

  it("evicts the least recently used entry and zeroes its key", async () => {
    const cache = new DekCache({ maxEntries: 2 });
    const l = loader();
    await cache.get(id(1), l.load);
    await cache.get(id(2), l.load);
    await cache.get(id(1), l.load); // 1 is now most recent
    await cache.get(id(3), l.load); // evicts 2
    expect(cache.size).toBe(2);
    expect(l.handed[1]!.every((b) => b === 0)).toBe(true);
    expect(l.handed[0]!.every((b) => b === 7)).toBe(true);
    await cache.get(id(1), l.load);
    expect(l.calls).toBe(3);
    await cache.get(id(2), l.load);
    expect(l.calls).toBe(4);
    expect(cache.stats().evictions).toBe(2);
  });

  it("expires entries after the TTL on the injected clock, and zeroes them", async () => {
    let now = 1_000;
    const cache = new DekCache({ ttlMs: 100, now: () => now });
    const l = loader();
    await cache.get(id(1), l.load);
    now += 99;
    await cache.get(id(1), l.load);
    expect(l.calls).toBe(1);
    now += 1;
    await cache.get(id(1), l.load);
    expect(l.calls).toBe(2);
    expect(l.handed[0]!.every((b) => b === 0)).toBe(true);
  });

  it("drops an entry after maxUses uses", async () => {
    const cache = new DekCache({ maxUses: 3 });
    const l = loader();
    for (let i = 0; i < 7; i++) await cache.get(id(1), l.load);
    expect(l.calls).toBe(3); // uses 1-3, 4-6, 7
    expect(l.handed[0]!.every((b) => b === 0)).toBe(true);
  });

  it("shares one provider call among concurrent requests", async () => {
    const cache = new DekCache();
    const l = loader();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = async () => {
      await gate;
      return l.load();
    };
    const all = Array.from({ length: 100 }, () => cache.get(id(9), slow));
    release();
    const keys = await Promise.all(all);
    expect(new Set(keys).size).toBe(1);
    expect(l.calls).toBe(1);
    expect(cache.stats()).toMatchObject({ providerCalls: 1, inflightJoins: 99 });
  });

  it("does not cache a failure, and every waiter gets the error", async () => {
    const cache = new DekCache();
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new Error("provider down"));
    };
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => cache.get(id(4), failing)),
    );
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    expect(calls).toBe(1);
    expect(cache.size).toBe(0);
    const l = loader();
    await cache.get(id(4), l.load);
    expect(l.calls).toBe(1);
  });

  it("clear() zeroes every key", async () => {
    const cache = new DekCache();
    const l = loader();
    for (let i = 0; i < 5; i++) await cache.get(id(i), l.load);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(l.handed.every((k) => k.every((b) => b === 0))).toBe(true);
  });

  it("rejects nonsensical bounds", () => {
    expect(() => new DekCache({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => new DekCache({ ttlMs: -1 })).toThrow(RangeError);
  });

  // The key of a context is computed once for a context that cannot change (the loader's fixed
  // copies, a caller's frozen object); any form of equal contexts must share one entry, and
  // unequal ones never.
  it("equal contexts share an entry in any form (order, fixed copy, frozen); unequal ones never", async () => {
    const text = fc.string({
      unit: fc.constantFrom("a", "b", "é", "秘", "🔐", "\ufffd", "_", "1"),
      maxLength: 4,
    });
    // (A `__proto__` key is refused as a context key: tests/envelope/context_validation.test.ts.)
    const context = fc.dictionary(text.filter((t) => t !== ""), text, { maxKeys: 4 });
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(
        context,
        context,
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        async (a, b, w) => {
          cases++;
          const cache = new DekCache();
          const l = loader();
          const wrapped = Uint8Array.from(w);
          const key = (context: Record<string, string>): DekCacheKey => ({
            providerId: "local",
            keyId: "lk_test",
            wrapped,
            context,
          });
          const reversed = Object.fromEntries(Object.entries(a).reverse());
          await cache.get(key(a), l.load);
          await cache.get(key(reversed), l.load);
          await cache.get(key(fixedContext(a)), l.load);
          await cache.get(key(fixedContext(reversed)), l.load);
          await cache.get(key(Object.freeze({ ...reversed })), l.load);
          expect(l.calls).toBe(1);
          const equal =
            JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
          await cache.get(key(fixedContext(b)), l.load);
          expect(l.calls).toBe(equal ? 1 : 2);
        },
      ),
      { numRuns: 200 },
    );
    expect(cases).toBe(200);
  });

  it("a key's bytes or a frozen context's getter that change give another entry (nothing stale)", async () => {
    const cache = new DekCache();
    const l = loader();
    // Bytes nobody declared immutable are read afresh at every lookup.
    const wrapped = Uint8Array.of(1, 2, 3);
    const key: DekCacheKey = { providerId: "local", keyId: "lk_test", wrapped, context: {} };
    await cache.get(key, l.load);
    wrapped[0] = 9;
    await cache.get(key, l.load);
    expect(l.calls).toBe(2);
    // A frozen context whose entry is a getter can change: its encoding is not kept.
    let env = "prod";
    const context = Object.freeze(
      Object.defineProperty({}, "env", { get: () => env, enumerable: true }),
    );
    const ctxKey: DekCacheKey = {
      providerId: "local",
      keyId: "lk_test",
      wrapped: Uint8Array.of(7),
      context,
    };
    await cache.get(ctxKey, l.load);
    env = "dev";
    await cache.get(ctxKey, l.load);
    expect(l.calls).toBe(4);
    // Declared immutable (as a parsed blob's wrapped key is), equal bytes still share one entry.
    const marked = Uint8Array.of(4, 5, 6);
    markImmutable(marked);
    await cache.get({ ...key, wrapped: marked }, l.load);
    await cache.get({ ...key, wrapped: Uint8Array.of(4, 5, 6) }, l.load);
    expect(l.calls).toBe(5);
  });
});
