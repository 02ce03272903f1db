/**
 * The loader's intermediate form: a tree of maps, sequences and leaves where every node remembers
 * where it came from (file:line:col, `.env` line or environment variable) and whether it was
 * sealed. Files become trees, trees deep-merge, and the result becomes plain frozen data plus an
 * origin index for error messages and redaction.
 *
 * @module
 */
import { topLevelNotMap } from "../document/top_level.ts";
import { isAlias, isMap, isScalar, isSeq, type Node, type Pair } from "yaml";
import { SealfigError } from "../errors.ts";
import { getEnv } from "../runtime.ts";
import { confusableSiblings } from "../document/lookalike.ts";
import type { ValueTypeName } from "../envelope/format.ts";
import { formatPath, type PathSegment } from "../path.ts";
import type { SealfigDocument } from "../document/document.ts";

/** Where a config value came from. Never holds the value. */
export interface Origin {
  /** `file` (a YAML file), `dotenv` (a .env file) or `env` (the process environment). */
  readonly source: "file" | "dotenv" | "env";
  /** The YAML or .env file. */
  readonly file?: string;
  /** 1-based line in that file, when known. */
  readonly line?: number;
  /** 1-based column in that file, when known. */
  readonly col?: number;
  /** The environment variable, for `dotenv` and `env`. */
  readonly variable?: string;
  /** True when the value was sealed (a blob) at its source. */
  readonly secret: boolean;
}

/** `config/prod.yaml:3:9`, `.env:4 (APP_DB__HOST)` or `env APP_DB__HOST`. */
export function formatOrigin(o: Origin): string {
  if (o.source === "env") return `env ${o.variable ?? ""}`.trim();
  let s = o.file ?? "";
  if (o.line !== undefined) s += `:${o.line}${o.col !== undefined ? `:${o.col}` : ""}`;
  if (o.source === "dotenv" && o.variable) s += ` (${o.variable})`;
  return s;
}

/** A leaf; `value` is filled in after decryption for sealed leaves. */
export interface LeafNode {
  kind: "leaf";
  value: unknown;
  /** The scalar type (for sealed leaves: the type in the blob header). */
  type: ValueTypeName | undefined;
  origin: Origin;
}

/** A map node (insertion-ordered). */
export interface MapNode {
  kind: "map";
  entries: Map<string, TreeNode>;
  origin: Origin;
}

/** A sequence node. */
export interface SeqNode {
  kind: "seq";
  items: TreeNode[];
  origin: Origin;
}

/** Any tree node. */
export type TreeNode = LeafNode | MapNode | SeqNode;

/** A sealed value waiting to be opened, and the leaf that receives it. */
export interface PendingBlob {
  blob: string;
  /** The path it was sealed at (its anchor's path; not necessarily where it ends up). */
  path: readonly PathSegment[];
  /** Where the value goes in the config, when that is not `path` (environment values). */
  target?: readonly PathSegment[];
  leaf: LeafNode;
}

/** Options for {@link documentToTree}. */
export interface TreeOptions {
  /** Alias resolutions allowed, counting nested ones each time they are expanded. */
  maxAliasCount: number;
  /**
   * The active profiles, for a file of several YAML documents: a document with
   * `spring.config.activate.on-profile` is merged only when its expression matches them
   * (docs/config.md, "Multi-document YAML"). Default: none active. A function is called only for a
   * file of several documents (the loader reads `SEALFIG_PROFILES` only then: an app whose files
   * have one document each needs no permission to read it).
   */
  profiles?: readonly string[] | (() => readonly string[]);
}

/**
 * Build the tree of one file as the loader reads it. Sealed scalars become leaves whose value is
 * filled in later (returned in `pending`, one per blob, shared by every alias of it); `!secret`
 * plaintext is refused with `SECRET_UNSEALED`; aliases and merge keys (`<<`) are expanded within
 * `maxAliasCount` (`YAML_ALIAS_LIMIT`). A file of several YAML documents is their deep merge in
 * order, a document selected by `spring.config.activate.on-profile` only when its profile is
 * active ({@link TreeOptions.profiles}); a Kubernetes bundle is refused (`YAML_UNSUPPORTED`).
 */
export function documentToTree(
  doc: SealfigDocument,
  options: TreeOptions,
): { tree: MapNode; pending: PendingBlob[] } {
  const { tree, pending } = buildTrees(doc, options, false);
  return { tree: tree!, pending };
}

/**
 * The tree of each YAML document of a file (one for an ordinary file; an empty document is an
 * empty map), for commands that address a document by its index (`sealfig get FILE [1].a`).
 * Profiles are not applied and a Kubernetes bundle is fine: nothing is merged.
 */
