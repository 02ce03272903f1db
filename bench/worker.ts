/**
 * Runs the cells of one (contender variant, N) in its own process, on Node (tsx) or Deno:
 * for each KMS latency a warm-up load (smallest N; loads modules, warms the JIT) and then timed
 * cold loads, each with fresh clients and caches. KMS calls are read from the orchestrator's
 * server over a line protocol on stdin/stdout (outside the timed region).
 *
 *   node --import tsx bench/worker.ts <base64 job>    (the orchestrator does this)
 *
 * @module
 */
import process from "node:process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  type CellResult,
  CONTEXT,
  type Job,
  MARK,
  median,
  pool,
  type Rpc,
  type ServerStats,
  since,
  wantsAnotherRun,
  type WorkerResult,
} from "./_shared.ts";
import type { Contender } from "./contenders/_contender.ts";

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
const job = JSON.parse(new TextDecoder().decode(base64(process.argv[2] ?? ""))) as Job;

// --- line protocol: requests on stdout, answers on stdin, in order -------------------------------
const answers: ((value: unknown) => void)[] = [];
const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => answers.shift()?.(JSON.parse(line)));

function rpc<T>(request: Rpc): Promise<T> {
  return new Promise<T>((resolve) => {
    answers.push(resolve as (value: unknown) => void);
    process.stdout.write(`${MARK}${JSON.stringify({ rpc: request })}\n`);
  });
}

async function contender(): Promise<Contender> {
  const v = job.variant;
  switch (v.kind) {
    case "sealfig":
      return (await import("./contenders/sealfig.ts")).sealfig(v, job.kms);
    case "esdk":
      return (await import("./contenders/esdk.ts")).esdk(v, job.kms);
    case "kms-decrypt":
      return (await import("./contenders/kms_decrypt.ts")).kmsDecrypt(v, job.kms);
    case "dotenvx":
      return (await import("./contenders/dotenvx.ts")).dotenvxContender();
  }
}

function expected(dir: string): string[] {
  return (JSON.parse(readFileSync(join(dir, "values.json"), "utf8")) as { values: string[] })
    .values;
}

function check(values: string[], dir: string): void {
  const want = expected(dir);
  if (values.length !== want.length || values.some((v, i) => v !== want[i])) {
    throw new Error(`${job.variant.id}: wrong plaintexts for ${dir}`);
  }
}

async function cell(c: Contender, n: number, dir: string, latencyMs: number): Promise<CellResult> {
  await rpc({ op: "latency", ms: latencyMs });
  const warm = await c.load(job.warmupDir);
  await warm.dispose();
  check(warm.values, job.warmupDir);

  const result: CellResult = {
    variant: job.variant.id,
    runtime: isDeno ? "deno" : "node",
    n,
    latencyMs,
    times: [],
    kmsCalls: [],
    maxInFlight: 0,
  };
  while (wantsAnotherRun(result.times, job.runs)) {
    await rpc({ op: "reset" });
    const t0 = performance.now();
    const loaded = await c.load(dir);
    const ms = since(t0);
    const stats = await rpc<ServerStats>({ op: "stats" });
    await loaded.dispose();
    if (result.times.length === 0) check(loaded.values, dir);
    result.times.push(ms);
    result.kmsCalls.push(stats.total);
    result.maxInFlight = Math.max(result.maxInFlight, stats.maxInFlight);
    if (loaded.dataKeys !== undefined) result.dataKeys = loaded.dataKeys;
    if (loaded.integrityKeys !== undefined) result.integrityKeys = loaded.integrityKeys;
  }
  // A cold load over a second (one data key per value at N = 1,000): two repeats of the extras
  // are enough, and keep the whole run under ten minutes.
  if (job.extras) Object.assign(result, await sealfigExtras(dir, median(result.times) > 1000));
  return result;
}

