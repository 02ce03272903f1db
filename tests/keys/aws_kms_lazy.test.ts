/**
 * The AWS SDK is imported only on the first KMS call.
 *
 * How it is measured: `@aws-sdk/client-kms` is a CommonJS package, so once anything imports it,
 * its files appear in the CommonJS module cache of the isolate, on Node and on Deno alike
 * (runtime.loadedCommonJsModules). Both vitest and `deno test` give each test file its own
 * isolate, and this file imports the SDK neither statically nor through a helper that does.
 * The test checks the cache after importing the whole public API (mod.ts) and constructing a
 * provider, then makes one real call and checks that the same measurement now sees the SDK, so
 * a measurement that could never see it would fail the test.
 */
import { describe, expect, it } from "vitest";
import * as sealfig from "../../mod.ts";
import { startKmsServer } from "../../kms_server.ts";
import { kmsSdkLoadCount } from "../../src/keys/aws_kms_sdk.ts";
import { loadedCommonJsModules } from "../../src/runtime.ts";

const sdkLoaded = () =>
  loadedCommonJsModules().some((p) => /[\\/]@aws-sdk[\\/]client-kms[\\/]/.test(p));

describe("KmsKeyProvider lazy SDK import", () => {
  it("importing sealfig and constructing a KmsKeyProvider does not import @aws-sdk/client-kms", async () => {
    expect(sdkLoaded()).toBe(false);
    const server = await startKmsServer();
    const key = await server.createKey();
    const kms = new sealfig.KmsKeyProvider({
      endpoint: server.endpoint,
      region: server.region,
      credentials: { accessKeyId: "AKIDLAZY", secretAccessKey: "x" },
    });
    expect(kmsSdkLoadCount()).toBe(0);
    expect(sdkLoaded()).toBe(false);

    // Positive control: the first call loads it, and the same measurement sees it.
    const dek = await kms.generateDataKey(key.arn, { env: "dev" });
    expect(dek.keyId).toBe(key.arn);
    expect(kmsSdkLoadCount()).toBe(1);
    expect(sdkLoaded()).toBe(true);
    await kms.decryptDataKey(key.arn, dek.wrapped, { env: "dev" });
    expect(kmsSdkLoadCount()).toBe(1);
    kms.destroy();
    await server.close();
  });
});
