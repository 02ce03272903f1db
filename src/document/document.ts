/**
 * Sealed YAML documents: parse a sealed view (values are blob strings) or a plaintext view (values
 * to seal carry the `!secret` tag), list every value with its path, kind, type and position.
 *
 * The document is immutable. Edits ({@link sealDocument}, {@link decryptDocument},
 * {@link setValue} …) splice new text into the exact source range of the scalars they change and
 * parse the result again, so comments, blank lines, key order, anchors, quoting and indentation
 * everywhere else stay byte for byte what they were.
 *
 * @module
 */
import {
  type Alias,
  Composer,
  type CST,
  type Document,
  Document as YamlDocument,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  type Node,
  type Pair,
  Parser,
  type Scalar,
  type ScalarTag,
  YAMLSeq,
} from "yaml";
import { isSealfigError, SealfigError } from "../errors.ts";
import { isBlob, parseBlob, type ValueTypeName } from "../envelope/format.ts";
import type { SecretValue } from "../envelope/value_codec.ts";
import {
  appendPath,
  formatPath,
  MAX_PATH_CHARS,
  type PathSegment,
  toSegments,
  type ValuePath,
} from "../path.ts";
import { confusableSiblings, lookalikeReason } from "./lookalike.ts";
import {
  ENV_RECORD_NAME,
  type EnvLayout,
  type EnvView,
  envView,
  type EnvViewValue,
  isEnvFileName,
  isEnvName,
  parseEnvText,
  renderEnv,
} from "./dotenv.ts";
import { isJsonFileName, newJsonDocument } from "./json.ts";
import { resolveScalar } from "./scalar.ts";
import {
  type DecodedSource,
  decodeSource,
  normalizeText,
  parserFailure,
  readSourceFile,
  restoreText,
} from "./source.ts";

/** The YAML tag that marks a value to seal in the plaintext view. */
export const SECRET_TAG = "!secret";

/** Default limit on alias resolutions while building a value from a document: 100. */
export const DEFAULT_MAX_ALIAS_COUNT = 100;

const MAX_DEPTH = 256;

/** The integrity record's key (integrity/record.ts owns it; repeated to avoid an import cycle). */
const RECORD_KEY = "sealfig_integrity";

/**
 * Limits that bound the work of parsing one document, whatever its content (docs/config.md,
 * "Parsing budget"). The lexical tokens are counted while the syntax tree is built, the rest in
 * one linear pass over that tree before the YAML nodes are composed, so a hostile file within
 * the size limit is refused before it can cost more time or memory than a legitimate one.
 */
export const PARSE_LIMITS: {
  /** Lexical tokens (scalars, indicators, spaces, newlines, comments): 1,000,000. */
  readonly maxTokens: number;
  /** YAML nodes (collections, keys and values; an empty value counts): 100,000. */
  readonly maxNodes: number;
  /** Keys in one map: 10,000. */
  readonly maxKeysPerMap: number;
  /** Collection nesting, block and flow: 256 levels. */
  readonly maxDepth: number;
  /**
   * Characters in one value's path text (`db.password`, `a["long key"][3]`): 8,192, what
   * `get`/`set` accept, so every value stays addressable. It bounds a key's length too.
   */
  readonly maxPathChars: number;
  /** Characters in the path texts of all nodes of a document, added up: 8,388,608. */
  readonly maxTotalPathChars: number;
  /**
   * Characters of the double-quoted scalars of a document, added up: 2,097,152. yaml unescapes
   * them one character at a time, each a string of ~40 bytes until it is used.
   */
  readonly maxDoubleQuotedChars: number;
  /**
   * YAML documents in one file: 10,000. Counted by the lexer (`---` markers), before yaml builds a
   * syntax tree per document (about 640 bytes each, even for an empty one).
   */
  readonly maxDocuments: number;
} = Object.freeze({
  maxTokens: 1_000_000,
  maxNodes: 100_000,
  maxKeysPerMap: 10_000,
  maxDepth: MAX_DEPTH,
  maxPathChars: MAX_PATH_CHARS,
  maxTotalPathChars: 8 * 1024 * 1024,
  maxDoubleQuotedChars: 2 * 1024 * 1024,
  maxDocuments: 10_000,
});

/**
 * What a value in a document is:
 * - `sealed`: a blob string (the sealed view);
 * - `secret`: tagged `!secret`, still plaintext (the plaintext view, waiting to be sealed);
 * - `plain`: an ordinary, unencrypted value.
 */
export type ValueKind = "sealed" | "secret" | "plain";

/** One scalar value of a document, as listed by {@link SealfigDocument.values}. */
export interface DocumentValue {
  /** Where it sits, as segments. Aliases are not listed; a value is listed once, at its anchor. */
  readonly path: ValuePath;
  /** {@link path} in path syntax (`db.password`, `servers[0].host`, `labels["a.b"]`). */
  readonly pathText: string;
  /** Sealed blob, `!secret` plaintext, or plain. */
  readonly kind: ValueKind;
  /**
   * The value's type: for `sealed`, the type recorded in the blob header (undefined when the blob
   * is malformed); otherwise the YAML 1.2 core-schema type (undefined for other YAML types).
   */
  readonly type: ValueTypeName | undefined;
  /** For `sealed`: the blob string. Otherwise: the value itself. */
  readonly value: SecretValue;
  /** 1-based line of the value. */
  readonly line: number;
  /** 1-based column of the value. */
  readonly col: number;
}

/**
 * A document's file format: `yaml`, `env` (a `.env` file, read through a YAML view of its
 * `NAME=value` entries; docs/config.md, ".env files") or `json` (a `.json` file, read through a
 * YAML view of its tree; docs/config.md, "JSON files").
 */
export type DocumentFormat = "yaml" | "env" | "json";

/**
 * The format of a file by its name: `env` for `.env`, `.env.*` and `*.env`, `json` for `*.json`,
 * else `yaml`.
 *
 * @example
 * ```ts
 * import { formatOfFile } from "@sealfig/sealfig/document";
 * formatOfFile(".env.production"); // "env"
 * formatOfFile("config/app.yaml"); // "yaml"
 * ```
 */
export function formatOfFile(file: string): DocumentFormat {
  return isEnvFileName(file) ? "env" : isJsonFileName(file) ? "json" : "yaml";
}

/** Options for {@link parseDocument} and {@link readDocument}. */
export interface ParseDocumentOptions {
  /** The file name, for error messages. */
  file?: string;
  /** The format. Default: by the file name ({@link formatOfFile}); `yaml` without one. */
  format?: DocumentFormat;
  /** Refuse sources larger than this many bytes. Default 10 MiB. */
  maxBytes?: number;
}

