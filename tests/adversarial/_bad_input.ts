/**
 * Bad input to loadConfig and to the CLI: every case loads exactly (nothing lost or changed) or
 * gives a typed error naming the file (and line/path where there is one), never a value; the CLI
 * exits with its documented code, one line per problem, and leaves the file untouched.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { loadConfig } from "../../src/config/load_config.ts";
import { envSealing } from "../../src/config/env_overrides.ts";
import { parseDocument } from "../../src/document/document.ts";
import { encryptValue } from "../../src/envelope/values.ts";
import { MAX_BLOB_CHARS } from "../../src/envelope/format.ts";
import { toBase64Url } from "../../src/crypto/bytes.ts";
import { runSealfig } from "../_helpers/cli.ts";
import type { TempDir } from "../_helpers/tmp_dir.ts";
import {
  attempt,
  canary,
  captureCli,
  DEEP,
  expectTyped,
  noIntegrity,
  note,
  plaintextOnPurpose,
  rejectionOf,
  tempDir,
} from "./_collector.ts";
import { blobAt, cliRepo, CONTEXT, key1, local, sealText } from "./_fixture.ts";

type Outcome =
  | { codes: string[]; line?: number; path?: string }
  | { loads: (config: Record<string, unknown>) => void };

interface Case {
  name: string;
  content: string | Uint8Array;
  outcome: Outcome;
  /** Also run through `sealfig check --decrypt` (failing cases only). */
  cli?: boolean;
}

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(
    parts.flatMap((p) => typeof p === "string" ? [...new TextEncoder().encode(p)] : p),
  );

/** Nesting depth of the deep cases besides the first two (100,000 in deep mode). */
const DEPTH = DEEP ? 100_000 : 10_000;

function deepBlockMap(levels: number): string {
  let s = "";
  for (let i = 0; i < levels; i++) s += `${" ".repeat(i)}k:\n`;
  return s + `${" ".repeat(levels)}k: x\n`;
}

