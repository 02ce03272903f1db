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
 * "sealfig/v1/file-mac" (19 bytes) || u8 version (0x01) || u64 generation
 * u32 context pairs; per pair (sorted by key bytes): u32 len || key || u32 len || value
 * u32 leaf count
 * per leaf: u32 segment count; per segment 0x01 || u32 len || UTF-8 key | 0x02 || u32 index
 *           u8 kind (0x01 sealed, 0x02 plain, 0x03 alias, 0x04 empty map, 0x05 empty sequence)
 *           u8 type (0x01..0x05 as in blobs; 0x00 for aliases, empty collections, other types)
 *           u32 len || payload (blob text; plain canonical text; alias target segments; empty)
 * MAC key = HKDF-SHA-256(IKM = integrity DEK, salt = empty, info = "sealfig/v1/file-mac", 32 bytes)
 * MAC     = HMAC-SHA-256(MAC key, encoding)
 * ```
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
import type { SealfigDocument } from "../document/document.ts";
import { INTEGRITY_KEY, INTEGRITY_VERSION, u64 } from "./record.ts";

/** The label that starts the MAC input and is the HKDF info of the MAC key. */
export const MAC_LABEL = "sealfig/v1/file-mac";
const MAC_INFO = utf8(MAC_LABEL);
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
 * import { integrityContext } from "@sealfig/sealfig";
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
    else w.u8(0x01).lp32(utf8(seg));
  }
}

/** The canonical text of a plain value of a type (the blob plaintext encoding, without limits). */
function canonicalText(
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
    // v1 pins a plain integer beyond 2^53 as the text of its nearest double (what yaml used to
    // read; tests/vectors/integrity_v1.json): documents now hold it exactly, v1 records do not.
    text = String(Number(value));
  } else {
    text = String(value);
  }
  const bytes = utf8(text);
  if (typeof value === "string" && fromUtf8(bytes) !== value) {
    throw new SealfigError(
      "VALUE_INVALID",
      "A string is not valid Unicode (lone surrogate), so it cannot be authenticated",
      { path: formatPath(path) },
    );
  }
  return bytes;
}

/**
 * The canonical MAC input of `doc` (its content without the integrity record) for a generation
 * and encryption context. Throws `SECRET_UNSEALED` for a `!secret` value: only sealed files
 * carry records.
 */
export function macInput(
  doc: SealfigDocument,
  generation: number,
  context: EncryptionContext,
): Uint8Array {
  // The leaves are written into one body as they are met; their count goes in front of it.
  const body = new ByteWriter();
  let leafCount = 0;
  const paths = new Map<Node, ValuePath>();
  const file = doc.file;
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
    if (node === null || node === undefined) {
      leaf(path, LeafKind.plain, ValueType.null, new Uint8Array(0));
      return;
    }
    if (isAlias(node)) {
      const target = node.resolve(doc.yaml);
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
      } else {
        leaf(path, LeafKind.plain, typeByte, canonicalText(value, type, path));
      }
      return;
    }
    if (isMap(node)) {
      const items = (node.items as Pair<unknown, unknown>[]).filter((p) =>
        !(depth === 0 && keyOf(p) === INTEGRITY_KEY)
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
    .bytes(utf8(MAC_LABEL))
    .u8(INTEGRITY_VERSION)
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

/** HMAC-SHA-256 of `input` under the MAC key derived from the integrity data key. */
export function computeMac(dek: DataKey, input: Uint8Array): Promise<Uint8Array> {
  const key = hkdfSha256(dek.hkdfKey, new Uint8Array(0), MAC_INFO, 32);
  try {
    return Promise.resolve(hmacSha256(key, input));
  } finally {
    key.fill(0);
  }
}
