/**
 * Generates tests/vectors/integrity_reader_v1.json ONCE: files whose v1 record was made for one
 * content but which a YAML reader could load as another (docs/format.md §9.3.1). The reader must
 * refuse each with its code at its line and column; the original file verifies and loads.
 *
 *   npx tsx scripts/gen_integrity_reader_vectors.ts [out.json] [--force]
 *
 * Fixed inputs: the two local KEKs of tests/vectors/v1.json. Data keys, salts and IVs are random
 * at generation time and recorded in the files.
 */
import { writeFileSync } from "node:fs";
import { vectorsOutput } from "./_vectors.ts";
import { toBase64Url } from "../src/crypto/bytes.ts";
import { parseDocument } from "../src/document/document.ts";
import { sealDocument } from "../src/document/seal.ts";
import { stampDocument } from "../src/integrity/verify.ts";
import { LocalKeyProvider } from "../src/keys/local.ts";

const out = vectorsOutput("tests/vectors/integrity_reader_v1.json");

const KEK = "sealfig-local-key-v1:" + toBase64Url(Uint8Array.from({ length: 32 }, (_, i) => i));
const KEK2 = "sealfig-local-key-v1:" +
  toBase64Url(Uint8Array.from({ length: 32 }, (_, i) => 255 - i));
const provider = new LocalKeyProvider({ keys: [KEK, KEK2] });
const keyId = await LocalKeyProvider.keyIdOf(KEK);
const key2Id = await LocalKeyProvider.keyIdOf(KEK2);
const context = { app: "vectors", env: "reader" };

const PLAIN = `defaults: &defaults
  timeout: 5
merged:
  <<: *defaults
  extra: 1
flag: "true"
count: "1000"
db:
  password: !secret hunter2
`;

const stamped = async (plain: string) => {
  const sealed = (await sealDocument(parseDocument(plain), { provider, keyId, context })).document;
  return (await stampDocument(sealed, { provider, keyId, context, generation: 1 })).document
    .toString();
};
const file = await stamped(PLAIN);
const beforeRecord = (text: string, insert: string) =>
  text.replace(/^sealfig_integrity:/m, `${insert}sealfig_integrity:`);
const at = (text: string, needle: string) => {
  const i = text.indexOf(needle);
  const lines = text.slice(0, i).split("\n");
  return { line: lines.length, col: lines[lines.length - 1]!.length + 1 };
};
const negative = (
  name: string,
  text: string,
  needle: string,
  code = "YAML_UNSUPPORTED",
) => ({ name, file: text, code, ...at(text, needle) });

const yaml11 = "%YAML 1.1\n---\n";
const negatives = [
  negative("quoted merge key", file.replace("  <<: *defaults", '  "<<": *defaults'), '"<<"'),
  negative("single-quoted merge key", file.replace("  <<: *defaults", "  '<<': *defaults"), "'<<'"),
  negative("tagged merge key", file.replace("  <<: *defaults", "  !!str <<: *defaults"), "<<: *"),
  negative("%YAML 1.1: flag yes", yaml11 + file.replace('flag: "true"', "flag: yes"), "%YAML"),
  negative(
    "%YAML 1.1: count 1_000",
    yaml11 + file.replace('count: "1000"', "count: 1_000"),
    "%YAML",
  ),
  negative("%TAG", "%TAG ! tag:yaml.org,2002:\n---\n" + file, "%TAG"),
  negative(
    "plaintext inside an ordered map",
    beforeRecord(file, "creds: !!omap\n  - password: plaintext-in-omap\n"),
    "!!omap",
  ),
  negative("a set", beforeRecord(file, "hosts: !!set {a, b}\n"), "!!set"),
  negative("pairs", beforeRecord(file, "pairs: !!pairs\n  - a: 1\n"), "!!pairs"),
  negative("a timestamp", beforeRecord(file, "when: !!timestamp 2001-12-14\n"), "!!timestamp"),
  negative("binary", beforeRecord(file, "blob: !!binary aGVsbG8=\n"), "!!binary"),
  negative("the non-specific tag", file.replace('count: "1000"', "count: ! 1000"), "1000\n"),
];

const vectors = {
  description: "sealfig reader vectors for integrity record v1. Generated once by " +
    "scripts/gen_integrity_reader_vectors.ts; never regenerate. The positive file verifies and " +
    "loads; each negative file must be refused by the reader with the recorded code at the " +
    "recorded 1-based line and column (before any record check).",
  format: "docs/format.md §9.3.1",
  keys: [KEK, KEK2],
  keyIds: [keyId, key2Id],
  context,
  positive: { file, generation: 1 },
  negative: negatives,
};
writeFileSync(out, JSON.stringify(vectors, null, 2) + "\n");
console.log(`wrote ${out}: 1 positive, ${negatives.length} negative`);
