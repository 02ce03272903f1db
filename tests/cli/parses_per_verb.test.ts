/**
 * One parse per file per command (issue 16, item 4), for every verb that reads a file, in YAML
 * and in `.env` files. `runCli` runs in this process, so the parse counter of
 * src/document/document.ts can be read per file name.
 *
 * What a command may parse, and why:
 * - each file it reads, once (the rules file, `.sealfig.yaml`, is counted apart: once per
 *   command);
 * - what it prints or writes, once more: the splice's check that every value reads back exactly
 *   and nothing else changed (issue 13). A view printed without its integrity record (decrypt,
 *   textconv, edit's temporary file) cuts the record in the same splice, so one parse checks
 *   both;
 * - a write that stamps an integrity record parses the spliced text (the record's MAC is over
 *   what that text parses to) and the stamped output (the check that the record changed nothing
 *   it authenticates): the output is checked once, the text the MAC covers once;
 * - rotate also builds the plaintext view it reseals (checked like decrypt's).
 * The commands' behaviour as processes is tested in commands.test.ts and tests/integrity.
 */
import { afterAll, describe, expect, it } from "vitest";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runCli } from "../../src/cli/main.ts";
import type { CliContext } from "../../src/cli/command.ts";
import { yamlParseCount } from "../../src/document/document.ts";
import { LocalKeyProvider } from "../../src/keys/local.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const editor = `node ${
  JSON.stringify(fileURLToPath(new URL("../fixtures/editors/replace.mjs", import.meta.url)))
}`;
const tmp = makeTempDir("sealfig-parses-");
const { id, key } = await LocalKeyProvider.generateKey();
const KEY = `local:${id}`;
const RULES = `rules:\n  - files: \\.(yaml|env)$\n    key: ${KEY}\n`;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "", stderr = "";
  const ctx: CliContext = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: () => Promise.resolve(new Uint8Array(0)),
    env: { SEALFIG_EDITOR: editor },
    stderrIsTty: false,
    stdinIsTty: false,
  };
  const code = await runCli(args, ctx);
  return { code, stdout, stderr };
}

const saved = { SEALFIG_KEY: process.env.SEALFIG_KEY, EDIT_FROM: process.env.EDIT_FROM };
process.env.SEALFIG_KEY = key;
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  tmp.cleanup();
});

let n = 0;
/** A directory with a rules file naming the key, and `app.EXT` holding `body`. */
function fresh(ext: string, body: string): string {
  const dir = `d${n++}`;
  tmp.write(`${dir}/.sealfig.yaml`, RULES);
  return tmp.write(`${dir}/app.${ext}`, body);
}

const PLAIN: Record<string, string> = {
  yaml: "db:\n  host: db # primary\n  password: !secret hunter2\napi_token: !secret t0k\n",
  env: "HOST=db\nPASSWORD=hunter2\nAPI_TOKEN=t0k\n",
};
const SECRET_PATH: Record<string, string> = { yaml: "db.password", env: "PASSWORD" };
const NEW_PATH: Record<string, string> = { yaml: "new_secret", env: "NEW_SECRET" };

/** A sealed (and stamped) file. */
async function sealed(ext: string): Promise<string> {
  const file = fresh(ext, PLAIN[ext]!);
  const r = await cli(["encrypt", "-i", file]);
  if (r.code !== 0) throw new Error(r.stderr);
  return file;
}

/** Run a command; how many parses it made under each of `files`, and of anything else. */
async function parses(
  files: string[],
  args: string[],
): Promise<{ perFile: number[]; other: number; stdout: string; stderr: string }> {
  const all = yamlParseCount(), mine = files.map((f) => yamlParseCount(f));
  const r = await cli(args);
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  const perFile = files.map((f, i) => yamlParseCount(f) - mine[i]!);
  const other = yamlParseCount() - all - perFile.reduce((a, b) => a + b, 0);
  return { perFile, other, stdout: r.stdout, stderr: r.stderr };
}

/** Parses of the one file a command works on (and the rules file, once). */
async function parsesOf(file: string, args: string[]): Promise<number> {
  const p = await parses([file], args);
  expect(p.other, `${args[0]}: the rules file, once`).toBe(1);
  return p.perFile[0]!;
}

let verbs = 0;
const seen = new Set<string>();
function count(verb: string): void {
  seen.add(verb);
  verbs++;
}

for (const ext of ["yaml", "env"]) {
  describe(`parses per command, ${ext} file`, () => {
    it("read commands parse the file once (decrypt and textconv: and check their view once)", async () => {
      const file = await sealed(ext);
      expect(await parsesOf(file, ["get", file, SECRET_PATH[ext]!])).toBe(1);
      expect(await parsesOf(file, ["status", file])).toBe(1);
      expect(await parsesOf(file, ["check", file])).toBe(1);
      expect(await parsesOf(file, ["check", file, "--decrypt"])).toBe(1);
      expect(await parsesOf(file, ["stamp", file])).toBe(1); // unchanged: nothing written
      expect(await parsesOf(file, ["run", "-f", file, "--", process.execPath, "-e", "0"])).toBe(1);
      const d = await parses([file], ["decrypt", file]);
      expect(d.perFile[0]).toBe(2);
      expect(d.stdout).toContain("hunter2");
      expect(d.stdout).not.toContain("sealfig_integrity"); // the record was cut in that parse
      expect(d.stdout).not.toContain("sealfig-mac:");
      // textconv reads the rules file by itself (the file's policy candidates), so no "other".
      const t = await parses([file], ["textconv", file]);
      expect(t.perFile[0]).toBe(2);
      expect(t.stdout).toBe(d.stdout);
      for (const v of ["get", "status", "check", "stamp", "run", "decrypt", "textconv"]) count(v);
    });

    it("write commands: the file once, the text the record's MAC covers once, the output once", async () => {
      const plain = fresh(ext, PLAIN[ext]!);
      expect(await parsesOf(plain, ["encrypt", "-i", plain])).toBe(3);
      const file = await sealed(ext);
      expect(await parsesOf(file, ["set", file, NEW_PATH[ext]!, "v"])).toBe(3);
      expect(await parsesOf(file, ["unset", file, NEW_PATH[ext]!])).toBe(3);
      expect(await parsesOf(file, ["rewrap", file, "--to", KEY])).toBe(3);
      // rotate: the file, its plaintext view, the resealed text, the stamped output.
      expect(await parsesOf(file, ["rotate", file])).toBe(4);
      // The result still reads back: every value, under the new data keys.
      const d = await cli(["decrypt", file]);
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout).toContain("hunter2");
      for (const v of ["encrypt", "set", "unset", "rewrap", "rotate"]) count(v);
    });

    it("edit: the file, its view (record cut in the same parse), the edited text, its output", async () => {
      const file = await sealed(ext);
      process.env.EDIT_FROM = "hunter2";
      process.env.EDIT_TO = "hunter3";
      try {
        const p = await parses([file], ["edit", file]);
        expect(p.other).toBe(1);
        // read + view (1 check) + the edited text (a new input) + MAC text + stamped output
        expect(p.perFile[0]).toBe(5);
      } finally {
        delete process.env.EDIT_FROM;
        delete process.env.EDIT_TO;
      }
      expect((await cli(["get", file, SECRET_PATH[ext]!])).stdout).toBe("hunter3\n");
      count("edit");
    });
  });
}

describe("parses per command, merge (git's merge driver)", () => {
  it("parses base, current and other once each, and the merged output once", async () => {
    const base = await sealed("yaml");
    const dir = base.slice(0, base.lastIndexOf("/"));
    const cur = tmp.write(
      `${dir.slice(tmp.dir.length + 1)}/cur.yaml`,
      tmp.read(base.slice(tmp.dir.length + 1)),
    );
    const oth = tmp.write(
      `${dir.slice(tmp.dir.length + 1)}/oth.yaml`,
      tmp.read(base.slice(tmp.dir.length + 1)),
    );
    expect((await cli(["set", cur, "a", "1"])).code).toBe(0);
    expect((await cli(["set", oth, "b", "2"])).code).toBe(0);
    const labels = ["current", "other", "base"].map((s) => `${base} (${s})`);
    const p = await parses([...labels, base], ["merge", base, cur, oth, base]);
    // Both sides append at the end: the line merge conflicts, the key merge does not. Each side:
    // its file, and the file without its record (the key merge's input, which also checks the
    // cut). The merge's result is labelled as ours: the merged text (the MAC's), the stamped output.
    expect({ ...p, stdout: "", stderr: "" }).toEqual({
      perFile: [2 + 2, 2, 2, 0],
      other: 1,
      stdout: "",
      stderr: "",
    });
    const merged = await cli(["decrypt", cur]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toMatch(/^a: !secret "1"$/m);
    expect(merged.stdout).toMatch(/^b: !secret "2"$/m);
    count("merge");
  });
});

describe("every verb that reads a file is counted", () => {
  it("covers the verbs of issue 16", () => {
    for (
      const v of [
        "encrypt",
        "decrypt",
        "edit",
        "set",
        "get",
        "unset",
        "rotate",
        "rewrap",
        "status",
        "check",
        "textconv",
        "merge",
        "run",
      ]
    ) expect(seen.has(v), v).toBe(true);
    expect(verbs).toBeGreaterThan(0);
  });
});
