/**
 * JSON files (docs/config.md, "JSON files"): the one reader of the JSON sealfig accepts, the YAML
 * view the rest of sealfig works on, and the writer that carries a changed view back into the
 * file's own text.
 *
 * A `.json` file is read into a tree (every value with its source range; every member with its
 * key's range) and into a block-YAML view: one line per key or item, keys and strings
 * double-quoted (with escapes), numbers written as they are in the JSON (so the YAML 1.2 core
 * schema types them exactly as in a YAML file: `1` an integer, `1.0` and `1e3` floats, integers
 * beyond 2^53 as bigint), `true`, `false`, `null`, empty objects and arrays as `{}` and `[]`.
 * Sealing, opening, the integrity record (a top-level `"sealfig_integrity"` member), `set` and
 * `unset` work on the view exactly as on a YAML file; {@link renderJson} then rebuilds only the
 * values and members that changed, keeping every other byte (indentation, spacing, key order,
 * the final newline; CRLF and BOM are kept by the source layer). Every write is read back and
 * compared before it is used.
 *
 * The language is RFC 8259 JSON, strictly (anything else is `JSON_SYNTAX` at file:line:col:
 * comments, trailing commas, single quotes, unquoted keys, `NaN`/`Infinity`, leading zeros, raw
 * control characters in strings, unknown escapes, text after the value). Valid JSON whose meaning
 * could differ between sealfig and another reader is `JSON_UNSUPPORTED`: a key twice in one object
 * (JSON.parse keeps the last one silently), a lone surrogate (`"\ud800"`, which has no UTF-8 form),
 * a number beyond the float range (`1e400`), the integer `-0` (YAML's core schema reads it as 0),
 * the key `"<<"` (the merge key in the integrity MAC), a key too long for the view. An empty file
 * (blanks only) is an empty document, as in YAML, so `sealfig set` can create a file.
 *
 * @module
 */
import { isAlias, isMap, isScalar, isSeq } from "yaml";
import { SealfigError } from "../errors.ts";
import { hasLoneSurrogate } from "../crypto/bytes.ts";
import { isBlob } from "../envelope/format.ts";
import type { SecretValue } from "../envelope/value_codec.ts";
import { formatPath, type PathSegment } from "../path.ts";
import { yamlQuoted, yamlViewString } from "./dotenv.ts";
import { lookalikeReason } from "./lookalike.ts";
import { resolveScalar, sameTypedValue, type TypedValue } from "./scalar.ts";
import type { ValueTypeName } from "../envelope/format.ts";
import type { DocumentFormat, SealfigDocument, ViewDocument } from "./document.ts";
import type { DecodedSource } from "./source.ts";

/** The top-level member that holds a JSON file's integrity record. */
export const JSON_RECORD_NAME = "sealfig_integrity";

/** Limits of the JSON reader (the YAML view has the YAML reader's budget too). */
const MAX_DEPTH = 256;
const MAX_NODES = 100_000;
const MAX_MEMBERS = 10_000;
/** Longest key (as written in the view): YAML implicit keys end within 1024 characters. */
const MAX_VIEW_KEY = 1000;

/** A JSON value with its source range (`[start, end)` in the layout's text). */
export type JsonNode =
  | {
    readonly t: "object";
    readonly start: number;
    readonly end: number;
    readonly members: readonly JsonMember[];
  }
  | {
    readonly t: "array";
    readonly start: number;
    readonly end: number;
    readonly items: readonly JsonItem[];
  }
  | {
    readonly t: "string" | "number" | "literal";
    readonly start: number;
    readonly end: number;
    /** The source text (a number's digits, `true`, `false`, `null`). */
    readonly text: string;
    /** A string's value (unescaped). */
    readonly value?: string;
  };

/** One member of a JSON object. */
export interface JsonMember {
  readonly key: string;
  /** Offset just after the `{` or `,` before the member (its leading blanks start here). */
  readonly lead: number;
  readonly keyStart: number;
  readonly keyEnd: number;
  readonly node: JsonNode;
}

/** One item of a JSON array. */
export interface JsonItem {
  /** Offset just after the `[` or `,` before the item. */
  readonly lead: number;
  readonly node: JsonNode;
}

