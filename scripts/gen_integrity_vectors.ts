/**
 * Generates tests/vectors/integrity_v2.json ONCE: test vectors for the whole-file integrity
 * record v2 (docs/format.md §9), the version every writer writes. The committed file is the
 * reference, so this script refuses to overwrite it (pass --force only when writing a new vectors
 * file under a new name). tests/vectors/integrity_v1.json was written by this script's revision in
 * commit 6a719bf (when writers wrote v1); it is read-only history and is never regenerated.
 *
 *   npx tsx scripts/gen_integrity_vectors.ts [out.json] [--force]
 *
 * Fixed inputs: the same two local KEKs as tests/vectors/v1.json (bytes 0x00..0x1f and
 * 0xff..0xe0). Data keys, salts and IVs are random at generation time and recorded in the files.
 */
import { writeFileSync } from "node:fs";
import { vectorsOutput } from "./_vectors.ts";
import { concat, fromBase64Url, toBase64Url, toHex } from "../src/crypto/bytes.ts";
import { DataKey } from "../src/crypto/data_key.ts";
import { parseDocument, type SealfigDocument } from "../src/document/document.ts";
import { sealDocument } from "../src/document/seal.ts";
import { setSecret, setValue, unsetValue } from "../src/document/edit.ts";
import { integrityContext, macInput, recordMac } from "../src/integrity/mac.ts";
import {
  encodeIntegrityRecord,
  INTEGRITY_PREFIX,
  parseIntegrityRecord,
  stripIntegrityLines,
} from "../src/integrity/record.ts";
import { readIntegrityRecord, stampDocument } from "../src/integrity/verify.ts";
import { LocalKeyProvider } from "../src/keys/local.ts";

const out = vectorsOutput("tests/vectors/integrity_v2.json");

const KEK = "sealfig-local-key-v1:" + toBase64Url(Uint8Array.from({ length: 32 }, (_, i) => i));
const KEK2 = "sealfig-local-key-v1:" +
  toBase64Url(Uint8Array.from({ length: 32 }, (_, i) => 255 - i));
const provider = new LocalKeyProvider({ keys: [KEK, KEK2] });
const keyId = await LocalKeyProvider.keyIdOf(KEK);
const key2Id = await LocalKeyProvider.keyIdOf(KEK2);
const context = { app: "vectors", env: "test" };

const PLAIN = `# integrity vectors: every kind of leaf
service:
  name: "shop"            # quoted string
  port: 8080
  ratio: 0.25
  one_float: 1.0
  neg_zero: -0.0
  big: 12345678901234567890
  big_negative: -98765432109876543210
  big_hex: 0xFFFFFFFFFFFFFFFFFF
  two_53: 9007199254740992
  max_safe: 9007199254740991
  float_big: !!float 9007199254740993.0
  float_huge: 1e300
  infinity: -.inf
  not_a_number: .nan
  enabled: true
  nothing: null
  empty_value:
  unicode: "pässwörd ✓ 秘密"
  "a.b": dotted key
  "0": string key zero
db: &db
  host: db.internal
  password: !secret hunter2
  port: !secret 5432
replica: *db
defaults: &defaults
  timeout: 5
merged:
  <<: *defaults
  extra: 1
servers:
  - name: a
    token: !secret token-a
  - name: b
  - name: c
empty_map: {}
empty_seq: []
text: |
  line one
  line two
`;

const sealed = (await sealDocument(parseDocument(PLAIN), { provider, keyId, context })).document;
const stamp = async (doc: SealfigDocument, generation: number, reuse?: SealfigDocument) => {
  const record = reuse ? readIntegrityRecord(reuse) : undefined;
  return (await stampDocument(doc, {
    provider,
    keyId,
    context,
    generation,
    ...(record ? { reuse: record } : {}),
  })).document;
};

// Generation 6: the file before a `set`; generation 7: after it (db.password changed).
const gen6 = await stamp(sealed, 6);
const gen7Body = await setSecret(gen6, "db.password", "hunter3", { provider, keyId, context });
const gen7 = await stamp(gen7Body, 7, gen6);
const text7 = gen7.toString();

