/**
 * Start-up overlap (issue 16): the loader lets a provider get ready (SDK, client, credentials) as
 * soon as a parsed file holds one of its blobs, before trees, trust and the first call; getting
 * ready calls nothing. Order and counts only, never times.
 */
import { afterAll, describe, expect, it } from "vitest";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { loadConfigWithReport } from "../../src/config/load_config.ts";
import { parseDocument } from "../../src/document/document.ts";
import { sealDocument } from "../../src/document/seal.ts";
import { stampDocument } from "../../src/integrity/verify.ts";
import type {
  EncryptionContext,
  GeneratedDataKey,
  KeyProvider,
  ProviderCallOptions,
} from "../../src/keys/key_provider.ts";
import { LocalKeyProvider } from "../../src/keys/local.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";
import { providerFor, startTestServer } from "../keys/_kms_fixture.ts";

const tmp = makeTempDir("sealfig-overlap-");
afterAll(() => tmp.cleanup());

async function sealedFile(provider: KeyProvider, keyId: string, name: string): Promise<string> {
  const { document } = await sealDocument(parseDocument("a: !secret one\nb: !secret two\n"), {
    provider,
    keyId,
  });
  const stamped = await stampDocument(document, { provider, keyId, generation: 1 });
  return tmp.write(name, stamped.document.toBytes());
}

/** A local provider that logs what the loader asks of it, in order. */
class Recording implements KeyProvider {
  readonly id = "local";
  readonly events: string[] = [];
  constructor(readonly inner: LocalKeyProvider) {}
  prepare(keyId: string): Promise<void> {
    this.events.push(`prepare ${keyId}`);
    return Promise.resolve();
  }
  keyIds(): Promise<string[]> {
    return this.inner.keyIds();
  }
  generateDataKey(
    k: string,
    c: EncryptionContext,
    o?: ProviderCallOptions,
  ): Promise<GeneratedDataKey> {
    void o;
    return this.inner.generateDataKey(k, c);
  }
  decryptDataKey(
    k: string,
    w: Uint8Array,
    c: EncryptionContext,
    o?: ProviderCallOptions,
  ): Promise<Uint8Array> {
    this.events.push("decrypt");
    void o;
    return this.inner.decryptDataKey(k, w, c);
  }
}

describe("start-up overlap", () => {
  it("each provider is told to get ready once per file, before its first call", async () => {
    const { id, key } = await LocalKeyProvider.generateKey();
    const local = new LocalKeyProvider({ keys: [key] });
    const f1 = await sealedFile(local, id, "one.yaml");
    const f2 = await sealedFile(local, id, "two.yaml");
    const rec = new Recording(local);
    await loadConfigWithReport({ files: [f1, f2], providers: [rec], cache: new DekCache() });
    expect(rec.events.slice(0, 2)).toEqual([`prepare ${id}`, `prepare ${id}`]);
    // Both records, and the values of two.yaml only: one.yaml's values are shadowed by two.yaml's
    // (same paths), and a shadowed value is not opened (docs/config.md, "Decryption").
    expect(rec.events.filter((e) => e === "decrypt")).toHaveLength(3);
  });

  it("the KMS provider gets ready without a request: one client, and only the load's calls", async () => {
    const server = await startTestServer();
    try {
      const keyArn = (await server.createKey()).arn;
      const seal = providerFor(server);
      const file = await sealedFile(seal, keyArn, "kms.yaml");
      seal.destroy();
      const kms = providerFor(server);
      server.stats.reset();
      const { report } = await loadConfigWithReport({
        files: [file],
        providers: [kms],
        cache: new DekCache(),
        trustedKeys: [keyArn],
      });
      expect(report.providerCalls).toBe(2);
      expect(server.stats.total).toBe(2);
      expect(kms.stats.clientsCreated).toBe(1);
      kms.destroy();
    } finally {
      await server.close();
    }
  });
});
