/**
 * A three-way merge of YAML documents by key, not by line: what `sealfig merge` (the git merge
 * driver) uses when a line merge conflicts.
 *
 * Two branches that change different keys merge cleanly, even when their lines touch (two keys
 * added at the end of the same map, one key changed next to another). The same key changed two
 * ways is a conflict, marked around that entry only. The result is our text with their changes
 * spliced in entry by entry (whole lines, re-indented to our map's indentation), so comments,
 * order and formatting elsewhere stay ours.
 *
 * Block maps are merged key by key, recursively. Anything else (a sequence, a flow collection, a
 * scalar) is one value: taken from the side that changed it, or a conflict when both did. An
 * entry counts as changed when its text changed (a comment included); two sides that changed an
 * entry to the same value (comments aside) agree, and ours is kept.
 *
 * @module
 */
import { isMap, isScalar, type Node, type Pair, type YAMLMap } from "yaml";
import { DEFAULT_MAX_ALIAS_COUNT, type SealfigDocument } from "./document.ts";
import { formatPath, type ValuePath } from "../path.ts";

/** The outcome of {@link mergeDocuments}. */
export interface MergeResult {
  /** The merged text (LF line endings; conflict-marked when {@link MergeResult.conflicts} is not empty). */
  text: string;
  /** The paths both sides changed differently, in document order. */
  conflicts: string[];
  /** The merged value, as plain data (what the merged text must parse to when there is no conflict). */
  value: unknown;
}

/** Labels for conflict markers. */
export interface MergeLabels {
  /** After `<<<<<<<`. */
  ours: string;
  /** After `>>>>>>>`. */
  theirs: string;
}

interface Entry {
  key: string;
  pair: Pair;
  /** Offsets of the entry's whole lines in its document's text. */
  start: number;
  end: number;
  /** Indentation (column of the key). */
  indent: number;
  /** The entry's lines with the indentation removed: what "changed" compares. */
  text: string;
  value: unknown;
}

interface Side {
  doc: SealfigDocument;
  text: string;
}

/**
 * Merge `theirs` into `ours` with `base` as the common ancestor. Returns undefined when the
 * documents cannot be merged by key (a top level that is not a block map, keys that are not
 * strings, files holding different numbers of YAML documents): the caller falls back to a line
 * merge's conflict. A file of several documents merges document by document.
 *
 * @example
 * ```ts ignore
 * const r = mergeDocuments(parseDocument(base), parseDocument(ours), parseDocument(theirs));
 * r?.conflicts; // [] when the branches changed different keys
 * ```
 */
export function mergeDocuments(
  base: SealfigDocument,
  ours: SealfigDocument,
  theirs: SealfigDocument,
  labels: MergeLabels = { ours: "ours", theirs: "theirs" },
): MergeResult | undefined {
  const asMap = (n: unknown): YAMLMap | undefined | false =>
    n === null || n === undefined
      ? undefined
      : isMap(n) && !n.flow
      ? n
      : isScalar(n) && n.value === null
      ? undefined
      : false;
  // A file of several YAML documents merges document by document, when all three hold as many.
  const n = ours.documentCount;
  if (base.documentCount !== n || theirs.documentCount !== n) return undefined;
  const edits: { from: number; to: number; text: string }[] = [];
  const conflicts: string[] = [];
  const sides = {
    base: { doc: base, text: base.text },
    ours: { doc: ours, text: ours.text },
    theirs: { doc: theirs, text: theirs.text },
  };
  const values: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const [b, o, t] = [base, ours, theirs].map((d) => asMap(d.documentRoot(i)));
    if (b === false || o === false || t === false || !o) return undefined;
    const path = n > 1 ? [i] : [];
    const v = mergeMaps(b || undefined, o, t || undefined, path, sides, edits, conflicts, labels);
    if (v === FAIL) return undefined;
    values.push(v);
  }
  const value = n === 1 ? values[0] : values;
  edits.sort((x, y) => x.from - y.from || x.to - y.to);
  let out = "";
  let at = 0;
  for (const e of edits) {
    if (e.from < at) return undefined; // overlapping edits: not expected; be safe
    // An insertion at the very end of a text without a final newline starts a new line.
    const lead = e.from === ours.text.length && e.text !== "" && ours.text !== "" &&
        !ours.text.endsWith("\n")
      ? "\n"
      : "";
    out += ours.text.slice(at, e.from) + lead + e.text;
    at = e.to;
  }
  out += ours.text.slice(at);
  return { text: out, conflicts, value };
}

const FAIL = Symbol("fail");

function entriesOf(map: YAMLMap | undefined, side: Side): Map<string, Entry> | typeof FAIL {
  const out = new Map<string, Entry>();
  if (!map) return out;
  for (const pair of map.items) {
    const k = pair.key as Node | null;
    if (!isScalar(k) || typeof k.value !== "string" || !k.range) return FAIL;
    const v = pair.value as Node | null;
    const start = lineStart(side.text, k.range[0]);
    const last = Math.max(k.range[2], v?.range ? v.range[1] : 0);
    const end = lineEnd(side.text, last);
    const indent = k.range[0] - start;
    const lines = side.text.slice(start, end);
    out.set(k.value, {
      key: k.value,
      pair,
      start,
      end,
      indent,
      text: dedent(lines, indent),
      value: v ? toPlain(v, side.doc) : null,
    });
  }
  return out;
}

