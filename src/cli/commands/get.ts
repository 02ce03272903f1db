/**
 * `sealfig get FILE PATH`: print one value of a file as the loader reads it: aliases and merge
 * keys resolved, sealed values decrypted (only those under PATH), a map or a sequence printed as
 * YAML (or JSON with `--json`).
 *
 * @module
 */
import { stringify as yamlStringify } from "yaml";
import { documentTrees, materialize, type TreeNode } from "../../config/tree.ts";
import { DEFAULT_MAX_ALIAS_COUNT } from "../../document/document.ts";
import { decryptValue } from "../../envelope/values.ts";
import { SealfigError } from "../../errors.ts";
import { INTEGRITY_KEY } from "../../integrity/record.ts";
import { formatPath, toSegments } from "../../path.ts";
import { renderScalar } from "../../document/scalar.ts";
import { toHex } from "../../crypto/bytes.ts";
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
  usage: "get FILE|- PATH [--json] [--raw] [--sealed] [--insecure-skip-integrity]",
  details: [
    'PATH syntax: db.password, servers[0].host, labels["app.kubernetes.io/name"]; in a file of',
    "several YAML documents, the document's index first: [1].stringData.password.",
    "Aliases and merge keys (<<) are resolved as the loader does. A single value prints as its",
    "text followed by exactly one newline (the value is everything before the last newline; --raw",
    "prints it without one); floats print so they read back as floats (-0.0, 1.0). A map or",
    "sequence prints as YAML, or as JSON with --json (integers exact, also beyond 2^53).",
    "--sealed prints sealed values as their blobs instead of decrypting them.",
  ].join("\n"),
  flags: {
    json: { type: "boolean", description: "Print JSON (a string value as a JSON string)" },
    sealed: { type: "boolean", description: "Leave sealed values sealed (no decryption)" },
    raw: { type: "boolean", description: "Print a single value exactly, without the newline" },
    rules: RULE_FLAGS.rules!,
    context: RULE_FLAGS.context!,
    format: RULE_FLAGS.format!,
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
    // Each YAML document's tree (one for most files): a path in a file of several starts with
    // the document's index.
    const { trees, pending } = documentTrees(doc, { maxAliasCount: DEFAULT_MAX_ALIAS_COUNT });
    trees[trees.length - 1]!.entries.delete(INTEGRITY_KEY);
    let node: TreeNode | undefined = trees.length === 1
      ? trees[0]
      : { kind: "seq", items: trees, origin: trees[0]!.origin };
    for (const seg of segments) {
      if (node?.kind === "map" && typeof seg === "string") node = node.entries.get(seg);
      else if (node?.kind === "seq" && typeof seg === "number") node = node.items[seg];
      else node = undefined;
    }
    if (!node || segments.length === 0) {
      throw new SealfigError("PATH_NOT_FOUND", "No value at this path", {
        ...(doc.file !== undefined ? { file: doc.file } : {}),
        path: formatPath(segments),
        hint: trees.length > 1 && typeof segments[0] !== "number"
          ? `The file holds ${trees.length} YAML documents: start the path with the ` +
            `document's index, e.g. [0].${formatPath(segments)}`
          : "Check the path: sealfig status FILE lists the file's values",
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
    if (flagBool(args, "json")) ctx.stdout(toJson(value) + "\n");
    else if (node.kind === "leaf") {
      const text = scalarText(node.value, node.type);
      ctx.stdout(flagBool(args, "raw") ? text : `${text}\n`);
    } else ctx.stdout(collectionYaml(node));
    return 0;
  },
};

/**
 * A single value's text: a string as it is, null as `null`, a float so that it reads back as the
 * same float (`-0.0`, `1.0`, `.nan`), other scalars as their text (integers exact).
 */
function scalarText(value: unknown, type: string | undefined): string {
  if (value === null || value === undefined) return "null";
  if (type === "float" && typeof value === "number") {
    return renderScalar({ value, type: "float" }, { keyColumn: 0, flow: false });
  }
  return String(value);
}

/**
 * A map or sequence as YAML that reads back as the same values: floats keep their float form
 * (yaml's own output would print -0.0 as `-0` and 1.0 as `1`, which read back as integers).
 */
function collectionYaml(node: TreeNode): string {
  const nonce = toHex(crypto.getRandomValues(new Uint8Array(8)));
  const floats: string[] = [];
  const plain = (n: TreeNode): unknown => {
    if (n.kind === "map") return new Map([...n.entries].map(([k, v]) => [k, plain(v)]));
    if (n.kind === "seq") return n.items.map(plain);
    if (n.type === "float" && typeof n.value === "number") {
      floats.push(scalarText(n.value, "float"));
      return `sealfigfloat${nonce}x${floats.length - 1}`;
    }
    return n.value;
  };
  const text = yamlStringify(plain(node), { lineWidth: 0 });
  return text.replace(new RegExp(`sealfigfloat${nonce}x([0-9]+)`, "g"), (_, i) => floats[+i]!);
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
