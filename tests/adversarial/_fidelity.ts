/**
 * Value fidelity as a property of the whole pipeline (issue 13): random documents holding random
 * values of every kind — strings with blanks before line breaks, CR and CRLF, Unicode line and
 * paragraph separators, NUL and other controls, look-alikes of numbers, booleans, null, dates and
 * blobs, very long strings; integers of any size; floats with -0.0, .inf, .nan; booleans; null —
 * at the top level, nested, in sequences and in flow maps, go through repeated cycles of
 *
 *   decrypt (the plaintext view) → seal with `previous` (what `encrypt --previous` and an unchanged
 *   `edit` do) → change another key (plain, as `edit` does; sealed, as `set` does) → load,
 *
 * and every value must come back exactly (same type, same value) with the blob of every untouched
 * value byte-identical. Each cycle's file carries an integrity record, removed for the plaintext
 * view by the parsed document: strings that look like record entries are content and survive. The
 * summary line says how many values went through how many cycles and
 * how many changed (the property fails on the first one that does).
 */
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { loadConfig } from "../../src/config/load_config.ts";
import { parseDocument, type SealfigDocument } from "../../src/document/document.ts";
import { decryptDocument, sealDocument } from "../../src/document/seal.ts";
import { setSecret, setValue } from "../../src/document/edit.ts";
import { doubleQuote, sameTypedValue, type TypedValue } from "../../src/document/scalar.ts";
import { spliceStats } from "../../src/document/splice.ts";
import { stripIntegrityLines, stripIntegrityRecord } from "../../src/integrity/record.ts";
import { stampDocument } from "../../src/integrity/verify.ts";
import type { SecretValue } from "../../src/envelope/value_codec.ts";
import type { TempDir } from "../_helpers/tmp_dir.ts";
import { DEEP, noIntegrity, note, tempDir, tried } from "./_collector.ts";
import { CONTEXT, key1, local } from "./_fixture.ts";

/** Cycles each document goes through. */
const CYCLES = 3;
/** Documents per run: each holds 1–8 values. */
const RUNS = DEEP ? 1000 : 40;

const pieces = [
  " ",
  "  ",
  "\t",
  "\n",
  "\r",
  "\r\n",
  " \n",
  "\t\n",
  " \r\n",
  "\u2028",
  "\u2029",
  "\u0085",
  "\u0000",
  "\u0007",
  "\u001b",
  "\u007f",
  "\u00a0",
  "\ufeff",
  "#",
  " #",
  ": ",
  "- ",
  "'",
  '"',
  "\\",
  "|",
  ">",
  "&a",
  "*a",
  "!secret ",
  "%",
  "@",
  "`",
  "{",
  "}",
  "[",
  "]",
  ",",
  "?",
  "...",
  "---",
  "sealfig:v1:",
  // Text that looks like an integrity record entry (it is content, never cut as a record).
  "sealfig_integrity: sealfig-mac:v1:",
  ", sealfig_integrity: sealfig-mac:v1:Zz9}",
  "{x, sealfig_integrity: sealfig-mac:v1:abc}",
  "é",
  "🔐",
  "秘",
  "x",
  "abc",
];

const lookAlikes = [
  "",
  "null",
  "Null",
  "~",
  "true",
  "False",
  "yes",
  "no",
  "on",
  "0",
  "-0",
  "+1",
  "007",
  "0o17",
  "0x1F",
  "1_000",
  "1e3",
  "-1.5e-3",
  ".5",
  "1.",
  ".inf",
  "-.Inf",
  ".nan",
  "2001-12-14",
  "2001-12-14t21:59:43.10-05:00",
  "12:30:45",
  "=",
  "<<",
  "sealfig:v1:AAAA",
  "123456789012345678901234567890",
  "see {x, sealfig_integrity: sealfig-mac:v1:abc}",
  "tok, sealfig_integrity: sealfig-mac:v1:Zz9}",
  "sealfig_integrity: sealfig-mac:v1:AQ",
];

const wellFormed = (s: string) => new TextDecoder().decode(new TextEncoder().encode(s)) === s;

/** Any string a user can write. */
const anyString: fc.Arbitrary<string> = fc.oneof(
  {
    // Lines with blanks before their line breaks (what a literal block keeps, and loses when a
    // splice leaves blanks behind it).
    weight: 3,
    arbitrary: fc.array(
      fc.tuple(
        fc.constantFrom("a", "line", "x y", " lead", ""),
        fc.constantFrom("", " ", "\t", "  "),
        fc.constantFrom("\n", "\n", "\r\n", ""),
      ),
      { minLength: 1, maxLength: 4 },
    ).map((parts) => parts.map((p) => p.join("")).join("")),
  },
  {
    weight: 4,
    arbitrary: fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((a) => a.join("")),
  },
  { weight: 2, arbitrary: fc.constantFrom(...lookAlikes) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }).filter(wellFormed) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 30 }) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...pieces), fc.integer({ min: 200, max: 20_000 }))
      .map(([p, n]) => `long ${p}`.repeat(Math.ceil(n / (p.length + 5)))),
  },
);

