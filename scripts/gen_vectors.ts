/**
 * Generates tests/vectors/v1.json ONCE. The committed file is the reference: tests decrypt it on
 * every runtime forever after, so this script refuses to overwrite it (pass --force only when
 * adding a new vectors file under a new name).
 *
 *   npx tsx scripts/gen_vectors.ts [out.json] [--force]
 *
 * Fixed inputs: the local KEK is bytes 0x00..0x1f (key text below), so anyone can recompute the
 * key id and unwrap the data keys. Salts, IVs and data keys are random at generation time and
 * recorded inside the blobs; the vectors pin decryption, not encryption.
 */
import { writeFileSync } from "node:fs";
import { encodeVectorValue, vectorsOutput } from "./_vectors.ts";
import { toBase64Url } from "../src/crypto/bytes.ts";
import { BLOB_PREFIX, parseBlob, replaceKeySlot } from "../src/envelope/format.ts";
import { Sealer } from "../src/envelope/values.ts";
import { LocalKeyProvider } from "../src/keys/local.ts";
import type { SecretValue } from "../src/envelope/value_codec.ts";

const out = vectorsOutput("tests/vectors/v1.json");

const kekBytes = Uint8Array.from({ length: 32 }, (_, i) => i);
const KEK = "sealfig-local-key-v1:" + toBase64Url(kekBytes);
const KEK2_BYTES = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
const KEK2 = "sealfig-local-key-v1:" + toBase64Url(KEK2_BYTES);
const provider = new LocalKeyProvider({ keys: [KEK, KEK2] });
const keyId = await LocalKeyProvider.keyIdOf(KEK);
const context = { app: "vectors", env: "test" };

const enc = encodeVectorValue;

const cases: [string, SecretValue, string?][] = [
  ["db.password", "hunter2"],
  ["empty", ""],
  ["unicode", "pässwörd ✓ 秘密 🔐"],
  ["pem", "-----BEGIN KEY-----\nMIIB\nAAAA\n-----END KEY-----\n"],
  ["nul", "a\u0000b"],
  ["servers[0].port", 5432],
  ["neg", -17],
  ["big", 12345678901234567890n],
  ["ratio", 0.25],
  ["float_one", 1, "float"],
  ["negzero", -0],
  ["nan", NaN],
  ["inf", -Infinity],
  ["flag", true],
  ["off", false],
  ["nothing", null],
  ['labels["app.kubernetes.io/name"]', "shop"],
];

const sealer = new Sealer({ provider, keyId, context });
const positive = [];
for (const [path, value, type] of cases) {
  const blob = await sealer.seal(value, path, type as never);
  positive.push({ path, ...enc(value), sealedType: parseBlob(blob).valueType, blob });
}
const perValue = new Sealer({ provider, keyId, context: {}, maxValuesPerDek: 1 });
positive.push({
  path: "no_context",
  ...enc("plain context"),
  sealedType: "string",
  contextOverride: {},
  blob: await perValue.seal("plain context", "no_context"),
});
// Re-wrapped under the second key: same ciphertext, new key slot.
const kek2Id = await LocalKeyProvider.keyIdOf(KEK2);
const original = parseBlob(positive[0]!.blob);
const rewrapped = await provider.rewrapDataKey(keyId, original.wrappedDek, context, kek2Id);
positive.push({
  path: positive[0]!.path,
  ...enc("hunter2"),
  sealedType: "string",
  blob: replaceKeySlot(original, {
    providerId: "local",
    keyId: kek2Id,
    wrappedDek: rewrapped.wrapped,
  }),
});
// Another data key in the same context, for the key-slot swap negative vector.
const other = new Sealer({ provider, keyId, context });
const otherBlob = await other.seal("other", "db.password");
other.dispose();
sealer.dispose();
perValue.dispose();

// Negative vectors: each must fail with the given code.
const base = positive[0]!;
const pem = positive.find((v) => v.path === "pem")!;
const body = base.blob.slice(BLOB_PREFIX.length);
const flipChar = (s: string, i: number) =>
  s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