/** A parsed JSON text. */
export interface JsonLayout {
  /** The text (`\n` line endings when the file used CRLF throughout, no BOM). */
  readonly text: string;
  /** The top-level value; undefined for an empty file. */
  readonly root: JsonNode | undefined;
}

/** Whether a file name is a JSON file (`*.json`, any case: `appsettings.Production.json`). */
export function isJsonFileName(file: string): boolean {
  return /\.json$/i.test(file);
}

/** 1-based line and column of an offset (a binary search over line starts). */
export function lineColOf(
  starts: number[],
  offset: number,
): { line: number; col: number } {
  let lo = 0, hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, col: offset - starts[lo]! + 1 };
}

function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) out.push(i + 1);
  return out;
}

/**
 * Parse JSON text strictly (see the module documentation). Throws `JSON_SYNTAX` or
 * `JSON_UNSUPPORTED` (budget: `YAML_LIMIT`) with file, line and column; messages never quote
 * values.
 */
export function parseJsonText(text: string, file?: string): JsonLayout {
  let starts: number[] | undefined;
  const at = (offset: number) => lineColOf(starts ??= lineStarts(text), offset);
  const err = (
    code: "JSON_SYNTAX" | "JSON_UNSUPPORTED" | "YAML_LIMIT" | "YAML_KEY_CONFUSABLE",
    offset: number,
    msg: string,
    hint: string,
    path?: readonly PathSegment[],
  ) =>
    new SealfigError(code, msg, {
      ...(file !== undefined ? { file } : {}),
      ...at(Math.min(offset, text.length)),
      ...(path !== undefined && path.length > 0 ? { path: formatPath(path) } : {}),
      hint,
    });
  const syntax = (offset: number, msg: string, hint = "Fix the JSON there (RFC 8259)") =>
    err("JSON_SYNTAX", offset, msg, hint);
  let pos = 0;
  let nodes = 0;
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else return;
    }
  };
  const unexpected = (what: string): SealfigError => {
    const c = text[pos];
    if (c === undefined) return syntax(pos, `Unexpected end of the JSON text, expected ${what}`);
    if (c === "/" && (text[pos + 1] === "/" || text[pos + 1] === "*")) {
      return syntax(pos, "Comments are not JSON", "Remove the comment (JSON has none)");
    }
    if (c === "'") {
      return syntax(pos, "Single quotes are not JSON", 'Write strings in double quotes ("…")');
    }
    if (/[A-Za-z_$]/.test(c)) {
      const word = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(pos, pos + 16))?.[0] ?? c;
      if (word === "NaN" || word === "Infinity") {
        return syntax(pos, `${word} is not JSON`, "JSON numbers are finite: store it as a string");
      }
      return syntax(pos, `Unexpected word, expected ${what}`, 'Quote keys and strings with "');
    }
    return syntax(pos, `Unexpected character, expected ${what}`);
  };
  const parseString = (): { value: string; start: number; end: number } => {
    const start = pos;
    pos++; // the opening quote
    let out = "";
    let from = pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (Number.isNaN(c)) throw syntax(start, "A string is not closed", 'Close it with "');
      if (c === 0x22) break;
      if (c < 0x20) {
        throw syntax(
          pos,
          "A raw control character (line break, tab …) inside a string",
          "Escape it (\\n, \\t, \\u0000 …)",
        );
      }
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(from, pos);
      const e = text[pos + 1];
      const simple: Record<string, string> = {
        '"': '"',
        "\\": "\\",
        "/": "/",
        b: "\b",
        f: "\f",
        n: "\n",
        r: "\r",
        t: "\t",
      };
      if (e !== undefined && simple[e] !== undefined) {
        out += simple[e];
        pos += 2;
      } else if (e === "u" && /^[0-9A-Fa-f]{4}$/.test(text.slice(pos + 2, pos + 6))) {
        out += String.fromCharCode(parseInt(text.slice(pos + 2, pos + 6), 16));
        pos += 6;
      } else {
        throw syntax(
          pos,
          "Unknown escape in a string",
          'JSON knows \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX only',
        );
      }
      from = pos;
    }
    out += text.slice(from, pos);
    pos++;
    return { value: out, start, end: pos };
  };
  const wellFormed = (s: string, start: number, path: readonly PathSegment[]) => {
    if (hasLoneSurrogate(s)) {
      throw err(
        "JSON_UNSUPPORTED",
        start,
        "A string holds a lone surrogate (\\ud800–\\udfff without its pair)",
        "It has no UTF-8 form: readers replace it differently (U+FFFD, an error); write the " +
          "character it stands for, or remove it",
        path,
      );
    }
  };
  const countNode = () => {
    if (++nodes > MAX_NODES) {
      throw err(
        "YAML_LIMIT",
        pos,
        `More than ${MAX_NODES} JSON nodes (keys, values and collections)`,
        "Split the file: sealfig bounds the work of parsing one document",
      );
    }
  };
  const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
  const parseValue = (depth: number, path: PathSegment[]): JsonNode => {
    countNode();
    const c = text[pos];
    if (c === "{" || c === "[") {
      if (depth >= MAX_DEPTH) {
        throw err(
          "YAML_LIMIT",
          pos,
          `Nesting deeper than ${MAX_DEPTH} levels`,
          "Flatten the document",
        );
      }
      const start = pos;
      pos++;
      ws();
      const close = c === "{" ? "}" : "]";
      const members: JsonMember[] = [];
      const items: JsonItem[] = [];
      const seen = new Map<string, number>();
      let lead = start + 1;
      if (text[pos] !== close) {
        for (;;) {
          if (c === "{") {
            if (text[pos] !== '"') throw unexpected("a key in double quotes");
            countNode(); // a key is a node of the view, as in YAML
            const key = parseString();
            const keyPath = [...path, key.value];
            wellFormed(key.value, key.start, path);
            const first = seen.get(key.value);
            if (first !== undefined) {
              throw err(
                "JSON_UNSUPPORTED",
                key.start,
                `The key ${JSON.stringify(key.value)} appears twice in one object (first on line ${
                  at(first).line
                })`,
                "Remove one of them: JSON readers disagree on which one wins (JSON.parse keeps the last)",
                path,
              );
            }
            if (key.value === "<<") {
              throw err(
                "JSON_UNSUPPORTED",
                key.start,
                'The key "<<" is not supported',
                "<< is the merge key in sealfig's YAML model and integrity record; rename the key",
                path,
              );
            }
            if (yamlQuoted(key.value).length > MAX_VIEW_KEY) {
              throw err(
                "JSON_UNSUPPORTED",
                key.start,
                `A key longer than ${MAX_VIEW_KEY} characters`,
                "Shorten the key",
                path,
              );
            }
            const lookalike = lookalikeReason(key.value);
            if (lookalike !== undefined) {
              throw err(
                "YAML_KEY_CONFUSABLE",
                key.start,
                `A key ${lookalike}`,
                "Rename the key with visible characters of one script: it could pass for another " +
                  "key in a review",
                path,
              );
            }
            seen.set(key.value, key.start);
            if (members.length >= MAX_MEMBERS) {
              throw err(
                "YAML_LIMIT",
                key.start,
                `An object has more than ${MAX_MEMBERS} keys`,
                "Split the object, or the file: sealfig bounds the work of parsing one document",
              );
            }
            ws();
            if (text[pos] !== ":") throw unexpected("':' after the key");
            pos++;
            ws();
            const node = parseValue(depth + 1, keyPath);
            members.push({ key: key.value, lead, keyStart: key.start, keyEnd: key.end, node });
          } else {
            const node = parseValue(depth + 1, [...path, items.length]);
            items.push({ lead, node });
          }
          ws();
          if (text[pos] === ",") {
            const comma = pos;
            pos++;
            lead = pos;
            ws();
            if (text[pos] === close) {
              throw syntax(
                comma,
                "A trailing comma",
                "Remove the comma before the closing bracket",
              );
            }
            continue;
          }
          if (text[pos] === close) break;
          throw unexpected(`',' or '${close}'`);
        }
      }
      pos++;
      return c === "{"
        ? { t: "object", start, end: pos, members }
        : { t: "array", start, end: pos, items };
    }
    if (c === '"') {
      const s = parseString();
      wellFormed(s.value, s.start, path);
      return {
        t: "string",
        start: s.start,
        end: s.end,
        text: text.slice(s.start, s.end),
        value: s.value,
      };
    }
    for (const lit of ["true", "false", "null"]) {
      if (text.startsWith(lit, pos) && !/[A-Za-z0-9_$]/.test(text[pos + lit.length] ?? "")) {
        const start = pos;
        pos += lit.length;
        return { t: "literal", start, end: pos, text: lit };
      }
    }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (m && !/[0-9.eE+\-A-Za-z_$]/.test(text[pos + m[0].length] ?? "")) {
      const start = pos;
      pos += m[0].length;
      const n = m[0];
      if (n === "-0") {
        throw err(
          "JSON_UNSUPPORTED",
          start,
          "The integer -0",
          "sealfig reads numbers as YAML 1.2 does, where -0 is the integer 0 (JSON.parse gives " +
            "-0): write 0, or -0.0 for the float",
          path,
        );
      }
      if (/[.eE]/.test(n) && !Number.isFinite(Number(n))) {
        throw err(
          "JSON_UNSUPPORTED",
          start,
          "A number beyond the range of a 64-bit float",
          "Readers disagree on it (Infinity, an error): store it as a string",
          path,
        );
      }
      return { t: "number", start, end: pos, text: n };
    }
    if ((c === "-" || c === "+" || c === "." || (c !== undefined && c >= "0" && c <= "9"))) {
      throw syntax(
        pos,
        "A malformed number",
        "JSON numbers have no leading zeros, + sign, leading or trailing dot, or hex",
      );
    }
    throw unexpected("a value");
  };
  ws();
  if (pos >= text.length) return { text, root: undefined };
  const root = parseValue(0, []);
  ws();
  if (pos < text.length) {
    throw syntax(pos, "Text after the JSON value", "A JSON file holds one value; remove the rest");
  }
  return { text, root };
}

