/**
 * Shared by the orchestrator (bench/run.ts) and the workers (bench/worker.ts, Node or Deno):
 * constants, the job and result shapes, the worker ↔ orchestrator line protocol, statistics.
 *
 * Only `node:` built-ins here, so the module runs unchanged on Node (tsx) and Deno.
 *
 * @module
 */
import process from "node:process";

/**
 * Encryption context of every sealed fixture (sealfig files, ESDK messages). Frozen, as the loader
 * holds every file's context (the policy's `fixedContext`), so that `decryptValue` in the crypto
 * benchmark encodes it once for the DEK cache key and the associated data, as a load does.
 */
export const CONTEXT: Readonly<Record<string, string>> = Object.freeze({
  app: "bench",
  env: "prod",
});

/** Dummy credentials for the local KMS server (it reads, never verifies, the signature). */
export const ACCESS_KEY_ID = "AKIDSEALFIGBENCH";
export const SECRET_ACCESS_KEY = "sealfig-bench-not-a-secret";

/** Prefix of the lines a worker writes to talk to the orchestrator (anything else is ignored). */
export const MARK = "\u0001bench ";

/** Where and how to reach the local KMS server. */
export interface KmsTarget {
  endpoint: string;
  region: string;
  keyArn: string;
}

/** The contenders, by family. */
export type ContenderKind = "sealfig" | "esdk" | "kms-decrypt" | "dotenvx";

/** One contender configuration (a row of the tables). */
export interface Variant {
  /** Stable id, e.g. `sealfig-default`, `esdk-all-cache`. */
  id: string;
  kind: ContenderKind;
  /** Label for the tables. */
  label: string;
  /** sealfig: the DEK policy the fixture was sealed with. */
  policy?: "per-file" | "per-value";
  /** esdk / kms-decrypt: sequential `for … await` or `Promise.all`. */
  mode?: "seq" | "all";
  /** esdk: with the caching materials manager (fixture sealed through one too). */
  cache?: boolean;
  /** Whether the contender talks to KMS (dotenvx does not). */
  kms: boolean;
}

/**
 * Repetition policy of a cell. Runs go on while the projected total (time so far + the median
 * run) stays within the budget of the next step: every cell gets `minRuns` (one, when that one
 * took longer than `loneRunMs`); a third run if within `slowBudgetMs`; up to `min` runs within
 * `minBudgetMs`; up to `max` within `budgetMs`. So fast cells get 7–21 runs, a 5-second load 2
 * and a 20-second sequential load 1 (its ratio to sealfig is large enough that its spread does not
 * change what it says; the bench stays under 10 minutes).
 */
export interface RunPolicy {
  min: number;
  max: number;
  budgetMs: number;
  minBudgetMs: number;
  minRuns: number;
  slowBudgetMs: number;
  /** A cell whose first run took longer than this (ms) is not run again. */
  loneRunMs: number;
}

/** Whether a cell with these run times (ms) should run once more. */
export function wantsAnotherRun(times: readonly number[], p: RunPolicy): boolean {
  const n = times.length;
  if (n >= p.max) return false;
  if (n === 1 && times[0]! > p.loneRunMs) return false;
  if (n < p.minRuns) return true;
  const projected = times.reduce((a, b) => a + b, 0) + median(times);
  if (n < 3 && projected <= p.slowBudgetMs) return true;
  if (n < p.min && projected <= p.minBudgetMs) return true;
  return projected <= p.budgetMs;
}

/** What the orchestrator asks a worker to do. */
export interface Job {
  variant: Variant;
  /** The N to run, in order, with their fixture directories (see bench/_fixtures.ts). */
  sizes: { n: number; dir: string }[];
  /** Fixture directory of the smallest N, for the warm-up run. */
  warmupDir: string;
  latencies: number[];
  kms: KmsTarget;
  runs: RunPolicy;
  /** sealfig only: also measure reload and the local-crypto part of the floor. */
  extras: boolean;
}

/** Measurements of one (variant, N, latency) cell. */
export interface CellResult {
  variant: string;
  runtime: "node" | "deno";
  n: number;
  latencyMs: number;
  /** Wall time of each timed run, ms. */
  times: number[];
  /** KMS requests per run (server-side count, all operations). */
  kmsCalls: number[];
  /** Highest number of KMS requests in flight seen by the server during the cell. */
  maxInFlight: number;
  /** sealfig: distinct wrapped data keys opened (load report: values' + integrity records'). */
  dataKeys?: number;
  /** sealfig: of those, integrity data keys (one per file with a record). */
  integrityKeys?: number;
  /** sealfig: open all N blobs with every data key cached (ms per run). */
  cryptoMs?: number[];
  /** sealfig: second load through the same loader (ms per run). */
  reloadMs?: number[];
  /** sealfig: KMS requests per reload. */
  reloadCalls?: number[];
  /** sealfig: cold loads verifying the integrity record, alternated with the next (ms). */
  integrityOnMs?: number[];
  /** sealfig: cold loads with `integrity: "off"` (ms). */
  integrityOffMs?: number[];
  /** sealfig: KMS requests per cold load with `integrity: "off"`. */
  integrityOffCalls?: number[];
  /** sealfig: reloads with `integrity: "off"` (ms). */
  reloadOffMs?: number[];
  /** sealfig: `YAML.parseDocument` of the same file's text alone (ms per run). */
  yamlMs?: number[];
}

/** What a worker sends back at the end. */
export interface WorkerResult {
  cells: CellResult[];
  /** Peak resident set size of the worker process, bytes (covers every cell it ran). */
  peakRss: number;
  runtime: "node" | "deno";
  version: string;
}

/** Requests from a worker to the orchestrator (which owns the KMS server). */
export type Rpc =
  | { op: "reset" }
  | { op: "stats" }
  | { op: "latency"; ms: number };

/** Server counters a worker reads after a run. */
export interface ServerStats {
  total: number;
  decrypt: number;
  generateDataKey: number;
  maxInFlight: number;
}

/** Environment for every child process: no IMDS probe, no SDK version nag, no AWS config. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("AWS_")) env[k] = v;
  }
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    NO_COLOR: "1",
    ...extra,
  };
}

/** Quantile by linear interpolation on sorted data (q in 0..1). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Median. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Elapsed milliseconds since `t0` (from `performance.now()`). */
export function since(t0: number): number {
  return performance.now() - t0;
}

/** Zero-padded secret name for index i: `secret_0007`. */
export function secretName(i: number): string {
  return `secret_${String(i).padStart(4, "0")}`;
}

/** Run `task` over `items`, at most `limit` at once, results in order. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!);
    }
  }));
  return out;
}