export function documentTrees(
  doc: SealfigDocument,
  options: TreeOptions,
): { trees: MapNode[]; pending: PendingBlob[] } {
  const { trees, pending } = buildTrees(doc, options, true);
  return { trees, pending };
}

function buildTrees(
  doc: SealfigDocument,
  options: TreeOptions,
  each: boolean,
): { tree?: MapNode; trees: MapNode[]; pending: PendingBlob[] } {
  const file = doc.file;
  const pending: PendingBlob[] = [];
  const leaves = new Map<Node, LeafNode>();
  let aliases = 0;
  const active = new Set<Node>();
  const where = (node: Node | null | undefined, path: PathSegment[]) => {
    const at = node?.range ? doc.position(node.range[0]) : undefined;
    return {
      ...(file !== undefined ? { file } : {}),
      ...(at ? { line: at.line, col: at.col } : {}),
      path: formatPath(path),
    };
  };
  const originOf = (node: Node | null | undefined): Origin => {
    const at = node?.range ? doc.position(node.range[0]) : undefined;
    return {
      source: "file",
      ...(file !== undefined ? { file } : {}),
      ...(at ? { line: at.line, col: at.col } : {}),
      secret: false,
    };
  };

  const visit = (node: Node | null | undefined, path: PathSegment[]): TreeNode => {
    if (node === null || node === undefined) {
      return { kind: "leaf", value: null, type: "null", origin: originOf(node) };
    }
    if (isAlias(node)) {
      aliases++;
      if (aliases > options.maxAliasCount) {
        throw new SealfigError(
          "YAML_ALIAS_LIMIT",
          `Aliases expand more than ${options.maxAliasCount} times`,
          {
            ...where(node, path),
            hint:
              "Use fewer nested aliases, or raise maxAliasCount if the file is trusted and this is intended",
          },
        );
      }
      const target = doc.aliasTarget(node);
      if (!target) {
        throw new SealfigError("YAML_SYNTAX", `Unknown anchor *${node.source}`, where(node, path));
      }
      if (active.has(target)) {
        throw new SealfigError("YAML_ALIAS_LIMIT", "Alias refers to a node that contains it", {
          ...where(node, path),
          hint: "Remove the circular alias",
        });
      }
      return visit(target, path);
    }
    if (isScalar(node)) {
      const known = leaves.get(node);
      if (known) return known;
      const entry = doc.entryOf(node);
      let leaf: LeafNode;
      if (entry?.kind === "secret") {
        throw new SealfigError("SECRET_UNSEALED", "Value tagged !secret is not sealed", {
          ...(file !== undefined ? { file } : {}),
          line: entry.line,
          col: entry.col,
          path: entry.pathText,
          hint: `Seal the file first: sealfig encrypt -i ${file ?? "FILE"}`,
        });
      }
      if (entry?.kind === "sealed") {
        leaf = {
          kind: "leaf",
          value: undefined,
          type: entry.type,
          origin: { ...originOf(node), secret: true },
        };
        pending.push({ blob: entry.value as string, path: entry.path, leaf });
      } else {
        leaf = {
          kind: "leaf",
          value: entry ? entry.value : node.value,
          type: entry?.type,
          origin: originOf(node),
        };
      }
      leaves.set(node, leaf);
      return leaf;
    }
    active.add(node);
    try {
      if (isSeq(node)) {
        return {
          kind: "seq",
          items: node.items.map((item, i) => visit(item as Node, [...path, i])),
          origin: originOf(node),
        };
      }
      if (isMap(node)) {
        const entries = new Map<string, TreeNode>();
        for (const pair of node.items as Pair<unknown, unknown>[]) {
          const key = pair.key;
          const keyValue = isScalar(key) ? key.value : key;
          if (typeof keyValue === "symbol") {
            // Merge key: `<<: *base` or `<<: [*a, *b]`; explicit keys win, earlier sources win.
            const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
            for (const src of sources) {
              const merged = visit(src as Node, [...path, "<<"]);
              if (merged.kind !== "map") {
                throw new SealfigError(
                  "YAML_SYNTAX",
                  "A merge key (<<) must refer to a map or a list of maps",
                  where(src as Node, path),
                );
              }
              for (const [k, v] of merged.entries) {
                if (!entries.has(k) && !hasExplicitKey(node.items as Pair[], k)) entries.set(k, v);
              }
            }
            continue;
          }
          const k = keyValue === null || keyValue === undefined ? "" : String(keyValue);
          entries.set(k, visit(pair.value as Node, [...path, k]));
        }
        return { kind: "map", entries, origin: originOf(node) };
      }
    } finally {
      active.delete(node);
    }
    return { kind: "leaf", value: null, type: "null", origin: originOf(node) };
  };

  const n = doc.documentCount;
  const trees: MapNode[] = [];
  let merged: MapNode | undefined;
  let profiles: readonly string[] | undefined;
  for (let i = 0; i < n; i++) {
    const root = doc.documentRoot(i);
    if (root === null || (isScalar(root) && root.value === null)) {
      trees.push({ kind: "map", entries: new Map(), origin: originOf(null) });
      continue;
    }
    const before = pending.length;
    const tree = visit(root, []);
    if (tree.kind !== "map") {
      throw topLevelNotMap(doc);
    }
    trees.push(tree);
    if (each || n === 1) continue;
    profiles ??= typeof options.profiles === "function"
      ? options.profiles()
      : options.profiles ?? [];
    if (!loadsDocument(doc, i, tree, profiles)) {
      // Not loaded: its sealed values are never opened.
      pending.splice(before);
      continue;
    }
    merged = merged ? mergeTrees(merged, tree) as MapNode : tree;
  }
  const tree = n === 1
    ? trees[0]!
    : merged ?? { kind: "map" as const, entries: new Map(), origin: originOf(null) };
  return { ...(each ? {} : { tree }), trees, pending };
}