/** Where a line of the view comes from in the JSON text. */
export interface JsonViewLine {
  /** Offset of the key in the JSON text (members only). */
  readonly key?: number;
  /** Offset of the value in the JSON text (scalars and empty collections). */
  readonly value?: number;
  /** 1-based view column where the value starts. */
  readonly viewCol: number;
}

/** The block-YAML view of a parsed JSON text, and where each view line comes from. */
export interface JsonView {
  readonly text: string;
  /** Per view line (0-based). */
  readonly lines: readonly (JsonViewLine | undefined)[];
}

function viewScalar(n: JsonNode): string {
  if (n.t === "object") return "{}";
  if (n.t === "array") return "[]";
  if (n.t === "string") return yamlViewString(n.value!);
  return n.text;
}

function isLeaf(n: JsonNode): boolean {
  return n.t === "object" ? n.members.length === 0 : n.t === "array" ? n.items.length === 0 : true;
}

/** Build the YAML view of a parsed JSON text (see the module documentation). */
export function jsonView(layout: JsonLayout): JsonView {
  const out: string[] = [];
  const lines: (JsonViewLine | undefined)[] = [];
  const root = layout.root;
  if (!root) return { text: "", lines };
  const walk = (n: JsonNode, indent: number) => {
    const pad = " ".repeat(indent);
    if (n.t === "object") {
      for (const m of n.members) {
        const head = `${pad}${yamlQuoted(m.key)}:`;
        if (isLeaf(m.node)) {
          out.push(`${head} ${viewScalar(m.node)}`);
          lines.push({ key: m.keyStart, value: m.node.start, viewCol: head.length + 2 });
        } else {
          out.push(head);
          lines.push({ key: m.keyStart, viewCol: head.length + 2 });
          walk(m.node, indent + 1);
        }
      }
    } else if (n.t === "array") {
      for (const it of n.items) {
        if (isLeaf(it.node)) {
          out.push(`${pad}- ${viewScalar(it.node)}`);
          lines.push({ value: it.node.start, viewCol: indent + 3 });
        } else {
          out.push(`${pad}-`);
          lines.push({ value: it.node.start, viewCol: indent + 3 });
          walk(it.node, indent + 1);
        }
      }
    }
  };
  if (isLeaf(root)) {
    out.push(viewScalar(root));
    lines.push({ value: root.start, viewCol: 1 });
  } else {
    walk(root, 0);
  }
  return { text: out.join("\n") + "\n", lines };
}

