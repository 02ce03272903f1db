/**
 * The integrity record is removed by the parsed document (security review F1): the top-level
 * pair's own source range, in every shape a top level can take, and nothing else. The property
 * over random values is in tests/adversarial/_fidelity.ts (record-like strings, nested
 * `sealfig_integrity` keys, strip(stamp(x)) == x).
 */
import { describe, expect, it } from "vitest";
import { stripIntegrityLines } from "../../src/integrity/record.ts";

const R = "sealfig_integrity: sealfig-mac:v1:AAAA";

describe("stripIntegrityLines removes the top-level record entry and nothing else", () => {
  const cases: [string, string][] = [
    [`a: 1\n${R}\n`, "a: 1\n"],
    [`a: 1\n${R} # c\n# tail\n`, "a: 1\n# tail\n"],
    [`\ufeffa: 1\r\n${R}\r\n`, "\ufeffa: 1\r\n"],
    [`a: 1\n${R}`, "a: 1\n"],
    [`{${R}}\n`, "{}\n"],
    [`{${R}, a: 1}\n`, "{a: 1}\n"],
    [`{a: 1, ${R}}\n`, "{a: 1}\n"],
    [`{a: 1,\n ${R},\n b: "x, ${R}}"}\n`, `{a: 1,\n b: "x, ${R}}"}\n`],
    [`!!str ${R}\na: 1\n`, "a: 1\n"],
    [`? sealfig_integrity\n: sealfig-mac:v1:AAAA\na: 1\n`, "a: 1\n"],
    [`a: |\n  ${R}\n${R}\n`, `a: |\n  ${R}\n`],
    [`a: "x\n  ${R}"\n${R}\n`, `a: "x\n  ${R}"\n`],
    [`n: {k: 1, ${R}}\nnote: "see {x, ${R}}"\n`, `n: {k: 1, ${R}}\nnote: "see {x, ${R}}"\n`],
    [`note: !secret "tok, ${R}}"\n${R}\n`, `note: !secret "tok, ${R}}"\n`],
    // Not a document sealfig reads: nothing to locate, the text stays as it is.
    [`a: [1\n${R}\n`, `a: [1\n${R}\n`],
  ];
  it("in every top-level shape; record-like text inside values stays", () => {
    for (const [input, want] of cases) {
      expect(stripIntegrityLines(input), JSON.stringify(input)).toBe(want);
    }
  });
});
