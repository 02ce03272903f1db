/**
 * age recipients in a rule's key list (issue 17): write-only sealing for two recipients with no
 * identity anywhere, each identity alone opens, and `rewrap --add-key age1…` onto a file sealed
 * with a local key leaves every ciphertext byte as it was.
 */
import { afterAll, describe, expect, it } from "vitest";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSealfig } from "../_helpers/cli.ts";
import { AGE_IDENTITIES, AGE_RECIPIENTS, blobsOf, noKeysEnv } from "../_helpers/age_fixture.ts";
import { parseBlob } from "../../document.ts";

const root = mkdtempSync(join(tmpdir(), "sealfig-age-multikey-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const identities = AGE_IDENTITIES;
const recipients = AGE_RECIPIENTS;
const noKeys = noKeysEnv(root);
/** salt ‖ IV ‖ commitment ‖ ciphertext ‖ tag: what a re-wrap must not touch. */
const body = (blob: string) => {
  const p = parseBlob(blob);
  return Buffer.from([...p.boundHeader, ...p.ciphertext]).toString("hex");
};

describe("age recipients in a key list", () => {
  it("two recipients, no identity: sealed write-only; each identity alone opens", async () => {
    expect(recipients.length).toBeGreaterThanOrEqual(2);
    const dir = join(root, "two");
    mkdirSync(dir);
    const init = await runSealfig(
      ["init", "--key", recipients[0]!, "--key", recipients[1]!, "--context", "app=shop"],
      { cwd: dir, env: noKeys },
    );
    expect(init.code, init.stderr).toBe(0);
    writeFileSync(join(dir, "app.yaml"), "db:\n  password: hunter2\napi:\n  token: tok-9\n");
    const enc = await runSealfig(["encrypt", "-i", "app.yaml"], { cwd: dir, env: noKeys });
    expect(enc.code, enc.stderr).toBe(0);
    const sealed = readFileSync(join(dir, "app.yaml"), "utf8");
    const blobs = blobsOf(sealed);
    expect(blobs).toHaveLength(2);
    for (const b of blobs) {
      expect(parseBlob(b).slots.map((s) => s.keyId)).toEqual(recipients.slice(0, 2));
    }

    const none = await runSealfig(["get", "app.yaml", "db.password"], { cwd: dir, env: noKeys });
    expect(none.code).toBe(5);
    expect(none.stderr).toContain("KEYS_UNAVAILABLE");
    for (const r of recipients.slice(0, 2)) expect(none.stderr).toContain(r);

    for (const id of identities.slice(0, 2)) {
      const env = { ...noKeys, SEALFIG_AGE_KEY: id };
      const get = await runSealfig(["get", "app.yaml", "db.password"], { cwd: dir, env });
      expect(get.code, get.stderr).toBe(0);
      expect(get.stdout).toBe("hunter2\n");
      const check = await runSealfig(["check", "--decrypt", "app.yaml"], { cwd: dir, env });
      expect(check.code, check.stderr).toBe(0);
      for (const i of identities) expect(get.stderr + check.stderr).not.toContain(i);
    }
  });

  it("rewrap --add-key age1…: a local-key file gains the recipient, ciphertexts unchanged", async () => {
    const dir = join(root, "add");
    mkdirSync(dir);
    const keyFile = join(dir, "local-keys");
    const env = { ...noKeys, SEALFIG_KEY_FILE: keyFile };
    const gen = await runSealfig(["keygen"], { cwd: dir, env });
    expect(gen.code, gen.stderr).toBe(0);
    chmodSync(keyFile, 0o600);
    const lk = `local:${gen.stdout.trim().split("\n").at(-1)!.replace(/^local:/, "")}`;
    const init = await runSealfig(["init", "--key", lk, "--context", "app=shop"], {
      cwd: dir,
      env,
    });
    expect(init.code, init.stderr).toBe(0);
    writeFileSync(join(dir, "app.yaml"), "db:\n  password: hunter2\n");
    expect((await runSealfig(["encrypt", "-i", "app.yaml"], { cwd: dir, env })).code).toBe(0);
    const before = blobsOf(readFileSync(join(dir, "app.yaml"), "utf8"));

    const add = await runSealfig(["rewrap", "--add-key", recipients[0]!, "app.yaml"], {
      cwd: dir,
      env,
    });
    expect(add.code, add.stderr).toBe(0);
    const after = blobsOf(readFileSync(join(dir, "app.yaml"), "utf8"));
    expect(after.map(body)).toEqual(before.map(body));
    const slots = parseBlob(after[0]!).slots.map((s) => s.keyId);
    expect(slots).toEqual([parseBlob(before[0]!).slots[0]!.keyId, recipients[0]]);

    // Not trusted until the rules name it (docs/keys.md: add the key to the rule's keys).
    const ageOnly = { ...noKeys, SEALFIG_AGE_KEY: identities[0]! };
    const untrusted = await runSealfig(["get", "app.yaml", "db.password"], {
      cwd: dir,
      env: ageOnly,
    });
    expect(untrusted.code).toBe(5);
    expect(untrusted.stderr).toContain("KEY_UNTRUSTED");
    const rules = await runSealfig(
      ["init", "--force", "--key", lk, "--key", recipients[0]!, "--context", "app=shop"],
      { cwd: dir, env },
    );
    expect(rules.code, rules.stderr).toBe(0);

    // The age identity alone (no local key file) now opens it.
    const get = await runSealfig(["get", "app.yaml", "db.password"], { cwd: dir, env: ageOnly });
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toBe("hunter2\n");
  });
});
