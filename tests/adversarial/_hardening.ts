/**
 * Issue 19, hostile files and requests, one summary line per kind:
 * - parse bounds: files at the 10 MiB limit shaped to cost the most (short keys, wide and nested
 *   flow collections, empty items, comments, documents) are refused with YAML_LIMIT before the
 *   composer runs, by the loader and by the CLI (`check`, `textconv`); the exact bounds hold;
 * - look-alike keys: invisible, bidi, non-NFC and mixed-script keys are refused by the loader and
 *   the CLI; environment names match in ASCII only;
 * - kms answers: malformed KMS answers that quote a canary never put it in an error; an answer
 *   naming another key is refused; the cache never hands one provider what another unwrapped; a
 *   file refused anyway costs no KMS call;
 * - kms server: oversized and slow requests, foreign Host headers, surplus connections, binds
 *   beyond loopback, corrupt state files (holding a canary) and alias takeovers are all refused.
 *
 * Counts, not time: a guard only fails a case that hangs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as net from "node:net";
import * as fs from "node:fs";
import { KMSClient, UpdateAliasCommand } from "@aws-sdk/client-kms";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { loadConfig } from "../../src/config/load_config.ts";
import { applyEnv } from "../../src/config/env_overrides.ts";
import { PARSE_LIMITS, parseDocument, pathCharCount } from "../../src/document/document.ts";
import { sealDocument } from "../../src/document/seal.ts";
import { KmsKeyProvider } from "../../src/keys/aws_kms.ts";
import { createKmsHandler, type KmsServer, startKmsServer } from "../../src/kms_server/server.ts";
import { serveHttp } from "../../src/runtime.ts";
import { runSealfig } from "../_helpers/cli.ts";
import {
  attempt,
  canary,
  captureCli,
  captureError,
  codeTally,
  DEEP,
  expectTyped,
  KNOBS,
  note,
  rejectionOf,
  returnsWithin,
  tempDir,
} from "./_collector.ts";
import { cliRepo, CONTEXT, local, sealText } from "./_fixture.ts";

const MAX_BYTES = 10 * 1024 * 1024;
const NO_HANG_MS = 60_000;

/** Repeat `unit(i)` between `head` and `tail` while the whole stays within the size limit. */
function fill(head: string, unit: (i: number) => string, tail: string): string {
  const parts: string[] = [];
  let size = head.length + tail.length;
  for (let i = 0;; i++) {
    const u = unit(i);
    if (size + u.length > MAX_BYTES) break;
    parts.push(u);
    size += u.length;
  }
  return head + parts.join("") + tail;
}

/** Latin letters and their Cyrillic twins (the same glyph in most fonts). */
const CYRILLIC: Record<string, string> = {
  a: "\u0430",
  c: "\u0441",
  e: "\u0435",
  o: "\u043e",
  p: "\u0440",
  x: "\u0445",
  y: "\u0443",
  i: "\u0456",
  j: "\u0458",
  s: "\u0455",
};