function mergeMaps(
  base: YAMLMap | undefined,
  ours: YAMLMap,
  theirs: YAMLMap | undefined,
  path: ValuePath,
  sides: { base: Side; ours: Side; theirs: Side },
  edits: { from: number; to: number; text: string }[],
  conflicts: string[],
  labels: MergeLabels,
): Record<string, unknown> | typeof FAIL {
  const B = entriesOf(base, sides.base);
  const O = entriesOf(ours, sides.ours);
  const T = entriesOf(theirs, sides.theirs);
  if (B === FAIL || O === FAIL || T === FAIL) return FAIL;
  const oursEntries = [...O.values()];
  const indent = oursEntries[0]?.indent;
  if (indent === undefined) return FAIL; // an empty map of ours: nothing to anchor an insert to
  const result: Record<string, unknown> = {};
  for (const e of oursEntries) result[e.key] = e.value;
  const theirKeys = [...T.keys()];
  const keys = [...new Set([...O.keys(), ...theirKeys, ...B.keys()])];
  for (const key of keys) {
    const b = B.get(key), o = O.get(key), t = T.get(key);
    if (same(o, t) || same(b, t)) continue; // theirs did not change it, or both agree
    if (same(b, o)) {
      // Only theirs changed it: take their entry (or its removal).
      if (!t) {
        edits.push({ from: o!.start, to: o!.end, text: "" });
        delete result[key];
      } else if (o) {
        edits.push({ from: o.start, to: o.end, text: reindent(t.text, o.indent) });
        result[key] = t.value;
      } else {
        const at = insertionPoint(key, theirKeys, O, oursEntries);
        edits.push({ from: at, to: at, text: reindent(t.text, indent) });
        result[key] = t.value;
      }
      continue;
    }
    // Both changed it.
    if (o && t && equalValue(o.value, t.value)) continue; // the same value (comments aside)
    const segs = [...path, key];
    const ov = o?.pair.value, tv = t?.pair.value, bv = b?.pair.value;
    if (
      o && t && isMap(ov) && !ov.flow && isMap(tv) && !tv.flow &&
      (!b || (isMap(bv) && !bv.flow) || (isScalar(bv) && bv.value === null))
    ) {
      const inner = mergeMaps(
        b && isMap(bv) ? bv : undefined,
        ov,
        tv,
        segs,
        sides,
        edits,
        conflicts,
        labels,
      );
      if (inner === FAIL) return FAIL;
      result[key] = inner;
      continue;
    }
    conflicts.push(formatPath(segs));
    const text = `<<<<<<< ${labels.ours}\n${o ? reindent(o.text, o.indent) : ""}=======\n${
      t ? reindent(t.text, o?.indent ?? indent) : ""
    }>>>>>>> ${labels.theirs}\n`;
    if (o) edits.push({ from: o.start, to: o.end, text });
    else {
      const at = insertionPoint(key, theirKeys, O, oursEntries);
      edits.push({ from: at, to: at, text });
    }
  }
  return result;
}

/** Where to insert their new key: after the nearest key before it (in their order) that we have. */
function insertionPoint(
  key: string,
  theirKeys: readonly string[],
  ours: Map<string, Entry>,
  oursEntries: readonly Entry[],
): number {
  for (let i = theirKeys.indexOf(key) - 1; i >= 0; i--) {
    const prev = ours.get(theirKeys[i]!);
    if (prev) return prev.end;
  }
  return oursEntries[0]!.start;
}

function same(a: Entry | undefined, b: Entry | undefined): boolean {
  if (!a || !b) return a === b;
  return a.text === b.text;
}

function equalValue(a: unknown, b: unknown): boolean {
  // (Two unmergeable values at the same offset of two sides once compared equal: `{offset}`.)
  if (a instanceof Unmergeable || b instanceof Unmergeable) return false;
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (x && typeof x === "object" && !Array.isArray(x)) {
      return Object.fromEntries(Object.entries(x as object).sort(([p], [q]) => p < q ? -1 : 1));
    }
    return typeof x === "bigint" ? `${x}n` : x;
  });
}

/** A value that cannot be built within the alias limit: equal to no other value, itself included. */
class Unmergeable {}

function toPlain(node: Node, doc: SealfigDocument): unknown {
  // More aliases than a load may expand is a file nobody loads; yaml's toJS is quadratic in them.
  if (doc.aliasCount() > DEFAULT_MAX_ALIAS_COUNT) return new Unmergeable();
  try {
    return node.toJS(doc.yaml, { maxAliasCount: DEFAULT_MAX_ALIAS_COUNT });
  } catch {
    return new Unmergeable();
  }
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

function lineEnd(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === "\n") return offset;
  const nl = text.indexOf("\n", offset);
  return nl < 0 ? text.length : nl + 1;
}

/** Remove `indent` leading spaces from every line that has them; end with a newline. */
function dedent(text: string, indent: number): string {
  const body = text.endsWith("\n") ? text : `${text}\n`;
  if (indent === 0) return body;
  const pad = " ".repeat(indent);
  return body.split("\n").map((l) => l.startsWith(pad) ? l.slice(indent) : l).join("\n");
}

function reindent(text: string, indent: number): string {
  if (indent === 0) return text;
  const pad = " ".repeat(indent);
  const lines = text.split("\n");
  return lines.map((l, i) => (l === "" && i === lines.length - 1) || l === "" ? l : pad + l)
    .join("\n");
}
