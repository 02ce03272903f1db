/**
 * JSON files sealed in place (issue 18), with the guarantees YAML files have:
 *
 * - fidelity: random JSON files (nested objects and arrays, strings with escapes, quotes, unicode,
 *   look-alikes of numbers and blobs, integers, big integers, floats with fractions and exponents,
 *   booleans, null; indentation of 0, 2 or 4 spaces or tabs, spacing around `:` and `,`, CRLF,
 *   BOM, final newline or not) read as exactly the values they were written from and write back
 *   byte for byte; sealing changes only the sealed values' own text; cycles of decrypt → encrypt
 *   --previous → set of another key → set of a secret keep every value exact and every untouched
 *   blob byte-identical; the loader gives every value exactly, with its type;
 * - integrity: random mutations of a sealed, stamped JSON file (characters, members duplicated,
 *   moved or dropped, numbers and strings respelt) either load to the same config or are refused.
 */
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { loadConfig } from "../../src/config/load_config.ts";
import { parseDocument, type SealfigDocument } from "../../src/document/document.ts";
import { type JsonNode, parseJsonText } from "../../src/document/json.ts";
import { decryptDocument, sealDocument } from "../../src/document/seal.ts";
import { setSecret, setValue } from "../../src/document/edit.ts";
import { resolveScalar, sameTypedValue, type TypedValue } from "../../src/document/scalar.ts";
import { stampDocument } from "../../src/integrity/verify.ts";
import { stripIntegrityRecord } from "../../src/integrity/record.ts";
import type { TempDir } from "../_helpers/tmp_dir.ts";
import { codeTally, DEEP, expectTyped, note, tempDir, tried } from "./_collector.ts";
import { CONTEXT, key1, local } from "./_fixture.ts";
import { type TextMutation, textMutations } from "./_text_mutations.ts";

const RUNS = DEEP ? 1000 : 40;
const MUTATION_RUNS = DEEP ? 3000 : 150;
const CYCLES = 3;
/** Deep runs take minutes on a loaded machine; the quick ones keep the default timeout. */
const DEEP_TIMEOUT = DEEP ? 900_000 : undefined;

/** A generated JSON value: scalars carry the text they are written as and their typed value. */
type Gen =
  | { t: "obj"; members: [string, Gen][] }
  | { t: "arr"; items: Gen[] }
  | { t: "leaf"; text: string; tv: TypedValue };

const stringPieces = [
  "a",
  "Z9",
  " ",
  "x y",
  '"',
  "\\",
  "/",
  "\n",
  "\t",
  "\r\n",
  "é",
  "日本",
  "😀",
  "\u2028",
  "\u0085",
  "\u007f",
  "\u0000",
  "\ufeff",
  "sealfig",
  ":",
  "#",
  "- ",
  "true",
  "null",
  "0x1F",
  "1e3",
  "~",
  "&a",
  "*a",
  "!secret",
  "-----BEGIN KEY-----",
];

/** A string written as JSON: JSON.stringify's escapes, or \uXXXX for some characters. */
const stringArb: fc.Arbitrary<Gen> = fc.tuple(
  fc.array(fc.constantFrom(...stringPieces), { maxLength: 5 }).map((p) => p.join("")),
  fc.boolean(),
).map(([s, uEscape]) => {
  let text = JSON.stringify(s);
  if (uEscape) {
    text = text.replace(/[a\u00e9]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
      .replace(/\//g, "\\/");
  }
  return { t: "leaf", text, tv: { value: s, type: "string" } };
});

const numberArb: fc.Arbitrary<Gen> = fc.oneof(
  fc.integer({ min: -100000, max: 100000 }).filter((n) => !Object.is(n, -0)).map((n) => String(n)),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 80n }).map((n) => String(n)),
  fc.bigInt({ min: -(2n ** 70n), max: -(2n ** 53n) }).map((n) => String(n)),
  fc.tuple(fc.integer({ min: -999, max: 999 }), fc.integer({ min: 0, max: 9999 }))
    .map(([a, b]) => `${a}.${b}`),
  fc.constantFrom("1.0", "-0.0", "0.1", "1e3", "1E+2", "2.5e-3", "-1e-7", "1.7976931348623157e308"),
).map((text): Gen => ({ t: "leaf", text, tv: resolveScalar(text, true) }));

const literalArb: fc.Arbitrary<Gen> = fc.constantFrom("true", "false", "null")
  .map((text): Gen => ({ t: "leaf", text, tv: resolveScalar(text, true) }));

const keyArb = fc.constantFrom(
  "host",
  "port",
  "password",
  "db_password",
  "apiKey",
  "token",
  "name",
  "a.b",
  "with space",
  "é",
  "",
  "1",
  "true",
  "sealfig",
  "client_secret",
);