/** What a view holds, as the JSON writer needs it. */
export type JsonWant =
  | { readonly t: "map"; readonly items: readonly (readonly [string, JsonWant])[] }
  | { readonly t: "seq"; readonly items: readonly JsonWant[] }
  | {
    readonly t: "scalar";
    /** `sealed` (a blob) or plain (a `!secret` plaintext counts as plain: JSON has no tags). */
    readonly sealed: boolean;
    readonly type: ValueTypeName | undefined;
    readonly value: SecretValue;
    /** The view path, for errors. */
    readonly path: string;
  };

/** Thrown by the writer: a value (at `path`) JSON cannot hold. */
export class JsonUnrepresentable extends Error {
  constructor(readonly path: string | undefined, readonly why: string) {
    super(why);
  }
}

/** The typed value of a JSON scalar, as its view reads it. */
function typedOf(n: JsonNode): { sealed: boolean; tv: TypedValue } | undefined {
  if (n.t === "string") return { sealed: isBlob(n.value), tv: { value: n.value!, type: "string" } };
  if (n.t === "number" || n.t === "literal") {
    return { sealed: false, tv: resolveScalar(n.text, true) };
  }
  return undefined;
}

function sameScalar(n: JsonNode, w: Extract<JsonWant, { t: "scalar" }>): boolean {
  const got = typedOf(n);
  if (!got || got.sealed !== w.sealed || w.type === undefined) return false;
  if (w.sealed) return got.tv.value === w.value;
  return sameTypedValue(got.tv, { value: w.value, type: w.type });
}

