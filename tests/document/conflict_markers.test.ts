/** Unresolved git conflict markers are named as such, at the first marker's line (finding 12). */
import { describe, expect, it } from "vitest";
import { parseDocument } from "../../document.ts";
import { isSealfigError } from "../../src/errors.ts";

function refusal(text: string) {
  try {
    parseDocument(text, { file: "c.yaml" });
  } catch (err) {
    if (isSealfigError(err)) return err;
    throw err;
  }
  return undefined;
}

describe("git conflict markers", () => {
  it("a file left with conflict markers says so, at the first marker", () => {
    const sides = ["<<<<<<< HEAD", "b: 2", "=======", "b: 3", ">>>>>>> other"];
    const cases: [string, number][] = [
      [["a: 1", ...sides, ""].join("\n"), 2],
      [
        ["db:", "  host: h", ...sides.map((l) => (l.startsWith("b") ? `  ${l}` : l)), ""].join(
          "\n",
        ),
        3,
      ],
      [[...sides, "c: 1", ""].join("\n"), 1],
      [["a: 1", "<<<<<<< ours", "=======", ">>>>>>> theirs", ""].join("\n"), 2],
    ];
    for (const [text, line] of cases) {
      const err = refusal(text);
      expect(err?.code).toBe("YAML_SYNTAX");
      expect(err?.message).toContain("unresolved git conflict markers");
      expect(err?.line).toBe(line);
    }
  });

  it("marker-like lines inside a valid file are just text", () => {
    expect(refusal("a: |\n  =======\n  text\nb: 1\n")).toBeUndefined();
  });
});
