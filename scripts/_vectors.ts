/**
 * What the test-vector generators (scripts/gen_*vectors.ts) and the vector tests share: the
 * write-once output file, and how a sealed value is written in JSON (a bigint, a non-finite
 * number and -0 have no JSON form of their own).
 *
 * @module
 */
import { existsSync } from "node:fs";
import process from "node:process";
import type { SecretValue } from "../src/envelope/value_codec.ts";

/**
 * The output path (the first `.json` argument, else `fallback`). Vectors are generated once:
 * exits with status 1 when the file exists, unless `--force` is given.
 */
export function vectorsOutput(fallback: string): string {
  const out = process.argv.find((a) => a.endsWith(".json")) ?? fallback;
  if (existsSync(out) && !process.argv.includes("--force")) {
    console.error(`${out} exists; vectors are generated once. Use a new file name.`);
    process.exit(1);
  }
  return out;
}

/** A sealed value as the vectors record it. */
export type VectorValue = { type: string; value: string | number | boolean | null };

/** A value as the vectors record it: its type, and a JSON value (text where JSON has none). */
export function encodeVectorValue(v: SecretValue): VectorValue {
  return typeof v === "bigint"
    ? { type: "bigint", value: v.toString() }
    : typeof v === "number" && !Number.isFinite(v)
    ? { type: "number", value: String(v) }
    : Object.is(v, -0)
    ? { type: "number", value: "-0" }
    : { type: typeof v === "object" ? "null" : typeof v, value: v as VectorValue["value"] };
}

/** The value a vector records ({@link encodeVectorValue} read back). */
export function decodeVectorValue(v: VectorValue): SecretValue {
  if (v.type === "bigint") return BigInt(v.value as string);
  if (v.type === "number" && typeof v.value === "string") return Number(v.value);
  return v.value;
}
