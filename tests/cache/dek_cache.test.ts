import { describe, expect, it } from "vitest";
import { DekCache } from "../../document.ts";
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
});
