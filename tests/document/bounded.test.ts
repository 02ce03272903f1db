/**
 * Issue 19, hostile files: parsing is bounded (tokens, nodes, keys per map, nesting) and refused
 * with a typed error before the YAML composer runs; duplicate keys are found by sealfig's own
 * linear walk in every case yaml's quadratic check found them; look-alike keys are refused.
 * Counts only: nothing here measures time.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseDocument as yamlParseDocument } from "yaml";
import { parseDocument } from "../../document.ts";
import { loadConfig } from "../../mod.ts";
import { PARSE_LIMITS } from "../../src/document/document.ts";
import { lookalikeReason } from "../../src/document/lookalike.ts";
import { applyEnv } from "../../src/config/env_overrides.ts";
import type { LeafNode, MapNode } from "../../src/config/tree.ts";
import { isSealfigError, type SealfigError } from "../../src/errors.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const DEEP = (globalThis as { process?: { env: Record<string, string | undefined> } }).process
  ?.env.SEALFIG_TEST_DEEP === "1";

function refusal(text: string, file = "hostile.yaml"): SealfigError {
  try {
    parseDocument(text, { file });
  } catch (err) {
    if (!isSealfigError(err)) throw err;
    return err;
  }
  throw new Error("expected a refusal, the document parsed");
}

/** A block map of `n` distinct keys. */
const blockMap = (n: number) => Array.from({ length: n }, (_, i) => `k${i}: ${i}\n`).join("");
/** A flow map of `n` distinct keys. */
const flowMap = (n: number) => `{${Array.from({ length: n }, (_, i) => `k${i}: 1`).join(", ")}}\n`;
/** A flow sequence of `n` scalars. */
const flowSeq = (n: number) => `[${"1,".repeat(n - 1)}1]\n`;

describe("bounded parsing (PARSE_LIMITS)", () => {
  it("the limits are the documented ones", () => {
    expect(PARSE_LIMITS).toEqual({
      maxTokens: 1_000_000,
      maxNodes: 100_000,
      maxKeysPerMap: 10_000,
      maxDepth: 256,
    });
  });

  it("keys per map: exactly the limit parses, one more is YAML_LIMIT (block and flow maps)", () => {
    const max = PARSE_LIMITS.maxKeysPerMap;
    expect(parseDocument(blockMap(max)).values()).toHaveLength(max);
    expect(parseDocument(flowMap(max)).values()).toHaveLength(max);
    for (
      const [text, line] of [[blockMap(max + 1), 1], [
        `top:\n  inner: ${flowMap(max + 1)}`,
        2,
      ]] as const
    ) {
      const err = refusal(text);
      expect(err.code).toBe("YAML_LIMIT");
      expect(err.message).toContain(`${max + 1} keys`);
      expect(err.file).toBe("hostile.yaml");
      expect(err.line).toBe(line);
    }
  });

  it("total nodes: exactly the limit parses, one more is YAML_LIMIT", () => {
    const max = PARSE_LIMITS.maxNodes;
    // The root map, its key and the sequence are nodes: limit - 3 items make `maxNodes` nodes.
    expect(parseDocument(`a: ${flowSeq(max - 3)}`).values()).toHaveLength(max - 3);
    for (const text of [`a: ${flowSeq(max - 2)}`, `a: ${flowSeq(max * 4)}`]) {
      // (the second is also stopped while its syntax tree is built, before the exact count)
      const err = refusal(text);
      expect(err.code).toBe("YAML_LIMIT");
      expect(err.message).toContain(`More than ${max} YAML nodes`);
    }
  });

  it("nested flow collections within the depth limit, repeated, are refused by the node count", () => {
    const unit = `${"[".repeat(250)}${"]".repeat(250)}`;
    const err = refusal(`[${Array(500).fill(unit).join(",")}]\n`);
    expect(err.code).toBe("YAML_LIMIT");
    // Empty items and empty maps count as nodes too: a file of `- {}` lines is bounded.
    expect(refusal("- {}\n".repeat(PARSE_LIMITS.maxNodes)).code).toBe("YAML_LIMIT");
    expect(refusal("-\n".repeat(PARSE_LIMITS.maxNodes + 1)).code).toBe("YAML_LIMIT");
  });

  it("tokens: the syntax tree stops growing at the token limit (a comment-only file too)", () => {
    const max = PARSE_LIMITS.maxTokens;
    // A comment line is two tokens (comment, newline): max/2 + 1 lines are one too many.
    const comments = refusal("#\n".repeat(max / 2 + 1));
    expect(comments.code).toBe("YAML_LIMIT");
    expect(comments.message).toContain(`More than ${max} YAML tokens`);
    expect(comments.line).toBe(max / 2 + 1);
    // Many documents: each `---` line is tokens too, and only the first document is composed.
    expect(refusal("---\n".repeat(max)).code).toBe("YAML_LIMIT");
  });

  it("nesting stays YAML_SYNTAX at 257 levels, block or flow", () => {
    expect(refusal(`a: ${"[".repeat(257)}${"]".repeat(257)}\n`).code).toBe("YAML_SYNTAX");
    expect(refusal(`${"- ".repeat(257)}x\n`).code).toBe("YAML_SYNTAX");
    expect(parseDocument(`a: ${"[".repeat(255)}1${"]".repeat(255)}\n`).values()).toHaveLength(1);
  });

  it("loadConfig refuses a hostile file the same way, before any provider exists", async () => {
    const t = makeTempDir("sealfig-bounded-");
    try {
      t.write("big.yaml", blockMap(PARSE_LIMITS.maxKeysPerMap + 1));
      const err = await loadConfig({
        files: ["big.yaml"],
        baseDir: t.dir,
        integrity: "off",
        providers: [],
      }).then(() => undefined, (e: unknown) => e);
      expect(isSealfigError(err) && err.code).toBe("YAML_LIMIT");
    } finally {
      t.cleanup();
    }
  });
});

