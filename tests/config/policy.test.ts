/**
 * One policy for the CLI, `run` and the loader (src/policy.ts), issue 15 bullet by bullet: the
 * loader follows .sealfig.yaml (and `rules` / explicit options override it), plain files load
 * without a record while downgrades stay refused, errors name the real cause, records follow keys,
 * generations only grow through merges, textconv shows both sides and cannot be steered, and a
 * key file's error carries no YAML position. Real files, the CLI in-process through `runCli` (the
 * binary's code without a process start-up each), local keys.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { DekCache, parseDocument, readIntegrityRecord } from "../../document.ts";
import {
  isSealfigError,
  loadConfig,
  type LoadConfigOptions,
  LocalKeyProvider,
  type SealfigError,
} from "../../mod.ts";
import { runCli } from "../../src/cli/main.ts";
import { addKeyToFile } from "../../src/keys/local.ts";
import { policyFor } from "../../src/policy.ts";
import { makeTempDir, type TempDir } from "../_helpers/tmp_dir.ts";

const CANARY = "canary-policy-7f3e";
let t: TempDir;
let keyA: string;
let keyB: string;
let provider: LocalKeyProvider;
const saved = { ...process.env };
const VARS = [
  "SEALFIG_KEY_FILE",
  "SEALFIG_KEY",
  "SEALFIG_TRUSTED_KEYS",
  "SEALFIG_KMS_KEY",
  "SEALFIG_MIN_GENERATION",
];

beforeAll(async () => {
  t = makeTempDir("sealfig-policy-");
  keyA = await addKeyToFile(t.path("keys"));
  keyB = await addKeyToFile(t.path("keys"));
  for (const k of VARS) delete process.env[k];
  process.env.SEALFIG_KEY_FILE = t.path("keys");
  provider = new LocalKeyProvider({ keyFile: t.path("keys") });
});
afterAll(() => {
  for (const k of VARS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  t.cleanup();
});

async function sealfig(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return await sealfigTty(false, ...argv);
}

async function sealfigTty(
  tty: boolean,
  ...argv: string[]
): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const code = await runCli(argv, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    readStdin: () => Promise.resolve(new TextEncoder().encode(CANARY)),
    env: {},
    stderrIsTty: tty,
    stdinIsTty: false,
  });
  expect(out + err).not.toContain("sealfig-local-key-v1:");
  return { code, out, err };
}

async function refusal(options: LoadConfigOptions): Promise<SealfigError> {
  try {
    await loadConfig({ providers: [provider], cache: new DekCache(), ...options });
  } catch (err) {
    if (isSealfigError(err)) {
      expect(err.message).not.toContain(CANARY);
      return err;
    }
    throw err;
  }
  throw new Error("loaded");
}

/** A project: rules for config/ (key A, context app=shop), a plain base and a sealed prod file. */
let dir: string;
let n = 0;
beforeEach(async () => {
  dir = t.path(`p${n++}`);
  mkdirSync(join(dir, "config"), { recursive: true });
  writeFileSync(
    join(dir, ".sealfig.yaml"),
    `rules:\n  - files: '^config/'\n    key: local:${keyA}\n    context: { app: shop, env: prod }\n` +
      "    secret: '(password|token)$'\n",
  );
  writeFileSync(join(dir, "config/base.yaml"), "service:\n  port: 8080\ndb:\n  host: db\n");
  writeFileSync(join(dir, "config/prod.yaml"), `db:\n  password: !secret ${CANARY}\n`);
  expect((await sealfig("encrypt", "-i", join(dir, "config/prod.yaml"))).code).toBe(0);
});
const files = () => [join(dir, "config/base.yaml"), join(dir, "config/prod.yaml")];

