/**
 * The canonical encoding of a document's content and its HMAC (docs/format.md §9).
 *
 * Every leaf of the YAML tree enters the MAC in document order with its full path: scalars
 * (sealed blobs as their text, plain values as their typed canonical text), aliases (as the path
 * of the node they refer to) and empty maps and sequences. Every field is length-prefixed and
 * typed, and the number of leaves comes first, so no two different documents share an encoding:
 * a changed, added, removed or reordered value changes the MAC. Comments, blank lines, quoting
 * and indentation are not content and do not enter it. The top-level `sealfig_integrity` entry
 * (the record itself) is left out.
 *
 * ```text
 * "sealfig/v2/file-mac" (19 bytes) || u8 version (0x02) || u64 generation
 * u32 context pairs; per pair (sorted by key bytes): u32 len || key || u32 len || value
 * u32 leaf count
 * per leaf: u32 segment count; per segment 0x01 || u32 len || UTF-8 key | 0x02 || u32 index
 *           u8 kind (0x01 sealed, 0x02 plain, 0x03 alias, 0x04 empty map, 0x05 empty sequence)
 *           u8 type (0x01..0x05 as in blobs; 0x00 for aliases, empty collections, other types)
 *           u32 len || payload (blob text; plain canonical text; alias target segments; empty)
 * MAC key = HKDF-SHA-256(IKM = integrity DEK, salt = empty, info = "sealfig/v2/file-mac", 32 bytes)
 * MAC     = HMAC-SHA-256(MAC key, encoding)
 * ```
 *
 * v2 encodes a plain value by the value the loader returns: an integer by its exact decimal
 * digits (a bigint beyond ±(2^53−1)), a number that is not a safe integer as a float. v1 (label
 * "sealfig/v1/file-mac", version 0x01; read only) is the same except that a plain integer beyond
 * ±(2^53−1) entered as the text of its nearest double, so a v1 record is accepted only over files
 * without such integers ({@link v1Uncovered}).
 *
 * @module
 */
import { isAlias, isMap, isScalar, isSeq, type Node, type Pair } from "yaml";
import { SealfigError } from "../errors.ts";
import { type Bytes, ByteWriter, fromUtf8, utf8 } from "../crypto/bytes.ts";
import type { DataKey } from "../crypto/data_key.ts";
import { hkdfSha256, hmacSha256 } from "../crypto/primitives.ts";
import { canonicalContext } from "../envelope/aad.ts";
import { ValueType, type ValueTypeName } from "../envelope/format.ts";
import type { SecretValue } from "../envelope/value_codec.ts";
import type { EncryptionContext } from "../keys/key_provider.ts";
import { formatPath, type PathSegment, type ValuePath } from "../path.ts";
import type { DocumentEntry, DocumentValue, SealfigDocument } from "../document/document.ts";
import {
  INTEGRITY_KEY,
  INTEGRITY_VERSION,
  type IntegrityRecord,
  type IntegrityVersion,
  recordRoot,
  u64,
} from "./record.ts";

/** The v1 label that starts a v1 MAC input and is the HKDF info of a v1 MAC key. */
export const MAC_LABEL = "sealfig/v1/file-mac";
const MAC_INFO = utf8(MAC_LABEL);
/** The v2 label: starts a v2 MAC input and is the HKDF info of a v2 MAC key. */
export const MAC_LABEL_V2 = "sealfig/v2/file-mac";
/** The label of each record version. */
const LABELS: Readonly<Record<IntegrityVersion, string>> = { 1: MAC_LABEL, 2: MAC_LABEL_V2 };
/** The encryption context key added to the file's context when wrapping the integrity DEK. */
export const INTEGRITY_PURPOSE_KEY = "sealfig:purpose";
/** Its value. */
export const INTEGRITY_PURPOSE = "integrity";

/** Leaf kinds in the MAC input. */
export const LeafKind = {
  sealed: 0x01,
  plain: 0x02,
  alias: 0x03,
  emptyMap: 0x04,
  emptySeq: 0x05,
} as const;

/**
 * The encryption context an integrity data key is wrapped with: the file's context plus
 * `sealfig:purpose = integrity`, so KMS (and IAM conditions) tell it apart from value data keys.
 * Throws `OPTION_INVALID` when the file's context already uses that key.
 *
 * @example
 * ```ts
 * import { integrityContext } from "./mac.ts";
 * integrityContext({ env: "prod" }); // { env: "prod", "sealfig:purpose": "integrity" }
 * ```
 */
