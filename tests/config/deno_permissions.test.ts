/**
 * Deno's least privilege: the README's "Deno permissions" lines run examples/app under exactly the
 * flags they give, with the local key and with AWS KMS (the real SDK against the local KMS server
 * on 127.0.0.1), and every flag they give is needed: without any one of the names, paths or hosts
 * the app fails with `PERMISSION_DENIED` naming that permission and its flag (never with a guess
 * such as "nesting too deep?"). The lines are read from the README, so the test and the docs
 * cannot drift apart.
 */
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseDocument, sealDocument, stampDocument } from "../../document.ts";
import { startKmsServer } from "../../kms_server.ts";
import { KmsKeyProvider } from "../../mod.ts";
import { DEMO_KEY_ID, PRODUCTION_CONTEXT } from "../../examples/app/demo_key.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const isDeno = "Deno" in globalThis;
const deno = isDeno
  ? process.execPath
  : join(root, "node_modules", ".bin", process.platform === "win32" ? "deno.cmd" : "deno");

/** The README's `deno run` lines under "Deno permissions", by their `# deno-permissions:` label. */
function readmeCommands(): Map<string, string[]> {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Deno permissions"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("README: no sh block under ### Deno permissions");
  const out = new Map<string, string[]>();
  let label = "";
  for (const line of block.replace(/\\\n\s*/g, "").split("\n")) {
    const l = /^# deno-permissions: (.+)$/.exec(line.trim());
    if (l) label = l[1]!;
    else if (line.startsWith("deno run ")) out.set(label, line.trim().split(/\s+/).slice(1));
  }
  return out;
}

interface Run {
  code: number | null;
  out: string;
}

function runDeno(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(deno, args, {
      cwd: root,
      // Only what the app is meant to see, plus what the deno binary itself needs.
      env: {
        PATH: process.env["PATH"] ?? "",
        HOME: process.env["HOME"] ?? "",
        NO_COLOR: "1",
        DENO_NO_UPDATE_CHECK: "1",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Uint8Array) => (out += new TextDecoder().decode(c)));
    child.stderr.on("data", (c: Uint8Array) => (out += new TextDecoder().decode(c)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

/** `args` with one item of one `--allow-x=a,b,c` flag left out (the flag dropped when empty). */
function without(args: string[], flag: string, item: string): string[] {
  return args.flatMap((a) => {
    if (!a.startsWith(`${flag}=`)) return [a];
    const rest = a.slice(flag.length + 1).split(",").filter((x) => x !== item);
    return rest.length ? [`${flag}=${rest.join(",")}`] : [];
  });
}

/** Each `--allow-x` list item of `args`, as [flag, item]. */
function grants(args: string[]): [string, string][] {
  return args.flatMap((a) => {
    const m = /^(--allow-[a-z]+)=(.+)$/.exec(a);
    return m ? m[2]!.split(",").map((item): [string, string] => [m[1]!, item]) : [];
  });
}

/** The permission kind Deno names for a flag. */
const KIND: Record<string, string> = {
  "--allow-env": "env",
  "--allow-read": "read",
  "--allow-net": "net",
  "--allow-sys": "sys",
};

async function expectEachGrantNeeded(args: string[], env: Record<string, string>): Promise<number> {
  let checked = 0;
  for (const [flag, item] of grants(args)) {
    const r = await runDeno(without(args, flag, item), env);
    const what = `${flag}=${item} left out`;
    expect(r.code, what).not.toBe(0);
    expect(r.out, what).toContain(`Deno denied ${KIND[flag]} access`);
    expect(r.out, what).toContain(flag);
    expect(r.out, what).not.toMatch(/\?\)/);
    checked++;
  }
  return checked;
}

describe("the README's Deno permissions run examples/app, and each one is needed", () => {
  const commands = readmeCommands();

  it("local key: runs under exactly the README's flags; without any one, PERMISSION_DENIED", async () => {
    const args = commands.get("local key");
    expect(args, "README line '# deno-permissions: local key'").toBeDefined();
    const ok = await runDeno(args!, {});
    expect(ok.out).toMatch(/first load: 5 values decrypted/);
    expect(ok.code).toBe(0);
    // The report of issue 21: --allow-read alone used to fail as "nesting too deep?".
    const noEnv = await runDeno(args!.filter((a) => !a.startsWith("--allow-env")), {});
    expect(noEnv.code).not.toBe(0);
    expect(noEnv.out).toContain('Deno denied env access to "LOG_TOKENS"');
    expect(noEnv.out).toContain("--allow-env=LOG_TOKENS");
    expect(noEnv.out).not.toContain("nesting too deep");
    expect(await expectEachGrantNeeded(args!, {})).toBeGreaterThanOrEqual(5);
  });

  it("AWS KMS: runs under exactly the README's flags against the local KMS server", async () => {
    const template = commands.get("AWS KMS");
    expect(template, "README line '# deno-permissions: AWS KMS'").toBeDefined();
    const server = await startKmsServer();
    const tmp = makeTempDir("sealfig-deno-perms-");
    try {
      const key = await server.createKey();
      const credentials = { accessKeyId: "AKIDDENOPERMS", secretAccessKey: "x" };
      const kms = new KmsKeyProvider({
        endpoint: server.endpoint,
        region: server.region,
        credentials,
      });
      // The example's production file, sealed and stamped under the KMS key instead of the demo key.
      const plainFile = join(root, "examples", "app", "config", "production.plain.yaml");
      const plain = parseDocument(readFileSync(plainFile), { file: "production.yaml" });
      const sealed = await sealDocument(plain, {
        provider: kms,
        keyId: key.arn,
        context: PRODUCTION_CONTEXT,
      });
      const { document } = await stampDocument(sealed.document, {
        provider: kms,
        keyId: key.arn,
        context: PRODUCTION_CONTEXT,
        generation: 1,
      });
      kms.destroy();
      tmp.write("production.yaml", document.toBytes());
      cpSync(join(root, "examples", "app", "config", "base.yaml"), tmp.path("base.yaml"));

      const host = new URL(server.endpoint).host;
      const args = template!.map((a) =>
        a.replaceAll("$CONFIG", tmp.dir).replaceAll("$KMS_HOST", host)
      );
      const env = {
        AWS_ENDPOINT_URL_KMS: server.endpoint,
        AWS_REGION: server.region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: "true",
        SEALFIG_TRUSTED_KEYS: `local:${DEMO_KEY_ID},${key.arn}`,
      };
      server.stats.reset();
      const ok = await runDeno(args, env);
      expect(ok.out).toMatch(/first load: 5 values decrypted/);
      expect(ok.code).toBe(0);
      expect(server.stats.count("Decrypt")).toBeGreaterThanOrEqual(1);
      expect(await expectEachGrantNeeded(args, env)).toBeGreaterThanOrEqual(7);
    } finally {
      tmp.cleanup();
      await server.close();
    }
  });
});
