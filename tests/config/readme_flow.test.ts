/**
 * The README's path from `sealfig init` to a running app, with its snippets copied out of
 * README.md and run verbatim: the AWS KMS setup's `sealfig init --key alias/shop-prod …` line (the
 * CLI as a process, against the local KMS server through the real AWS SDK), then the "Using it in
 * an app" TypeScript snippet as the app, on this test's runtime (Node through tsx, or Deno). The
 * only things added around them are what a project has anyway: the config files, the module
 * resolution of `sealfig` and `zod`, and the AWS environment.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type KmsServer, startKmsServer } from "../../src/kms_server/server.ts";
import { runSealfig } from "../_helpers/cli.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const readme = readFileSync(join(root, "README.md"), "utf8");
const isDeno = "Deno" in globalThis;
const CANARY = "canary-readme-pw-5d1c";
const SDK_NOTICE = "NodeVersionSupportWarning";
const t = makeTempDir("sealfig-readme-");
let kms: KmsServer;

beforeAll(async () => {
  kms = await startKmsServer({ seed: 15 });
  await kms.createKey({ alias: "alias/shop-prod" });
});
afterAll(async () => {
  await kms.close();
  t.cleanup();
});

/** The AWS environment of the README's local KMS section, pointing at this test's server. */
function awsEnv(): Record<string, string | undefined> {
  return {
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
    AWS_REGION: kms.region,
    AWS_DEFAULT_REGION: kms.region,
    AWS_ACCESS_KEY_ID: "AKIDLOCAL",
    AWS_SECRET_ACCESS_KEY: "x",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PROFILE: undefined,
    SEALFIG_KEY_FILE: t.path("no-local-keys"),
    SEALFIG_KEY: undefined,
    SEALFIG_TRUSTED_KEYS: undefined,
    SEALFIG_KMS_KEY: undefined,
    SEALFIG_MIN_GENERATION: undefined,
    // Not set: the CLI must hide the SDK's notice by itself.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
  };
}

function run(
  argv: string[],
  cwd: string,
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const full: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, NO_COLOR: "1", ...env })) {
    if (v !== undefined) full[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env: full, stdio: "pipe" });
    let stdout = "", stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

describe("the README, from sealfig init to a running app", () => {
  it("init and the app snippet work exactly as written (KMS via the local server)", async () => {
    const init = /`(sealfig init --key alias\/shop-prod [^`]+)`/.exec(readme)?.[1];
    expect(init, "README: the init line of the AWS KMS setup").toBeDefined();
    const app = /## Using it in an app\n\n```ts\n([^]*?)```/.exec(readme)?.[1];
    expect(app, "README: the app snippet").toBeDefined();
    expect(app).toContain('from "sealfig"');

    const dir = t.path("shop");
    mkdirSync(join(dir, "config"), { recursive: true });
    const env = awsEnv();
    // 1. `sealfig init …`, verbatim (split on spaces: the line has no quoting).
    const initRun = await runSealfig(init!.split(" ").slice(1), { cwd: dir, env });
    expect(initRun.code, initRun.stderr).toBe(0);
    // 2. The config: a plain base.yaml (no record needed) and the production secrets, sealed.
    writeFileSync(
      join(dir, "config/base.yaml"),
      "service:\n  port: 8080\n  log_level: info\ndb:\n  host: db.prod.internal\n  port: 5432\n",
    );
    writeFileSync(join(dir, "config/production.yaml"), `db:\n  password: !secret ${CANARY}\n`);
    const seal = await runSealfig(["encrypt", "-i", "config/production.yaml"], { cwd: dir, env });
    expect(seal.code, seal.stderr).toBe(0);
    expect(seal.stderr).not.toContain(SDK_NOTICE);
    expect(readFileSync(join(dir, "config/production.yaml"), "utf8")).not.toContain(CANARY);

    // 3. The app: the snippet as app.ts. `sealfig` resolves to this checkout's mod.ts, `zod` to
    // its node_modules (tsconfig paths for tsx, an import map for Deno).
    writeFileSync(join(dir, "app.ts"), app!);
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { paths: { sealfig: [join(root, "mod.ts")] } } }),
    );
    const denoJson = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")) as {
      imports: Record<string, string>;
    };
    writeFileSync(
      join(dir, "deno.json"),
      JSON.stringify({
        imports: { ...denoJson.imports, sealfig: join(root, "mod.ts") },
        nodeModulesDir: "manual",
      }),
    );
    const argv = isDeno ? [process.execPath, "run", "-A", "--quiet", "app.ts"] : [
      process.execPath,
      "--import",
      new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href,
      "app.ts",
    ];
    // The README tells app authors to set this for the SDK's notice.
    const appRun = await run(argv, dir, {
      ...env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    });
    expect(appRun.stderr).toBe("");
    expect(appRun.code).toBe(0);
    expect(appRun.stdout).toContain("[redacted]");
    expect(appRun.stdout).toContain("db.prod.internal");
    expect(appRun.stdout).not.toContain(CANARY);
  });

  it("without a rules file, run trusts the key the CLI seals with; the CLI hides the SDK's notice", async () => {
    const dir = t.path("notice");
    mkdirSync(dir, { recursive: true });
    const env = awsEnv();
    writeFileSync(join(dir, "a.yaml"), "token: !secret abc\n");
    // No rules file here: the key comes from SEALFIG_KMS_KEY, for the CLI and for `run` alike.
    const kmsEnv = { ...env, SEALFIG_KMS_KEY: "alias/shop-prod" };
    const r = await runSealfig(["encrypt", "-i", "a.yaml"], { cwd: dir, env: kmsEnv });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain(SDK_NOTICE);
    const child = isDeno ? [process.execPath, "eval"] : [process.execPath, "-e"];
    const ran = await runSealfig(
      ["run", "-f", "a.yaml", "--", ...child, 'process.exit(process.env.TOKEN === "abc" ? 0 : 3)'],
      { cwd: dir, env: kmsEnv },
    );
    expect(ran.stderr).not.toContain(SDK_NOTICE);
    expect(ran.code, ran.stderr).toBe(0);
    if (!isDeno && Number(process.versions.node.split(".")[0]) < 22) {
      // The control: the same SDK, without the CLI, prints it on this Node.
      const control = await run(
        [
          process.execPath,
          "-e",
          'new (require("@aws-sdk/client-kms").KMSClient)({ region: "us-east-1" })',
        ],
        root,
        env,
      );
      expect(control.stderr).toContain(SDK_NOTICE);
    }
  });
});
