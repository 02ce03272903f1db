/**
 * Concurrency: 200 loadConfig calls at once in one process, over the same files and one data key
 * cache, make exactly one provider call per distinct data key and all return the same config; a
 * provider failure under the same load is reported to every caller and never cached.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { loadConfigWithReport } from "../../src/config/load_config.ts";
import { envSealing } from "../../src/config/env_overrides.ts";
import { parseDocument } from "../../src/document/document.ts";
import { sealDocument } from "../../src/document/seal.ts";
import { encryptValue } from "../../src/envelope/values.ts";
import { SealfigError } from "../../src/errors.ts";
import { CountingProvider } from "../_helpers/leaks.ts";
import type { TempDir } from "../_helpers/tmp_dir.ts";
import { canary, expectTyped, KNOBS, noIntegrity, note, tempDir, tried } from "./_collector.ts";
import { CONTEXT, key1, key2, local } from "./_fixture.ts";

export function concurrencySuite(): void {
  describe(`concurrency: ${KNOBS.concurrentLoads} loadConfig calls at once, one shared cache`, () => {
    const PW = canary("conc");
    let dir: TempDir;
    let files: string[];
    let envBlob: string;
    /** Distinct data keys: 2 (16 values, 8 per key) + 4 (one per value) + 1 (key 2) + 1 (env). */
    const DATA_KEYS = 2 + 4 + 1 + 1;

    beforeAll(async () => {
      dir = tempDir("conc");
      const seal = async (
        name: string,
        text: string,
        o: { keyId?: string; perValue?: boolean; max?: number },
      ) => {
        const out = await sealDocument(parseDocument(text), {
          provider: local,
          keyId: o.keyId ?? key1.id,
          context: CONTEXT,
          ...(o.perValue ? { dekPolicy: "per-value" as const } : {}),
          ...(o.max ? { maxValuesPerDek: o.max } : {}),
        });
        return dir.write(name, out.document.toString());
      };
      const many = (prefix: string, n: number) =>
        Array.from({ length: n }, (_, i) => `  v${i}: !secret ${i === 0 ? PW : `${prefix}-${i}`}`)
          .join("\n");
      files = [
        await seal("a.yaml", `a:\n${many("a", 16)}\n`, { max: 8 }),
        await seal("b.yaml", `b:\n${many("b", 4)}\n`, { perValue: true }),
        await seal("c.yaml", "c:\n  plain: 1\n  secret: !secret c-secret\n", { keyId: key2.id }),
      ];
      envBlob = await encryptValue("env-secret", {
        provider: local,
        keyId: key1.id,
        ...envSealing("APP_EXTRA"),
      });
    });

    /** Resolve once every load has asked the cache for its first 16 data keys (all held). */
    async function allWaiting(cache: DekCache): Promise<void> {
      const want = KNOBS.concurrentLoads * 16; // concurrency 16 per load, 22 values each
      for (let i = 0; i < 2_000; i++) {
        const s = cache.stats();
        if (s.hits + s.misses >= want) return;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error("the loads did not all reach the provider");
    }

    function loadAll(provider: CountingProvider, cache: DekCache) {
      return Array.from({ length: KNOBS.concurrentLoads }, () =>
        loadConfigWithReport(noIntegrity({
          files,
          providers: [provider],
          cache,
          context: CONTEXT,
          env: { prefix: "APP_", vars: { APP_EXTRA: envBlob } },
        })));
    }

    it("one provider call per distinct data key, identical results", async () => {
      const done = tried("concurrency", KNOBS.concurrentLoads);
      const provider = new CountingProvider(local);
      let open!: () => void;
      provider.gate = new Promise<void>((r) => (open = r)); // hold every call until all started
      const cache = new DekCache();
      const pending = loadAll(provider, cache);
      await allWaiting(cache);
      open();
      const results = await Promise.all(pending);
      expect(provider.decryptCalls).toBe(DATA_KEYS);
      expect(cache.stats().providerCalls).toBe(DATA_KEYS);
      expect(cache.stats().size).toBe(DATA_KEYS);
      const first = JSON.stringify(results[0]!.config);
      expect(results.every((r) => JSON.stringify(r.config) === first)).toBe(true);
      const c = results[0]!.config as Record<string, Record<string, unknown>>;
      expect(c.a!.v0).toBe(PW);
      expect(c.a!.v15).toBe("a-15");
      expect(c.b!.v3).toBe("b-3");
      expect(c.c).toEqual({ plain: 1, secret: "c-secret" });
      expect(c.extra).toBe("env-secret");
      expect(results.every((r) => r.report.valuesDecrypted === 16 + 4 + 1 + 1)).toBe(true);
      expect(results.every((r) => r.report.dataKeys === DATA_KEYS)).toBe(true);
      done();
      note(
        "concurrency",
        `${KNOBS.concurrentLoads} loads: ${provider.decryptCalls} provider calls for ${DATA_KEYS} data keys, ` +
          `${cache.stats().inflightJoins} joined in-flight calls, at most ${provider.maxInFlight} in flight`,
      );
    });

    it("a failing provider: every caller gets a typed error, nothing is cached, the next loads succeed", async () => {
      const done = tried("concurrency", KNOBS.concurrentLoads * 2);
      const provider = new CountingProvider(local);
      provider.failWith = new SealfigError("DEK_UNWRAP_FAILED", "Cannot unwrap the data key");
      let open!: () => void;
      provider.gate = new Promise<void>((r) => (open = r)); // every load joins the same calls
      const cache = new DekCache();
      const pending = Promise.allSettled(loadAll(provider, cache));
      await allWaiting(cache);
      open();
      const settled = await pending;
      for (const s of settled) {
        expect(s.status).toBe("rejected");
        const e = expectTyped("concurrent failure", (s as PromiseRejectedResult).reason, {
          codes: ["DEK_UNWRAP_FAILED"],
        });
        expect(e.file === undefined || files.includes(e.file)).toBe(true);
      }
      expect(cache.stats().size).toBe(0);
      const failedCalls = provider.decryptCalls;
      expect(failedCalls).toBeLessThanOrEqual(DATA_KEYS); // one shared failed call per data key
      provider.failWith = undefined;
      const results = await Promise.all(loadAll(provider, cache));
      expect(provider.decryptCalls - failedCalls).toBe(DATA_KEYS);
      expect(results.every((r) => (r.config as Record<string, unknown>).extra === "env-secret"))
        .toBe(true);
      done();
      note(
        "concurrency",
        `failing provider: ${KNOBS.concurrentLoads} typed errors after ${failedCalls} calls, then ${DATA_KEYS} calls to recover`,
      );
    });
  });
}
