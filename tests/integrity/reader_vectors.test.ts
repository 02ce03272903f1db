/**
 * The reader vectors of integrity record v1 (tests/vectors/integrity_reader_v1.json,
 * docs/format.md §9.3.1): files a syntax-only reader would accept under the record of another
 * content. Each is refused by the reader with its code at its line and column, by parseDocument
 * and by loadConfig, on both runtimes; the original file verifies and loads.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { KeyAllowlist, parseDocument, verifyIntegrity } from "../../document.ts";
import { loadConfig, LocalKeyProvider } from "../../mod.ts";
import { isSealfigError } from "../../src/errors.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

interface ReaderVectors {
  keys: string[];
  keyIds: string[];
  context: Record<string, string>;
  positive: { file: string; generation: number };
  negative: { name: string; file: string; code: string; line: number; col: number }[];
}

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/integrity_reader_v1.json", import.meta.url), "utf8"),
) as ReaderVectors;
const providers = [new LocalKeyProvider({ keys: vectors.keys })];
const trustedKeys = vectors.keyIds.map((id) => `local:${id}`);

describe("integrity reader vectors (tests/vectors/integrity_reader_v1.json)", () => {
  it("the original file verifies and loads", async () => {
    const record = await verifyIntegrity(parseDocument(vectors.positive.file), {
      providers,
      context: vectors.context,
      trust: KeyAllowlist.of(trustedKeys),
    });
    expect(record?.generation).toBe(vectors.positive.generation);
    const t = makeTempDir("sealfig-rvec-");
    try {
      t.write("ok.yaml", vectors.positive.file);
      const config = await loadConfig({
        files: ["ok.yaml"],
        baseDir: t.dir,
        providers,
        context: vectors.context,
        trustedKeys,
      });
      expect(config).toEqual({
        defaults: { timeout: 5 },
        merged: { timeout: 5, extra: 1 },
        flag: "true",
        count: "1000",
        db: { password: "hunter2" },
      });
    } finally {
      t.cleanup();
    }
  });

  it("every negative file is refused by the reader with its code at its line and column", async () => {
    expect(vectors.negative.length).toBeGreaterThanOrEqual(12);
    const t = makeTempDir("sealfig-rvec-");
    try {
      for (const v of vectors.negative) {
        let err: unknown;
        try {
          parseDocument(v.file, { file: "v.yaml" });
        } catch (e) {
          err = e;
        }
        expect(isSealfigError(err), v.name).toBe(true);
        const e = err as { code: string; line: number; col: number };
        expect([e.code, e.line, e.col], v.name).toEqual([v.code, v.line, v.col]);
        const file = t.write("v.yaml", v.file);
        let code: string | undefined;
        try {
          await loadConfig({ files: [file], providers, context: vectors.context, trustedKeys });
        } catch (e) {
          code = isSealfigError(e) ? e.code : String(e);
        }
        expect(code, v.name).toBe(v.code);
      }
    } finally {
      t.cleanup();
    }
  });
});
