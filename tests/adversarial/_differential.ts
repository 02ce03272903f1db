/**
 * Issue 14: what the app loads is what the record covers.
 *
 * - **differential**: random sealed, stamped files (anchors, merge keys, block and flow
 *   collections, quoted keys, block scalars, comments, tags) get YAML-aware mutations (quote,
 *   unquote or tag keys, add or change tags and directives, change a scalar's style or spelling,
 *   alias/unalias, reorder, move whitespace …). Whenever a mutated file loads to a different
 *   config than the original, the load must have failed (record or parse).
 * - **env replay**: no blob of a file opens from an environment variable or `.env`.
 * - **run child environment**: `sealfig run` never hands key material to the child.
 * - **allowlist forms**: no malformed key reference is accepted, no malformed key name trusted.
 */
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { loadConfig } from "../../src/config/load_config.ts";
import { envSealing } from "../../src/config/env_overrides.ts";
import { encryptValue } from "../../src/envelope/values.ts";
import { stampDocument } from "../../src/integrity/verify.ts";
import { isValidKeyReference, KeyAllowlist } from "../../src/keys/allowlist.ts";
import type { KeyProvider } from "../../src/keys/key_provider.ts";
import { runSealfig } from "../_helpers/cli.ts";
import type { TempDir } from "../_helpers/tmp_dir.ts";
import {
  canary,
  captureCli,
  codeTally,
  DEEP,
  expectTyped,
  note,
  tempDir,
  tried,
} from "./_collector.ts";
import { cliRepo, CONTEXT, key1, key2, local, sealText } from "./_fixture.ts";

const RUNS = DEEP ? 4_000 : 250;
const REPLAY_FILES = DEEP ? 60 : 8;
/** Deep mode's runs outlast the default test timeout. */
const LONG: [] | [number] = DEEP ? [20 * 60_000] : [];

// --- a random sealed file ---------------------------------------------------------------------

type Value =
  | { k: "scalar"; text: string }
  | { k: "map"; entries: [string, Value][] }
  | { k: "seq"; items: string[] }
  | { k: "flow"; text: string }
  | { k: "block"; header: string; lines: string[] };

const plainScalars = [
  "db.internal",
  "5432",
  "true",
  "null",
  "3.25",
  "0x1F",
  "~",
  "hello world",
  "yes",
  "on",
  "1_000",
  "12:30",
  "010",
  "-0",
];
const quotedScalars = [
  '"true"',
  '"false"',
  '"1000"',
  "'5432'",
  '"yes"',
  '"on"',
  '"010"',
  '"12:30"',
  '"<<"',
  "'a: b'",
  '""',
];
const taggedScalars = [
  "!!str 5432",
  '!!int "7"',
  "!!float 1.5",
  "!!float 1", // the float 1: the tag makes any number a float (newcomer review)
  "!!float -2e3",
  "!!bool true",
  "!!null",
];
const keys = ["host", "port", "name", "enabled", "list", "ratio", "token", "mode", "a.b", "x-y"];

const scalarText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...plainScalars),
  fc.constantFrom(...quotedScalars),
  fc.constantFrom(...taggedScalars),
  fc.constantFrom(...plainScalars, ...quotedScalars).map((s) => `!secret ${s === "~" ? "x" : s}`),
);

const leafValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 5, arbitrary: scalarText.map((text) => ({ k: "scalar" as const, text })) },
  {
    weight: 1,
    arbitrary: fc.array(fc.constantFrom(...plainScalars, ...quotedScalars), {
      minLength: 0,
      maxLength: 3,
    }).map((items) => ({ k: "seq" as const, items })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '[a, 1, "x"]',
      '{x: 1, y: "2"}',
      "[]",
      "{}",
      "[true, 'no']",
      "{<<: {z: 1}, w: 2}",
    ).map((text) => ({ k: "flow" as const, text })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      header: fc.constantFrom("|", "|-", ">", ">-", "!secret |"),
      lines: fc.array(fc.constantFrom("line one", "  indented", "x: y", "# not a comment"), {
        minLength: 1,
        maxLength: 3,
      }),
    }).map(({ header, lines }) => ({
      k: "block" as const,
      header,
      lines: ["line zero", ...lines],
    })),
  },
);

