/**
 * Environment overrides: `APP_DB__PASSWORD=…` sets `db.password`.
 *
 * The name rule (documented in docs/config.md):
 * - only variables starting with the prefix (case-sensitive, e.g. `APP_`) are used;
 * - the rest splits on `__` (double underscore) into segments; a single `_` stays in a segment;
 * - a segment names an existing key when they are equal ignoring case, `_` and `-`
 *   (`MAX_CONNECTIONS` finds `maxConnections`, `max_connections` or `max-connections`); several
 *   matches are an error; with no match it becomes a new key in lower case;
 * - a segment of digits indexes an existing sequence (the length appends);
 * - values are strings; where they replace a number or boolean, a value that reads as one under
 *   YAML 1.2 core rules becomes one; a blob (`sealfig:v1:…`) must have been sealed for that
 *   variable ({@link envSealing}: path `[NAME]`, context + `sealfig:source = env`);
 * - a plaintext value that replaces a sealed one is refused (`ENV_SEALED_OVERRIDE`) unless
 *   allowed, and then reported.
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import { isBlob } from "../envelope/format.ts";
import { formatPath, type PathSegment } from "../path.ts";
import { resolveScalar } from "../document/scalar.ts";
import type { LeafNode, MapNode, Origin, PendingBlob, TreeNode } from "./tree.ts";
import { fixedContext } from "../envelope/aad.ts";

/** One variable to apply. */
export interface EnvVariable {
  /** Its name, e.g. `APP_DB__HOST`. */
  name: string;
  /** Its value. */
  value: string;
  /** Where it came from (`env`, or `dotenv` with file and line). */
  origin: Omit<Origin, "secret">;
}

// ASCII case folding only: toLowerCase() would also fold look-alikes such as the Kelvin sign
// (U+212A) onto "k", so a variable could reach a key its name does not spell.
const asciiLower = (s: string) =>
  s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) | 32));
const normalize = (s: string) => asciiLower(s).replace(/[_-]/g, "");

/**
 * The encryption context entry that binds a blob to the environment layers: a value for an
 * environment variable or `.env` is sealed with its context plus `sealfig:source = env`, and at
 * the path `[NAME]` (the variable's full name as one segment). A blob from a YAML file (no such
 * entry, a config path) never opens there, and an environment blob never opens in a file.
 */
export const ENV_SOURCE_KEY = "sealfig:source";
/** Its value. */
export const ENV_SOURCE = "env";

/**
 * The context and path a value for environment variable `name` is sealed with (and opened at):
 * `{ ...context, "sealfig:source": "env" }` and `[name]`. Throws `OPTION_INVALID` when `context`
 * already uses the reserved key.
 *
 * @example
 * ```ts
 * import { envSealing } from "@sealfig/sealfig/document";
 * envSealing("APP_DB__PASSWORD", { app: "shop" });
 * // { context: { app: "shop", "sealfig:source": "env" }, path: ["APP_DB__PASSWORD"] }
 * ```
 */
export function envSealing(
  name: string,
  context: Readonly<Record<string, string>> = {},
): { context: Readonly<Record<string, string>>; path: readonly [string] } {
  rejectReservedContext(context);
  return { context: fixedContext({ ...context, [ENV_SOURCE_KEY]: ENV_SOURCE }), path: [name] };
}

/** Throw `OPTION_INVALID` when a context uses the reserved `sealfig:source` key. */
export function rejectReservedContext(
  context: Readonly<Record<string, string>>,
  file?: string,
): void {
  if (Object.hasOwn(context, ENV_SOURCE_KEY)) {
    throw new SealfigError(
      "OPTION_INVALID",
      `The encryption context key "${ENV_SOURCE_KEY}" is reserved`,
      {
        ...(file !== undefined ? { file } : {}),
        hint: "Rename that context entry (sealfig adds it to values sealed for the environment)",
      },
    );
  }
}

/** What to do with a plaintext variable that replaces a value sealed in a lower layer. */
export type PlaintextOverSealed = "refuse" | "allow";

/**
 * Apply variables (already filtered by prefix, in the order given; later ones win) onto `tree`.
 * Returns the new tree and the blobs to open. Throws `ENV_INVALID` for names that cannot be
 * mapped.
 */