const recordLine = (text: string) => /^sealfig_integrity: (\S+)$/m.exec(text)![1]!;
if (!recordLine(text7).startsWith(INTEGRITY_PREFIX) || INTEGRITY_PREFIX !== "sealfig-mac:v2:") {
  throw new Error("writers must write v2 records");
}
const withRecord = (text: string, record: string) =>
  text.replace(/^sealfig_integrity: \S+$/m, `sealfig_integrity: ${record}`);

// The same content, reformatted: comments, quoting, indentation and flow style do not count.
const reformatted = text7
  .replace("# integrity vectors: every kind of leaf\n", "")
  .replace('name: "shop"            # quoted string', "name: shop")
  .replace("empty_map: {}", "empty_map: { }")
  .replace("  ratio: 0.25", "  ratio:    0.25   # tuned");
// The record's integrity data key re-wrapped under the second key: same DEK, same MAC.
const rec7 = parseIntegrityRecord(recordLine(text7));
const rewrapped = await provider.rewrapDataKey(
  rec7.keyId,
  rec7.wrappedDek,
  integrityContext(context),
  key2Id,
);
const rewrappedText = withRecord(
  text7,
  encodeIntegrityRecord({ ...rec7, keyId: rewrapped.keyId, wrappedDek: rewrapped.wrapped }),
);
const empty = (await stamp(parseDocument(""), 1)).toString();

const positive = [
  { name: "every kind of leaf, generation 7", file: text7, generation: 7 },
  { name: "the same file at generation 6 (before a set)", file: gen6.toString(), generation: 6 },
  { name: "reformatted: comments, quoting, spacing, flow style", file: reformatted, generation: 7 },
  {
    name: "integrity data key re-wrapped under the second key",
    file: rewrappedText,
    generation: 7,
  },
  { name: "empty document", file: empty, generation: 1 },
  {
    name: "integers respelled with the same exact value (+, octal, hex, .Inf case)",
    file: text7
      .replace("  big: 12345678901234567890", "  big: +12345678901234567890")
      .replace("  big_hex: 0xFFFFFFFFFFFFFFFFFF", "  big_hex: 4722366482869645213695")
      .replace("  max_safe: 9007199254740991", "  max_safe: 0o377777777777777777")
      .replace("  infinity: -.inf", "  infinity: -.Inf"),
    generation: 7,
  },
];

const mutate = (doc: SealfigDocument, f: (d: SealfigDocument) => SealfigDocument) =>
  f(parseDocument(doc.toString())).toString();
const r7 = parseIntegrityRecord(recordLine(text7));
/** A genuine v1 record (v1 MAC input and HKDF info) under the same integrity data key. */
const dek7 = await DataKey.fromBytes(
  await provider.decryptDataKey(r7.keyId, r7.wrappedDek, integrityContext(context)),
);
const v1Mac = await recordMac(dek7, 1, macInput(parseDocument(text7), 7, context, 1));
const v1RecordOf = (_text: string) => encodeIntegrityRecord({ ...r7, version: 1, mac: v1Mac });
const r7Bytes = fromBase64Url(recordLine(text7).slice(INTEGRITY_PREFIX.length))!;