/** Internal: a listed value plus what edits need. */
export interface DocumentEntry extends DocumentValue {
  /** The YAML node. */
  readonly node: Scalar;
  /** Offset where the value's text starts (after tag and anchor). */
  readonly start: number;
  /** Offset just after the value's last non-blank character. */
  readonly end: number;
  /** Offset of the first property (`!secret` or `&anchor`) before the value; = start when none. */
  readonly propsStart: number;
  /** Anchors written before the value (`&x`), kept when the tag is rewritten. */
  readonly anchors: readonly string[];
  /** True inside a flow collection. */
  readonly flow: boolean;
  /** Column (0-based) of the key or `- ` holding the value. */
  readonly keyColumn: number;
}

/**
 * A parsed sealed or plaintext YAML document. Create one with {@link parseDocument} or
 * {@link readDocument}.
 *
 * @example List the values of a document
 * ```ts
 * import { parseDocument } from "@sealfig/sealfig/document";
 * const doc = parseDocument("db:\n  host: db.internal\n  password: !secret hunter2\n");
 * doc.values().map((v) => `${v.pathText} ${v.kind}`); // ["db.host plain", "db.password secret"]
 * ```
 */
export class SealfigDocument {
  /** The file it came from, if any (used in error messages). */
  readonly file: string | undefined;
  /** The text with `\n` line endings and no BOM (offsets in {@link DocumentEntry} refer to it). */
  readonly text: string;
  /**
   * The parsed YAML document. Treat it as read-only: edits go through sealfig's functions. In a
   * file of several documents ({@link documentCount} > 1) its contents is a sequence whose items
   * are the documents' roots, so a path starts with the document's index (`[1].stringData.x`).
   */
  readonly yaml: Document.Parsed;
  /** Source ranges `[start, end)` of each YAML document of the file (`---` and `...` included). */
  readonly #documents: readonly (readonly [number, number])[];
  readonly #source: Omit<DecodedSource, "text">;
  readonly #lines: LineCounter;
  readonly #entries: DocumentEntry[];
  readonly #byPath: Map<string, DocumentEntry>;
  readonly #byNode: Map<Node, DocumentEntry>;
  /** Anchored map keys: an alias to one is refused (it would be a value with no path). */
  readonly #keyNodes = new Set<Node>();
  /** The last node seen with each anchor name, while walking in document order. */
  readonly #anchors = new Map<string, Node>();
  /** Each alias's target, found once by the walk (yaml's `resolve` visits the whole document). */
  readonly #aliasTargets = new Map<Alias, Node | undefined>();
  /** Path characters formatted so far by the walk ({@link PARSE_LIMITS}.maxTotalPathChars). */
  #pathChars = 0;

  /** @internal Use {@link parseDocument}. */
  constructor(source: DecodedSource, file: string | undefined) {
    this.file = file;
    this.text = source.text;
    this.#source = { bom: source.bom, lineEnding: source.lineEnding };
    this.#lines = new LineCounter();
    const parsed = parseYamlText(source.text, this.#lines, file);
    this.yaml = parsed.yaml;
    this.#documents = parsed.ranges;
    this.#entries = [];
    this.#byPath = new Map();
    this.#byNode = new Map();
    this.#walk();
  }

  /** `"\r\n"` when the source used CRLF line endings throughout, else `"\n"`. */
  get lineEnding(): "\n" | "\r\n" {
    return this.#source.lineEnding;
  }

  /** True when the source started with a byte order mark. */
  get bom(): boolean {
    return this.#source.bom;
  }

  /**
   * How many YAML documents the file holds (`---` separated): 1 for an ordinary file. With more
   * than one, every path starts with the 0-based index of its document, `[0].spring.profile`,
   * `[2].stringData.password` (docs/config.md, "Multi-document YAML").
   */
  get documentCount(): number {
    return this.#documents.length;
  }

  /** @internal The root node of document `index` (null for an empty document). */
  documentRoot(index: number): Node | null {
    if (this.#documents.length === 1) return (this.yaml.contents as Node | null) ?? null;
    const seq = this.yaml.contents as YAMLSeq<Node | null>;
    return seq.items[index] ?? null;
  }

  /** @internal Source range `[start, end)` of document `index` in {@link text}. */
  documentRange(index: number): readonly [number, number] {
    return this.#documents[index] ?? [0, this.text.length];
  }

  /** The file format: `yaml` here, `env` for a `.env` file, `json` for a JSON file. */
  get format(): DocumentFormat {
    return "yaml";
  }

  /**
   * @internal The document as text without its integrity record; `strip` removes the record
   * line from YAML text (the integrity layer owns its syntax).
   */
  textWithoutRecord(strip: (text: string) => string): string {
    return strip(this.toString());
  }

  /** Every scalar value in document order (aliases not repeated). */
  values(): DocumentValue[] {
    return this.#entries.map(publicValue);
  }

  /** The value at `path`, or undefined when there is no scalar there. */
  get(path: string | ValuePath): DocumentValue | undefined {
    const e = this.#byPath.get(formatPath(toSegments(path)));
    return e && publicValue(e);
  }

  /** The document as text, with its original BOM and line endings. */
  toString(): string {
    return restoreText(this.#source, this.text);
  }

  /** The document as UTF-8 bytes, ready to write. */
  toBytes(): Uint8Array {
    return new TextEncoder().encode(this.toString());
  }

  /** @internal Entries with node and offsets. */
  entries(): readonly DocumentEntry[] {
    return this.#entries;
  }

  /** @internal The entry for a node listed by the walk. */
  entryOf(node: Node): DocumentEntry | undefined {
    return this.#byNode.get(node);
  }

  /** @internal The entry at a path. */
  entryAt(path: ValuePath): DocumentEntry | undefined {
    return this.#byPath.get(formatPath(path));
  }

  /**
   * @internal The node an alias refers to (the last node before it with its anchor), as yaml's
   * `Alias.resolve` finds it, found in constant time: callers resolve aliases through this.
   */
  aliasTarget(alias: Alias): Node | undefined {
    return this.#aliasTargets.has(alias)
      ? this.#aliasTargets.get(alias)
      : alias.resolve(this.yaml) as Node | undefined;
  }

  /**
   * @internal How many aliases the document has. yaml's `toJS` scans the document's anchors for
   * each alias (25,000 aliases: a minute): callers bound it by this count first.
   */
  aliasCount(): number {
    return this.#aliasTargets.size;
  }

  /** @internal 1-based line and column of an offset in {@link text}. */
  position(offset: number): { line: number; col: number } {
    return this.#lines.linePos(offset);
  }

  /** @internal A document with new text (same file, BOM and line endings), parsed again. */
  withText(text: string): SealfigDocument {
    return new SealfigDocument({ text, ...this.#source }, this.file);
  }

  #walk(): void {
    const n = this.#documents.length;
    if (n > 1) {
      // Several documents: each is a top-level map (or empty) at the path [index].
      for (let i = 0; i < n; i++) {
        const root = this.documentRoot(i);
        if (!root || (isScalar(root) && root.value === null && root.tag === undefined)) continue;
        if (!isMap(root)) {
          throw this.#error(
            "YAML_UNSUPPORTED",
            `The top level of document ${i} (of ${n}) must be a map (key: value pairs), not a ` +
              "scalar or a sequence",
            root,
            undefined,
            "Write key: value pairs at the top level of every document",
          );
        }
        if (i < n - 1) {
          const record = root.items.find((p) => isScalar(p.key) && p.key.value === RECORD_KEY);
          if (record) {
            throw this.#error(
              "YAML_UNSUPPORTED",
              `${RECORD_KEY} is reserved for the integrity record, which only the last document ` +
                "of a file holds",
              record.key as Node,
              [i],
              "Documents were moved or joined: restore the file from git, or remove the entry " +
                "and run sealfig stamp --force",
            );
          }
        }
        this.#visit(root, [i], this.#childPath("", i, root, [i]), false, 0, 1);
      }
      return;
    }
    const root = this.yaml.contents;
    if (root) this.#visit(root, [], "", false, 0, 0);
  }

  /**
   * The path text of a child: `pathText` with `seg` appended, within {@link PARSE_LIMITS}'
   * `maxPathChars` (one path) and `maxTotalPathChars` (the walk's total), so the work on paths
   * stays linear in the file however long its keys or deep its nesting.
   */
  #childPath(pathText: string, seg: PathSegment, at: Node, path: PathSegment[]): string {
    const text = appendPath(pathText, seg);
    this.#pathChars += text.length;
    pathCharsFormatted += text.length;
    const over = text.length > PARSE_LIMITS.maxPathChars
      ? `A path is longer than ${PARSE_LIMITS.maxPathChars} characters`
      : this.#pathChars > PARSE_LIMITS.maxTotalPathChars
      ? `The paths of the document's values add up to more than ${PARSE_LIMITS.maxTotalPathChars} characters`
      : undefined;
    if (over !== undefined) {
      throw this.#error(
        "YAML_LIMIT",
        over,
        at,
        path,
        "Use shorter keys or less nesting: sealfig bounds the work of parsing one document",
      );
    }
    return text;
  }

