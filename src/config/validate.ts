/**
 * Validation through Standard Schema (https://standardschema.dev): zod v4, valibot, arktype and
 * any other validator with a `~standard` property plug into the same `schema` option.
 *
 * On failure one {@link ConfigValidationError} lists every issue with its path and where the value
 * came from. Values are never shown: messages are scrubbed of the value at the issue's path and of
 * every sealed value, because some validators (valibot, custom refinements) quote the input.
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import { formatPath, type PathSegment } from "../path.ts";
import { formatOrigin, type Origin } from "./tree.ts";

/** The Standard Schema v1 interface (the spec asks libraries to copy these types). */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly "~standard": StandardSchemaProps<Input, Output>;
}

/** The `~standard` property of a {@link StandardSchemaV1}. */
export interface StandardSchemaProps<Input = unknown, Output = Input> {
  /** Always 1. */
  readonly version: 1;
  /** The validator library's name. */
  readonly vendor: string;
  /** Validate a value. */
  readonly validate: (
    value: unknown,
  ) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
  /** Inferred types (type level only). */
  readonly types?: { readonly input: Input; readonly output: Output } | undefined;
}

/** A validation result: `{ value }` on success, `{ issues }` on failure. */
export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardSchemaIssue> };

/** One validation issue. */
export interface StandardSchemaIssue {
  /** What is wrong. */
  readonly message: string;
  /** Where: keys and indexes, possibly wrapped as `{ key }`. */
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** The output type of a Standard Schema. */
export type InferSchemaOutput<S> = S extends StandardSchemaV1<unknown, infer O> ? O : never;

/** One problem found by the schema, safe to print. */
export interface ConfigIssue {
  /** The path in path syntax (`db.port`, `servers[1].host`, `""` for the root). */
  readonly path: string;
  /** The validator's message, with values scrubbed. */
  readonly message: string;
  /** Where the value (or, when it is missing, its nearest parent) came from, e.g. `base.yaml:3:9`. */
  readonly origin: string | undefined;
  /** True when the value is missing (the origin is then its parent's). */
  readonly missing: boolean;
}

/**
 * Thrown by the loader when the config does not satisfy the schema (code `CONFIG_INVALID`).
 * `issues` lists every problem; the message lists them one per line.
 *
 * @example
 * ```ts ignore
 * import { ConfigValidationError, loadConfig } from "@sealfig/sealfig";
 * try {
 *   await loadConfig({ files: ["config/base.yaml"], schema: AppConfig });
 * } catch (err) {
 *   if (err instanceof ConfigValidationError) for (const i of err.issues) console.error(i.path);
 * }
 * ```
 */
export class ConfigValidationError extends SealfigError {
  /** Every issue, in the validator's order. */
  readonly issues: readonly ConfigIssue[];

  /**
   * Create the error from the validator's issues.
   *
   * @param issues the issues; the message is built from them
   */
  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map((i) =>
      `  - ${i.path || "(root)"}${
        i.origin ? ` (${i.missing ? "missing; parent at " : ""}${i.origin})` : ""
      }: ${i.message}`
    );
    super(
      "CONFIG_INVALID",
      `Config does not match the schema (${issues.length} issue${
        issues.length === 1 ? "" : "s"
      }):\n${lines.join("\n")}`,
    );
    this.name = "ConfigValidationError";
    this.issues = Object.freeze(issues.map((i) => Object.freeze({ ...i })));
  }

  /** JSON for structured logs: code, message and the issues (never values). */
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), issues: this.issues };
  }
}

/** True when `v` implements Standard Schema v1. */
export function isStandardSchema(v: unknown): v is StandardSchemaV1 {
  return typeof v === "object" && v !== null && "~standard" in v &&
    typeof (v as StandardSchemaV1)["~standard"]?.validate === "function";
}

/** What {@link validateConfig} needs to phrase issues. */
export interface ValidationContext {
  /** Origin of every node by path text. */
  origins: ReadonlyMap<string, Origin>;
  /** String forms of every sealed value, to scrub from messages. */
  secrets: readonly string[];
  /** Also leave non-secret values in messages. Default false. */
  showValues: boolean;
}

/**
 * Validate `value` with `schema`; return the output or throw {@link ConfigValidationError}.
 */
export async function validateConfig<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
  ctx: ValidationContext,
): Promise<InferSchemaOutput<S>> {
  let result = schema["~standard"].validate(value);
  if (result instanceof Promise) result = await result;
  if (!result.issues) return result.value as InferSchemaOutput<S>;
  const issues = result.issues.map((issue): ConfigIssue => {
    const segments: PathSegment[] = (issue.path ?? []).map((p) => {
      const k = typeof p === "object" && p !== null && "key" in p ? p.key : p;
      return typeof k === "number" ? k : String(k);
    });
    // Nearest node with an origin: the value itself, else its closest parent.
    let origin: Origin | undefined;
    let missing = false;
    for (let n = segments.length; n >= 0; n--) {
      origin = ctx.origins.get(formatPath(segments.slice(0, n)));
      if (origin) {
        missing = n < segments.length;
        break;
      }
    }
    const at = valueAt(value, segments);
    const scrubList = [...ctx.secrets];
    if (!ctx.showValues && at !== undefined && at !== null && typeof at !== "object") {
      scrubList.push(String(at));
    }
    return {
      path: formatPath(segments),
      message: scrub(issue.message, scrubList),
      origin: origin && (origin.file !== undefined || origin.variable !== undefined)
        ? formatOrigin(origin)
        : undefined,
      missing,
    };
  });
  throw new ConfigValidationError(issues);
}

function valueAt(root: unknown, path: PathSegment[]): unknown {
  let v = root;
  for (const seg of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

/**
 * Replace every occurrence of the given values in a message with `<redacted>`. Values shorter
 * than 4 characters are replaced only where they stand alone or quoted (1 character: quoted only),
 * so that words are not cut apart.
 */
export function scrub(message: string, values: readonly string[]): string {
  let out = message;
  for (const v of [...new Set(values)].sort((a, b) => b.length - a.length)) {
    if (v === "") continue;
    for (const q of [`"${v}"`, `'${v}'`, `\`${v}\``]) out = out.split(q).join("<redacted>");
    if (v.length >= 4) {
      out = out.split(v).join("<redacted>");
      continue;
    }
    if (v.length < 2) continue;
    const esc = v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    out = out.replace(
      new RegExp(`(?<![\\p{L}\\p{N}_])${esc}(?![\\p{L}\\p{N}_])`, "gu"),
      "<redacted>",
    );
  }
  return out;
}