/** A typed value of any type. */
const anyTyped: fc.Arbitrary<TypedValue> = fc.oneof(
  { weight: 6, arbitrary: anyString.map((value): TypedValue => ({ value, type: "string" })) },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.integer(),
      fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
      fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
      fc.constantFrom(2n ** 53n, -(2n ** 53n) - 1n, 10n ** 21n),
    ).map((v): TypedValue => ({ value: exactInt(v), type: "integer" })),
  },
  {
    weight: 2,
    arbitrary: fc.oneof(fc.double(), fc.constantFrom(-0, 0.5, NaN, Infinity, -Infinity, 1e21))
      .map((value): TypedValue => ({ value, type: "float" })),
  },
  { weight: 1, arbitrary: fc.boolean().map((value): TypedValue => ({ value, type: "boolean" })) },
  { weight: 1, arbitrary: fc.constant<TypedValue>({ value: null, type: "null" }) },
);

/** Integers as sealfig reads them: a number when safe, else a bigint. */
function exactInt(v: number | bigint): number | bigint {
  const b = BigInt(v);
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(b)
    : b;
}

/** YAML text for a typed value, written by the test (not by sealfig's renderer). */
function yamlText(tv: TypedValue): string {
  const v = tv.value;
  switch (tv.type) {
    case "string":
      return doubleQuote(v as string);
    case "integer":
      return String(v);
    case "float": {
      const n = v as number;
      if (Number.isNaN(n)) return ".nan";
      if (n === Infinity) return ".inf";
      if (n === -Infinity) return "-.inf";
      if (Object.is(n, -0)) return "-0.0";
      const s = String(n);
      return /[.eE]/.test(s) ? s : `${s}.0`;
    }
    default:
      return String(v);
  }
}

/** `record`: the value of a `sealfig_integrity` key in a nested flow map (content, not a record). */
type Place = "top" | "nested" | "item" | "flow" | "record";
/** One value of a generated document: where it goes, its typed value, sealed or not. */
export interface Slot {
  place: Place;
  tv: TypedValue;
  secret: boolean;
  comment: boolean;
}

/** A random {@link Slot}. */
export const slotArb: fc.Arbitrary<Slot> = fc.record({
  place: fc.constantFrom<Place>("top", "top", "nested", "item", "flow", "record"),
  tv: anyTyped,
  plain: fc.boolean(),
  comment: fc.boolean(),
}).map(({ place, tv, plain, comment }) => ({
  place,
  tv,
  comment,
  // A plain string that looks like a blob is read as one, by design: only secrets may.
  secret: !plain || (tv.type === "string" && /^sealfig:v[0-9]+:/.test(tv.value as string)),
}));

/**
 * The document text and, per slot, its path; every top-level key starts with `prefix` (so that
 * the documents of one multi-document file load side by side, tests/adversarial/_multi_doc.ts).
 */
export function buildDocument(
  slots: readonly Slot[],
  prefix = "",
): { text: string; paths: (string | number)[][] } {
  const top: string[] = [];
  const nested: string[] = [];
  const items: string[] = [];
  const flow: string[] = [];
  const paths: (string | number)[][] = [];
  slots.forEach((s, i) => {
    const tag = s.secret ? "!secret " : "";
    const value = `${tag}${yamlText(s.tv)}`;
    const comment = s.comment ? "   # note" : "";
    switch (s.place) {
      case "top":
        top.push(`${prefix}v${i}: ${value}${comment}`);
        paths.push([`${prefix}v${i}`]);
        break;
      case "nested":
        nested.push(`  v${i}: ${value}${comment}`);
        paths.push([`${prefix}group`, `v${i}`]);
        break;
      case "item":
        paths.push([`${prefix}list`, items.length]);
        items.push(`  - ${value}${comment}`);
        break;
      case "flow":
        flow.push(`v${i}: ${value}`);
        paths.push([`${prefix}flow`, `v${i}`]);
        break;
      case "record":
        top.push(`${prefix}r${i}: {k: 1, sealfig_integrity: ${value}}${comment}`);
        paths.push([`${prefix}r${i}`, "sealfig_integrity"]);
        break;
    }
  });
  const text = [
    "# fidelity document",
    `${prefix}counter: 0`,
    "",
    ...top,
    ...(nested.length ? [`${prefix}group:`, ...nested] : []),
    ...(items.length ? [`${prefix}list:`, ...items] : []),
    ...(flow.length ? [`${prefix}flow: {${flow.join(", ")}}`] : []),
    `${prefix}tail: end # last line`,
    "",
  ].join("\n");
  return { text, paths };
}

