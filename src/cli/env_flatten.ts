/**
 * Flattening a config into environment variables for `sealfig run`, the inverse of the loader's
 * `APP_DB__PASSWORD` → `db.password` mapping:
 * - nested keys join with `__`; sequence items use their index (`SERVERS__0__HOST`);
 * - each key is upper-cased, camelCase boundaries become `_` and any character outside
 *   `A-Z 0-9 _` becomes `_` (`maxConnections` → `MAX_CONNECTIONS`, `api-key` → `API_KEY`);
 * - an optional prefix is prepended (`--prefix APP_`);
 * - strings pass through unchanged (multi-line PEMs, spaces and quotes intact: no shell is
 *   involved), numbers and booleans as their text (-0 as `-0`), null as the empty string; empty maps and
 *   sequences produce no variable;
 * - two paths that flatten to the same name are an error rather than one silently winning, and so
 *   is a name that is not a POSIX name (`[A-Za-z_][A-Za-z0-9_]*`: an empty key, a leading digit
 *   without a prefix) or has an empty segment (which the loader could not map back).
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import { formatPath, type PathSegment } from "../path.ts";
import { isEnvName } from "../document/dotenv.ts";

/** A POSIX environment variable name. */

/** The environment variable name for a key. */
export function envSegment(key: string | number): string {
  if (typeof key === "number") return String(key);
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, "_");
}

/**
 * Flatten `config` into `{ NAME: value }`. Throws `ENV_INVALID` (naming the path) on name
 * collisions and on names that are not valid environment variable names.
 */
export function flattenToEnv(config: unknown, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  const origin = new Map<string, string>();
  const walk = (v: unknown, path: PathSegment[]) => {
    if (v !== null && typeof v === "object") {
      const entries: [PathSegment, unknown][] = Array.isArray(v)
        ? v.map((x, i) => [i, x])
        : Object.entries(v as Record<string, unknown>);
      for (const [k, x] of entries) walk(x, [...path, k]);
      return;
    }
    const segments = path.map(envSegment);
    const name = prefix + segments.join("__");
    const where = formatPath(path);
    if (segments.some((s) => s === "") || !isEnvName(name)) {
      throw new SealfigError(
        "ENV_INVALID",
        `"${where}" does not make a valid environment variable name (${JSON.stringify(name)})`,
        {
          path: where,
          hint: "Rename the key (names are [A-Za-z_][A-Za-z0-9_]*, no empty segment), or pass " +
            "--prefix so that a leading digit is not first",
        },
      );
    }
    const before = origin.get(name);
    if (before !== undefined) {
      throw new SealfigError("ENV_INVALID", `"${before}" and "${where}" both map to ${name}`, {
        path: where,
        hint: "Rename one of the keys",
      });
    }
    origin.set(name, where);
    // -0 keeps its sign (String(-0) is "0"): -0.0 reads back as the float -0 (Number, parseFloat, YAML).
    out[name] = v === null || v === undefined ? "" : Object.is(v, -0) ? "-0.0" : String(v);
  };
  walk(config, []);
  return out;
}