/** Whether a parsed JSON value holds exactly what `want` says (used to check every write). */
export function sameJson(n: JsonNode | undefined, w: JsonWant | undefined): boolean {
  if (!w) return n === undefined || (n.t === "object" && n.members.length === 0);
  if (!n) return w.t === "map" && w.items.length === 0;
  if (w.t === "scalar") return sameScalar(n, w);
  if (w.t === "map") {
    return n.t === "object" && n.members.length === w.items.length &&
      n.members.every((m, i) => m.key === w.items[i]![0] && sameJson(m.node, w.items[i]![1]));
  }
  return n.t === "array" && n.items.length === w.items.length &&
    n.items.every((it, i) => sameJson(it.node, w.items[i]));
}

/** A scalar as JSON text; throws {@link JsonUnrepresentable} for what JSON cannot hold. */
function renderScalarJson(w: Extract<JsonWant, { t: "scalar" }>): string {
  const v = w.value;
  if (w.sealed) return JSON.stringify(String(v));
  switch (w.type) {
    case "string":
      return JSON.stringify(String(v));
    case "boolean":
      return v ? "true" : "false";
    case "null":
      return "null";
    case "integer":
      if (Object.is(v, -0)) throw new JsonUnrepresentable(w.path, "JSON has no integer -0");
      return String(v);
    case "float": {
      const n = Number(v);
      if (!Number.isFinite(n)) {
        throw new JsonUnrepresentable(w.path, "JSON numbers are finite (no NaN or infinity)");
      }
      if (Object.is(n, -0)) return "-0.0";
      const s = String(n);
      // A float must read back as one: `1` would be an integer.
      return /^-?[0-9]+$/.test(s) ? `${s}.0` : s;
    }
    default:
      throw new JsonUnrepresentable(w.path, "a value of this type");
  }
}

/** How new members and items are written: detected from the file. */
interface JsonStyle {
  /** One level of indentation; undefined for a file on one line. */
  readonly unit: string | undefined;
  /** Between a key and its value (`: `). */
  readonly colon: string;
}