/** Same type and value (and JavaScript type: a bigint is not a number). */
export function same(a: TypedValue, b: TypedValue): boolean {
  return sameTypedValue(a, b) && typeof a.value === typeof b.value;
}

/** Blob text by path of every sealed value. */
export function blobs(doc: SealfigDocument): Map<string, string> {
  return new Map(
    doc.values().filter((v) => v.kind === "sealed").map((v) => [v.pathText, v.value as string]),
  );
}

export function getIn(data: unknown, path: readonly (string | number)[]): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], data);
}

export function fidelitySuite(): void {
  describe("value fidelity (fast-check)", () => {
    let dir: TempDir;
    beforeAll(() => {
      dir = tempDir("fidelity");
    });

    it(`every value survives ${CYCLES} cycles of decrypt → encrypt --previous → edit/set of another key → load (${RUNS} documents)`, async () => {
      const cache = new DekCache();
      let values = 0;
      let changed = 0;
      const fellBackBefore = spliceStats.fellBack;
      const done = tried("properties", RUNS);
      await fc.assert(
        fc.asyncProperty(fc.array(slotArb, { minLength: 1, maxLength: 8 }), async (slots) => {
          const { text, paths } = buildDocument(slots);
          const plain = parseDocument(text);
          // The test's own text reads as the values it was written from.
          slots.forEach((s, i) => {
            const e = plain.get(paths[i]!)!;
            expect(e.kind).toBe(s.secret ? "secret" : "plain");
            expect(same({ value: e.value, type: e.type! }, s.tv)).toBe(true);
          });
          const seal = (doc: SealfigDocument, previous?: SealfigDocument) =>
            sealDocument(doc, {
              provider: local,
              keyId: key1.id,
              context: CONTEXT,
              cache,
              ...(previous ? { previous } : {}),
            });
          let sealed = (await seal(plain)).document;
          values += slots.length;
          for (let cycle = 1; cycle <= CYCLES; cycle++) {
            const before = blobs(sealed);
            // The file as sealfig writes it, with its integrity record: removing the record (by
            // the parsed document) gives back exactly the text it was added to.
            const stamped = (await stampDocument(sealed, {
              provider: local,
              keyId: key1.id,
              context: CONTEXT,
              generation: cycle,
              cache,
            })).document;
            expect(stripIntegrityRecord(stamped)).toBe(sealed.toString());
            // decrypt → the plaintext view, as a file, record removed as `decrypt` removes it:
            // every value exactly as written.
            const view = parseDocument(stripIntegrityLines(
              (await decryptDocument(stamped, { providers: [local], context: CONTEXT, cache }))
                .document.toString(),
            ));
            expect(view.yaml.has("sealfig_integrity")).toBe(false);
            const lost = slots.filter((s, i) => {
              const e = view.get(paths[i]!);
              return !e || e.kind !== (s.secret ? "secret" : "plain") ||
                !same({ value: e.value, type: e.type! }, s.tv);
            });
            changed += lost.length;
            expect(lost, "values changed by the plaintext view").toEqual([]);
            // encrypt --previous / an unchanged edit: the sealed file, byte for byte.
            const again = await seal(view, sealed);
            expect(again.sealed).toBe(0);
            expect(again.document.toString()).toBe(sealed.toString());
            // edit of another key: only that line changes, every blob stays.
            const edited = await seal(setValue(view, "counter", cycle), sealed);
            expect(edited.sealed).toBe(0);
            expect(blobs(edited.document)).toEqual(before);
            // set of another (sealed) key: every other blob stays.
            const set = await setSecret(edited.document, "extra", `extra-${cycle}`, {
              provider: local,
              keyId: key1.id,
              context: CONTEXT,
              reuseDataKey: { providers: [local], cache },
            });
            const after = blobs(set);
            after.delete("extra");
            const untouched = new Map(before);
            untouched.delete("extra");
            expect(after).toEqual(untouched);
            // The loader gives every value exactly.
            const file = dir.write("fidelity.yaml", set.toString());
            const config = await loadConfig(
              noIntegrity({ files: [file], providers: [local], cache, context: CONTEXT }),
            );
            const wrong = slots.filter((s, i) => {
              const got = getIn(config, paths[i]!) as SecretValue;
              return !same({ value: got, type: s.tv.type }, s.tv);
            });
            changed += wrong.length;
            expect(wrong, "values changed by the loader").toEqual([]);
            expect((config as { counter: number }).counter).toBe(cycle);
            // The next cycle starts from the file as the last write left it.
            sealed = parseDocument(set.toString());
          }
        }),
        { numRuns: RUNS },
      );
      done();
      note(
        "properties",
        `fidelity: ${values} values × ${CYCLES} cycles, ${changed} changed ` +
          `(${spliceStats.fellBack - fellBackBefore} renderings fell back to double quotes)`,
      );
    });
  });
}
