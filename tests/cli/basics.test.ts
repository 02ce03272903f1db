import { afterAll, describe, expect, it } from "vitest";
import process from "node:process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSealfig } from "../_helpers/cli.ts";
import { readRules, ruleFor } from "../../src/rules.ts";
import { isSealfigError } from "../../src/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "sealfig-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keyFile = join(dir, "home", "keys");
const env = { SEALFIG_KEY_FILE: keyFile, SEALFIG_KEY: undefined };

describe("sealfig CLI basics", () => {
  it("prints help with every command and exits 0; no command exits 2", async () => {
    const help = await runSealfig(["--help"], { env });
    expect(help.code).toBe(0);
    for (const verb of ["keygen", "init"]) expect(help.stdout).toContain(verb);
    const none = await runSealfig([], { env });
    expect(none.code).toBe(2);
  });

  it("rejects unknown commands and options with exit code 2 and one line", async () => {
    const r = await runSealfig(["frobnicate"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    const o = await runSealfig(["keygen", "--nope"], { env });
    expect(o.code).toBe(2);
    expect(o.stderr).toContain("Unknown option --nope");
  });

  it("keygen creates a 0600 key file and prints the key id", async () => {
    const r = await runSealfig(["keygen"], { env });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^lk_[0-9a-f]{16}$/);
    if (process.platform !== "win32") expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, "utf8")).toContain(r.stdout.trim());
  });

  it("init writes a rules file that the rules reader accepts, and refuses to overwrite it", async () => {
    const r = await runSealfig([
      "init",
      "--dir",
      dir,
      "--context",
      "env=prod",
      "--files",
      "^config/",
    ], { env });
    expect(r.code).toBe(0);
    const rules = await readRules(join(dir, ".sealfig.yaml"));
    const rule = ruleFor(rules, join(dir, "config", "prod.yaml"));
    expect(rule.key?.providerId).toBe("local");
    expect(rule.context).toEqual({ env: "prod" });
    expect(rule.secret?.test("db_password")).toBe(true);
    expect(ruleFor(rules, join(dir, "other.yaml")).key).toBeUndefined();
    const again = await runSealfig(["init", "--dir", dir], { env });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("--force");
  });

  it("a bad rules file is RULES_INVALID with its line, never a crash", async () => {
    const cases: [string, string, number | undefined][] = [
      ["deep", "rules:\n  - " + "[".repeat(100_000) + "\n", 2], // beyond the nesting limit
      ["duplicate", "rules: []\nrules: []\n", 2],
      ["tag", "rules:\n  - files: !regex ^config/\n", 2],
      ["not utf-8", "rules: []\n# \xff\n", undefined],
    ];
    for (const [name, text, line] of cases) {
      const file = join(dir, `rules-${name.replace(/\W/g, "-")}.yaml`);
      writeFileSync(
        file,
        name === "not utf-8" ? Uint8Array.from(text, (c) => c.charCodeAt(0)) : text,
      );
      const err = await readRules(file).then(() => undefined, (e: unknown) => e);
      expect(isSealfigError(err), name).toBe(true);
      if (!isSealfigError(err)) continue;
      expect(err.code, name).toBe("RULES_INVALID");
      expect(err.file, name).toBe(file);
      if (line !== undefined) expect(err.line, name).toBe(line);
    }
  });
});
