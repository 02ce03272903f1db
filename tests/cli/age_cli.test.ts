/**
 * age end to end, as a person uses it: `init --key age1…` (a recipient age-keygen printed),
 * write-only sealing by someone who holds only the recipient, opening with the identity from
 * SEALFIG_AGE_KEY_FILE or SEALFIG_AGE_KEY, `run` and the loader reading the rules file's age key,
 * and a file sealed to a recipient the rules do not name refused as untrusted.
 */
import { afterAll, describe, expect, it } from "vitest";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { runSealfig } from "../_helpers/cli.ts";
import { AgeKeyProvider, loadConfig, LocalKeyProvider } from "../../mod.ts";
import { defaultProviders } from "../../src/keys/registry.ts";
import { parseBlob } from "../../document.ts";
import { AGE_IDENTITIES, AGE_KEYS_TEXT, AGE_RECIPIENTS } from "../_helpers/age_fixture.ts";

const root = mkdtempSync(join(tmpdir(), "sealfig-age-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const fixtureKeys = AGE_KEYS_TEXT;
const identities = AGE_IDENTITIES;
const recipients = AGE_RECIPIENTS;
const keyFile = join(root, "keys.txt");
writeFileSync(keyFile, fixtureKeys, { mode: 0o600 });
chmodSync(keyFile, 0o600);

/** No identity anywhere: an empty config dir, no age or local key variables. */
const noKeys = {
  HOME: join(root, "home"),
  XDG_CONFIG_HOME: join(root, "home", ".config"),
  SEALFIG_AGE_KEY: undefined,
  SEALFIG_AGE_KEY_FILE: undefined,
  SEALFIG_KEY: undefined,
  SEALFIG_KEY_FILE: undefined,
  SEALFIG_TRUSTED_KEYS: undefined,
  SEALFIG_KMS_KEY: undefined,
  SEALFIG_MIN_GENERATION: undefined,
};
mkdirSync(noKeys.XDG_CONFIG_HOME, { recursive: true });

function expectNoIdentity(text: string): void {
  for (const id of identities) {
    expect(text).not.toContain(id);
    expect(text).not.toContain(id.slice(16));
  }
}

let n = 0;
async function repo(recipient: string): Promise<string> {
  const dir = join(root, `r${n++}`);
  mkdirSync(dir);
  const init = await runSealfig(["init", "--key", recipient, "--context", "app=shop"], {
    cwd: dir,
    env: noKeys,
  });
  expect(init.code, init.stderr).toBe(0);
  writeFileSync(join(dir, "app.yaml"), "db:\n  host: db.internal\n  password: hunter2\n");
  return dir;
}

describe("sealfig with an age recipient", () => {
  it("seals with only the recipient; opens with SEALFIG_AGE_KEY_FILE or SEALFIG_AGE_KEY", async () => {
    const dir = await repo(recipients[0]!);
    expect(readFileSync(join(dir, ".sealfig.yaml"), "utf8")).toContain(`key: ${recipients[0]}`);

    // Write-only: nobody here holds an identity.
    const enc = await runSealfig(["encrypt", "-i", "app.yaml"], { cwd: dir, env: noKeys });
    expect(enc.code, enc.stderr).toBe(0);
    const sealed = readFileSync(join(dir, "app.yaml"), "utf8");
    expect(sealed).not.toContain("hunter2");
    expect(sealed).toMatch(/password: sealfig:v1:/);

    const status = await runSealfig(["status", "app.yaml"], { cwd: dir, env: noKeys });
    expect(status.stdout).toContain(`keys: ${recipients[0]}`);

    // Opening without an identity: exit 5, KEY_NOT_FOUND, the hint names the variables.
    const get = await runSealfig(["get", "app.yaml", "db.password"], { cwd: dir, env: noKeys });
    expect(get.code).toBe(5);
    expect(get.stderr).toContain("KEY_NOT_FOUND");
    expect(get.stderr).toContain("SEALFIG_AGE_KEY_FILE");
    expect(get.stderr).toContain("SEALFIG_AGE_KEY ");
    expect(get.stderr).toContain(join(noKeys.XDG_CONFIG_HOME, "sealfig", "age", "keys.txt"));

    for (const env of [{ SEALFIG_AGE_KEY_FILE: keyFile }, { SEALFIG_AGE_KEY: identities[0]! }]) {
      const ok = await runSealfig(["get", "app.yaml", "db.password"], {
        cwd: dir,
        env: { ...noKeys, ...env },
      });
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toBe("hunter2\n");
      const check = await runSealfig(["check", "--decrypt", "app.yaml"], {
        cwd: dir,
        env: { ...noKeys, ...env },
      });
      expect(check.code, check.stderr).toBe(0);
    }

    // The default key file location works too.
    mkdirSync(join(noKeys.XDG_CONFIG_HOME, "sealfig", "age"), { recursive: true });
    const dflt = join(noKeys.XDG_CONFIG_HOME, "sealfig", "age", "keys.txt");
    writeFileSync(dflt, fixtureKeys, { mode: 0o600 });
    chmodSync(dflt, 0o600);
    try {
      const ok = await runSealfig(["get", "app.yaml", "db.password"], { cwd: dir, env: noKeys });
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toBe("hunter2\n");
    } finally {
      rmSync(dflt);
    }
    for (const r of [enc, status, get]) expectNoIdentity(r.stdout + r.stderr);
  });

  it("a write-only set adds a value and keeps the record it cannot verify", async () => {
    const dir = await repo(recipients[0]!);
    expect((await runSealfig(["encrypt", "-i", "app.yaml"], { cwd: dir, env: noKeys })).code)
      .toBe(0);
    const set = await runSealfig(["set", "app.yaml", "api.token", "-"], {
      cwd: dir,
      env: noKeys,
      input: "tok-123",
    });
    expect(set.code, set.stderr).toBe(0);
    const withId = { ...noKeys, SEALFIG_AGE_KEY_FILE: keyFile };
    // The writer could not verify the record, so it kept it: the file fails until reviewed.
    expect(set.stderr).toMatch(/record/i);
    const get = await runSealfig(["get", "app.yaml", "api.token"], { cwd: dir, env: withId });
    expect(get.code).toBe(4);
    expect(get.stderr).toContain("INTEGRITY_INVALID");
    const stamp = await runSealfig(["stamp", "--force", "app.yaml"], { cwd: dir, env: withId });
    expect(stamp.code, stamp.stderr).toBe(0);
    const after = await runSealfig(["get", "app.yaml", "api.token"], { cwd: dir, env: withId });
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toBe("tok-123\n");
  });

  it("run and the loader read the rules file's age key; run's child never sees the identity", async () => {
    const dir = await repo(recipients[1]!);
    expect((await runSealfig(["encrypt", "-i", "app.yaml"], { cwd: dir, env: noKeys })).code)
      .toBe(0);
    const env = { ...noKeys, SEALFIG_AGE_KEY: identities[1]!, SEALFIG_AGE_KEY_FILE: keyFile };
    const run = await runSealfig([
      "run",
      "-f",
      "app.yaml",
      "--",
      process.execPath,
      "-e",
      "console.log(JSON.stringify(process.env))",
    ], { cwd: dir, env });
    expect(run.code, run.stderr).toBe(0);
    const childEnv = JSON.parse(run.stdout.trim().split("\n").pop()!) as Record<string, string>;
    expect(childEnv.DB__PASSWORD).toBe("hunter2");
    expect(childEnv.SEALFIG_AGE_KEY).toBeUndefined();
    expect(childEnv.SEALFIG_AGE_KEY_FILE).toBeUndefined();
    expectNoIdentity(run.stdout + run.stderr);

    // The loader, in process: the rules file names the key, the provider finds the identity.
    const prev = process.env.SEALFIG_AGE_KEY_FILE;
    process.env.SEALFIG_AGE_KEY_FILE = keyFile;
    try {
      const config = await loadConfig({
        files: [join(dir, "app.yaml")],
        providers: defaultProviders(),
      });
      expect(config).toEqual({ db: { host: "db.internal", password: "hunter2" } });
    } finally {
      if (prev === undefined) delete process.env.SEALFIG_AGE_KEY_FILE;
      else process.env.SEALFIG_AGE_KEY_FILE = prev;
    }
  });

  it("a value sealed to a recipient the rules do not name is KEY_UNTRUSTED (exit 4)", async () => {
    const dir = await repo(recipients[0]!);
    // An attacker with another recipient seals a value into the file.
    const other = await AgeKeyProvider.recipientOf(await AgeKeyProvider.generateIdentity());
    const enc = await runSealfig(["encrypt", "-i", "--key", other, "app.yaml"], {
      cwd: dir,
      env: noKeys,
    });
    expect(enc.code, enc.stderr).toBe(0);
    const get = await runSealfig(["get", "app.yaml", "db.password"], {
      cwd: dir,
      env: { ...noKeys, SEALFIG_AGE_KEY_FILE: keyFile },
    });
    expect(get.code).toBe(4);
    expect(get.stderr).toContain("KEY_UNTRUSTED");
    expect(get.stderr).toContain(other);
  });

  it("rewrap --to another recipient keeps every ciphertext; rotate moves a local file to the age key its rules now name", async () => {
    const dir = await repo(recipients[0]!);
    expect((await runSealfig(["encrypt", "-i", "app.yaml"], { cwd: dir, env: noKeys })).code)
      .toBe(0);
    const blobOf = (text: string) => parseBlob(/password: (sealfig:v1:\S+)/.exec(text)![1]!);
    const before = blobOf(readFileSync(join(dir, "app.yaml"), "utf8"));
    const withId = { ...noKeys, SEALFIG_AGE_KEY_FILE: keyFile };
    writeFileSync(
      join(dir, ".sealfig.yaml"),
      readFileSync(join(dir, ".sealfig.yaml"), "utf8").replace(recipients[0]!, recipients[1]!) +
        `trusted_keys: [${recipients[0]}]\n`,
    );
    const rw = await runSealfig(["rewrap", "app.yaml", "--to", recipients[1]!], {
      cwd: dir,
      env: withId,
    });
    expect(rw.code, rw.stderr).toBe(0);
    const after = blobOf(readFileSync(join(dir, "app.yaml"), "utf8"));
    expect(after.keyId).toBe(recipients[1]);
    expect(after.providerId).toBe("age");
    expect(after.ciphertext).toEqual(before.ciphertext);
    expect(after.boundHeader).toEqual(before.boundHeader); // salt, IV, commitment, type
    expect(after.wrappedDek).not.toEqual(before.wrappedDek);
    // Only the second identity now: it opens the re-wrapped value and the new record.
    const only2 = { ...noKeys, SEALFIG_AGE_KEY: identities[1]! };
    const get = await runSealfig(["get", "app.yaml", "db.password"], { cwd: dir, env: only2 });
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toBe("hunter2\n");

    // A file sealed with a local key, moved to age by rotate --key.
    const dir2 = join(root, `r${n++}`);
    mkdirSync(dir2);
    const { id, key } = await LocalKeyProvider.generateKey();
    const local = { ...noKeys, SEALFIG_KEY: key };
    expect(
      (await runSealfig(["init", "--key", `local:${id}`], { cwd: dir2, env: local })).code,
    ).toBe(0);
    writeFileSync(join(dir2, "app.yaml"), "db:\n  password: hunter2\n");
    expect((await runSealfig(["encrypt", "-i", "app.yaml"], { cwd: dir2, env: local })).code)
      .toBe(0);
    writeFileSync(
      join(dir2, ".sealfig.yaml"),
      readFileSync(join(dir2, ".sealfig.yaml"), "utf8").replace(`local:${id}`, recipients[0]!) +
        `trusted_keys: [local:${id}]\n`,
    );
    const rot = await runSealfig(["rotate", "app.yaml"], { cwd: dir2, env: local });
    expect(rot.code, rot.stderr).toBe(0);
    const moved = blobOf(readFileSync(join(dir2, "app.yaml"), "utf8"));
    expect(moved.providerId).toBe("age");
    expect(moved.keyId).toBe(recipients[0]);
    const got = await runSealfig(["get", "app.yaml", "db.password"], {
      cwd: dir2,
      env: { ...noKeys, SEALFIG_AGE_KEY: identities[0]! },
    });
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toBe("hunter2\n");
  });

  it("seal-env seals a variable to a recipient with no identity; the loader opens it when trusted", async () => {
    const dir = await repo(recipients[0]!);
    const se = await runSealfig(["seal-env", "APP_DB__PASSWORD", "-"], {
      cwd: dir,
      env: noKeys,
      input: "from-env",
    });
    expect(se.code, se.stderr).toBe(0);
    const blob = se.stdout.trim().split("=").pop()!;
    expect(blob).toMatch(/^sealfig:v1:/);
    expect(parseBlob(blob).keyId).toBe(recipients[0]);
    writeFileSync(join(dir, "plain.yaml"), "db:\n  host: h\n");
    const config = await loadConfig({
      files: [join(dir, "plain.yaml")],
      rules: false,
      env: { prefix: "APP_", vars: { APP_DB__PASSWORD: blob } },
      trustedKeys: [recipients[0]!],
      providers: defaultProviders({ age: { identities: [identities[0]!] } }),
    });
    expect(config).toEqual({ db: { host: "h", password: "from-env" } });
    // Not trusted: refused before any unwrap.
    const err = await loadConfig({
      files: [join(dir, "plain.yaml")],
      rules: false,
      env: { prefix: "APP_", vars: { APP_DB__PASSWORD: blob } },
      trustedKeys: [`age:${recipients[1]}`],
      providers: defaultProviders({ age: { identities: [identities[0]!] } }),
    }).then(() => undefined, (e: unknown) => e);
    expect((err as { code?: string }).code).toBe("KEY_UNTRUSTED");
  });

  it("init refuses an identity given as --key, without echoing it", async () => {
    const dir = join(root, "init-bad");
    mkdirSync(dir);
    for (const bad of [identities[0]!, `age:${identities[0]}`, "age1notarecipient"]) {
      const r = await runSealfig(["init", "--key", bad], { cwd: dir, env: noKeys });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("OPTION_INVALID");
      expectNoIdentity(r.stdout + r.stderr);
    }
  });
});
