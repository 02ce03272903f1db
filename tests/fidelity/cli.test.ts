/**
 * Issue 13 through the real CLI (a process per command): every value and every byte a command was
 * not asked to change survives it. One regression test per reported case: whitespace before a
 * line break through decrypt → encrypt --previous and edit; BOM on stdout; the document-end
 * marker; symlinks; file mode, CRLF and no final newline; names in `run`; `get` like the loader;
 * integers beyond 2^53; `encrypt -i` with nothing to seal; `status` counts; `edit` unsealing and
 * its summary; `set` reusing the file's data key; and every writing command leaving a file that
 * `check` and the loader accept.
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { runSealfig } from "../_helpers/cli.ts";
import { parseBlob, parseDocument } from "../../document.ts";
import { loadConfig, LocalKeyProvider } from "../../mod.ts";
import { isSealfigError } from "../../src/errors.ts";

const editor = `node ${
  JSON.stringify(fileURLToPath(new URL("../fixtures/editors/replace.mjs", import.meta.url)))
}`;
/** Symlinks and modes are POSIX cases: those tests return early on Windows. */
const isWindows = process.platform === "win32";

const root = mkdtempSync(join(tmpdir(), "sealfig-fid-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

interface Repo {
  dir: string;
  env: Record<string, string | undefined>;
  sealfig: (...args: string[]) => ReturnType<typeof runSealfig>;
  sealfigIn: (input: string | Uint8Array, ...args: string[]) => ReturnType<typeof runSealfig>;
  write: (name: string, text: string | Uint8Array) => string;
  read: (name: string) => string;
  load: (name: string) => Promise<Record<string, unknown>>;
}

/** A fresh directory with a local key and a rules file (context env=test, per-file data keys). */
async function repo(extraInit: string[] = []): Promise<Repo> {
  const dir = join(root, `r${n++}`);
  mkdirSync(join(dir, ".scratch"), { recursive: true });
  const env = {
    SEALFIG_KEY_FILE: join(dir, ".keys"),
    SEALFIG_KEY: undefined,
    SEALFIG_TMPDIR: join(dir, ".scratch"),
    SEALFIG_EDITOR: editor,
  };
  const init = await runSealfig(["init", "--context", "env=test", ...extraInit], { cwd: dir, env });
  expect(init.code, init.stderr).toBe(0);
  const provider = new LocalKeyProvider({ keyFile: env.SEALFIG_KEY_FILE });
  return {
    dir,
    env,
    sealfig: (...args) => runSealfig(args, { cwd: dir, env }),
    sealfigIn: (input, ...args) => runSealfig(args, { cwd: dir, env, input }),
    write: (name, text) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    },
    read: (name) => readFileSync(join(dir, name), "utf8"),
    load: (name) =>
      loadConfig({ files: [join(dir, name)], providers: [provider], context: { env: "test" } }),
  };
}

describe("values survive decrypt → encrypt --previous and edit (whitespace before line breaks)", () => {
  it("a value ending in a space before its line break is unchanged, its blob byte-identical", async () => {
    const r = await repo();
    const value = "line one \nline two\t\nlast \n";
    r.write("a.yaml", `ws: !secret ${JSON.stringify(value)}\nother: !secret x\nplain: 1\n`);
    expect((await r.sealfig("encrypt", "-i", "a.yaml")).code).toBe(0);
    const sealed = r.read("a.yaml");
    const blob = parseDocument(sealed).get("ws")!.value;
    for (let cycle = 0; cycle < 2; cycle++) {
      const view = await r.sealfig("decrypt", "a.yaml");
      expect(view.code, view.stderr).toBe(0);
      expect(parseDocument(view.stdout).get("ws")!.value).toBe(value);
      r.write("view.yaml", view.stdout);
      const enc = await r.sealfig("encrypt", "view.yaml", "--previous", "a.yaml");
      expect(enc.code, enc.stderr).toBe(0);
      expect(enc.stderr).toContain("sealed 0 value(s)");
      expect(enc.stdout).toBe(sealed);
    }
    // edit of another key: the untouched value keeps its blob; only one value is resealed.
    const ed = await runSealfig(["edit", "a.yaml"], {
      cwd: r.dir,
      env: { ...r.env, EDIT_FROM: "plain: 1", EDIT_TO: "plain: 2" },
    });
    expect(ed.code, ed.stderr).toBe(0);
    expect(ed.stderr).toContain(
      "0 secret value(s) and 1 plain value(s) added, changed or removed (sealed 0 anew, kept 2",
    );
    expect(parseDocument(r.read("a.yaml")).get("ws")!.value).toBe(blob);
    expect((await r.load("a.yaml")).ws).toBe(value);
  });
});

/**
 * `sealfig merge` as git runs it (BASE CURRENT OTHER PATH) on `name`, sealed from `text`: one side
 * sets a, the other b (plain, through sealfig). Returns the merge's result.
 */
async function mergeCase(r: Repo, name: string, text: string | Uint8Array) {
  r.write(name, text);
  const enc = await r.sealfig("encrypt", "-i", name);
  expect(enc.code, enc.stderr).toBe(0);
  const base = readFileSync(join(r.dir, name));
  writeFileSync(join(r.dir, `${name}.base`), base);
  expect((await r.sealfig("set", name, "b", "2", "--plain", "--type", "integer")).code).toBe(0);
  writeFileSync(join(r.dir, `${name}.other`), readFileSync(join(r.dir, name)));
  writeFileSync(join(r.dir, name), base);
  expect((await r.sealfig("set", name, "a", "2", "--plain", "--type", "integer")).code).toBe(0);
  return r.sealfig("merge", `${name}.base`, name, `${name}.other`, name);
}

describe("writes keep BOM, document markers, line endings, final newline, mode, symlinks", () => {
  it("merge keeps a UTF-8 BOM and CRLF line endings, like every other writer", async () => {
    const r = await repo();
    const merged = await mergeCase(r, "m.yaml", "\ufeffa: 1\r\nb: 1\r\nc: !secret s\r\n");
    expect(merged.code, merged.stderr).toBe(0);
    const text = r.read("m.yaml");
    expect(text.startsWith("\ufeffa: 2\r\n")).toBe(true);
    expect(text.replaceAll("\r\n", "")).not.toContain("\n");
    expect(await r.load("m.yaml")).toEqual({ a: 2, b: 2, c: "s" });
    expect((await r.sealfig("check", "m.yaml")).code).toBe(0);
  });

  it("keeps a UTF-8 BOM on stdout (encrypt FILE, set --stdout) as -i does", async () => {
    const r = await repo();
    r.write("bom.yaml", "\ufeffa: !secret x\n");
    const out = await r.sealfig("encrypt", "bom.yaml");
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.startsWith("\ufeffa: sealfig:v1:")).toBe(true);
    r.write("bom2.yaml", out.stdout);
    const set = await r.sealfig("set", "bom2.yaml", "b", "v", "--plain", "--stdout");
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout.startsWith("\ufeffa: sealfig:v1:")).toBe(true);
  });

  it("writes a file that ends with a document-end marker (stamp, encrypt -i, set)", async () => {
    const r = await repo();
    r.write("s.yaml", "a: 1\n...\n");
    r.write("e.yaml", "a: !secret x\n...\n");
    r.write("t.yaml", "a: 1\n... # the end\n");
    const stamp = await r.sealfig("stamp", "s.yaml");
    expect(stamp.code, stamp.stderr).toBe(0);
    const enc = await r.sealfig("encrypt", "-i", "e.yaml");
    expect(enc.code, enc.stderr).toBe(0);
    const set = await r.sealfig("set", "t.yaml", "b", "secret-b");
    expect(set.code, set.stderr).toBe(0);
    for (const f of ["s.yaml", "e.yaml", "t.yaml"]) {
      expect(r.read(f)).toMatch(/\n\.\.\.( # the end)?\n$/);
    }
    expect(await r.load("s.yaml")).toEqual({ a: 1 });
    expect(await r.load("e.yaml")).toEqual({ a: "x" });
    expect(await r.load("t.yaml")).toEqual({ a: 1, b: "secret-b" });
  });

  it(
    "writes through a symbolic link: the target is sealed, the link stays a link",
    async () => {
      if (isWindows) return; // POSIX symlinks only
      const r = await repo();
      mkdirSync(join(r.dir, "real"));
      r.write("real/app.yaml", "pw: !secret plaintext-canary-5e1\n");
      symlinkSync("real/app.yaml", join(r.dir, "link.yaml"));
      const enc = await r.sealfig("encrypt", "-i", "link.yaml");
      expect(enc.code, enc.stderr).toBe(0);
      expect(lstatSync(join(r.dir, "link.yaml")).isSymbolicLink()).toBe(true);
      expect(r.read("real/app.yaml")).not.toContain("plaintext-canary-5e1");
      expect(await r.load("real/app.yaml")).toEqual({ pw: "plaintext-canary-5e1" });
    },
  );

  it(
    "keeps file mode, CRLF line endings and a missing final newline",
    async () => {
      if (isWindows) return; // POSIX modes only
      const r = await repo();
      const file = r.write("m.yaml", "a: 1\r\nb: two");
      chmodSync(file, 0o600);
      expect((await r.sealfig("stamp", "m.yaml")).code).toBe(0);
      const set = await r.sealfig("set", "m.yaml", "b", "three", "--plain");
      expect(set.code, set.stderr).toBe(0);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const text = r.read("m.yaml");
      expect(text.startsWith("a: 1\r\nb: three")).toBe(true);
      expect(text.replaceAll("\r\n", "")).not.toContain("\n");
      expect(text.endsWith("\n")).toBe(false);
      expect(await r.load("m.yaml")).toEqual({ a: 1, b: "three" });
    },
  );
});

describe("names in run; get and run read like the loader; integers stay exact", () => {
  it("run refuses keys that make no valid environment variable name, naming the path", async () => {
    const r = await repo();
    r.write("d.yaml", '"1abc": x\nok: y\n');
    r.write("e.yaml", '"": x\n');
    // Two keys that make one name: the error is at the second (the one that collides).
    r.write("c.yaml", "ok: y\na_b: 1\naB: 2\n");
    expect((await r.sealfig("stamp", "d.yaml", "e.yaml", "c.yaml")).code).toBe(0);
    for (
      const [f, path, line] of [["d.yaml", "1abc", 1], ["e.yaml", '[""]', 1], [
        "c.yaml",
        "aB",
        3,
      ]] as const
    ) {
      const run = await r.sealfig("run", "-f", f, "--", "node", "-e", "0");
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr).toContain("[ENV_INVALID]");
      expect(run.stderr).toContain(path);
      // Located in the file, as every error about a key is.
      expect(run.stderr).toMatch(new RegExp(`${f.replace(".", "\\.")}:${line}:\\d+`));
    }
    // With a prefix, a leading digit is not first: the name is valid.
    const ok = await r.sealfig(
      "run",
      "-f",
      "d.yaml",
      "--prefix",
      "APP_",
      "--",
      "node",
      "-e",
      "process.stdout.write(process.env.APP_1ABC)",
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe("x");
  });

  it("get follows aliases and merge keys, prints maps as YAML or JSON, integers exact", async () => {
    const r = await repo();
    r.write(
      "g.yaml",
      [
        "base: &b",
        "  host: db.internal",
        "  pw: !secret s3cret",
        "db:",
        "  <<: *b",
        "  port: 5432",
        "copy: *b",
        "big: 123456789012345678901234567890",
        "",
      ].join("\n"),
    );
    expect((await r.sealfig("encrypt", "-i", "g.yaml")).code).toBe(0);
    const merged = await r.sealfig("get", "g.yaml", "db.host");
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toBe("db.internal\n");
    expect((await r.sealfig("get", "g.yaml", "copy.pw")).stdout).toBe("s3cret\n");
    const map = await r.sealfig("get", "g.yaml", "db");
    expect(map.code, map.stderr).toBe(0);
    expect(parseDocument(map.stdout).values().map((v) => [v.pathText, v.value])).toEqual([
      ["host", "db.internal"],
      ["pw", "s3cret"],
      ["port", 5432],
    ]);
    const json = await r.sealfig("get", "g.yaml", "db", "--json");
    expect(JSON.parse(json.stdout)).toEqual({ host: "db.internal", pw: "s3cret", port: 5432 });
    expect((await r.sealfig("get", "g.yaml", "big")).stdout)
      .toBe("123456789012345678901234567890\n");
    const run = await r.sealfig(
      "run",
      "-f",
      "g.yaml",
      "--",
      "node",
      "-e",
      "process.stdout.write(process.env.BIG)",
    );
    expect(run.stdout).toBe("123456789012345678901234567890");
    expect((await r.load("g.yaml")).big).toBe(123456789012345678901234567890n);
  });
});

describe("counts and summaries; edit never unseals silently; set reuses the data key", () => {
  it("status does not count the integrity record as a value", async () => {
    const r = await repo();
    r.write("c.yaml", "a: !secret x\nb: 2\n");
    expect((await r.sealfig("encrypt", "-i", "c.yaml")).code).toBe(0);
    expect((await r.sealfig("status", "c.yaml")).stdout).toContain("values: 2, sealed: 1");
  });

  it("a top level that is not a map is bad input (YAML_UNSUPPORTED, exit 3, file:line:col) for every command and the loader", async () => {
    const r = await repo();
    r.write("seq.yaml", "- 1\n- 2\n");
    r.write("bad.yaml", "\nhello\n");
    for (const [f, at] of [["seq.yaml", "seq.yaml:1:1"], ["bad.yaml", "bad.yaml:2:1"]] as const) {
      const check = await r.sealfig("check", f);
      expect(check.code).toBe(6);
      expect(check.stderr).toContain(`${at}: The top level`);
      expect(check.stderr).not.toContain(`${f}: ${f}`); // the place once
      expect(check.stderr).toContain("[YAML_UNSUPPORTED]");
      for (const args of [["encrypt", "-i", f], ["set", f, "a", "b"], ["stamp", f]]) {
        const w = await r.sealfig(...args);
        expect([args.join(" "), w.code]).toEqual([args.join(" "), 3]);
        expect(w.stderr).toContain(`${at}: The top level`);
      }
      const err = await r.load(f).then(() => undefined, (e: unknown) => e);
      expect(isSealfigError(err) && err.code).toBe("YAML_UNSUPPORTED");
    }
  });

  it("edit refuses a sealed value whose !secret tag was removed, unless --unseal", async () => {
    const r = await repo();
    r.write("u.yaml", "pw: !secret hunter2\n");
    expect((await r.sealfig("encrypt", "-i", "u.yaml")).code).toBe(0);
    const before = r.read("u.yaml");
    const edit = { EDIT_FROM: "pw: !secret hunter2", EDIT_TO: "pw: hunter2" };
    const refused = await runSealfig(["edit", "u.yaml"], {
      cwd: r.dir,
      env: { ...r.env, ...edit },
      input: "n\n",
    });
    expect(refused.code).toBe(9);
    expect(refused.stderr).toContain("[VALUE_UNSEALED]");
    expect(r.read("u.yaml")).toBe(before);
    const allowed = await runSealfig(["edit", "--unseal", "u.yaml"], {
      cwd: r.dir,
      env: { ...r.env, ...edit },
    });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stderr).toContain("0 secret value(s) and 1 plain value(s) added, changed");
    expect(await r.load("u.yaml")).toEqual({ pw: "hunter2" });
  });

  it("three sets under the per-file policy share the file's one data key", async () => {
    const r = await repo();
    r.write("k.yaml", "a: !secret one\n");
    expect((await r.sealfig("encrypt", "-i", "k.yaml")).code).toBe(0);
    for (const [k, v] of [["b", "two"], ["c", "three"], ["a", "uno"]]) {
      const set = await r.sealfig("set", "k.yaml", k!, v!);
      expect(set.code, set.stderr).toBe(0);
    }
    const doc = parseDocument(r.read("k.yaml"));
    const wrapped = new Set(
      doc.values().filter((v) => v.kind === "sealed").map((v) =>
        parseBlob(v.value as string).wrappedDek.join(",")
      ),
    );
    expect(wrapped.size).toBe(1);
    expect(await r.load("k.yaml")).toEqual({ a: "uno", b: "two", c: "three" });
  });
});

