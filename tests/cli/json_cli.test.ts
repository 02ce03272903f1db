/**
 * JSON files through the CLI as a process (issue 18): real-world-shaped files sealed in place
 * (`encrypt -i`) stay JSON with every other byte kept, are checked, decrypted back byte for byte,
 * sealed again with `--previous` byte for byte, shown by `textconv`, changed by `set`/`unset`, read
 * by `get` with their types, run with `run -f`; stdin with `--format json`; bad files refused at
 * file:line:col; `init`'s default rule covers `.json`.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSealfig } from "../_helpers/cli.ts";

const root = mkdtempSync(join(tmpdir(), "sealfig-json-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const PEM = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCcnry1\\n" +
  "-----END PRIVATE KEY-----\\n";

const SHAPES: { shape: string; file: string; text: string; sealed: string[] }[] = [
  {
    shape: "appsettings.Production.json: nested, numbers, null",
    file: "appsettings.Production.json",
    text: `{
  "Logging": { "LogLevel": { "Default": "Warning" } },
  "ConnectionStrings": { "Default": "Server=db;Database=shop" },
  "Db": {
    "Password": "cnry1-pw",
    "Port": 5432,
    "Replica": null
  },
  "Stripe": { "SecretKey": "sk_live_cnry1" }
}
`,
    sealed: ["Db.Password", "Stripe.SecretKey"],
  },
  {
    shape: "service-account.json: a multi-line PEM string, 2 spaces",
    file: "service-account.json",
    text: `{
  "type": "service_account",
  "project_id": "acme-prod",
  "private_key": "${PEM}",
  "client_email": "deploy@acme-prod.iam.gserviceaccount.com"
}
`,
    sealed: ["private_key"],
  },
  {
    shape: "terraform.tfvars.json: tabs, CRLF, BOM, no final newline",
    file: "terraform.tfvars.json",
    text: '\ufeff{\r\n\t"region": "eu-west-1",\r\n\t"db_password": "cnry3-db",\r\n' +
      '\t"subnets": [\r\n\t\t"10.0.1.0/24"\r\n\t]\r\n}',
    sealed: ["db_password"],
  },
  {
    shape: "minified config.json",
    file: "config.json",
    text: '{"api":{"url":"https://api","token":"cnry4-tok"},"retries":3,"ratio":1.0}\n',
    sealed: ["api.token"],
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

const bare = (t: string) => t.replace(/^\ufeff/, "");

/** The leaves of a parsed JSON value by path text (`a.b`, `a[0]`). */
function leaves(v: unknown, path = "", out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(v)) v.forEach((x, i) => leaves(x, `${path}[${i}]`, out));
  else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) leaves(x, path ? `${path}.${k}` : k, out);
  } else out.set(path, v);
  return out;
}

