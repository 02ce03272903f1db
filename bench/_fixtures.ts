/**
 * Builds the committed ciphertexts every contender starts from, once per N, before any timing:
 *
 * | file                       | contender              | made with                                   |
 * | -------------------------- | ---------------------- | ------------------------------------------- |
 * | `values.json`              | (expected plaintexts)  | random 32-character tokens                  |
 * | `sealfig-per-file.yaml`    | sealfig default policy | `sealDocument` + `KmsKeyProvider`, ≤256/DEK, |
 * |                            |                        | then `stampDocument` (integrity record)      |
 * | `sealfig-per-value.yaml`   | sealfig per-value      | the same with `dekPolicy: "per-value"`      |
 * | `esdk.json`                | ESDK without cache     | ESDK `encrypt`, KMS keyring: a DEK/message  |
 * | `esdk-cached.json`         | ESDK with cache        | ESDK `encrypt` through its caching CMM      |
 * | `kms.json`                 | one KMS Decrypt/value  | KMS `Encrypt` of each value                 |
 * | `dotenvx/.env`, `.env.keys`| dotenvx                | `dotenvx encrypt -f .env` (the CLI)         |
 *
 * Runs in the orchestrator (Node), against the local KMS server with no latency.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EncryptCommand, KMS, KMSClient } from "@aws-sdk/client-kms";
import {
  buildClient,
  cacheClients,
  CommitmentPolicy,
  getClient,
  getLocalCryptographicMaterialsCache,
  KmsKeyringNode,
  NodeCachingMaterialsManager,
} from "@aws-crypto/client-node";
import { KmsKeyProvider } from "../src/keys/aws_kms.ts";
import { parseDocument } from "../src/document/document.ts";
import { sealDocument } from "../src/document/seal.ts";
import { stampDocument } from "../src/integrity/verify.ts";
import {
  ACCESS_KEY_ID,
  childEnv,
  CONTEXT,
  type KmsTarget,
  SECRET_ACCESS_KEY,
  secretName,
} from "./_shared.ts";

/** Values per data key under the default policy (sealfig's default; the ESDK cache mirrors it). */
export const VALUES_PER_DEK = 256;

/** The expected plaintexts of a fixture directory. */
export interface Values {
  names: string[];
  values: string[];
}

const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };

/**
 * Write the fixtures for the largest N into `dirs[max]`, then derive every smaller N as a prefix:
 * each value is independent of the ones after it (its own line, its own message or ciphertext;
 * data keys are shared in order), so the first n of them are exactly what sealing n values gives.
 * Saves sealing (and dotenvx's slow ECIES encryption) more than once.
 */
export async function makeFixtures(dirs: Map<number, string>, kms: KmsTarget): Promise<void> {
  const sizes = [...dirs.keys()].sort((a, b) => b - a);
  const max = sizes[0]!;
  const top = dirs.get(max)!;
  for (const dir of dirs.values()) mkdirSync(join(dir, "dotenvx"), { recursive: true });
  const names = Array.from({ length: max }, (_, i) => secretName(i));
  // 24 random bytes -> 32 base64url characters: the size of a typical API token or password.
  const values = names.map(() => randomBytes(24).toString("base64url"));

  await sealfigFixtures(top, names, values, kms);
  await esdkFixtures(top, values, kms);
  await kmsFixtures(top, values, kms);
  dotenvxFixture(top, names, values);

  const provider = kmsProvider(kms);
  try {
    for (const n of sizes) {
      const dir = dirs.get(n)!;
      writeFileSync(
        join(dir, "values.json"),
        JSON.stringify({ names: names.slice(0, n), values: values.slice(0, n) } satisfies Values),
      );
      // sealfig files carry an integrity record (a MAC over the whole file, as `sealfig encrypt`
      // writes it), so each size is stamped on its own.
      for (const policy of ["per-file", "per-value"]) {
        const f = join(dir, `sealfig-${policy}.yaml`);
        const text = firstLines(
          readFileSync(join(top, `sealfig-${policy}.unstamped.yaml`), "utf8"),
          n,
        );
        const { document } = await stampDocument(parseDocument(text), {
          provider,
          keyId: kms.keyArn,
          context: { ...CONTEXT },
          generation: 1,
        });
        writeFileSync(f, document.text);
      }
    }
  } finally {
    provider.destroy();
  }
  for (const n of sizes) {
    const dir = dirs.get(n)!;
    if (n === max) continue;
    writeFileSync(
      join(dir, "dotenvx/.env"),
      firstLines(readFileSync(join(top, "dotenvx/.env"), "utf8"), n),
    );
    copyFileSync(join(top, "dotenvx", ".env.keys"), join(dir, "dotenvx", ".env.keys"));
    for (const f of ["esdk.json", "esdk-cached.json", "kms.json"]) {
      const all = JSON.parse(readFileSync(join(top, f), "utf8")) as string[];
      writeFileSync(join(dir, f), JSON.stringify(all.slice(0, n)));
    }
  }
}