function detectStyle(layout: JsonLayout): JsonStyle {
  const text = layout.text;
  let unit: string | undefined;
  let colon: string | undefined;
  const visit = (n: JsonNode, depth: number) => {
    if (unit !== undefined && colon !== undefined) return;
    const leads = n.t === "object"
      ? n.members.map((m) => m.lead)
      : n.t === "array"
      ? n.items.map((i) => i.lead)
      : [];
    const firsts = n.t === "object"
      ? n.members.map((m) => m.keyStart)
      : n.t === "array"
      ? n.items.map((i) => i.node.start)
      : [];
    if (unit === undefined && leads.length > 0) {
      const lead = text.slice(leads[0], firsts[0]);
      const nl = lead.lastIndexOf("\n");
      if (nl >= 0) {
        const ind = lead.slice(nl + 1);
        if (ind.length > 0 && depth === 0) unit = ind;
        else if (ind.length > 0 && ind.length % (depth + 1) === 0) {
          unit = ind.slice(0, ind.length / (depth + 1));
        }
      }
    }
    if (n.t === "object") {
      for (const m of n.members) {
        if (colon === undefined) colon = text.slice(m.keyEnd, m.node.start);
        visit(m.node, depth + 1);
      }
    } else if (n.t === "array") {
      for (const it of n.items) visit(it.node, depth + 1);
    }
  };
  if (layout.root) visit(layout.root, 0);
  const multiline = layout.root
    ? text.slice(layout.root.start, layout.root.end).includes("\n")
    : true;
  const u = unit ?? (multiline ? "  " : undefined);
  return { unit: u, colon: colon ?? (u !== undefined ? ": " : ":") };
}

/**
 * The JSON text for a changed view: values that differ from `base` are rewritten in place,
 * members and items gone from the view are removed with their comma, new ones are added in view
 * order in the style of their neighbours (or of the file). Everything else stays byte for byte.
 * Throws {@link JsonUnrepresentable} for a value JSON cannot hold.
 */
export function renderJson(base: JsonLayout, want: JsonWant | undefined): string {
  const text = base.text;
  const style = detectStyle(base);
  const nl = (depth: number) => style.unit === undefined ? "" : `\n${style.unit.repeat(depth)}`;
  const fresh = (w: JsonWant, depth: number): string => {
    if (w.t === "scalar") return renderScalarJson(w);
    if (w.items.length === 0) return w.t === "map" ? "{}" : "[]";
    const parts = w.t === "map"
      ? w.items.map(([k, v]) =>
        `${nl(depth + 1)}${JSON.stringify(k)}${style.colon}${fresh(v, depth + 1)}`
      )
      : w.items.map((v) => `${nl(depth + 1)}${fresh(v, depth + 1)}`);
    const [open, close] = w.t === "map" ? ["{", "}"] : ["[", "]"];
    return `${open}${parts.join(",")}${nl(depth)}${close}`;
  };
  const render = (n: JsonNode | undefined, w: JsonWant, depth: number): string => {
    if (!n) return fresh(w, depth);
    if (w.t === "scalar") {
      return isLeaf(n) && sameScalar(n, w) ? text.slice(n.start, n.end) : renderScalarJson(w);
    }
    if (w.t === "map" && n.t === "object") {
      const byKey = new Map(n.members.map((m) => [m.key, m]));
      const last = n.members[n.members.length - 1];
      const lead = last ? text.slice(last.lead, last.keyStart) : nl(depth + 1);
      const colon = last ? text.slice(last.keyEnd, last.node.start) : style.colon;
      const segs = w.items.map(([k, v]) => {
        const m = byKey.get(k);
        if (m) return text.slice(m.lead, m.node.start) + render(m.node, v, depth + 1);
        return `${lead}${JSON.stringify(k)}${colon}${fresh(v, depth + 1)}`;
      });
      if (segs.length === 0) return "{}";
      const tail = last ? text.slice(last.node.end, n.end - 1) : nl(depth);
      return `{${segs.join(",")}${tail}}`;
    }
    if (w.t === "seq" && n.t === "array") {
      const last = n.items[n.items.length - 1];
      const lead = last ? text.slice(last.lead, last.node.start) : nl(depth + 1);
      const segs = w.items.map((v, i) => {
        const it = n.items[i];
        if (it) return text.slice(it.lead, it.node.start) + render(it.node, v, depth + 1);
        return `${lead}${fresh(v, depth + 1)}`;
      });
      if (segs.length === 0) return "[]";
      const tail = last ? text.slice(last.node.end, n.end - 1) : nl(depth);
      return `[${segs.join(",")}${tail}]`;
    }
    return fresh(w, depth);
  };
  const root = base.root;
  if (!want) {
    // An empty view: an empty file stays empty; a file that had content keeps an empty object.
    return root
      ? text.slice(0, root.start) + (root.t === "array" ? "[]" : "{}") + text.slice(root.end)
      : text;
  }
  if (!root) return `${fresh(want, 0)}\n`;
  return text.slice(0, root.start) + render(root, want, 0) + text.slice(root.end);
}

