/**
 * Multi-document YAML (issue 18) as properties of the whole pipeline:
 *
 * - fidelity: random files of 2–4 `---` documents, each holding random values of every kind (the
 *   generator of tests/adversarial/_fidelity.ts, keys prefixed per document so the documents load
 *   side by side), go through 3 cycles of stamp → decrypt (plaintext view) → seal with `previous`
 *   (byte for byte) → edit of another key in the first document → `set` of a sealed key in the
 *   last → load, and every value must come back exactly, every untouched blob byte-identical;
 * - integrity: the document list of a stamped file reordered (two documents swapped), one dropped
 *   or one duplicated is never accepted (the record covers the list: INTEGRITY_INVALID, or the
 *   reader refuses a record that is no longer in the last document).
 */
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { loadConfig } from "../../src/config/load_config.ts";
import { parseDocument, type SealfigDocument } from "../../src/document/document.ts";
import { decryptDocument, sealDocument } from "../../src/document/seal.ts";
import { setSecret, setValue } from "../../src/document/edit.ts";
import { stripIntegrityLines, stripIntegrityRecord } from "../../src/integrity/record.ts";
import { stampDocument, verifyIntegrity } from "../../src/integrity/verify.ts";
import { KeyAllowlist } from "../../src/keys/allowlist.ts";
import { isSealfigError } from "../../src/errors.ts";
import type { SecretValue } from "../../src/envelope/value_codec.ts";
import type { TempDir } from "../_helpers/tmp_dir.ts";
import { DEEP, note, tempDir, tried } from "./_collector.ts";
import { CONTEXT, key1, local } from "./_fixture.ts";
import { blobs, buildDocument, getIn, same, type Slot, slotArb } from "./_fidelity.ts";

const CYCLES = 3;
/** Files per run (each of 2–4 documents of 1–5 values). */
const RUNS = DEEP ? 300 : 12;
/** Document-list mutations per run. */
const MUTATIONS = DEEP ? 2_000 : 60;

const SEP = "\n---\n";

/** A file of documents: their slots, its text, and per slot the path (document index first). */
const fileArb = fc.record({
  docs: fc.array(fc.array(slotArb, { minLength: 1, maxLength: 5 }), {
    minLength: 2,
    maxLength: 4,
  }),
  end: fc.boolean(),
}).map(({ docs, end }) => {
  const parts = docs.map((slots, d) => buildDocument(slots, `d${d}_`));
  const text = parts.map((p) => p.text.replace(/\n$/, "")).join(SEP) + (end ? "\n...\n" : "\n");
  const paths = parts.flatMap((p, d) => p.paths.map((path) => [d, ...path]));
  const slots: Slot[] = docs.flat();
  return { text, paths, slots, count: docs.length };
});

