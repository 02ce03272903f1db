/**
 * The loader's read stage (issue 16): each file's rules (`.sealfig.yaml`) are read beside the file
 * itself, not after every file has been read and parsed; errors are still reported in a fixed
 * order, a file's own before its rules'. Counts and codes only, never times. A test file of its
 * own: the rules validator is loaded once per isolate, so its count starts at zero here.
 */
import { afterAll, describe, expect, it } from "vitest";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { loadConfigWithReport } from "../../src/config/load_config.ts";
import { isSealfigError } from "../../src/errors.ts";
import { rulesValidatorLoadCount } from "../../src/rules.ts";
import { LocalKeyProvider } from "../../src/keys/local.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const tmp = makeTempDir("sealfig-stages-");
afterAll(() => tmp.cleanup());

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isSealfigError(err)) return err.code;
    throw err;
  }
  return "no error";
}

const provider = new LocalKeyProvider({ keys: [(await LocalKeyProvider.generateKey()).key] });

describe("loader stages: read", () => {
  it("reads a file's rules without waiting for the file: they are read even when the file is missing", async () => {
    expect(rulesValidatorLoadCount()).toBe(0); // fresh isolate: no rules file read yet
    tmp.write("a/.sealfig.yaml", "rules:\n  - files: \\.yaml$\n    context: { env: prod }\n");
    const code = await codeOf(loadConfigWithReport({
      files: [tmp.path("a/missing.yaml")],
      providers: [provider],
      cache: new DekCache(),
    }));
    expect(code).toBe("FILE_NOT_FOUND");
    // Before the read stage, the rules were looked up only once every file had been read and
    // parsed: a missing file meant its rules were never read.
    expect(rulesValidatorLoadCount()).toBe(1);
  });

  it("reports a file's own error before its rules' error, and files in order", async () => {
    tmp.write("b/.sealfig.yaml", "rules: [unclosed\n");
    tmp.write("b/one.yaml", "a: 1\n");
    tmp.write("b/two.yaml", "b: [unclosed\n");
    for (let i = 0; i < 5; i++) {
      // two.yaml's syntax error wins over the rules file's (which both files share), whatever
      // finishes first.
      expect(
        await codeOf(loadConfigWithReport({
          files: [tmp.path("b/one.yaml"), tmp.path("b/two.yaml")],
          providers: [provider],
          cache: new DekCache(),
        })),
      ).toBe("YAML_SYNTAX");
    }
    // Without the file error, the rules' error is the one reported.
    expect(
      await codeOf(loadConfigWithReport({
        files: [tmp.path("b/one.yaml")],
        providers: [provider],
        cache: new DekCache(),
      })),
    ).toBe("RULES_INVALID");
  });
});
