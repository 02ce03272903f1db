/**
 * Loading a file sealed with the local provider, with the default providers (local + AWS KMS),
 * never imports the AWS SDK. Measured like tests/keys/aws_kms_lazy.test.ts: @aws-sdk/client-kms
 * is CommonJS, so once imported its files are in the isolate's CommonJS module cache; this file
 * imports nothing that loads it, and each test file gets its own isolate on both runtimes.
 */
import { describe, expect, it } from "vitest";
import process from "node:process";
import { parseDocument, sealDocument, stampDocument } from "../../document.ts";
import { loadConfigWithReport, LocalKeyProvider } from "../../mod.ts";
import { kmsSdkLoadCount } from "../../src/keys/aws_kms.ts";
import { loadedCommonJsModules } from "../../src/runtime.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const sdkLoaded = () =>
  loadedCommonJsModules().some((p) => /[\\/]@aws-sdk[\\/]client-kms[\\/]/.test(p));

describe("loadConfig with the default providers", () => {
  it("loads a local-provider file without importing @aws-sdk/client-kms", async () => {
    const tmp = makeTempDir("sealfig-nosdk-");
    const { id, key } = await LocalKeyProvider.generateKey();
    const provider = new LocalKeyProvider({ keys: [key] });
    const { document: sealed } = await sealDocument(parseDocument("token: !secret local-only\n"), {
      provider,
      keyId: id,
    });
    const { document } = await stampDocument(sealed, { provider, keyId: id, generation: 1 });
    const file = tmp.write("app.yaml", document.toBytes());
    const prev = process.env.SEALFIG_KEY;
    process.env.SEALFIG_KEY = key;
    try {
      const { config, report } = await loadConfigWithReport({ files: [file] });
      expect((config as { token: string }).token).toBe("local-only");
      expect(report.valuesDecrypted).toBe(1);
      expect(kmsSdkLoadCount()).toBe(0);
      expect(sdkLoaded()).toBe(false);
    } finally {
      if (prev === undefined) delete process.env.SEALFIG_KEY;
      else process.env.SEALFIG_KEY = prev;
      tmp.cleanup();
    }
  });
});