describe("JSON files through the CLI", () => {
  for (const s of SHAPES) {
    it(`${s.shape}: sealed in place, still JSON, round-trips byte for byte`, async () => {
      const { dir, env } = await repo();
      const run = (args: string[], input?: string) =>
        runSealfig(args, { cwd: dir, env, ...(input !== undefined ? { input } : {}) });
      writeFileSync(join(dir, s.file), s.text);
      const enc = await run(["encrypt", "-i", s.file]);
      expect(enc.code, enc.stderr).toBe(0);
      expect(enc.stderr).toContain(`sealed ${s.sealed.length} value(s)`);
      const sealed = readFileSync(join(dir, s.file), "utf8");
      expect(sealed).not.toContain("cnry");
      const parsed = JSON.parse(bare(sealed));
      const orig = JSON.parse(bare(s.text));
      // The record is the last top-level member; the sealed leaves are the secret names.
      expect(Object.keys(parsed)).toEqual([...Object.keys(orig), "sealfig_integrity"]);
      expect(parsed.sealfig_integrity).toMatch(/^sealfig-mac:v2:/);
      const got = leaves(parsed);
      const sealedPaths = [...got].filter(([, v]) => String(v).startsWith("sealfig:v1:"))
        .map(([k]) => k);
      expect(sealedPaths).toEqual(s.sealed);
      for (const [k, v] of leaves(orig)) {
        if (!s.sealed.includes(k)) expect(got.get(k)).toEqual(v);
      }
      expect(sealed.startsWith("\ufeff")).toBe(s.text.startsWith("\ufeff"));
      expect(sealed.includes("\r\n")).toBe(s.text.includes("\r\n"));

      expect((await run(["check", s.file])).code).toBe(0);
      const status = await run(["status", s.file]);
      expect(status.stdout).toContain(`sealed: ${s.sealed.length}`);
      expect(status.stdout).toContain("integrity: valid");

      const dec = await run(["decrypt", s.file]);
      expect(dec.code, dec.stderr).toBe(0);
      expect(dec.stdout).toBe(s.text);
      const plainName = `plain.${s.file}`;
      writeFileSync(join(dir, plainName), dec.stdout);
      const again = await run(["encrypt", plainName, "--previous", s.file]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe(sealed);

      const tc = await run(["textconv", s.file]);
      expect(tc.stdout).toBe(s.text);

      for (const p of s.sealed) {
        const v = await run(["get", s.file, p]);
        expect(v.code, v.stderr).toBe(0);
        expect(v.stdout.replace(/\n$/, "")).toBe(String(leaves(orig).get(p)));
      }
      const first = s.sealed[0]!.split(".").map((p) => p.toUpperCase()).join("__");
      const child = await run([
        "run",
        "-f",
        s.file,
        "--prefix",
        "APP_",
        "--",
        "sh",
        "-c",
        `printf '%s' "$APP_${first}"`,
      ]);
      expect(child.code, child.stderr).toBe(0);
      expect(child.stdout).toBe(String(leaves(orig).get(s.sealed[0]!)));

      // set (sealed by default; --plain with --type stays a plain JSON number) and unset.
      expect((await run(["set", s.file, "extra.api_token", "cnry-new"])).code).toBe(0);
      const setInt = await run([
        "set",
        s.file,
        "extra.port",
        "8443",
        "--type",
        "integer",
        "--plain",
      ]);
      expect(setInt.code, setInt.stderr).toBe(0);
      expect((await run(["unset", s.file, s.sealed[0]!])).code).toBe(0);
      const after = readFileSync(join(dir, s.file), "utf8");
      expect(after).not.toContain("cnry");
      const afterParsed = JSON.parse(bare(after));
      expect(afterParsed.extra.port).toBe(8443);
      expect(String(afterParsed.extra.api_token)).toMatch(/^sealfig:v1:/);
      expect(Object.keys(afterParsed).at(-1)).toBe("sealfig_integrity");
      expect((await run(["check", s.file])).code).toBe(0);
      expect((await run(["get", s.file, "extra.api_token"])).stdout).toBe("cnry-new\n");
    });
  }

  it("a sealed integer opens as an integer (get --json, the loader's type)", async () => {
    const { dir, env } = await repo();
    writeFileSync(join(dir, "t.json"), '{\n  "db_password": 12345,\n  "pin_secret": 1.5\n}\n');
    expect((await runSealfig(["encrypt", "-i", "t.json"], { cwd: dir, env })).code).toBe(0);
    const sealed = JSON.parse(readFileSync(join(dir, "t.json"), "utf8"));
    expect(sealed.db_password).toMatch(/^sealfig:v1:/);
    const dec = await runSealfig(["decrypt", "t.json"], { cwd: dir, env });
    expect(JSON.parse(dec.stdout)).toEqual({ db_password: 12345, pin_secret: 1.5 });
  });

  it("a bad JSON file is refused with file:line:col and the code, naming no value", async () => {
    const { dir, env } = await repo();
    const cases: [string, string, string][] = [
      ['{"a": "cnry", "a": "x"}', "bad.json:1:15", "JSON_UNSUPPORTED"],
      ['{\n  "a": "cnry",\n}', "bad.json:2:14", "JSON_SYNTAX"],
      ['{\n  // "cnry"\n  "a": 1\n}', "bad.json:2:3", "JSON_SYNTAX"],
      ['{"a": NaN}', "bad.json:1:7", "JSON_SYNTAX"],
      ['{"a": "\\ud800cnry"}', "bad.json:1:7", "JSON_UNSUPPORTED"],
    ];
    for (const [text, where, code] of cases) {
      writeFileSync(join(dir, "bad.json"), text);
      const r = await runSealfig(["check", "bad.json"], { cwd: dir, env });
      expect(r.code, text).not.toBe(0);
      expect(r.stderr, text).toContain(where);
      expect(r.stderr).toContain(`[${code}]`);
      expect(r.stderr).not.toContain("cnry");
    }
  });

  it("stdin needs --format json to be read as JSON; init's rule covers .json", async () => {
    const { dir, env } = await repo();
    expect(readFileSync(join(dir, ".sealfig.yaml"), "utf8")).toContain("\\.json$");
    const r = await runSealfig(["encrypt", "-", "--format", "json"], {
      cwd: dir,
      env,
      input: '{"api_token": "cnry-stdin", "host": "x"}',
    });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.api_token).toMatch(/^sealfig:v1:/);
    expect(out.host).toBe("x");
    expect(r.stdout).toMatch(
      /^\{"api_token": "sealfig:v1:[^"]+", "host": "x", "sealfig_integrity"/,
    );
  });
});