export function multiDocSuite(): void {
  describe("multi-document YAML (fast-check)", () => {
    let dir: TempDir;
    const cache = new DekCache();
    const trust = KeyAllowlist.of([`local:${key1.id}`]);
    beforeAll(() => {
      dir = tempDir("multidoc");
    });
    const seal = (doc: SealfigDocument, previous?: SealfigDocument) =>
      sealDocument(doc, {
        provider: local,
        keyId: key1.id,
        context: CONTEXT,
        cache,
        ...(previous ? { previous } : {}),
      });
    const stamp = async (doc: SealfigDocument, generation: number) =>
      (await stampDocument(doc, {
        provider: local,
        keyId: key1.id,
        context: CONTEXT,
        generation,
        cache,
      })).document;

    it(`every value of every document survives ${CYCLES} cycles (${RUNS} files)`, async () => {
      let values = 0;
      let documents = 0;
      let changed = 0;
      const done = tried("properties", RUNS);
      await fc.assert(
        fc.asyncProperty(fileArb, async ({ text, paths, slots, count }) => {
          const plain = parseDocument(text);
          expect(plain.documentCount).toBe(count);
          slots.forEach((s, i) => {
            const e = plain.get(paths[i]!)!;
            expect(same({ value: e.value, type: e.type! }, s.tv)).toBe(true);
          });
          let sealed = (await seal(plain)).document;
          values += slots.length;
          documents += count;
          const last = count - 1;
          for (let cycle = 1; cycle <= CYCLES; cycle++) {
            const before = blobs(sealed);
            const stamped = await stamp(sealed, cycle);
            expect(stamped.documentCount).toBe(count);
            expect(stripIntegrityRecord(stamped)).toBe(sealed.toString());
            await verifyIntegrity(stamped, { providers: [local], context: CONTEXT, trust, cache });
            const view = parseDocument(stripIntegrityLines(
              (await decryptDocument(stamped, { providers: [local], context: CONTEXT, cache }))
                .document.toString(),
            ));
            const lost = slots.filter((s, i) => {
              const e = view.get(paths[i]!);
              return !e || e.kind !== (s.secret ? "secret" : "plain") ||
                !same({ value: e.value, type: e.type! }, s.tv);
            });
            changed += lost.length;
            expect(lost, "values changed by the plaintext view").toEqual([]);
            const again = await seal(view, sealed);
            expect(again.sealed).toBe(0);
            expect(again.document.toString()).toBe(sealed.toString());
            const edited = await seal(setValue(view, [0, "d0_counter"], cycle), sealed);
            expect(edited.sealed).toBe(0);
            expect(blobs(edited.document)).toEqual(before);
            const set = await setSecret(edited.document, [last, "extra"], `extra-${cycle}`, {
              provider: local,
              keyId: key1.id,
              context: CONTEXT,
              reuseDataKey: { providers: [local], cache },
            });
            const after = blobs(set);
            after.delete(`[${last}].extra`);
            const untouched = new Map(before);
            untouched.delete(`[${last}].extra`);
            expect(after).toEqual(untouched);
            // The loader merges the documents in order: each document's keys are its own here.
            const file = dir.write("multi.yaml", (await stamp(set, cycle + 1)).toString());
            const config = await loadConfig({
              files: [file],
              providers: [local],
              cache,
              context: CONTEXT,
              trustedKeys: [`local:${key1.id}`],
            });
            const wrong = slots.filter((s, i) => {
              const got = getIn(config, paths[i]!.slice(1)) as SecretValue;
              return !same({ value: got, type: s.tv.type }, s.tv);
            });
            changed += wrong.length;
            expect(wrong, "values changed by the loader").toEqual([]);
            expect((config as Record<string, unknown>)["d0_counter"]).toBe(cycle);
            expect((config as Record<string, unknown>)["extra"]).toBe(`extra-${cycle}`);
            sealed = parseDocument(set.toString());
          }
        }),
        { numRuns: RUNS },
      );
      done();
      note(
        "properties",
        `multi-document fidelity: ${values} values in ${documents} documents × ${CYCLES} ` +
          `cycles, ${changed} changed`,
      );
    });

    it(`reordered, dropped or duplicated documents are never accepted (${MUTATIONS} mutations)`, async () => {
      const tally = { reorder: 0, drop: 0, duplicate: 0 };
      let accepted = 0;
      const done = tried("tampering", MUTATIONS);
      const files: { text: string; count: number }[] = [];
      // A few stamped files, each mutated many ways.
      for (const f of fc.sample(fileArb, DEEP ? 20 : 4)) {
        const sealed = (await seal(parseDocument(f.text))).document;
        files.push({ text: (await stamp(sealed, 1)).toString(), count: f.count });
      }
      const mutation = fc.record({
        file: fc.nat({ max: files.length - 1 }),
        kind: fc.constantFrom("reorder", "drop", "duplicate") as fc.Arbitrary<
          keyof typeof tally
        >,
        a: fc.nat(),
        b: fc.nat(),
      });
      await fc.assert(
        fc.asyncProperty(mutation, async ({ file, kind, a, b }) => {
          const { text, count } = files[file]!;
          // Separators are `---` lines between documents; the values never hold a bare one.
          const docs = text.replace(/\n$/, "").split(SEP);
          expect(docs).toHaveLength(count);
          const i = a % count;
          let j = b % count;
          if (kind === "reorder" && j === i) j = (i + 1) % count;
          const out = [...docs];
          if (kind === "reorder") [out[i], out[j]] = [out[j]!, out[i]!];
          else if (kind === "drop") out.splice(i, 1);
          else out.splice(i, 0, docs[i]!);
          tally[kind]++;
          const mutated = `${out.join(SEP)}\n`;
          expect(mutated).not.toBe(text);
          let ok = false;
          try {
            const doc = parseDocument(mutated);
            ok = (await verifyIntegrity(doc, {
              providers: [local],
              context: CONTEXT,
              trust,
              cache,
            })) !== undefined;
          } catch (err) {
            if (!isSealfigError(err)) throw err;
            expect(err.code).toMatch(/^(INTEGRITY_INVALID|INTEGRITY_MISSING|YAML_UNSUPPORTED)$/);
          }
          if (ok) accepted++;
          expect(ok, `${kind} ${i} ${j} accepted`).toBe(false);
        }),
        { numRuns: MUTATIONS },
      );
      done();
      note(
        "tampering",
        `multi-document list: ${MUTATIONS} mutations (reorder ${tally.reorder}, drop ` +
          `${tally.drop}, duplicate ${tally.duplicate}), ${accepted} accepted`,
      );
    });
  });
}