describe("every command that writes a file leaves one that check and the loader accept", () => {
  it("encrypt -i, set, set --plain, unset, edit, stamp, rotate, rewrap, merge", async () => {
    const r = await repo();
    const base = "# a file\nkeep: 1\nsecret: !secret s\n";
    const commands: [string, string, string[], Record<string, string>?][] = [
      ["nothing-to-seal.yaml", "plain: 1\n", ["encrypt", "-i"]],
      ["encrypt.yaml", base, ["encrypt", "-i"]],
      ["set.yaml", "", ["set", "@", "x", "v"]],
      ["set-plain.yaml", "", ["set", "@", "x", "v", "--plain"]],
      ["unset.yaml", "a: 1\nb: 2\n", ["unset", "@", "a"]],
      ["edit.yaml", "", ["edit", "@"], { EDIT_FROM: "", EDIT_TO: "n: !secret v\n" }],
      ["stamp.yaml", "a: 1\n", ["stamp"]],
      ["rotate.yaml", base, ["rotate"]],
      ["rewrap.yaml", base, ["rewrap", "@", "--to", "@key"]],
    ];
    const key = parseDocument(readFileSync(join(r.dir, ".sealfig.yaml"), "utf8")).values()
      .find((v) => v.pathText.endsWith("key"))!.value as string;
    const prepared = new Set(["rotate.yaml", "rewrap.yaml"]);
    for (const [file, text, args, env] of commands) {
      if (text !== "" || args[0] !== "set") r.write(file, text);
      if (prepared.has(file)) expect((await r.sealfig("encrypt", "-i", file)).code).toBe(0);
      const argv = args.map((a) => (a === "@" ? file : a === "@key" ? key : a));
      if (!argv.includes(file)) argv.push(file);
      const out = await runSealfig(argv, { cwd: r.dir, env: { ...r.env, ...env } });
      expect(out.code, `${argv.join(" ")}: ${out.stderr}`).toBe(0);
    }
    const merged = await mergeCase(r, "merge.yaml", "a: 1\nb: 1\nc: !secret s\n");
    expect(merged.code, merged.stderr).toBe(0);
    const files = [...commands.map((c) => c[0]), "merge.yaml"];
    const check = await r.sealfig("check", ...files);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    for (const f of files) {
      try {
        await r.load(f);
      } catch (err) {
        expect.fail(`${f}: ${isSealfigError(err) ? err.message : String(err)}`);
      }
    }
  });
});

