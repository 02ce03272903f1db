/**
 * Writes that must leave a file every reader accepts (security review F8, F9, F4):
 * - a plain value that starts like a blob is refused by `setValue` (it would read as a sealed,
 *   malformed value);
 * - a new key is added to a block map whatever its first entry looks like (tagged, anchored,
 *   explicit `? key`), nested or not;
 * - map keys and path segments must be well-formed Unicode (a lone surrogate is refused at parse
 *   time, with file:line:col), since the MAC and the AAD encode text as UTF-8.
 * Inputs vary: fast-check properties (more runs with SEALFIG_TEST_DEEP=1).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseDocument, setValue } from "../../document.ts";
import { isSealfigError } from "../../src/errors.ts";

const DEEP = typeof process !== "undefined" && process.env.SEALFIG_TEST_DEEP === "1";
const RUNS = DEEP ? 2000 : 100;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (isSealfigError(err)) return err.code;
    throw err;
  }
}

describe("setValue: a plain value never reads back as something else", () => {
  it("refuses every plain string that starts like a blob, accepts it tagged !secret", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 99 }),
        fc.string({ unit: fc.constantFrom(..."AZaz09_-=:. x"), maxLength: 40 }),
        (version, rest) => {
          const value = `sealfig:v${version}:${rest}`;
          const doc = parseDocument("a: 1\n", { file: "h.yaml" });
          expect(codeOf(() => setValue(doc, "note", value))).toBe("VALUE_NOT_REPRESENTABLE");
          const tagged = setValue(doc, "note", value, { secretTag: true });
          expect(tagged.get("note")?.kind).toBe("secret");
          expect(tagged.get("note")?.value).toBe(value);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("a string that only contains a blob-like text stays plain and reads back", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }).filter((s) => s.length > 0), (lead) => {
        fc.pre(!/^sealfig:v[0-9]+:/.test(lead + "sealfig:v1:AAAA"));
        const value = `${lead}sealfig:v1:AAAA`;
        const wellFormed = new TextDecoder().decode(new TextEncoder().encode(value)) === value;
        fc.pre(wellFormed);
        const doc = setValue(parseDocument("a: 1\n"), "note", value);
        expect(doc.get("note")?.kind).toBe("plain");
        expect(doc.get("note")?.value).toBe(value);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("setValue adds a key to a block map whatever its first entry looks like", () => {
  const firsts = fc.constantFrom(
    "a: 1",
    "!!str a: 1",
    "&k a: 1",
    "&k !!str a: 1",
    "!!str &k a: 1",
    "? a\n@: 1",
    "? !!str a\n@: 1",
    '"a": 1',
    "'a': 1",
  );
  it("at the top level, nested under a key, and in a sequence item", () => {
    fc.assert(
      fc.property(
        firsts,
        fc.constantFrom("top", "nested", "item"),
        fc.integer({ min: 1, max: 4 }),
        (first, place, indent) => {
          const pad = " ".repeat(indent);
          const lines = (at: string) => first.replaceAll("@", at).split("\n");
          let text: string, path: string[] | (string | number)[];
          if (place === "top") {
            text = lines("").join("\n") + "\nb: 2\n";
            path = ["newkey"];
          } else if (place === "nested") {
            text = "db:\n" + lines(pad).map((l, i) => (i === 0 ? pad + l : l)).join("\n") +
              `\n${pad}b: 2\n`;
            path = ["db", "newkey"];
          } else {
            const inner = " ".repeat(2);
            text = "list:\n- " +
              lines(inner).join("\n") + `\n${inner}b: 2\n`;
            path = ["list", 0, "newkey"];
          }
          const doc = parseDocument(text, { file: "m.yaml" });
          const before = doc.values().map((v) => [v.pathText, v.value]);
          const out = setValue(doc, path, "v");
          expect(out.get(path)?.value).toBe("v");
          const again = parseDocument(out.toString());
          expect(
            again.values().map((v) => [v.pathText, v.value]).filter(([p]) =>
              !String(p).endsWith("newkey")
            ),
          ).toEqual(before);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("map keys and path segments must be well-formed Unicode", () => {
  const lone = fc.constantFrom("\\uD800", "\\uDBFF", "\\uDC00", "\\uDFFF", "\\uDC00\\uD800");
  it("a key holding a lone surrogate is YAML_KEY_CONFUSABLE at its line and column, anywhere", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom("a", "b", "é", "秘", "\\u00e9"), maxLength: 4 }),
        lone,
        fc.string({ unit: fc.constantFrom("a", "z", "🔐"), maxLength: 3 }),
        fc.constantFrom("top", "nested", "flow", "item"),
        (before, surrogate, after, place) => {
          const key = `"${before}${surrogate}${after}"`;
          const text = {
            top: `ok: 1\n${key}: v\n`,
            nested: `ok: 1\ndb:\n  x: 1\n  ${key}: v\n`,
            flow: `ok: 1\ndb: {x: 1, ${key}: v}\n`,
            item: `ok: 1\nlist:\n  - ${key}: v\n`,
          }[place];
          let err: unknown;
          try {
            parseDocument(text, { file: "u.yaml" });
          } catch (e) {
            err = e;
          }
          expect(isSealfigError(err) && err.code).toBe("YAML_KEY_CONFUSABLE");
          const e = err as { file?: string; line?: number; col?: number };
          expect(e.file).toBe("u.yaml");
          expect(e.line).toBe(text.split("\n").findIndex((l) => l.includes(key)) + 1);
          expect(e.col).toBe(text.split("\n")[e.line! - 1]!.indexOf(key) + 1);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("the same keys with their surrogates paired, or as U+FFFD, are accepted", () => {
    const doc = parseDocument('db: {"\\uFFFD": v, "\\uD83D\\uDD10": w}\n');
    expect(doc.values().map((v) => v.pathText).length).toBe(2);
  });

  it("a path segment with a lone surrogate is PATH_INVALID (text and segment paths)", () => {
    fc.assert(
      fc.property(fc.constantFrom("\uD800", "\uDFFF", "a\uDC00b"), (seg) => {
        const doc = parseDocument("a: 1\n");
        expect(codeOf(() => setValue(doc, ["db", seg], "v"))).toBe("PATH_INVALID");
        expect(codeOf(() => setValue(doc, `db[${JSON.stringify(seg)}]`, "v"))).toBe(
          "PATH_INVALID",
        );
        expect(codeOf(() => doc.get(["db", seg]))).toBe("PATH_INVALID");
      }),
    );
  });
});