export function badInputSuite(): void {
  describe("bad input to loadConfig and the CLI", () => {
    const PW = canary("bad-pw");
    let dir: TempDir;
    let cases: Case[];

    beforeAll(async () => {
      dir = tempDir("bad");
      const sealed = await sealText(`db:\n  host: h\n  password: !secret ${PW}\n`);
      const sealedText = sealed.toString();
      const pwBlob = blobAt(sealed, "db.password");
      const big = "x".repeat(1024 * 1024 - 10);
      const bigBlob = await encryptValue(big, {
        provider: local,
        keyId: key1.id,
        path: "big",
        context: CONTEXT,
      });
      const hugeLength = toBase64Url(
        bytes([1, 1, 1, 5], "local", [0xff, 0xff], "lk_0123456789abcdef", new Array(200).fill(7)),
      );
      const longValue = "v".repeat(DEEP ? 5_000_000 : 1_000_000);
      const secretCheck = (c: Record<string, unknown>) =>
        expect((c.db as Record<string, unknown>).password).toBe(PW);
      cases = [
        { name: "empty file", content: "", outcome: { loads: (c) => expect(c).toEqual({}) } },
        {
          name: "only comments",
          content: "# one\n\n   # two\n",
          outcome: { loads: (c) => expect(c).toEqual({}) },
        },
        {
          name: "not YAML",
          content: "{{{{ ]]] :::\n",
          outcome: { codes: ["YAML_SYNTAX"], line: 1 },
          cli: true,
        },
        {
          name: "a top-level scalar",
          content: `${pwBlob}\n`,
          outcome: { codes: ["YAML_UNSUPPORTED"], line: 1 },
        },
        {
          name: "billion laughs",
          content: [
            "a: &a [x, x, x, x, x, x, x, x, x, x]",
            "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
            "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
            "",
          ].join("\n"),
          outcome: { codes: ["YAML_ALIAS_LIMIT"] },
          cli: false,
        },
        {
          name: "merge-key bomb",
          content: [
            "a: &a {x: 1, y: 2}",
            "b: &b {<<: [*a, *a, *a, *a, *a, *a, *a, *a], z: 1}",
            "c: &c {<<: [*b, *b, *b, *b, *b, *b, *b, *b], w: 1}",
            "d: {<<: [*c, *c, *c, *c, *c, *c, *c, *c]}",
            "",
          ].join("\n"),
          outcome: { codes: ["YAML_ALIAS_LIMIT"] },
        },
        {
          name: "circular alias",
          content: "a: &a [1, *a]\n",
          outcome: { codes: ["YAML_ALIAS_LIMIT", "YAML_SYNTAX"] },
        },
        {
          name: "100,000 nested flow sequences",
          content: `a: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`,
          outcome: { codes: ["YAML_SYNTAX"], line: 1 },
          cli: true,
        },
        {
          name: `${DEPTH} nested flow maps`,
          content: `a: ${"{a: ".repeat(DEPTH)}1${"}".repeat(DEPTH)}\n`,
          outcome: { codes: ["YAML_SYNTAX"], line: 1 },
        },
        {
          name: `${DEPTH} nested block sequences`,
          content: `a:\n${"- ".repeat(DEPTH)}x\n`,
          outcome: { codes: ["YAML_SYNTAX"], line: 2 },
        },
        {
          name: `${DEPTH} alternating flow maps and sequences`,
          content: `a: ${"[{a: ".repeat(DEPTH / 2)}1${"}]".repeat(DEPTH / 2)}\n`,
          outcome: { codes: ["YAML_SYNTAX"], line: 1 },
        },
        {
          name: `${DEEP ? 3_000 : 400} nested block maps`,
          content: deepBlockMap(DEEP ? 3_000 : 400),
          outcome: { codes: ["YAML_SYNTAX"] },
        },
        {
          name: "a very long line (1 MB, 5 MB deep)",
          content: `db:\n  host: ${longValue}\n  password: ${pwBlob}\n`,
          outcome: {
            loads: (c) => {
              expect((c.db as Record<string, string>).host).toBe(longValue);
              secretCheck(c);
            },
          },
        },
        {
          name: "a 1 MiB sealed value",
          content: `big: ${bigBlob}\n`,
          outcome: { loads: (c) => expect(c.big).toBe(big) },
        },
        {
          name: "a blob longer than MAX_BLOB_CHARS",
          content: `a: 1\nbig: sealfig:v1:${"A".repeat(MAX_BLOB_CHARS)}\n`,
          outcome: { codes: ["BLOB_MALFORMED"], line: 2, path: "big" },
        },
        {
          name: "a blob declaring a 65,535-byte key id",
          content: `a: sealfig:v1:${hugeLength}\n`,
          outcome: { codes: ["BLOB_MALFORMED"], line: 1, path: "a" },
          cli: true,
        },
        {
          name: "NUL in a value",
          content: "a: b\u0000c\n",
          outcome: { loads: (c) => expect(c.a).toBe("b\u0000c") },
        },
        {
          name: "NUL between lines",
          content: "a: 1\n\u0000\nb: 2\n",
          outcome: { codes: ["YAML_SYNTAX"], line: 2 },
        },
        {
          name: "invalid UTF-8 (0xff)",
          content: bytes("a: 1\nb: ", [0xff], "\n"),
          outcome: { codes: ["FILE_NOT_UTF8"], line: 2 },
          cli: true,
        },
        {
          name: "invalid UTF-8 (overlong /)",
          content: bytes("a: ", [0xc0, 0xaf], "\n"),
          outcome: { codes: ["FILE_NOT_UTF8"], line: 1 },
        },
        {
          name: "invalid UTF-8 (encoded surrogate)",
          content: bytes("a: 1\n\nb: ", [0xed, 0xa0, 0x80], "\n"),
          outcome: { codes: ["FILE_NOT_UTF8"], line: 3 },
        },
        {
          name: "invalid UTF-8 (truncated at the end)",
          content: bytes("a: ", [0xe2, 0x82]),
          outcome: { codes: ["FILE_NOT_UTF8"], line: 1 },
        },
        {
          name: "BOM",
          content: `\ufeff${sealedText}`,
          outcome: { loads: secretCheck },
        },
        {
          name: "CRLF with a block scalar",
          content: `${sealedText}note: |\n  x\n  y\n`.replaceAll("\n", "\r\n"),
          outcome: {
            loads: (c) => {
              secretCheck(c);
              expect(c.note).toBe("x\ny\n");
            },
          },
        },
        {
          name: "BOM and CRLF",
          content: `\ufeff${sealedText.replaceAll("\n", "\r\n")}`,
          outcome: { loads: secretCheck },
        },
        {
          name: "duplicate keys",
          content: "a: 1\nb: 2\na: 3\n",
          outcome: { codes: ["YAML_DUPLICATE_KEY"], line: 3 },
          cli: true,
        },
        {
          name: "duplicate keys, one quoted",
          content: `db:\n  password: ${pwBlob}\n  "password": x\n`,
          outcome: { codes: ["YAML_DUPLICATE_KEY"], line: 3 },
        },
        {
          name: "!secret on a map",
          content: `db: !secret\n  password: ${PW}\n`,
          outcome: { codes: ["YAML_SECRET_TAG"], line: 2, path: "db" }, // (where the map starts)
          cli: true,
        },
        {
          name: "!secret on a sequence",
          content: `keys: !secret\n  - ${PW}\n`,
          outcome: { codes: ["YAML_SECRET_TAG"], line: 2, path: "keys" },
        },
        {
          name: "!secret on a flow map",
          content: `db: !secret {password: ${PW}}\n`,
          outcome: { codes: ["YAML_SECRET_TAG"], line: 1, path: "db" },
        },
        {
          name: "!secret on a key",
          content: `!secret ${PW}: 1\n`,
          outcome: { codes: ["YAML_SECRET_TAG"], line: 1 },
        },
        {
          name: "!secret unsealed in a file given to loadConfig",
          content: `db:\n  password: !secret ${PW}\n`,
          outcome: { codes: ["SECRET_UNSEALED"], line: 2, path: "db.password" },
        },
        {
          name: "unknown tag !foo",
          content: `a: !foo ${PW}\n`,
          outcome: { codes: ["YAML_UNSUPPORTED"], line: 1 },
          cli: true,
        },
        {
          name: "misspelt !secrte (would stay plaintext)",
          content: `db:\n  password: !secrte ${PW}\n`,
          outcome: { codes: ["YAML_UNSUPPORTED"], line: 2 },
        },
        {
          name: "unknown tag on a map",
          content: `db: !Secret\n  password: ${PW}\n`,
          outcome: { codes: ["YAML_UNSUPPORTED"], line: 1 },
        },
        {
          name: "a language-specific tag",
          content: "a: !!python/object:os.system x\n",
          outcome: { codes: ["YAML_UNSUPPORTED"], line: 1 },
        },
        {
          name: "a %TAG directive to a foreign tag",
          content: "%TAG !e! tag:example.com,2000:\n---\na: !e!thing x\n",
          outcome: { codes: ["YAML_UNSUPPORTED"], line: 1 },
        },
        {
          name: "core tags (!!str, !!int) still work",
          content: "a: !!str 5\nb: !!int 7\n",
          outcome: { loads: (c) => expect(c).toEqual({ a: "5", b: 7 }) },
        },
        {
          name: "a blob of a future version",
          content: `db:\n  password: sealfig:v9:${pwBlob.slice(11)}\n`,
          outcome: { codes: ["BLOB_UNSUPPORTED"], line: 2, path: "db.password" },
          cli: true,
        },
        {
          // v2 exists (several keys, docs/format.md §11): a v1 body under its prefix is malformed.
          name: "a v1 body under the v2 prefix",
          content: `db:\n  password: sealfig:v2:${pwBlob.slice(11)}\n`,
          outcome: { codes: ["BLOB_MALFORMED"], line: 2, path: "db.password" },
          cli: true,
        },
        {
          name: "a blob of version 0",
          content: "a: sealfig:v0:AAAA\n",
          outcome: { codes: ["BLOB_UNSUPPORTED"], line: 1, path: "a" },
        },
      ];
    });

    it("every case loads exactly or fails with a typed error naming file, line and path", async () => {
      const cache = new DekCache();
      let loaded = 0, failed = 0;
      for (const [i, c] of cases.entries()) {
        await attempt("bad input", async () => {
          const file = dir.write(`case-${i}.yaml`, c.content);
          if (typeof c.content === "string" && c.content.includes(PW)) plaintextOnPurpose(file);
          const opts = noIntegrity({ files: [file], providers: [local], cache, context: CONTEXT });
          if ("loads" in c.outcome) {
            c.outcome.loads(await loadConfig(opts) as Record<string, unknown>);
            loaded++;
          } else {
            const err = await rejectionOf(loadConfig(opts), c.name);
            expectTyped(c.name, err, { ...c.outcome, file });
            failed++;
          }
        });
      }
      note(
        "bad input",
        `loadConfig: ${cases.length} cases, ${loaded} loaded exactly, ${failed} typed errors`,
      );
    });

    it("regression: an erroring document, then 100,000 levels of nesting, never aborts the process", async () => {
      // Before the depth check, this deep parse died in V8 ("RegExpCompiler Allocation
      // failed - process out of memory"): yaml's recursive composer ran near the stack limit.
      const deep = `a: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`;
      for (const [i, content] of ["{{{{ ]]] :::\n", deep].entries()) {
        await attempt("bad input", async () => {
          const err = await rejectionOf(
            Promise.resolve().then(() => parseDocument(content, { file: `seq-${i}.yaml` })),
            `sequence ${i}`,
          );
          expectTyped(`sequence ${i}`, err, { codes: ["YAML_SYNTAX"], file: `seq-${i}.yaml` });
        });
      }
    });

    it("environment overrides and .env lines that are malformed or moved blobs name the variable", async () => {
      const sealed = await sealText(`db:\n  host: h\n  password: !secret ${PW}\n`);
      const file = dir.write("env-base.yaml", sealed.toString());
      const pw = blobAt(sealed, "db.password");
      // Sealed for the environment, but for another variable.
      const hostBlob = await encryptValue(PW, {
        provider: local,
        keyId: key1.id,
        ...envSealing("APP_DB__HOST"),
      });
      const variants: [string, string, string[]][] = [
        ["malformed", "sealfig:v1:AAAA", ["BLOB_MALFORMED"]],
        ["truncated", pw.slice(0, 60), ["BLOB_MALFORMED"]],
        ["future version", "sealfig:v7:AAAA", ["BLOB_UNSUPPORTED"]],
        ["sealed for another variable", hostBlob, ["BLOB_AUTH_FAILED"]],
        ["the file's blob (another context)", pw, ["DEK_UNWRAP_FAILED", "BLOB_AUTH_FAILED"]],
      ];
      for (const [what, value, codes] of variants) {
        await attempt("bad input", async () => {
          const err = await rejectionOf(
            loadConfig(noIntegrity({
              files: [file],
              providers: [local],
              cache: new DekCache(),
              context: CONTEXT,
              env: { prefix: "APP_", vars: { APP_DB__PASSWORD: value } },
            })),
            what,
          );
          const e = expectTyped(`env ${what}`, err, { codes, path: "db.password" });
          expect(e.message).toContain("APP_DB__PASSWORD");
        });
        await attempt("bad input", async () => {
          const envFile = dir.write(".env", `# env\nAPP_DB__HOST=x\nAPP_DB__PASSWORD=${value}\n`);
          const err = await rejectionOf(
            loadConfig(noIntegrity({
              files: [file],
              baseDir: dir.dir,
              providers: [local],
              cache: new DekCache(),
              context: CONTEXT,
              env: { prefix: "APP_", vars: {} },
              dotenv: true,
            })),
            `.env ${what}`,
          );
          expectTyped(`.env ${what}`, err, { codes, path: "db.password", file: envFile, line: 3 });
        });
      }
    });

    it("the CLI: one line per bad file (exit 6 from check --decrypt, 3 from encrypt -i), files untouched", async () => {
      const repo = tempDir("bad-cli");
      const { cwd, env } = cliRepo(repo);
      const chosen = cases.filter((c) => c.cli);
      const names = chosen.map((_, i) => `bad-${i}.yaml`);
      chosen.forEach((c, i) => {
        const file = repo.write(names[i]!, c.content);
        if (typeof c.content === "string" && c.content.includes(PW)) plaintextOnPurpose(file);
      });
      const before = names.map((n) => readFileSync(repo.path(n)));
      await attempt("bad input", async () => {
        const r = await runSealfig(["check", "--decrypt", ...names], { cwd, env });
        captureCli("check --decrypt bad files", r);
        expect(r.code, r.stderr).toBe(6);
        for (const [i, n] of names.entries()) {
          const line = r.stderr.split("\n").find((l) => l.startsWith(n));
          expect(line, `${chosen[i]!.name}: ${r.stderr}`).toBeDefined();
          // Unreadable files carry the error code; a readable file with a bad blob says why.
          expect(/\[[A-Z0-9_]+\]$/.test(line!) || /Malformed|version/.test(line!), line).toBe(true);
        }
        expect(r.stderr).not.toContain("    at "); // no stack traces
      });
      // A write command on bad input (100,000 levels of nesting): exit 3, one line, no crash.
      for (const i of [1]) {
        const n = names[i]!;
        await attempt("bad input", async () => {
          const r = await runSealfig(["encrypt", "-i", n], { cwd, env });
          captureCli(`encrypt -i ${chosen[i]!.name}`, r);
          expect(r.signal).toBeNull();
          expect(r.code, r.stderr).toBe(3);
          expect(r.stderr.trim().split("\n")).toHaveLength(1);
          expect(r.stderr).toContain(n);
        });
      }
      names.forEach((n, i) => expect(readFileSync(repo.path(n))).toEqual(before[i]));
    });
  });
}
