/**
 * The integrity record vectors (docs/format.md §9), on both runtimes:
 *
 * - v2 (tests/vectors/integrity_v2.json, what every writer writes): every positive file verifies
 *   to its generation and every negative one fails with its code; the MAC input of the first file
 *   is byte-for-byte the recorded one.
 * - v1 (tests/vectors/integrity_v1.json, unchanged since it was generated): its MAC input and MACs
 *   still mean what they meant (the recorded bytes, every positive MAC matches), and the reader's
 *   one new rule applies on top: a v1 record that verifies over a plain integer beyond ±(2^53−1)
 *   is refused with `INTEGRITY_UNSUPPORTED` (v1 holds only the integer's nearest double).
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import {
  KeyAllowlist,
  parseDocument,
  readIntegrityRecord,
  verifyIntegrity,
} from "../../document.ts";
import { loadConfig, LocalKeyProvider } from "../../mod.ts";
import { integrityContext, macInput } from "../../src/integrity/mac.ts";
import { timingSafeEqual, toHex } from "../../src/crypto/bytes.ts";
import { DataKey } from "../../src/crypto/data_key.ts";
import { isSealfigError, type SealfigError } from "../../src/errors.ts";
import { recordMac, v1Uncovered } from "../../src/integrity/mac.ts";
import type { IntegrityVersion } from "../../src/integrity/record.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

interface Vectors {
  keys: string[];
  keyIds: string[];
  context: Record<string, string>;
  macInput: { file: string; generation: number; hex: string };
  positive: { name: string; file: string; generation: number }[];
  negative: {
    name: string;
    file: string;
    code: string;
    context?: Record<string, string>;
    minGeneration?: number;
  }[];
}

const read = (name: string) =>
  JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), "utf8")) as Vectors;
const v1 = read("integrity_v1.json");
const v2 = read("integrity_v2.json");

async function errorOf(p: Promise<unknown>): Promise<SealfigError | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (!isSealfigError(err)) throw err;
    return err;
  }
}

function setup(vectors: Vectors) {
  const providers = [new LocalKeyProvider({ keys: vectors.keys })];
  const trust = KeyAllowlist.of(vectors.keyIds.map((id) => `local:${id}`));
  /** The reader's verdict: the generation, or the error code (with a pinned minimum). */
  const verdict = async (v: Vectors["negative"][number] | Vectors["positive"][number]) => {
    const ctx = ("context" in v ? v.context : undefined) ?? vectors.context;
    try {
      const record = await verifyIntegrity(parseDocument(v.file), {
        providers,
        context: ctx,
        trust,
      });
      const min = "minGeneration" in v ? v.minGeneration : undefined;
      return min !== undefined && record!.generation < min ? "INTEGRITY_ROLLBACK" : "(verified)";
    } catch (err) {
      if (!isSealfigError(err)) throw err;
      return err.code;
    }
  };
  /** Does the record's MAC match the file under its version's definition (no reader rules)? */
  const macMatches = async (file: string, version: IntegrityVersion, ctx = vectors.context) => {
    const doc = parseDocument(file);
    const record = readIntegrityRecord(doc)!;
    const dek = await DataKey.fromBytes(
      await providers[0]!.decryptDataKey(record.keyId, record.wrappedDek, integrityContext(ctx)),
    );
    try {
      const mac = await recordMac(dek, version, macInput(doc, record.generation, ctx, version));
      return timingSafeEqual(mac, record.mac);
    } finally {
      dek.destroy();
    }
  };
  return { providers, trust, verdict, macMatches };
}

describe("integrity record v2 vectors (tests/vectors/integrity_v2.json)", () => {
  const { verdict, providers } = setup(v2);

  it("macInput() reproduces the recorded MAC input bytes", () => {
    const doc = parseDocument(v2.macInput.file);
    expect(toHex(macInput(doc, v2.macInput.generation, v2.context))).toBe(v2.macInput.hex);
    expect(toHex(macInput(doc, v2.macInput.generation, v2.context, 2))).toBe(v2.macInput.hex);
  });

  it("verifyIntegrity() accepts every positive vector at its generation", async () => {
    expect(v2.positive.length).toBeGreaterThanOrEqual(6);
    for (const v of v2.positive) {
      expect(readIntegrityRecord(parseDocument(v.file))?.version, v.name).toBe(2);
      const record = await verifyIntegrity(parseDocument(v.file), {
        providers,
        context: v2.context,
        trust: setup(v2).trust,
      });
      expect(record?.generation, v.name).toBe(v.generation);
    }
  });

  it("verifyIntegrity() rejects every negative vector with its documented code", async () => {
    expect(v2.negative.length).toBeGreaterThanOrEqual(26);
    for (const v of v2.negative) expect(await verdict(v), v.name).toBe(v.code);
  });

  it("loadConfig() loads big integers exactly and refuses a changed digit and a rollback", async () => {
    const t = makeTempDir("sealfig-ivec2-");
    try {
      const opts = {
        baseDir: t.dir,
        providers,
        context: v2.context,
        trustedKeys: v2.keyIds.map((id) => `local:${id}`),
      };
      const digit = v2.negative.find((v) => v.name.startsWith("plain integer changed beyond"))!;
      const old = v2.negative.find((v) => v.code === "INTEGRITY_ROLLBACK")!;
      t.write("digit.yaml", digit.file);
      t.write("old.yaml", old.file);
      t.write("new.yaml", v2.positive[0]!.file);
      const e = await errorOf(loadConfig({ ...opts, files: ["digit.yaml"] }));
      expect(e?.code).toBe("INTEGRITY_INVALID");
      expect(e?.file).toContain("digit.yaml");
      expect((await errorOf(loadConfig({ ...opts, files: ["old.yaml"], minGeneration: 7 })))?.code)
        .toBe("INTEGRITY_ROLLBACK");
      const config = await loadConfig({ ...opts, files: ["new.yaml"], minGeneration: 7 });
      const service = config.service as Record<string, unknown>;
      expect(service.big).toBe(12345678901234567890n);
      expect(service.big_negative).toBe(-98765432109876543210n);
      expect(service.big_hex).toBe(0xFFFFFFFFFFFFFFFFFFn);
      expect(service.two_53).toBe(9007199254740992n);
      expect(service.max_safe).toBe(9007199254740991);
      expect(service.float_big).toBe(9007199254740992);
      expect((config.db as Record<string, unknown>).password).toBe("hunter3");
      expect(config.sealfig_integrity).toBeUndefined();
    } finally {
      t.cleanup();
    }
  });
});