describe("one policy: the loader follows .sealfig.yaml", () => {
  it("loads with no context or trusted keys in code; rules: false and explicit options override", async () => {
    const config = await loadConfig({
      files: files(),
      providers: [provider],
      cache: new DekCache(),
    });
    expect(config).toEqual({ service: { port: 8080 }, db: { host: "db", password: CANARY } });
    // No rules: no context, so the file's record does not open; reported as what it is.
    const none = await refusal({ files: files(), rules: false });
    expect(none.code).toBe("CONTEXT_MISMATCH");
    // An explicit context wins over the rules (here the wrong one), and the message shows it.
    const wrong = await refusal({ files: files(), context: { env: "prod" } });
    expect(wrong.code).toBe("CONTEXT_MISMATCH");
    expect(wrong.message).toContain('{ env: "prod" }');
    expect(wrong.message).toContain("the loader's context option");
    expect(`${wrong.message} ${wrong.hint}`).not.toContain("stamp --force");
    expect(wrong.file).toBe(join(dir, "config/prod.yaml"));
    // Without the record check, a value that does not open says which context it was given.
    const value = await refusal({ files: files(), context: { env: "prod" }, integrity: "off" });
    expect(value.code).toBe("DEK_UNWRAP_FAILED");
    expect(value.message).toContain('with encryption context { env: "prod" }');
    expect([value.line, value.path]).toEqual([2, "db.password"]);
    // An explicit trusted key list wins too.
    const untrusted = await refusal({ files: files(), trustedKeys: [`local:${keyB}`] });
    expect(untrusted.code).toBe("KEY_UNTRUSTED");
  });

  it("the CLI, run and the loader agree: one policy object per file", async () => {
    const p = await policyFor(join(dir, "config/prod.yaml"));
    expect(p.context).toEqual({ app: "shop", env: "prod" });
    expect(p.keys.map((k) => k.keyId)).toEqual([keyA]);
    expect(p.trustSource).toBe("rules");
    expect(p.integrity).toBe("required");
    expect(p.dekPolicy).toBe("per-file");
    const run = await sealfig(
      "run",
      "-f",
      join(dir, "config/base.yaml"),
      "-f",
      join(dir, "config/prod.yaml"),
      "--",
      process.execPath,
      ...("Deno" in globalThis ? ["eval"] : ["-e"]),
      `process.exit(process.env.DB__PASSWORD === "${CANARY}" ? 0 : 3)`,
    );
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
  });

  it("a rule's integrity: off is honoured by the loader", async () => {
    const rules = readFileSync(join(dir, ".sealfig.yaml"), "utf8");
    writeFileSync(join(dir, ".sealfig.yaml"), `${rules}    integrity: off\n`);
    const prod = join(dir, "config/prod.yaml");
    writeFileSync(prod, readFileSync(prod, "utf8").replace(/^sealfig_integrity:.*\n/m, ""));
    const config = await loadConfig({
      files: [prod],
      providers: [provider],
      cache: new DekCache(),
    });
    expect((config.db as Record<string, unknown>).password).toBe(CANARY);
  });

  it("ignores a rules file other users can write (the CLI says so)", async () => {
    chmodSync(join(dir, ".sealfig.yaml"), 0o666);
    const err = await refusal({ files: files() });
    expect(err.code).toBe("CONTEXT_MISMATCH"); // the rules' context was not used
    const status = await sealfig("status", join(dir, "config/prod.yaml"));
    expect(status.err).toContain(`ignoring ${join(dir, ".sealfig.yaml")}`);
    chmodSync(join(dir, ".sealfig.yaml"), 0o644);
    chmodSync(dir, 0o777); // a world-writable directory without the sticky bit
    try {
      expect((await refusal({ files: files() })).code).toBe("CONTEXT_MISMATCH");
    } finally {
      chmodSync(dir, 0o755);
    }
  });
});

describe("plain files and downgrades", () => {
  it("a file with no sealed value loads without a record; a secret-named plaintext is refused", async () => {
    const base = join(dir, "config/base.yaml");
    expect(readFileSync(base, "utf8")).not.toContain("sealfig_integrity");
    await loadConfig({ files: [base], providers: [], cache: new DekCache() });
    expect((await sealfig("check", base)).code).toBe(0); // check agrees
    // The downgrade: prod's blob replaced by plaintext and its record removed.
    const prod = join(dir, "config/prod.yaml");
    writeFileSync(prod, "db:\n  password: hunter2-plain\n");
    const err = await refusal({ files: [base, prod] });
    expect(err.code).toBe("SECRET_UNSEALED");
    expect([err.file, err.line, err.path]).toEqual([prod, 2, "db.password"]);
    expect((await sealfig("check", prod)).code).toBe(6);
    // Placeholders are not secrets.
    writeFileSync(prod, 'db:\n  password: null\n  token: ""\n');
    await loadConfig({ files: [base, prod], providers: [], cache: new DekCache() });
    // A pinned minimum generation requires the record even of a plain file.
    const pinned = await refusal({ files: [base], minGeneration: { [base]: 1 } });
    expect(pinned.code).toBe("INTEGRITY_ROLLBACK");
  });

  it("a per-file minimum generation naming no loaded file is an error, not silence", async () => {
    process.env.SEALFIG_MIN_GENERATION = "config/prdo.yaml=3";
    try {
      const err = await refusal({ files: files() });
      expect(err.code).toBe("OPTION_INVALID");
      expect(err.message).toContain("config/prdo.yaml");
    } finally {
      delete process.env.SEALFIG_MIN_GENERATION;
    }
    process.env.SEALFIG_MIN_GENERATION = `${join(dir, "config/prod.yaml")}=2`;
    try {
      expect((await refusal({ files: files() })).code).toBe("INTEGRITY_ROLLBACK");
    } finally {
      delete process.env.SEALFIG_MIN_GENERATION;
    }
  });
});