  #visit(
    node: Node,
    path: PathSegment[],
    pathText: string,
    flow: boolean,
    keyColumn: number,
    depth: number,
  ): void {
    if (depth > MAX_DEPTH) {
      throw this.#error("YAML_SYNTAX", `Nesting deeper than ${MAX_DEPTH} levels`, node);
    }
    if (isAlias(node)) {
      const target = this.#anchors.get(node.source);
      this.#aliasTargets.set(node, target);
      if (this.#documents.length > 1) {
        // Anchors belong to their document: an alias never reaches into another one.
        const [from, to] = this.documentRange(path[0] as number);
        if (!target?.range || target.range[0] < from || target.range[0] >= to) {
          throw this.#error(
            "YAML_SYNTAX",
            `Unknown anchor *${node.source}: an alias refers to an anchor of its own document`,
            node,
            path,
            "Define the anchor earlier in the same document",
          );
        }
      }
      if (target !== undefined && this.#keyNodes.has(target)) {
        throw this.#error(
          "YAML_SYNTAX",
          "An alias refers to a map key; only values can be aliased",
          node,
          path,
          "Put the anchor on a value instead",
        );
      }
      return;
    }
    if (node.anchor) this.#anchors.set(node.anchor, node);
    this.#checkTag(node, path);
    if (isMap(node) || isSeq(node)) {
      if (node.tag === SECRET_TAG) {
        throw this.#error(
          "YAML_SECRET_TAG",
          `${SECRET_TAG} is on a ${isMap(node) ? "map" : "sequence"}; it applies to single values`,
          node,
          path,
          `Put ${SECRET_TAG} on each value inside it that should be sealed`,
        );
      }
      const innerFlow = flow || node.flow === true;
      if (isMap(node)) {
        const seen = new Set<string>();
        const keys: string[] = [];
        for (const pair of node.items as Pair<unknown, unknown>[]) {
          const seg = this.#keySegment(pair, path);
          keys.push(seg);
          if (seen.has(seg)) {
            throw this.#error(
              "YAML_DUPLICATE_KEY",
              `Map key ${JSON.stringify(seg)} appears twice`,
              pair.key as Node,
              path,
              "Remove or rename one of the duplicate keys",
            );
          }
          seen.add(seg);
          const lookalike = lookalikeReason(seg);
          if (lookalike !== undefined) {
            throw this.#error(
              "YAML_KEY_CONFUSABLE",
              `A map key ${lookalike}`,
              pair.key as Node,
              path,
              "Rename the key with visible characters of one script: it could pass for another key in a review",
            );
          }
          const keyNode = pair.key as Node;
          const col = keyNode.range ? this.position(keyNode.range[0]).col - 1 : keyColumn;
          const value = pair.value as Node | null;
          if (value) {
            const text = this.#childPath(pathText, seg, keyNode, path);
            this.#visit(value, [...path, seg], text, innerFlow, col, depth + 1);
          }
        }
        const clash = confusableSiblings(keys);
        if (clash !== undefined) {
          const other = (node.items[clash[0]] as Pair<Node, unknown>).key;
          const line = other.range ? this.position(other.range[0]).line : undefined;
          throw this.#error(
            "YAML_KEY_CONFUSABLE",
            `A map key can render like another key of its map${
              line !== undefined ? ` (line ${line})` : ""
            }: they have the same confusable skeleton (Unicode UTS #39)`,
            (node.items[clash[1]] as Pair<Node, unknown>).key,
            path,
            "Rename one of the keys so that they look different: one could pass for the other in a review",
          );
        }
      } else {
        node.items.forEach((item, i) => {
          const col = node.range ? this.#itemColumn(item as Node, node.range[0]) : keyColumn;
          if (item) {
            const text = this.#childPath(pathText, i, item as Node, path);
            this.#visit(item as Node, [...path, i], text, innerFlow, col, depth + 1);
          }
        });
      }
      return;
    }
    if (isScalar(node)) this.#addScalar(node, path, pathText, flow, keyColumn);
  }

  /** Column of a sequence entry: its `- ` (block) or the item itself (flow). */
  #itemColumn(item: Node, seqStart: number): number {
    if (!item?.range) return this.position(seqStart).col - 1;
    // Walk back from the item over spaces and one "-" to find its dash.
    let i = item.range[0];
    while (i > 0 && (this.text[i - 1] === " " || this.text[i - 1] === "\t")) i--;
    if (this.text[i - 1] === "-") i--;
    return this.position(i).col - 1;
  }

  #keySegment(pair: Pair<unknown, unknown>, path: PathSegment[]): string {
    const key = pair.key;
    if (isScalar(key)) {
      if (key.anchor) {
        this.#keyNodes.add(key);
        this.#anchors.set(key.anchor, key);
      }
      if (key.tag === SECRET_TAG) {
        throw this.#error(
          "YAML_SECRET_TAG",
          `${SECRET_TAG} is on a map key; only values can be sealed`,
          key,
          path,
          `Move ${SECRET_TAG} to the value`,
        );
      }
      this.#checkTag(key, path);
      const v = key.value;
      if (typeof v === "symbol") return "<<";
      if (typeof v === "number" && key.type === "PLAIN" && typeof key.source === "string") {
        // Keys are text in the config: an integer key must keep its exact value, and one beyond
        // 2^53 has no exact JavaScript number (12345678901234567891 would load as …67000).
        const exact = resolveScalar(key.source, true);
        if (exact.type === "integer" && typeof exact.value === "bigint") {
          throw this.#error(
            "YAML_UNSUPPORTED",
            "An integer map key beyond 2^53 cannot keep its exact value",
            key,
            path.length > 0 ? path : undefined,
            "Quote the key so it is read as the text it is written as",
          );
        }
      }
      if (v === "<<") {
        // `"<<"` or `!!str <<` is an ordinary key to the loader but spells like a merge key: the
        // record could not tell the two apart (docs/format.md §9.3).
        throw this.#error(
          "YAML_UNSUPPORTED",
          "A quoted or tagged << key is not supported: << is reserved for merge keys",
          key,
          path.length > 0 ? path : undefined,
          "Write << unquoted to merge a map, or rename the key",
        );
      }
      return v === null ? "" : String(v);
    }
    if (key === null || key === undefined) return "";
    throw this.#error(
      "YAML_SYNTAX",
      "Complex map keys (maps, sequences or aliases as keys) are not supported",
      key as Node,
      path,
      "Use a plain string key",
    );
  }

  /** Refuse any tag but `!secret` and the YAML 1.2 core tags (on values and keys). */
  #checkTag(node: Node, path: PathSegment[]): void {
    const tag = node.tag;
    if (tag === undefined || tag === SECRET_TAG || CORE_TAGS.has(tag)) return;
    const at = node.range ? this.position(node.range[0]) : undefined;
    throw unsupportedTag(shortTag(tag), this.file, at, path.length ? formatPath(path) : undefined);
  }

  #addScalar(
    node: Scalar,
    path: PathSegment[],
    pathText: string,
    flow: boolean,
    keyColumn: number,
  ): void {
    const range = node.range ?? [0, 0, 0];
    let start = range[0];
    const raw = this.text.slice(start, range[1]);
    // A backwards scan, not /[ \t\n]+$/: an unanchored `X+$` retries from every position of a
    // long blank run that does not end the text, quadratic in a value full of spaces.
    let cut = raw.length;
    while (cut > 0 && (raw[cut - 1] === " " || raw[cut - 1] === "\t" || raw[cut - 1] === "\n")) {
      cut--;
    }
    const trimmed = raw.slice(0, cut);
    if (trimmed === "") {
      // An empty value (`key:` or `key: !secret`): yaml places it at the next token; anchor it
      // right after what precedes it on its own line instead.
      while (start > 0 && " \t\n".includes(this.text[start - 1]!)) start--;
    }
    let end = start + trimmed.length;
    if (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED") {
      // A block ends with its last line, blanks and blank-only lines included (they may be
      // content): a splice replaces them too, or they would join whatever is written there next.
      let blockEnd = range[1];
      while (blockEnd > end && this.text[blockEnd - 1] === "\n") blockEnd--;
      end = Math.max(end, blockEnd);
    }
    let kind: ValueKind;
    let type: ValueTypeName | undefined;
    let value: SecretValue;
    let propsStart = start;
    let anchors: string[] = [];
    const pos = this.position(start);
    if (node.tag === SECRET_TAG) {
      kind = "secret";
      const props = scanProps(this.text, start);
      if (props.tagStart < 0) {
        throw this.#error(
          "YAML_SECRET_TAG",
          `Cannot locate the ${SECRET_TAG} tag of this value`,
          node,
          path,
          `Write ${SECRET_TAG} on the same line as its value or block indicator`,
        );
      }
      propsStart = props.start;
      anchors = props.anchors;
      const text = typeof node.value === "string" ? node.value : String(node.value ?? "");
      const tv = resolveScalar(text, node.type === "PLAIN");
      value = tv.value;
      type = tv.type;
    } else if (typeof node.value === "string" && isBlob(node.value)) {
      kind = "sealed";
      value = node.value;
      try {
        type = parseBlob(node.value).valueType;
      } catch {
        type = undefined;
      }
    } else {
      kind = "plain";
      if (node.tag === undefined && node.type === "PLAIN" && typeof node.source === "string") {
        const tv = resolveScalar(node.source, true);
        type = tv.type;
        // Integers are exact (a number when safe, else a bigint), as when sealed.
        value = tv.type === "integer" || !isSecretValue(node.value) ? tv.value : node.value;
      } else if (node.tag === EXPLICIT_FLOAT.tag && typeof node.value === "number") {
        value = node.value;
        type = "float";
      } else if (isSecretValue(node.value)) {
        value = exactInteger(node.value, node.source);
        type = typeof node.value === "string"
          ? "string"
          : typeof node.value === "boolean"
          ? "boolean"
          : node.value === null
          ? "null"
          : typeof node.value === "bigint" ||
              (Number.isInteger(node.value) && !Object.is(node.value, -0))
          ? "integer"
          : "float";
      } else {
        value = String(node.value);
        type = undefined;
      }
    }
    if (this.#byPath.has(pathText)) {
      throw this.#error(
        "YAML_DUPLICATE_KEY",
        "Two values have the same path",
        node,
        path,
        "Remove or rename one of the duplicate keys",
      );
    }
    const entry: DocumentEntry = {
      // The walk made this array for this value alone: frozen as it is, not copied.
      path: Object.freeze(path),
      pathText,
      kind,
      type,
      value,
      line: pos.line,
      col: pos.col,
      node,
      start,
      end,
      propsStart,
      anchors,
      flow,
      keyColumn,
    };
    this.#entries.push(entry);
    this.#byPath.set(pathText, entry);
    this.#byNode.set(node, entry);
  }

  #error(
    code:
      | "YAML_SYNTAX"
      | "YAML_SECRET_TAG"
      | "YAML_DUPLICATE_KEY"
      | "YAML_UNSUPPORTED"
      | "YAML_KEY_CONFUSABLE"
      | "YAML_LIMIT",
    reason: string,
    node: Node | undefined,
    path?: PathSegment[],
    hint?: string,
  ): SealfigError {
    const at = node?.range ? this.position(node.range[0]) : undefined;
    return new SealfigError(code, reason, {
      ...(this.file !== undefined ? { file: this.file } : {}),
      ...(at ? { line: at.line, col: at.col } : {}),
      ...(path !== undefined ? { path: formatPath(path) } : {}),
      ...(hint !== undefined ? { hint } : {}),
    });
  }
}

