/**
 * Fleet start: `instances` copies of one contender start at the same moment against the local KMS
 * server, whose request-rate quota (set by the orchestrator) they share, as the instances of a
 * service do when a deployment rolls out against one account's KMS quota. Each instance is one
 * cold load with its own clients and caches (the contender's `load`); all run in this process, so
 * their local work shares one core, as co-located instances would share a machine. An instance
 * that has not started within the startup deadline counts as failed.
 *
 *   node --import tsx bench/fleet.ts <base64 job>    (the orchestrator does this)
 *
 * Prints one JSON line: per-instance start times (ms from the common start) and failures.
 *
 * @module
 */
import process from "node:process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { KmsTarget, Variant } from "./_shared.ts";
import type { Contender } from "./contenders/_contender.ts";

/** What the orchestrator asks for. */
export interface FleetJob {
  variant: Variant;
  dir: string;
  instances: number;
  deadlineMs: number;
  kms: KmsTarget;
}

/** What comes back. */
export interface FleetResult {
  /** Start time of each instance that came up, ms from the common start. */
  upMs: number[];
  /** Instances that failed (an error, wrong values, or not up within the deadline). */
  failed: number;
  /** Failure reasons (error code or message), counted. */
  reasons: Record<string, number>;
  /** ms until the last instance came up or failed. */
  settledMs: number;
}

const job = JSON.parse(Buffer.from(process.argv[2] ?? "", "base64").toString()) as FleetJob;

async function contender(v: Variant, kms: KmsTarget): Promise<Contender> {
  switch (v.kind) {
    case "sealfig":
      return (await import("./contenders/sealfig.ts")).sealfig(v, kms);
    case "esdk":
      return (await import("./contenders/esdk.ts")).esdk(v, kms);
    case "kms-decrypt":
      return (await import("./contenders/kms_decrypt.ts")).kmsDecrypt(v, kms);
    default:
      throw new Error(`${v.id} does not use KMS`);
  }
}

const c = await contender(job.variant, job.kms);
// Every contender's code is loaded before the common start, the AWS SDK included: the peers import
// it statically with their own modules, sealfig lazily on its first KMS call. Real instances each
// import it in their own process, side by side; here they share one process, where a one-time
// import would land inside the measured start of whichever contender imports lazily.
await import("@aws-sdk/client-kms");
const want = (JSON.parse(readFileSync(join(job.dir, "values.json"), "utf8")) as {
  values: string[];
}).values;

const reasons: Record<string, number> = {};
const upMs: number[] = [];
let failed = 0;
const t0 = performance.now();
await Promise.all(Array.from({ length: job.instances }, async () => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error("not up within the startup deadline")),
      job.deadlineMs,
    );
  });
  const loading = c.load(job.dir);
  try {
    const loaded = await Promise.race([loading, late]);
    const ms = performance.now() - t0;
    await loaded.dispose();
    if (loaded.values.length !== want.length || loaded.values.some((v, i) => v !== want[i])) {
      throw new Error("wrong values");
    }
    upMs.push(ms);
  } catch (err) {
    failed++;
    const e = err as { code?: string; name?: string; message?: string };
    const reason = e.code ??
      (e.name && e.name !== "Error"
        ? e.name
        : (e.message ?? "error").replace(/^(.{40}).+$/s, "$1…"));
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    loading.then((l) => l.dispose(), () => {});
  } finally {
    clearTimeout(timer);
  }
}));
const result: FleetResult = { upMs, failed, reasons, settledMs: performance.now() - t0 };
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
