/**
 * The `.env` reader and writer (src/document/dotenv.ts) through `parseDocument`: which names are
 * `.env` files, positions of values, the record line, and what cannot be written.
 */
import { describe, expect, it } from "vitest";
import { formatOfFile, parseDocument, setValue } from "../../document.ts";
import { isSealfigError } from "../../mod.ts";
import { isEnvFileName } from "../../src/document/dotenv.ts";

function refusal(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (err) {
    if (isSealfigError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("expected a refusal");
}

describe(".env documents", () => {
  it("file names: .env, .env.*, *.env and git's textconv copies are .env; YAML and JSON are not", () => {
    const env = [".env", "config/.env.production", ".env.local", "prod.env", "/tmp/ab12Cd_.env"];
    const notEnv = ["app.yaml", ".env.yaml", ".env.json", "env", "environment.yml", ".envrc.yaml"];
    for (const f of env) expect(isEnvFileName(f), f).toBe(true);
    for (const f of notEnv) expect(isEnvFileName(f), f).toBe(false);
    expect(formatOfFile(".env.production")).toBe("env");
    expect(formatOfFile("a.yaml")).toBe("yaml");
  });

  it("values carry the .env file's own line and column (export, spaces around =, multi-line)", () => {
    const text = "# c\nexport   A = 'x y'\nB=\"1\n2\"\nC=plain # note\n";
    const doc = parseDocument(text, { file: ".env" });
    expect(doc.format).toBe("env");
    expect(doc.values().map((v) => [v.pathText, v.value, v.line, v.col])).toEqual([
      ["A", "x y", 2, 14],
      ["B", "1\n2", 3, 3],
      ["C", "plain", 5, 3],
    ]);
    expect(doc.toString()).toBe(text);
    // Without a .env name, `format` says it.
    expect(parseDocument(text, { format: "env" }).values()).toHaveLength(3);
  });

  it("the record line: one, well-formed, at the start of its line; the name is reserved", () => {
    const rec = "# sealfig_integrity: sealfig-mac:v1:AAAA\n";
    expect(parseDocument(`A=1\n${rec}`, { file: ".env" }).get("sealfig_integrity")?.value)
      .toBe("sealfig-mac:v1:AAAA");
    const twice = refusal(() => parseDocument(`${rec}A=1\n${rec}`, { file: ".env" }));
    expect(twice.code).toBe("ENV_SYNTAX");
    expect(twice.message).toContain(".env:3:1");
    expect(
      refusal(() => parseDocument("# sealfig_integrity sealfig-mac:v1:A\n", { file: ".env" })).code,
    )
      .toBe("ENV_SYNTAX");
    expect(refusal(() => parseDocument("sealfig_integrity=x\n", { file: ".env" })).code)
      .toBe("ENV_SYNTAX");
  });

  it("names are POSIX names; `export` alone is a name", () => {
    expect(parseDocument("export=1\n", { file: ".env" }).get("export")?.value).toBe("1");
    for (const bad of ["1A=x\n", "A-B=x\n", "A.B=x\n", "A: x\n", "=x\n"]) {
      expect(refusal(() => parseDocument(bad, { file: ".env" })).code, bad).toBe("ENV_SYNTAX");
    }
  });

  it("what a .env cannot hold is refused before anything is written", () => {
    const doc = parseDocument("A=1\n", { file: ".env" });
    const nested = refusal(() => setValue(doc, "db.password", "x").toString());
    expect(nested.code).toBe("VALUE_NOT_REPRESENTABLE");
    const typed = refusal(() => setValue(doc, "B", 5).toString());
    expect(typed.code).toBe("VALUE_NOT_REPRESENTABLE");
    const nul = refusal(() => setValue(doc, "C", "a\u0000b").toString());
    expect(nul.code).toBe("VALUE_NOT_REPRESENTABLE");
    // Strings of every shape are written so they read back: quoting chosen per value.
    const shapes = [
      "",
      " lead",
      "trail ",
      "it's",
      'say "hi"',
      "a\nb",
      "c\r\nd",
      "#x",
      "$HOME",
      "é",
    ];
    let d = doc;
    shapes.forEach((s, i) => (d = setValue(d, `S${i}`, s)));
    const back = parseDocument(d.toString(), { file: ".env" });
    expect(shapes.map((_, i) => back.get(`S${i}`)?.value)).toEqual(shapes);
    expect(d.toString().startsWith("A=1\nS0=''\nS1=' lead'\n")).toBe(true);
  });
});
