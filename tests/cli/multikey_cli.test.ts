/**
 * Several keys per file through the rules, the CLI (as a process) and the loader: `init --key`
 * repeated writes `keys: [...]`; sealing wraps each data key under every key and the record
 * (`sealfig-mac:v3:`) too; each key alone loads the file (the loader needs no new option and
 * counts fall-throughs); none is `KEYS_UNAVAILABLE`; `rewrap --add-key/--remove-key` leaves every
 * ciphertext byte for byte as it was; `status` names the keys and which ones this machine can use.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSealfig } from "../_helpers/cli.ts";
import { loadConfigWithReport, LocalKeyProvider } from "../../mod.ts";
import { parseBlob } from "../../document.ts";
import { parseDocument } from "../../src/document/document.ts";
import { readIntegrityRecord } from "../../src/integrity/verify.ts";
import { KmsKeyProvider } from "../../src/keys/aws_kms.ts";
import { startKmsServer } from "../../src/kms_server/server.ts";
import type { KmsServer } from "../../src/kms_server/server.ts";

const root = mkdtempSync(join(tmpdir(), "sealfig-mk-"));
const keys: { id: string; key: string }[] = [];
let kms: KmsServer;
let arn = "";

/** A key file holding exactly these keys (by index), mode 0600. */
function keyFile(name: string, which: number[]): string {
  const f = join(root, `keys-${name}`);
  writeFileSync(f, which.map((i) => keys[i]!.key).join("\n") + "\n", { mode: 0o600 });
  return f;
}

const env = (file: string, extra: Record<string, string | undefined> = {}) => ({
  SEALFIG_KEY: undefined,
  SEALFIG_KEY_FILE: file,
  SEALFIG_TRUSTED_KEYS: undefined,
  SEALFIG_MIN_GENERATION: undefined,
  AWS_ENDPOINT_URL_KMS: kms.endpoint,
  AWS_REGION: kms.region,
  AWS_ACCESS_KEY_ID: "AKIDMK",
  AWS_SECRET_ACCESS_KEY: "x",
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  ...extra,
});

