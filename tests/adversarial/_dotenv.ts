/**
 * `.env` files sealed in place (issue 18), with the guarantees YAML files have:
 *
 * - fidelity: random `.env` files (comments, blank lines, `export`, spaces around `=`, unquoted,
 *   single-, double- and backtick-quoted values, multi-line values, escapes, trailing comments,
 *   CRLF, BOM, no final newline) read as exactly the values they were written from and write back
 *   byte for byte; sealing changes only the sealed values' own text; cycles of decrypt → encrypt
 *   --previous → set of another key keep every value exact and every untouched blob
 *   byte-identical; the loader gives every value exactly;
 * - integrity: random mutations of a sealed, stamped `.env` (characters, quoting, lines moved,
 *   duplicated or dropped, `export`, comments) either load to the same config or are refused.
 */
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { loadConfig } from "../../src/config/load_config.ts";
import { envSealing } from "../../src/config/env_overrides.ts";
import { parseDocument, type SealfigDocument } from "../../src/document/document.ts";
import { parseEnvText } from "../../src/document/dotenv.ts";
import { decryptDocument, sealDocument } from "../../src/document/seal.ts";
import { setSecret, setValue } from "../../src/document/edit.ts";
import { stampDocument } from "../../src/integrity/verify.ts";
import type { TempDir } from "../_helpers/tmp_dir.ts";
import { codeTally, DEEP, expectTyped, note, tempDir, tried } from "./_collector.ts";
import { CONTEXT, key1, local } from "./_fixture.ts";
import { type TextMutation, textMutations } from "./_text_mutations.ts";

const RUNS = DEEP ? 1000 : 40;
const MUTATION_RUNS = DEEP ? 3000 : 150;
const CYCLES = 3;
/** The context `.env` values are sealed with: the file's plus sealfig:source=env. */
const ENV_CONTEXT = envSealing("", CONTEXT).context;

type Style = "unquoted" | "single" | "double" | "backtick";

/** One line (or multi-line entry) of a generated `.env`. */
export type EnvLine =
  | { t: "blank"; pad: string }
  | { t: "comment"; text: string }
  | {
    t: "entry";
    name: string;
    value: string;
    style: Style;
    exported: boolean;
    eq: string;
    comment: boolean;
    secret: boolean;
    /** For double quotes: write newlines and tabs as escapes. */
    escapes: boolean;
  };

const valuePieces = [
  "a",
  "Z9",
  " ",
  "\t",
  "\n",
  "x y",
  "=",
  "#",
  " #",
  "$HOME",
  "${X}",
  "'",
  '"',
  "`",
  "\\",
  "\\n",
  "é",
  "日本",
  "\u2028",
  "\u00a0",
  "\u007f",
  "\u0085",
  "\ufeff",
  "sealfig",
  ":",
  "-----BEGIN KEY-----",
  "true",
  "0x1F",
  "1e3",
  "null",
  "~",
  "@",
];

const rawValue = fc.array(fc.constantFrom(...valuePieces), { maxLength: 6 }).map((p) => p.join(""));

/** Whether `v` can be written in `style` (and how the test writes it). */
function fits(v: string, style: Style): boolean {
  switch (style) {
    case "unquoted":
      // One line, no blanks at the ends, no quote first, no # right after a character.
      return !/[\n\r]/.test(v) && v === v.replace(/^[ \t]+|[ \t]+$/g, "") &&
        !/^['"`]/.test(v) && !v.includes("#");
    case "single":
      return !v.includes("'");
    case "backtick":
      return !v.includes("`");
    case "double":
      return true;
  }
}

function quoteAs(v: string, style: Style, escapes: boolean): string {
  switch (style) {
    case "unquoted":
      return v;
    case "single":
      return `'${v}'`;
    case "backtick":
      return `\`${v}\``;
    case "double": {
      let s = v.replace(/[\\"]/g, (c) => `\\${c}`);
      if (escapes) s = s.replace(/\n/g, "\\n").replace(/\t/g, "\\t");
      return `"${s}"`;
    }
  }
}

const nameArb = fc.tuple(
  fc.constantFrom("DB", "API", "APP", "A", "_X", "STRIPE", "null", "true", "export2"),
  fc.constantFrom("", "_HOST", "_PASSWORD", "_KEY", "_TOKEN", "_URL", "_1", "_PORT"),
);

const lineArb: fc.Arbitrary<EnvLine> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.constantFrom("", "  ", "\t").map((pad): EnvLine => ({ t: "blank", pad })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("# comment", "#", "  # indented", "# a=b 'c'", '#x="y')
      .map((text): EnvLine => ({ t: "comment", text })),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      name: nameArb.map(([a, b]) => a + b),
      value: rawValue,
      style: fc.constantFrom<Style>("unquoted", "single", "double", "backtick"),
      exported: fc.boolean(),
      eq: fc.constantFrom("=", " = ", "=\t"),
      comment: fc.boolean(),
      secret: fc.boolean(),
      escapes: fc.boolean(),
    }).map((e) => ({ t: "entry" as const, ...e })),
  },
);

