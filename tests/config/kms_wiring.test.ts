/**
 * Blobs sealed with AWS KMS load through loadConfig with configuration only, via the real
 * @aws-sdk/client-kms talking HTTP to the local KMS server; the DekCache sits in front of KMS.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DekCache, parseDocument, sealDocument } from "../../document.ts";
import { startKmsServer } from "../../kms_server.ts";
import { createLoader, KmsKeyProvider, LocalKeyProvider } from "../../mod.ts";
import type { KmsServer } from "../../kms_server.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

let kms: KmsServer;
const tmp = makeTempDir("sealfig-kmswire-");
beforeAll(async () => {
  kms = await startKmsServer({ seed: 3 });
});
afterAll(async () => {
  await kms.close();
  tmp.cleanup();
});

describe("loadConfig with AWS KMS blobs", () => {
  it("decrypts KMS-sealed files with one Decrypt per distinct data key, and none on reload", async () => {
    const key = await kms.createKey({ alias: "alias/shop-prod" });
    const kmsProvider = new KmsKeyProvider({
      endpoint: kms.endpoint,
      region: kms.region,
      credentials: { accessKeyId: "AKIDWIRE", secretAccessKey: "x" },
    });
    const context = { app: "shop", env: "prod" };
    const plain = parseDocument(
      "db:\n  host: db.internal\n  password: !secret kms-pw\napi:\n  token: !secret kms-token\n",
    );
    const { document } = await sealDocument(plain, {
      provider: kmsProvider,
      keyId: "alias/shop-prod",
      context,
    });
    // Blobs record the key ARN, not the alias.
    expect(document.toString()).not.toContain("alias/shop-prod");
    tmp.write("prod.yaml", document.toBytes());
    tmp.write("base.yaml", "db:\n  port: 5432\n");

    const before = kms.stats.count("Decrypt");
    const loader = createLoader({
      files: [tmp.path("base.yaml"), tmp.path("prod.yaml")],
      providers: [new LocalKeyProvider({ keys: [] }), kmsProvider],
      cache: new DekCache(),
      context: (file: string) => (file.endsWith("prod.yaml") ? context : {}),
      trustedKeys: [key.arn],
      integrity: "off", // this test counts value Decrypts; tests/integrity covers records
    });
    const config = await loader.load() as {
      db: { password: string; port: number };
      api: { token: string };
    };
    expect(config.db.password).toBe("kms-pw");
    expect(config.api.token).toBe("kms-token");
    expect(config.db.port).toBe(5432);
    expect(kms.stats.count("Decrypt") - before).toBe(1);
    await loader.load();
    expect(kms.stats.count("Decrypt") - before).toBe(1);
    expect(key.arn).toContain(":key/");
    kmsProvider.destroy();
  });
});