describe("records follow keys; generations only grow", () => {
  const recordKey = (f: string) => readIntegrityRecord(parseDocument(readFileSync(f, "utf8")))!;

  it("rewrap --to, rotate --key and stamp --key move the record of a file with no sealed value", async () => {
    const base = join(dir, "config/base.yaml");
    // During a key rotation the rules trust both keys.
    const rules = readFileSync(join(dir, ".sealfig.yaml"), "utf8");
    writeFileSync(join(dir, ".sealfig.yaml"), `${rules}trusted_keys: [local:${keyB}]\n`);
    expect((await sealfig("stamp", base)).code).toBe(0);
    expect(recordKey(base).keyId).toBe(keyA);
    const rw = await sealfig("rewrap", base, "--to", `local:${keyB}`);
    expect(rw.code, rw.err).toBe(0);
    expect([recordKey(base).keyId, recordKey(base).generation]).toEqual([keyB, 2]);
    const rot = await sealfig("rotate", base, "--key", `local:${keyA}`);
    expect(rot.code, rot.err).toBe(0);
    expect([recordKey(base).keyId, recordKey(base).generation]).toEqual([keyA, 3]);
    const moved = await sealfig("stamp", base, "--key", `local:${keyB}`);
    expect(moved.code, moved.err).toBe(0);
    expect([recordKey(base).keyId, recordKey(base).generation]).toEqual([keyB, 4]);
    // And the sealed file's record moves with its values.
    const prod = join(dir, "config/prod.yaml");
    expect((await sealfig("rewrap", prod, "--to", `local:${keyB}`)).code).toBe(0);
    expect(recordKey(prod).keyId).toBe(keyB);
    expect(readFileSync(prod, "utf8")).not.toContain(keyA);
  });

  it("a refusal names each trusted key once", async () => {
    const prod = join(dir, "config/prod.yaml");
    writeFileSync(
      join(dir, ".sealfig.yaml"),
      `rules:\n  - files: '^config/'\n    key: local:${keyB}\n    context: { app: shop, env: prod }\n` +
        `trusted_keys: [local:${keyB}]\n`,
    );
    const r = await sealfig("rotate", prod, "--key", `local:${keyB}`);
    // KEY_UNTRUSTED exits 4, like content that does not authenticate (README, exit codes).
    expect(r.code).toBe(4);
    expect(r.err).toContain("KEY_UNTRUSTED");
    expect(r.err.split(`local:${keyB}`).length - 1).toBe(1);
  });

  it("a conflicted merge keeps its generation; stamp after the resolution writes max + 1", async () => {
    const prod = join(dir, "config/prod.yaml");
    const base = readFileSync(prod, "utf8");
    const side = async (value: string, times: number) => {
      writeFileSync(prod, base);
      for (let i = 0; i < times; i++) {
        expect((await sealfig("set", prod, "db.port", `${value}${i}`)).code).toBe(0);
      }
      return readFileSync(prod, "utf8");
    };
    const ours = t.write("m/ours.yaml", await side("1", 1)); // generation 2
    const theirs = t.write("m/theirs.yaml", await side("2", 4)); // generation 5
    const baseFile = t.write("m/base.yaml", base);
    // Not a terminal (a CI log): the conflict is named, no value is shown.
    const quiet = await sealfig(
      "merge",
      baseFile,
      t.write("m/ours2.yaml", readFileSync(ours)),
      theirs,
      prod,
    );
    expect(quiet.code).toBe(1);
    expect(quiet.err).toContain("conflict at db.port");
    expect(quiet.err).not.toContain('"10"');
    // On a terminal, whoever can decrypt sees both sides' values (never written to the file).
    const m = await sealfigTty(true, "merge", baseFile, ours, theirs, prod);
    expect(m.code).toBe(1);
    expect(m.err).toContain('current: "10" (sealed)');
    expect(m.err).toContain('other:   "23" (sealed)');
    expect(readFileSync(ours, "utf8")).not.toMatch(/"10"|: 10\b|"23"/);
    const conflicted = readFileSync(ours, "utf8");
    expect(conflicted).toContain("sealfig_integrity: sealfig-merge:v1:5\n");
    // The loader refuses the unresolved file.
    writeFileSync(prod, conflicted.replace(/<<<<<<<[^]*?=======\n/, "").replace(/>>>>>>>.*\n/, ""));
    const unstamped = await refusal({ files: [prod] });
    expect(unstamped.code).toBe("INTEGRITY_MALFORMED");
    expect(unstamped.message).toContain("merge with conflicts");
    // Resolved (theirs kept), stamped: generation 6, and it loads.
    const stamp = await sealfig("stamp", prod);
    expect(stamp.code).toBe(0);
    expect(recordKey(prod).generation).toBe(6);
    const config = await loadConfig({
      files: [prod],
      providers: [provider],
      cache: new DekCache(),
    });
    expect((config.db as Record<string, unknown>).port).toBe("23");
  });

  it("the merge driver refuses a side older than the base", async () => {
    const prod = join(dir, "config/prod.yaml");
    const old = readFileSync(prod, "utf8"); // generation 1
    expect((await sealfig("set", prod, "db.password", "-")).code).toBe(0);
    const base = readFileSync(prod, "utf8"); // generation 2
    expect((await sealfig("set", prod, "db.port", "1")).code).toBe(0);
    const ours = t.write("o/ours.yaml", readFileSync(prod, "utf8")); // generation 3
    const theirs = t.write("o/theirs.yaml", old); // an older, validly stamped file
    const r = await sealfig("merge", t.write("o/base.yaml", base), ours, theirs, prod);
    expect(r.code).toBe(1);
    expect(r.err).toContain("INTEGRITY_ROLLBACK");
    expect(r.err).toContain("older than the base's 2");
    expect(readFileSync(ours, "utf8")).toMatch(/^<<<<<<< /);
  });
});