export function hardeningSuite(): void {
  describe("hostile files: bounded parsing", () => {
    const shapes: [string, () => string][] = [
      ["10 MiB of short keys in one map", () => fill("", (i) => `k${i.toString(36)}: 1\n`, "")],
      ["10 MiB flow sequence of scalars", () => fill("a: [", () => "1,", "1]\n")],
      ["10 MiB of nested flow, 250 deep each", () => {
        const u = `${"[".repeat(250)}${"]".repeat(250)},`;
        return fill("a: [", () => u, "1]\n");
      }],
      ["10 MiB of empty flow maps in a sequence", () => fill("", () => "- {}\n", "")],
      [
        "10 MiB flow map of short keys",
        () => fill("{", (i) => `k${i.toString(36)}: 1,`, "z: 1}\n"),
      ],
      ["10 MiB of comment lines", () => fill("a: 1\n", () => "#\n", "")],
      ["10 MiB of empty documents", () => fill("a: 1\n", () => "---\n", "")],
      [
        "10,001 keys in one map",
        () =>
          Array.from({ length: PARSE_LIMITS.maxKeysPerMap + 1 }, (_, i) => `k${i}: ${i}\n`).join(
            "",
          ),
      ],
      // 1.4-1.7 GB of peak memory before each line of a multi-line scalar counted as a token
      ["10 MiB block scalar of blank lines", () => fill("a: |\n  x\n", () => "\n", "  y\n")],
      ["10 MiB double-quoted value", () => `a: "${"v".repeat(MAX_BYTES - 10)}"\n`],
      // formatted a 200,000-character path per value (> 10 minutes) before the path budget
      [
        "a 200,000-character key above 45,000 values",
        () => `? ${"k".repeat(200_000)}\n:\n${"  - 1\n".repeat(45_000)}`,
      ],
      ["paths of 8,100 characters under 1,100 values", () => {
        let text = "";
        for (let d = 0; d < 100; d++) text += `${" ".repeat(d)}${"k".repeat(79)}${d % 10}:\n`;
        return text + `${" ".repeat(100)}- 1\n`.repeat(1_100);
      }],
    ];
    const dir = tempDir("bounds");
    const codes: string[] = [];
    let pathChars = 0;

    it("each shape is refused with a typed error by parseDocument and loadConfig", async () => {
      // Default mode: the cheapest 10 MiB shapes and the 10,001 keys; deep mode: all of them.
      for (
        const [what, make] of DEEP
          ? shapes
          : shapes.filter((_, i) => [0, 2, 5, 7, 8, 9, 10, 11].includes(i))
      ) {
        await attempt("parse bounds", async () => {
          const text = make();
          const before = pathCharCount();
          const file = dir.write("hostile.yaml", text);
          const err = await returnsWithin(
            rejectionOf(
              loadConfig({ files: [file], providers: [local], cache: new DekCache() }),
              what,
            ),
            NO_HANG_MS,
            what,
          );
          const e = expectTyped(what, err, { codes: ["YAML_LIMIT"], file });
          codes.push(e.code);
          let direct: unknown;
          try {
            parseDocument(text);
          } catch (x) {
            direct = x;
          }
          expectTyped(`${what} (parseDocument)`, direct, { codes: ["YAML_LIMIT"] });
          // Path work stays within the budget (twice: loadConfig and parseDocument).
          const formatted = pathCharCount() - before;
          expect(formatted).toBeLessThanOrEqual(
            2 * (PARSE_LIMITS.maxTotalPathChars + PARSE_LIMITS.maxPathChars),
          );
          pathChars = Math.max(pathChars, formatted);
        });
      }
    });

    it("the exact bounds: limit accepted, one more refused (nodes, keys per map, depth)", async () => {
      const n = PARSE_LIMITS.maxNodes;
      const k = PARSE_LIMITS.maxKeysPerMap;
      const d = PARSE_LIMITS.maxDepth;
      const cases: [string, string, number | string][] = [
        ["nodes", `a: [${"1,".repeat(n - 4)}1]\n`, n - 3],
        ["nodes + 1", `a: [${"1,".repeat(n - 3)}1]\n`, "YAML_LIMIT"],
        ["keys", `{${Array.from({ length: k }, (_, i) => `k${i}: 1`).join(", ")}}\n`, k],
        ["keys + 1", `{${Array.from({ length: k + 1 }, (_, i) => `k${i}: 1`)}}\n`, "YAML_LIMIT"],
        ["depth", `${"[".repeat(d - 1)}1${"]".repeat(d - 1)}\n`, 1],
        ["depth + 1", `${"[".repeat(d + 1)}1${"]".repeat(d + 1)}\n`, "YAML_SYNTAX"],
        [
          "duplicate after 9,999 keys",
          `${Array.from({ length: k - 1 }, (_, i) => `k${i}: 1\n`).join("")}"k5": 2\n`,
          "YAML_DUPLICATE_KEY",
        ],
      ];
      for (const [what, text, want] of cases) {
        await attempt("parse bounds", () => {
          if (typeof want === "number") {
            expect(parseDocument(text).values(), what).toHaveLength(want);
            return;
          }
          let err: unknown;
          try {
            parseDocument(text);
          } catch (x) {
            err = x;
          }
          codes.push(expectTyped(what, err, { codes: [want] }).code);
        });
      }
    });

    it("the CLI refuses the largest file in one line: check and textconv (git diff) exit 3", async () => {
      const repo = tempDir("bounds-cli");
      const { cwd, env } = cliRepo(repo);
      repo.write("hostile.yaml", shapes[0]![1]());
      // check reports an unreadable file as one of its problems (exit 6); textconv exits 3.
      for (
        const [args, code] of [[["check", "hostile.yaml"], 6], [
          ["textconv", "hostile.yaml"],
          3,
        ]] as const
      ) {
        await attempt("parse bounds", async () => {
          const r = await runSealfig([...args], { cwd, env });
          captureCli(args.join(" "), r);
          expect(r.signal).toBeNull();
          expect(r.code, r.stderr).toBe(code);
          expect(r.stderr).toContain("YAML_LIMIT");
          expect(r.stderr).not.toContain("    at ");
        });
      }
      note(
        "parse bounds",
        `limits: ${PARSE_LIMITS.maxTokens} tokens, ${PARSE_LIMITS.maxNodes} nodes, ` +
          `${PARSE_LIMITS.maxKeysPerMap} keys/map, depth ${PARSE_LIMITS.maxDepth}, ` +
          `path ${PARSE_LIMITS.maxPathChars} chars (${PARSE_LIMITS.maxTotalPathChars} in all), ` +
          `${PARSE_LIMITS.maxDoubleQuotedChars} double-quoted chars; ` +
          `${codes.length} hostile documents (10 MiB shapes and exact bounds + 1); ` +
          `refusals: ${codeTally(codes)}; path characters formatted, most for one file: ` +
          `${pathChars} (loader and parseDocument together)`,
      );
    });
  });

  describe("lookalike keys", () => {
    const kinds: [string, string][] = [
      ["zero-width space", "pass\u200bword"],
      ["right-to-left override", "pass\u202eword"],
      ["left-to-right isolate", "pass\u2066word"],
      ["byte order mark", "\ufeffpassword"],
      ["soft hyphen", "pass\u00adword"],
      ["no-break space", "pass\u00a0word"],
      ["variation selector", "password\ufe0f"],
      ["combining accent (NFD)", "cafe\u0301"],
      ["Kelvin sign (NFC changes it)", "\u212aey"],
      ["Cyrillic a among Latin", "p\u0430ssword"],
      ["Greek mu among Latin", "\u03bcs_timeout"],
      ["mathematical monospace w (NFKC)", "pass\u{1d6a0}ord"],
      ["fullwidth letters (NFKC)", "\uff50\uff41\uff53\uff53word"],
      ["micro sign (NFKC)", "\u00b5s_timeout"],
      ["trailing space", "password "],
      ["leading space", " password"],
      ["whole-script Cyrillic twin of a sibling", "\u0440\u043e\u0440"],
    ];

    it("each kind is refused by the loader, before any provider call", async () => {
      const PW = canary("lookalike-pw");
      const dir = tempDir("lookalike");
      for (const [what, key] of kinds) {
        await attempt("lookalike keys", async () => {
          const sealed = await sealText(`db:\n  password: !secret ${PW}\n  host: h\n`);
          // The look-alike key next to the real one, as a reviewer would see it in a diff.
          const file = dir.write(
            "app.yaml",
            sealed.toString().replace(
              "  host: h\n",
              `  host: h\n  pop: y\n  ${JSON.stringify(key)}: x\n`,
            ),
          );
          const cache = new DekCache();
          const err = await rejectionOf(
            loadConfig({ files: [file], providers: [local], cache, integrity: "off" }),
            what,
          );
          expectTyped(what, err, { codes: ["YAML_KEY_CONFUSABLE"], file, line: 5, path: "db" });
          expect(cache.stats().providerCalls).toBe(0);
        });
      }
    });

    it("check and status refuse them too; environment names are matched in ASCII only", async () => {
      const repo = tempDir("lookalike-cli");
      const { cwd, env } = cliRepo(repo);
      repo.write("app.yaml", `db:\n  host: h\n  "h\u200bost": x\n`);
      for (const cmd of ["check", "status"]) {
        await attempt("lookalike keys", async () => {
          const r = await runSealfig([cmd, "app.yaml"], { cwd, env });
          captureCli(`${cmd} look-alike`, r);
          // check reports it as one of its problems (exit 6), status as bad input (exit 3)
          expect(r.code, r.stderr).toBe(cmd === "check" ? 6 : 3);
          expect(r.stderr).toContain("YAML_KEY_CONFUSABLE");
        });
      }
      await attempt("lookalike keys", () => {
        const origin = { source: "file" as const, secret: false };
        const tree = {
          kind: "map" as const,
          entries: new Map([["key", {
            kind: "leaf" as const,
            value: "v",
            type: "string" as const,
            origin,
          }]]),
          origin,
        };
        let err: unknown;
        try {
          applyEnv(tree, "APP_", [{ name: "APP_\u212aEY", value: "x", origin: { source: "env" } }]);
        } catch (e) {
          err = e;
        }
        expectTyped("Kelvin sign in a variable name", err, { codes: ["ENV_INVALID"] });
      });
      // Generated look-alike pairs of sibling keys: a random word beside a twin of it.
      const twins: [string, (w: string, n: number) => string][] = [
        ["Cyrillic letter", (w, n) => {
          const at = [...w].findIndex((c, i) => i >= n % w.length && c in CYRILLIC);
          const i = at >= 0 ? at : [...w].findIndex((c) => c in CYRILLIC);
          return w.slice(0, i) + CYRILLIC[w[i]!] + w.slice(i + 1);
        }],
        ["whole-script Cyrillic", (w) => [...w].map((c) => CYRILLIC[c] ?? c).join("")],
        ["mathematical letter", (w, n) => {
          const i = n % w.length;
          return w.slice(0, i) + String.fromCodePoint(0x1d68a + w.charCodeAt(i) - 97) +
            w.slice(i + 1);
        }],
        [
          "invisible character",
          (w, n) => w.slice(0, n % w.length) + "\u200d" + w.slice(n % w.length),
        ],
        ["edge space", (w) => `${w} `],
      ];
      let pairs = 0;
      const letters = Object.keys(CYRILLIC).join("");
      for (let run = 0; run < KNOBS.valueRuns; run++) {
        await attempt("lookalike keys", () => {
          // A word of letters that all have Cyrillic twins, so every substitution applies.
          const w = Array.from({ length: 3 + (run % 6) }, (_, i) => letters[(run * 7 + i * 3) % 10])
            .join("");
          for (const [what, twin] of twins) {
            const t = twin(w, run);
            let err: unknown;
            try {
              parseDocument(`${JSON.stringify(w)}: 1\n${JSON.stringify(t)}: 2\n`);
            } catch (e) {
              err = e;
            }
            expectTyped(`${what}: ${JSON.stringify(t)}`, err, { codes: ["YAML_KEY_CONFUSABLE"] });
            pairs++;
          }
        });
      }
      note(
        "lookalike keys",
        `${kinds.length} kinds refused at parse time (YAML_KEY_CONFUSABLE); ` +
          `${pairs} generated look-alike sibling pairs (${twins.length} kinds), all refused`,
      );
    });
  });

  describe("KMS answers and the data key cache", () => {
    let server: KmsServer;
    const providers: KmsKeyProvider[] = [];
    const kms = (endpoint: string, accessKeyId = "AKIDADVALLOWED") => {
      const p = new KmsKeyProvider({
        endpoint,
        region: "us-east-1",
        credentials: { accessKeyId, secretAccessKey: "x" },
        maxAttempts: 2,
        baseDelayMs: 1,
        maxDelayMs: 2,
      });
      providers.push(p);
      return p;
    };
    beforeAll(async () => {
      server = await startKmsServer({
        seed: 19,
        policy: {
          AKIDADVALLOWED: { "*": ["*"] },
          AKIDADVDENIED: { "*": ["GenerateDataKey", "DescribeKey"] },
        },
      });
    });
    afterAll(async () => {
      for (const p of providers) p.destroy();
      await server?.close();
    });

    it("malformed answers quoting a canary never put it in an error; a foreign KeyId is refused", async () => {
      const C = canary("kms-answer");
      const mangles: [string, (body: string) => { status: number; body: string }][] = [
        ["Plaintext unquoted", (b) => ({
          status: 200,
          body: b.replace(/"Plaintext":"[^"]*"/, `"Plaintext":${C}`),
        })],
        ["truncated after the key", (b) => ({
          status: 200,
          body: b.replace(/"Plaintext":"[^"]*"/, `"Plaintext":"${C}`).slice(0, -1),
        })],
        ["a bad token after the key", (b) => ({
          status: 200,
          body: b.replace(/"Plaintext":"[^"]*"/, `"Plaintext":"${C}" ${C}`),
        })],
        ["an HTML 500 page", () => ({ status: 500, body: `<html>${C}</html>` })],
        ["an HTML 200 page", () => ({ status: 200, body: `<html>${C}</html>` })],
        ["a foreign KeyId", (b) => ({
          status: 200,
          body: b.replace(
            /"KeyId":"[^"]*"/,
            `"KeyId":"arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000"`,
          ),
        })],
      ];
      const codes: string[] = [];
      for (const [what, mangle] of mangles) {
        await attempt("kms answers", async () => {
          const handler = createKmsHandler({ seed: 3 });
          let active = false;
          const http = await serveHttp(async (request) => {
            const op = request.headers.get("x-amz-target") ?? "";
            const response = await handler.handle(request);
            if (!active || !op.endsWith(".Decrypt")) return response;
            const out = mangle(await response.text());
            return new Response(out.body, {
              status: out.status,
              headers: { "content-type": "application/x-amz-json-1.1" },
            });
          });
          try {
            const key = await handler.createKey();
            const p = kms(`http://127.0.0.1:${http.port}`);
            const made = await p.generateDataKey(key.arn, CONTEXT);
            active = true;
            const err = await rejectionOf(p.decryptDataKey(key.arn, made.wrapped, CONTEXT), what);
            captureError(what, err);
            codes.push(
              expectTyped(what, err, {
                codes: ["PROVIDER_FAILED", "KMS_UNAVAILABLE", "KMS_INCORRECT_KEY"],
              }).code,
            );
          } finally {
            await http.close();
          }
        });
      }
      note("kms answers", `${mangles.length} malformed or foreign answers: ${codeTally(codes)}`);
    });

    it("one provider is never handed what another one unwrapped; a refused file costs no call", async () => {
      const PW = canary("kms-scope");
      const dir = tempDir("kms-scope");
      const key = await server.createKey();
      const allowed = kms(server.endpoint);
      const denied = kms(server.endpoint, "AKIDADVDENIED");
      const { document } = await sealDocument(parseDocument(`a: !secret ${PW}\n`), {
        provider: allowed,
        keyId: key.arn,
        context: {},
      });
      const file = dir.write("scoped.yaml", document.toBytes());
      const cache = new DekCache();
      const options = { files: [file], cache, trustedKeys: [key.arn] };
      await attempt("kms answers", async () => {
        await loadConfig({ ...options, providers: [allowed], integrity: "off" });
        const err = await rejectionOf(
          loadConfig({ ...options, providers: [denied], integrity: "off" }),
          "denied provider, warm shared cache",
        );
        expectTyped("denied provider, warm shared cache", err, { codes: ["KMS_ACCESS_DENIED"] });
      });
      await attempt("kms answers", async () => {
        const before = server.stats.total;
        const err = await rejectionOf(
          loadConfig({ ...options, providers: [allowed], cache: new DekCache() }),
          "no record",
        );
        expectTyped("no record", err, { codes: ["INTEGRITY_MISSING"], file });
        expect(server.stats.total - before).toBe(0);
      });
      note("kms answers", "shared cache scoped per provider; a file without its record: 0 calls");
    });
  });

  describe("the local KMS server", () => {
    const refused: string[] = [];
    let server: KmsServer;
    beforeAll(async () => {
      server = await startKmsServer({
        seed: 5,
        limits: {
          maxBodyBytes: 8192,
          maxConnections: 8,
          headersTimeoutMs: 300,
          bodyTimeoutMs: 300,
        },
      });
    });
    afterAll(async () => {
      await server?.close();
    });

    /** Raw bytes on one connection; resolves with the status (undefined: closed unanswered). */
    const raw = (parts: string[], gapMs = 0) =>
      returnsWithin(
        new Promise<number | undefined>((resolve) => {
          const s = net.connect(server.port, "127.0.0.1");
          let text = "";
          s.on("data", (d) => (text += d.toString("latin1")));
          s.on("error", () => {});
          s.on("close", () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]) || undefined));
          s.on("connect", async () => {
            for (const p of parts) {
              s.write(p);
              if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
            }
          });
        }),
        NO_HANG_MS,
        "raw request",
      );
    const req = (host: string, body = "{}", length = body.length) =>
      `POST / HTTP/1.1\r\nHost: ${host}\r\nX-Amz-Target: TrentService.ListKeys\r\n` +
      `Content-Length: ${length}\r\nConnection: close\r\n\r\n${body}`;

    it("oversized, slow and misdirected requests, surplus connections: refused", async () => {
      const cases: [string, () => Promise<number | undefined>, (number | undefined)[]][] = [
        ["64 KiB body", () => raw([req("127.0.0.1", "x".repeat(65536))]), [413]],
        ["declared 1 GiB body", () => raw([req("127.0.0.1", "", 2 ** 30)]), [413]],
        ["headers never finished", () => raw(["POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"]), [
          undefined,
        ]],
        ["body never finished", () => raw([req("127.0.0.1", "{", 100)]), [408]],
        ["DNS-rebound Host", () => raw([req("attacker.example")]), [421]],
        ["rebound Host with port", () => raw([req(`attacker.example:${server.port}`)]), [421]],
        ["loopback-looking name", () => raw([req("127.0.0.1.attacker.example")]), [421]],
        ["[::1] with a name after it", () => raw([req("[::1]attacker.example")]), [421]],
        ["userinfo before loopback", () => raw([req("attacker.example@127.0.0.1")]), [421]],
        ["loopback, then a list", () => raw([req("127.0.0.1, attacker.example")]), [421]],
      ];
      for (const [what, run, statuses] of cases) {
        await attempt("kms server", async () => {
          expect(statuses, what).toContain(await run());
          refused.push(what);
        });
      }
      await attempt("kms server", async () => {
        const sockets = Array.from({ length: 12 }, () => {
          const s = net.connect(server.port, "127.0.0.1");
          s.on("error", () => {});
          return s;
        });
        await new Promise((r) => setTimeout(r, 500));
        expect(server.refused["too-many-connections"]).toBeGreaterThanOrEqual(4);
        for (const s of sockets) s.destroy();
      });
      expect(server.stats.total).toBe(0); // nothing reached the KMS operations
    });

    it("binds beyond loopback, corrupt state files, alias takeovers: refused", async () => {
      for (const hostname of ["0.0.0.0", "::", "192.0.2.1"]) {
        await attempt("kms server", async () => {
          const err = await rejectionOf(startKmsServer({ hostname }), hostname);
          expectTyped(`bind ${hostname}`, err, { codes: ["OPTION_INVALID"] });
        });
      }
      const C = canary("kms-state");
      const dir = tempDir("kms-state");
      for (
        const [what, content] of [
          ["not JSON", `{"keys": [${C}`],
          [
            "wrong shape",
            JSON.stringify({ format: "sealfig-kms-server-state", version: 1, keys: C }),
          ],
          [
            "bad material",
            JSON.stringify({
              format: "sealfig-kms-server-state",
              version: 1,
              keys: [{ keyId: "k", region: "us-east-1" }],
              materials: { k: [C] },
              aliases: [],
            }),
          ],
        ]
      ) {
        await attempt("kms server", async () => {
          const statePath = dir.write(`${what}.json`, content!);
          const err = await rejectionOf(startKmsServer({ statePath }), what!);
          expectTyped(`state ${what}`, err, { codes: ["STATE_FILE_INVALID"], file: statePath });
          fs.rmSync(statePath);
        });
      }
      await attempt("kms server", async () => {
        const theirs = await server.createKey({ alias: "alias/theirs" });
        const mine = await server.createKey();
        server.setPolicy({ AKIDMINE: { [mine.arn]: ["*"], "alias/mine": ["*"] } });
        const client = new KMSClient({
          endpoint: server.endpoint,
          region: server.region,
          credentials: { accessKeyId: "AKIDMINE", secretAccessKey: "x" },
          maxAttempts: 1,
        });
        try {
          const err = await rejectionOf(
            client.send(
              new UpdateAliasCommand({ AliasName: "alias/theirs", TargetKeyId: mine.arn }),
            ),
            "alias takeover",
          );
          expect((err as Error).name).toBe("AccessDeniedException");
          expect(server.materialVersions("alias/theirs")).toBe(1);
          expect(JSON.parse(server.serialize()).aliases[0].target).toBe(theirs.keyId);
        } finally {
          client.destroy();
          server.setPolicy(undefined);
        }
      });
      note(
        "kms server",
        `refused: ${
          Object.entries(server.refused).map(([k, v]) => `${k} ${v}`).join(", ")
        }; 3 binds, 3 corrupt states, 1 alias takeover`,
      );
    });
  });
}
