/**
 * Record v2 and what v1 records mean now (docs/format.md §9.3–9.4), through the loader and the
 * CLI as a process:
 *
 * - every writer writes `sealfig-mac:v2:`; a plain integer changed beyond double precision under
 *   a v2 record is refused (`INTEGRITY_INVALID`);
 * - a v1 record over a file with a plain integer beyond ±(2^53−1) is refused with
 *   `INTEGRITY_UNSUPPORTED` (file, line, path, hint) by the loader, `check` and every write
 *   command, whether or not the digits were changed, until `stamp --force` writes a v2 record;
 * - a v1 record over a file without such integers keeps verifying as before, and the next write
 *   replaces it with a v2 record (same integrity data key, generation + 1);
 * - keys and strings that are not valid Unicode cannot be stamped.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parseDocument, readIntegrityRecord, sealDocument, stampDocument } from "../../document.ts";
import { loadConfig, LocalKeyProvider } from "../../mod.ts";
import { integrityContext, macInput } from "../../src/integrity/mac.ts";
import { encodeIntegrityRecord } from "../../src/integrity/record.ts";
import { DataKey } from "../../src/crypto/data_key.ts";
import { isSealfigError, type SealfigError } from "../../src/errors.ts";
import { recordMac } from "../../src/integrity/mac.ts";
import { addKeyToFile } from "../../src/keys/local.ts";
import { runSealfig } from "../_helpers/cli.ts";
import { makeTempDir, type TempDir } from "../_helpers/tmp_dir.ts";

const CONTEXT = { env: "prod" };
let t: TempDir;
let keyId: string;
let provider: LocalKeyProvider;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  t = makeTempDir("sealfig-irv2-");
  keyId = await addKeyToFile(t.path("keys"));
  provider = new LocalKeyProvider({ keyFile: t.path("keys") });
  env = {
    SEALFIG_KEY_FILE: t.path("keys"),
    SEALFIG_KEY: undefined,
    SEALFIG_TRUSTED_KEYS: undefined,
    SEALFIG_KMS_KEY: undefined,
  };
  t.write(
    ".sealfig.yaml",
    `rules:\n  - files: '^config/'\n    key: local:${keyId}\n    context: { env: prod }\n`,
  );
});
afterAll(() => t.cleanup());

/** A sealed file with a genuine v1 record (what sealfig wrote before v2) at `generation`. */
async function writtenByV1(plain: string, generation = 3): Promise<string> {
  const sealed = (await sealDocument(parseDocument(plain), { provider, keyId, context: CONTEXT }))
    .document;
  const generated = await provider.generateDataKey(keyId, integrityContext(CONTEXT));
  const dek = await DataKey.fromBytes(generated.plaintext);
  try {
    const mac = await recordMac(dek, 1, macInput(sealed, generation, CONTEXT, 1));
    const line = encodeIntegrityRecord({
      version: 1,
      generation,
      providerId: provider.id,
      keyId: generated.keyId,
      wrappedDek: generated.wrapped,
      mac,
    });
    expect(line.startsWith("sealfig-mac:v1:")).toBe(true);
    return `${sealed.toString()}sealfig_integrity: ${line}\n`;
  } finally {
    dek.destroy();
  }
}

async function loadError(name: string): Promise<SealfigError | undefined> {
  try {
    await loadConfig({
      baseDir: t.dir,
      files: [name],
      providers: [provider],
      context: CONTEXT,
      trustedKeys: [`local:${keyId}`],
    });
    return undefined;
  } catch (err) {
    if (!isSealfigError(err)) throw err;
    return err;
  }
}

const BIG = `id: 12345678901234567890\nneg: -98765432109876543210\npassword: !secret pw-1\n`;
const SMALL = `port: 8080\nratio: 0.5\npassword: !secret pw-2\n`;

describe("record v2: writers, and a changed digit beyond 2^53", () => {
  it("stamp, set and unset write v2; a digit changed beyond double precision is refused", async () => {
    const sealed = (await sealDocument(parseDocument(BIG), { provider, keyId, context: CONTEXT }))
      .document;
    const { document } = await stampDocument(sealed, {
      provider,
      keyId,
      context: CONTEXT,
      generation: 1,
    });
    const file = t.write("config/v2.yaml", document.toString());
    expect(readIntegrityRecord(parseDocument(readFileSync(file)))?.version).toBe(2);
    expect(await loadError("config/v2.yaml")).toBeUndefined();
    let r = await runSealfig(["set", "config/v2.yaml", "extra", "1"], { cwd: t.dir, env });
    expect(r.code, r.stderr).toBe(0);
    r = await runSealfig(["unset", "config/v2.yaml", "extra"], { cwd: t.dir, env });
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/^sealfig_integrity: sealfig-mac:v2:/m);
    expect(readIntegrityRecord(parseDocument(text))?.generation).toBe(3);
    t.write("config/v2.yaml", text.replace("12345678901234567890", "12345678901234567891"));
    const e = await loadError("config/v2.yaml");
    expect(e?.code).toBe("INTEGRITY_INVALID");
    r = await runSealfig(["check", "config/v2.yaml"], { cwd: t.dir, env });
    expect(r.code).toBe(6); // check: problems found
    expect(r.stdout + r.stderr).toContain("INVALID");
  });
});