/**
 * The JSON origin of each line of an edited view: a line keeps the origin of the old view's line it
 * still is (same text before the value: indentation and key, or `-`), matched in order (lines
 * inserted or removed by an edit shift the rest); a line an edit added has none, and reports its
 * view position.
 */
function alignLines(
  oldText: string,
  newText: string,
  lines: readonly (JsonViewLine | undefined)[],
): (JsonViewLine | undefined)[] {
  const head = (line: string, l: JsonViewLine | undefined) =>
    l === undefined ? undefined : line.slice(0, l.viewCol - 1).trimEnd();
  const olds = oldText.split("\n");
  const news = newText.split("\n");
  const out: (JsonViewLine | undefined)[] = [];
  let i = 0;
  for (const line of news) {
    let found: number | undefined;
    for (let k = i; k < olds.length && k < i + 64; k++) {
      const h = head(olds[k]!, lines[k]);
      if (h !== undefined && h === head(line, lines[k])) {
        found = k;
        break;
      }
    }
    if (found === undefined) {
      out.push(undefined);
      continue;
    }
    out.push(lines[found]);
    i = found + 1;
  }
  return out;
}

/** What a JSON document's position() needs: the JSON text and where each view line comes from. */
interface PositionMap {
  readonly layout: JsonLayout;
  readonly lines: readonly (JsonViewLine | undefined)[];
  readonly starts: number[];
}

/** The map of the JsonDocument being constructed (its position() runs inside super()). */
let constructing: PositionMap | undefined;
const positionsOf = new WeakMap<SealfigDocument, PositionMap>();

type JsonDocumentClass = new (
  layout: JsonLayout,
  source: Omit<DecodedSource, "text">,
  file: string | undefined,
  view: JsonView,
) => SealfigDocument;
let jsonDocumentClass: JsonDocumentClass | undefined;

/**
 * A JSON document (document.ts calls this for format `json`): the class extends `Base` (passed
 * in, so that this module imports document.ts for types only and no import cycle runs).
 */
export function newJsonDocument(
  Base: ViewDocumentBase,
  decoded: DecodedSource,
  file: string | undefined,
): SealfigDocument {
  const layout = parseJsonText(decoded.text, file);
  jsonDocumentClass ??= defineJsonDocument(Base);
  return new jsonDocumentClass(layout, decoded, file, jsonView(layout));
}

/** The base class document.ts passes in (ViewDocument). */
type ViewDocumentBase = abstract new (
  source: DecodedSource,
  file: string | undefined,
) => ViewDocument;

