/**
 * `sealfig get FILE PATH`: print one value of a file as the loader reads it: aliases and merge
 * keys resolved, sealed values decrypted (only those under PATH), a map or a sequence printed as
 * YAML (or JSON with `--json`).
 *
 * @module
 */
import { stringify as yamlStringify } from "yaml";
import { documentToTree, materialize, type TreeNode } from "../../config/tree.ts";
import { DEFAULT_MAX_ALIAS_COUNT } from "../../document/document.ts";
import { decryptValue } from "../../envelope/values.ts";
import { SealfigError } from "../../errors.ts";
import { INTEGRITY_KEY } from "../../integrity/record.ts";
import { formatPath, toSegments } from "../../path.ts";
import { UsageError } from "../args.ts";
import { type Command, flagBool } from "../command.ts";
import {
  readTarget,
  resolveTarget,
  RULE_FLAGS,
  SKIP_INTEGRITY_FLAG,
  verifyForRead,
} from "../target.ts";

/** The get command. */
export const getCommand: Command = {
  name: "get",
  summary: "Print the value at PATH as the loader reads it (decrypting sealed values)",
  usage: "get FILE|- PATH [--json] [--sealed] [--insecure-skip-integrity]",
  details: [
    'PATH syntax: db.password, servers[0].host, labels["app.kubernetes.io/name"].',
    "Aliases and merge keys (<<) are resolved as the loader does. A single value prints as its",
    "text; a map or sequence prints as YAML, or as JSON with --json (integers exact, also beyond",
    "2^53). --sealed prints sealed values as their blobs instead of decrypting them.",
  ].join("\n"),
  flags: {
    json: { type: "boolean", description: "Print JSON (a string value as a JSON string)" },
    sealed: { type: "boolean", description: "Leave sealed values sealed (no decryption)" },
    rules: RULE_FLAGS.rules!,
    context: RULE_FLAGS.context!,
    "insecure-skip-integrity": SKIP_INTEGRITY_FLAG,
  },
  async run(args, ctx) {
    const [file, path, ...extra] = args.positionals;
    if (!file || path === undefined || extra.length) {
      throw new UsageError("get takes FILE and PATH");
    }
    const segments = toSegments(path);
    const target = await resolveTarget(file, args, ctx);
    const doc = await readTarget(target, ctx);
    await verifyForRead(target, doc, ctx, flagBool(args, "insecure-skip-integrity"));
    const { tree, pending } = documentToTree(doc, { maxAliasCount: DEFAULT_MAX_ALIAS_COUNT });
    tree.entries.delete(INTEGRITY_KEY);
    let node: TreeNode | undefined = tree;
    for (const seg of segments) {
      if (node?.kind === "map" && typeof seg === "string") node = node.entries.get(seg);
      else if (node?.kind === "seq" && typeof seg === "number") node = node.items[seg];
      else node = undefined;
    }
    if (!node || segments.length === 0) {
      throw new SealfigError("PATH_NOT_FOUND", "No value at this path", {
        ...(doc.file !== undefined ? { file: doc.file } : {}),
        path: formatPath(segments),
        hint: "Check the path: sealfig status FILE lists the file's values",
      });
    }
    // Open the blobs under PATH only (an alias shares its anchor's leaf and blob).
    const wanted = new Set<unknown>();
    const collect = (n: TreeNode) => {
      if (n.kind === "leaf") wanted.add(n);
      else if (n.kind === "map") n.entries.forEach(collect);
      else n.items.forEach(collect);
    };
    collect(node);
    const sealedOnly = flagBool(args, "sealed");
    for (const p of pending) {
      if (!wanted.has(p.leaf)) continue;
      p.leaf.value = sealedOnly ? p.blob : await decryptValue(p.blob, {
        providers: target.providers,
        path: p.path,
        context: target.rule.context,
        cache: target.cache,
        ...(doc.file !== undefined ? { file: doc.file } : {}),
      }).catch((err) => {
        throw err instanceof SealfigError ? err.withLocation({ path: formatPath(p.path) }) : err;
      });
    }
    const value = node.kind === "leaf"
      ? node.value
      : materialize({ kind: "map", entries: new Map([["v", node]]), origin: node.origin }).value.v;
    ctx.stdout(render(value, flagBool(args, "json")));
    return 0;
  },
};

/** A value's text: scalars as they are (one newline added), collections as YAML or JSON. */
function render(value: unknown, json: boolean): string {
  if (json) return toJson(value) + "\n";
  if (value === null || value === undefined) return "null\n";
  if (typeof value !== "object") {
    const text = Object.is(value, -0) ? "-0.0" : String(value); // -0 is not 0
    return text.endsWith("\n") ? text : text + "\n";
  }
  return yamlStringify(value, { lineWidth: 0 });
}

/** JSON with integers exact (a bigint as its digits), -0 kept, and NaN/±Infinity as strings. */
function toJson(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number" && !Number.isFinite(value)) return JSON.stringify(String(value));
  if (Object.is(value, -0)) return "-0.0";
  if (Array.isArray(value)) return `[${value.map(toJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${
      Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(",")
    }}`;
  }
  return JSON.stringify(value ?? null);
}
