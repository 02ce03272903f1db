/**
 * A writer that cannot verify a file's integrity record (KMS GenerateDataKey, no Decrypt) must
 * never vouch for content it could not check: every write command keeps the old record, so a file
 * changed outside sealfig still fails to load, whoever writes to it next (finding: a write-only
 * `set` used to re-stamp a tampered file, and the app then loaded the attacker's host).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSealfig } from "../_helpers/cli.ts";
import { startKmsServer } from "../../src/kms_server/server.ts";
import type { KmsServer } from "../../src/kms_server/server.ts";

const root = mkdtempSync(join(tmpdir(), "sealfig-wo-"));
let kms: KmsServer;
let arn = "";
let arn2 = "";
beforeAll(async () => {
  kms = await startKmsServer({ seed: 15 });
  arn = (await kms.createKey({ alias: "alias/shop-prod" })).arn;
  arn2 = (await kms.createKey({ alias: "alias/shop-prod-2" })).arn;
  kms.setPolicy({
    // the README's editors: seal and re-wrap, never decrypt (so never verify a record)
    AKIDSET: { "*": ["GenerateDataKey", "ReEncrypt*"] },
    AKIDADMIN: { "*": ["GenerateDataKey", "Decrypt", "ReEncrypt*", "DescribeKey"] },
  });
});
afterAll(async () => {
  await kms.close();
  rmSync(root, { recursive: true, force: true });
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
  SEALFIG_TRUSTED_KEYS: `${arn},${arn2}`,
  SEALFIG_MIN_GENERATION: undefined,
});

let n = 0;
/** A repo whose config/production.yaml was written (sealed and stamped) by the admin. */
async function repo(): Promise<{ dir: string; file: string }> {
  const dir = join(root, `r${n++}`);
  mkdirSync(join(dir, "config"), { recursive: true });
  writeFileSync(
    join(dir, ".sealfig.yaml"),
    `trusted_keys: [${arn2}]\n` +
      `rules:\n  - files: ^config/\n    key: ${arn}\n    context: { app: shop, env: prod }\n`,
  );
  const file = join(dir, "config", "production.yaml");
  writeFileSync(file, "db:\n  host: db.prod.internal\n");
  const set = await runSealfig(["set", "config/production.yaml", "db.password", "-"], {
    cwd: dir,
    env: aws("AKIDADMIN"),
    input: "s3cret",
  });
  expect(set.code, set.stderr).toBe(0);
  return { dir, file };
}

/** Every command a write-only caller can run on an existing file. */
const WRITES: { name: string; args: string[]; input?: string; tamper?: string }[] = [
  { name: "set", args: ["set", "config/production.yaml", "api.token", "-"], input: "x" },
  { name: "set --plain", args: ["set", "config/production.yaml", "api.url", "u", "--plain"] },
  { name: "unset", args: ["unset", "config/production.yaml", "db.password"] },
  {
    name: "encrypt -i",
    args: ["encrypt", "-i", "config/production.yaml"],
    tamper: "note: !secret added-by-hand\n",
  },
  { name: "rewrap --to", args: ["rewrap", "--to", "ARN2", "config/production.yaml"] },
];

describe("a writer that cannot verify the record never vouches for the file", () => {
  it(
    "after a change outside sealfig, every write-only command leaves the file failing to load",
    async () => {
      let refused = 0;
      for (const w of WRITES) {
        const { dir, file } = await repo();
        // the change outside sealfig
        writeFileSync(
          file,
          readFileSync(file, "utf8").replace("db.prod.internal", "evil.attacker.example") +
            (w.tamper ?? ""),
        );
        const args = w.args.map((a) => a.replace("ARN2", arn2));
        const write = await runSealfig(args, {
          cwd: dir,
          env: aws("AKIDSET"),
          ...(w.input !== undefined ? { input: w.input } : {}),
        });
        expect(write.code, `${w.name}: ${write.stderr}`).toBe(0);
        expect(write.stderr, w.name).toContain("OLD record");
        expect(write.stderr, w.name).toContain("sealfig stamp --force config/production.yaml");
        expect(readFileSync(file, "utf8"), w.name).toContain("evil.attacker.example");
        // whoever reads it (the CLI's loader path, check) refuses it
        const get = await runSealfig(["get", "config/production.yaml", "db.host"], {
          cwd: dir,
          env: aws("AKIDADMIN"),
        });
        expect(get.code, `${w.name}: ${get.stderr}`).toBe(4);
        expect(get.stderr, w.name).toContain("INTEGRITY_INVALID");
        expect(get.stdout, w.name).not.toContain("evil");
        const check = await runSealfig(["check", "config/production.yaml"], {
          cwd: dir,
          env: aws("AKIDADMIN"),
        });
        expect(check.code, w.name).toBe(6);
        expect(check.stderr + check.stdout, w.name).toContain("INVALID");
        refused++;
      }
      expect(refused).toBe(WRITES.length);
    },
    240_000,
  );

  it(
    "a genuine write-only set loads once someone who can verify reviews and stamps it",
    async () => {
      const { dir, file } = await repo();
      const gen = (t: string) => Number(/generation (\d+)/.exec(t)?.[1]);
      const set = await runSealfig(["set", "config/production.yaml", "api.token", "-"], {
        cwd: dir,
        env: aws("AKIDSET"),
        input: "new-token",
      });
      expect(set.code, set.stderr).toBe(0);
      expect(readFileSync(file, "utf8").trimEnd().split("\n").at(-1)).toMatch(
        /^sealfig_integrity: /,
      );
      const before = await runSealfig(["get", "config/production.yaml", "api.token"], {
        cwd: dir,
        env: aws("AKIDADMIN"),
      });
      expect(before.code).toBe(4);
      const stamp = await runSealfig(["stamp", "--force", "config/production.yaml"], {
        cwd: dir,
        env: aws("AKIDADMIN"),
      });
      expect(stamp.code, stamp.stderr).toBe(0);
      expect(gen(stamp.stderr)).toBe(2); // the generation still grows
      const after = await runSealfig(["get", "config/production.yaml", "api.token"], {
        cwd: dir,
        env: aws("AKIDADMIN"),
      });
      expect(after.code, after.stderr).toBe(0);
      expect(after.stdout).toBe("new-token\n");
    },
    120_000,
  );
});
