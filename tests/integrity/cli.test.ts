/**
 * Integrity records through the CLI: check/status report them, write commands refuse a file
 * changed outside sealfig (and leave it as it is), read commands can skip the check only loudly,
 * stamp vouches for a file explicitly, and the git merge driver merges two branches that changed
 * different keys into a file that verifies. Commands run in-process through `runCli` (same code as
 * the binary, without a process start-up each); the merge driver runs as git starts it.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import {
  DekCache,
  parseDocument,
  readIntegrityRecord,
  sealDocument,
  stampDocument,
} from "../../document.ts";
import { loadConfig, LocalKeyProvider } from "../../mod.ts";
import { runCli } from "../../src/cli/main.ts";
import { addKeyToFile } from "../../src/keys/local.ts";
import { cliCommand } from "../_helpers/cli.ts";
import { makeTempDir, type TempDir } from "../_helpers/tmp_dir.ts";

const CANARY = "canary-cli-integ-51c2";
const CONTEXT = { env: "prod" };
let t: TempDir;
let keyId: string;
let provider: LocalKeyProvider;
let file: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  t = makeTempDir("sealfig-icli-");
  keyId = await addKeyToFile(t.path("keys"));
  process.env.SEALFIG_KEY_FILE = t.path("keys");
  delete process.env.SEALFIG_KEY;
  delete process.env.SEALFIG_TRUSTED_KEYS;
  delete process.env.SEALFIG_KMS_KEY;
  provider = new LocalKeyProvider({ keyFile: t.path("keys") });
  t.write(
    ".sealfig.yaml",
    `rules:\n  - files: '^config/'\n    key: local:${keyId}\n    context: { env: prod }\n`,
  );
});
afterAll(() => {
  for (const k of ["SEALFIG_KEY_FILE", "SEALFIG_KEY", "SEALFIG_TRUSTED_KEYS", "SEALFIG_KMS_KEY"]) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  t.cleanup();
});

beforeEach(async () => {
  const sealed = await sealDocument(
    parseDocument(`db:\n  host: db.internal\n  password: !secret ${CANARY}\nport: 8080\n`),
    { provider, keyId, context: CONTEXT },
  );
  const { document } = await stampDocument(sealed.document, {
    provider,
    keyId,
    context: CONTEXT,
    generation: 1,
  });
  file = t.write("config/prod.yaml", document.toString());
});
afterEach(() => {});

async function sealfig(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const code = await runCli(argv, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    readStdin: () => Promise.resolve(new Uint8Array()),
    env: {},
    stderrIsTty: false,
    stdinIsTty: false,
  });
  expect(out + err).not.toContain("sealfig-local-key-v1:");
  return { code, out, err };
}

const load = () =>
  loadConfig({ files: [file], providers: [provider], context: CONTEXT, cache: new DekCache() });

describe("sealfig CLI and integrity records", () => {
  it("status and check report the record; check fails (6) on a record mismatch", async () => {
    const status = await sealfig("status", file);
    expect(status.code).toBe(0);
    expect(status.out).toContain(`integrity: valid (generation 1, key local:${keyId})`);
    expect((await sealfig("check", file)).code).toBe(0);
    writeFileSync(file, readFileSync(file, "utf8").replace("port: 8080", "port: 8081"));
    const check = await sealfig("check", file);
    expect(check.code).toBe(6);
    expect(check.err).toContain("record mismatch");
    expect((await sealfig("status", file)).out).toContain("integrity: INVALID");
    writeFileSync(file, readFileSync(file, "utf8").replace(/^sealfig_integrity:.*\n/m, ""));
    const missing = await sealfig("check", file);
    expect(missing.code).toBe(6);
    expect(missing.err).toContain("MISSING");
  });

  it("write commands refuse a file changed outside sealfig and leave it untouched", async () => {
    const tampered = readFileSync(file, "utf8").replace("db.internal", "evil.example");
    writeFileSync(file, tampered);
    for (
      const argv of [
        ["set", file, "db.user", "app"],
        ["unset", file, "port"],
        ["rotate", file],
        ["rewrap", "--to", `local:${keyId}`, file],
      ]
    ) {
      const r = await sealfig(...argv);
      expect(r.code, argv.join(" ")).toBe(4);
      expect(r.err).toContain("INTEGRITY_INVALID");
      expect(readFileSync(file, "utf8")).toBe(tampered);
    }
    // A !secret value added by hand to a sealed file is a change outside sealfig too.
    const added = tampered.replace("port: 8080\n", "port: 8080\nextra: !secret x\n");
    writeFileSync(file, added);
    const enc = await sealfig("encrypt", "-i", file);
    expect(enc.code).toBe(4);
    expect(enc.err).toContain("INTEGRITY_INVALID");
    expect(readFileSync(file, "utf8")).toBe(added);
  });

  it("read commands verify; --insecure-skip-integrity reads with a loud warning", async () => {
    writeFileSync(file, readFileSync(file, "utf8").replace("db.internal", "evil.example"));
    const dec = await sealfig("decrypt", file);
    expect(dec.code).toBe(4);
    expect(dec.out).toBe("");
    expect((await sealfig("get", file, "db.password")).code).toBe(4);
    const skip = await sealfig("decrypt", "--insecure-skip-integrity", file);
    expect(skip.code).toBe(0);
    expect(skip.err).toContain("WARNING: --insecure-skip-integrity");
    expect(skip.out).toContain(`password: !secret ${CANARY}`);
    expect(skip.out).not.toContain("sealfig_integrity");
    const get = await sealfig("get", "--insecure-skip-integrity", file, "db.host");
    expect(get.out).toBe("evil.example\n");
    expect(get.err).toContain("WARNING");
  });

  it("stamp: refuses a mismatch without --force, vouches with it (next generation)", async () => {
    writeFileSync(file, readFileSync(file, "utf8").replace("port: 8080", "port: 9090"));
    const refused = await sealfig("stamp", file);
    expect(refused.code).toBe(4);
    const forced = await sealfig("stamp", "--force", file);
    expect(forced.code, forced.err).toBe(0);
    expect(forced.err).toContain("generation 2");
    expect((await load()).port).toBe(9090);
    const again = await sealfig("stamp", file);
    expect(again.err).toContain("up to date");
  });

  it("a sealed file without a record: writes refuse until stamp; then set keeps the record's key", async () => {
    writeFileSync(file, readFileSync(file, "utf8").replace(/^sealfig_integrity:.*\n/m, ""));
    const set = await sealfig("set", file, "db.user", "app");
    expect(set.code).toBe(4);
    expect(set.err).toContain("INTEGRITY_MISSING");
    expect((await sealfig("stamp", file)).code).toBe(0);
    const first = readIntegrityRecord(parseDocument(readFileSync(file, "utf8")))!;
    expect(first.generation).toBe(1);
    expect((await sealfig("set", file, "db.user", "app")).code).toBe(0);
    expect((await sealfig("unset", file, "port")).code).toBe(0);
    const text = readFileSync(file, "utf8");
    const last = readIntegrityRecord(parseDocument(text))!;
    expect(last.generation).toBe(3);
    expect(last.wrappedDek).toEqual(first.wrappedDek); // same integrity data key: one line moves
    expect(text.trimEnd().split("\n").pop()).toMatch(/^sealfig_integrity: sealfig-mac:v2:/);
    const config = await load();
    expect((config.db as Record<string, unknown>).user).toBe("app");
    expect(config.port).toBeUndefined();
  });

  it("the git merge driver merges branches that changed different keys; the result loads", async () => {
    const repo = t.path("repo");
    const git = (...args: string[]) =>
      execFileSync("git", args, {
        cwd: repo,
        encoding: "utf8",
        env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1", HOME: t.dir },
      });
    execFileSync("git", ["init", "-q", repo]);
    const [cmd, pre] = cliCommand();
    const driver = [cmd, ...pre].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    git("config", "user.name", "t");
    git("config", "user.email", "t@t");
    git("config", "merge.sealfig.driver", `${driver} merge %O %A %B %P`);
    writeFileSync(`${repo}/.gitattributes`, "config/*.yaml merge=sealfig\n");
    writeFileSync(`${repo}/.sealfig.yaml`, readFileSync(t.path(".sealfig.yaml")));
    const target = `${repo}/config/prod.yaml`;
    // Changes on the two branches must be at least one unchanged line apart for a line merge.
    const base = await sealDocument(
      parseDocument(
        `db:\n  host: db.internal\n  password: !secret ${CANARY}\n  pool: 5\nport: 8080\n` +
          "cache:\n  ttl: 30\n",
      ),
      { provider, keyId, context: CONTEXT },
    );
    t.write(
      "repo/config/prod.yaml",
      (await stampDocument(base.document, { provider, keyId, context: CONTEXT, generation: 1 }))
        .document.toString(),
    );
    git("add", ".");
    git("commit", "-qm", "base");
    git("checkout", "-qb", "other");
    expect((await sealfig("set", target, "db.user", "app")).code).toBe(0);
    git("commit", "-qam", "other: db.user");
    git("checkout", "-q", "-");
    expect((await sealfig("set", target, "cache.ttl", "60", "--type", "integer")).code).toBe(0);
    expect((await sealfig("set", target, "db.password", "rotated")).code).toBe(0);
    git("commit", "-qam", "main: cache.ttl, db.password");
    try {
      git("merge", "-q", "--no-edit", "other");
    } catch (err) {
      throw new Error(`git merge failed: ${(err as { stderr?: string }).stderr ?? err}`);
    }
    const merged = readFileSync(target, "utf8");
    expect(merged).not.toContain("<<<<<<<");
    const record = readIntegrityRecord(parseDocument(merged))!;
    expect(record.generation).toBe(4); // max(3, 2) + 1
    const config = await loadConfig({
      files: [target],
      providers: [provider],
      context: CONTEXT,
      cache: new DekCache(),
    });
    expect(config).toEqual({
      db: { host: "db.internal", password: "rotated", pool: 5, user: "app" },
      port: 8080,
      cache: { ttl: 60 },
    });
    expect((await sealfig("check", target)).code).toBe(0);
  });

  it("merge refuses a side changed outside sealfig, and leaves real conflicts marked", async () => {
    const base = readFileSync(file, "utf8");
    const ours = t.write("ours.yaml", base);
    const theirs = t.write("theirs.yaml", base.replace("db.internal", "evil.example"));
    const refused = await sealfig("merge", t.write("base.yaml", base), ours, theirs, file);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("INTEGRITY_INVALID");
    // Written as a whole-file conflict: it can never pass for "ours" (git add would keep it).
    const whole = readFileSync(ours, "utf8");
    expect(whole).toMatch(/^<<<<<<< .*\(current\)\n/);
    expect(whole).toContain("evil.example");
    expect(whole).toContain("sealfig_integrity: sealfig-merge:v1:1\n");
    writeFileSync(ours, base);
    // Both sides change the same line through sealfig: a conflict, left for a person.
    expect((await sealfig("set", file, "port", "1", "--type", "integer")).code).toBe(0);
    writeFileSync(theirs, readFileSync(file, "utf8"));
    writeFileSync(file, base);
    expect((await sealfig("set", file, "port", "2", "--type", "integer")).code).toBe(0);
    writeFileSync(ours, readFileSync(file, "utf8"));
    const conflict = await sealfig("merge", t.path("base.yaml"), ours, theirs, file);
    expect(conflict.code).toBe(1);
    expect(readFileSync(ours, "utf8")).toContain("<<<<<<<");
    // The record's place keeps the generation the merge reached (max(2, 2) here), not a record.
    expect(readFileSync(ours, "utf8")).not.toContain("sealfig-mac:");
    expect(readFileSync(ours, "utf8")).toContain("sealfig_integrity: sealfig-merge:v1:2\n");
  });
});