describe("v1 records now", () => {
  it("a v1 record over a plain integer beyond 2^53 is refused everywhere with INTEGRITY_UNSUPPORTED until stamp --force", async () => {
    const original = await writtenByV1(BIG);
    const changed = original.replace("12345678901234567890", "12345678901234567891");
    for (const [name, text] of [["config/v1big.yaml", original], ["config/v1chg.yaml", changed]]) {
      const file = t.write(name!, text!);
      const e = await loadError(name!);
      expect(e?.code, name).toBe("INTEGRITY_UNSUPPORTED");
      expect(e?.file).toContain(name!);
      expect(e?.line).toBe(1);
      expect(e?.col).toBe(5);
      expect(e?.path).toBe("id");
      expect(e?.hint).toContain("sealfig stamp --force");
      const check = await runSealfig(["check", name!], { cwd: t.dir, env });
      expect(check.code, check.stdout + check.stderr).toBe(6); // check: problems found
      expect(check.stdout + check.stderr).toContain("v1 integrity record cannot cover 2 plain");
      // Write commands refuse it and leave the file as it is; so does stamp without --force.
      for (const argv of [["set", name!, "extra", "1"], ["stamp", name!]]) {
        const r = await runSealfig(argv, { cwd: t.dir, env });
        expect(r.code, `${argv.join(" ")}: ${r.stderr}`).toBe(4);
        expect(r.stderr).toContain("INTEGRITY_UNSUPPORTED");
        expect(readFileSync(file, "utf8")).toBe(text);
      }
    }
    // After review, stamp --force vouches for the file as it is: a v2 record, generation + 1.
    const r = await runSealfig(["stamp", "--force", "config/v1big.yaml"], { cwd: t.dir, env });
    expect(r.code, r.stderr).toBe(0);
    const upgraded = readFileSync(t.path("config/v1big.yaml"), "utf8");
    const record = readIntegrityRecord(parseDocument(upgraded))!;
    expect(record.version).toBe(2);
    expect(record.generation).toBe(4);
    expect(await loadError("config/v1big.yaml")).toBeUndefined();
    t.write(
      "config/v1big.yaml",
      upgraded.replace("-98765432109876543210", "-98765432109876543211"),
    );
    expect((await loadError("config/v1big.yaml"))?.code).toBe("INTEGRITY_INVALID");
  });

  it("a v1 record without such integers verifies as before; the next write makes it v2 with the same integrity data key", async () => {
    const text = await writtenByV1(SMALL, 5);
    t.write("config/v1small.yaml", text);
    expect(await loadError("config/v1small.yaml")).toBeUndefined();
    // …and still catches a change, as before.
    t.write("config/v1bad.yaml", text.replace("port: 8080", "port: 8081"));
    expect((await loadError("config/v1bad.yaml"))?.code).toBe("INTEGRITY_INVALID");
    const before = readIntegrityRecord(parseDocument(text))!;
    const r = await runSealfig(["set", "config/v1small.yaml", "port", "9090"], {
      cwd: t.dir,
      env,
    });
    expect(r.code, r.stderr).toBe(0);
    const after = readIntegrityRecord(
      parseDocument(readFileSync(t.path("config/v1small.yaml"))),
    )!;
    expect(after.version).toBe(2);
    expect(after.generation).toBe(6);
    expect(after.wrappedDek).toEqual(before.wrappedDek);
    expect(await loadError("config/v1small.yaml")).toBeUndefined();
  });
});

describe("values the MAC input could not tell apart are refused", () => {
  it("a key with a lone surrogate is refused by the reader; a string one cannot be stamped", async () => {
    // A key: refused while parsing, before any MAC could be asked for (look-alike keys, issue 19).
    let keyCode: string | undefined;
    try {
      parseDocument('"k\\ud800": 1\n');
    } catch (err) {
      keyCode = isSealfigError(err) ? err.code : String(err);
    }
    expect(["VALUE_INVALID", "YAML_KEY_CONFUSABLE"]).toContain(keyCode);
    for (const yaml of ['a: "x\\udc00"\n']) {
      const doc = parseDocument(yaml);
      let code: string | undefined;
      try {
        await stampDocument(doc, { provider, keyId, context: CONTEXT, generation: 1 });
      } catch (err) {
        code = isSealfigError(err) ? err.code : String(err);
      }
      expect(code, yaml).toBe("VALUE_INVALID");
      for (const v of [1, 2] as const) {
        expect(() => macInput(doc, 1, {}, v), yaml).toThrow(/not valid Unicode/);
      }
    }
  });
});