describe("text that looks like an integrity record entry is content to every command", () => {
  const text = [
    "a: 1",
    'note: "see {x, sealfig_integrity: sealfig-mac:v1:abc}"',
    'pw: !secret "tok, sealfig_integrity: sealfig-mac:v1:Zz9}"',
    "n: {k: 1, sealfig_integrity: sealfig-mac:v1:q}",
    "",
  ].join("\n");
  const want = {
    a: 1,
    note: "see {x, sealfig_integrity: sealfig-mac:v1:abc}",
    pw: "tok, sealfig_integrity: sealfig-mac:v1:Zz9}",
    n: { k: 1, sealfig_integrity: "sealfig-mac:v1:q" },
  };

  it("rotate, edit, decrypt → encrypt --previous and textconv keep every value", async () => {
    const r = await repo();
    r.write("f.yaml", text);
    expect((await r.sealfig("encrypt", "-i", "f.yaml")).code).toBe(0);
    expect(await r.load("f.yaml")).toEqual(want);
    const rotate = await r.sealfig("rotate", "f.yaml");
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(await r.load("f.yaml")).toEqual(want);
    const edit = await runSealfig(["edit", "f.yaml"], {
      cwd: r.dir,
      env: { ...r.env, EDIT_FROM: "a: 1", EDIT_TO: "a: 2" },
    });
    expect(edit.code, edit.stderr).toBe(0);
    expect(await r.load("f.yaml")).toEqual({ ...want, a: 2 });
    const dec = await r.sealfig("decrypt", "f.yaml");
    expect(dec.code, dec.stderr).toBe(0);
    expect(dec.stdout).toBe(text.replace("a: 1", "a: 2"));
    r.write("view.yaml", dec.stdout.replace("a: 2", "a: 3"));
    const enc = await r.sealfig("encrypt", "view.yaml", "--previous", "f.yaml");
    expect(enc.code, enc.stderr).toBe(0);
    r.write("g.yaml", enc.stdout);
    expect(await r.load("g.yaml")).toEqual({ ...want, a: 3 });
    const tc = await r.sealfig("textconv", "f.yaml");
    expect(tc.code, tc.stderr).toBe(0);
    expect(tc.stdout).toBe(text.replace("a: 1", "a: 2"));
  });

  it("a set that only adds record-like text is a change: written and re-stamped", async () => {
    const r = await repo();
    r.write("s.yaml", 'note: "x}"\n');
    expect((await r.sealfig("stamp", "s.yaml")).code).toBe(0);
    const value = "x, sealfig_integrity: sealfig-mac:v1:Q}";
    const set = await r.sealfig("set", "s.yaml", "note", value, "--plain");
    expect(set.code, set.stderr).toBe(0);
    expect(await r.load("s.yaml")).toEqual({ note: value });
  });
});

