/**
 * A runtime's permission denial is reported as one (`PERMISSION_DENIED`, naming the permission,
 * what was asked for and the flag), wherever sealfig turns a foreign error into its own; and no
 * error message guesses a cause it did not check.
 *
 * The denials here are errors of the exact shapes Deno and Node throw (Deno 2's `NotCapable` with
 * its message, Node's `ERR_ACCESS_DENIED`): the processes that really run without permissions are
 * in tests/config/deno_permissions.test.ts. The guess check reads every string literal of src/.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDocument } from "../../document.ts";
import { SealfigError } from "../../mod.ts";
import { parserFailure } from "../../src/document/source.ts";
import { mapKmsError } from "../../src/keys/aws_kms_errors.ts";
import { permissionDenied } from "../../src/runtime.ts";
import { exitCodeFor } from "../../src/cli/exit_codes.ts";

function denoDenial(kind: string, what: string | undefined, flag: string): Error {
  const e = new Error(
    `Requires ${kind} access${
      what === undefined ? "" : ` to ${what}`
    }, run again with the ${flag} flag`,
  );
  e.name = "NotCapable";
  return e;
}

describe("permissionDenied", () => {
  it("Deno: names the permission, what was asked for, and the flag that grants exactly that", () => {
    const cases: [Error, string, string][] = [
      [
        denoDenial("env", '"LOG_TOKENS"', "--allow-env"),
        'env access to "LOG_TOKENS"',
        "--allow-env=LOG_TOKENS",
      ],
      [
        denoDenial("read", '"/app/config/a.yaml"', "--allow-read"),
        'read access to "/app/config/a.yaml"',
        "--allow-read=/app/config/a.yaml",
      ],
      [
        denoDenial("net", '"kms.eu-west-1.amazonaws.com:443"', "--allow-net"),
        'net access to "kms.eu-west-1.amazonaws.com:443"',
        "--allow-net=kms.eu-west-1.amazonaws.com:443",
      ],
      [denoDenial("sys", '"homedir"', "--allow-sys"), 'sys access to "homedir"', "--allow-sys"],
      [denoDenial("env", undefined, "--allow-env"), "env access", "--allow-env"],
    ];
    for (const [err, reason, flag] of cases) {
      const e = permissionDenied(err);
      expect(e?.code).toBe("PERMISSION_DENIED");
      expect(e?.reason).toBe(`Deno denied ${reason}`);
      expect(e?.hint).toContain(`Run with ${flag}`);
      expect(e?.cause).toBe(err);
    }
  });

  it("Node's permission model: names the permission and its flag", () => {
    const err = Object.assign(new Error("Access to this API has been restricted"), {
      code: "ERR_ACCESS_DENIED",
      permission: "FileSystemRead",
      resource: "/app/config/a.yaml",
    });
    const e = permissionDenied(err);
    expect(e?.code).toBe("PERMISSION_DENIED");
    expect(e?.reason).toBe(
      'Node\'s permission model denied FileSystemRead to "/app/config/a.yaml"',
    );
    expect(e?.hint).toContain("--allow-fs-read");
  });

  it("is nothing else: OS errors, other errors, other shapes", () => {
    const eacces = Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
    const notCapableOther = Object.assign(new Error("something else"), { name: "NotCapable" });
    for (const err of [eacces, notCapableOther, new TypeError("x"), "text", undefined, null, 42]) {
      expect(permissionDenied(err)).toBeUndefined();
    }
    expect(permissionDenied(new SealfigError("KEY_NOT_FOUND", "x"))).toBeUndefined();
  });

  it("maps to exit code 3 (like other input the process could not read)", () => {
    expect(exitCodeFor("PERMISSION_DENIED")).toBe(3);
  });
});

describe("every place a foreign error becomes a SealfigError reports a denial as one", () => {
  const denial = () => denoDenial("env", '"LOG_TOKENS"', "--allow-env");

  it("the YAML parser (the yaml library reads LOG_TOKENS): not 'nesting too deep?'", () => {
    const e = parserFailure(denial(), "config/app.yaml");
    expect(e.code).toBe("PERMISSION_DENIED");
    expect(e.file).toBe("config/app.yaml");
    expect(e.message).not.toMatch(/nesting|\?\)/);
  });

  it("the YAML parser: stack exhaustion is named as such, anything else by its class only", () => {
    const deep = parserFailure(new RangeError("Maximum call stack size exceeded"), "a.yaml");
    expect(deep.code).toBe("YAML_SYNTAX");
    expect(deep.reason).toContain("ran out of stack");
    const other = parserFailure(new TypeError("quotes the file: hunter2"), "a.yaml");
    expect(other.reason).toBe("The YAML parser failed (TypeError)");
    expect(other.message).not.toContain("hunter2");
  });

  it("the AWS SDK's errors", () => {
    const e = mapKmsError(denial(), {
      operation: "Decrypt",
      keyId: "arn:aws:kms:eu-west-1:111122223333:key/k",
      context: {},
      attempts: 1,
    });
    expect(e.code).toBe("PERMISSION_DENIED");
    expect(e.keyId).toBe("arn:aws:kms:eu-west-1:111122223333:key/k");
  });

  it("a real parse still reports real syntax errors as YAML_SYNTAX", () => {
    expect(() => parseDocument("a: [1, 2\n")).toThrow(
      expect.objectContaining({ code: "YAML_SYNTAX" }),
    );
  });
});

/** String literals of a TypeScript source line, template expressions removed. */
function literals(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`|'(?:[^'\\]|\\.)*'/g)) {
    out.push(m[0].slice(1, -1).replace(/\$\{[^}]*\}/g, ""));
  }
  return out;
}

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (p.endsWith(".ts")) yield p;
  }
}

describe("no error message or hint guesses a cause it did not check", () => {
  // The forms a guess took: "(nesting too deep?)", "(a rollback?)", "(is git installed?)", and
  // hedging words. A question a prompt asks the user ("Reopen the editor? [Y/n]") is no guess.
  const GUESS = /\?\s*\)|\b(maybe|probably|perhaps|possibly|presumably|likely)\b|\bis \w+ \w+\?/i;

  it("every string literal in src/ is free of them", () => {
    const src = fileURLToPath(new URL("../../src/", import.meta.url));
    const found: string[] = [];
    let count = 0;
    for (const file of sources(src)) {
      readFileSync(file, "utf8").split("\n").forEach((line, i) => {
        const t = line.trim();
        if (t.startsWith("//") || t.startsWith("*") || t.startsWith("/*")) return;
        for (const s of literals(line)) {
          count++;
          if (GUESS.test(s)) found.push(`${file.slice(src.length)}:${i + 1}: ${s}`);
        }
      });
    }
    expect(count).toBeGreaterThan(1000);
    expect(found).toEqual([]);
  });

  it("the check sees the guesses it is for", () => {
    for (const s of ['"The YAML cannot be parsed (nesting too deep?)"', '"(is git installed?)"']) {
      expect(literals(`throw new Error(${s});`).some((l) => GUESS.test(l))).toBe(true);
    }
  });
});
