/**
 * The README's merge driver lines, verbatim, under real `git merge`: with sealfig installed as a
 * local `node_modules/.bin/sealfig` (here the CLI from the sources, on this test's runtime),
 * branches that add different keys to the same map merge cleanly and the result verifies; without
 * sealfig, git stops with a conflict and the file holds both sides. The packed npm package runs the
 * same scenario installed locally and globally (tests/consumer/run.ts).
 */
import { afterAll, describe, expect, it } from "vitest";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { gitMergeScenario } from "../consumer/git_merge.mjs";
import { cliCommand } from "../_helpers/cli.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const t = makeTempDir("sealfig-gitmerge-");
afterAll(() => t.cleanup());
const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
const [cmd, pre] = cliCommand();
const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;

function env(name: string): Record<string, string | undefined> {
  return {
    ...process.env,
    SEALFIG_KEY_FILE: t.path(`${name}-keys`),
    SEALFIG_KEY: undefined,
    SEALFIG_TRUSTED_KEYS: undefined,
    SEALFIG_KMS_KEY: undefined,
    // npx --no-install looks a missing package up in the registry: tests stay on this machine.
    npm_config_offline: "true",
  };
}

describe("git merge with the README's driver line", () => {
  it("a local install: additions to the same map by two branches merge cleanly, generation max + 1", () => {
    const dir = t.path("local");
    mkdirSync(join(dir, "node_modules", ".bin"), { recursive: true });
    const bin = join(dir, "node_modules", ".bin", "sealfig");
    writeFileSync(bin, `#!/bin/sh\nexec ${[cmd, ...pre].map(quote).join(" ")} "$@"\n`);
    chmodSync(bin, 0o755);
    writeFileSync(join(dir, ".gitignore"), "node_modules/\n");
    const r = gitMergeScenario({
      dir,
      cli: [cmd, ...pre],
      env: env("local"),
      readme,
      driverInstalled: true,
    });
    // base 1; main: two sets (3); other: one set (2): the merge writes max(3, 2) + 1.
    expect(r.generation).toBe(4);
  });

  it("sealfig missing: git stops with a conflict and the file holds both sides, never just ours", () => {
    const dir = t.path("missing");
    mkdirSync(dir, { recursive: true });
    const r = gitMergeScenario({
      dir,
      cli: [cmd, ...pre],
      env: env("missing"),
      readme,
      driverInstalled: false,
    });
    expect(r.conflicted).toBe(true);
  });
});
