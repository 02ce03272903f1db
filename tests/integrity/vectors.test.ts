/**
 * The integrity record v1 vectors (tests/vectors/integrity_v1.json, docs/format.md §9): every
 * positive file verifies to its generation and every negative one fails with its code, on both
 * runtimes; the MAC input of the first file is byte-for-byte the recorded one.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import {
  KeyAllowlist,
  loadConfig,
  LocalKeyProvider,
  macInput,
  parseDocument,
  verifyIntegrity,
} from "../../mod.ts";
import { toHex } from "../../src/crypto/bytes.ts";
import { isSealfigError } from "../../src/errors.ts";
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

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/integrity_v1.json", import.meta.url), "utf8"),
) as Vectors;
const providers = [new LocalKeyProvider({ keys: vectors.keys })];
const trust = KeyAllowlist.of(vectors.keyIds.map((id) => `local:${id}`));

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (!isSealfigError(err)) throw err;
    return err.code;
  }
}

describe("integrity record v1 vectors (tests/vectors/integrity_v1.json)", () => {
  it("macInput() reproduces the recorded MAC input bytes", () => {
    const doc = parseDocument(vectors.macInput.file);
    expect(toHex(macInput(doc, vectors.macInput.generation, vectors.context)))
      .toBe(vectors.macInput.hex);
  });

  it("verifyIntegrity() accepts every positive vector at its generation", async () => {
    expect(vectors.positive.length).toBeGreaterThanOrEqual(5);
    for (const v of vectors.positive) {
      const record = await verifyIntegrity(parseDocument(v.file), {
        providers,
        context: vectors.context,
        trust,
      });
      expect(record?.generation, v.name).toBe(v.generation);
    }
  });

  it("verifyIntegrity() rejects every negative vector with its documented code", async () => {
    expect(vectors.negative.length).toBeGreaterThanOrEqual(15);
    for (const v of vectors.negative) {
      let code: string;
      try {
        const record = await verifyIntegrity(parseDocument(v.file), {
          providers,
          context: v.context ?? vectors.context,
          trust,
        });
        // A reader that pins a minimum generation refuses an older, valid file.
        code = v.minGeneration !== undefined && record!.generation < v.minGeneration
          ? "INTEGRITY_ROLLBACK"
          : "(verified)";
      } catch (err) {
        if (!isSealfigError(err)) throw err;
        code = err.code;
      }
      expect(code, v.name).toBe(v.code);
    }
  });

  it("loadConfig() refuses the rollback vector and loads the positive one", async () => {
    const t = makeTempDir("sealfig-ivec-");
    try {
      const old = vectors.negative.find((v) => v.code === "INTEGRITY_ROLLBACK")!;
      const opts = {
        baseDir: t.dir,
        providers,
        context: vectors.context,
        trustedKeys: vectors.keyIds.map((id) => `local:${id}`),
      };
      t.write("old.yaml", old.file);
      t.write("new.yaml", vectors.positive[0]!.file);
      expect(await codeOf(loadConfig({ ...opts, files: ["old.yaml"], minGeneration: 7 })))
        .toBe("INTEGRITY_ROLLBACK");
      const config = await loadConfig({ ...opts, files: ["new.yaml"], minGeneration: 7 });
      expect((config.db as Record<string, unknown>).password).toBe("hunter3");
      expect(config.sealfig_integrity).toBeUndefined();
    } finally {
      t.cleanup();
    }
  });
});