/** sealfig only: reload through the same loader, and the local-crypto part of the floor. */
async function sealfigExtras(dir: string, slow: boolean): Promise<Partial<CellResult>> {
  const { createLoader, loadConfigWithReport } = await import("../mod.ts");
  const { decryptValue, DekCache, readDocument } = await import("../document.ts");
  const { DEFAULT_CONCURRENCY } = await import("../src/document/_concurrency.ts");
  const { benchProvider, sealfigFile } = await import("./contenders/sealfig.ts");
  const provider = benchProvider(job.kms);
  const file = sealfigFile(dir, job.variant);
  const loader = createLoader({
    files: [file],
    providers: [provider],
    context: CONTEXT,
    trustedKeys: [job.kms.keyArn],
  });
  const offLoader = createLoader({
    files: [file],
    providers: [provider],
    context: CONTEXT,
    trustedKeys: [job.kms.keyArn],
    integrity: "off",
  });
  const integrityOnMs: number[] = [];
  const integrityOffMs: number[] = [];
  const integrityOffCalls: number[] = [];
  const reloadOffMs: number[] = [];
  const reloadMs: number[] = [];
  const reloadCalls: number[] = [];
  const cryptoMs: number[] = [];
  const yamlMs: number[] = [];
  try {
    await loader.load(); // the first load fills the loader's cache
    const repeats = job.runs.min === 1 ? 1 : slow ? 2 : Math.max(3, Math.min(job.runs.max, 7));
    for (let i = 0; i < repeats; i++) {
      await rpc({ op: "reset" });
      const t0 = performance.now();
      const { config } = await loader.loadWithReport();
      reloadMs.push(since(t0));
      reloadCalls.push((await rpc<ServerStats>({ op: "stats" })).total);
      if (i === 0) {
        check(
          Object.entries(config).filter(([k]) => k.startsWith("secret_")).map(([, v]) =>
            v as string
          ),
          dir,
        );
      }
    }
    // Local crypto: open every blob of the file with all its data keys already cached, N at a
    // time as the loader does: no file reading, no YAML, no KMS.
    const entries = (await readDocument(file)).entries().filter((e) => e.kind === "sealed");
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      await pool(entries, DEFAULT_CONCURRENCY, (e) =>
        decryptValue(e.value as string, {
          providers: [provider],
          path: e.path,
          context: CONTEXT,
          cache: loader.cache,
        }));
      cryptoMs.push(since(t0));
    }
    // YAML.parseDocument of the same file's text, alone (the yaml package sealfig uses): the
    // yardstick of the reload target, since every reload reads and parses the file.
    const { parseDocument } = await import("yaml");
    const text = readFileSync(file, "utf8");
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      parseDocument(text);
      yamlMs.push(since(t0));
    }
    // Integrity cost: cold loads with the file's record verified (the default) and ignored
    // (`integrity: "off"`), alternated so that drift hits both alike; and reloads without it.
    await offLoader.load();
    for (let i = 0; i < repeats; i++) {
      for (const integrity of ["require", "off"] as const) {
        const cold = benchProvider(job.kms);
        await rpc({ op: "reset" });
        const t0 = performance.now();
        await loadConfigWithReport({
          files: [file],
          providers: [cold],
          cache: new DekCache(),
          context: CONTEXT,
          trustedKeys: [job.kms.keyArn],
          integrity,
        });
        const ms = since(t0);
        const calls = (await rpc<ServerStats>({ op: "stats" })).total;
        cold.destroy();
        if (integrity === "off") {
          integrityOffMs.push(ms);
          integrityOffCalls.push(calls);
        } else integrityOnMs.push(ms);
      }
      const t0 = performance.now();
      await offLoader.load();
      reloadOffMs.push(since(t0));
    }
  } finally {
    loader.clear();
    offLoader.clear();
    provider.destroy();
  }
  return {
    reloadMs,
    reloadCalls,
    cryptoMs,
    integrityOnMs,
    integrityOffMs,
    integrityOffCalls,
    reloadOffMs,
    yamlMs,
  };
}

function base64(text: string): Uint8Array {
  const bin = atob(text);
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

function peakRss(): number {
  const usage = (process as { resourceUsage?: () => { maxRSS: number } }).resourceUsage?.();
  return usage ? usage.maxRSS * 1024 : process.memoryUsage().rss;
}

const c = await contender();
const cells: CellResult[] = [];
for (const { n, dir } of job.sizes) {
  for (const latency of job.latencies) cells.push(await cell(c, n, dir, latency));
}
const out: WorkerResult = {
  cells,
  peakRss: peakRss(),
  runtime: isDeno ? "deno" : "node",
  version: isDeno
    ? (globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno
    : process.versions.node,
};
process.stdout.write(`${MARK}${JSON.stringify({ result: out })}\n`);
lines.close();
process.exit(0);
