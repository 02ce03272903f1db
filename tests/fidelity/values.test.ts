/**
 * Issue 13 at the library level: the checked splice that every value write goes through, the
 * cases that broke it, one integer rule for sealed and plain values, and the names the loader
 * and `run` map between config paths and environment variables.
 */
import { describe, expect, it } from "vitest";
import {
  decryptDocument,
  parseDocument,
  sealDocument,
  setSecret,
  setValue,
  stampDocument,
} from "../../document.ts";
import { loadConfig } from "../../mod.ts";
import { isSealfigError, type SealfigError } from "../../src/errors.ts";
import { spliceValues } from "../../src/document/splice.ts";
import { flattenToEnv } from "../../src/cli/env_flatten.ts";
import { macInput } from "../../src/integrity/mac.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";
import { testKey } from "../document/_fixture.ts";

function thrown(fn: () => unknown): SealfigError {
  try {
    fn();
  } catch (err) {
    if (isSealfigError(err)) return err;
    throw err;
  }
  throw new Error("expected a SealfigError");
}

describe("every value write is parsed back and checked before it is returned", () => {
  const doc = parseDocument("a: 1\nb: two # note\n");
  const at = doc.text.indexOf("two");
  const bEntry = { from: at, to: at + "two".length };
  it("a rendering that reads back differently falls back to its double-quoted form", () => {
    const out = spliceValues(doc, [{
      ...bEntry,
      text: "3",
      path: ["b"],
      expect: { kind: "plain", type: "string", value: "3" },
      fallback: { ...bEntry, text: '"3"' },
    }]);
    expect(out.get("b")!.value).toBe("3");
    expect(out.text).toBe('a: 1\nb: "3" # note\n');
  });

  it("without a faithful rendering nothing is returned: VALUE_NOT_REPRESENTABLE names the path", () => {
    const err = thrown(() =>
      spliceValues(doc, [{
        ...bEntry,
        text: "3",
        path: ["b"],
        expect: { kind: "plain", type: "string", value: "3" },
      }])
    );
    expect(err.code).toBe("VALUE_NOT_REPRESENTABLE");
    expect(err.path).toBe("b");
    expect(err.message).not.toContain('3"');
  });

  it("a write that would alter another value is refused", () => {
    const err = thrown(() =>
      spliceValues(doc, [{
        from: 0,
        to: 0,
        text: "",
        path: ["a"],
        expect: { kind: "plain", type: "integer", value: 2 },
      }], { rewritten: () => parseDocument("a: 2\nb: three\n") })
    );
    expect(err.code).toBe("VALUE_NOT_REPRESENTABLE");
    expect(err.path).toBe("b");
  });
});

describe("the plaintext view of values whose rendering once changed them", () => {
  it("a comment after a blob never becomes part of a literal block", async () => {
    const key = await testKey();
    const opts = { provider: key.provider, keyId: key.keyId };
    const sealed = (await sealDocument(
      parseDocument('pem: !secret "l1 \\nl2\\n"\nnext: 1\n'),
      opts,
    )).document;
    const withComment = parseDocument(sealed.text.replace("\nnext", " # rotate yearly\nnext"));
    const view = (await decryptDocument(withComment, { providers: [key.provider] })).document;
    expect(view.get("pem")!.value).toBe("l1 \nl2\n");
    expect(view.text).toContain("# rotate yearly");
    const again = await sealDocument(parseDocument(view.toString()), {
      ...opts,
      previous: withComment,
    });
    expect(again.sealed).toBe(0);
    expect(again.document.text).toBe(withComment.text);
  });

  it("set keeps exact strings: blanks before line breaks, CR, separators, NUL", async () => {
    const key = await testKey();
    for (const v of ["a \n", "x\r\ny", "p\u2028q\u2029", "\u0000", " lead\ttrail \n\n", "1e3"]) {
      const plain = setValue(parseDocument("k: 1\n"), "k", v);
      expect(plain.get("k")!.value).toBe(v);
      const tagged = setValue(parseDocument("k: 1\n"), "k", v, { secretTag: true });
      expect(tagged.get("k")!.value).toBe(v);
      const sealed = await setSecret(parseDocument(""), "k", v, {
        provider: key.provider,
        keyId: key.keyId,
      });
      const view = (await decryptDocument(sealed, { providers: [key.provider] })).document;
      expect(view.get("k")!.value).toBe(v);
    }
  });
});