export function integrityContext(context: EncryptionContext): EncryptionContext {
  if (Object.hasOwn(context, INTEGRITY_PURPOSE_KEY)) {
    throw new SealfigError(
      "OPTION_INVALID",
      `The encryption context key "${INTEGRITY_PURPOSE_KEY}" is reserved`,
      { hint: "Rename that context entry" },
    );
  }
  return { ...context, [INTEGRITY_PURPOSE_KEY]: INTEGRITY_PURPOSE };
}

function segments(w: ByteWriter, path: ValuePath): void {
  w.u32(path.length);
  for (const seg of path) {
    if (typeof seg === "number") w.u8(0x02).u32(seg);
    else w.u8(0x01).lp32(validUtf8(seg, path));
  }
}

/**
 * UTF-8 of a key or string value; `VALUE_INVALID` when it is not valid Unicode (a lone
 * surrogate would encode as U+FFFD, the same bytes as another string: not injective).
 */
function validUtf8(text: string, path: ValuePath): Bytes {
  const bytes = utf8(text);
  if (fromUtf8(bytes) !== text) {
    throw new SealfigError(
      "VALUE_INVALID",
      "A string or key is not valid Unicode (lone surrogate), so it cannot be authenticated",
      { path: formatPath(path) },
    );
  }
  return bytes;
}

/**
 * The v1 canonical text of a plain value of a type (the blob plaintext encoding, without limits).
 * A plain integer beyond ±(2^53−1) (a bigint) enters as the text of its nearest double: what yaml
 * used to read, pinned by tests/vectors/integrity_v1.json. Files holding one are refused under
 * v1 records ({@link v1Uncovered}).
 */
function canonicalTextV1(
  value: SecretValue,
  type: ValueTypeName | undefined,
  path: ValuePath,
): Bytes {
  let text: string;
  if (type === "float" && typeof value === "number") {
    text = Object.is(value, -0) ? "-0" : String(value);
  } else if (type === "null") {
    text = "";
  } else if (type === "integer" && typeof value === "bigint") {
    text = String(Number(value));
  } else {
    text = String(value);
  }
  return typeof value === "string" ? validUtf8(value, path) : utf8(text);
}

/**
 * The v2 type byte and canonical text of a plain value: a function of the value the loader
 * returns (and, for a number, whether the document types it an integer), so that two leaves
 * loading to different values never share an encoding:
 *
 * - string: its UTF-8 (valid Unicode only);
 * - integer: its exact decimal digits, `-?(0|[1-9][0-9]*)`; the loader returns a number exactly
 *   when it is within ±(2^53−1), else a bigint, so the digits determine the value and its type;
 * - float: any other number (`1.0`, `-0.0`, `.inf`, `.nan`, and a `!!float` beyond 2^53 whose
 *   value is integral): JavaScript's shortest round-trip text, `-0`, `Infinity`, `-Infinity`,
 *   `NaN`;
 * - boolean `true`/`false`; null: empty.
 */
