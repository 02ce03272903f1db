/**
 * The committed several-key vectors (tests/vectors/v2_multikey.json, docs/format.md §11.3): every
 * positive vector opens with each of its keys alone, the v1 → v2 re-encoding keeps the value's
 * bytes, the stamped file verifies and loads under each key alone, and every negative vector fails
 * with its documented code.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { decryptValue, KeyAllowlist, parseBlob } from "../../document.ts";
import { LocalKeyProvider, SealfigError } from "../../mod.ts";
import { parseDocument } from "../../src/document/document.ts";
import { verifyIntegrity } from "../../src/integrity/verify.ts";
import { openDocument } from "../../src/document/seal.ts";
import { decodeVectorValue } from "../../scripts/_vectors.ts";

interface Vectors {
  keys: string[];
  keyIds: string[];
  context: Record<string, string>;
  positive: {
    path: string;
    type: string;
    value: string | number | boolean | null;
    keys: number[];
    blob: string;
  }[];
  rewrap: { path: string; type: string; value: string; v1: string; v2: string };
  file: { text: string; opensWith: number[] };
  negative: { name: string; blob: string; path: string; code: string }[];
  fileNegative: { name: string; text: string; code: string }[];
}

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/v2_multikey.json", import.meta.url), "utf8"),
) as Vectors;
const only = (i: number) => new LocalKeyProvider({ keys: [vectors.keys[i]!] });
const allKeys = new LocalKeyProvider({ keys: vectors.keys });

const expected = decodeVectorValue;

describe("several-key vectors (tests/vectors/v2_multikey.json)", () => {
  it("has the documented fixed key ids", async () => {
    for (const [i, k] of vectors.keys.entries()) {
      expect(await LocalKeyProvider.keyIdOf(k)).toBe(vectors.keyIds[i]);
    }
  });

  it("every positive vector opens with each of its keys alone", async () => {
    expect(vectors.positive.length).toBeGreaterThanOrEqual(18);
    let opened = 0;
    for (const v of vectors.positive) {
      expect(v.blob.startsWith("sealfig:v2:")).toBe(true);
      expect(parseBlob(v.blob).slots.map((s) => s.keyId)).toEqual(
        v.keys.map((i) => vectors.keyIds[i]),
      );
      for (const i of v.keys) {
        const out = await decryptValue(v.blob, {
          providers: [only(i)],
          path: v.path,
          context: vectors.context,
        });
        expect(Object.is(out, expected(v)) || out === expected(v), `${v.path} key ${i}`).toBe(
          true,
        );
        opened++;
      }
    }
    expect(opened).toBe(vectors.positive.reduce((n, v) => n + v.keys.length, 0));
  });

  it("v1 → v2 (keys added) keeps salt, IV, commitment and ciphertext; both open", async () => {
    const { v1, v2, path } = vectors.rewrap;
    const a = parseBlob(v1), b = parseBlob(v2);
    expect(b.boundHeader).toEqual(a.boundHeader);
    expect(b.ciphertext).toEqual(a.ciphertext);
    for (const [blob, keys] of [[v1, [0]], [v2, [0, 1, 2]]] as const) {
      for (const i of keys) {
        expect(await decryptValue(blob, { providers: [only(i)], path, context: vectors.context }))
          .toBe(vectors.rewrap.value);
      }
    }
  });

  it("the stamped file (v3 record) verifies and opens under each key alone", async () => {
    expect(vectors.file.text).toContain("sealfig_integrity: sealfig-mac:v3:");
    for (const i of vectors.file.opensWith) {
      const doc = parseDocument(vectors.file.text);
      const opts = {
        providers: [only(i)],
        context: vectors.context,
        trust: KeyAllowlist.of([`local:${vectors.keyIds[i]}`]),
      };
      const record = await verifyIntegrity(doc, opts);
      expect(record?.slots?.length).toBe(3);
      const values = await openDocument(doc, { providers: [only(i)], context: vectors.context });
      expect([...values.values()]).toContain("hunter2");
    }
  });

  it("the stamped file under another context: CONTEXT_MISMATCH, as for a one-key record", async () => {
    const err = await verifyIntegrity(parseDocument(vectors.file.text), {
      providers: [allKeys],
      context: { ...vectors.context, env: "prod" },
      trust: KeyAllowlist.of(vectors.keyIds.map((id) => `local:${id}`)),
    }).then(() => undefined, (e: unknown) => e);
    expect((err as SealfigError).code).toBe("CONTEXT_MISMATCH");
  });

  it("every negative vector fails with its documented code", async () => {
    expect(vectors.negative.length).toBeGreaterThanOrEqual(8);
    for (const v of vectors.negative) {
      const err = await decryptValue(v.blob, {
        providers: [allKeys],
        path: v.path,
        context: vectors.context,
      }).then(() => undefined, (e: unknown) => e);
      expect(err, v.name).toBeInstanceOf(SealfigError);
      expect((err as SealfigError).code, v.name).toBe(v.code);
    }
    for (const v of vectors.fileNegative) {
      const err = await verifyIntegrity(parseDocument(v.text), {
        providers: [allKeys],
        context: vectors.context,
        trust: KeyAllowlist.of(vectors.keyIds.map((id) => `local:${id}`)),
      }).then(() => undefined, (e: unknown) => e);
      expect((err as SealfigError).code, v.name).toBe(v.code);
    }
  });
});