describe("run: a config never replaces a variable the child inherits", () => {
  const keys = ["path", "ld_preload", "node_options", "home", "lang"];
  it("each config key named like an inherited variable is RUN_ENV_COLLISION, naming it; --override and --prefix allow it", async () => {
    const r = await repo();
    const code = "process.stdout.write(JSON.stringify([process.env.APP_PATH, process.env.LANG]))";
    for (const key of keys) {
      const name = key.toUpperCase();
      r.write("c.yaml", `${key}: /evil-${key}\nok: 1\n`);
      expect((await r.sealfig("stamp", "c.yaml")).code).toBe(0);
      const out = await runSealfig(["run", "-f", "c.yaml", "--", "node", "-e", "0"], {
        cwd: r.dir,
        env: { ...r.env, [name]: process.env[name] ?? "inherited" },
      });
      expect(out.code, `${key}: ${out.stderr}`).toBe(3);
      expect(out.stderr).toContain("RUN_ENV_COLLISION");
      expect(out.stderr).toContain(name);
      expect(out.stderr).not.toContain(`/evil-${key}`);
    }
    // LANG: an explicit --override lets the config set it; --prefix keeps names apart.
    r.write("l.yaml", "lang: C.UTF-8\npath: /opt/app\n");
    expect((await r.sealfig("stamp", "l.yaml")).code).toBe(0);
    const env = { ...r.env, LANG: "inherited" };
    const over = await runSealfig(
      [
        "run",
        "-f",
        "l.yaml",
        "--override",
        "LANG",
        "--override",
        "PATH",
        "--",
        process.execPath,
        "-e",
        code,
      ],
      { cwd: r.dir, env },
    );
    expect(over.code, over.stderr).toBe(0);
    expect(JSON.parse(over.stdout)).toEqual([null, "C.UTF-8"]);
    const prefixed = await runSealfig(
      ["run", "-f", "l.yaml", "--prefix", "APP_", "--", "node", "-e", code],
      { cwd: r.dir, env },
    );
    expect(prefixed.code, prefixed.stderr).toBe(0);
    expect(JSON.parse(prefixed.stdout)).toEqual(["/opt/app", "inherited"]);
  });
});

