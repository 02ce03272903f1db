/**
 * The key allowlist: a blob sealed under a key the reader did not name is refused before any
 * provider call (no Decrypt reaches KMS), by the loader and by the CLI; aliases are resolved once;
 * multi-Region replicas count as one key; a write-only `set` still produces a valid record.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import process from "node:process";
import { readFileSync } from "node:fs";
import {
  DekCache,
  encryptValue,
  KeyAllowlist,
  parseDocument,
  readIntegrityRecord,
  sealDocument,
  stampDocument,
} from "../../document.ts";
import { KmsKeyProvider, loadConfig, LocalKeyProvider } from "../../mod.ts";
import { parseTrustedKeys } from "../../src/keys/allowlist.ts";
import type { KmsKeyInfo, KmsServer } from "../../kms_server.ts";
import type { LoadConfigOptions } from "../../mod.ts";
import { startKmsServer } from "../../src/kms_server/server.ts";
import { isSealfigError, type SealfigError } from "../../src/errors.ts";
import { runSealfig } from "../_helpers/cli.ts";
import { renderings } from "../_helpers/leaks.ts";
import { makeTempDir, type TempDir } from "../_helpers/tmp_dir.ts";

const CONTEXT = { app: "shop", env: "prod" };
const CANARY = "canary-allow-3e7a";
let kms: KmsServer;
let app: KmsKeyInfo;
let evil: KmsKeyInfo;
let t: TempDir;
let sealedText: string;

const kmsProvider = (accessKeyId = "AKIDAPP") =>
  new KmsKeyProvider({
    endpoint: kms.endpoint,
    region: kms.region,
    credentials: { accessKeyId, secretAccessKey: "x" },
  });

const awsEnv = (accessKeyId: string) => ({
  AWS_ENDPOINT_URL_KMS: kms.endpoint,
  AWS_REGION: kms.region,
  AWS_ACCESS_KEY_ID: accessKeyId,
  AWS_SECRET_ACCESS_KEY: "x",
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  SEALFIG_KEY_FILE: t.path("no-keys"),
  SEALFIG_KEY: undefined,
});

beforeAll(async () => {
  kms = await startKmsServer({ seed: 9 });
  app = await kms.createKey({ alias: "alias/app" });
  evil = await kms.createKey({ alias: "alias/evil" });
  // The caller may use both keys: only the allowlist stands between it and the attacker's key.
  kms.setPolicy({
    AKIDAPP: { "*": ["*"] },
    // A writer may generate data keys (and resolve the alias the rules name), not decrypt.
    AKIDWRITER: { "*": ["GenerateDataKey", "DescribeKey"] },
  });
  t = makeTempDir("sealfig-allow-");
  const provider = kmsProvider();
  const sealed = await sealDocument(
    parseDocument(`db:\n  host: db.internal\n  password: !secret ${CANARY}\n`),
    { provider, keyId: "alias/app", context: CONTEXT },
  );
  sealedText = (await stampDocument(sealed.document, {
    provider,
    keyId: "alias/app",
    context: CONTEXT,
    generation: 1,
  })).document.toString();
  t.write(
    ".sealfig.yaml",
    `rules:\n  - files: '^config/'\n    key: alias/app\n    context: { app: shop, env: prod }\n`,
  );
  provider.destroy();
});
afterAll(async () => {
  await kms.close();
  t.cleanup();
});

/** The sealed file with its password replaced by a value the attacker sealed under their key. */
async function injected(): Promise<string> {
  const provider = kmsProvider();
  const blob = await encryptValue("attacker-pw", {
    provider,
    keyId: "alias/evil",
    path: "db.password",
    context: CONTEXT,
  });
  provider.destroy();
  return sealedText.replace(/password: \S+/, `password: ${blob}`);
}

async function loadError(options: LoadConfigOptions): Promise<SealfigError> {
  try {
    await loadConfig(options);
  } catch (err) {
    if (isSealfigError(err)) return err;
    throw err;
  }
  throw new Error("loaded");
}

