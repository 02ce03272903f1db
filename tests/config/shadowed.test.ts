/**
 * Values a later layer replaces are not opened (issue 20 item 2; newcomer finding 5): fewer
 * provider calls, and a shadowed value's key need not be trusted or held. Every way a value can be
 * shadowed: a later file, a map replaced by a scalar, `.env`, the environment; a value still
 * reachable through an alias is opened. Files' integrity records still verify.
 */
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { DekCache, parseDocument, sealDocument, stampDocument } from "../../document.ts";
import { loadConfigWithReport, LocalKeyProvider } from "../../mod.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const DEEP = (globalThis as { process?: { env: Record<string, string | undefined> } }).process
  ?.env.SEALFIG_TEST_DEEP === "1";

const t = makeTempDir("sealfig-shadow-");
afterAll(() => t.cleanup());

const main = await LocalKeyProvider.generateKey();
const other = await LocalKeyProvider.generateKey(); // a key the app neither holds nor trusts
const provider = new LocalKeyProvider({ keys: [main.key] });
const otherProvider = new LocalKeyProvider({ keys: [other.key] });

/** Seal (with `p`'s key) and stamp (with the main key) `text` into `name`. */
async function write(name: string, text: string, p = provider, keyId = main.id): Promise<string> {
  const { document } = await sealDocument(parseDocument(text), { provider: p, keyId });
  const { document: stamped } = await stampDocument(document, {
    provider,
    keyId: main.id,
    generation: 1,
  });
  return t.write(name, stamped.toBytes());
}

const load = (files: string[], extra: Record<string, unknown> = {}) =>
  loadConfigWithReport({
    files,
    providers: [provider],
    rules: false,
    trustedKeys: [`local:${main.id}`],
    cache: new DekCache(),
    ...extra,
  });

describe("shadowed values are not opened", () => {
  it("two layers sealing db.password: 1 value and 3 provider calls (was 2 and 4)", async () => {
    const b = await write("b2.yaml", "db:\n  host: h\n  password: !secret base-pw\n");
    const p = await write("p2.yaml", "db:\n  password: !secret prod-pw\n");
    const { config, report } = await load([b, p]);
    expect((config.db as Record<string, unknown>).password).toBe("prod-pw");
    expect(report.valuesDecrypted).toBe(1);
    expect(report.valuesShadowed).toBe(1);
    expect(report.providerCalls).toBe(3); // one data key, two records
    expect(report.integrityVerified).toBe(2);
    const asked = await load([b, p], { openShadowed: true });
    expect(asked.report.valuesDecrypted).toBe(2);
    expect(asked.report.providerCalls).toBe(4);
  });

  it("a shadowed value under a key the app neither holds nor trusts does not stop the load", async () => {
    const b = await write(
      "b3.yaml",
      "db:\n  password: !secret base-pw\n",
      otherProvider,
      other.id,
    );
    const p = await write("p3.yaml", "db:\n  password: !secret prod-pw\n");
    const { config, report } = await load([b, p]);
    expect((config.db as Record<string, unknown>).password).toBe("prod-pw");
    expect(report.valuesDecrypted).toBe(1);
    await expect(load([b, p], { openShadowed: true })).rejects.toMatchObject({
      code: "KEY_UNTRUSTED",
    });
    // tampering with the shadowed value is still caught by the file's record
    const text = t.read("b3.yaml").replace(
      /password: sealfig:v1:(\S{10})/,
      "password: sealfig:v1:AAAAAAAAAA",
    );
    const tampered = t.write("b3t.yaml", text);
    await expect(load([tampered, p])).rejects.toMatchObject({ code: "INTEGRITY_INVALID" });
  });

  it("a map replaced by a scalar, .env and the environment shadow too; an alias keeps a value live", async () => {
    const b = await write(
      "b4.yaml",
      "db:\n  password: !secret a\nsmtp:\n  password: !secret b\ntoken: &tok !secret c\n" +
        "copy: *tok\napi: !secret d\n",
    );
    const p = await write("p4.yaml", "db: postgres://dsn\ntoken: replaced\n");
    const env = t.write("b4.env", "APP_SMTP__PASSWORD=from-dotenv\n");
    const { config, report } = await load([b, p], {
      env: {
        prefix: "APP_",
        vars: { APP_API: "from-env" },
        plaintextOverSealed: "allow",
      },
      dotenv: env,
    });
    expect(config).toMatchObject({
      db: "postgres://dsn",
      smtp: { password: "from-dotenv" },
      token: "replaced",
      copy: "c",
      api: "from-env",
    });
    expect(report.valuesDecrypted).toBe(1); // only the blob `copy` still reaches through *tok
    expect(report.valuesShadowed).toBe(3);
  });

  it("property: a value is opened exactly when no later layer replaces it", async () => {
    let cases = 0;
    let opened = 0;
    let skipped = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom("none", "plain", "sealed", "scalar-parent"), {
          minLength: 1,
          maxLength: 5,
        }),
        async (overrides) => {
          const n = cases++;
          const base = overrides.map((_, i) => `k${i}:\n  v: !secret base-${i}\n`).join("");
          const prod =
            overrides.map((o, i) =>
              o === "plain"
                ? `k${i}:\n  v: plain-${i}\n`
                : o === "sealed"
                ? `k${i}:\n  v: !secret prod-${i}\n`
                : o === "scalar-parent"
                ? `k${i}: scalar-${i}\n`
                : ""
            ).join("") || "{}\n";
          const b = await write(`pb${n}.yaml`, base);
          const p = await write(`pp${n}.yaml`, prod);
          const { config, report } = await load([b, p]);
          const live = overrides.filter((o) => o === "none" || o === "sealed").length;
          expect(report.valuesDecrypted).toBe(live);
          expect(report.valuesShadowed).toBe(
            overrides.filter((o) => o !== "none").length,
          );
          overrides.forEach((o, i) => {
            const want = o === "none"
              ? { v: `base-${i}` }
              : o === "plain"
              ? { v: `plain-${i}` }
              : o === "sealed"
              ? { v: `prod-${i}` }
              : `scalar-${i}`;
            expect(config[`k${i}`]).toEqual(want);
          });
          opened += report.valuesDecrypted;
          skipped += report.valuesShadowed;
        },
      ),
      { numRuns: DEEP ? 400 : 40 },
    );
    console.log(`shadowed: ${cases} layer pairs, ${opened} values opened, ${skipped} not opened`);
    expect(skipped).toBeGreaterThan(0);
  });
});