/** An integer beyond 2^53 that yaml read as a rounded number, read again exactly from its text. */
function exactInteger(value: SecretValue, source: unknown): SecretValue {
  if (typeof value !== "number" || !Number.isInteger(value) || Number.isSafeInteger(value)) {
    return value;
  }
  const tv = typeof source === "string" ? resolveScalar(source.trim(), true) : undefined;
  return tv?.type === "integer" ? tv.value : value;
}

function isSecretValue(v: unknown): v is SecretValue {
  return v === null || ["string", "number", "bigint", "boolean"].includes(typeof v);
}

function publicValue(e: DocumentEntry): DocumentValue {
  return Object.freeze({
    path: e.path,
    pathText: e.pathText,
    kind: e.kind,
    type: e.type,
    value: e.value,
    line: e.line,
    col: e.col,
  });
}

/**
 * Scan backwards from a value's start over its properties (`!secret`, `&anchor`) and the
 * whitespace between them.
 */
function scanProps(
  text: string,
  valueStart: number,
): { start: number; tagStart: number; anchors: string[] } {
  let i = valueStart;
  let start = valueStart;
  let tagStart = -1;
  const anchors: string[] = [];
  for (;;) {
    let j = i;
    while (j > 0 && " \t\n".includes(text[j - 1]!)) j--;
    let k = j;
    while (k > 0 && !" \t\n[{,".includes(text[k - 1]!)) k--;
    const word = text.slice(k, j);
    if (word === SECRET_TAG || word === "!<!secret>") {
      if (tagStart >= 0) break;
      tagStart = k;
    } else if (word.startsWith("&") && word.length > 1) {
      anchors.unshift(word);
    } else {
      break;
    }
    start = k;
    i = k;
  }
  return { start, tagStart, anchors };
}

