/**
 * The README's textconv setup through real git: `git log -p`, `git diff`, `git diff --cached` and
 * `git show --textconv` hand textconv temporary copies outside the repository (or the work tree
 * file), from the top level; every side of every diff must come out decrypted, under rules that
 * match by path (`files: ^config/`) with a context, next to a rule with another context.
 */
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { cliCommand, runSealfig } from "../_helpers/cli.ts";

const root = mkdtempSync(join(tmpdir(), "sealfig-gittc-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const BLOB = /sealfig:v1:|sealfig-mac:v1:/;

describe("textconv through real git", () => {
  it("git log -p, git diff, git diff --cached and git show show both sides decrypted", async () => {
    const dir = join(root, "repo");
    mkdirSync(join(dir, "config"), { recursive: true });
    mkdirSync(join(dir, "other"), { recursive: true });
    const env: Record<string, string | undefined> = {
      HOME: join(root, "home"),
      XDG_CONFIG_HOME: join(root, "xdg"),
      SEALFIG_KEY: undefined,
      SEALFIG_KEY_FILE: undefined,
      SEALFIG_TRUSTED_KEYS: undefined,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.invalid",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.invalid",
      GIT_CONFIG_NOSYSTEM: "1",
    };
    const gitEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, NO_COLOR: "1", ...env })) {
      if (v !== undefined) gitEnv[k] = v;
    }
    const git = (...args: string[]) =>
      execFileSync("git", args, { cwd: dir, env: gitEnv, encoding: "utf8" });
    const cli = async (args: string[], input?: string) => {
      const r = await runSealfig(args, { cwd: dir, env, ...(input ? { input } : {}) });
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r;
    };
    git("init", "-q", ".");
    const id = (await cli(["keygen"])).stdout.trim();
    writeFileSync(
      join(dir, ".sealfig.yaml"),
      `rules:\n  - files: ^other/\n    key: local:${id}\n    context: { app: shop, env: staging }\n` +
        `  - files: ^config/\n    key: local:${id}\n    context: { app: shop, env: prod }\n`,
    );
    writeFileSync(join(dir, "config", "prod.yaml"), "db:\n  host: db.prod.internal\n");
    await cli(["set", "config/prod.yaml", "db.password", "-"], "old-pw-1");
    // the README's lines, with this checkout's CLI in place of `npx --no-install sealfig`
    writeFileSync(join(dir, ".gitattributes"), "config/*.yaml diff=sealfig\n");
    const [cmd, pre] = cliCommand();
    git("config", "diff.sealfig.textconv", [cmd, ...pre].map(q).join(" ") + " textconv");
    git("add", "-A");
    git("commit", "-qm", "one");
    await cli(["set", "config/prod.yaml", "db.password", "-"], "new-pw-2");
    git("commit", "-qam", "two");

    const log = git("log", "-p", "-1", "--", "config/prod.yaml");
    expect(log).toContain("-  password: !secret old-pw-1");
    expect(log).toContain("+  password: !secret new-pw-2");
    expect(log).not.toMatch(BLOB);
    const show = git("show", "--textconv", "HEAD~1:config/prod.yaml");
    expect(show).toContain("password: !secret old-pw-1");
    expect(show).not.toMatch(BLOB);

    // a staged change, then a hand edit in the work tree (the record no longer verifies)
    await cli(["set", "config/prod.yaml", "api.token", "-"], "tok-3");
    git("add", "config/prod.yaml");
    const cached = git("diff", "--cached");
    expect(cached).toContain("+  token: !secret tok-3");
    expect(cached).not.toMatch(BLOB);
    writeFileSync(
      join(dir, "config", "prod.yaml"),
      readFileSync(join(dir, "config", "prod.yaml"), "utf8").replace("db.prod.internal", "evil"),
    );
    const work = git("diff");
    expect(work).toContain("-  host: db.prod.internal");
    expect(work).toContain("+  host: evil");
    expect(work).not.toMatch(/^[-+] {2}password/m); // unchanged secrets are no diff lines
    expect(work).toContain(" password: !secret new-pw-2");
    expect(work).not.toMatch(BLOB);
  }, 120_000);
});