const negative = [
  {
    name: "plain value changed",
    file: text7.replace("host: db.internal", "host: evil.example"),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "plain value retyped (integer to string)",
    file: text7.replace("  port: 8080", '  port: "8080"'),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "key deleted",
    file: mutate(gen7, (d) => unsetValue(d, "service.enabled")),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "key added",
    file: mutate(gen7, (d) => setValue(d, "service.debug", true)),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "empty map added",
    file: text7.replace("empty_seq: []", "empty_seq: []\nnew_map: {}"),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "sequence items reordered",
    file: text7.replace("  - name: b\n  - name: c\n", "  - name: c\n  - name: b\n"),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "map keys reordered",
    file: text7.replace("  port: 8080\n  ratio: 0.25\n", "  ratio: 0.25\n  port: 8080\n"),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "alias retargeted",
    file: text7.replace("  <<: *defaults", "  <<: *db"),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "older blob swapped back in (from generation 6)",
    file: text7.replace(
      /password: \S+/,
      `password: ${/password: (\S+)/.exec(gen6.toString())![1]!}`,
    ),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "generation raised without a new MAC",
    file: withRecord(text7, encodeIntegrityRecord({ ...r7, generation: 8 })),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "record of another file (the empty document)",
    file: withRecord(text7, recordLine(empty)),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "wrong context",
    file: text7,
    context: { app: "vectors", env: "prod" },
    code: "CONTEXT_MISMATCH",
  },
  {
    name: "truncated at a line boundary (record line gone)",
    file: text7.split("\n").slice(0, 20).join("\n") + "\n",
    code: "INTEGRITY_MISSING",
  },
  {
    name: "record text truncated",
    file: withRecord(text7, recordLine(text7).slice(0, 60)),
    code: "INTEGRITY_MALFORMED",
  },
  {
    name: "plain integer changed beyond double precision (last digit)",
    file: text7.replace("  big: 12345678901234567890", "  big: 12345678901234567891"),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "negative plain integer changed beyond double precision",
    file: text7.replace(
      "  big_negative: -98765432109876543210",
      "  big_negative: -98765432109876543211",
    ),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "2^53 as a bigint replaced by a float of the same value",
    file: text7.replace("  two_53: 9007199254740992", "  two_53: 9007199254740992.0"),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "a !!float beyond 2^53 replaced by the integer it rounds to",
    file: text7.replace("  float_big: !!float 9007199254740993.0", "  float_big: 9007199254740992"),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "-.inf changed to .inf",
    file: text7.replace("  infinity: -.inf", "  infinity: .inf"),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "-0.0 changed to 0.0",
    file: text7.replace("  neg_zero: -0.0", "  neg_zero: 0.0"),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "unknown record version",
    file: withRecord(text7, recordLine(text7).replace(INTEGRITY_PREFIX, "sealfig-mac:v3:")),
    code: "INTEGRITY_MALFORMED",
  },
  {
    name: "v2 record bytes under the v1 prefix (version byte does not match)",
    file: withRecord(text7, recordLine(text7).replace(INTEGRITY_PREFIX, "sealfig-mac:v1:")),
    code: "INTEGRITY_MALFORMED",
  },
  {
    name: "downgraded to v1: version byte and prefix v1, v2 MAC (HKDF info differs)",
    file: withRecord(text7, encodeIntegrityRecord({ ...r7, version: 1 })),
    code: "INTEGRITY_INVALID",
  },
  {
    name: "a valid v1 record over the same content (big integers: v1 cannot pin them)",
    file: withRecord(text7, v1RecordOf(text7)),
    code: "INTEGRITY_UNSUPPORTED",
  },
  {
    name: "record with trailing bytes",
    file: withRecord(text7, INTEGRITY_PREFIX + toBase64Url(concat(r7Bytes, Uint8Array.of(0)))),
    code: "INTEGRITY_MALFORMED",
  },
  {
    name: "older valid file (generation 6) with minimum generation 7",
    file: gen6.toString(),
    minGeneration: 7,
    code: "INTEGRITY_ROLLBACK",
  },
];

const vectors = {
  description: "sealfig integrity record v2 test vectors. Generated once by " +
    "scripts/gen_integrity_vectors.ts; never regenerate. Positive files must verify (with the " +
    "keys and context given) to the recorded generation; negative ones must fail with the " +
    "recorded error code (INTEGRITY_ROLLBACK: verifies, but its generation is below minGeneration).",
  format: "docs/format.md §9",
  keys: [KEK, KEK2],
  keyIds: [keyId, key2Id],
  context,
  integrityContext: integrityContext(context),
  macInput: {
    description: "The MAC input (hex) of the first positive file: its content without the record",
    file: stripIntegrityLines(text7),
    generation: 7,
    hex: toHex(macInput(parseDocument(text7), 7, context, 2)),
  },
  positive,
  negative,
};
writeFileSync(out, JSON.stringify(vectors, null, 2) + "\n");
console.log(`wrote ${out}: ${positive.length} positive, ${negative.length} negative`);
