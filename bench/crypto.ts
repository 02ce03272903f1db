/**
 * Local crypto per value, with the data key already at hand (no KMS):
 * - sealfig `decryptValue` through a warm DekCache: parse the blob, HKDF-derive the value key and
 *   commitment, check it, AES-256-GCM decrypt with the header/path/context as associated data
 *   (node:crypto); and its parts alone: node:crypto HKDF, node:crypto AES-GCM, the associated data;
 * - raw WebCrypto AES-256-GCM decrypt of the same plaintext size and associated-data size, with
 *   the key already imported (the floor of any WebCrypto envelope scheme), and with an importKey
 *   per value;
 * - dotenvx: its documented `parse()` of one encrypted `KEY="encrypted:…"` line with the private
 *   key (ECIES on secp256k1).
 * Each one-at-a-time (`await` in a loop: latency per value) and 16 at a time (what the loader
 * does: throughput per value). Prints one JSON line of µs per value (median of batches).
 *
 *   node --import tsx bench/crypto.ts [quick]
 *
 * @module
 */
import process from "node:process";
import { createRequire } from "node:module";
import { createDecipheriv, createSecretKey, hkdfSync } from "node:crypto";
import { decryptValue, DekCache, parseBlob, Sealer } from "../document.ts";
import { LocalKeyProvider } from "../mod.ts";
import { buildAad } from "../src/envelope/aad.ts";
import { CONTEXT, median, pool } from "./_shared.ts";

const quick = process.argv[2] === "quick";
const BATCH = quick ? 200 : 2000;
const BATCHES = quick ? 2 : 7;
const PATH = "secret_0000";
const VALUE = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3Jh"; // 32 characters, like the fixtures

async function perValue(
  op: () => Promise<unknown>,
  batch = BATCH,
  batches = BATCHES,
): Promise<{ seq: number; c16: number }> {
  const seq: number[] = [];
  const c16: number[] = [];
  const items = Array.from({ length: batch }, (_, i) => i);
  for (let b = 0; b < batches + 1; b++) {
    let t0 = performance.now();
    for (let i = 0; i < batch; i++) await op();
    const s = ((performance.now() - t0) * 1000) / batch;
    t0 = performance.now();
    await pool(items, 16, op);
    const c = ((performance.now() - t0) * 1000) / batch;
    if (b > 0) { // batch 0 warms up
      seq.push(s);
      c16.push(c);
    }
  }
  return { seq: median(seq), c16: median(c16) };
}

// sealfig
const { id, key } = await LocalKeyProvider.generateKey();
const provider = new LocalKeyProvider({ keys: [key] });
const sealer = new Sealer({ provider, keyId: id, context: { ...CONTEXT } });
const blob = await sealer.seal(VALUE, PATH);
sealer.dispose();
const cache = new DekCache();
const opts = { providers: [provider], path: PATH, context: CONTEXT, cache };
if ((await decryptValue(blob, opts)) !== VALUE) throw new Error("sealfig round trip failed");
const sealfig = await perValue(() => decryptValue(blob, opts));

// raw WebCrypto AES-256-GCM, same plaintext and associated-data sizes as the sealfig blob
const parsed = parseBlob(blob);
const aadLength = 14 + 4 + parsed.headerBytes.length + 4 + 1 + 4 + PATH.length + 4 +
  Object.entries(CONTEXT).reduce((n, [k, v]) => n + 8 + k.length + v.length, 0);
const rawKeyBytes = crypto.getRandomValues(new Uint8Array(32));
const aesKey = await crypto.subtle.importKey("raw", rawKeyBytes, "AES-GCM", false, [
  "encrypt",
  "decrypt",
]);
const iv = crypto.getRandomValues(new Uint8Array(12));
const additionalData = crypto.getRandomValues(new Uint8Array(aadLength));
const ct = new Uint8Array(
  await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData },
    aesKey,
    new TextEncoder().encode(VALUE),
  ),
);
const raw = await perValue(() =>
  crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData }, aesKey, ct)
);
const rawImport = await perValue(async () => {
  const k = await crypto.subtle.importKey("raw", rawKeyBytes, "AES-GCM", false, ["decrypt"]);
  return crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData }, k, ct);
});

// The three WebCrypto operations sealfig's format needs per value, one by one: HKDF deriveBits
// (value key + commitment), importKey (the derived AES key), AES-GCM decrypt (as `raw`).
const hkdfKey = await crypto.subtle.importKey("raw", rawKeyBytes, "HKDF", false, ["deriveBits"]);
const salt = crypto.getRandomValues(new Uint8Array(32));
const info = new TextEncoder().encode("sealfig/v1/value-key\u0001");
const hkdf = await perValue(() =>
  crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, hkdfKey, 512)
);
const importAes = await perValue(() =>
  crypto.subtle.importKey("raw", rawKeyBytes, "AES-GCM", false, ["decrypt"])
);

// What sealfig does per value now (node:crypto, synchronous): HKDF-SHA-256 to 64 bytes from the
// data key handle, and the AES-256-GCM decrypt with the associated data; and building that
// associated data (header fields, path, context) on its own.
const keyObject = createSecretKey(rawKeyBytes);
const nodeHkdf = await perValue(() =>
  Promise.resolve(hkdfSync("sha256", keyObject, salt, info, 64))
);
const tagAt = ct.length - 16;
const nodeGcm = await perValue(() => {
  const d = createDecipheriv("aes-256-gcm", rawKeyBytes, iv, { authTagLength: 16 });
  d.setAAD(additionalData);
  d.setAuthTag(ct.subarray(tagAt));
  d.update(ct.subarray(0, tagAt));
  d.final();
  return Promise.resolve();
});
const aad = await perValue(() => Promise.resolve(buildAad(parsed.boundHeader, [PATH], CONTEXT)));

// dotenvx (Node only: it is a CommonJS package)
let dotenvx: { seq: number; c16: number } | undefined;
const dotenvxDir = process.argv[3];
if (dotenvxDir) {
  const require = createRequire(import.meta.url);
  const dx = require("@dotenvx/dotenvx") as typeof import("@dotenvx/dotenvx");
  const fs = require("node:fs") as typeof import("node:fs");
  const env = fs.readFileSync(`${dotenvxDir}/.env`, "utf8");
  const keys = fs.readFileSync(`${dotenvxDir}/.env.keys`, "utf8");
  const line = env.split("\n").find((l) => /^[A-Z_0-9]+="?encrypted:/.test(l))!;
  const privateKey = /^DOTENV_PRIVATE_KEY="?([0-9a-f]+)"?/m.exec(keys)![1]!;
  const parse = () => Promise.resolve(dx.parse(line, { privateKey, processEnv: {} }));
  if (Object.values(dx.parse(line, { privateKey, processEnv: {} }))[0]?.startsWith("encrypted:")) {
    throw new Error("dotenvx did not decrypt");
  }
  // Tens of milliseconds per value (pure-JS elliptic curve arithmetic): small batches.
  dotenvx = await perValue(parse, quick ? 4 : 20, quick ? 1 : 3);
}

process.stdout.write(
  `${
    JSON.stringify({
      plaintextBytes: VALUE.length,
      aadBytes: aadLength,
      blobChars: blob.length,
      sealfig,
      raw,
      rawImport,
      hkdf,
      importAes,
      nodeHkdf,
      nodeGcm,
      aad,
      dotenvx,
    })
  }\n`,
);
