import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runSealfig } from "../_helpers/cli.ts";
import { decryptValue, parseBlob } from "../../document.ts";
import { LocalKeyProvider } from "../../mod.ts";
import { readDocument } from "../../src/document/document.ts";
import { sealDocument } from "../../src/document/seal.ts";
import { stampDocument } from "../../src/integrity/verify.ts";
import { parseIntegrityRecord, stripIntegrityLines } from "../../src/integrity/record.ts";
import { startKmsServer } from "../../src/kms_server/server.ts";
import type { KmsServer } from "../../src/kms_server/server.ts";

const editor = `node ${
  JSON.stringify(fileURLToPath(new URL("../fixtures/editors/replace.mjs", import.meta.url)))
}`;
const CANARY = "canary-pw-5b0e11";

const root = mkdtempSync(join(tmpdir(), "sealfig-cmd-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A fresh repo dir with a key, a rules file and a sealed config/prod.yaml. */
async function setup(): Promise<
  { dir: string; env: Record<string, string | undefined>; file: string }
> {
  const dir = join(root, `r${n++}`);
  const scratch = join(dir, ".scratch");
  mkdirSync(join(dir, "config"), { recursive: true });
  mkdirSync(scratch);
  const env = {
    SEALFIG_KEY_FILE: join(dir, ".keys"),
    SEALFIG_KEY: undefined,
    SEALFIG_TMPDIR: scratch,
    SEALFIG_EDITOR: editor,
  };
  expect(
    (await runSealfig(["init", "--context", "env=prod", "--files", "^config/"], { cwd: dir, env }))
      .code,
  )
    .toBe(0);
  writeFileSync(
    join(dir, "config", "prod.yaml"),
    [
      "# Production settings",
      "db:",
      "  host: db.internal   # primary",
      `  password: !secret ${CANARY}`,
      "  port: 5432",
      "",
      "# Third parties",
      "stripe_token: !secret sk_live_123",
      "servers:",
      "  - name: a",
      "    api_key: !secret key-a",
      "",
    ].join("\n"),
  );
  const enc = await runSealfig(["encrypt", "-i", "config/prod.yaml"], { cwd: dir, env });
  expect(enc.code, enc.stderr).toBe(0);
  git(dir, "init", "-q", ".");
  git(dir, "add", "config", ".sealfig.yaml");
  git(dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init");
  return { dir, env, file: join(dir, "config", "prod.yaml") };
}

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd: dir, encoding: "utf8" });
}

function scratchEmpty(dir: string): boolean {
  return readdirSync(join(dir, ".scratch")).length === 0;
}