export function applyEnv(
  tree: MapNode,
  prefix: string,
  variables: readonly EnvVariable[],
  plaintextOverSealed: PlaintextOverSealed = "refuse",
): { tree: MapNode; pending: PendingBlob[]; overridden: string[] } {
  const root = cloneMap(tree);
  const pending: PendingBlob[] = [];
  const setBy = new Map<string, string>(); // path text -> the variable that set it
  const overridden: string[] = [];
  for (const v of variables) {
    const rest = v.name.slice(prefix.length);
    const parts = rest.split("__");
    if (rest === "" || parts.some((p) => p === "")) {
      throw invalid(v, "has an empty segment", "Separate segments with exactly two underscores");
    }
    if (/[^\x21-\x7e]/.test(rest)) {
      throw invalid(v, "has a character outside printable ASCII", "Name variables in ASCII");
    }
    const path: PathSegment[] = [];
    let parent: MapNode | { kind: "seq"; items: TreeNode[] } = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const last = i === parts.length - 1;
      let seg: PathSegment;
      let existing: TreeNode | undefined;
      if (parent.kind === "map") {
        const matches = [...parent.entries.keys()].filter((k) => normalize(k) === normalize(part));
        if (matches.length > 1) {
          throw invalid(
            v,
            `matches several keys at ${formatPath(path) || "the top level"}: ${matches.join(", ")}`,
            "Rename one of the keys",
          );
        }
        seg = matches[0] ?? asciiLower(part);
        existing = parent.entries.get(seg);
      } else {
        if (!/^(0|[1-9][0-9]{0,8})$/.test(part)) {
          throw invalid(v, `segment ${part} must be an index into ${formatPath(path)}`);
        }
        seg = Number(part);
        if (seg > parent.items.length) {
          throw invalid(v, `index ${seg} is past the end of ${formatPath(path)}`);
        }
        existing = parent.items[seg];
      }
      path.push(seg);
      if (last) {
        const other = setBy.get(formatPath(path));
        if (other !== undefined && other !== v.name) {
          throw invalid(v, `and ${other} both set ${formatPath(path)}`, "Keep only one of them");
        }
        setBy.set(formatPath(path), v.name);
        const leaf = makeLeaf(v, existing, path);
        if (isBlob(v.value)) {
          pending.push({ blob: v.value, path: [v.name], target: [...path], leaf });
        } else if (existing?.kind === "leaf" && existing.origin.secret) {
          if (plaintextOverSealed !== "allow") {
            throw new SealfigError(
              "ENV_SEALED_OVERRIDE",
              `Environment variable ${v.name} replaces the sealed value at ${
                formatPath(path)
              } (from ${describe(existing.origin)}) with plaintext`,
              {
                ...where(v),
                path: formatPath(path),
                hint: "Seal it for the environment (sealfig seal-env " + v.name +
                  '), remove the variable, or allow it with env.plaintextOverSealed: "allow"',
              },
            );
          }
          overridden.push(formatPath(path));
        }
        setChild(parent, seg, leaf);
        break;
      }
      let next: TreeNode;
      if (existing === undefined || (existing.kind === "leaf" && existing.value === null)) {
        next = { kind: "map", entries: new Map(), origin: { ...v.origin, secret: false } };
      } else if (existing.kind === "leaf") {
        throw invalid(
          v,
          `sets a key inside ${formatPath(path)}, which holds a single value (from ${
            describe(existing.origin)
          })`,
        );
      } else {
        next = existing.kind === "map"
          ? cloneMap(existing)
          : { ...existing, items: [...existing.items] };
      }
      setChild(parent, seg, next);
      parent = next as MapNode | { kind: "seq"; items: TreeNode[] };
    }
  }
  return { tree: root, pending, overridden };
}

function makeLeaf(v: EnvVariable, existing: TreeNode | undefined, path: PathSegment[]): LeafNode {
  if (existing && existing.kind !== "leaf") {
    throw invalid(
      v,
      `would replace the ${existing.kind === "map" ? "map" : "sequence"} at ${formatPath(path)}`,
      "Set the values inside it instead",
    );
  }
  const origin: Origin = { ...v.origin, secret: isBlob(v.value) };
  if (isBlob(v.value)) return { kind: "leaf", value: undefined, type: undefined, origin };
  let value: unknown = v.value;
  let type: LeafNode["type"] = "string";
  if (existing) {
    const was = existing.type;
    const tv = resolveScalar(v.value, true);
    const numeric = (t: string | undefined) => t === "integer" || t === "float";
    if ((numeric(was) && numeric(tv.type)) || (was === "boolean" && tv.type === "boolean")) {
      value = tv.value; // integers: a number when safe, else a bigint (as in files)
      type = tv.type;
    }
  }
  return { kind: "leaf", value, type, origin };
}

function setChild(
  parent: MapNode | { kind: "seq"; items: TreeNode[] },
  seg: PathSegment,
  child: TreeNode,
): void {
  if (parent.kind === "map") parent.entries.set(String(seg), child);
  else parent.items[seg as number] = child;
}

function cloneMap(m: MapNode): MapNode {
  return { kind: "map", entries: new Map(m.entries), origin: m.origin };
}

function describe(o: Origin): string {
  if (o.source === "env") return `env ${o.variable}`;
  return `${o.file}${o.line !== undefined ? `:${o.line}` : ""}`;
}

function where(v: EnvVariable): { file?: string; line?: number } {
  return v.origin.source === "dotenv"
    ? {
      ...(v.origin.file ? { file: v.origin.file } : {}),
      ...(v.origin.line ? { line: v.origin.line } : {}),
    }
    : {};
}

function invalid(v: EnvVariable, why: string, hint?: string): SealfigError {
  return new SealfigError("ENV_INVALID", `Environment variable ${v.name} ${why}`, {
    ...where(v),
    ...(hint ? { hint } : {}),
  });
}

/** Variables of `vars` whose name starts with `prefix`, sorted by name (for a stable order). */
export function selectVariables(
  vars: Readonly<Record<string, string | undefined>>,
  prefix: string,
  origin: (name: string) => Omit<Origin, "secret">,
): EnvVariable[] {
  return Object.keys(vars)
    .filter((name) => name.startsWith(prefix) && vars[name] !== undefined)
    .sort()
    .map((name) => ({ name, value: vars[name]!, origin: origin(name) }));
}
