/**
 * `.env` files through the CLI as a process (issue 18): real-world-shaped files sealed in place
 * (`encrypt -i`), checked, decrypted, sealed again with `--previous` byte for byte, shown by
 * `textconv`, changed by `set`/`unset`, run with `run -f`; bad files refused at file:line:col.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSealfig } from "../_helpers/cli.ts";
import { parseEnvText } from "../../src/document/dotenv.ts";

const root = mkdtempSync(join(tmpdir(), "sealfig-dotenv-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** Real-world shapes: name, file name, text, the names the built-in matcher seals. */
const SHAPES: { shape: string; file: string; text: string; sealed: string[] }[] = [
  {
    shape: "Node/Rails .env.production: comments, export, quoting styles, multi-line PEM",
    file: ".env.production",
    text: [
      "# Production settings (do not commit plaintext!)",
      "export NODE_ENV=production",
      "PORT=8080",
      "",
      'DATABASE_URL="postgres://app@db.internal:5432/app" # primary',
      "DB_PASSWORD='s3cr3t pass #1'",
      "STRIPE_SECRET_KEY=sk_live_cnry1",
      'TLS_PRIVATE_KEY="-----BEGIN PRIVATE KEY-----',
      "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
      '-----END PRIVATE KEY-----"',
      'SESSION_SECRET = "tab\\tand \\"quotes\\""',
      "EMPTY=",
      "",
    ].join("\n"),
    sealed: ["DB_PASSWORD", "STRIPE_SECRET_KEY", "TLS_PRIVATE_KEY", "SESSION_SECRET"],
  },
  {
    shape: "Laravel .env: ${VAR} references kept literally, empty password, base64 key",
    file: ".env",
    text: [
      "APP_NAME=Laravel",
      "APP_ENV=local",
      "APP_KEY=base64:cnry2AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
      "APP_DEBUG=true",
      "",
      "DB_CONNECTION=mysql",
      "DB_HOST=127.0.0.1",
      "DB_USERNAME=root",
      "DB_PASSWORD=",
      "",
      'MAIL_FROM_NAME="${APP_NAME}"',
      "AWS_SECRET_ACCESS_KEY=cnry2-aws",
      "",
    ].join("\n"),
    sealed: ["APP_KEY", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY"],
  },
  {
    shape: "docker-compose env file: CRLF line endings, BOM, no final newline, backticks",
    file: "compose.env",
    text: "\ufeffPOSTGRES_USER=app\r\nPOSTGRES_PASSWORD=cnry3-pg\r\n# cache\r\n" +
      "REDIS_URL=redis://cache:6379\r\nGITHUB_TOKEN=`ghp_cnry3`",
    sealed: ["POSTGRES_PASSWORD", "GITHUB_TOKEN"],
  },
];

async function repo() {
  const dir = join(root, `r${n++}`);
  mkdirSync(dir, { recursive: true });
  const env = { SEALFIG_KEY_FILE: join(dir, ".keys"), SEALFIG_KEY: undefined };
  const init = await runSealfig(["init"], { cwd: dir, env });
  expect(init.code).toBe(0);
  return { dir, env };
}

const values = (text: string) =>
  new Map(
    parseEnvText(text.replace(/^\ufeff/, "").replace(/\r\n/g, "\n")).entries.map((
      e,
    ) => [e.name, e.value]),
  );

describe(".env files through the CLI", () => {
  for (const s of SHAPES) {
    it(`${s.shape}: sealed in place, every other byte kept, round-trips`, async () => {
      const { dir, env } = await repo();
      const run = (args: string[], input?: string) =>
        runSealfig(args, { cwd: dir, env, ...(input !== undefined ? { input } : {}) });
      writeFileSync(join(dir, s.file), s.text);
      const enc = await run(["encrypt", "-i", s.file]);
      expect(enc.stderr).toContain(`sealed ${s.sealed.length} value(s)`);
      expect(enc.code).toBe(0);
      const sealed = readFileSync(join(dir, s.file), "utf8");
      expect(sealed).not.toContain("cnry");
      // Exactly the secret names are sealed; putting their old text back gives the file + record.
      const lines = sealed.split(/\r?\n/);
      const record = lines.filter((l) => l.startsWith("# sealfig_integrity: sealfig-mac:v2:"));
      expect(record).toHaveLength(1);
      const sealedNames = [...values(sealed)].filter(([, v]) => v.startsWith("sealfig:v1:"))
        .map(([k]) => k);
      expect(sealedNames).toEqual(s.sealed);
      const orig = values(s.text);
      // Put each blob's original text back and drop the record line: the original file (with a
      // final newline, which the record line needed).
      const norm = (t: string) => t.replace(/^\ufeff/, "").replace(/\r\n/g, "\n");
      const base = norm(s.text);
      const oldRaw = new Map(parseEnvText(base).entries.map((e) => [e.name, e]));
      const layout = parseEnvText(norm(sealed));
      let restored = "";
      let at = 0;
      for (const e of layout.entries) {
        const o = oldRaw.get(e.name)!;
        restored += layout.text.slice(at, e.start) + base.slice(o.start, o.end);
        at = e.end;
      }
      restored += layout.text.slice(at);
      expect(restored.replace(/^# sealfig_integrity: .*\n/m, "")).toBe(
        base.endsWith("\n") ? base : `${base}\n`,
      );
      expect(sealed.startsWith("\ufeff")).toBe(s.text.startsWith("\ufeff"));
      expect(sealed.includes("\r\n")).toBe(s.text.includes("\r\n"));

      expect((await run(["check", s.file])).code).toBe(0);
      const status = await run(["status", s.file]);
      expect(status.stdout).toContain(`sealed: ${s.sealed.length}`);
      expect(status.stdout).toContain("sealfig:source=env");
      expect(status.stdout).toContain("integrity: valid");

      const dec = await run(["decrypt", s.file]);
      expect(dec.code).toBe(0);
      expect(dec.stdout).not.toContain("sealfig_integrity");
      expect(values(dec.stdout)).toEqual(orig);
      const plainName = "plain.env";
      writeFileSync(join(dir, plainName), dec.stdout);
      const again = await run(["encrypt", plainName, "--previous", s.file]);
      expect(again.code).toBe(0);
      expect(again.stdout).toBe(sealed);

      const tc = await run(["textconv", s.file]);
      expect(values(tc.stdout)).toEqual(orig);

      for (const name of s.sealed) {
        const got = await run(["get", s.file, name]);
        expect(got.stdout.replace(/\n$/, "")).toBe(orig.get(name));
      }
      const first = s.sealed[0]!;
      // NODE_ENV is inherited here (vitest sets it): a config may replace an inherited variable
      // only when told to (RUN_ENV_COLLISION otherwise).
      const child = await run([
        "run",
        "-f",
        s.file,
        "--override",
        "NODE_ENV",
        "--",
        "sh",
        "-c",
        `printf '%s' "$${first}"`,
      ]);
      expect(child.code, child.stderr).toBe(0);
      expect(child.stdout).toBe(orig.get(first));

      // set and unset change their own lines only; the file stays valid.
      const before = readFileSync(join(dir, s.file), "utf8");
      expect((await run(["set", s.file, "NEW_API_TOKEN", "cnry-new"])).code).toBe(0);
      expect((await run(["unset", s.file, s.sealed[s.sealed.length - 1]!])).code).toBe(0);
      const after = readFileSync(join(dir, s.file), "utf8");
      expect(after).not.toContain("cnry");
      expect((await run(["check", s.file])).code).toBe(0);
      const kept = [...values(before)].filter(([k]) => k !== s.sealed[s.sealed.length - 1]);
      const afterValues = values(after);
      for (const [k, v] of kept) expect(afterValues.get(k)).toBe(v);
      expect((await run(["get", s.file, "NEW_API_TOKEN"])).stdout).toBe("cnry-new\n");
    });
  }

  it("a bad .env is refused with file:line:col and the code, naming no value", async () => {
    const { dir, env } = await repo();
    const cases: [string, string][] = [
      ["A=1\nB=cnry#x\n", ".env:2:7"],
      ["A=1\n\nA=2\n", ".env:3:1"],
      ['A="unterminated\nB=2\n', ".env:1:3"],
      ['X=1\nA="bad \\q escape"\n', ".env:2:8"],
      ["A=1\nnot an assignment\n", ".env:2:5"],
      ["A='x' trailing\n", ".env:1:7"],
    ];
    for (const [text, where] of cases) {
      writeFileSync(join(dir, ".env"), text);
      const r = await runSealfig(["check", ".env"], { cwd: dir, env });
      expect(r.code, text).not.toBe(0);
      expect(r.stderr, text).toContain(where);
      expect(r.stderr).toContain("[ENV_SYNTAX]");
      expect(r.stderr).not.toContain("cnry");
    }
  });

  it("stdin needs --format env to be read as .env", async () => {
    const { dir, env } = await repo();
    const r = await runSealfig(["encrypt", "-", "--format", "env"], {
      cwd: dir,
      env,
      input: "API_TOKEN=cnry-stdin\nHOST=x\n",
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^API_TOKEN=sealfig:v1:\S+\nHOST=x\n# sealfig_integrity: /);
  });
});