describe("integers: a number when safe, a bigint beyond 2^53, sealed or plain", () => {
  it("plain and sealed integers load as the same exact value and type", async () => {
    const key = await testKey();
    const t = makeTempDir("sealfig-int-");
    try {
      const big = "123456789012345678901234567891";
      const sealed = (await sealDocument(
        parseDocument(`plain: ${big}\nsealed: !secret ${big}\nhex: 0x20000000000001\nsmall: 7\n`),
        { provider: key.provider, keyId: key.keyId },
      )).document;
      const config = await loadConfig({
        files: [t.write("i.yaml", sealed.toString())],
        providers: [key.provider],
        integrity: "off",
      });
      expect(config).toEqual({
        plain: BigInt(big),
        sealed: BigInt(big),
        hex: 2n ** 53n + 1n,
        small: 7,
      });
      // Environment overrides follow the same rule.
      const over = await loadConfig({
        files: [t.write("j.yaml", "n: 1\n")],
        providers: [key.provider],
        integrity: "off",
        env: { prefix: "APP_", vars: { APP_N: "9007199254740993" } },
      });
      expect(over).toEqual({ n: 9007199254740993n });
    } finally {
      t.cleanup();
    }
  });

  it("the v1 MAC input of a plain big integer is the text the vectors pin; v2 holds every digit", () => {
    const v1a = macInput(parseDocument("n: 12345678901234567890\n"), 1, {}, 1);
    const v1b = macInput(parseDocument("n: 12345678901234567000\n"), 1, {}, 1);
    // v1 does not see digits beyond double precision (docs/format.md §9.3): pinned, and a v1
    // record over such an integer is refused (INTEGRITY_UNSUPPORTED, tests/integrity).
    expect(v1a).toEqual(v1b);
    const v2a = macInput(parseDocument("n: 12345678901234567890\n"), 1, {});
    const v2b = macInput(parseDocument("n: 12345678901234567000\n"), 1, {});
    expect(v2a).not.toEqual(v2b);
    expect(new TextDecoder().decode(v2a)).toContain("12345678901234567890");
  });
});

describe("names between config paths and environment variables", () => {
  it("run's flattening refuses names that are not POSIX names, naming the path", () => {
    for (
      const [config, path] of [[{ "1abc": "x" }, "1abc"], [{ "": "x" }, '[""]'], [
        { a: { "": 1 } },
        'a[""]',
      ]] as const
    ) {
      const err = thrown(() => flattenToEnv(config));
      expect(err.code).toBe("ENV_INVALID");
      expect(err.path).toBe(path);
    }
    expect(flattenToEnv({ "1abc": "x" }, "APP_")).toEqual({ APP_1ABC: "x" });
    expect(flattenToEnv({ "api-key": 1, maxConnections: 2 })).toEqual({
      API_KEY: "1",
      MAX_CONNECTIONS: "2",
    });
  });

  it("the loader refuses two variables that set one key, naming both", async () => {
    const key = await testKey();
    const t = makeTempDir("sealfig-envname-");
    try {
      const file = t.write("c.yaml", "maxConnections: 1\n");
      const err = await loadConfig({
        files: [file],
        providers: [key.provider],
        integrity: "off",
        env: { prefix: "APP_", vars: { APP_MAX_CONNECTIONS: "2", APP_MAXCONNECTIONS: "3" } },
      }).then(() => undefined, (e: unknown) => e as SealfigError);
      expect(err?.code).toBe("ENV_INVALID");
      expect(err?.message).toContain("APP_MAX_CONNECTIONS");
      expect(err?.message).toContain("APP_MAXCONNECTIONS");
    } finally {
      t.cleanup();
    }
  });

  it("a record can be written into a stamped file after a value is set there (sanity)", async () => {
    const key = await testKey();
    const doc = setValue(parseDocument("a: 1\n...\n"), "b", 2);
    const { document } = await stampDocument(doc, {
      provider: key.provider,
      keyId: key.keyId,
      generation: 1,
    });
    expect(document.text).toMatch(/^a: 1\nb: 2\nsealfig_integrity: \S+\n\.\.\.\n$/);
  });
});

describe("set keeps the file's style: flow collections, no final newline, the record last", () => {
  it("adds to flow maps and sequences in place, and keeps a missing final newline", async () => {
    const key = await testKey();
    const stamp = async (doc: ReturnType<typeof parseDocument>, generation: number) =>
      (await stampDocument(doc, { provider: key.provider, keyId: key.keyId, generation }))
        .document;
    const cases: [string, [string, unknown][], RegExp][] = [
      ["a: 1", [["c", "x y"]], /^a: 1\nc: x y\nsealfig_integrity: R$/],
      ["a: 1\r\nb: two", [["c", 3]], /^a: 1\r\nb: two\r\nc: 3\r\nsealfig_integrity: R$/],
      ["{a: 1}", [["c", "x y"]], /^\{a: 1, c: x y, sealfig_integrity: R\}$/],
      ["{}", [["c", true]], /^\{c: true, sealfig_integrity: R\}$/],
      [
        "a: [1, 2]\nb: {x: 1}\n",
        [["a[2]", 3], ["b.y", "q, r"]],
        /^a: \[1, 2, 3\]\nb: \{x: 1, y: "q, r"\}\nsealfig_integrity: R\n$/,
      ],
    ];
    for (const [text, sets, want] of cases) {
      let doc = await stamp(parseDocument(text), 1);
      for (const [path, value] of sets) doc = setValue(doc, path, value as string);
      doc = await stamp(doc, 2);
      expect(doc.toString().replace(/sealfig-mac:v2:[A-Za-z0-9_-]+/g, "R")).toMatch(want);
    }
  });
});
