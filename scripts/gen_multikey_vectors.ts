/**
 * Generates tests/vectors/v2_multikey.json ONCE (docs/format.md §11.3). The committed file is the
 * reference: tests open it on every runtime forever after, so this script refuses to overwrite it.
 *
 *   npx tsx scripts/gen_multikey_vectors.ts [out.json] [--force]
 *
 * Fixed inputs: the local KEKs are bytes 0x00..0x1f, 0xff..0xe0 (the keys of tests/vectors/v1.json)
 * and 0x80..0x9f, so anyone can recompute the key ids and unwrap the data keys. Salts, IVs and data
 * keys are random at generation time and recorded inside the blobs.
 */
import { writeFileSync } from "node:fs";
import { encodeVectorValue, vectorsOutput } from "./_vectors.ts";
import { toBase64Url } from "../src/crypto/bytes.ts";
import {
  BLOB_PREFIX_V2,
  type KeySlot,
  parseBlob,
  replaceKeySlots,
} from "../src/envelope/format.ts";
import { Sealer } from "../src/envelope/values.ts";
import { LocalKeyProvider } from "../src/keys/local.ts";
import type { SecretValue } from "../src/envelope/value_codec.ts";
import { parseDocument } from "../src/document/document.ts";
import { sealDocument } from "../src/document/seal.ts";
import { stampDocument } from "../src/integrity/verify.ts";

const out = vectorsOutput("tests/vectors/v2_multikey.json");

const keyText = (f: (i: number) => number) =>
  "sealfig-local-key-v1:" + toBase64Url(Uint8Array.from({ length: 32 }, (_, i) => f(i)));
const KEYS = [keyText((i) => i), keyText((i) => 255 - i), keyText((i) => 128 + i)];
const ids = await Promise.all(KEYS.map((k) => LocalKeyProvider.keyIdOf(k)));
const all = new LocalKeyProvider({ keys: KEYS });
const context = { app: "vectors", env: "test" };

const enc = encodeVectorValue;

const cases: [string, SecretValue][] = [
  ["db.password", "hunter2"],
  ["empty", ""],
  ["unicode", "pässwörd ✓ 秘密 🔐"],
  ["port", 5432],
  ["big", 12345678901234567890n],
  ["ratio", 0.25],
  ["negzero", -0],
  ["flag", true],
  ["nothing", null],
];

const sealers = [
  new Sealer({
    provider: all,
    keyId: ids[0]!,
    additionalKeys: [{ provider: all, keyId: ids[1]! }],
    context,
  }),
  new Sealer({
    provider: all,
    keyId: ids[0]!,
    additionalKeys: [{ provider: all, keyId: ids[1]! }, { provider: all, keyId: ids[2]! }],
    context,
  }),
];
const positive = [];
for (const [n, sealer] of sealers.entries()) {
  for (const [path, value] of cases) {
    const blob = await sealer.seal(value, path);
    // Every key alone opens it: the list of key indexes each vector must open with.
    positive.push({ path, ...enc(value), keys: n === 0 ? [0, 1] : [0, 1, 2], blob });
  }
}
// One value as v1 under key 0, and the same value after adding keys 1 and 2 (same ciphertext).
const single = await new Sealer({ provider: all, keyId: ids[0]!, context }).seal("moved", "mv");
const p1 = parseBlob(single);
const dek = await all.decryptDataKey(ids[0]!, p1.wrappedDek, context);
const extra: KeySlot[] = [];
for (const id of [ids[1]!, ids[2]!]) {
  const w = await all.wrapDataKey(id, dek, context);
  extra.push({ providerId: "local", keyId: w.keyId, wrappedDek: w.wrapped });
}
dek.fill(0);
const added = replaceKeySlots(p1, [p1.slots[0]!, ...extra]);
const rewrap = { path: "mv", ...enc("moved"), v1: single, v2: added };