const mapValue: fc.Arbitrary<Value> = fc.uniqueArray(
  fc.tuple(fc.constantFrom(...keys, '"quoted key"', "'single'"), leafValue),
  { minLength: 1, maxLength: 4, selector: ([k]) => k.replace(/["']/g, "") },
).map((entries) => ({ k: "map" as const, entries }));

const documentArb = fc.record({
  entries: fc.uniqueArray(
    fc.tuple(fc.constantFrom(...keys), fc.oneof(leafValue, mapValue)),
    { minLength: 1, maxLength: 5, selector: ([k]) => k },
  ),
  anchors: fc.boolean(),
  base: fc.tuple(scalarText, scalarText),
  comment: fc.boolean(),
});

function render(key: string, v: Value, pad: string, comment: boolean): string {
  const c = comment ? "   # note" : "";
  switch (v.k) {
    case "scalar":
      return `${pad}${key}: ${v.text}${c}\n`;
    case "flow":
      return `${pad}${key}: ${v.text}\n`;
    case "seq":
      return v.items.length === 0
        ? `${pad}${key}: []\n`
        : `${pad}${key}:${c}\n${v.items.map((i) => `${pad}  - ${i}\n`).join("")}`;
    case "block":
      return `${pad}${key}: ${v.header}\n${v.lines.map((l) => `${pad}  ${l}\n`).join("")}`;
    case "map":
      return `${pad}${key}:${c}\n${
        v.entries.map(([k, e]) => render(k, e, `${pad}  `, comment)).join("")
      }`;
  }
}

function renderDocument(
  d: typeof documentArb extends fc.Arbitrary<infer T> ? T : never,
): string {
  let text = d.comment ? "# a config file\n" : "";
  if (d.anchors) {
    text += `base: &base\n  bx: ${d.base[0]}\n  by: ${d.base[1]}\n`;
    text += "derived:\n  <<: *base\n  by: overridden\n";
    text += "nick: &nick shared-value\nagain: *nick\n";
  }
  for (const [k, v] of d.entries) text += render(k, v, "", d.comment);
  return text;
}

// --- YAML-aware mutations -----------------------------------------------------------------------

type Mutation = (text: string, at: number) => string;

/** Apply `f` to the `at`-th line (mod the count) that matches `re`, skipping the record line. */
function onLine(re: RegExp, f: (line: string, m: RegExpExecArray) => string): Mutation {
  return (text, at) => {
    const lines = text.split("\n");
    const hits = lines.flatMap((l, i) =>
      !l.startsWith("sealfig_integrity:") && re.test(l) ? [i] : []
    );
    if (hits.length === 0) return text;
    const i = hits[at % hits.length]!;
    lines[i] = f(lines[i]!, re.exec(lines[i]!)!);
    return lines.join("\n");
  };
}

const KEY = /^(\s*(?:- )?)([A-Za-z_<][\w.<-]*)(:(?:\s|$))/;
const QUOTED_KEY = /^(\s*(?:- )?)(["'])([^"']*)\2(:(?:\s|$))/;
const VALUE = /^(\s*(?:- )?[^\s:#][^:#]*:\s+|\s*-\s+)(?!#)(\S.*)$/;

const respellings: [RegExp, string][] = [
  [/"true"/, "yes"],
  [/"false"/, "no"],
  [/"1000"/, "1_000"],
  [/"on"/, "on"],
  [/"yes"/, "yes"],
  [/"010"/, "010"],
  [/"12:30"/, "12:30"],
  [/\btrue\b/, "True"],
  [/\b5432\b/, '"5432"'],
  [/\b5432\b/, "0x1538"],
  [/\b3\.25\b/, "3.250"],
  [/\bnull\b/, "~"],
  [/'5432'/, "5432"],
  [/"<<"/, "<<"],
  [/\b0x1F\b/, "31"],
  [/: yes\b/, ': "yes"'],
  [/: on\b/, ": true"],
];

const tags = [
  "!!str ",
  "!!int ",
  "!!float ",
  "!!bool ",
  "!!null ",
  "!!omap ",
  "!!set ",
  "!!pairs ",
  "!!timestamp ",
  "!!binary ",
  "!foo ",
  "! ",
  "!!map ",
  "!!seq ",
  "!secret ",
];

const directives = [
  "%YAML 1.1\n---\n",
  "%YAML 1.2\n---\n",
  "%TAG ! tag:yaml.org,2002:\n---\n",
  "%TAG !! tag:example.com,2000:\n---\n",
  "---\n",
];

const mutationArb: fc.Arbitrary<{ name: string; f: Mutation }> = fc.oneof(
  fc.constant({
    name: "quote key",
    f: onLine(KEY, (l, m) => l.replace(KEY, `${m[1]}"${m[2]}"${m[3]}`)),
  }),
  fc.constant({
    name: "single-quote key",
    f: onLine(KEY, (l, m) => l.replace(KEY, `${m[1]}'${m[2]}'${m[3]}`)),
  }),
  fc.constant({
    name: "unquote key",
    f: onLine(QUOTED_KEY, (l, m) => l.replace(QUOTED_KEY, `${m[1]}${m[3]}${m[4]}`)),
  }),
  fc.constant({
    name: "tag key",
    f: onLine(KEY, (l, m) => l.replace(KEY, `${m[1]}!!str ${m[2]}${m[3]}`)),
  }),
  fc.constantFrom(...tags).map((tag) => ({
    name: `tag value ${tag.trim()}`,
    f: onLine(VALUE, (_l, m) => `${m[1]}${tag}${m[2]}`),
  })),
  fc.constantFrom(...tags).map((tag) => ({
    name: `tag collection ${tag.trim()}`,
    f: onLine(/^(\s*[^\s:#-][^:#]*:)\s*$/, (l) => `${l} ${tag.trim()}`),
  })),
  fc.constantFrom(...directives).map((d) => ({
    name: `directive ${d.split("\n")[0]}`,
    f: (text: string) => d + text,
  })),
  fc.constantFrom(...respellings).map(([re, to]) => ({
    name: `respell ${re.source}`,
    f: onLine(re, (l) => l.replace(re, to)),
  })),
  fc.constant({
    name: "quote value",
    f: onLine(
      /^(\s*[^\s:#][^:#]*:\s+)([A-Za-z0-9.~_:-]+)\s*$/,
      (_l, m) => `${m[1]}"${m[2]}"`,
    ),
  }),
  fc.constant({
    name: "unquote value",
    f: onLine(/^(\s*[^\s:#][^:#]*:\s+)"([^"\\]*)"\s*$/, (_l, m) => `${m[1]}${m[2]}`),
  }),
  fc.constant({
    name: "double to single quotes",
    f: onLine(/^(\s*[^\s:#][^:#]*:\s+)"([^"'\\]*)"/, (l, m) => l.replace(`"${m[2]}"`, `'${m[2]}'`)),
  }),
  fc.constant({ name: "unalias", f: onLine(/\*nick/, (l) => l.replace("*nick", "shared-value")) }),
  fc.constant({
    name: "alias",
    f: onLine(/: (db\.internal|shared-value)\s*$/, (l) => l.replace(/: \S+\s*$/, ": *nick")),
  }),
  fc.constant({
    name: "inline the merge",
    f: onLine(/<<: \*base/, (l) => l.replace("*base", "{bx: 1}")),
  }),
  fc.constantFrom('"<<"', "'<<'", "!!str <<", "? <<\n ").map((k) => ({
    name: `merge key as ${k.trim()}`,
    f: onLine(/^(\s*)<<:/, (l) => l.replace("<<", k)),
  })),
  fc.constant({
    name: "swap lines",
    f: (text: string, at: number) => {
      const lines = text.split("\n");
      const i = at % Math.max(1, lines.length - 2);
      if (lines[i + 1]?.startsWith("sealfig_integrity:")) return text;
      [lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!];
      return lines.join("\n");
    },
  }),
  fc.constant({
    name: "delete line",
    f: (text: string, at: number) => {
      const lines = text.split("\n");
      const i = at % lines.length;
      if (lines[i]!.startsWith("sealfig_integrity:")) return text;
      lines.splice(i, 1);
      return lines.join("\n");
    },
  }),
  fc.constantFrom("  ", "\t", " # c", "\n", "\n# comment\n").map((ws) => ({
    name: `whitespace ${JSON.stringify(ws)}`,
    f: onLine(/\S/, (l) => (ws.startsWith("\n") ? l + ws : l.replace(/:( |$)/, `:${ws}$1`))),
  })),
  fc.constant({
    name: "indent block",
    f: onLine(/^\s+\S/, (l) => ` ${l}`),
  }),
  fc.constant({
    name: "change value",
    f: onLine(
      /^(\s*[^\s:#][^:#]*:\s+)([A-Za-z0-9.]+)\s*$/,
      (_l, m) => `${m[1]}${m[2]}x`,
    ),
  }),
  fc.constantFrom("|", "|-", "|+", ">", ">-").map((h) => ({
    name: `block header ${h}`,
    f: onLine(/: (?:!secret )?[|>][-+]?$/, (l) => l.replace(/[|>][-+]?$/, h)),
  })),
  fc.constant({
    name: "swap blobs",
    f: (text: string, at: number) => {
      const blobs = [...new Set(text.match(/sealfig:v1:[A-Za-z0-9_-]+/g) ?? [])];
      if (blobs.length < 2) return text;
      const a = blobs[at % blobs.length]!, b = blobs[(at + 1) % blobs.length]!;
      return text.replace(a, "\u0000").replace(b, a).replace("\u0000", b);
    },
  }),
  fc.constant({
    name: "to flow",
    f: onLine(/^(\s*)- (\S.*)$/, (_l, m) => `${m[1]}- [${m[2]}]`),
  }),
);

// --- comparing configs --------------------------------------------------------------------------

/** Same config: same keys (any order), same sequences, same scalars and types. */
function sameConfig(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
      a.every((x, i) => sameConfig(x, b[i]));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length &&
      ka.every((k) =>
        Object.hasOwn(b, k) &&
        sameConfig((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
      );
  }
  return typeof a === typeof b && (Object.is(a, b) || (typeof a === "bigint" && a === b));
}

// --- the suite ------------------------------------------------------------------------------------

/** Register the issue 14 cases. */
export function differentialSuite(): void {
  describe("integrity covers what loads (issue 14)", () => {
    let dir: TempDir;
    beforeAll(() => {
      dir = tempDir("differential");
    });

    const trusted = [`local:${key1.id}`];

    async function sealAndStamp(plain: string): Promise<string> {
      const sealed = await sealText(plain);
      const { document } = await stampDocument(sealed, {
        provider: local,
        keyId: key1.id,
        context: CONTEXT,
        generation: 1,
      });
      return document.toString();
    }

    it(
      `differential: a mutated file that loads to another config never loads (${RUNS} runs)`,
      async () => {
        const done = tried("differential", RUNS);
        const cache = new DekCache();
        const codes: string[] = [];
        let accepted = 0, sameAccepted = 0;
        const changedAccepted: string[] = [];
        const load = (text: string) => {
          const file = dir.write("diff.yaml", text);
          return loadConfig({
            files: [file],
            providers: [local],
            cache,
            context: CONTEXT,
            trustedKeys: trusted,
          });
        };
        await fc.assert(
          fc.asyncProperty(
            documentArb,
            fc.array(fc.tuple(mutationArb, fc.nat()), { minLength: 1, maxLength: 3 }),
            async (d, ops) => {
              const original = await sealAndStamp(renderDocument(d));
              const before = await load(original);
              const mutated = ops.reduce((t, [m, at]) => m.f(t, at), original);
              let after: unknown;
              try {
                after = await load(mutated);
              } catch (err) {
                codes.push(expectTyped("differential", err).code);
                return;
              }
              accepted++;
              if (sameConfig(before, after)) {
                sameAccepted++;
                return;
              }
              changedAccepted.push(
                `${ops.map(([m]) => m.name).join(" + ")}:\n${original}\n---->\n${mutated}`,
              );
            },
          ),
          { numRuns: RUNS },
        );
        note(
          "differential",
          `differential: tried ${RUNS}, changed-config accepted ${changedAccepted.length} ` +
            `(${sameAccepted} accepted with the same config; refused: ${codeTally(codes)})`,
        );
        expect(changedAccepted.slice(0, 3)).toEqual([]);
        expect(accepted + codes.length).toBe(RUNS);
        done();
      },
      ...LONG,
    );

    it("each kind of gap found is refused with a typed error at file:line:col", async () => {
      const cases: [string, string, string][] = [
        ["an ordered map", "a: 1\npw: !!omap\n  - password: hunter2\n", "YAML_UNSUPPORTED"],
        ["a set", "a: 1\ns: !!set {x, y}\n", "YAML_UNSUPPORTED"],
        ["pairs", "a: 1\np: !!pairs\n  - k: v\n", "YAML_UNSUPPORTED"],
        ["a timestamp", "a: 1\nt: !!timestamp 2001-12-14\n", "YAML_UNSUPPORTED"],
        ["binary", "a: 1\nb: !!binary aGVsbG8=\n", "YAML_UNSUPPORTED"],
        [
          "a verbatim 1.1 tag",
          "a: 1\nb: !<tag:yaml.org,2002:omap>\n  - k: v\n",
          "YAML_UNSUPPORTED",
        ],
        ["%YAML 1.1", "%YAML 1.1\n---\na: yes\n", "YAML_UNSUPPORTED"],
        ["%TAG", "%TAG ! tag:yaml.org,2002:\n---\na: !str 1\n", "YAML_UNSUPPORTED"],
        ["a quoted merge key", 'b: &b {x: 1}\n"<<": *b\n', "YAML_UNSUPPORTED"],
        ["a tagged merge key", "b: &b {x: 1}\n!!str <<: *b\n", "YAML_UNSUPPORTED"],
        ["the non-specific tag", "a: 1\nb: ! 12\n", "YAML_UNSUPPORTED"],
        ["a custom tag", "a: 1\nb: !foo 12\n", "YAML_UNSUPPORTED"],
      ];
      const done = tried("differential", cases.length);
      for (const [what, text, code] of cases) {
        const file = dir.write("kind.yaml", text);
        let err: unknown;
        try {
          await loadConfig({ files: [file], providers: [local], integrity: "off" });
        } catch (e) {
          err = e;
        }
        const e = expectTyped(`kind ${what}`, err, { codes: [code], file });
        expect(e.line, what).toBeGreaterThan(0);
        expect(e.col, what).toBeGreaterThan(0);
      }
      done();
    });

    it(
      `env replay: no blob of a file opens from the environment or .env (${REPLAY_FILES} files)`,
      async () => {
        const cache = new DekCache();
        let triedCount = 0;
        const accepted: string[] = [];
        const codes: string[] = [];
        for (let f = 0; f < REPLAY_FILES; f++) {
          const secret = canary("replay");
          const old = await sealAndStamp(
            `db:\n  password: !secret ${secret}\n  port: !secret ${
              5000 + f
            }\napi_token: !secret t${f}\n`,
          );
          const file = dir.write("replay.yaml", old);
          const blobs: [string, string][] = [
            ["APP_DB__PASSWORD", /password: (\S+)/.exec(old)![1]!],
            ["APP_DB__PORT", /port: (\S+)/.exec(old)![1]!],
            ["APP_API_TOKEN", /api_token: (\S+)/.exec(old)![1]!],
          ];
          for (const [name, blob] of blobs) {
            for (const via of ["env", "dotenv"] as const) {
              for (const envContext of [CONTEXT, {}]) {
                triedCount++;
                if (via === "dotenv") dir.write(".env", `${name}=${blob}\n`);
                try {
                  await loadConfig({
                    files: [file],
                    baseDir: dir.dir,
                    providers: [local],
                    cache,
                    context: CONTEXT,
                    trustedKeys: trusted,
                    env: {
                      prefix: "APP_",
                      vars: via === "env" ? { [name]: blob } : {},
                      context: envContext,
                    },
                    ...(via === "dotenv" ? { dotenv: true } : {}),
                  });
                  accepted.push(`${name} via ${via}`);
                } catch (err) {
                  codes.push(expectTyped(`replay ${name}`, err).code);
                }
              }
            }
          }
        }
        // A plaintext override of a sealed value is refused by default.
        const file = dir.write("replay.yaml", await sealAndStamp("db:\n  password: !secret pw\n"));
        triedCount++;
        try {
          await loadConfig({
            files: [file],
            providers: [local],
            cache,
            context: CONTEXT,
            trustedKeys: trusted,
            env: { prefix: "APP_", vars: { APP_DB__PASSWORD: "plaintext" } },
          });
          accepted.push("plaintext over a sealed value");
        } catch (err) {
          codes.push(
            expectTyped("plaintext over sealed", err, { codes: ["ENV_SEALED_OVERRIDE"] }).code,
          );
        }
        // What is sealed for the variable does open (the property is not vacuous).
        const ok = await encryptValue("fresh", {
          provider: local,
          keyId: key1.id,
          ...envSealing("APP_DB__PASSWORD"),
        });
        const loaded = await loadConfig({
          files: [file],
          providers: [local],
          cache,
          context: CONTEXT,
          trustedKeys: trusted,
          env: { prefix: "APP_", vars: { APP_DB__PASSWORD: ok } },
        });
        expect(loaded).toEqual({ db: { password: "fresh" } });
        tried("differential", triedCount)();
        note(
          "differential",
          `env replay: tried ${triedCount}, accepted ${accepted.length} (${codeTally(codes)})`,
        );
        expect(accepted).toEqual([]);
      },
      ...LONG,
    );

    it("run child environment: no key material reaches the child", async () => {
      const repo = tempDir("run-env");
      const { cwd, env } = cliRepo(repo);
      repo.write("app.yaml", await sealAndStamp("db:\n  password: !secret run-pw\n"));
      const keyText = `${key1.key}`;
      const keyVars: Record<string, string> = {
        SEALFIG_KEY: keyText,
        SEALFIG_KEY_FILE: env.SEALFIG_KEY_FILE!,
        SEALFIG_KEY_2: keyText,
        SEALFIG_AGE_KEY: "AGE-SECRET-KEY-1CANARY",
        SEALFIG_AGE_KEY_FILE: "/nonexistent/age.txt",
        SOME_OTHER_NAME: `prefix ${keyText}`,
      };
      const code = "process.stdout.write(JSON.stringify(process.env))";
      const r = await runSealfig(
        ["run", "-f", "app.yaml", "--", "node", "-e", code],
        {
          cwd,
          env: { ...env, ...keyVars, SEALFIG_KEY: keyText, KEEP_ME: "kept" },
        },
      );
      captureCli("run child env", r);
      expect(r.code, r.stderr).toBe(0);
      const childEnv = JSON.parse(r.stdout) as Record<string, string>;
      const leaked = Object.keys(keyVars).filter((k) => k in childEnv);
      const anyKey = Object.entries(childEnv).filter(([, v]) => v.includes("sealfig-local-key-"));
      expect(childEnv.KEEP_ME).toBe("kept");
      expect(childEnv.DB__PASSWORD).toBe("run-pw");
      tried("differential", Object.keys(keyVars).length)();
      note(
        "differential",
        `run child environment: ${Object.keys(keyVars).length} key variables set, ` +
          `passed to the child ${leaked.length + anyKey.length}`,
      );
      expect(leaked).toEqual([]);
      expect(anyKey).toEqual([]);
    });

    it("allowlist forms: nothing malformed is accepted as a reference or trusted as a key", async () => {
      const acct = "111122223333";
      const mrk = `mrk-${"0123456789abcdef".repeat(2)}`;
      const uuid = "1234abcd-12ab-34cd-56ef-1234567890ab";
      const goodRefs = [
        `arn:aws:kms:us-east-1:${acct}:key/${uuid}`,
        `arn:aws:kms:eu-west-2:${acct}:key/${mrk}`,
        `arn:aws-us-gov:kms:us-gov-west-1:${acct}:key/${uuid}`,
        `arn:aws-cn:kms:cn-north-1:${acct}:alias/app`,
        "alias/app",
        `aws-kms:${uuid}`,
        `local:${key1.id}`,
      ];
      const badRefs = [
        `arn:aws:kms:*:${acct}:key/${mrk}`,
        `arn:aws:kms::${acct}:key/${mrk}`,
        `arn:aws:kms:us-east-1:${acct}:key/*`,
        `arn:aws:kms:us-east-1:*:key/${uuid}`,
        `arn:aws:kms:us-east-1:1111:key/${uuid}`,
        `arn:aws:kms:us-east-1:${acct}:key/`,
        `arn:aws:kms:us-east-1:${acct}:key/${uuid}/x`,
        `arn:aws:kms:US-EAST-1:${acct}:key/${uuid}`,
        `arn:aws:kms:us-east-1:${acct}:key/${uuid.toUpperCase()}`,
        `arn:aws:kms:us-east-1:${acct}:key/mrk-123`,
        `arn:aws:kms:us-east-1:${acct}:key/alias/app`,
        `arn:aws:s3:us-east-1:${acct}:key/${uuid}`,
        `arn:evil:kms:us-east-1:${acct}:key/${uuid}`,
        `arn:aws:kms:us-east-1:${acct}:alias/`,
        "alias/",
        "alias/has space",
        "aws-kms:*",
        "aws-kms:",
        `aws-kms:arn:aws:kms:*:${acct}:key/${mrk}`,
        "local:*",
        "local:lk_XYZ",
        "local:lk_0123",
        "*",
        "",
      ];
      let triedCount = 0;
      const accepted: string[] = [];
      for (const ref of badRefs) {
        triedCount++;
        try {
          KeyAllowlist.of([ref]);
          accepted.push(ref);
        } catch (err) {
          expectTyped(`ref ${ref}`, err, { codes: ["OPTION_INVALID"] });
        }
      }
      for (const ref of goodRefs) expect(() => KeyAllowlist.of([ref]), ref).not.toThrow();
      // Key names as blobs and records write them, against a list that trusts the good forms.
      const trust = KeyAllowlist.of([
        `arn:aws:kms:eu-west-2:${acct}:key/${mrk}`,
        `arn:aws:kms:us-east-1:${acct}:key/${uuid}`,
      ]);
      const badNames = [
        `arn:aws:kms:*:${acct}:key/${mrk}`,
        `arn:aws:kms::${acct}:key/${mrk}`,
        `arn:aws:kms:us-east-1:${acct}:key/${mrk} `,
        `arn:aws:kms:us-east-1:${acct}:key/${mrk.toUpperCase()}`,
        `arn:aws:kms:-:${acct}:key/${mrk}`,
        `arn:aws:kms:us-east-1:${acct}:key/${uuid}\u0000`,
      ];
      for (const keyId of badNames) {
        triedCount++;
        if (await trust.isTrusted({ providerId: "aws-kms", keyId }, [])) accepted.push(keyId);
        expect(isValidKeyReference("aws-kms", keyId)).toBe(false);
      }
      // The replica of a trusted multi-Region key in a well-formed Region is trusted.
      expect(
        await trust.isTrusted(
          { providerId: "aws-kms", keyId: `arn:aws:kms:ap-south-1:${acct}:key/${mrk}` },
          [],
        ),
      ).toBe(true);
      // "The local keys you hold": a provider that cannot list its keys trusts none.
      const unlisted: KeyProvider = {
        id: "local",
        generateDataKey: (k, c) => local.generateDataKey(k, c),
        decryptDataKey: (k, w, c) => local.decryptDataKey(k, w, c),
      };
      const held = KeyAllowlist.of([], { localHeld: true });
      for (const id of [key1.id, key2.id]) {
        triedCount++;
        if (await held.isTrusted({ providerId: "local", keyId: id }, [unlisted])) {
          accepted.push(`unlisted ${id}`);
        }
        expect(await held.isTrusted({ providerId: "local", keyId: id }, [local])).toBe(true);
      }
      tried("differential", triedCount)();
      note(
        "differential",
        `allowlist forms: tried ${triedCount}, malformed accepted or trusted ${accepted.length}`,
      );
      expect(accepted).toEqual([]);
    });
  });
}
