/**
 * `age-encryption` is imported only when an age key is first used: importing sealfig, building
 * the default providers, and sealing and loading with a local key never load it. Measured by the
 * provider's import counter (the package is ESM, so the CommonJS cache cannot see it); vitest and
 * `deno test` give each test file its own isolate, and this file imports nothing that uses age.
 * The positive control uses an age key and sees the counter move.
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as sealfig from "../../mod.ts";
import { encryptValue } from "../../document.ts";
import { defaultProviders } from "../../src/keys/registry.ts";
import { ageLibraryLoadCount } from "../../src/keys/age.ts";

describe("AgeKeyProvider lazy library import", () => {
  it("sealfig with local keys never imports age-encryption; the first age key does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sealfig-age-lazy-"));
    try {
      expect(ageLibraryLoadCount()).toBe(0);
      const { id, key } = await sealfig.LocalKeyProvider.generateKey();
      const providers = defaultProviders({ local: { keys: [key] } });
      expect(providers.map((p) => p.id)).toContain("age");
      const blob = await encryptValue("hunter2", {
        provider: providers[0]!,
        keyId: id,
        path: "db.password",
      });
      writeFileSync(join(dir, "app.yaml"), `db:\n  password: ${blob}\n`);
      const config = await sealfig.loadConfig({
        files: [join(dir, "app.yaml")],
        rules: false,
        integrity: "off",
        trustedKeys: [`local:${id}`],
        providers,
      });
      expect(config).toEqual({ db: { password: "hunter2" } });
      expect(ageLibraryLoadCount()).toBe(0);

      // Positive control: the first age key loads it, once.
      const age = providers.find((p) => p.id === "age")!;
      const identity = await sealfig.AgeKeyProvider.generateIdentity();
      const recipient = await sealfig.AgeKeyProvider.recipientOf(identity);
      await age.generateDataKey(recipient, {});
      expect(ageLibraryLoadCount()).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
