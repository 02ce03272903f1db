/**
 * Memory with a bounded cache: a DekCache of capacity 1,000 while many distinct data keys stream
 * through it (each a miss: a fresh wrapped key, a 32-byte "unwrapped" key from the loader, an
 * HKDF CryptoKey). Samples RSS and heap as it goes and prints one JSON line.
 *
 *   node --import tsx bench/memory.ts [count=100000] [samples=50]
 *
 * @module
 */
import process from "node:process";
import { DekCache } from "../document.ts";

const count = Number(process.argv[2] ?? 100_000);
const samples = Number(process.argv[3] ?? 50);
const every = Math.max(1, Math.floor(count / samples));
const cache = new DekCache({ maxEntries: 1000 });

interface Sample {
  keys: number;
  ms: number;
  rss: number;
  heapUsed: number;
  cacheSize: number;
}
const out: Sample[] = [];
const t0 = performance.now();
const sample = (keys: number) => {
  const m = process.memoryUsage();
  out.push({
    keys,
    ms: performance.now() - t0,
    rss: m.rss,
    heapUsed: m.heapUsed,
    cacheSize: cache.size,
  });
};

sample(0);
const context = { app: "bench", env: "prod" };
for (let i = 1; i <= count; i++) {
  const wrapped = crypto.getRandomValues(new Uint8Array(184)); // the size of a KMS ciphertext blob
  const key = await cache.get(
    {
      providerId: "aws-kms",
      keyId: "arn:aws:kms:us-east-1:111122223333:key/bench",
      wrapped,
      context,
    },
    () => Promise.resolve(crypto.getRandomValues(new Uint8Array(32))),
  );
  if (key.destroyed) throw new Error("a fresh key must not be destroyed");
  if (i % every === 0 || i === count) sample(i);
}
const stats = cache.stats();
process.stdout.write(`${JSON.stringify({ count, samples: out, stats })}\n`);