beforeAll(async () => {
  for (let i = 0; i < 3; i++) keys.push(await LocalKeyProvider.generateKey());
  kms = await startKmsServer({ seed: 17 });
  arn = (await kms.createKey()).arn;
});
afterAll(async () => {
  await kms.close();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
/** A repo whose rules name local keys 0 and 1, with config/app.yaml sealed by the CLI. */
async function repo(): Promise<{ dir: string; file: string }> {
  const dir = join(root, `r${n++}`);
  mkdirSync(join(dir, "config"), { recursive: true });
  const init = await runSealfig(
    [
      "init",
      "--key",
      `local:${keys[0]!.id}`,
      "--key",
      `local:${keys[1]!.id}`,
      "--context",
      "app=shop",
    ],
    { cwd: dir, env: env(keyFile("01", [0, 1])) },
  );
  expect(init.code, init.stderr).toBe(0);
  const file = join(dir, "config", "app.yaml");
  writeFileSync(
    file,
    "db:\n  host: db.internal\n  password: !secret hunter2\napi:\n  token: !secret t0ken\n",
  );
  const enc = await runSealfig(["encrypt", "-i", "config/app.yaml"], {
    cwd: dir,
    env: env(keyFile("01", [0, 1])),
  });
  expect(enc.code, enc.stderr).toBe(0);
  return { dir, file };
}

/** Every sealed value's blob in the file, by path. */
function blobs(file: string): Map<string, string> {
  const doc = parseDocument(readFileSync(file, "utf8"), { file });
  return new Map(
    doc.values().filter((v) => v.kind === "sealed").map((v) => [v.pathText, v.value as string]),
  );
}

/** salt ‖ IV ‖ commitment ‖ ciphertext ‖ tag of a blob, as hex: what a re-wrap must not touch. */
function valueBytes(blob: string): string {
  const p = parseBlob(blob);
  return [...p.boundHeader, ...p.ciphertext].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("several keys per file (rules, CLI, loader)", () => {
  it("init --key twice writes keys: [...]; values are v2 under both keys, the record v3", async () => {
    const { dir, file } = await repo();
    const rules = readFileSync(join(dir, ".sealfig.yaml"), "utf8");
    expect(rules).toContain(`keys:\n      - local:${keys[0]!.id}\n      - local:${keys[1]!.id}`);
    for (const b of blobs(file).values()) {
      expect(b.startsWith("sealfig:v2:")).toBe(true);
      expect(parseBlob(b).slots.map((s) => s.keyId)).toEqual([keys[0]!.id, keys[1]!.id]);
    }
    const record = readIntegrityRecord(parseDocument(readFileSync(file, "utf8")));
    expect(readFileSync(file, "utf8")).toContain("sealfig_integrity: sealfig-mac:v3:");
    expect(record!.slots!.map((s) => s.keyId)).toEqual([keys[0]!.id, keys[1]!.id]);
  });

  it("each key alone opens through the CLI; neither is KEYS_UNAVAILABLE naming both", async () => {
    const { dir } = await repo();
    for (const [name, which] of [["0", [0]], ["1", [1]]] as const) {
      const got = await runSealfig(["get", "config/app.yaml", "db.password"], {
        cwd: dir,
        env: env(keyFile(name, [...which])),
      });
      expect(got.code, `${name}: ${got.stderr}`).toBe(0);
      expect(got.stdout).toBe("hunter2\n");
    }
    const none = await runSealfig(["get", "config/app.yaml", "db.password"], {
      cwd: dir,
      env: env(keyFile("2", [2])),
    });
    expect(none.code).toBe(5);
    expect(none.stderr).toContain("KEYS_UNAVAILABLE");
    expect(none.stderr).toContain(`local:${keys[0]!.id} (KEY_NOT_FOUND)`);
    expect(none.stderr).toContain(`local:${keys[1]!.id} (KEY_NOT_FOUND)`);
    expect(none.stderr).not.toContain("hunter2");
    expect(none.stderr).not.toContain(keys[0]!.key);
  });

  it("the loader opens with either key alone (no new option) and counts fall-throughs", async () => {
    const { dir, file } = await repo();
    for (const [which, fallThroughs] of [[0, 0], [1, 1]] as const) {
      const { config, report } = await loadConfigWithReport({
        files: [file],
        rules: join(dir, ".sealfig.yaml"),
        providers: [new LocalKeyProvider({ keys: [keys[which]!.key] })],
      });
      expect((config as { db: { password: string } }).db.password).toBe("hunter2");
      expect(report.integrityVerified).toBe(1);
      // One data key for the values and one for the record: each walks the slots once.
      expect(report.keyFallThroughs).toBe(2 * fallThroughs);
    }
    const err = await loadConfigWithReport({
      files: [file],
      rules: join(dir, ".sealfig.yaml"),
      providers: [new LocalKeyProvider({ keys: [keys[2]!.key] })],
    }).then(() => undefined, (e: { code?: string }) => e);
    expect(err?.code).toBe("KEYS_UNAVAILABLE");
  });

  it("rewrap --add-key / --remove-key: ciphertexts unchanged, the key list follows", async () => {
    const { dir, file } = await repo();
    const before = blobs(file);
    const add = await runSealfig(
      ["rewrap", "--add-key", `local:${keys[2]!.id}`, "config/app.yaml"],
      { cwd: dir, env: env(keyFile("012", [0, 1, 2])) },
    );
    expect(add.code, add.stderr).toBe(0);
    const added = blobs(file);
    expect([...added.keys()]).toEqual([...before.keys()]);
    for (const [path, b] of added) {
      expect(valueBytes(b), path).toBe(valueBytes(before.get(path)!));
      expect(parseBlob(b).slots.map((s) => s.keyId)).toEqual(keys.map((k) => k.id));
    }
    // The new key alone opens, the record too (the loader verifies it).
    const only2 = await runSealfig(["get", "config/app.yaml", "api.token"], {
      cwd: dir,
      env: env(keyFile("2", [2]), { SEALFIG_TRUSTED_KEYS: `local:${keys[2]!.id}` }),
    });
    expect(only2.code, only2.stderr).toBe(0);
    expect(only2.stdout).toBe("t0ken\n");

    const remove = await runSealfig(
      ["rewrap", "--remove-key", `local:${keys[0]!.id}`, "config/app.yaml"],
      { cwd: dir, env: env(keyFile("012", [0, 1, 2])) },
    );
    expect(remove.code, remove.stderr).toBe(0);
    const removed = blobs(file);
    for (const [path, b] of removed) {
      expect(valueBytes(b), path).toBe(valueBytes(before.get(path)!));
      expect(parseBlob(b).slots.map((s) => s.keyId)).toEqual([keys[1]!.id, keys[2]!.id]);
    }
    const only0 = await runSealfig(["get", "config/app.yaml", "api.token"], {
      cwd: dir,
      env: env(keyFile("0", [0])),
    });
    expect(only0.code).not.toBe(0);
    // Down to one key: v1 blobs again, still the same ciphertexts.
    const last = await runSealfig(
      ["rewrap", "--remove-key", `local:${keys[1]!.id}`, "config/app.yaml"],
      { cwd: dir, env: env(keyFile("012", [0, 1, 2])) },
    );
    expect(last.code, last.stderr).toBe(0);
    for (const [path, b] of blobs(file)) {
      expect(b.startsWith("sealfig:v1:"), path).toBe(true);
      expect(valueBytes(b), path).toBe(valueBytes(before.get(path)!));
    }
    // Only key 2 is left, which the rules do not name: trust it to reach the refusal.
    const none = await runSealfig(
      ["rewrap", "--remove-key", `local:${keys[2]!.id}`, "config/app.yaml"],
      {
        cwd: dir,
        env: env(keyFile("012", [0, 1, 2]), { SEALFIG_TRUSTED_KEYS: `local:${keys[2]!.id}` }),
      },
    );
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("OPTION_INVALID");
  });

  it("rewrap --add-key a KMS key (Encrypt only): the KMS key alone then opens", async () => {
    const { dir, file } = await repo();
    const before = blobs(file);
    kms.setPolicy({ AKIDWRITE: { "*": ["Encrypt", "GenerateDataKey"] }, AKIDMK: { "*": ["*"] } });
    const add = await runSealfig(["rewrap", "--add-key", arn, "config/app.yaml"], {
      cwd: dir,
      env: env(keyFile("01", [0, 1]), { AWS_ACCESS_KEY_ID: "AKIDWRITE" }),
    });
    expect(add.code, add.stderr).toBe(0);
    for (const [path, b] of blobs(file)) {
      expect(valueBytes(b), path).toBe(valueBytes(before.get(path)!));
      expect(parseBlob(b).slots.at(-1)!.keyId).toBe(arn);
    }
    const viaKms = await loadConfigWithReport({
      files: [file],
      rules: false,
      context: { app: "shop" },
      trustedKeys: [arn],
      providers: [
        new KmsKeyProvider({
          endpoint: kms.endpoint,
          region: kms.region,
          credentials: { accessKeyId: "AKIDMK", secretAccessKey: "x" },
        }),
      ],
    });
    expect((viaKms.config as { api: { token: string } }).api.token).toBe("t0ken");
    // Two untrusted local keys passed over, for the values' data key and for the record's.
    expect(viaKms.report.keyFallThroughs).toBe(4);
  });

  it("a .env file under two keys: v2 values, a v3 record comment, either key alone opens", async () => {
    const { dir } = await repo();
    const file = join(dir, "config", ".env");
    writeFileSync(file, "DB_HOST=db.internal\nDB_PASSWORD=hunter2\n");
    const enc = await runSealfig(["encrypt", "-i", "config/.env"], {
      cwd: dir,
      env: env(keyFile("01", [0, 1])),
    });
    expect(enc.code, enc.stderr).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/^DB_PASSWORD=sealfig:v2:/m);
    expect(text).toMatch(/^# sealfig_integrity: sealfig-mac:v3:/m);
    for (const [name, which] of [["0", [0]], ["1", [1]]] as const) {
      const got = await runSealfig(["get", "config/.env", "DB_PASSWORD"], {
        cwd: dir,
        env: env(keyFile(name, [...which])),
      });
      expect(got.code, `${name}: ${got.stderr}`).toBe(0);
      expect(got.stdout).toBe("hunter2\n");
    }
  });

  it("status lists every key and which ones this machine can use", async () => {
    const { dir } = await repo();
    const st = await runSealfig(["status", "config/app.yaml"], {
      cwd: dir,
      env: env(keyFile("1", [1])),
    });
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toContain(`keys: local:${keys[0]!.id} (2), local:${keys[1]!.id} (2)`);
    expect(st.stdout).toContain(
      `usable here: local:${keys[0]!.id} no (KEY_NOT_FOUND); local:${keys[1]!.id} yes`,
    );
    expect(st.stdout).toContain(`rule keys: local:${keys[0]!.id}, local:${keys[1]!.id}`);
    expect(st.stdout).toContain("integrity: valid");
  });
});
