/**
 * What an encryption context may be, and where a bad one is reported. The context's encoding is
 * computed once for a context that cannot change (fixedContext, a caller's frozen object), so the
 * checks that used to run per value now also run once, where the context enters: these tests pin
 * that they still refuse the same things, with a typed error that says where the context came from.
 */
import { afterAll, describe, expect, it } from "vitest";
import { decryptValue, DekCache, encryptValue } from "../../document.ts";
import { loadConfig, LocalKeyProvider, SealfigError } from "../../mod.ts";
import { buildAad, contextKey, fixedContext } from "../../src/envelope/aad.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const { id: keyId, key } = await LocalKeyProvider.generateKey();
const provider = new LocalKeyProvider({ keys: [key] });
const t = makeTempDir();
afterAll(() => t.cleanup());

async function failure(p: Promise<unknown> | (() => unknown)): Promise<SealfigError> {
  const err = typeof p === "function"
    ? (() => {
      try {
        p();
        return undefined;
      } catch (e) {
        return e;
      }
    })()
    : await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SealfigError);
  return err as SealfigError;
}

describe("encryption contexts", () => {
  it("a lone surrogate is refused: UTF-8 cannot tell it from U+FFFD, KMS (JSON) can", async () => {
    // Both would encode to the same bytes (an encoder writes U+FFFD for a lone surrogate): the
    // same associated data and DEK cache entry for two contexts that KMS tells apart.
    for (const context of [{ k: "\ud800" }, { k: "a\udfffb" }, { "\udbff": "v" }]) {
      expect((await failure(() => buildAad(new Uint8Array(3), ["a"], context))).code).toBe(
        "OPTION_INVALID",
      );
      expect((await failure(() => contextKey(context))).code).toBe("OPTION_INVALID");
      expect((await failure(() => fixedContext(context))).code).toBe("OPTION_INVALID");
      const err = await failure(encryptValue("v", { provider, keyId, path: "a", context }));
      expect(err.code).toBe("OPTION_INVALID");
      expect(err.message).toContain("lone surrogate");
    }
    // A surrogate pair and U+FFFD itself are well-formed, and stay distinct from each other.
    const pair = { k: "🔐" }, replacement = { k: "\ufffd" };
    expect(contextKey(pair)).not.toBe(contextKey(replacement));
    const blob = await encryptValue("v", { provider, keyId, path: "a", context: replacement });
    expect(await decryptValue(blob, { providers: [provider], path: "a", context: replacement }))
      .toBe("v");
  });

  it("a context that is not an object is OPTION_INVALID (never a TypeError), with the value's location", async () => {
    const blob = await encryptValue("v", { provider, keyId, path: "a", context: {} });
    const proto = Object.create({ app: "shop" }) as object;
    for (const bad of ["prod", 5, true, [], ["a"], new Map([["app", "shop"]]), proto, () => ({})]) {
      const context = bad as unknown as Record<string, string>;
      for (const cache of [undefined, new DekCache()]) {
        const err = await failure(
          decryptValue(blob, {
            providers: [provider],
            path: "a",
            context,
            file: "f.yaml",
            ...(cache ? { cache } : {}),
          }),
        );
        expect(err.code).toBe("OPTION_INVALID");
        expect(err.path).toBe("a");
        expect(err.file).toBe("f.yaml");
      }
      expect((await failure(encryptValue("v", { provider, keyId, path: "a", context }))).code)
        .toBe("OPTION_INVALID");
    }
  });

  it("a bad context entry opened through a cache keeps the value's path and file (the cached path)", async () => {
    const cache = new DekCache();
    const blob = await encryptValue("v", { provider, keyId, path: "a", context: {} });
    expect(await decryptValue(blob, { providers: [provider], path: "a", context: {}, cache })).toBe(
      "v",
    );
    const context = { env: 1 } as unknown as Record<string, string>;
    const err = await failure(
      decryptValue(blob, { providers: [provider], path: "a", context, cache, file: "f.yaml" }),
    );
    expect(err.code).toBe("OPTION_INVALID");
    expect(err.path).toBe("a");
    expect(err.file).toBe("f.yaml");
  });

  it("the loader refuses a bad context naming where it came from: the option, or the rules file", async () => {
    t.write("plain.yaml", "a: 1\n");
    const err = await failure(
      loadConfig({
        files: ["plain.yaml"],
        baseDir: t.dir,
        providers: [provider],
        context: { env: 1 } as unknown as Record<string, string>,
      }),
    );
    expect(err.code).toBe("OPTION_INVALID");
    expect(err.message).toContain("the loader's context option");
    // A rules file's context is checked as the rules file is read: over the size limit, a lone
    // surrogate, a reserved sealfig: key are RULES_INVALID, naming the rules file.
    const pairs = Array.from({ length: 65 }, (_, i) => `      k${i}: v`).join("\n");
    for (
      const [dir, context, reason] of [
        ["r", `\n${pairs}`, "too large"],
        ["r2", ' { a: "\\ud800" }', "lone surrogate"],
        ["r3", " { sealfig:x: y }", "reserved"],
      ]
    ) {
      const rules = t.write(
        `${dir}/.sealfig.yaml`,
        `rules:\n  - files: '\\.yaml$'\n    key: local:${keyId}\n    context:${context}\n`,
      );
      t.write(`${dir}/plain.yaml`, "a: 1\n");
      const bad = await failure(
        loadConfig({ files: [`${dir}/plain.yaml`], baseDir: t.dir, providers: [provider] }),
      );
      expect(bad.code, reason).toBe("RULES_INVALID");
      expect(bad.message).toContain(reason);
      expect(bad.file).toBe(rules);
    }
  });

  it("symbol keys and a __proto__ key are refused, wherever the context comes from", async () => {
    const own = Object.defineProperty({ app: "shop" }, "__proto__", {
      value: "x",
      enumerable: true,
    }) as Record<string, string>;
    for (const context of [own, { [Symbol("s")]: "y", app: "shop" } as Record<string, string>]) {
      expect((await failure(encryptValue("v", { provider, keyId, path: "a", context }))).code)
        .toBe("OPTION_INVALID");
    }
    // A rules file: the schema would drop the key silently, so the reader refuses it.
    const rules = t.write(
      "p/.sealfig.yaml",
      `rules:\n  - files: '\\.yaml$'\n    key: local:${keyId}\n    context: { __proto__: x, app: shop }\n`,
    );
    t.write("p/plain.yaml", "a: 1\n");
    const err = await failure(
      loadConfig({ files: ["p/plain.yaml"], baseDir: t.dir, providers: [provider] }),
    );
    expect(err.code).toBe("RULES_INVALID");
    expect(err.message).toContain("__proto__");
    expect(err.file).toBe(rules);
  });

  it("a bad env.context names env.context as its source", async () => {
    t.write("e.yaml", "a: 1\n");
    const err = await failure(
      loadConfig({
        files: ["e.yaml"],
        baseDir: t.dir,
        providers: [provider],
        env: { prefix: "APP_", vars: {}, context: { env: 5 } as unknown as Record<string, string> },
      }),
    );
    expect(err.code).toBe("OPTION_INVALID");
    expect(err.message).toContain("the loader's env.context option");
  });
});