describe("every write leaves a file check and the loader accept (blob look-alikes, map shapes)", () => {
  it("set --plain of a blob look-alike, and stamp or edit leaving a malformed blob, are refused", async () => {
    const r = await repo();
    r.write("h.yaml", "a: 1\n");
    expect((await r.sealfig("stamp", "h.yaml")).code).toBe(0);
    const before = r.read("h.yaml");
    const set = await r.sealfig("set", "--plain", "h.yaml", "note", "sealfig:v1:AAAA");
    expect(set.code).toBe(3);
    expect(set.stderr).toContain("VALUE_NOT_REPRESENTABLE");
    expect(r.read("h.yaml")).toBe(before);
    const edit = await runSealfig(["edit", "h.yaml"], {
      cwd: r.dir,
      env: { ...r.env, EDIT_FROM: "a: 1", EDIT_TO: "a: sealfig:v1:AAAA" },
    });
    expect(edit.code).toBe(3);
    expect(edit.stderr).toContain("h.yaml:1:4");
    expect(edit.stderr).toContain("BLOB_MALFORMED");
    expect(r.read("h.yaml")).toBe(before);
    r.write("s.yaml", "a: 1\nnote: sealfig:v1:AAAA\n");
    const stamp = await r.sealfig("stamp", "s.yaml");
    expect(stamp.code).toBe(3);
    expect(stamp.stderr).toContain("s.yaml:2:7");
    expect(r.read("s.yaml")).toBe("a: 1\nnote: sealfig:v1:AAAA\n");
    expect((await r.sealfig("check", "h.yaml")).code).toBe(0);
  });

  it("set adds a key to a map whose first key is tagged or explicit", async () => {
    const r = await repo();
    for (const [f, text] of [["t.yaml", "!!str a: 1\n"], ["x.yaml", "? a\n: 1\n"]] as const) {
      r.write(f, text);
      expect((await r.sealfig("stamp", f)).code).toBe(0);
      const set = await r.sealfig("set", f, "newkey", "v");
      expect(set.code, set.stderr).toBe(0);
      expect(await r.load(f)).toEqual({ a: 1, newkey: "v" });
    }
  });
});

