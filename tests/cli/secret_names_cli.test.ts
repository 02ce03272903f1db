/**
 * The secret-name rules as the CLI applies them (`check`, `encrypt -i`), and `init` refusing to
 * write anything it would not read back.
 */
import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSealfig } from "../_helpers/cli.ts";
import { readRules, ruleFor } from "../../src/rules.ts";

const root = mkdtempSync(join(tmpdir(), "sealfig-names-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const APP = [
  "db:", //                            1
  "  host: db.internal", //            2
  "  DB_PASSWORD: hunter2-canary", //  3
  "api:", //                           4
  "  apiKey: k-canary", //             5
  "  token_url: https://x/token", //   6
  "ci:", //                            7
  "  - GithubToken: ghp-canary", //    8
  "  - pin: '1234'", //                9
  "github_pat: pat-canary", //         10  (plurals and lists: newcomer review)
  "client_secrets:", //                11
  "  - cs1-canary", //                 12
  "  - [cs2-canary]", //               13
  "max_tokens: 1024", //               14
  "",
].join("\n");

async function repo(rulesText?: string) {
  const dir = join(root, `r${n++}`);
  mkdirSync(join(dir, "config"), { recursive: true });
  const env = { SEALFIG_KEY_FILE: join(dir, ".keys"), SEALFIG_KEY: undefined };
  const init = await runSealfig(["init", "--files", "^config/"], { cwd: dir, env });
  expect(init.code).toBe(0);
  if (rulesText !== undefined) {
    const id = /key: (local:lk_[0-9a-f]{16})/.exec(
      readFileSync(join(dir, ".sealfig.yaml"), "utf8"),
    )![1]!;
    writeFileSync(join(dir, ".sealfig.yaml"), rulesText.replace("KEY", id));
  }
  writeFileSync(join(dir, "config", "app.yaml"), APP);
  return { dir, env };
}

/** The `file:line:col path` of each "rules mark this key secret" line of check's output. */
function flagged(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.includes("the rules mark this key secret"))
    .map((l) => l.slice(0, l.lastIndexOf(":")));
}

describe("secret names in check and encrypt", () => {
  it("init writes no secret: regex; check names each secret by file:line:col, encrypt seals exactly those", async () => {
    const { dir, env } = await repo();
    expect(readFileSync(join(dir, ".sealfig.yaml"), "utf8")).not.toMatch(/^\s+secret:/m);
    const r = await runSealfig(["check", "config/app.yaml"], { cwd: dir, env });
    expect(r.code).toBe(6);
    expect(flagged(r.stderr)).toEqual([
      "config/app.yaml:3:16 db.DB_PASSWORD",
      "config/app.yaml:5:11 api.apiKey",
      "config/app.yaml:8:18 ci[0].GithubToken",
      "config/app.yaml:10:13 github_pat",
      "config/app.yaml:12:5 client_secrets[0]",
      "config/app.yaml:13:6 client_secrets[1][0]",
    ]);
    expect(r.stderr).not.toContain("canary");
    // the column is where the value starts
    const lines = APP.split("\n");
    expect(lines[2]!.slice(15)).toBe("hunter2-canary");
    expect(lines[4]!.slice(10)).toBe("k-canary");
    expect(lines[7]!.slice(17)).toBe("ghp-canary");

    const enc = await runSealfig(["encrypt", "-i", "config/app.yaml"], { cwd: dir, env });
    expect(enc.code).toBe(0);
    const sealed = readFileSync(join(dir, "config", "app.yaml"), "utf8");
    expect(sealed).not.toContain("canary");
    expect(sealed).toContain("token_url: https://x/token");
    expect(sealed).toContain("pin: '1234'");
    expect(sealed).toContain("max_tokens: 1024");
    expect(sealed.match(/sealfig:v1:/g)).toHaveLength(6);
    const ok = await runSealfig(["check", "config/app.yaml"], { cwd: dir, env });
    expect([ok.code, ok.stderr]).toEqual([0, ""]);
  });

  it("a rules file from an older init (the old default regex) gains the built-in names", async () => {
    const { dir, env } = await repo(
      "rules:\n  - files: '^config/'\n    key: KEY\n" +
        "    secret: '(password|passwd|token|secret|api_?key|private_?key)$'\n",
    );
    const r = await runSealfig(["check", "config/app.yaml"], { cwd: dir, env });
    expect(flagged(r.stderr)).toHaveLength(6); // the same names as the built-in matcher alone
  });

  it("an explicit regex keeps its meaning, and secret: false turns names off", async () => {
    const { dir, env } = await repo(
      "rules:\n  - files: '^config/'\n    key: KEY\n    secret: '^pin$'\n",
    );
    const r = await runSealfig(["check", "config/app.yaml"], { cwd: dir, env });
    expect(flagged(r.stderr)).toEqual(["config/app.yaml:9:10 ci[1].pin"]);
    writeFileSync(
      join(dir, ".sealfig.yaml"),
      readFileSync(join(dir, ".sealfig.yaml"), "utf8").replace("'^pin$'", "false"),
    );
    const off = await runSealfig(["check", "config/app.yaml"], { cwd: dir, env });
    expect(flagged(off.stderr)).toEqual([]);
  });

  it("a regex matching every name (secret: '.*') never marks the integrity record", async () => {
    const { dir, env } = await repo(
      "rules:\n  - files: '^config/'\n    key: KEY\n    secret: '.*'\n",
    );
    expect((await runSealfig(["encrypt", "-i", "config/app.yaml"], { cwd: dir, env })).code)
      .toBe(0);
    const again = await runSealfig(["encrypt", "-i", "config/app.yaml"], { cwd: dir, env });
    expect([again.code, again.stderr]).toEqual([0, expect.stringContaining("nothing to seal")]);
    const r = await runSealfig(["check", "config/app.yaml"], { cwd: dir, env });
    expect([r.code, r.stderr]).toEqual([0, ""]);
  });
});