let yamlParses = 0;
const yamlParsesByFile = new Map<string, number>();
let pathCharsFormatted = 0;

/**
 * How many path characters the walks of all documents parsed in this isolate have formatted:
 * for tests that assert the work on paths is linear in the size of the file.
 */
export function pathCharCount(): number {
  return pathCharsFormatted;
}

/**
 * How many YAML texts sealfig has parsed in this isolate (documents, rules files, plaintext
 * views); with `file`, only those parsed under that file name (a `.env` file's YAML view
 * included; `""` for texts parsed without one): for tests that assert each command parses each
 * file once.
 */
export function yamlParseCount(file?: string): number {
  return file === undefined ? yamlParses : yamlParsesByFile.get(file) ?? 0;
}

/** Parse YAML text into a Document, turning the first error into a {@link SealfigError}. */
function parseYamlText(
  text: string,
  lines: LineCounter,
  file: string | undefined,
): { yaml: Document.Parsed; ranges: (readonly [number, number])[] } {
  yamlParses++;
  yamlParsesByFile.set(file ?? "", (yamlParsesByFile.get(file ?? "") ?? 0) + 1);
  let doc: Document.Parsed | undefined;
  const docs: Document.Parsed[] = [];
  try {
    // What yaml's parseDocument does, with bounds checked between its two stages: the parser is
    // iterative, the composer recursive, and near the stack limit V8 may abort the whole process
    // (seen: a fatal "RegExpCompiler Allocation failed") instead of throwing a RangeError; and a
    // syntax tree of millions of tokens, or a document of millions of nodes, exhausts the heap.
    const tokens = boundedTokens(text, lines, file);
    const over = scanLimits(tokens);
    if (over !== undefined) {
      throw new SealfigError(over.code, over.reason, {
        ...(file !== undefined ? { file } : {}),
        ...lines.linePos(over.offset),
        hint: over.hint,
      });
    }
    const directive = tokens.find((t) => t.type === "directive");
    if (directive) {
      // `%YAML 1.1` changes how plain scalars resolve (`yes` becomes true) and `%TAG` what a tag
      // means: the integrity record covers neither (docs/format.md §9.3), so neither is read.
      throw new SealfigError(
        "YAML_UNSUPPORTED",
        `YAML directives (${/^%[A-Za-z]*/.exec(directive.source)?.[0] ?? "%"}) are not supported`,
        {
          ...(file !== undefined ? { file } : {}),
          ...lines.linePos(directive.offset),
          hint: "Remove the directive line (sealfig reads YAML 1.2 with the core schema)",
        },
      );
    }
    // resolveKnownTags: false — the YAML 1.1 tags (!!omap, !!pairs, !!set, !!binary,
    // !!timestamp) are not constructed; the walk refuses them by name.
    const composer = new Composer({
      uniqueKeys: false,
      merge: true,
      strict: true,
      version: "1.2",
      resolveKnownTags: false,
      // `!!float 1`: the tag makes any number a float (yaml resolves only text with a dot).
      customTags: (tags) => [EXPLICIT_FLOAT, ...(tags as ScalarTag[])],
    });
    // Several documents (`---`): each is composed alone (anchors do not cross documents), and
    // the first error of any of them is the file's.
    for (const d of composer.compose(tokens, true, text.length)) {
      docs.push(d);
      if (!doc || (doc.errors.length === 0 && d.errors.length > 0)) doc = d;
    }
  } catch (err) {
    if (isSealfigError(err)) throw err;
    throw parserFailure(err, file);
  }
  if (!doc) {
    throw new SealfigError(
      "YAML_SYNTAX",
      "The YAML cannot be parsed",
      file !== undefined ? { file } : {},
    );
  }
  const first = doc.errors[0];
  // Unresolved merge conflict markers make YAML errors that say nothing of the cause.
  const marker = first ? /^(?:<{7}|={7}|>{7})(?: |$)/m.exec(text) : null;
  if (marker) {
    throw new SealfigError("YAML_SYNTAX", "The file has unresolved git conflict markers", {
      ...(file !== undefined ? { file } : {}),
      ...lines.linePos(marker.index),
      hint: "Resolve the merge (keep the lines you want, remove the <<<<<<< ======= >>>>>>> " +
        "lines), then run sealfig stamp FILE; set up sealfig's merge driver (README) to merge by key",
    });
  }
  if (first) {
    const pos = lines.linePos(first.pos[0]);
    // The yaml message ends with a source excerpt, which may show a secret: keep its first line
    // only, without the position (we add our own).
    const reason = (first.message.split("\n")[0] ?? "Invalid YAML")
      .replace(/ at line \d+, column \d+:?$/, "");
    const map: Record<string, { code: "YAML_SYNTAX" | "YAML_DUPLICATE_KEY"; hint: string }> = {
      DUPLICATE_KEY: {
        code: "YAML_DUPLICATE_KEY",
        hint: "Remove or rename one of the duplicate keys",
      },
      TAB_AS_INDENT: {
        code: "YAML_SYNTAX",
        hint: "Indent with spaces: YAML does not allow tabs for indentation",
      },
    };
    const m = map[first.code] ?? { code: "YAML_SYNTAX" as const, hint: "Fix the YAML there" };
    throw new SealfigError(m.code, reason, {
      ...(file !== undefined ? { file } : {}),
      line: pos.line,
      col: pos.col,
      hint: m.hint,
    });
  }
  // An unknown tag would load as a plain string: a misspelt `!secret` must not leave a secret
  // unsealed. (`!secret` itself is unknown to yaml; sealfig handles it.)
  for (const w of docs.flatMap((d) => d.warnings)) {
    if (w.code !== "TAG_RESOLVE_FAILED") continue;
    const tag = /^!<[^>\s]*>|^![^\s,[\]{}]*/.exec(text.slice(w.pos[0], w.pos[0] + 256))?.[0];
    if (tag === SECRET_TAG || tag === "!<!secret>") continue;
    const short = tag?.replace(/^!<tag:yaml\.org,2002:(.*)>$/, "!!$1");
    // A core tag on a value it cannot have (`!!int 1.5`) is a mistake in the value; any other
    // tag (`!custom`, a misspelt `!secert`, YAML 1.1's) is YAML that sealfig does not read.
    if (short === undefined || !CORE_TAGS.has(`tag:yaml.org,2002:${short.slice(2)}`)) {
      throw unsupportedTag(tag ?? "(unknown)", file, lines.linePos(w.pos[0]));
    }
    throw new SealfigError("YAML_SYNTAX", `The value is not a valid ${short}`, {
      ...(file !== undefined ? { file } : {}),
      ...lines.linePos(w.pos[0]),
      hint: `Write a value of that type, or remove the tag`,
    });
  }
  const ranges = docs.map((d) => [d.range[0], d.range[2]] as const);
  if (docs.length === 1) return { yaml: doc, ranges };
  // One view of the documents: a sequence of their roots, so that a path starts with the
  // document's index and every reader (the walk, the MAC input, aliases) sees one tree.
  const all = new YamlDocument(null) as unknown as Document.Parsed;
  const seq = new YAMLSeq<Node | null>();
  seq.items = docs.map((d) => (d.contents as Node | null) ?? null);
  all.contents = seq as unknown as Document.Parsed["contents"];
  return { yaml: all, ranges };
}