describe("duplicate keys: sealfig's linear walk (yaml's quadratic uniqueKeys is off)", () => {
  it("finds a duplicate after 10,000 keys, at its line", () => {
    const text = blockMap(PARSE_LIMITS.maxKeysPerMap - 1) + "k17: again\n";
    const err = refusal(text);
    expect(err.code).toBe("YAML_DUPLICATE_KEY");
    expect(err.line).toBe(PARSE_LIMITS.maxKeysPerMap);
  });

  it("keys that differ only in quoting or spelling but mean the same are duplicates", () => {
    const pairs: [string, string][] = [
      ["a", '"a"'],
      ["a", "'a'"],
      ["a", "!!str a"],
      ["a", "? a\n"],
      ["1", "0x1"],
      ["1", "1.0"],
      ["1", "0o1"],
      ["1", '"1"'],
      ["true", "True"],
      ["null", "~"],
      ["-0", "0"],
      ['"\\u0041"', "A"],
    ];
    for (const [a, b] of pairs) {
      for (
        const text of [`${a}: 1\n${b.endsWith("\n") ? b : `${b}: 2\n`}`, `{${a}: 1, ${b}: 2}\n`]
      ) {
        if (text.includes("?") && text.startsWith("{")) continue;
        const err = refusal(text);
        expect(err.code, `${JSON.stringify(text)}: ${err.message}`).toBe("YAML_DUPLICATE_KEY");
      }
    }
  });

  it("property: whatever yaml's uniqueKeys rejects as a duplicate, sealfig rejects too", () => {
    const spellings = [
      "a",
      '"a"',
      "'a'",
      "!!str a",
      "1",
      "01",
      "0x1",
      "1.0",
      '"1"',
      "true",
      "True",
      "TRUE",
      "null",
      "~",
      "''",
      "<<",
      '"<<"',
      ".nan",
      ".inf",
      "-0",
      "0",
    ];
    let yamlDuplicates = 0;
    let runs = 0;
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...spellings), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        (keys, flow) => {
          runs++;
          const text = flow
            ? `{${keys.map((k, i) => `${k}: ${i}`).join(", ")}}\n`
            : keys.map((k, i) => `${k}: ${i}\n`).join("");
          const theirs = yamlParseDocument(text, { uniqueKeys: true, merge: true })
            .errors.some((e) => e.code === "DUPLICATE_KEY");
          let ours: string | undefined;
          try {
            parseDocument(text);
          } catch (err) {
            ours = isSealfigError(err) ? err.code : String(err);
          }
          if (theirs) {
            yamlDuplicates++;
            // A quoted `<<` key is refused too (YAML_UNSUPPORTED: docs/format.md §9.3.1), so a
            // file with one fails with whichever the walk meets first; every other file yaml
            // calls a duplicate is one here too.
            const codes = keys.includes('"<<"')
              ? ["YAML_DUPLICATE_KEY", "YAML_UNSUPPORTED"]
              : ["YAML_DUPLICATE_KEY"];
            expect(codes, text).toContain(ours);
          }
        },
      ),
      { numRuns: DEEP ? 5_000 : 300 },
    );
    expect(runs).toBeGreaterThan(0);
    expect(yamlDuplicates).toBeGreaterThan(0);
  });
});