describe("integrity record v1 vectors (tests/vectors/integrity_v1.json): what they mean now", () => {
  const { verdict, macMatches, providers } = setup(v1);

  it("macInput(…, 1) reproduces the recorded v1 MAC input bytes", () => {
    const doc = parseDocument(v1.macInput.file);
    expect(toHex(macInput(doc, v1.macInput.generation, v1.context, 1))).toBe(v1.macInput.hex);
    // The same file's v2 input differs (label, version byte, and the big integer's digits).
    expect(toHex(macInput(doc, v1.macInput.generation, v1.context))).not.toBe(v1.macInput.hex);
  });

  it("every positive v1 MAC still matches; the reader accepts it unless it holds a plain integer beyond 2^53", async () => {
    expect(v1.positive.length).toBeGreaterThanOrEqual(5);
    let accepted = 0, refused = 0;
    for (const v of v1.positive) {
      expect(readIntegrityRecord(parseDocument(v.file))?.version, v.name).toBe(1);
      expect(await macMatches(v.file, 1), v.name).toBe(true);
      const uncovered = v1Uncovered(parseDocument(v.file));
      if (uncovered.length === 0) {
        expect(await verdict(v), v.name).toBe("(verified)");
        accepted++;
      } else {
        const e = await errorOf(verifyIntegrity(parseDocument(v.file, { file: "v1.yaml" }), {
          providers,
          context: v1.context,
          trust: setup(v1).trust,
        }));
        expect(e?.code, v.name).toBe("INTEGRITY_UNSUPPORTED");
        expect(e?.path).toBe("service.big");
        expect(e?.file).toBe("v1.yaml");
        expect(e?.line).toBe(uncovered[0]!.line);
        expect(e?.hint).toContain("sealfig stamp");
        refused++;
      }
    }
    // The vectors hold both kinds: the empty document, and files with `big: 1234…7890`.
    expect(accepted).toBeGreaterThanOrEqual(1);
    expect(refused).toBeGreaterThanOrEqual(4);
  });

  it("every negative v1 vector keeps its code, except that a verifying file with big integers is INTEGRITY_UNSUPPORTED", async () => {
    expect(v1.negative.length).toBeGreaterThanOrEqual(15);
    for (const v of v1.negative) {
      const wasVerified = v.code === "INTEGRITY_ROLLBACK";
      const want = wasVerified && v1Uncovered(parseDocument(v.file)).length > 0
        ? "INTEGRITY_UNSUPPORTED"
        : v.code;
      expect(await verdict(v), v.name).toBe(want);
    }
  });

  it("a digit changed beyond double precision: the v1 MAC still matches, the reader refuses it (loader and verify)", async () => {
    const changed = v1.positive[0]!.file.replace(
      "big: 12345678901234567890",
      "big: 12345678901234567891",
    );
    expect(changed).not.toBe(v1.positive[0]!.file);
    // The gap: v1's MAC input is the same for both digits…
    expect(await macMatches(changed, 1)).toBe(true);
    // …so the reader refuses the record, at the integer's place.
    expect(await verdict({ name: "changed", file: changed, generation: 7 }))
      .toBe("INTEGRITY_UNSUPPORTED");
    const t = makeTempDir("sealfig-ivec1-");
    try {
      t.write("changed.yaml", changed);
      const e = await errorOf(loadConfig({
        baseDir: t.dir,
        files: ["changed.yaml"],
        providers,
        context: v1.context,
        trustedKeys: v1.keyIds.map((id) => `local:${id}`),
      }));
      expect(e?.code).toBe("INTEGRITY_UNSUPPORTED");
      expect(e?.file).toContain("changed.yaml");
      expect(e?.path).toBe("service.big");
      expect(e?.line).toBeGreaterThan(1);
    } finally {
      t.cleanup();
    }
  });
});