function defineJsonDocument(Base: ViewDocumentBase): JsonDocumentClass {
  /**
   * A JSON file as a document: the YAML view is what every sealfig function reads and edits;
   * positions are the JSON file's; toString() carries the view's values back into the file's
   * own text, checked by reading it again.
   */
  class JsonDocument extends Base {
    readonly #layout: JsonLayout;

    constructor(
      layout: JsonLayout,
      source: Omit<DecodedSource, "text">,
      file: string | undefined,
      view: JsonView,
    ) {
      // Set for this constructor only (synchronous); each JsonDocument sets it before super().
      constructing = { layout, lines: view.lines, starts: lineStarts(layout.text) };
      super({ text: view.text, bom: source.bom, lineEnding: source.lineEnding }, file);
      positionsOf.set(this, constructing);
      constructing = undefined;
      this.#layout = layout;
    }

    override get format(): DocumentFormat {
      return "json";
    }

    override position(offset: number): { line: number; col: number } {
      const p = super.position(offset);
      const map = positionsOf.get(this) ?? constructing;
      const l = map?.lines[p.line - 1];
      if (!map || !l) return p;
      if (p.col >= l.viewCol && l.value !== undefined) {
        return lineColOf(map.starts, l.value);
      }
      // Before the value (a key, a `- `): the JSON line, the view's column, which edits indent by.
      // (Keys' own errors, duplicates and look-alikes, are reported by parseJsonText, exactly.)
      return { line: lineColOf(map.starts, l.key ?? l.value!).line, col: p.col };
    }

    override withText(text: string): SealfigDocument {
      const map = positionsOf.get(this)!;
      return new JsonDocument(this.#layout, this, this.file, {
        text,
        lines: alignLines(this.text, text, map.lines),
      });
    }

    /** The JSON text of the view, read back and compared before it is returned. */
    protected renderView(withRecord: boolean): string {
      const want = this.#want(withRecord);
      let text: string;
      try {
        text = renderJson(this.#layout, want);
      } catch (err) {
        if (err instanceof JsonUnrepresentable) throw this.#unrepresentable(err.path, err.why);
        throw err;
      }
      let back: JsonLayout;
      try {
        back = parseJsonText(text, this.file);
      } catch (err) {
        throw this.#unrepresentable(undefined, "the written file would not parse", err);
      }
      if (!sameJson(back.root, want)) {
        throw this.#unrepresentable(undefined, "a value would not read back");
      }
      return text;
    }

    /** The view as the JSON writer needs it (without the top-level record unless asked). */
    #want(withRecord: boolean): JsonWant | undefined {
      const root = this.yaml.contents;
      if (root === null || (isScalar(root) && root.value === null && !root.source)) {
        return undefined;
      }
      const toWant = (node: unknown, segs: PathSegment[]): JsonWant => {
        const path = formatPath(segs);
        if (node === null || node === undefined) {
          return { t: "scalar", sealed: false, type: "null", value: null, path };
        }
        if (isAlias(node)) throw this.#unrepresentable(path, "JSON has no aliases");
        if (isMap(node)) {
          const items: (readonly [string, JsonWant])[] = [];
          for (const pair of node.items) {
            const k = pair.key;
            if (!isScalar(k) || typeof k.value === "symbol" || k.value === "<<") {
              throw this.#unrepresentable(path, "JSON keys are strings (no merge keys)");
            }
            const key = k.value === null ? "" : String(k.value);
            if (segs.length === 0 && !withRecord && key === JSON_RECORD_NAME) continue;
            items.push([key, toWant(pair.value, [...segs, key])]);
          }
          return { t: "map", items };
        }
        if (isSeq(node)) {
          return {
            t: "seq",
            items: node.items.map((it, i) => toWant(it, [...segs, i])),
          };
        }
        if (isScalar(node)) {
          const e = this.entryOf(node);
          if (!e) throw this.#unrepresentable(path, "a value the view does not list");
          return {
            t: "scalar",
            sealed: e.kind === "sealed",
            type: e.type,
            value: e.value,
            path: e.pathText,
          };
        }
        throw this.#unrepresentable(path, "an unknown node");
      };
      return toWant(root, []);
    }

    #unrepresentable(path: string | undefined, why: string, cause?: unknown): SealfigError {
      return new SealfigError(
        "VALUE_NOT_REPRESENTABLE",
        `Cannot write this as JSON: ${why}; nothing was written`,
        {
          ...(this.file !== undefined ? { file: this.file } : {}),
          ...(path !== undefined && path !== "" ? { path } : {}),
          ...(cause !== undefined ? { cause } : {}),
          hint: "JSON holds strings, finite numbers, booleans, null, objects and arrays; " +
            "store other values as strings, or use a YAML file",
        },
      );
    }
  }
  return JsonDocument;
}
