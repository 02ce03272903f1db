import { afterAll, describe, expect, it } from "vitest";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { LocalKeyProvider, SealfigError } from "../../mod.ts";
import { addKeyToFile } from "../../src/keys/local.ts";
import { renderings } from "../_helpers/leaks.ts";

const dir = mkdtempSync(join(tmpdir(), "sealfig-local-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(p: Promise<unknown>): Promise<SealfigError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SealfigError);
  return err as SealfigError;
}

describe("LocalKeyProvider", () => {
  it("wraps and unwraps a data key bound to its context", async () => {
    const { id, key } = await LocalKeyProvider.generateKey();
    expect(id).toMatch(/^lk_[0-9a-f]{16}$/);
    const p = new LocalKeyProvider({ keys: [key] });
    const dk = await p.generateDataKey(id, { env: "prod" });
    expect(dk.plaintext.length).toBe(32);
    expect(dk.keyId).toBe(id);
    expect(await p.decryptDataKey(id, dk.wrapped, { env: "prod" })).toEqual(dk.plaintext);
    const err = await failure(p.decryptDataKey(id, dk.wrapped, { env: "dev" }));
    expect(err.code).toBe("DEK_UNWRAP_FAILED");
    expect(err.keyId).toBe(id);
  });

  it("re-wraps a data key under another local key", async () => {
    const a = await LocalKeyProvider.generateKey();
    const b = await LocalKeyProvider.generateKey();
    const p = new LocalKeyProvider({ keys: [a.key, b.key] });
    const dk = await p.generateDataKey(a.id, {});
    const re = await p.rewrapDataKey(a.id, dk.wrapped, {}, b.id);
    expect(re.keyId).toBe(b.id);
    expect(await p.decryptDataKey(b.id, re.wrapped, {})).toEqual(dk.plaintext);
  });

  it("reports a missing key with KEY_NOT_FOUND and what to do", async () => {
    const p = new LocalKeyProvider({ keyFile: join(dir, "absent") });
    const prev = process.env.SEALFIG_KEY;
    delete process.env.SEALFIG_KEY;
    try {
      const err = await failure(p.generateDataKey("lk_0000000000000000", {}));
      expect(err.code).toBe("KEY_NOT_FOUND");
      // The key is someone's secret: the fix is to get it, not to make a new one (keygen makes a
      // key with another id, which would not open or seal for this one).
      expect(err.hint).toContain("lk_0000000000000000 is a secret its holder has");
      expect(err.hint).toContain("SEALFIG_KEY");
      expect(err.hint).toMatch(/keygen makes a new key, with another id/);
    } finally {
      if (prev !== undefined) process.env.SEALFIG_KEY = prev;
    }
  });

  it("reads keys from a 0600 key file made by addKeyToFile()", async () => {
    const file = join(dir, "cfg", "keys");
    const id1 = await addKeyToFile(file);
    const id2 = await addKeyToFile(file);
    if (process.platform !== "win32") expect(statSync(file).mode & 0o777).toBe(0o600);
    const p = new LocalKeyProvider({ keyFile: file });
    expect((await p.keyIds()).sort()).toEqual([id1, id2].sort());
    expect(readFileSync(file, "utf8")).toContain("# " + id1);
  });

  it("refuses a key file readable by others with KEY_FILE_PERMISSIONS", async () => {
    if (process.platform === "win32") return; // POSIX modes only
    const file = join(dir, "loose");
    const { key } = await LocalKeyProvider.generateKey();
    writeFileSync(file, key + "\n");
    chmodSync(file, 0o644);
    const err = await failure(new LocalKeyProvider({ keyFile: file }).keyIds());
    expect(err.code).toBe("KEY_FILE_PERMISSIONS");
    expect(err.message).toContain("chmod 600");
    expect(renderings(err)).not.toContain(key);
  });

  it("reports a malformed key with KEY_INVALID and the line, never the key text", async () => {
    const file = join(dir, "bad");
    writeFileSync(file, "# comment\nsealfig-local-key-v1:tooShortSECRETISH\n", { mode: 0o600 });
    const err = await failure(new LocalKeyProvider({ keyFile: file }).keyIds());
    expect(err.code).toBe("KEY_INVALID");
    expect(err.message).toContain(`${file}:2`);
    expect(renderings(err)).not.toContain("tooShortSECRETISH");
  });

  it("takes one key from SEALFIG_KEY", async () => {
    const { id, key } = await LocalKeyProvider.generateKey();
    const prev = process.env.SEALFIG_KEY;
    process.env.SEALFIG_KEY = key;
    try {
      const p = new LocalKeyProvider({ keyFile: join(dir, "absent") });
      expect(await p.keyIds()).toEqual([id]);
    } finally {
      if (prev === undefined) delete process.env.SEALFIG_KEY;
      else process.env.SEALFIG_KEY = prev;
    }
  });
});