/**
 * The active profiles: `option` when given, else `SEALFIG_PROFILES` (comma-separated names,
 * blanks ignored), else none.
 */
export function activeProfiles(option?: readonly string[]): readonly string[] {
  if (option !== undefined) return option;
  return (getEnv("SEALFIG_PROFILES") ?? "").split(",").map((p) => p.trim()).filter((p) => p);
}

/**
 * The `spring…` properties of a document's tree as Spring reads them: keys flattened to dotted
 * text (nested maps and dotted keys alike), each segment in relaxed form (lower case, without `-`
 * and `_`), with their nodes. Only the `spring` branch is walked, to a bounded depth.
 */
function springProperties(tree: MapNode): [string, TreeNode][] {
  const out: [string, TreeNode][] = [];
  const relaxed = (key: string) =>
    key.split(".").map((k) => k.toLowerCase().replace(/[-_]/g, "")).join(".");
  const walk = (node: TreeNode, prefix: string, depth: number) => {
    if (node.kind !== "map" || depth > 8) return;
    for (const [k, child] of node.entries) {
      if (typeof k !== "string") continue;
      const key = prefix === "" ? relaxed(k) : `${prefix}.${relaxed(k)}`;
      if (key !== "spring" && !key.startsWith("spring.")) continue;
      out.push([key, child]);
      walk(child, key, depth + 1);
    }
  };
  walk(tree, "", 0);
  return out;
}

/**
 * Whether the loader merges document `index` of a file of several: refuses a Kubernetes manifest
 * (`apiVersion` and `kind` at the top level: a bundle of resources is not app config) and
 * Spring's legacy `spring.profiles: NAME` selector; a document with
 * `spring.config.activate.on-profile` loads when its expression matches `profiles`.
 */
function loadsDocument(
  doc: SealfigDocument,
  index: number,
  tree: MapNode,
  profiles: readonly string[],
): boolean {
  const at = (node: TreeNode, hint: string, reason: string) =>
    new SealfigError("YAML_UNSUPPORTED", reason, {
      ...(doc.file !== undefined ? { file: doc.file } : {}),
      ...(node.origin.line !== undefined ? { line: node.origin.line } : {}),
      ...(node.origin.col !== undefined ? { col: node.origin.col } : {}),
      path: formatPath([index]),
      hint,
    });
  if (tree.entries.has("apiVersion") && tree.entries.has("kind")) {
    throw at(
      tree,
      "Seal and edit a Kubernetes bundle with the sealfig CLI (decrypt it to apply it); load " +
        "app config from a file of config documents",
      `Document ${index} is a Kubernetes manifest (apiVersion and kind): a bundle of resources ` +
        "is not app config",
    );
  }
  // Spring flattens keys before it reads them (`spring:` / `config.activate:` / `on-profile:` and
  // `spring.config.activate.on-profile:` are one property) and binds them relaxed (`onProfile`,
  // `on_profile`): find the selector and the conditions sealfig cannot evaluate in every spelling.
  const selectors: TreeNode[] = [];
  for (const [key, node] of springProperties(tree)) {
    if (key === "spring.profiles" && node.kind !== "map") {
      throw at(
        node,
        "Write spring.config.activate.on-profile: NAME (Spring Boot 2.4+)",
        `Document ${index} selects profiles with the legacy key spring.profiles`,
      );
    }
    if (key === "spring.config.activate.onprofile") selectors.push(node);
    else if (
      node.kind !== "map" &&
      (key.startsWith("spring.config.activate.") || key === "spring.config.activate")
    ) {
      // Another activation condition (on-cloud-platform …) that sealfig cannot evaluate: loading
      // the document anyway could load config Spring would not.
      throw at(
        node,
        "Remove the condition, or load this file with Spring Boot itself",
        `Document ${index}: a spring.config.activate condition other than on-profile is not ` +
          "supported",
      );
    }
  }
  if (selectors.length > 1) {
    throw at(
      selectors[1]!,
      "Keep one spring.config.activate.on-profile per document",
      `Document ${index} selects profiles twice (spring.config.activate.on-profile, spelt twice)`,
    );
  }
  const selector = selectors[0];
  if (!selector) return true;
  // Profile names are text: a selector YAML reads as a number or boolean (`0x10`, `on`) is
  // refused rather than turned into another spelling.
  const names: unknown[] = selector.kind === "seq"
    ? selector.items.map((i) => (i.kind === "leaf" ? i.value : undefined))
    : selector.kind === "leaf" && typeof selector.value === "string"
    ? selector.value.split(",")
    : [undefined];
  // As in Spring, the profile `default` is active when no other is.
  const active = new Set(profiles.length > 0 ? profiles : ["default"]);
  let matched = false;
  for (const raw of names) {
    const name = typeof raw === "string" ? raw.trim() : undefined;
    if (selector.origin.secret || !name || !/^!?[A-Za-z0-9_.-]+$/.test(name)) {
      throw at(
        selector,
        "Write one profile name, !NAME, or a list of them (any one matches); expressions with " +
          "&, | and parentheses are not supported",
        `Document ${index}: spring.config.activate.on-profile is not a list of profile names`,
      );
    }
    if (name.startsWith("!") ? !active.has(name.slice(1)) : active.has(name)) matched = true;
  }
  return matched;
}