/** A `.env` file: lines (names made unique, values fitted to their style) and its shape. */
export const envFileArb: fc.Arbitrary<
  { lines: EnvLine[]; crlf: boolean; bom: boolean; finalNewline: boolean }
> = fc.record({
  lines: fc.array(lineArb, { minLength: 1, maxLength: 10 }),
  crlf: fc.boolean(),
  bom: fc.boolean(),
  finalNewline: fc.boolean(),
}).map((f) => {
  const seen = new Set<string>();
  const lines = f.lines.map((l): EnvLine => {
    if (l.t !== "entry") return l;
    let name = l.name;
    for (let i = 2; seen.has(name); i++) name = `${l.name}_${i}`;
    seen.add(name);
    let value = l.value;
    // CRLF files: a raw line break inside a value is written as \n (CRLF would read as LF).
    if (f.crlf && l.style !== "double" && value.includes("\n")) value = value.replace(/\n/g, " ");
    const style: Style = fits(value, l.style) ? l.style : "double";
    const escapes = l.escapes || (f.crlf && value.includes("\n"));
    return { ...l, name, value, style, escapes };
  });
  return { ...f, lines };
});

/** The text of a generated file. */
export function renderEnvFile(
  f: { lines: EnvLine[]; crlf: boolean; bom: boolean; finalNewline: boolean },
): string {
  const out = f.lines.map((l) => {
    if (l.t === "blank") return l.pad;
    if (l.t === "comment") return l.text;
    const head = `${l.exported ? "export " : ""}${l.name}${l.eq}`;
    return head + quoteAs(l.value, l.style, l.escapes) + (l.comment ? " # note" : "");
  }).join("\n") + (f.finalNewline ? "\n" : "");
  const body = f.crlf ? out.replace(/\n/g, "\r\n") : out;
  return (f.bom ? "\ufeff" : "") + body;
}

function entries(f: { lines: EnvLine[] }) {
  return f.lines.filter((l): l is Extract<EnvLine, { t: "entry" }> => l.t === "entry");
}

/** The blobs of a document by path text. */
function blobs(doc: SealfigDocument): Map<string, string> {
  return new Map(
    doc.values().filter((v) => v.kind === "sealed" && v.pathText !== "sealfig_integrity")
      .map((v) => [v.pathText, String(v.value)]),
  );
}

