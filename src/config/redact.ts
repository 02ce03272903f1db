/**
 * Deep freezing of loaded configs and the redacted view for logging.
 *
 * The loader records, for every frozen object and array it returns, which paths held sealed
 * values after merging (aliases, merge keys and environment blobs included) and the sealed
 * values themselves. {@link redact} masks by path, and also masks any string that equals or
 * contains a sealed string value, so a secret copied elsewhere by a schema transform is masked too.
 *
 * @module
 */
import { formatPath, type PathSegment } from "../path.ts";

/** The text that replaces a sealed value in the redacted view. */
export const REDACTED = "[redacted]";

/** Sealed strings shorter than this are masked only where they are a whole value. */
const MIN_SUBSTRING_MASK = 6;

interface SecretIndex {
  /** Path texts (relative to the root) of values that were sealed. */
  paths: ReadonlySet<string>;
  /** The sealed string values. */
  strings: readonly string[];
}

interface Registered {
  index: SecretIndex;
  /** Where this object sits in the root. */
  prefix: readonly PathSegment[];
}

const registry = new WeakMap<object, Registered>();

/** A value with sealed leaves replaced by {@link REDACTED}. */
export type Redacted<T> = T extends readonly (infer U)[] ? readonly Redacted<U>[]
  : T extends object ? { readonly [K in keyof T]: Redacted<T[K]> }
  : T | string;

/**
 * Deep-freeze plain objects and arrays in place and record the secret index for each of them.
 * @internal used by the loader.
 */
export function freezeConfig<T>(
  value: T,
  paths: ReadonlySet<string>,
  strings: readonly string[],
): T {
  const index: SecretIndex = { paths, strings };
  const walk = (v: unknown, prefix: PathSegment[]) => {
    if (!isPlainContainer(v)) return;
    if (Array.isArray(v)) v.forEach((item, i) => walk(item, [...prefix, i]));
    else for (const [k, item] of Object.entries(v)) walk(item, [...prefix, k]);
    registry.set(v, { index, prefix });
    Object.freeze(v);
  };
  walk(value, []);
  return value;
}

function isPlainContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  if (typeof v !== "object" || v === null) return false;
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A copy of a loaded config (or any object or array inside it) with every value that was sealed
 * replaced by `[redacted]`, wherever merging put it. Safe to log. Throws a `TypeError` for values
 * that did not come from the loader.
 *
 * @example
 * ```ts ignore
 * import { loadConfig, redact } from "@sealfig/sealfig";
 * const config = await loadConfig({ files: ["config/base.yaml", "config/production.yaml"] });
 * console.log(JSON.stringify(redact(config), null, 2)); // db.password: "[redacted]"
 * ```
 */
export function redact<T extends object>(config: T): Redacted<T> {
  const reg = registry.get(config);
  if (!reg) {
    throw new TypeError("redact() takes a config (or a part of one) returned by the loader");
  }
  const { index, prefix } = reg;
  const strings = index.strings.filter((s) => s !== "");
  const maskString = (s: string): string => {
    if (strings.includes(s)) return REDACTED;
    let out = s;
    for (const secret of strings) {
      if (secret.length >= MIN_SUBSTRING_MASK) out = out.split(secret).join(REDACTED);
    }
    return out;
  };
  const walk = (v: unknown, path: PathSegment[]): unknown => {
    if (index.paths.has(formatPath(path))) return REDACTED;
    if (typeof v === "string") return maskString(v);
    if (!isPlainContainer(v)) return v;
    if (Array.isArray(v)) return Object.freeze(v.map((item, i) => walk(item, [...path, i])));
    return Object.freeze(
      Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, [...path, k])])),
    );
  };
  return walk(config, [...prefix]) as Redacted<T>;
}

/**
 * Paths (in path syntax, from the root of the loaded config) of every value that was sealed.
 * Throws a `TypeError` for values that did not come from the loader.
 *
 * @example
 * ```ts ignore
 * import { loadConfig, secretPaths } from "@sealfig/sealfig";
 * secretPaths(await loadConfig({ files: ["config/production.yaml"] })); // ["db.password", …]
 * ```
 */
export function secretPaths(config: object): string[] {
  const reg = registry.get(config);
  if (!reg) throw new TypeError("secretPaths() takes a config returned by the loader");
  return [...reg.index.paths];
}