/**
 * `!!float` on any number the core schema writes (`1`, `-2.5`, `1e3`, `.inf`, `.nan`), as YAML 1.2
 * says; yaml's own float tags resolve only text that is a float without the tag.
 */
const EXPLICIT_FLOAT: ScalarTag = {
  tag: "tag:yaml.org,2002:float",
  identify: () => false,
  resolve(str: string, onError: (message: string) => void): number | string {
    if (/^[-+]?\.(?:inf|Inf|INF)$/.test(str)) return str.startsWith("-") ? -Infinity : Infinity;
    if (/^\.(?:nan|NaN|NAN)$/.test(str)) return NaN;
    if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(str)) return Number(str);
    onError("The value is not a valid !!float"); // never the value: it may be a secret
    return str;
  },
};

/** The tags a node may carry: `!secret` (values only) and the YAML 1.2 core-schema tags. */
const CORE_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`),
);

function unsupportedTag(
  tag: string,
  file: string | undefined,
  at: { line: number; col: number } | undefined,
  path?: string,
): SealfigError {
  return new SealfigError(
    "YAML_UNSUPPORTED",
    `The tag ${tag} is not supported: sealfig reads ${SECRET_TAG} and the YAML 1.2 core tags only`,
    {
      ...(file !== undefined ? { file } : {}),
      ...(at ?? {}),
      ...(path !== undefined ? { path } : {}),
      hint: "Remove the tag and write the value as a plain map, sequence or scalar",
    },
  );
}

/** A node's tag as written, for messages (`!!omap`, `!foo`). */
function shortTag(tag: string): string {
  return tag.startsWith("tag:yaml.org,2002:") ? `!!${tag.slice(18)}` : tag;
}

/**
 * The syntax tree of `text`, built token by token so that building it stops at
 * {@link PARSE_LIMITS}.maxTokens (what yaml's `Parser.parse` does, with a count). On the way, the
 * tokens that surely make a node each (scalars, aliases, flow collections) are counted against
 * `maxNodes`, and flow brackets against `maxDepth`, so the tree of a hostile file stops growing
 * early; {@link scanLimits} counts exactly afterwards.
 */
function boundedTokens(text: string, lines: LineCounter, file: string | undefined): CST.Token[] {
  const parser = new Parser(lines.addNewLine);
  const tokens: CST.Token[] = [];
  lines.addNewLine(0);
  let count = 0;
  let nodes = 0;
  let flowDepth = 0;
  let documents = 0;
  let afterDocStart = false;
  const refuse = (code: "YAML_LIMIT" | "YAML_SYNTAX", reason: string, hint: string) =>
    new SealfigError(code, reason, {
      ...(file !== undefined ? { file } : {}),
      ...lines.linePos(Math.min(parser.offset, text.length)),
      hint,
    });
  for (const lexeme of new Lexer().lex(text)) {
    // A multi-line scalar (a block scalar, a quoted or plain scalar over several lines) is one
    // lexeme, but yaml resolves it line by line (a block scalar as an array of [indent, text]
    // pairs): each of its lines counts as a token, as a blank line outside it does.
    count += lexeme.length > 1 ? newlines(lexeme) + 1 : 1;
    if (count > PARSE_LIMITS.maxTokens) {
      throw refuse(
        "YAML_LIMIT",
        `More than ${PARSE_LIMITS.maxTokens} YAML tokens (scalars and their lines, indicators, comments)`,
        BUDGET_HINT,
      );
    }
    // A document starts at a DOCUMENT marker (\x02) or at a `---` that does not follow one.
    const startsDocument = lexeme === "\x02" || (lexeme === "---" && !afterDocStart);
    afterDocStart = lexeme === "\x02";
    if (startsDocument && ++documents > PARSE_LIMITS.maxDocuments) {
      throw refuse(
        "YAML_LIMIT",
        `More than ${PARSE_LIMITS.maxDocuments} YAML documents (--- separated)`,
        BUDGET_HINT,
      );
    }
    switch (lexeme[0]) {
      case "[":
      case "{":
        if (lexeme.length !== 1) break;
        nodes++;
        if (++flowDepth > PARSE_LIMITS.maxDepth) {
          throw refuse(
            "YAML_SYNTAX",
            `Nesting deeper than ${PARSE_LIMITS.maxDepth} levels`,
            "Flatten the document",
          );
        }
        break;
      case "]":
      case "}":
        if (lexeme.length === 1 && flowDepth > 0) flowDepth--;
        break;
      case "\x1f": // a plain scalar follows
      case '"':
      case "'":
      case "*":
      case "|":
      case ">":
        nodes++;
        break;
    }
    if (nodes > PARSE_LIMITS.maxNodes) throw refuse("YAML_LIMIT", tooManyNodes(), BUDGET_HINT);
    for (const token of parser.next(lexeme)) tokens.push(token);
  }
  for (const token of parser.end()) tokens.push(token);
  return tokens;
}

/** The number of `\n` in a string. */
function newlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

const BUDGET_HINT = "Split the file: sealfig bounds the work of parsing one document";
const tooManyNodes = () =>
  `More than ${PARSE_LIMITS.maxNodes} YAML nodes (keys, values and collections)`;

/** What {@link scanLimits} found over a limit. */
interface LimitExceeded {
  code: "YAML_SYNTAX" | "YAML_LIMIT";
  reason: string;
  hint: string;
  offset: number;
}

/**
 * One linear pass over a syntax tree: the first place where it is nested deeper than
 * {@link MAX_DEPTH} levels, has a map with more than `maxKeysPerMap` keys, or brings the total of
 * nodes over `maxNodes`. Nodes are counted as the composer will create them: each collection,
 * each key of a map (or pair in a flow sequence), each value (an empty one too), each document's
 * root.
 */
function scanLimits(tokens: readonly CST.Token[]): LimitExceeded | undefined {
  const limits = PARSE_LIMITS;
  const stack: [CST.Token, number][] = [];
  for (let i = tokens.length - 1; i >= 0; i--) stack.push([tokens[i]!, 0]);
  let nodes = 0;
  let quoted = 0;
  const tooMany = (offset: number): LimitExceeded => ({
    code: "YAML_LIMIT",
    reason: tooManyNodes(),
    hint: BUDGET_HINT,
    offset,
  });
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [token, depth] = next;
    switch (token.type) {
      case "document":
        if (token.value) stack.push([token.value, depth]);
        else nodes++;
        break;
      case "block-map":
      case "block-seq":
      case "flow-collection": {
        if (depth >= limits.maxDepth) {
          return {
            code: "YAML_SYNTAX",
            reason: `Nesting deeper than ${limits.maxDepth} levels`,
            hint: "Flatten the document",
            offset: token.offset,
          };
        }
        const isMap = token.type === "block-map" ||
          (token.type === "flow-collection" && token.start.source === "{");
        const items = token.items as CST.CollectionItem[];
        if (isMap && items.length > limits.maxKeysPerMap) {
          return {
            code: "YAML_LIMIT",
            reason:
              `A map has ${items.length} keys, more than the limit of ${limits.maxKeysPerMap}`,
            hint: "Split the map, or the file: sealfig bounds the work of parsing one document",
            offset: token.offset,
          };
        }
        nodes++;
        for (let i = items.length - 1; i >= 0; i--) {
          const item = items[i]!;
          const pair = isMap || item.key !== undefined ||
            item.start.some((t) => t.type === "explicit-key-ind") ||
            (item.sep ?? []).some((t) => t.type === "map-value-ind");
          if (pair) {
            if (item.key) stack.push([item.key, depth + 1]);
            else nodes++;
          }
          if (item.value) stack.push([item.value, depth + 1]);
          else nodes++;
        }
        if (nodes > limits.maxNodes) return tooMany(token.offset);
        break;
      }
      default:
        nodes++;
        if (nodes > limits.maxNodes) {
          return tooMany("offset" in token ? token.offset : 0);
        }
        if (
          token.type === "double-quoted-scalar" &&
          (quoted += token.source.length - 2) > limits.maxDoubleQuotedChars
        ) {
          return {
            code: "YAML_LIMIT",
            reason:
              `The double-quoted scalars add up to more than ${limits.maxDoubleQuotedChars} ` +
              "characters",
            hint: "Write a long value as a block scalar (|) or a plain scalar, or split the file",
            offset: token.offset,
          };
        }
    }
  }
  return undefined;
}

/**
 * Parse a sealed or plaintext YAML document from text or bytes. Throws a {@link SealfigError}
 * (`FILE_TOO_LARGE`, `FILE_NOT_UTF8`, `YAML_SYNTAX`, `YAML_DUPLICATE_KEY`, `YAML_SECRET_TAG`)
 * with file, line and column; messages never quote the source.
 *
 * @example
 * ```ts
 * import { parseDocument } from "@sealfig/sealfig/document";
 * const doc = parseDocument("port: !secret 5432\n", { file: "prod.yaml" });
 * doc.get("port")?.type; // "integer"
 * ```
 */
export function parseDocument(
  source: string | Uint8Array,
  options: ParseDocumentOptions = {},
): SealfigDocument {
  const max = options.maxBytes ?? 10 * 1024 * 1024;
  const size = typeof source === "string" ? source.length : source.byteLength;
  // A string's UTF-8 size is at least its length; check bytes exactly when it is close.
  const bytes = typeof source === "string"
    ? (size * 3 > max ? new TextEncoder().encode(source).byteLength : size)
    : size;
  if (bytes > max) {
    throw new SealfigError(
      "FILE_TOO_LARGE",
      `Document is ${bytes} bytes, more than the limit of ${max} bytes`,
      {
        ...(options.file !== undefined ? { file: options.file } : {}),
        hint: "Split the file, or raise the maxBytes option if this is intended",
      },
    );
  }
  const decoded = typeof source === "string"
    ? normalizeText(source)
    : decodeSource(source, options.file);
  return newDocument(decoded, options.file, options.format);
}

function newDocument(
  decoded: DecodedSource,
  file: string | undefined,
  format: DocumentFormat | undefined,
): SealfigDocument {
  const f = format ?? (file !== undefined ? formatOfFile(file) : "yaml");
  if (f === "env") {
    const layout = parseEnvText(decoded.text, file);
    return new EnvDocument(layout, decoded, file, envView(layout));
  }
  if (f === "json") return newJsonDocument(ViewDocument, decoded, file);
  if (f !== "yaml") {
    throw new SealfigError("OPTION_INVALID", `Unknown document format ${JSON.stringify(f)}`, {
      hint: "Use yaml, env or json",
    });
  }
  return new SealfigDocument(decoded, file);
}

/**
 * Read and parse a document file. Missing files give `FILE_NOT_FOUND`; files over the size limit
 * give `FILE_TOO_LARGE` before any byte is read.
 *
 * @example
 * ```ts ignore
 * import { readDocument } from "@sealfig/sealfig/document";
 * const doc = await readDocument("config/production.yaml");
 * console.log(doc.values().filter((v) => v.kind === "sealed").length);
 * ```
 */
export async function readDocument(
  file: string,
  options: Omit<ParseDocumentOptions, "file"> = {},
): Promise<SealfigDocument> {
  const decoded = await readSourceFile(
    file,
    options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {},
  );
  return newDocument(decoded, file, options.format);
}

/**
 * @internal A document whose file is in another format (`.env`, JSON): every sealfig function
 * reads and edits its YAML view, and {@link toString} renders the view back into the file's own
 * format, once per form (with and without the integrity record), keeping the file's BOM and line
 * endings.
 */
export abstract class ViewDocument extends SealfigDocument {
  readonly #rendered = new Map<boolean, string>();

  /** The file's own text for the view, read back and compared before it is returned. */
  protected abstract renderView(withRecord: boolean): string;

  override toString(): string {
    return this.#render(true);
  }

  override textWithoutRecord(): string {
    return this.#render(false);
  }

  #render(withRecord: boolean): string {
    let out = this.#rendered.get(withRecord);
    if (out === undefined) {
      out = restoreText(this, this.renderView(withRecord));
      this.#rendered.set(withRecord, out);
    }
    return out;
  }
}

/** View columns of the EnvDocument being constructed (its position() runs inside super()). */
let constructingColumns: EnvView["columns"] | undefined;
const columnsOf = new WeakMap<SealfigDocument, EnvView["columns"]>();

/**
 * A `.env` file as a document: the YAML view (src/document/dotenv.ts) is what every sealfig
 * function reads and edits; positions are the `.env` file's; {@link toString} carries the view's
 * values back into the file's own text, checked by reading it again.
 */
class EnvDocument extends ViewDocument {
  readonly #layout: EnvLayout;

  constructor(
    layout: EnvLayout,
    source: Omit<DecodedSource, "text">,
    file: string | undefined,
    view: EnvView,
  ) {
    // Set for this constructor only (synchronous); each EnvDocument sets it before super().
    constructingColumns = view.columns;
    super({ text: view.text, bom: source.bom, lineEnding: source.lineEnding }, file);
    constructingColumns = undefined;
    columnsOf.set(this, view.columns);
    this.#layout = layout;
  }

  override get format(): DocumentFormat {
    return "env";
  }

  override position(offset: number): { line: number; col: number } {
    const p = super.position(offset);
    const c = (columnsOf.get(this) ?? constructingColumns)?.get(p.line);
    if (!c) return p;
    // Values map to their .env column; keys keep the view's (edits indent by them).
    return p.col >= c.view ? { line: p.line, col: p.col - c.view + c.env } : p;
  }

  override withText(text: string): SealfigDocument {
    return new EnvDocument(this.#layout, this, this.file, {
      text,
      columns: columnsOf.get(this) ?? new Map(),
    });
  }

  /** The `.env` text of the view, read back and compared before it is returned. */
  protected renderView(withRecord: boolean): string {
    const values: EnvViewValue[] = [];
    let record: string | undefined;
    const root = this.yaml.contents;
    const topLevel = isMap(root) ? root.items.length : 0;
    if (root && !isMap(root) && !(isScalar(root) && root.value === null)) {
      throw this.#unrepresentable(undefined, "a .env file holds NAME=value lines only");
    }
    for (const e of this.entries()) {
      const name = e.path[0];
      if (e.path.length === 1 && name === ENV_RECORD_NAME) {
        record = typeof e.value === "string" ? e.value : String(e.value);
        continue;
      }
      if (e.path.length !== 1 || typeof name !== "string" || !isEnvName(name)) {
        throw this.#unrepresentable(e, "a .env file holds NAME=value lines only");
      }
      if (e.kind === "plain" && e.type !== "string" && e.value !== null) {
        throw this.#unrepresentable(e, "a plain .env value is a string");
      }
      const text = e.kind === "sealed"
        ? String(e.value)
        : e.value === null
        ? ""
        : Object.is(e.value, -0)
        ? "-0"
        : String(e.value);
      if (e.kind !== "sealed" && /^sealfig:v[0-9]+:/.test(text)) {
        throw this.#unrepresentable(e, "a plaintext value would read as a sealed one");
      }
      values.push({ name, kind: e.kind, text });
    }
    if (topLevel !== values.length + (record !== undefined ? 1 : 0)) {
      throw this.#unrepresentable(undefined, "a .env file holds NAME=value lines only");
    }
    const text = renderEnv(this.#layout, values, withRecord ? record : undefined);
    // Read it back: the same names, each with the same text.
    let back: EnvLayout;
    try {
      back = parseEnvText(text, this.file);
    } catch (err) {
      throw this.#unrepresentable(undefined, "the written file would not parse", err);
    }
    const got = new Map(back.entries.map((e) => [e.name, e.value]));
    const same = back.entries.length === values.length &&
      values.every((v) => got.get(v.name) === v.text) &&
      back.record?.value === (withRecord ? record : undefined);
    if (!same) throw this.#unrepresentable(undefined, "a value would not read back");
    return text;
  }

  #unrepresentable(e: DocumentEntry | undefined, why: string, cause?: unknown): SealfigError {
    return new SealfigError(
      "VALUE_NOT_REPRESENTABLE",
      `Cannot write this as a .env file: ${why}; nothing was written`,
      {
        ...(this.file !== undefined ? { file: this.file } : {}),
        ...(e ? { path: e.pathText } : {}),
        // A position only for a line of the file (an added value has none yet).
        ...(e && this.#layout.entries.some((x) => x.line === e.line)
          ? { line: e.line, col: e.col }
          : {}),
        ...(cause !== undefined ? { cause } : {}),
        hint: "Keep .env values top-level strings (NAME=value), or use a YAML file",
      },
    );
  }
}

/** Add file/line/col of an entry to a sealfig error. */
export function locate(err: unknown, doc: SealfigDocument, entry: DocumentValue): unknown {
  if (!isSealfigError(err)) return err;
  return err.withLocation({
    ...(doc.file !== undefined ? { file: doc.file } : {}),
    line: entry.line,
    col: entry.col,
    path: entry.pathText,
  });
}