function hasExplicitKey(items: Pair[], k: string): boolean {
  return items.some((p) => {
    const v = isScalar(p.key) ? p.key.value : undefined;
    return typeof v !== "symbol" && v !== undefined && String(v) === k;
  });
}

/**
 * Deep-merge `over` onto `base`: maps merge key by key (recursively), anything else in `over`
 * (a leaf, a sequence, an explicit null) replaces what `base` had. Inputs are not modified.
 * A key that `over` adds beside a look-alike key of `base` (`рор` in Cyrillic beside `pop`: each
 * file passes alone) is `YAML_KEY_CONFUSABLE` (docs/config.md, "Look-alike keys").
 */
export function mergeTrees(base: TreeNode, over: TreeNode, path: PathSegment[] = []): TreeNode {
  if (base.kind !== "map" || over.kind !== "map") return over;
  const entries = new Map(base.entries);
  let added = false;
  for (const [k, v] of over.entries) {
    const old = entries.get(k);
    if (!old) added = true;
    entries.set(k, old ? mergeTrees(old, v, [...path, k]) : v);
  }
  if (added) {
    const keys = [...entries.keys()];
    const clash = confusableSiblings(keys);
    if (clash !== undefined) {
      const [first, later] = [entries.get(keys[clash[0]]!)!, entries.get(keys[clash[1]]!)!];
      throw new SealfigError(
        "YAML_KEY_CONFUSABLE",
        `A map key can render like another key of its map, from ${
          formatOrigin(first.origin)
        }: they have the same confusable skeleton (Unicode UTS #39)`,
        {
          ...(later.origin.file !== undefined ? { file: later.origin.file } : {}),
          ...(later.origin.line !== undefined ? { line: later.origin.line } : {}),
          ...(later.origin.col !== undefined ? { col: later.origin.col } : {}),
          path: formatPath(path),
          hint: "Rename one of the keys so that they look different: one could pass for the " +
            "other in a review",
        },
      );
    }
  }
  return { kind: "map", entries, origin: over.origin };
}

/** Plain data plus, for every path, where it came from. */
export interface Materialized {
  /** Plain objects, arrays and scalars (not yet frozen). */
  value: Record<string, unknown>;
  /** Origin of every node by path text (`""` is the root). */
  origins: Map<string, Origin>;
  /** Paths (text) of every value that was sealed at its source. */
  secretPaths: Set<string>;
}

/** Turn a tree into plain data and its origin index. */
export function materialize(tree: MapNode): Materialized {
  const origins = new Map<string, Origin>();
  const secretPaths = new Set<string>();
  const build = (node: TreeNode, path: PathSegment[]): unknown => {
    const text = formatPath(path);
    origins.set(text, node.origin);
    if (node.kind === "leaf") {
      if (node.origin.secret) secretPaths.add(text);
      return node.value;
    }
    if (node.kind === "seq") return node.items.map((item, i) => build(item, [...path, i]));
    return Object.fromEntries([...node.entries].map(([k, v]) => [k, build(v, [...path, k])]));
  };
  const value = build(tree, []) as Record<string, unknown>;
  return { value, origins, secretPaths };
}