describe("sealfig init validates everything before writing", () => {
  const cases: [string, string[], RegExp][] = [
    ["an invalid --secret regex", ["--secret", "(password"], /--secret is not a valid regular/],
    ["an invalid --files regex", ["--files", "[config"], /--files is not a valid regular/],
    ["a reserved context key", ["--context", "sealfig:purpose=x"], /reserved/],
    ["a sealfig:* context key", ["--context", "sealfig:env=x"], /reserved/],
    ["a context key given twice", ["--context", "env=a", "--context", "env=b"], /twice/],
    ["an oversized context", ["--context", `big=${"x".repeat(9000)}`], /too large/],
    ["a malformed local key id", ["--key", "local:mykey"], /local key id/],
    ["a malformed KMS reference", ["--key", "arn:aws:kms:nowhere"], /not a KMS key/],
    ["an unknown key reference", ["--key", "vault:foo"], /not a key reference/],
    ["key material instead of its id", ["--key", "local:sealfig-local-key-v1:QUJD"], /key itself/],
    ["a --dir that does not exist", ["--dir", "no/such/dir"], /not a directory/],
  ];
  for (const [what, flags, message] of cases) {
    it(`refuses ${what}: exit 2, nothing written`, async () => {
      const dir = join(root, `i${n++}`);
      mkdirSync(dir);
      const env = { SEALFIG_KEY_FILE: join(dir, ".keys"), SEALFIG_KEY: undefined };
      const r = await runSealfig(["init", ...flags], { cwd: dir, env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain("QUJD");
      expect(existsSync(join(dir, ".sealfig.yaml"))).toBe(false);
      expect(existsSync(join(dir, ".keys"))).toBe(false);
    });
  }

  it("what init writes reads back as what it was given", async () => {
    const dir = join(root, `i${n++}`);
    mkdirSync(dir);
    const env = { SEALFIG_KEY_FILE: join(dir, ".keys"), SEALFIG_KEY: undefined };
    const r = await runSealfig(
      [
        "init",
        "--key",
        "alias/shop-prod",
        "--context",
        "app=shop: the 'best' #1",
        "--secret",
        "^(pin|otp)$",
      ],
      { cwd: dir, env },
    );
    expect(r.code).toBe(0);
    const rules = await readRules(join(dir, ".sealfig.yaml"));
    const rule = ruleFor(rules, join(dir, "x.yaml"));
    expect(rule.context).toEqual({ app: "shop: the 'best' #1" });
    expect(rule.secret?.test("otp")).toBe(true);
    expect(rule.secret?.test("password")).toBe(false);
    expect(rule.key).toEqual({ providerId: "aws-kms", keyId: "alias/shop-prod" });
  });
});