// A file of several-key values with its v3 record.
const file = (await sealDocument(
  parseDocument("db:\n  host: db.internal\n  password: !secret hunter2\ntoken: !secret t0k\n"),
  {
    provider: all,
    keyId: ids[0]!,
    additionalKeys: [{ provider: all, keyId: ids[1]! }, { provider: all, keyId: ids[2]! }],
    context,
  },
)).document;
const stamped = (await stampDocument(file, {
  provider: all,
  keyId: ids[0]!,
  additionalKeys: [{ provider: all, keyId: ids[1]! }, { provider: all, keyId: ids[2]! }],
  context,
  generation: 1,
})).document.toString();

// Negative vectors.
const base = positive.find((v) => v.keys.length === 3)!;
const pb = parseBlob(base.blob);
const raw = fromB64(base.blob.slice(BLOB_PREFIX_V2.length));
const withByte = (at: number, b: number) => {
  const c = raw.slice();
  c[at] = b;
  return BLOB_PREFIX_V2 + toBase64Url(c);
};
const firstSlotLen = 1 + 5 + 2 + ids[0]!.length + 2 + pb.slots[0]!.wrappedDek.length;
const other = parseBlob(
  await new Sealer({ provider: all, keyId: ids[2]!, context }).seal("evil", base.path),
);
const valueBlobInFile = parseDocument(stamped).values().find((v) => v.kind === "sealed")!;
const pv = parseBlob(valueBlobInFile.value as string);
const negative = [
  {
    name: "a key listed twice",
    blob: BLOB_PREFIX_V2 +
      toBase64Url(concatBytes(
        raw.subarray(0, 3),
        Uint8Array.of(4),
        raw.subarray(4, 4 + firstSlotLen),
        raw.subarray(4),
      )),
    path: base.path,
    code: "BLOB_MALFORMED",
  },
  { name: "key count 0", blob: withByte(3, 0), path: base.path, code: "BLOB_MALFORMED" },
  { name: "key count 17", blob: withByte(3, 17), path: base.path, code: "BLOB_MALFORMED" },
  {
    name: "key count beyond the slots",
    blob: withByte(3, 4),
    path: base.path,
    code: "BLOB_MALFORMED",
  },
  {
    name: "truncated inside a slot",
    blob: BLOB_PREFIX_V2 + toBase64Url(raw.subarray(0, 4 + firstSlotLen + 20)),
    path: base.path,
    code: "BLOB_MALFORMED",
  },
  {
    name: "version byte 1 under the v2 prefix",
    blob: withByte(0, 1),
    path: base.path,
    code: "BLOB_MALFORMED",
  },
  {
    name: "another value's slot (another data key) under a key the reader holds",
    blob: replaceKeySlots(other, [pb.slots[0]!]),
    path: base.path,
    code: "BLOB_AUTH_FAILED",
  },
  {
    name: "wrong path",
    blob: base.blob,
    path: "db.user",
    code: "BLOB_AUTH_FAILED",
  },
];
const fileNegative = [
  {
    name: "a key removed from one value (record not re-stamped)",
    text: stamped.replace(
      valueBlobInFile.value as string,
      replaceKeySlots(pv, pv.slots.slice(0, 2)),
    ),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "key slots of one value reordered",
    text: stamped.replace(
      valueBlobInFile.value as string,
      replaceKeySlots(pv, [pv.slots[1]!, pv.slots[0]!, pv.slots[2]!]),
    ),
    code: "INTEGRITY_INVALID",
  },
];

writeFileSync(
  out,
  JSON.stringify(
    {
      description: "sealfig several-key vectors (docs/format.md §11.3), generated once",
      keys: KEYS,
      keyIds: ids,
      context,
      positive,
      rewrap,
      file: { text: stamped, opensWith: [0, 1, 2] },
      negative,
      fileNegative,
    },
    null,
    2,
  ) + "\n",
);
console.error(`wrote ${out}`);

function fromB64(s: string): Uint8Array {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const outBytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    outBytes.set(p, off);
    off += p.length;
  }
  return outBytes;
}