const p = parseBlob(base.blob);
const headerChars = Math.floor((p.headerBytes.length * 4) / 3);
const negative = [
  { name: "wrong path", blob: base.blob, path: "db.user", code: "BLOB_AUTH_FAILED" },
  {
    name: "wrong context",
    blob: base.blob,
    path: base.path,
    context: { app: "vectors", env: "prod" },
    code: "DEK_UNWRAP_FAILED",
  },
  {
    name: "ciphertext byte changed",
    blob: BLOB_PREFIX + flipChar(body, body.length - 20),
    path: base.path,
    code: "BLOB_AUTH_FAILED",
  },
  {
    name: "commitment changed",
    blob: BLOB_PREFIX + flipChar(body, headerChars - 10),
    path: base.path,
    code: "BLOB_AUTH_FAILED",
  },
  {
    name: "truncated ciphertext",
    blob: BLOB_PREFIX + toBase64Url(fromB64(pem.blob.slice(BLOB_PREFIX.length)).slice(0, -9)),
    path: pem.path,
    code: "BLOB_AUTH_FAILED",
  },
  {
    name: "truncated below the tag length",
    blob: base.blob.slice(0, base.blob.length - 30),
    path: base.path,
    code: "BLOB_MALFORMED",
  },
  {
    name: "truncated into header",
    blob: base.blob.slice(0, 60),
    path: base.path,
    code: "BLOB_MALFORMED",
  },
  { name: "future version", blob: "sealfig:v2:" + body, path: base.path, code: "BLOB_UNSUPPORTED" },
  { name: "not a blob", blob: "hunter2", path: base.path, code: "BLOB_MALFORMED" },
  { name: "padded base64", blob: base.blob + "=", path: base.path, code: "BLOB_MALFORMED" },
  { name: "type relabelled", blob: relabel(base.blob), path: base.path, code: "BLOB_AUTH_FAILED" },
  {
    name: "key slot from a value sealed under another data key",
    blob: replaceKeySlot(parseBlob(base.blob), {
      providerId: "local",
      keyId,
      wrappedDek: parseBlob(otherBlob).wrappedDek,
    }),
    path: base.path,
    code: "BLOB_AUTH_FAILED",
  },
  {
    name: "wrapped key from another value with another context",
    blob: swapWrapped(base.blob, positive.find((v) => v.path === "no_context")!.blob),
    path: base.path,
    code: "DEK_UNWRAP_FAILED",
  },
];

function relabel(blob: string): string {
  const bytes = fromB64(blob.slice(BLOB_PREFIX.length));
  bytes[2] = 0x02; // string -> integer
  return BLOB_PREFIX + toBase64Url(bytes);
}
function swapWrapped(target: string, donor: string): string {
  const t = parseBlob(target), d = parseBlob(donor);
  const all = fromB64(target.slice(BLOB_PREFIX.length));
  const start = 3 + 1 + t.providerId.length + 2 + new TextEncoder().encode(t.keyId).length + 2;
  if (d.wrappedDek.length !== t.wrappedDek.length) throw new Error("lengths differ");
  all.set(d.wrappedDek, start);
  return BLOB_PREFIX + toBase64Url(all);
}
function fromB64(s: string): Uint8Array {
  return Uint8Array.from(
    atob(s.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - (s.length % 4)) % 4)),
    (c) => c.charCodeAt(0),
  );
}

writeFileSync(
  out,
  JSON.stringify(
    {
      description:
        "sealfig envelope format v1 test vectors. Generated once by scripts/gen_vectors.ts; never regenerate. Positive vectors must decrypt to the recorded value with the given keys, path and context; negative ones must fail with the recorded error code.",
      format: "docs/format.md",
      keys: [KEK, KEK2],
      keyId,
      context,
      positive,
      negative,
    },
    null,
    2,
  ) + "\n",
);
console.log(`wrote ${out}: ${positive.length} positive, ${negative.length} negative vectors`);