describe("key allowlist", () => {
  it("loadConfig() rejects a blob under an untrusted KMS key with zero Decrypt calls", async () => {
    const file = t.write("config/prod.yaml", await injected());
    for (const integrity of ["require", "off"] as const) {
      const provider = kmsProvider();
      kms.stats.reset();
      const err = await loadError({
        files: [file],
        providers: [provider],
        context: CONTEXT,
        cache: new DekCache(),
        trustedKeys: ["alias/app"],
        integrity,
      });
      expect(err.code).toBe("KEY_UNTRUSTED");
      expect(err.file).toBe(file);
      expect(err.path).toBe("db.password");
      expect(err.line).toBe(3);
      expect(err.message).toContain(evil.arn);
      expect(err.message).not.toContain(CANARY);
      expect(kms.stats.count("Decrypt")).toBe(0);
      expect(kms.stats.count("DescribeKey")).toBe(1); // alias/app resolved to compare ARNs
      provider.destroy();
    }
  });

  it("trusts no KMS key by default; trustedKeys, SEALFIG_TRUSTED_KEYS or 'any' name them", async () => {
    const file = t.write("config/ok.yaml", sealedText);
    const provider = kmsProvider();
    // rules: false: without a rules file (this directory's .sealfig.yaml names the key).
    const base = { files: [file], providers: [provider], context: CONTEXT, rules: false as const };
    kms.stats.reset();
    const err = await loadError({ ...base, cache: new DekCache() });
    expect(err.code).toBe("KEY_UNTRUSTED");
    expect(kms.stats.count("Decrypt")).toBe(0);
    const cache = new DekCache();
    const byAlias = await loadConfig({ ...base, cache, trustedKeys: ["alias/app"] });
    expect((byAlias.db as Record<string, unknown>).password).toBe(CANARY);
    expect(kms.stats.count("Decrypt")).toBe(2); // the value's data key + the integrity data key
    await loadConfig({ ...base, cache, trustedKeys: [app.arn] });
    await loadConfig({ ...base, cache, trustedKeys: "any" });
    process.env.SEALFIG_TRUSTED_KEYS = `local:lk_0000000000000000, ${app.arn}`;
    try {
      await loadConfig({ ...base, cache });
    } finally {
      delete process.env.SEALFIG_TRUSTED_KEYS;
    }
    expect(kms.stats.count("Decrypt")).toBe(2); // the rest came from the cache
    provider.destroy();
  });

  it("a local key pasted as a trusted key is refused without echoing it, and so is any bad ref", async () => {
    const { key } = await LocalKeyProvider.generateKey();
    const material = key.split(":").pop()!;
    for (const refs of [[key], ["local:lk_0123456789abcdef", `local:${key}`]]) {
      let err: unknown;
      try {
        KeyAllowlist.of(refs);
      } catch (e) {
        err = e;
      }
      expect(isSealfigError(err, "OPTION_INVALID")).toBe(true);
      expect(renderings(err)).not.toContain(material);
    }
    const bad = "not a reference secret-ish-text";
    expect(() => parseTrustedKeys(bad)).toThrow(/Trusted key #1 is not a key reference/);
    let second: unknown;
    try {
      parseTrustedKeys(`local:lk_0123456789abcdef, ${bad}`);
    } catch (e) {
      second = e;
    }
    expect(isSealfigError(second, "OPTION_INVALID")).toBe(true);
    expect(renderings(second)).not.toContain(bad);
  });

  it("KeyAllowlist counts multi-Region replicas as one key, and nothing else", async () => {
    const mrk = await kms.createKey({ multiRegion: true });
    const replica = await kms.replicateKey(mrk.arn, "eu-west-1");
    const trusted = KeyAllowlist.of([mrk.arn]);
    const name = (keyId: string) => ({ providerId: "aws-kms", keyId });
    expect(replica.arn).not.toBe(mrk.arn);
    expect(await trusted.isTrusted(name(replica.arn), [])).toBe(true);
    expect(await trusted.isTrusted(name(mrk.arn), [])).toBe(true);
    const otherRegion = app.arn.replace(`:${kms.region}:`, ":eu-west-1:");
    expect(await KeyAllowlist.of([app.arn]).isTrusted(name(otherRegion), [])).toBe(false);
    const otherAccount = mrk.arn.replace(":111122223333:", ":444455556666:");
    expect(await trusted.isTrusted(name(otherAccount), [])).toBe(false);
    expect(await trusted.isTrusted({ providerId: "local", keyId: mrk.arn }, [])).toBe(false);
  });

  it("the CLI refuses the injected blob (exit 4) with no Decrypt, and check reports it (exit 6)", async () => {
    t.write("config/prod.yaml", await injected());
    kms.stats.reset();
    const dec = await runSealfig(["decrypt", "config/prod.yaml"], {
      cwd: t.dir,
      env: awsEnv("AKIDAPP"),
    });
    expect(dec.code, dec.stderr).toBe(4);
    expect(dec.stderr).toContain("KEY_UNTRUSTED");
    expect(dec.stderr).toContain(evil.arn);
    expect(dec.stdout).not.toContain("attacker-pw");
    expect(kms.stats.count("Decrypt")).toBe(0);
    const check = await runSealfig(["check", "config/prod.yaml"], {
      cwd: t.dir,
      env: awsEnv("AKIDAPP"),
    });
    expect(check.code, check.stderr).toBe(6);
    expect(check.stderr).toContain(`sealed with key ${evil.arn}, which is not trusted`);
    // check also verifies the record (one Decrypt, of the trusted key's integrity data key).
    expect(kms.stats.count("Decrypt")).toBe(1);
  });

  it("a write-only set (GenerateDataKey only) warns and keeps the old record: it never vouches for what it could not verify", async () => {
    const file = t.write("config/prod.yaml", sealedText);
    kms.stats.reset();
    const set = await runSealfig(["set", "config/prod.yaml", "api.token", "new-token"], {
      cwd: t.dir,
      env: awsEnv("AKIDWRITER"),
    });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toContain("cannot verify the integrity record (KMS_ACCESS_DENIED)");
    expect(set.stderr).toContain("OLD record");
    expect(kms.stats.count("Decrypt")).toBe(1); // the denied attempt to open the record's key
    const text = readFileSync(file, "utf8");
    const before = readIntegrityRecord(parseDocument(sealedText))!;
    const after = readIntegrityRecord(parseDocument(text))!;
    expect(after).toEqual(before); // the same record, byte for byte
    expect(text).toContain("api:");
    const provider = kmsProvider();
    const load = loadConfig({
      files: [file],
      providers: [provider],
      context: CONTEXT,
      cache: new DekCache(),
      trustedKeys: ["alias/app"],
    });
    await expect(load).rejects.toMatchObject({ code: "INTEGRITY_INVALID" });
    provider.destroy();
  });
});
