/**
 * Reviewer findings on several keys per value (issue 17), each pinned through the CLI as a process:
 * `KEYS_UNAVAILABLE` carries every tried key's own reason and advice and a closing hint built from
 * the kinds of keys in the list (and says when the integrity record is what could not be opened);
 * a write that seals values for fewer keys than the file's values carry warns, naming the keys
 * dropped; `rewrap` that would change nothing is refused (`REWRAP_NO_CHANGE`, exit 2) and writes
 * nothing; `rewrap --to` prints the same "update the rules" note as `--add-key`.
 */
import { afterAll, describe, expect, it } from "vitest";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSealfig } from "../_helpers/cli.ts";
import { AGE_IDENTITIES, AGE_RECIPIENTS, blobsOf, noKeysEnv } from "../_helpers/age_fixture.ts";
import { parseBlob } from "../../document.ts";

const root = mkdtempSync(join(tmpdir(), "sealfig-multikey-fixes-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const identities = AGE_IDENTITIES;
const recipients = AGE_RECIPIENTS;
const noKeys = noKeysEnv(root);

/** A directory with a local key (key file 0600) and a rule naming `keys`; app.yaml sealed. */
async function setup(name: string, extraKeys: (lk: string) => string[]) {
  const dir = join(root, name);
  mkdirSync(dir);
  const keyFile = join(dir, "local-keys");
  const env = { ...noKeys, SEALFIG_KEY_FILE: keyFile };
  const gen = await runSealfig(["keygen"], { cwd: dir, env });
  expect(gen.code, gen.stderr).toBe(0);
  chmodSync(keyFile, 0o600);
  const lk = `local:${gen.stdout.trim().split("\n").at(-1)!.replace(/^local:/, "")}`;
  const init = await runSealfig(
    ["init", ...extraKeys(lk).flatMap((k) => ["--key", k]), "--context", "app=shop"],
    { cwd: dir, env },
  );
  expect(init.code, init.stderr).toBe(0);
  writeFileSync(join(dir, "app.yaml"), "db:\n  password: hunter2\napi:\n  token: tok-9\n");
  const enc = await runSealfig(["encrypt", "-i", "app.yaml"], { cwd: dir, env });
  expect(enc.code, enc.stderr).toBe(0);
  return { dir, keyFile, env, lk };
}

describe("KEYS_UNAVAILABLE keeps each key's own advice", () => {
  it("local + age: key file mode, missing identity: the advice names them, not KMS", async () => {
    const { dir, keyFile, env } = await setup("kinds", (lk) => [lk, recipients[0]!]);
    chmodSync(keyFile, 0o644);
    const open = await runSealfig(["get", "app.yaml", "db.password"], { cwd: dir, env });
    chmodSync(keyFile, 0o600);
    expect(open.code).toBe(5);
    expect(open.stderr).toContain("KEYS_UNAVAILABLE");
    expect(open.stderr).toContain("KEY_FILE_PERMISSIONS");
    // The local key's own message and hint survive the combination.
    expect(open.stderr).toContain(`chmod 600 ${keyFile}`);
    // The closing advice follows the kinds of keys in the list.
    expect(open.stderr).toContain("SEALFIG_AGE_KEY_FILE");
    expect(open.stderr).not.toContain("KMS");
    // The record is checked first, and the error says so.
    expect(open.stderr).toContain("integrity record's data key");
    expect(open.stderr).not.toContain("hunter2");

    const none = await runSealfig(["get", "app.yaml", "db.password"], { cwd: dir, env: noKeys });
    expect(none.code).toBe(5);
    expect(none.stderr).toContain("KEYS_UNAVAILABLE");
    expect(none.stderr).toContain("SEALFIG_AGE_KEY");
    expect(none.stderr).toContain("SEALFIG_KEY");
    expect(none.stderr).not.toContain("KMS");

    const bad = await runSealfig(["get", "app.yaml", "db.password"], {
      cwd: dir,
      env: { ...noKeys, SEALFIG_AGE_KEY: identities[0]!.slice(0, -6) + "qqqqqq" },
    });
    expect(bad.code).toBe(5);
    expect(bad.stderr).toContain("KEY_INVALID");
    for (const i of identities) expect(bad.stderr).not.toContain(i.slice(20));
  });
});

describe("rewrap --add-key before the rules name the key", () => {
  it("untrusted advice, writes that drop the key warn, no-op rewraps refused, --to notes", async () => {
    const { dir, keyFile, env, lk } = await setup("added", (lk) => [lk]);
    const file = join(dir, "app.yaml");
    const add = await runSealfig(["rewrap", "--add-key", recipients[0]!, "app.yaml"], {
      cwd: dir,
      env,
    });
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toContain("note: add");

    // Refused: every value already has the key; no value has the key to remove. Nothing written.
    const sealed = readFileSync(file, "utf8");
    const again = await runSealfig(["rewrap", "--add-key", recipients[0]!, "app.yaml"], {
      cwd: dir,
      env,
    });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("REWRAP_NO_CHANGE");
    expect(again.stderr).toContain("already has");
    const gone = await runSealfig(["rewrap", "--remove-key", recipients[1]!, "app.yaml"], {
      cwd: dir,
      env,
    });
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain("REWRAP_NO_CHANGE");
    expect(gone.stderr).toContain("not a key of any value");
    expect(readFileSync(file, "utf8")).toBe(sealed);

    // Only the added (untrusted) age key held: the advice is to trust it, not to "get a key".
    const ageOnly = { ...noKeys, SEALFIG_AGE_KEY: identities[0]! };
    const untrusted = await runSealfig(["get", "app.yaml", "db.password"], {
      cwd: dir,
      env: ageOnly,
    });
    expect(untrusted.code).toBe(5);
    expect(untrusted.stderr).toContain("trusted_keys");
    expect(untrusted.stderr).not.toContain("KMS");

    // set and rotate seal for the rule's keys only: each warns, naming the key dropped.
    const set = await runSealfig(["set", "app.yaml", "api.token", "tok-10"], { cwd: dir, env });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toContain("warning");
    expect(set.stderr).toContain(recipients[0]!);
    const token = blobsOf(readFileSync(file, "utf8")).map(parseBlob).find((b) =>
      !b.slots.some((s) => s.keyId === recipients[0])
    );
    expect(token, "the new value is sealed without the added key").toBeDefined();
    const rotate = await runSealfig(["rotate", "app.yaml"], { cwd: dir, env });
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(rotate.stderr).toContain("warning");
    expect(rotate.stderr).toContain(recipients[0]!);
    // Nothing left to drop: a further write is silent.
    const quiet = await runSealfig(["set", "app.yaml", "api.token", "tok-11"], { cwd: dir, env });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toContain("warning");

    // rewrap --to a key the rule does not name: the same note as --add-key.
    const gen = await runSealfig(["keygen"], { cwd: dir, env });
    expect(gen.code, gen.stderr).toBe(0);
    chmodSync(keyFile, 0o600);
    const to = `local:${gen.stdout.trim().split("\n").at(-1)!.replace(/^local:/, "")}`;
    expect(to).not.toBe(lk);
    const moved = await runSealfig(["rewrap", "--to", to, "app.yaml"], { cwd: dir, env });
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stderr).toContain(`note: add ${to}`);
  });
});