describe("edit's summary counts what changed in the loaded config", () => {
  it("a sealed item replaced by an alias to another secret, and a value moved behind an alias, count", async () => {
    const r = await repo();
    r.write(
      "a.yaml",
      "main: !secret &m one\nlist:\n  - !secret two\n  - x\nplain: &p 1\ncopy: 2\n",
    );
    expect((await r.sealfig("encrypt", "-i", "a.yaml")).code).toBe(0);
    const cases: [string, string, number, number, Record<string, unknown>][] = [
      // The sealed item becomes an alias to the other secret: one secret value changed.
      ["  - !secret two", "  - *m", 1, 0, { list: ["one", "x"], copy: 2 }],
      // A plain value replaced by an alias to another plain one: one plain value changed.
      ["copy: 2", "copy: *p", 0, 1, { list: ["one", "x"], copy: 1 }],
    ];
    for (const [from, to, secret, plain, want] of cases) {
      const ed = await runSealfig(["edit", "a.yaml"], {
        cwd: r.dir,
        env: { ...r.env, EDIT_FROM: from, EDIT_TO: to },
      });
      expect(ed.code, ed.stderr).toBe(0);
      expect(ed.stderr).toContain(
        `${secret} secret value(s) and ${plain} plain value(s) added, changed or removed`,
      );
      expect(await r.load("a.yaml")).toMatchObject({ main: "one", plain: 1, ...want });
    }
  });
});