describe("textconv", () => {
  it("shows a hand-edited file decrypted after one warning line; silent on a plain file", async () => {
    const prod = join(dir, "config/prod.yaml");
    writeFileSync(prod, readFileSync(prod, "utf8").replace("db:\n", "db:\n  host: edited\n"));
    const cwd = process.cwd();
    process.chdir(dir); // git runs textconv at the top level, on the work tree file
    let r, plain;
    try {
      r = await sealfig("textconv", "config/prod.yaml");
      plain = await sealfig("textconv", "config/base.yaml");
    } finally {
      process.chdir(cwd);
    }
    expect(r.code).toBe(0);
    expect(r.out).toContain(`password: !secret ${CANARY}`);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toContain("WARNING");
    expect(r.err).not.toContain(CANARY);
    expect([plain.code, plain.err]).toEqual([0, ""]);
    expect(plain.out).toBe(readFileSync(join(dir, "config/base.yaml"), "utf8"));
  });

  it("a temporary copy: rules from the top level, never from the copy's directory", async () => {
    const prod = join(dir, "config/prod.yaml");
    // git's temporary copy, in a directory where someone planted rules with another context.
    const tmp = t.path(`gittmp${n}`);
    mkdirSync(tmp);
    const copy = join(tmp, "XXXXXX_prod.yaml");
    writeFileSync(copy, readFileSync(prod));
    writeFileSync(
      join(tmp, ".sealfig.yaml"),
      `rules:\n  - files: '.'\n    key: local:${keyB}\n    context: { app: evil }\n    integrity: off\n`,
    );
    const cwd = process.cwd();
    process.chdir(dir); // git runs textconv at the top level
    try {
      const r = await sealfig("textconv", copy);
      expect(r.err).toBe("");
      expect(r.out).toContain(`password: !secret ${CANARY}`);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe("errors name the real cause", () => {
  it("a key file's permission error names the key file, with no YAML position", async () => {
    const keys = t.path("open-keys");
    writeFileSync(keys, readFileSync(t.path("keys")));
    chmodSync(keys, 0o644);
    const err = await refusal({
      files: [join(dir, "config/prod.yaml")],
      providers: [new LocalKeyProvider({ keyFile: keys })],
    });
    expect(err.code).toBe("KEY_FILE_PERMISSIONS");
    expect(err.file).toBe(keys);
    expect([err.line, err.col]).toEqual([undefined, undefined]);
    expect(err.message).not.toMatch(
      new RegExp(`${keys.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d`),
    );
  });
});