/** The lines before the first value, then the lines of the first `n` values (one line each). */
function firstLines(text: string, n: number): string {
  const lines = text.split("\n");
  const out: string[] = [];
  let seen = 0;
  for (const line of lines) {
    const isValue = /^(secret_|SECRET_)\d+/.test(line);
    if (isValue && seen === n) break;
    if (isValue) seen++;
    out.push(line);
  }
  return `${out.join("\n").trimEnd()}\n`;
}

function kmsProvider(kms: KmsTarget): KmsKeyProvider {
  return new KmsKeyProvider({ endpoint: kms.endpoint, region: kms.region, credentials });
}

async function sealfigFixtures(dir: string, names: string[], values: string[], kms: KmsTarget) {
  const plain = "# sealfig benchmark fixture\n" +
    names.map((name, i) => `${name}: !secret ${JSON.stringify(values[i])}\n`).join("");
  const provider = kmsProvider(kms);
  try {
    for (const policy of ["per-file", "per-value"] as const) {
      const { document } = await sealDocument(parseDocument(plain), {
        provider,
        keyId: kms.keyArn,
        context: { ...CONTEXT },
        dekPolicy: policy,
        maxValuesPerDek: VALUES_PER_DEK,
      });
      writeFileSync(join(dir, `sealfig-${policy}.unstamped.yaml`), document.text);
    }
  } finally {
    provider.destroy();
  }
}

async function esdkFixtures(dir: string, values: string[], kms: KmsTarget) {
  const clients: KMS[] = [];
  const base = getClient(KMS, { endpoint: kms.endpoint, credentials });
  const clientProvider = cacheClients((region: string) => {
    const c = base(region);
    if (c) clients.push(c);
    return c;
  });
  const keyring = new KmsKeyringNode({ clientProvider, generatorKeyId: kms.keyArn });
  const { encrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const encryptionContext = { ...CONTEXT };
  try {
    // Without a cache: one data key per message (what a plain KMS keyring does).
    const plain: string[] = new Array(values.length);
    await inChunks(values.length, 16, async (i) => {
      const { result } = await encrypt(keyring, values[i]!, { encryptionContext });
      plain[i] = result.toString("base64");
    });
    writeFileSync(join(dir, "esdk.json"), JSON.stringify(plain));

    // Through the caching CMM: messages share a data key, up to VALUES_PER_DEK messages each.
    const cmm = new NodeCachingMaterialsManager({
      backingMaterials: keyring,
      cache: getLocalCryptographicMaterialsCache(1000),
      maxAge: 300_000,
      maxMessagesEncrypted: VALUES_PER_DEK,
    });
    const cached: string[] = [];
    for (const v of values) {
      const { result } = await encrypt(cmm, v, { encryptionContext });
      cached.push(result.toString("base64"));
    }
    writeFileSync(join(dir, "esdk-cached.json"), JSON.stringify(cached));
  } finally {
    for (const c of clients) c.destroy();
  }
}

async function kmsFixtures(dir: string, values: string[], kms: KmsTarget) {
  const client = new KMSClient({ endpoint: kms.endpoint, region: kms.region, credentials });
  try {
    const out: string[] = new Array(values.length);
    await inChunks(values.length, 16, async (i) => {
      const res = await client.send(
        new EncryptCommand({ KeyId: kms.keyArn, Plaintext: new TextEncoder().encode(values[i]!) }),
      );
      out[i] = Buffer.from(res.CiphertextBlob!).toString("base64");
    });
    writeFileSync(join(dir, "kms.json"), JSON.stringify(out));
  } finally {
    client.destroy();
  }
}

function dotenvxFixture(dir: string, names: string[], values: string[]) {
  const envDir = join(dir, "dotenvx");
  const envName = (name: string) => name.toUpperCase();
  writeFileSync(
    join(envDir, ".env"),
    names.map((name, i) => `${envName(name)}="${values[i]}"\n`).join(""),
  );
  // The documented way to encrypt a .env: the CLI writes the ciphertexts in place and the private
  // key to .env.keys beside it.
  execFileSync(process.execPath, [dotenvxBin(), "encrypt", "-f", ".env"], {
    cwd: envDir,
    env: childEnv(),
    stdio: ["ignore", "ignore", "pipe"],
  });
}

/** Path of the dotenvx CLI script. */
export function dotenvxBin(): string {
  return fileURLToPath(
    new URL("../node_modules/@dotenvx/dotenvx/src/cli/dotenvx.js", import.meta.url),
  );
}

async function inChunks(n: number, width: number, task: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await task(next++);
  }));
}
