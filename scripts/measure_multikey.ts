/**
 * Blob and file size per number of keys (docs/format.md §11.1): one 16-character value, and a file
 * of 20 such values sealed under one rule (per-file data key) with its integrity record. KMS keys
 * live on the local KMS server (two Regions); its wrapped data keys are the size its format gives
 * (AWS KMS's are ~184 bytes, see the doc).
 *
 *   npx tsx scripts/measure_multikey.ts
 */
import { LocalKeyProvider } from "../src/keys/local.ts";
import { KmsKeyProvider } from "../src/keys/aws_kms.ts";
import { startKmsServer } from "../src/kms_server/server.ts";
import { Sealer, type SealingKey } from "../src/envelope/values.ts";
import { parseDocument } from "../src/document/document.ts";
import { sealDocument } from "../src/document/seal.ts";
import { stampDocument } from "../src/integrity/verify.ts";
import { parseBlob } from "../src/envelope/format.ts";

const serverA = await startKmsServer({ seed: 1, region: "eu-west-1", account: "111122223333" });
const serverB = await startKmsServer({ seed: 2, region: "us-west-2", account: "444455556666" });
const arnA = (await serverA.createKey()).arn;
const arnB = (await serverB.createKey()).arn;
const kms = new KmsKeyProvider({
  region: "eu-west-1",
  credentials: { accessKeyId: "AKIDMEASURE", secretAccessKey: "x" },
  clientFactory: (sdk, config) =>
    new sdk.KMSClient({
      ...config,
      endpoint: config.region === "us-west-2" ? serverB.endpoint : serverA.endpoint,
    }),
});
const l = await Promise.all([0, 1, 2].map(() => LocalKeyProvider.generateKey()));
const local = new LocalKeyProvider({ keys: l.map((k) => k.key) });
const context = { app: "shop", env: "prod" };
const value = "0123456789abcdef";

const lists: [string, SealingKey[]][] = [
  ["1 local", [{ provider: local, keyId: l[0]!.id }]],
  ["2 local", [0, 1].map((i) => ({ provider: local, keyId: l[i]!.id }))],
  ["3 local", [0, 1, 2].map((i) => ({ provider: local, keyId: l[i]!.id }))],
  ["1 KMS", [{ provider: kms, keyId: arnA }]],
  ["2 KMS (two Regions)", [{ provider: kms, keyId: arnA }, { provider: kms, keyId: arnB }]],
  ["2 KMS + 1 local", [
    { provider: kms, keyId: arnA },
    { provider: kms, keyId: arnB },
    { provider: local, keyId: l[0]!.id },
  ]],
];

console.log("| keys | blob chars | file bytes (20 values + record) | wrapped DEK bytes per slot |");
console.log("| ---- | ---------- | ------------------------------- | -------------------------- |");
for (const [name, keys] of lists) {
  const [first, ...more] = keys;
  const sealer = new Sealer({
    provider: first!.provider,
    keyId: first!.keyId,
    additionalKeys: more,
    context,
  });
  const blob = await sealer.seal(value, "db.password");
  sealer.dispose();
  const text = Array.from({ length: 20 }, (_, i) => `v${i}: !secret ${value}\n`).join("");
  const sealed = (await sealDocument(parseDocument(text), {
    provider: first!.provider,
    keyId: first!.keyId,
    additionalKeys: more,
    context,
  })).document;
  const stamped = (await stampDocument(sealed, {
    provider: first!.provider,
    keyId: first!.keyId,
    additionalKeys: more,
    context,
    generation: 1,
  })).document;
  const wrapped = parseBlob(blob).slots.map((s) => s.wrappedDek.length).join(", ");
  console.log(
    `| ${name} | ${blob.length} | ${
      new TextEncoder().encode(stamped.toString()).length
    } | ${wrapped} |`,
  );
}
kms.destroy();
await serverA.close();
await serverB.close();