describe("get and run print values so they read back as the same value", () => {
  it("floats (as scalars, in maps, in run), strings with and without a final newline, big integer keys", async () => {
    const r = await repo();
    const floats = [-0, 1, 0.5, -2.5e-7, 1e21, Infinity, -Infinity, NaN];
    const yamlFloat = (n: number) =>
      Number.isNaN(n)
        ? ".nan"
        : n === Infinity
        ? ".inf"
        : n === -Infinity
        ? "-.inf"
        : Object.is(n, -0)
        ? "-0.0"
        : /[.eE]/.test(String(n))
        ? String(n)
        : `${n}.0`;
    const lines = floats.map((n, i) => `f${i}: !secret ${yamlFloat(n)}`);
    r.write(
      "g.yaml",
      [
        ...lines,
        's1: !secret "a"',
        's2: !secret "a\\n"',
        `m: {${floats.map((n, i) => `k${i}: ${yamlFloat(n)}`).join(", ")}}`,
        "",
      ].join("\n"),
    );
    expect((await r.sealfig("encrypt", "-i", "g.yaml")).code).toBe(0);
    for (const [i, n] of floats.entries()) {
      const got = await r.sealfig("get", "g.yaml", `f${i}`);
      expect(got.code, got.stderr).toBe(0);
      expect(got.stdout.endsWith("\n")).toBe(true);
      const back = parseDocument(`v: ${got.stdout.slice(0, -1)}\n`).get("v")!;
      expect(back.type, `f${i}`).toBe("float");
      expect(Object.is(back.value, n), `f${i}: ${got.stdout}`).toBe(true);
    }
    const map = await r.sealfig("get", "g.yaml", "m");
    expect(map.code, map.stderr).toBe(0);
    const m = parseDocument(map.stdout);
    for (const [i, n] of floats.entries()) {
      expect(m.get(`k${i}`)?.type).toBe("float");
      expect(Object.is(m.get(`k${i}`)?.value, n)).toBe(true);
    }
    const s1 = await r.sealfig("get", "g.yaml", "s1");
    const s2 = await r.sealfig("get", "g.yaml", "s2");
    expect(s1.stdout).toBe("a\n");
    expect(s2.stdout).toBe("a\n\n");
    expect((await r.sealfig("get", "--raw", "g.yaml", "s2")).stdout).toBe("a\n");
    const run = await r.sealfig(
      "run",
      "-f",
      "g.yaml",
      "--",
      "node",
      "-e",
      "process.stdout.write(String(Object.is(Number(process.env.F0), -0)))",
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("true");
    r.write("k.yaml", "ids: {12345678901234567891: alice}\n");
    const big = await r.sealfig("stamp", "k.yaml");
    expect(big.code).toBe(3);
    expect(big.stderr).toContain("YAML_UNSUPPORTED");
    expect(big.stderr).toContain("k.yaml:1:7");
    r.write("q.yaml", 'ids: {"12345678901234567891": alice}\n');
    expect((await r.sealfig("stamp", "q.yaml")).code).toBe(0);
    expect(await r.load("q.yaml")).toEqual({ ids: { "12345678901234567891": "alice" } });
  });
});
