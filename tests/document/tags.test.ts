/**
 * Tags: a core tag applies to any value of its type (`!!float 1` is the float 1, covered by the
 * record); every other tag is YAML_UNSUPPORTED, one code; a core tag on a value it cannot have is
 * YAML_SYNTAX, and no message shows the value.
 */
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { DekCache, parseDocument, stampDocument } from "../../document.ts";
import { loadConfig, LocalKeyProvider } from "../../mod.ts";
import { isSealfigError } from "../../src/errors.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const DEEP = (globalThis as { process?: { env: Record<string, string | undefined> } }).process
  ?.env.SEALFIG_TEST_DEEP === "1";
const t = makeTempDir("sealfig-tags-");
afterAll(() => t.cleanup());
const { id, key } = await LocalKeyProvider.generateKey();
const provider = new LocalKeyProvider({ keys: [key] });

async function stamped(name: string, text: string): Promise<string> {
  const { document } = await stampDocument(parseDocument(text), {
    provider,
    keyId: id,
    generation: 1,
  });
  return t.write(name, document.toBytes());
}
const load = (file: string) =>
  loadConfig({
    files: [file],
    providers: [provider],
    rules: false,
    trustedKeys: [`local:${id}`],
    cache: new DekCache(),
  });

/** Number texts of the YAML 1.2 core schema: integers, decimals, exponents. */
const numberText = fc.oneof(
  fc.integer({ min: -1e9, max: 1e9 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }).map((n) =>
    Object.is(n, -0) ? "-0.0" : String(n)
  ),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: -20, max: 20 })).map(([m, e]) =>
    `${m}e${e}`
  ),
);

describe("tags", () => {
  it("property: !!float N loads as the number N, and the record covers it", async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(numberText, numberText, async (a, b) => {
        const n = runs++;
        const file = await stamped(`f${n}.yaml`, `x: !!float ${a}\ny: 1\n`);
        expect(Object.is((await load(file)).x, Number(a))).toBe(true);
        if (Object.is(Number(a), Number(b))) return; // the same value: nothing to refuse
        // another number in its place: the record refuses the file
        const text = t.read(`f${n}.yaml`).replace(`!!float ${a}`, `!!float ${b}`);
        const tampered = t.write(`t${n}.yaml`, text);
        await expect(load(tampered)).rejects.toMatchObject({ code: "INTEGRITY_INVALID" });
      }),
      { numRuns: DEEP ? 2_000 : 60 },
    );
    expect(runs).toBeGreaterThan(0);
  });

  it("one code for tags sealfig does not read; YAML_SYNTAX for a core tag on a wrong value, never showing it", () => {
    const refused = (text: string) => {
      try {
        parseDocument(text, { file: "t.yaml" });
      } catch (err) {
        if (isSealfigError(err)) return err;
        throw err;
      }
      return undefined;
    };
    for (const tag of ["!custom", "!secert", "!!binary", "!!timestamp", "!<tag:example.com:x>"]) {
      const err = refused(`a: ${tag} canary-v4lue\n`);
      expect([tag, err?.code]).toEqual([tag, "YAML_UNSUPPORTED"]);
      expect([err?.line, err?.col]).toEqual([1, 4]);
      expect(err?.message).not.toContain("canary-v4lue");
    }
    for (
      const [text, tag] of [["a: !!int 1.5\n", "!!int"], ["a: !!float canary-v4lue\n", "!!float"]]
    ) {
      const err = refused(text!);
      expect(err?.code).toBe("YAML_SYNTAX");
      expect(err?.message).toContain(`not a valid ${tag}`);
      expect(err?.message).not.toContain("canary-v4lue");
    }
    for (const ok of ["a: !!float 1\n", "a: !!float .inf\n", "a: !!str 5\n", 'a: !!int "7"\n']) {
      expect(refused(ok)).toBeUndefined();
    }
  });
});