describe("sealfig edit", () => {
  it("changes exactly one line when the editor changes one value; comments and order intact", async () => {
    const { dir, env, file } = await setup();
    const before = readFileSync(file, "utf8");
    const r = await runSealfig(["edit", "config/prod.yaml"], {
      cwd: dir,
      env: { ...env, EDIT_FROM: "port: 5432", EDIT_TO: "port: 6432" },
    });
    expect(r.code, r.stderr).toBe(0);
    // The value's line, and the integrity record line (next generation, new MAC).
    expect(git(dir, "diff", "--numstat").trim()).toBe("2\t2\tconfig/prod.yaml");
    const after = readFileSync(file, "utf8");
    expect(stripIntegrityLines(after)).toBe(
      stripIntegrityLines(before).replace("port: 5432", "port: 6432"),
    );
    expect(scratchEmpty(dir)).toBe(true);
  });

  it("changing one secret changes only its line, and the new value decrypts", async () => {
    const { dir, env, file } = await setup();
    const r = await runSealfig(["edit", "config/prod.yaml"], {
      cwd: dir,
      env: { ...env, EDIT_FROM: CANARY, EDIT_TO: "rotated-pw" },
    });
    expect(r.code, r.stderr).toBe(0);
    // The value's line and the integrity record line.
    expect(git(dir, "diff", "--numstat").trim()).toBe("2\t2\tconfig/prod.yaml");
    const get = await runSealfig(["get", "config/prod.yaml", "db.password"], { cwd: dir, env });
    expect(get.stdout).toBe("rotated-pw\n");
    expect(r.stderr + r.stdout).not.toContain("rotated-pw");
    expect(readFileSync(file, "utf8")).toContain("# Third parties");
    expect(scratchEmpty(dir)).toBe(true);
  });

  it("makes no change when the editor exits non-zero", async () => {
    const { dir, env, file } = await setup();
    const before = readFileSync(file);
    const r = await runSealfig(["edit", "config/prod.yaml"], {
      cwd: dir,
      env: { ...env, EDIT_FROM: "5432", EDIT_TO: "1", EDIT_EXIT: "3" },
    });
    expect(r.code).toBe(9);
    expect(readFileSync(file)).toEqual(before);
    expect(scratchEmpty(dir)).toBe(true);
  });

  it("touches nothing when the text did not change", async () => {
    const { dir, env, file } = await setup();
    const mtime = statSync(file).mtimeMs;
    const r = await runSealfig(["edit", "config/prod.yaml"], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("has not changed");
    expect(statSync(file).mtimeMs).toBe(mtime);
  });

  it("offers to reopen the editor on invalid YAML, keeping the user's text", async () => {
    const { dir, env } = await setup();
    const counter = join(dir, ".scratch-counter");
    const r = await runSealfig(["edit", "config/prod.yaml"], {
      cwd: dir,
      env: { ...env, EDIT_INVALID_ONCE: counter, EDIT_FROM: "\n  bad: [unclosed\n", EDIT_TO: "" },
      input: "y\n",
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("Reopen the editor");
    expect(r.stderr).not.toContain(CANARY);
    // The second run started from the invalid text (kept) and removed the bad lines: no change left.
    expect(r.stderr).toContain("has not changed");
    expect(git(dir, "diff", "--numstat").trim()).toBe("");
    expect(scratchEmpty(dir)).toBe(true);
    expect(existsSync(counter)).toBe(true);
  });

  it("discards the edit when the user declines to reopen", async () => {
    const { dir, env, file } = await setup();
    const before = readFileSync(file);
    const r = await runSealfig(["edit", "config/prod.yaml"], {
      cwd: dir,
      env: { ...env, EDIT_INVALID_ONCE: join(dir, ".c2") },
      input: "n\n",
    });
    expect(r.code).toBe(9);
    expect(readFileSync(file)).toEqual(before);
    expect(scratchEmpty(dir)).toBe(true);
  });

  it("leaves no plaintext on disk when killed with SIGTERM during the edit", async () => {
    if (process.platform === "win32") return; // POSIX signals only
    const { dir, env, file } = await setup();
    const before = readFileSync(file);
    const marker = join(dir, ".editor-started");
    const r = await runSealfig(["edit", "config/prod.yaml"], {
      cwd: dir,
      env: { ...env, EDIT_WAIT: marker },
      onSpawn: (child) => {
        const poll = setInterval(() => {
          // The editor writes the marker non-atomically: wait for its content (an empty read
          // under load made this test time out).
          const written = existsSync(marker) ? readFileSync(marker, "utf8") : "";
          if (written !== "") {
            clearInterval(poll);
            // The plaintext is in the scratch dir right now.
            expect(readFileSync(written, "utf8")).toContain(CANARY);
            child.kill("SIGTERM");
          }
        }, 20);
      },
    });
    expect(r.code === 143 || r.signal === "SIGTERM").toBe(true);
    expect(scratchEmpty(dir)).toBe(true);
    expect(readFileSync(file)).toEqual(before);
  });

  it("killed with SIGKILL, leaves its scratch dir; the next edit removes it before making its own", async () => {
    if (process.platform === "win32") return; // POSIX signals only
    const { dir, env, file } = await setup();
    const before = readFileSync(file);
    const marker = join(dir, ".editor-started");
    let plaintextFile = "";
    const r = await runSealfig(["edit", "config/prod.yaml"], {
      cwd: dir,
      env: { ...env, EDIT_WAIT: marker },
      onSpawn: (child) => {
        const poll = setInterval(() => {
          // The editor writes its pid, then the marker (not atomically: wait for its content).
          const written = existsSync(marker) ? readFileSync(marker, "utf8") : "";
          if (written !== "") {
            clearInterval(poll);
            plaintextFile = written;
            const editorPid = Number(readFileSync(`${marker}.pid`, "utf8"));
            // sealfig dies first (no handler runs), then its orphaned editor.
            child.once("exit", () => process.kill(editorPid, "SIGTERM"));
            child.kill("SIGKILL");
          }
        }, 20);
      },
    });
    expect(r.signal).toBe("SIGKILL");
    expect(readFileSync(file)).toEqual(before);
    // What SIGKILL leaves: the private dir, named for the dead process, plaintext inside.
    const left = readdirSync(join(dir, ".scratch"));
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^sealfig-edit-[0-9]+-/);
    expect(readFileSync(plaintextFile, "utf8")).toContain(CANARY);
    // The next command that makes such a dir sweeps it first, and removes its own on exit.
    const again = await runSealfig(["edit", "config/prod.yaml"], { cwd: dir, env });
    expect(again.code).toBe(0);
    expect(existsSync(plaintextFile)).toBe(false);
    expect(scratchEmpty(dir)).toBe(true);
  });

  it("creates a new file", async () => {
    const { dir, env } = await setup();
    const r = await runSealfig(["edit", "config/new.yaml"], {
      cwd: dir,
      env: { ...env, EDIT_FROM: "", EDIT_TO: "token: !secret new-token\n" },
    });
    expect(r.code, r.stderr).toBe(0);
    const doc = await readDocument(join(dir, "config", "new.yaml"));
    expect(doc.get("token")?.kind).toBe("sealed");
  });
});

describe("sealfig set / get / unset / check / status / decrypt", () => {
  it("set seals a value from stdin without touching other lines; unset removes it", async () => {
    const { dir, env, file } = await setup();
    const r = await runSealfig(["set", "config/prod.yaml", "db.user", "-"], {
      cwd: dir,
      env,
      input: "app\n",
    });
    expect(r.code, r.stderr).toBe(0);
    // One added line, and the integrity record line.
    expect(git(dir, "diff", "--numstat").trim()).toBe("2\t1\tconfig/prod.yaml");
    expect((await runSealfig(["get", "config/prod.yaml", "db.user"], { cwd: dir, env })).stdout)
      .toBe("app\n");
    expect((await runSealfig(["unset", "config/prod.yaml", "db.user"], { cwd: dir, env })).code)
      .toBe(0);
    // Back to the committed content; only the record differs (its generation only goes up).
    expect(git(dir, "diff", "--numstat").trim()).toBe("1\t1\tconfig/prod.yaml");
    expect(stripIntegrityLines(readFileSync(file, "utf8"))).toBe(
      stripIntegrityLines(git(dir, "show", "HEAD:config/prod.yaml")),
    );
    const missing = await runSealfig(["get", "config/prod.yaml", "db.nope"], { cwd: dir, env });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("db.nope");
    expect(readFileSync(file, "utf8")).not.toContain("app\n");
  });

  it("check fails on a plaintext password in a rules-marked path and passes after encrypt -i", async () => {
    const { dir, env, file } = await setup();
    writeFileSync(file, readFileSync(file, "utf8") + "admin_password: plain-text-pw\n");
    const bad = await runSealfig(["check", "config/prod.yaml"], { cwd: dir, env });
    expect(bad.code).toBe(6);
    expect(bad.stderr).toContain("admin_password");
    expect(bad.stderr).not.toContain("plain-text-pw");
    // The hand edit broke the integrity record: encrypt refuses until told the edit is genuine.
    const refused = await runSealfig(["encrypt", "-i", "config/prod.yaml"], { cwd: dir, env });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain("INTEGRITY_INVALID");
    expect(
      (await runSealfig(["encrypt", "-i", "--force", "config/prod.yaml"], { cwd: dir, env })).code,
    ).toBe(0);
    const good = await runSealfig(["check", "--decrypt", "config/prod.yaml"], { cwd: dir, env });
    expect(good.code, good.stderr).toBe(0);
    const tagged = join(dir, "config", "tagged.yaml");
    writeFileSync(tagged, "x: !secret unsealed\n");
    expect((await runSealfig(["check", "config/tagged.yaml"], { cwd: dir, env })).code).toBe(6);
  });

  it("encrypt twice changes nothing; decrypt shows !secret tags", async () => {
    const { dir, env, file } = await setup();
    const before = readFileSync(file, "utf8");
    expect((await runSealfig(["encrypt", "-i", "config/prod.yaml"], { cwd: dir, env })).code).toBe(
      0,
    );
    expect(readFileSync(file, "utf8")).toBe(before);
    const dec = await runSealfig(["decrypt", "config/prod.yaml"], { cwd: dir, env });
    expect(dec.stdout).toContain(`password: !secret ${CANARY}`);
    // The decrypted view, sealed with --previous, gives the committed file back byte for byte.
    writeFileSync(join(dir, "plain.yaml"), dec.stdout);
    const again = await runSealfig([
      "encrypt",
      "plain.yaml",
      "--previous",
      "config/prod.yaml",
      "--rules",
      ".sealfig.yaml",
      "--key",
      `local:${await keyIdOf(env)}`,
      "--context",
      "env=prod",
    ], { cwd: dir, env });
    expect(again.stdout).toBe(before);
  });

  it("status reports sealed values, keys and data keys", async () => {
    const { dir, env } = await setup();
    const r = await runSealfig(["status", "config/prod.yaml"], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("sealed: 3");
    expect(r.stdout).toContain("distinct data keys: 1");
    expect(r.stdout).toContain("env=prod");
  });

  it("a malformed blob gives exit 3 with file:line:col, and a blob moved to another path exit 4", async () => {
    const { dir, env, file } = await setup();
    const text = readFileSync(file, "utf8");
    const blob = /password: (sealfig:v1:\S+)/.exec(text)![1]!;
    writeFileSync(file, text.replace(blob, blob.slice(0, 40)));
    // The integrity record catches both changes first (exit 4, naming the file) ...
    const tampered = await runSealfig(["decrypt", "config/prod.yaml"], { cwd: dir, env });
    expect(tampered.code).toBe(4);
    expect(tampered.stderr).toContain("config/prod.yaml");
    expect(tampered.stderr).toContain("INTEGRITY_INVALID");
    // ... and without it, each blob's own check names the place.
    const skip = "--insecure-skip-integrity";
    const r = await runSealfig(["decrypt", skip, "config/prod.yaml"], { cwd: dir, env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/config\/prod\.yaml:4:\d+/);
    writeFileSync(file, text.replace(/stripe_token: \S+/, `stripe_token: ${blob}`));
    const moved = await runSealfig(["decrypt", skip, "config/prod.yaml"], { cwd: dir, env });
    expect(moved.code).toBe(4);
    expect(moved.stderr).toContain("stripe_token");
    const errors = moved.stderr.trim().split("\n").filter((l) => !l.includes("WARNING"));
    expect(errors).toHaveLength(1);
  });
});

async function keyIdOf(env: Record<string, string | undefined>): Promise<string> {
  const ids = await new LocalKeyProvider({ keyFile: env.SEALFIG_KEY_FILE! }).keyIds();
  return ids[0]!;
}

describe("sealfig seal-env", () => {
  it("prints NAME=blob sealed for that variable: it opens as that variable only, never in a file", async () => {
    const { dir, env } = await setup();
    // The rules cover ^config/ only: the key comes from --key (else the rules' key for .env).
    const key = `local:${await keyIdOf(env)}`;
    const r = await runSealfig(["seal-env", "APP_DB__PASSWORD", "-", "--key", key], {
      cwd: dir,
      env,
      input: `${CANARY}-env\n`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain(CANARY);
    const m = /^APP_DB__PASSWORD=(sealfig:v1:\S+)\n$/.exec(r.stdout);
    expect(m).not.toBeNull();
    const blob = m![1]!;
    const providers = [new LocalKeyProvider({ keyFile: env.SEALFIG_KEY_FILE! })];
    const open = (path: string, context: Record<string, string>) =>
      decryptValue(blob, { providers, path, context });
    await expect(open("APP_DB__PASSWORD", { "sealfig:source": "env" })).resolves.toBe(
      `${CANARY}-env`,
    );
    // Not at the config path, not as another variable, not without the env binding.
    for (
      const [path, ctx] of [
        ["db.password", { "sealfig:source": "env" }],
        ["APP_API__TOKEN", { "sealfig:source": "env" }],
        ["APP_DB__PASSWORD", {}],
        ["db.password", {}],
      ] as const
    ) {
      await expect(open(path, ctx), `${path}`).rejects.toMatchObject({
        code: expect.stringMatching(/BLOB_AUTH_FAILED|DEK_UNWRAP_FAILED/),
      });
    }
    const bad = await runSealfig(["seal-env", "not a name", "x"], { cwd: dir, env });
    expect(bad.code).toBe(2);
    // With --context (the loader's env.context): it was refused as a reserved key, because the
    // .env target's own context (with sealfig:source) was used instead of the flags.
    const withContext = await runSealfig(
      ["seal-env", "APP_DB__PASSWORD", "-", "--key", key, "--context", "team=blue"],
      { cwd: dir, env, input: `${CANARY}-ctx\n` },
    );
    expect(withContext.code, withContext.stderr).toBe(0);
    const ctxBlob = /^APP_DB__PASSWORD=(sealfig:v1:\S+)\n$/.exec(withContext.stdout)![1]!;
    await expect(
      decryptValue(ctxBlob, {
        providers,
        path: "APP_DB__PASSWORD",
        context: { team: "blue", "sealfig:source": "env" },
      }),
    ).resolves.toBe(`${CANARY}-ctx`);
  });
});

describe("sealfig run", () => {
  it("says in its help that key material never reaches the child", async () => {
    const r = await runSealfig(["run", "--help"], {});
    expect(r.code).toBe(0);
    for (const name of ["SEALFIG_KEY,", "SEALFIG_KEY_FILE", "SEALFIG_AGE_KEY"]) {
      expect(r.stdout + r.stderr).toContain(name);
    }
  });

  it("passes a multi-line PEM and a value with spaces and quotes to the child intact", async () => {
    const { dir, env } = await setup();
    const pem =
      "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\nkqhkiG9w0BAQEF\n-----END PRIVATE KEY-----\n";
    const quoted = `it's "quoted"  with  spaces $HOME \`x\``;
    expect(
      (await runSealfig(["set", "config/prod.yaml", "tls.key", "-"], {
        cwd: dir,
        env,
        input: pem + "\n",
      })).code,
    )
      .toBe(0);
    expect(
      (await runSealfig(["set", "config/prod.yaml", "greeting", quoted], { cwd: dir, env })).code,
    ).toBe(0);
    const r = await runSealfig([
      "run",
      "-f",
      "config/prod.yaml",
      "--prefix",
      "APP_",
      "--",
      "node",
      "-e",
      "process.stdout.write(JSON.stringify({pem: process.env.APP_TLS__KEY, q: process.env.APP_GREETING, " +
      "port: process.env.APP_DB__PORT, key: process.env.APP_SERVERS__0__API_KEY})); process.exit(7)",
    ], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(7);
    const seen = JSON.parse(r.stdout) as Record<string, string>;
    expect(seen).toEqual({ pem, q: quoted, port: "5432", key: "key-a" });
  });
});

describe("sealfig rotate / rewrap", () => {
  it("rewrap of a malformed blob: exit 3 naming file:line:col and the path; the file is untouched", async () => {
    const { dir, env, file } = await setup();
    const text = readFileSync(file, "utf8");
    const blob = /password: (sealfig:v1:\S+)/.exec(text)![1]!;
    writeFileSync(file, text.replace(blob, blob.slice(0, 40)));
    // No sealfig command writes a malformed blob (not even stamp --force: every write leaves a
    // file check accepts)…
    const stamp = await runSealfig(["stamp", "--force", "config/prod.yaml"], { cwd: dir, env });
    expect(stamp.code).toBe(3);
    expect(stamp.stderr).toContain("BLOB_MALFORMED");
    // …so vouch for the damaged file through the library, for rewrap itself to meet the blob.
    const local = new LocalKeyProvider({ keyFile: env.SEALFIG_KEY_FILE! });
    const doc = await readDocument(file);
    const record = parseIntegrityRecord(doc.get("sealfig_integrity")!.value as string);
    const stamped = await stampDocument(doc, {
      provider: local,
      keyId: record.keyId,
      context: { env: "prod" },
      generation: record.generation + 1,
    });
    writeFileSync(file, stamped.document.toBytes());
    const damaged = readFileSync(file, "utf8");
    const newId = (await runSealfig(["keygen"], { cwd: dir, env })).stdout.trim();
    const r = await runSealfig(["rewrap", "--to", `local:${newId}`, "config/prod.yaml"], {
      cwd: dir,
      env,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/config\/prod\.yaml:4:\d+ at "db\.password"/);
    expect(r.stderr).toContain("BLOB_MALFORMED");
    expect(readFileSync(file, "utf8")).toBe(damaged);
  });

  it("rotate and rewrap 20 files: every file still loads; rewrap keeps ciphertexts", async () => {
    const { dir, env } = await setup();
    const files: string[] = [];
    for (let i = 0; i < 20; i++) {
      const f = `config/svc${i}.yaml`;
      writeFileSync(
        join(dir, f),
        `svc: ${i}\npassword: !secret pw-${i}\ntoken: !secret tok-${i}\n`,
      );
      files.push(f);
    }
    // Seal them in-process (20 CLI start-ups would only measure start-up time).
    const local = new LocalKeyProvider({ keyFile: env.SEALFIG_KEY_FILE! });
    const keyId = (await local.keyIds())[0]!;
    for (const f of files) {
      const { document: sealed } = await sealDocument(await readDocument(join(dir, f)), {
        provider: local,
        keyId,
        context: { env: "prod" },
      });
      const { document } = await stampDocument(sealed, {
        provider: local,
        keyId,
        context: { env: "prod" },
        generation: 1,
      });
      writeFileSync(join(dir, f), document.toBytes());
    }
    const before = files.map((f) => readFileSync(join(dir, f), "utf8"));
    const rot = await runSealfig(["rotate", ...files], { cwd: dir, env });
    expect(rot.code, rot.stderr).toBe(0);
    files.forEach((f, i) => {
      const after = readFileSync(join(dir, f), "utf8");
      expect(after).not.toBe(before[i]);
      expect(after.split("\n")[0]).toBe(`svc: ${i}`);
    });
    // A second local key to re-wrap to.
    const gen = await runSealfig(["keygen"], { cwd: dir, env });
    const newId = gen.stdout.trim();
    const rotated = files.map((f) => readFileSync(join(dir, f), "utf8"));
    const rw = await runSealfig(["rewrap", "--to", `local:${newId}`, ...files], { cwd: dir, env });
    expect(rw.code, rw.stderr).toBe(0);
    const provider = new LocalKeyProvider({ keyFile: env.SEALFIG_KEY_FILE! });
    for (const [i, f] of files.entries()) {
      const doc = await readDocument(join(dir, f));
      const oldDoc = await readDocument(join(dir, f)).then(() => rotated[i]!);
      for (const v of doc.values().filter((x) => x.kind === "sealed")) {
        const blob = parseBlob(v.value as string);
        expect(blob.keyId).toBe(newId);
        const oldBlob = parseBlob(new RegExp(`${v.pathText}: (\\S+)`).exec(oldDoc)![1]!);
        expect(blob.ciphertext).toEqual(oldBlob.ciphertext);
        expect(blob.iv).toEqual(oldBlob.iv);
        const value = await decryptValue(v.value as string, {
          providers: [provider],
          path: v.path,
          context: { env: "prod" },
        });
        expect(value).toBe(`${v.pathText === "password" ? "pw" : "tok"}-${i}`);
      }
    }
  }, 120_000);
});

describe("sealfig with AWS KMS (local KMS server)", () => {
  let kms: KmsServer;
  beforeAll(async () => {
    kms = await startKmsServer({ seed: 7 });
  });
  afterAll(async () => {
    await kms.close();
  });

  it("set works for a caller that may GenerateDataKey but not Decrypt", async () => {
    const key = await kms.createKey({ alias: "alias/app-prod" });
    kms.setPolicy({
      AKIDWRITER: { "*": ["GenerateDataKey"] },
      AKIDADMIN: { "*": ["GenerateDataKey", "Decrypt", "ReEncrypt", "Encrypt", "DescribeKey"] },
    });
    const dir = join(root, "kms");
    mkdirSync(join(dir, "config"), { recursive: true });
    writeFileSync(
      join(dir, ".sealfig.yaml"),
      `rules:\n  - files: ^config/\n    key: ${key.arn}\n    context: { app: shop, env: prod }\n`,
    );
    writeFileSync(join(dir, "config", "prod.yaml"), "db:\n  host: db.internal\n");
    const aws = {
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_REGION: kms.region,
      AWS_SECRET_ACCESS_KEY: "x",
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    const decryptsBefore = kms.stats.count("Decrypt");
    const set = await runSealfig(["set", "config/prod.yaml", "db.password", "kms-secret"], {
      cwd: dir,
      env: { ...aws, AWS_ACCESS_KEY_ID: "AKIDWRITER" },
    });
    expect(set.code, set.stderr).toBe(0);
    expect(kms.stats.count("Decrypt")).toBe(decryptsBefore);
    const doc = await readDocument(join(dir, "config", "prod.yaml"));
    expect(parseBlob(doc.get("db.password")!.value as string).keyId).toBe(key.arn);
    // The writer cannot read it back; the admin can.
    const denied = await runSealfig(["get", "config/prod.yaml", "db.password"], {
      cwd: dir,
      env: { ...aws, AWS_ACCESS_KEY_ID: "AKIDWRITER" },
    });
    expect(denied.code).toBe(5);
    expect(denied.stderr).toContain(key.arn);
    const got = await runSealfig(["get", "config/prod.yaml", "db.password"], {
      cwd: dir,
      env: { ...aws, AWS_ACCESS_KEY_ID: "AKIDADMIN" },
    });
    expect(got.stdout).toBe("kms-secret\n");
  });
});