export function dotenvSuite(): void {
  describe(".env files sealed in place (fast-check)", () => {
    let dir: TempDir;
    beforeAll(() => {
      dir = tempDir("dotenv");
    });

    it(`fidelity: every .env value and byte survives ${CYCLES} cycles (${RUNS} files)`, async () => {
      const cache = new DekCache();
      let values = 0, changed = 0, files = 0;
      const done = tried("properties", RUNS);
      await fc.assert(
        fc.asyncProperty(envFileArb, async (f) => {
          const text = renderEnvFile(f);
          const plain = parseDocument(text, { file: "x.env" });
          expect(plain.format).toBe("env");
          // Read exactly as written, written back byte for byte.
          const want = entries(f);
          const got = plain.values();
          expect(got.map((v) => [v.pathText, v.value])).toEqual(
            want.map((e) => [e.name, e.value]),
          );
          expect(plain.toString()).toBe(text);
          const secret = new Set(want.filter((e) => e.secret).map((e) => e.name));
          const seal = (doc: SealfigDocument, previous?: SealfigDocument) =>
            sealDocument(doc, {
              provider: local,
              keyId: key1.id,
              context: ENV_CONTEXT,
              cache,
              select: (v) =>
                secret.has(String(v.path[0])) ||
                previous?.get(v.path)?.kind === "sealed",
              ...(previous ? { previous } : {}),
            });
          let sealed = (await seal(plain)).document;
          // Sealing changed only the sealed values' own text: put the old text back, get the file.
          const unBomCrlf = (t: string) => t.replace(/^\ufeff/, "").replace(/\r\n/g, "\n");
          const base = unBomCrlf(text);
          const layout = parseEnvText(unBomCrlf(sealed.toString()));
          const raw = new Map(parseEnvText(base).entries.map((e) => [e.name, e]));
          let restored = "";
          let at = 0;
          for (const e of layout.entries) {
            const o = raw.get(e.name)!;
            restored += layout.text.slice(at, e.start) + base.slice(o.start, o.end);
            at = e.end;
          }
          restored += layout.text.slice(at);
          expect(restored).toBe(base);
          values += want.length;
          files++;
          for (let cycle = 1; cycle <= CYCLES; cycle++) {
            const before = blobs(sealed);
            const view = parseDocument(
              (await decryptDocument(sealed, { providers: [local], context: ENV_CONTEXT, cache }))
                .document.toString(),
              { file: "x.env" },
            );
            const lost = want.filter((e) => view.get([e.name])?.value !== e.value);
            changed += lost.length;
            expect(lost.map((e) => e.name), "values changed by the plaintext view").toEqual([]);
            const again = await seal(view, sealed);
            expect(again.sealed).toBe(0);
            expect(again.document.toString()).toBe(sealed.toString());
            const edited = await seal(setValue(view, ["COUNTER"], `c${cycle}`), sealed);
            expect(edited.sealed).toBe(0);
            expect(blobs(edited.document)).toEqual(before);
            const set = await setSecret(edited.document, ["EXTRA"], `extra-${cycle}`, {
              provider: local,
              keyId: key1.id,
              context: ENV_CONTEXT,
              reuseDataKey: { providers: [local], cache },
            });
            const after = blobs(set);
            after.delete("EXTRA");
            const untouched = new Map(before);
            untouched.delete("EXTRA");
            expect(after).toEqual(untouched);
            const { document: stamped } = await stampDocument(set, {
              provider: local,
              keyId: key1.id,
              context: ENV_CONTEXT,
              generation: cycle,
            });
            const file = dir.write("fidelity.env", stamped.toString());
            const config = await loadConfig({
              files: [file],
              providers: [local],
              cache,
              context: CONTEXT,
              trustedKeys: [`local:${key1.id}`],
            }) as Record<string, unknown>;
            const wrong = want.filter((e) => config[e.name] !== e.value);
            changed += wrong.length;
            expect(wrong.map((e) => e.name), "values changed by the loader").toEqual([]);
            expect(config.COUNTER).toBe(`c${cycle}`);
            expect(config.EXTRA).toBe(`extra-${cycle}`);
            sealed = parseDocument(set.toString(), { file: "x.env" });
          }
        }),
        { numRuns: RUNS },
      );
      done();
      note(
        "properties",
        `env fidelity: ${values} values in ${files} .env files × ${CYCLES} cycles, ${changed} changed`,
      );
    });

    const mutations: TextMutation[] = [
      ...textMutations(
        ["'", '"', "#", " ", "=", "\\", "\n", "a", "x", "`", "0"],
        ["export ", "# c\n", " ", "'", '"', "\\n", "X=1\n", "#"],
      ),
      {
        name: "requote",
        f: (t, at) => {
          const ls = t.split("\n");
          const i = at % ls.length;
          ls[i] = ls[i]!.replace(/=([A-Za-z0-9_./:-]+)$/, at % 2 ? "='$1'" : '="$1"')
            .replace(/='([^'\\]*)'$/, '="$1"');
          return ls.join("\n");
        },
      },
    ];

    it(`differential: a mutated sealed .env that loads to another config never loads (${MUTATION_RUNS} runs)`, async () => {
      const done = tried("differential", MUTATION_RUNS);
      const cache = new DekCache();
      const codes: string[] = [];
      let sameAccepted = 0;
      const changedAccepted: string[] = [];
      const load = (text: string) =>
        loadConfig({
          files: [dir.write("diff.env", text)],
          providers: [local],
          cache,
          context: CONTEXT,
          trustedKeys: [`local:${key1.id}`],
          // Pinned, as a deployment pins its files: a file whose record and blobs were both
          // removed is a plain file otherwise, and plain files need no record (as in YAML).
          minGeneration: 1,
        });
      await fc.assert(
        fc.asyncProperty(
          // Sealed files (at least one sealed value): a file with none needs no record, as in YAML.
          envFileArb.filter((f) => entries(f).some((e) => e.secret)),
          fc.array(fc.tuple(fc.constantFrom(...mutations), fc.nat()), {
            minLength: 1,
            maxLength: 3,
          }),
          async (f, ops) => {
            const secret = new Set(entries(f).filter((e) => e.secret).map((e) => e.name));
            const sealed = (await sealDocument(parseDocument(renderEnvFile(f), { file: "x.env" }), {
              provider: local,
              keyId: key1.id,
              context: ENV_CONTEXT,
              cache,
              select: (v) => secret.has(String(v.path[0])),
            })).document;
            const original = (await stampDocument(sealed, {
              provider: local,
              keyId: key1.id,
              context: ENV_CONTEXT,
              generation: 1,
            })).document.toString();
            const before = await load(original);
            const mutated = ops.reduce((t, [m, at]) => m.f(t, at), original);
            let after: unknown;
            try {
              after = await load(mutated);
            } catch (err) {
              codes.push(expectTyped("differential", err).code);
              return;
            }
            if (JSON.stringify(after) === JSON.stringify(before)) {
              sameAccepted++;
              return;
            }
            changedAccepted.push(
              `${ops.map(([m]) => m.name).join(" + ")}:\n${original}\n---->\n${mutated}`,
            );
          },
        ),
        { numRuns: MUTATION_RUNS },
      );
      note(
        "differential",
        `env differential: tried ${MUTATION_RUNS}, changed-config accepted ` +
          `${changedAccepted.length} (${sameAccepted} accepted with the same config; refused: ` +
          `${codeTally(codes)})`,
      );
      expect(changedAccepted.slice(0, 3)).toEqual([]);
      expect(sameAccepted + codes.length).toBe(MUTATION_RUNS);
      done();
    });
  });
}
