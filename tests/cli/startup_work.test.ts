/**
 * What a CLI command does at startup, counted (issue 16): no rules file means no rules validator
 * (zod is imported only to read one), a local-key file never imports the AWS SDK, each sealed
 * value's blob is decoded once although the document reader, the key check, the integrity check
 * and the opening each look at it, and a reading command parses its file once (per-verb counts: parses_per_verb.test.ts). `runCli` runs in this process so the module counters can be
 * read; the commands' behaviour as a process is tested in commands.test.ts. Each test file gets
 * its own module instances (isolate) on both runtimes, so the counters start at zero here.
 */
import { afterAll, describe, expect, it } from "vitest";
import process from "node:process";
import { runCli } from "../../src/cli/main.ts";
import type { CliContext } from "../../src/cli/command.ts";
import { rulesValidatorLoadCount } from "../../src/rules.ts";
import { blobDecodeCount } from "../../src/envelope/format.ts";
import { yamlParseCount } from "../../src/document/document.ts";
import { kmsSdkLoadCount } from "../../src/keys/aws_kms_sdk.ts";
import { LocalKeyProvider } from "../../src/keys/local.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";
import { runSealfig } from "../_helpers/cli.ts";

const N = 20;
const tmp = makeTempDir("sealfig-startup-");
const { id, key } = await LocalKeyProvider.generateKey();
let plain = "";
for (let i = 0; i < N; i++) plain += `v${i}: !secret value-${i}\n`;
// Sealed by the CLI as a process, so this isolate has seen none of the blobs before.
const bare = tmp.write("bare/app.yaml", plain);
const sealing = await runSealfig(["encrypt", "-i", bare, "--key", `local:${id}`], {
  env: { SEALFIG_KEY: key },
});
if (sealing.code !== 0) throw new Error(`encrypt failed: ${sealing.stderr}`);
const ruled = tmp.write("ruled/app.yaml", tmp.read("bare/app.yaml"));
tmp.write("ruled/.sealfig.yaml", `rules:\n  - files: app\\.yaml$\n    key: local:${id}\n`);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "", stderr = "";
  const ctx: CliContext = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: () => Promise.resolve(new Uint8Array(0)),
    env: {},
    stderrIsTty: false,
    stdinIsTty: false,
  };
  const code = await runCli(args, ctx);
  return { code, stdout, stderr };
}

const prevKey = process.env.SEALFIG_KEY;
process.env.SEALFIG_KEY = key;
afterAll(() => {
  if (prevKey === undefined) delete process.env.SEALFIG_KEY;
  else process.env.SEALFIG_KEY = prevKey;
  tmp.cleanup();
});

describe("CLI startup work (counts)", () => {
  it("decrypt without a rules file: no rules validator, no AWS SDK, each blob decoded once", async () => {
    expect(rulesValidatorLoadCount()).toBe(0);
    const before = blobDecodeCount();
    const parses = yamlParseCount();
    const r = await cli(["decrypt", bare]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (let i = 0; i < N; i++) expect(r.stdout).toContain(`v${i}: !secret value-${i}\n`);
    expect(rulesValidatorLoadCount()).toBe(0);
    expect(kmsSdkLoadCount()).toBe(0);
    expect(blobDecodeCount() - before).toBe(N);
    // The file once; then one check of what is printed, never skipped for speed: the plaintext
    // view without its record, whose one parse is both the splice's proof that every value reads
    // back exactly (issue 13) and the proof that removing the record changed nothing else.
    expect(yamlParseCount() - parses).toBe(2);
  });

  it("each read command parses the file once (textconv: and checks its output): get, status, check, stamp, textconv", async () => {
    const parsesOf = async (args: string[]) => {
      const before = yamlParseCount();
      const r = await cli(args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(0);
      return yamlParseCount() - before;
    };
    expect(await parsesOf(["get", bare, "v3"])).toBe(1);
    expect(await parsesOf(["status", bare])).toBe(1);
    expect(await parsesOf(["check", bare])).toBe(1);
    expect(await parsesOf(["stamp", bare])).toBe(1);
    expect(await parsesOf(["textconv", bare])).toBe(2); // the file, and the one check above
  });

  it("the rules validator is loaded once, when a rules file is read", async () => {
    const r = await cli(["decrypt", ruled]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("v0: !secret value-0\n");
    expect(rulesValidatorLoadCount()).toBe(1);
    await cli(["decrypt", ruled]);
    expect(rulesValidatorLoadCount()).toBe(1);
  });
});