describe("no quadratic work per value", () => {
  // Trimming a value's trailing blanks with an unanchored /[ \t\n]+$/ retried from every blank of
  // a long inner run: 200,000 spaces took ~17 s (a 200 KB file, far inside the size limit). These
  // shapes parse in milliseconds now; under the old code each alone outlasts the test timeout.
  it("values with long inner runs of blanks parse (plain, quoted, block with blank lines)", () => {
    const blanks = " ".repeat(200_000);
    const shapes = [
      `a: x${blanks}y\n`,
      `a: "x${blanks}y"\n`,
      `a: |\n  x\n${"\n".repeat(200_000)}  y\n`,
    ];
    for (const text of shapes) {
      const doc = parseDocument(text);
      expect(doc.values()).toHaveLength(1);
    }
    expect(parseDocument(shapes[0]!).get("a")?.value).toBe(`x${blanks}y`);
  });
});

describe("look-alike keys (YAML_KEY_CONFUSABLE)", () => {
  const refused: [string, string][] = [
    ["pass\u200bword", "U+200B"], // zero-width space
    ["pass\u202eword", "U+202E"], // right-to-left override
    ["pass\u2066word", "U+2066"], // left-to-right isolate
    ["\ufeffpassword", "U+FEFF"], // byte order mark
    ["pass\u00adword", "U+00AD"], // soft hyphen
    ["pass\u00a0word", "U+00A0"], // no-break space
    ["password\ufe0f", "U+FE0F"], // variation selector
    ["cafe\u0301", "normalisation form C"], // e + combining acute
    ["\u212aey", "normalisation form C"], // Kelvin sign
    ["p\u0430ssword", "Cyrillic, Latin"], // Cyrillic a
    ["\u03bcs_timeout", "Greek, Latin"], // Greek mu
  ];

  it("refuses each kind at parse time, at the key's line, without echoing the key", () => {
    for (const [key, why] of refused) {
      const err = refusal(`db:\n  host: h\n  ${JSON.stringify(key)}: x\n`);
      expect(err.code, key).toBe("YAML_KEY_CONFUSABLE");
      expect(err.line).toBe(3);
      expect(err.path).toBe("db");
      expect(err.message).toContain(why);
      expect(err.message).not.toContain(key);
    }
  });

  it("accepts keys of one script, and the Latin + Han/Kana/Hangul mixes of UTS #39", () => {
    for (
      const key of [
        "password",
        "café",
        "пароль",
        "パスワード",
        "名前_name",
        "비밀번호_v2",
        "µs",
        "a b",
        "db-host.1",
      ]
    ) {
      expect(lookalikeReason(key), key).toBeUndefined();
      expect(parseDocument(`${JSON.stringify(key)}: 1\n`).values()).toHaveLength(1);
    }
  });

  it("environment names are matched in ASCII only", () => {
    const origin = { source: "env" as const };
    const file = { source: "file" as const, secret: false };
    const leaf: LeafNode = { kind: "leaf", value: "file", type: "string", origin: file };
    const tree: MapNode = { kind: "map", entries: new Map([["key", leaf]]), origin: file };
    // The Kelvin sign lowercases to "k" with toLowerCase(): it must not reach `key`.
    let err: unknown;
    try {
      applyEnv(tree, "APP_", [{ name: "APP_\u212aEY", value: "env", origin }]);
    } catch (e) {
      err = e;
    }
    expect(isSealfigError(err) && err.code).toBe("ENV_INVALID");
    const ok = applyEnv(tree, "APP_", [{ name: "APP_KEY", value: "env", origin }]);
    expect([...ok.tree.entries.keys()]).toEqual(["key"]);
  });
});