function canonicalV2(
  value: SecretValue,
  type: ValueTypeName | undefined,
  path: ValuePath,
): { type: number; text: Bytes } {
  if (typeof value === "string") {
    // A string of another YAML type (type 0x00) keeps its type byte; its text is the string.
    return { type: type === "string" ? ValueType.string : 0, text: validUtf8(value, path) };
  }
  if (typeof value === "bigint") {
    if (value >= -MAX_SAFE && value <= MAX_SAFE) {
      // The loader never returns one (a safe integer is a number): it would share the number's
      // digits. Refuse rather than encode two values alike.
      throw new SealfigError(
        "VALUE_INVALID",
        "A safe integer held as a bigint cannot be authenticated",
        { path: formatPath(path) },
      );
    }
    return { type: ValueType.integer, text: utf8(value.toString()) };
  }
  if (typeof value === "number") {
    if (type === "integer" && Number.isSafeInteger(value) && !Object.is(value, -0)) {
      return { type: ValueType.integer, text: utf8(String(value)) };
    }
    return { type: ValueType.float, text: utf8(Object.is(value, -0) ? "-0" : String(value)) };
  }
  if (typeof value === "boolean") {
    return { type: ValueType.boolean, text: utf8(value ? "true" : "false") };
  }
  return { type: ValueType.null, text: new Uint8Array(0) };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The canonical MAC input of `doc` (its content without the integrity record) for a generation
 * and encryption context, in the record format `version` (default 2, what sealfig writes).
 * Throws `SECRET_UNSEALED` for a `!secret` value (only sealed files carry records) and
 * `VALUE_INVALID` for a key or string that is not valid Unicode.
 *
 * @example
 * ```ts
 * import { parseDocument } from "@sealfig/sealfig/document";
 * import { macInput } from "./mac.ts";
 * const a = macInput(parseDocument("n: 12345678901234567890\n"), 1, {});
 * const b = macInput(parseDocument("n: 12345678901234567891\n"), 1, {});
 * a.length === b.length && a.some((x, i) => x !== b[i]); // true: v2 covers every digit
 * ```
 */
export function macInput(
  doc: SealfigDocument,
  generation: number,
  context: EncryptionContext,
  version: IntegrityVersion = INTEGRITY_VERSION,
): Uint8Array {
  if (version !== 1 && version !== 2) {
    throw new SealfigError("OPTION_INVALID", `Unknown integrity record version ${version}`);
  }
  // The leaves are written into one body as they are met; their count goes in front of it.
  const body = new ByteWriter();
  let leafCount = 0;
  const paths = new Map<Node, ValuePath>();
  const file = doc.file;
  // The map that holds the record: the top level (of the last document, in a file of several).
  const holder = recordRoot(doc);
  const leaf = (path: ValuePath, kind: number, type: number, payload: Uint8Array) => {
    segments(body, path);
    body.u8(kind).u8(type).lp32(payload);
    leafCount++;
  };
  const visit = (node: Node | null | undefined, path: PathSegment[], depth: number): void => {
    if (depth > 300) {
      throw new SealfigError("YAML_SYNTAX", "Nesting too deep", {
        ...(file !== undefined ? { file } : {}),
      });
    }
    if (
      depth === 1 && doc.documentCount > 1 &&
      (node === null || node === undefined || (isScalar(node) && node.value === null))
    ) {
      // An empty document of several (docs/format.md §9.3.4) is an empty map, as when it holds
      // the record alone: one leaf per document, so none can be dropped or added unseen.
      leaf(path, LeafKind.emptyMap, 0, new Uint8Array(0));
      return;
    }
    if (node === null || node === undefined) {
      leaf(path, LeafKind.plain, ValueType.null, new Uint8Array(0));
      return;
    }
    if (isAlias(node)) {
      const target = doc.aliasTarget(node);
      const to = target ? paths.get(target) : undefined;
      if (!to) {
        throw new SealfigError("YAML_SYNTAX", `Unknown anchor *${node.source}`, {
          ...(file !== undefined ? { file } : {}),
          path: formatPath(path),
        });
      }
      const w = new ByteWriter();
      segments(w, to);
      leaf(path, LeafKind.alias, 0, w.finish());
      return;
    }
    paths.set(node, path);
    if (isScalar(node)) {
      const e = doc.entryOf(node);
      if (e?.kind === "secret") {
        throw new SealfigError("SECRET_UNSEALED", "Value tagged !secret is not sealed", {
          ...(file !== undefined ? { file } : {}),
          line: e.line,
          col: e.col,
          path: e.pathText,
          hint: `Seal the file first: sealfig encrypt -i ${file ?? "FILE"}`,
        });
      }
      const type = e?.type;
      const typeByte = type === undefined ? 0 : ValueType[type];
      const value = e ? e.value : String(node.value);
      if (e?.kind === "sealed") {
        leaf(path, LeafKind.sealed, typeByte, utf8(value as string));
      } else if (version === 1) {
        const t1 = e ? v1Type(e) : type;
        leaf(
          path,
          LeafKind.plain,
          t1 === undefined ? 0 : ValueType[t1],
          canonicalTextV1(value, t1, path),
        );
      } else {
        const c = canonicalV2(value, type, path);
        leaf(path, LeafKind.plain, c.type, c.text);
      }
      return;
    }
    if (isMap(node)) {
      const items = (node.items as Pair<unknown, unknown>[]).filter((p) =>
        !(node === holder && keyOf(p) === INTEGRITY_KEY)
      );
      // An empty top level is the empty document: no leaves (both load as `{}`).
      if (items.length === 0 && depth > 0) leaf(path, LeafKind.emptyMap, 0, new Uint8Array(0));
      for (const pair of items) {
        visit(pair.value as Node | null, [...path, keyOf(pair)], depth + 1);
      }
      return;
    }
    if (isSeq(node)) {
      if (node.items.length === 0) leaf(path, LeafKind.emptySeq, 0, new Uint8Array(0));
      node.items.forEach((item, i) => visit(item as Node | null, [...path, i], depth + 1));
      return;
    }
  };
  const root = doc.yaml.contents;
  // An explicit null document (`~`, a lone `...`) is the empty document too: no leaves.
  const empty = root === null || root === undefined || (isScalar(root) && root.value === null);
  if (!empty) visit(root as Node, [], 0);
  const w = new ByteWriter()
    .bytes(utf8(LABELS[version]))
    .u8(version)
    .bytes(u64(generation));
  const pairs = canonicalContext(context);
  w.u32(pairs.length);
  for (const [k, v] of pairs) w.lp32(k).lp32(v);
  w.u32(leafCount).bytes(body.finish());
  return w.finish();
}

function keyOf(pair: Pair<unknown, unknown>): string {
  const key = pair.key;
  if (isScalar(key)) {
    const v = key.value;
    if (typeof v === "symbol") return "<<";
    return v === null ? "" : String(v);
  }
  return "";
}

/**
 * HMAC-SHA-256 of `input` under the MAC key derived from the integrity data key with HKDF (info:
 * the record version's label; default v1's "sealfig/v1/file-mac").
 */
export function computeMac(
  dek: DataKey,
  input: Uint8Array,
  info: Uint8Array = MAC_INFO,
): Promise<Uint8Array> {
  const key = hkdfSha256(dek.hkdfKey, new Uint8Array(0), info, 32);
  try {
    return Promise.resolve(hmacSha256(key, input));
  } finally {
    key.fill(0);
  }
}

const MAC_INFO_V2 = utf8(MAC_LABEL_V2);

/**
 * The MAC of a record of `version` over `input`: {@link computeMac} with the version's label as
 * HKDF info ("sealfig/v1/file-mac", "sealfig/v2/file-mac"), so a MAC key of one version is never
 * the other's, even over the same integrity data key.
 */
export function recordMac(
  dek: DataKey,
  version: IntegrityVersion,
  input: Uint8Array,
): Promise<Uint8Array> {
  return computeMac(dek, input, version === 1 ? MAC_INFO : MAC_INFO_V2);
}

/**
 * The plain values a v1 record cannot pin exactly: integers beyond ±(2^53−1). The loader returns
 * them as exact bigints while v1's MAC input holds only the text of their nearest double, and
 * that text is also what an integral `!!float` beyond 2^53 (a number, typed an integer) gives
 * (docs/format.md §9.4). A v1 record is accepted only over a file where this is empty; whether it
 * is empty is a function of the v1 MAC input itself (an integer leaf whose text is not a decimal
 * within ±(2^53−1)), so two files with one v1 input are both accepted or both refused.
 */
export function v1Uncovered(doc: SealfigDocument): DocumentValue[] {
  return doc.entries().filter((v) =>
    v.kind === "plain" && v1Type(v) === "integer" &&
    !(typeof v.value === "number" && Number.isSafeInteger(v.value))
  );
}

/**
 * The type the v1 MAC input records for a value: what the reader gave it when v1 was written. A
 * tagged number with an integral value (`!!float 2.0`) was typed an integer then; it is a float
 * now, so v1 inputs keep the old byte for it (the same JavaScript number either way; beyond 2^53
 * {@link v1Uncovered} refuses it, as it refuses every integer v1 cannot pin).
 */
function v1Type(e: DocumentEntry): ValueTypeName | undefined {
  if (
    e.kind === "plain" && e.type === "float" && e.node.tag !== undefined &&
    typeof e.value === "number" && Number.isInteger(e.value) && !Object.is(e.value, -0)
  ) {
    return "integer";
  }
  return e.type;
}

/**
 * Refuse a verified v1 record over a file it does not pin exactly: `INTEGRITY_UNSUPPORTED` naming
 * the first plain integer beyond ±(2^53−1) (file:line:col and path). A v2 record passes.
 */
export function refuseUncoveredV1(
  doc: SealfigDocument,
  record: Pick<IntegrityRecord, "version">,
): void {
  if (record.version !== 1) return;
  const uncovered = v1Uncovered(doc);
  const first = uncovered[0];
  if (!first) return;
  throw new SealfigError(
    "INTEGRITY_UNSUPPORTED",
    `The file's v1 integrity record cannot cover ${uncovered.length} plain integer(s) beyond ` +
      "2^53 exactly (v1 holds only their nearest double), and the app would load their exact " +
      "digits",
    {
      ...(doc.file !== undefined ? { file: doc.file } : {}),
      line: first.line,
      col: first.col,
      path: first.pathText,
      hint: "Review these integers (git log -p FILE), then run sealfig stamp --force FILE to " +
        "write a v2 record that covers every digit",
    },
  );
}