const leafArb = fc.oneof(
  { weight: 3, arbitrary: stringArb },
  { weight: 2, arbitrary: numberArb },
  { weight: 1, arbitrary: literalArb },
);

const { value: valueArb } = fc.letrec<{ value: Gen }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 4, arbitrary: leafArb },
    {
      weight: 1,
      arbitrary: fc.uniqueArray(fc.tuple(keyArb, tie("value")), {
        maxLength: 4,
        selector: ([k]) => k,
      }).map((members): Gen => ({ t: "obj", members })),
    },
    {
      weight: 1,
      arbitrary: fc.array(tie("value"), { maxLength: 3 }).map((items): Gen => ({
        t: "arr",
        items,
      })),
    },
  ),
}));

/** A JSON file: a top-level object and its formatting. */
export interface JsonFile {
  root: [string, Gen][];
  indent: string | undefined;
  colon: string;
  comma: string;
  crlf: boolean;
  bom: boolean;
  finalNewline: boolean;
}

export const jsonFileArb: fc.Arbitrary<JsonFile> = fc.record({
  root: fc.uniqueArray(fc.tuple(keyArb, valueArb), {
    minLength: 1,
    maxLength: 6,
    selector: ([k]) => k,
  }),
  indent: fc.constantFrom(undefined, "  ", "    ", "\t"),
  colon: fc.constantFrom(": ", ":", " : "),
  comma: fc.constantFrom("", " "),
  crlf: fc.boolean(),
  bom: fc.boolean(),
  finalNewline: fc.boolean(),
});

/** The text of a generated file. */
export function renderJsonFile(f: JsonFile): string {
  const nl = (d: number) => f.indent === undefined ? f.comma : `\n${f.indent.repeat(d)}`;
  const render = (g: Gen, d: number): string => {
    if (g.t === "leaf") return g.text;
    if (g.t === "obj") {
      if (g.members.length === 0) return "{}";
      const parts = g.members.map(([k, v]) =>
        `${nl(d + 1)}${JSON.stringify(k)}${f.colon}${render(v, d + 1)}`
      );
      return `{${parts.join(",")}${f.indent === undefined ? "" : nl(d)}}`;
    }
    if (g.items.length === 0) return "[]";
    return `[${g.items.map((v) => `${nl(d + 1)}${render(v, d + 1)}`).join(",")}${
      f.indent === undefined ? "" : nl(d)
    }]`;
  };
  const body = render({ t: "obj", members: f.root }, 0) + (f.finalNewline ? "\n" : "");
  return (f.bom ? "\ufeff" : "") + (f.crlf ? body.replace(/\n/g, "\r\n") : body);
}

/** Every leaf of a generated file by path text, with its typed value. */
function leaves(f: JsonFile): Map<string, TypedValue> {
  const out = new Map<string, TypedValue>();
  const walk = (g: Gen, path: (string | number)[]) => {
    if (g.t === "leaf") {
      out.set(JSON.stringify(path), g.tv);
    } else if (g.t === "obj") {
      for (const [k, v] of g.members) walk(v, [...path, k]);
    } else g.items.forEach((v, i) => walk(v, [...path, i]));
  };
  for (const [k, v] of f.root) walk(v, [k]);
  return out;
}

/** Whether a leaf's name marks it secret (the suite's own rule: names with these words). */
const SECRET = /password|apiKey|token|secret/;
const isSecretPath = (path: readonly (string | number)[]) =>
  path.some((s) => typeof s === "string" && SECRET.test(s));

/** A listed value is the typed value (same type and value). */
function same(
  v: { value: TypedValue["value"]; type: TypedValue["type"] | undefined },
  tv: TypedValue,
) {
  return v.type !== undefined && sameTypedValue({ value: v.value, type: v.type }, tv);
}

/** Blobs of a document by path text. */
function blobs(doc: SealfigDocument): Map<string, string> {
  return new Map(
    doc.values().filter((v) => v.kind === "sealed" && v.pathText !== "sealfig_integrity")
      .map((v) => [v.pathText, String(v.value)]),
  );
}

/** The typed value at `path` in a loaded config (undefined when absent). */
function configLeaf(config: unknown, path: (string | number)[]): unknown {
  let v: unknown = config;
  for (const s of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[s];
  }
  return v;
}

function sameLoaded(got: unknown, want: TypedValue): boolean {
  if (typeof got === "bigint" || typeof want.value === "bigint") {
    return String(got) === String(want.value) && typeof got === typeof want.value;
  }
  return Object.is(got, want.value);
}

/** A stable text of a loaded config (bigints and -0 included). */
function stable(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) => typeof x === "bigint" ? `${x}n` : Object.is(x, -0) ? "-0" : x,
  );
}

