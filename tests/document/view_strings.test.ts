/**
 * JSON and .env files are read through a YAML view built from their values; every string value
 * must read back from that view as exactly itself (a value written unquoted into the view that
 * YAML reads otherwise, like `sealfig:v1:` ending in `:`, turned a valid file into YAML_SYNTAX).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseDocument } from "../../document.ts";
import { isSealfigError } from "../../src/errors.ts";

const DEEP = !!process.env.SEALFIG_TEST_DEEP;
// Few, short bodies, so that every prefix × body × suffix combination comes up in quick mode.
const b64 = fc.oneof(
  fc.constantFrom("", "A", "AQEB", "x_-"),
  fc.stringMatching(/^[A-Za-z0-9_-]{0,12}$/),
);
const tricky = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.tuple(
    fc.constantFrom("sealfig:v1:", "sealfig:v2:", "sealfig:v9:", "sealfig:"),
    b64,
    fc.constantFrom("", ":", " ", "#", ": x", "\\n"),
  )
    .map(([a, b, c]) => a + b + c),
);

describe("the YAML view of JSON and .env values", () => {
  it("property: every string value reads back as itself, or the file is refused as a blob error", () => {
    let runs = 0;
    fc.assert(
      fc.property(tricky, (value) => {
        const cases: [string, string][] = [[JSON.stringify({ a: value }), "json"]];
        if (!/[\n\r'"\\$`]/.test(value) && value.trim() === value) {
          cases.push([`A='${value}'\n`, "env"]);
        }
        for (const [text, format] of cases) {
          let doc;
          try {
            doc = parseDocument(text, { format: format as "json" | "env" });
          } catch (err) {
            // A string that reads as a blob is a sealed value; a malformed one is refused as a
            // blob, never as YAML.
            if (!isSealfigError(err)) throw err;
            expect(err.code, `${format} ${JSON.stringify(value)}`).toMatch(
              /^(BLOB_|ENV_SYNTAX|YAML_KEY_CONFUSABLE)/,
            );
            continue;
          }
          const v = doc.values()[0]!;
          expect(v.value, `${format} ${JSON.stringify(value)}`).toBe(value);
        }
        runs++;
      }),
      { numRuns: DEEP ? 5000 : 300 },
    );
    expect(runs).toBeGreaterThan(0);
  });
});
