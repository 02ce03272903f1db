/**
 * Claims the README and `--help` make, pinned against the code: the exit-code table, the IAM
 * permissions `set` and `check` need, `keygen --help`, `dotenv` without a prefix.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runSealfig } from "../_helpers/cli.ts";
import { ExitCode, exitCodeFor } from "../../src/cli/exit_codes.ts";
import { ErrorCode, isSealfigError } from "../../src/errors.ts";
import { loadConfig } from "../../src/config/load_config.ts";
import { startKmsServer } from "../../src/kms_server/server.ts";
import type { KmsServer } from "../../src/kms_server/server.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
const root = mkdtempSync(join(tmpdir(), "sealfig-claims-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("README: exit codes", () => {
  it("the table lists exactly the codes of src/cli/exit_codes.ts", () => {
    const section = readme.slice(readme.indexOf("### Exit codes"));
    const table = section.slice(0, section.indexOf("\n\n", section.indexOf("| Code")));
    const documented = [...table.matchAll(/^\| (\d+)\s+\|/gm)].map((m) => Number(m[1]));
    expect(documented).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
  });

  it("each error code exits as its README row says", () => {
    const row = (code: number) =>
      new RegExp(`^\\| ${code}\\s+\\|(.*)$`, "m").exec(readme)?.[1] ?? "";
    expect(exitCodeFor("KEY_UNTRUSTED")).toBe(ExitCode.DECRYPT);
    expect(row(4)).toContain("untrusted key");
    expect(exitCodeFor("INTEGRITY_INVALID")).toBe(ExitCode.DECRYPT);
    expect(exitCodeFor("KEY_FILE_PERMISSIONS")).toBe(ExitCode.KEY);
    expect(row(5)).toContain("key file permissions");
    expect(exitCodeFor("KMS_ACCESS_DENIED")).toBe(ExitCode.KEY);
    expect(exitCodeFor("RULES_INVALID")).toBe(ExitCode.INPUT);
    expect(row(3)).toContain("invalid rules file");
    expect(exitCodeFor("CONFIG_INVALID")).toBe(ExitCode.SCHEMA);
    // every code maps to a documented exit code
    for (const code of Object.values(ErrorCode)) {
      expect(Object.values(ExitCode)).toContain(exitCodeFor(code));
    }
  });
});

describe("--help claims", () => {
  it("keygen --help names every place the key file can be", async () => {
    const r = await runSealfig(["keygen", "--help"]);
    expect(r.code).toBe(0);
    for (const s of ["SEALFIG_KEY_FILE", "XDG_CONFIG_HOME", "~/.config/sealfig/keys", "0600"]) {
      expect(r.stdout).toContain(s);
    }
  });

  it("keygen honours XDG_CONFIG_HOME as its help says", async () => {
    const dir = join(root, "xdg");
    mkdirSync(dir);
    const r = await runSealfig(["keygen"], {
      env: { XDG_CONFIG_HOME: dir, SEALFIG_KEY_FILE: undefined, SEALFIG_KEY: undefined },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "sealfig", "keys"), "utf8")).toContain(r.stdout.trim());
  });
});

describe("loader: dotenv needs env.prefix", () => {
  it("dotenv without env is OPTION_INVALID, not a silently unused .env", async () => {
    const dir = join(root, "dotenv");
    mkdirSync(dir);
    writeFileSync(join(dir, "base.yaml"), "level: info\n");
    writeFileSync(join(dir, ".env"), "APP_LEVEL=debug\n");
    const err = await loadConfig({
      files: [{ path: "base.yaml", integrity: "off" }],
      baseDir: dir,
      dotenv: true,
    }).catch((e: unknown) => e);
    expect(isSealfigError(err, "OPTION_INVALID")).toBe(true);
    expect((err as Error).message).toContain("env");
    const ok = await loadConfig({
      files: [{ path: "base.yaml", integrity: "off" }],
      baseDir: dir,
      dotenv: true,
      env: { prefix: "APP_", vars: {} },
    });
    expect(ok).toEqual({ level: "debug" });
  });
});

describe("README: the KMS permissions set and check need", () => {
  let kms: KmsServer;
  beforeAll(async () => {
    kms = await startKmsServer({ seed: 20 });
  });
  afterAll(async () => {
    await kms.close();
  });

  it(
    "set and check need only GenerateDataKey with a key ARN in the rules, and DescribeKey with an alias",
    async () => {
      const key = await kms.createKey({ alias: "alias/shop-prod" });
      kms.setPolicy({
        AKIDWRITER: { "*": ["GenerateDataKey"] },
        AKIDWRITERDK: { "*": ["GenerateDataKey", "DescribeKey"] },
        AKIDADMIN: { "*": ["GenerateDataKey", "Decrypt", "ReEncrypt", "DescribeKey"] },
      });
      const aws = (id: string) => ({
        AWS_ENDPOINT_URL_KMS: kms.endpoint,
        AWS_REGION: kms.region,
        AWS_ACCESS_KEY_ID: id,
        AWS_SECRET_ACCESS_KEY: "x",
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        SEALFIG_KEY: undefined,
        SEALFIG_KEY_FILE: join(root, "no-keys"),
        SEALFIG_TRUSTED_KEYS: undefined,
      });
      for (const ref of ["alias/shop-prod", key.arn]) {
        const dir = join(root, ref === key.arn ? "arn" : "alias");
        mkdirSync(join(dir, "config"), { recursive: true });
        const init = await runSealfig(
          ["init", "--key", ref, "--context", "env=prod", "--files", "^config/"],
          { cwd: dir, env: aws("AKIDADMIN") },
        );
        expect(init.code, init.stderr).toBe(0);
        writeFileSync(join(dir, "config", "prod.yaml"), "db:\n  host: db.internal\n");
        // An existing sealed value and record, made by someone who may do everything.
        const first = await runSealfig(["set", "config/prod.yaml", "db.password", "-"], {
          cwd: dir,
          env: aws("AKIDADMIN"),
          input: "first-secret",
        });
        expect(first.code, first.stderr).toBe(0);
        const set = (id: string) =>
          runSealfig(["set", "config/prod.yaml", "api.token", "-"], {
            cwd: dir,
            env: aws(id),
            input: "second-secret",
          });
        const check = (id: string) =>
          runSealfig(["check", "config/prod.yaml"], { cwd: dir, env: aws(id) });
        const onlyGenerate = await set("AKIDWRITER");
        const checkOnlyGenerate = await check("AKIDWRITER");
        if (ref === key.arn) {
          expect(onlyGenerate.code, onlyGenerate.stderr).toBe(0);
          expect(checkOnlyGenerate.code, checkOnlyGenerate.stderr).toBe(0);
        } else {
          // the alias must be compared with the ARN recorded in the existing blob
          expect(onlyGenerate.code).toBe(5);
          expect(onlyGenerate.stderr).toContain("DescribeKey");
          expect(checkOnlyGenerate.code).toBe(6);
          const withDescribe = await set("AKIDWRITERDK");
          expect(withDescribe.code, withDescribe.stderr).toBe(0);
          expect((await check("AKIDWRITERDK")).code).toBe(0);
        }
      }
      // and what the README says about it
      const flat = readme.replace(/\s+/g, " ");
      expect(flat).toContain(
        "`set` needs only `GenerateDataKey` when the rules name the key by its ARN",
      );
      expect(flat).toContain('"Action": "kms:DescribeKey"');
    },
    120_000,
  );
});

describe("error locations name the right file", () => {
  it("an error about a key file never gets the config value's line and column", async () => {
    const { SealfigError } = await import("../../src/errors.ts");
    const keyFile = new SealfigError("KEY_FILE_PERMISSIONS", "Key file too open", {
      file: "/etc/sealfig/keys",
    });
    const located = keyFile.withLocation({
      file: "config/app.yaml",
      line: 4,
      col: 20,
      path: "db.password",
    });
    expect([located.file, located.line, located.col, located.path]).toEqual([
      "/etc/sealfig/keys",
      undefined,
      undefined,
      "db.password",
    ]);
    expect(located.message).not.toContain(":4:20");
    // a value's own error still gets its place
    const value = new SealfigError("BLOB_AUTH_FAILED", "did not authenticate").withLocation({
      file: "config/app.yaml",
      line: 4,
      col: 20,
    });
    expect(value.message).toMatch(/^config\/app\.yaml:4:20: /);
  });

  it("the CLI names the key file, not a place in the config, for KEY_FILE_PERMISSIONS", async () => {
    const dir = join(root, "perm");
    mkdirSync(dir);
    const env = { SEALFIG_KEY_FILE: join(dir, "keys"), SEALFIG_KEY: undefined };
    expect((await runSealfig(["init", "--files", "^c"], { cwd: dir, env })).code).toBe(0);
    writeFileSync(join(dir, "c.yaml"), "a: 1\npassword: x\n");
    expect((await runSealfig(["encrypt", "-i", "c.yaml"], { cwd: dir, env })).code).toBe(0);
    chmodSync(join(dir, "keys"), 0o644);
    const r = await runSealfig(["get", "c.yaml", "password"], { cwd: dir, env });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("KEY_FILE_PERMISSIONS");
    expect(r.stderr).not.toMatch(/keys:\d+:\d+/);
  });
});