/** The sealed text with every leaf's original text put back. */
function unsealText(sealed: string, original: string): string {
  const strip = (t: string) => t.replace(/^\ufeff/, "").replace(/\r\n/g, "\n");
  const a = parseJsonText(strip(sealed));
  const b = parseJsonText(strip(original));
  const edits: { from: number; to: number; text: string }[] = [];
  const walk = (x: JsonNode | undefined, y: JsonNode | undefined) => {
    if (!x || !y) return;
    if (x.t === "object" && y.t === "object") {
      x.members.forEach((m, i) => walk(m.node, y.members[i]?.node));
    } else if (x.t === "array" && y.t === "array") {
      x.items.forEach((it, i) => walk(it.node, y.items[i]?.node));
    } else if (x.t !== "object" && x.t !== "array") {
      edits.push({ from: x.start, to: x.end, text: b.text.slice(y.start, y.end) });
    }
  };
  walk(a.root, b.root);
  let out = "", at = 0;
  for (const e of edits) {
    out += a.text.slice(at, e.from) + e.text;
    at = e.to;
  }
  return out + a.text.slice(at);
}

export function jsonSuite(): void {
  describe("JSON files sealed in place (fast-check)", () => {
    let dir: TempDir;
    beforeAll(() => {
      dir = tempDir("json");
    });

    it(
      `fidelity: every JSON value and byte survives ${CYCLES} cycles (${RUNS} files)`,
      async () => {
        const cache = new DekCache();
        let values = 0, changed = 0, files = 0;
        const done = tried("properties", RUNS);
        await fc.assert(
          fc.asyncProperty(jsonFileArb, async (f) => {
            const text = renderJsonFile(f);
            const plain = parseDocument(text, { file: "x.json" });
            expect(plain.format).toBe("json");
            const want = leaves(f);
            // Read exactly as written (typed as in YAML), written back byte for byte.
            const got = new Map(plain.values().map((v) => [JSON.stringify(v.path), v]));
            for (const [p, tv] of want) {
              const v = got.get(p);
              expect(v !== undefined && same(v, tv), p).toBe(true);
            }
            expect(got.size).toBe(want.size);
            expect(plain.toString()).toBe(text);
            const seal = (doc: SealfigDocument, previous?: SealfigDocument) =>
              sealDocument(doc, {
                provider: local,
                keyId: key1.id,
                context: CONTEXT,
                cache,
                select: (v) => isSecretPath(v.path) || previous?.get(v.path)?.kind === "sealed",
                ...(previous ? { previous } : {}),
              });
            const first = (await seal(plain)).document;
            let sealed = parseDocument(first.toString(), { file: "x.json" });
            // Still JSON; sealing changed only the sealed values' own text.
            expect(() => JSON.parse(sealed.toString().replace(/^\ufeff/, ""))).not.toThrow();
            expect(unsealText(sealed.toString(), text)).toBe(
              text.replace(/^\ufeff/, "").replace(/\r\n/g, "\n"),
            );
            values += want.size;
            files++;
            for (let cycle = 1; cycle <= CYCLES; cycle++) {
              const before = blobs(sealed);
              const decrypted = (await decryptDocument(sealed, {
                providers: [local],
                context: CONTEXT,
                cache,
              })).document;
              const view = parseDocument(stripIntegrityRecord(decrypted), { file: "x.json" });
              const viewValues = new Map(view.values().map((v) => [JSON.stringify(v.path), v]));
              const lost = [...want].filter(([p, tv]) => {
                const v = viewValues.get(p);
                return !(v && same(v, tv));
              });
              changed += lost.length;
              expect(lost.map(([p]) => p), "values changed by the plaintext view").toEqual([]);
              // The decrypted file is the original but for the spelling of the secrets (written
              // back canonically, as JSON.stringify would: a value, not its escapes, is sealed).
              if (cycle === 1) {
                const bare = stripIntegrityRecord(decrypted);
                expect(bare.startsWith("\ufeff")).toBe(f.bom);
                expect(unsealText(bare, text)).toBe(
                  text.replace(/^\ufeff/, "").replace(/\r\n/g, "\n"),
                );
              }
              const again = await seal(view, sealed);
              expect(again.sealed).toBe(0);
              expect(again.document.toString()).toBe(stripIntegrityRecord(sealed));
              const edited = await seal(setValue(view, ["counter"], `c${cycle}`), sealed);
              expect(edited.sealed).toBe(0);
              expect(blobs(edited.document)).toEqual(before);
              const set = await setSecret(edited.document, ["extra_token"], `extra-${cycle}`, {
                provider: local,
                keyId: key1.id,
                context: CONTEXT,
                reuseDataKey: { providers: [local], cache },
              });
              const after = blobs(set);
              after.delete("extra_token");
              const untouched = new Map(before);
              untouched.delete("extra_token");
              expect(after).toEqual(untouched);
              const { document: stamped } = await stampDocument(set, {
                provider: local,
                keyId: key1.id,
                context: CONTEXT,
                generation: cycle,
              });
              const stampedText = stamped.toString();
              expect(() => JSON.parse(stampedText.replace(/^\ufeff/, ""))).not.toThrow();
              const file = dir.write("fidelity.json", stampedText);
              const config = await loadConfig({
                files: [file],
                providers: [local],
                cache,
                context: CONTEXT,
                trustedKeys: [`local:${key1.id}`],
                integrity: "require",
              });
              const wrong = [...want].filter(([p, tv]) =>
                !sameLoaded(configLeaf(config, JSON.parse(p)), tv)
              );
              changed += wrong.length;
              expect(wrong.map(([p]) => p), "values changed by the loader").toEqual([]);
              expect(configLeaf(config, ["counter"])).toBe(`c${cycle}`);
              expect(configLeaf(config, ["extra_token"])).toBe(`extra-${cycle}`);
              sealed = parseDocument(stampedText, { file: "x.json" });
            }
          }),
          { numRuns: RUNS },
        );
        done();
        note(
          "properties",
          `json fidelity: ${values} values in ${files} JSON files × ${CYCLES} cycles, ${changed} changed`,
        );
      },
      DEEP_TIMEOUT,
    );

    const mutations: TextMutation[] = [
      ...textMutations(
        ['"', ",", ":", "{", "}", "[", "]", " ", "\\", "\n", "a", "0", "1", "e"],
        [" ", "\n", ",", '"x": 1,', "0", ".0", "-", "\\u0061", "//"],
      ),
      {
        name: "respell",
        f: (t, at) => {
          // Numbers and strings written another way: 1 -> 1.0, 2.5 -> 25e-1, a -> \u0061.
          const spots = [...t.matchAll(/(?<=[:\[,]\s*)-?[0-9]+(?:\.[0-9]+)?|a/g)];
          if (spots.length === 0) return t;
          const m = spots[at % spots.length]!;
          const s = m[0];
          const r = s === "a"
            ? "\\u0061"
            : s.includes(".")
            ? `${s.replace(".", "")}e-${s.length - s.indexOf(".") - 1}`
            : `${s}.0`;
          return t.slice(0, m.index) + r + t.slice(m.index! + s.length);
        },
      },
    ];

    it(
      `differential: a mutated sealed JSON file that loads to another config never loads (${MUTATION_RUNS} runs)`,
      async () => {
        const done = tried("differential", MUTATION_RUNS);
        const cache = new DekCache();
        const codes: string[] = [];
        let sameAccepted = 0;
        const changedAccepted: string[] = [];
        const load = (text: string) =>
          loadConfig({
            files: [dir.write("diff.json", text)],
            providers: [local],
            cache,
            context: CONTEXT,
            trustedKeys: [`local:${key1.id}`],
            minGeneration: 1,
          });
        await fc.assert(
          fc.asyncProperty(
            jsonFileArb,
            fc.array(fc.tuple(fc.constantFrom(...mutations), fc.nat()), {
              minLength: 1,
              maxLength: 3,
            }),
            async (f, ops) => {
              const sealed =
                (await sealDocument(parseDocument(renderJsonFile(f), { file: "x.json" }), {
                  provider: local,
                  keyId: key1.id,
                  context: CONTEXT,
                  cache,
                  select: (v) => isSecretPath(v.path),
                })).document;
              const original = (await stampDocument(sealed, {
                provider: local,
                keyId: key1.id,
                context: CONTEXT,
                generation: 1,
              })).document.toString();
              const before = stable(await load(original));
              const mutated = ops.reduce((t, [m, at]) => m.f(t, at), original);
              let after: unknown;
              try {
                after = await load(mutated);
              } catch (err) {
                codes.push(expectTyped("differential", err).code);
                return;
              }
              if (stable(after) === before) {
                sameAccepted++;
                return;
              }
              changedAccepted.push(
                `${ops.map(([m]) => m.name).join(" + ")}:\n${original}\n---->\n${mutated}`,
              );
            },
          ),
          { numRuns: MUTATION_RUNS },
        );
        note(
          "differential",
          `json differential: tried ${MUTATION_RUNS}, changed-config accepted ` +
            `${changedAccepted.length} (${sameAccepted} accepted with the same config; refused: ` +
            `${codeTally(codes)})`,
        );
        expect(changedAccepted.slice(0, 3)).toEqual([]);
        expect(sameAccepted + codes.length).toBe(MUTATION_RUNS);
        done();
      },
      DEEP_TIMEOUT,
    );
  });
}
