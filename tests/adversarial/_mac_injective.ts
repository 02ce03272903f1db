/**
 * The record's MAC input determines the loaded config (docs/format.md §9.3): a property over
 * pairs of generated files whose values are near each other — integers of any size around
 * ±2^53 and beyond (spelt in decimal, with `+`, leading zeros, hex, octal), the same integer as a
 * float or a string, floats with -0.0, .inf, .nan and `!!float` beyond 2^53, strings that look
 * like numbers, booleans, null — under keys that collide in YAML (`1`/`01`, big integer keys).
 *
 * - v2: whenever the two files load to different configs (type and value, NaN equal to NaN, -0
 *   not 0, key order), their v2 MAC inputs differ.
 * - v1: files with one v1 MAC input are both accepted or both refused by the v1 rule
 *   (`v1Uncovered`, INTEGRITY_UNSUPPORTED), and when both are accepted they load the same config;
 *   the summary also counts the pairs v1 alone could not tell apart (what the rule refuses).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseDocument } from "../../src/document/document.ts";
import { doubleQuote } from "../../src/document/scalar.ts";
import { documentToTree, materialize } from "../../src/config/tree.ts";
import { macInput, v1Uncovered } from "../../src/integrity/mac.ts";
import { DEEP, note, tried } from "./_collector.ts";

const RUNS = DEEP ? 5_000 : 300;
const TWO53 = 2n ** 53n;

/** A config as text that tells every loaded difference apart (types, -0, NaN, key order). */
function canon(v: unknown): string {
  if (typeof v === "bigint") return `b:${v}`;
  if (typeof v === "number") return `n:${Object.is(v, -0) ? "-0" : String(v)}`;
  if (typeof v === "string") return `s:${JSON.stringify(v)}`;
  if (typeof v === "boolean" || v === null) return `l:${v}`;
  if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
  if (typeof v === "object") {
    return `{${
      Object.entries(v as Record<string, unknown>).map(([k, x]) =>
        `${JSON.stringify(k)}:${canon(x)}`
      )
        .join(",")
    }}`;
  }
  throw new Error(`unexpected ${typeof v}`);
}

const bigInts = fc.oneof(
  fc.bigInt({ min: -(2n ** 72n), max: 2n ** 72n }),
  fc.tuple(fc.constantFrom(TWO53, -TWO53, 10n ** 19n, 2n ** 64n), fc.bigInt({ min: -3n, max: 3n }))
    .map(([b, d]) => b + d),
  fc.bigInt({ min: -1000n, max: 1000n }),
  fc.tuple(fc.constantFrom(TWO53, -TWO53), fc.bigInt({ min: -(2n ** 12n), max: 2n ** 12n }))
    .map(([b, d]) => b + d),
);
const deltas = fc.constantFrom(0n, 0n, 1n, -1n, 2n, 10n, 1000n, 2048n, TWO53);

function spellInt(n: bigint, how: number): string {
  const abs = n < 0n ? -n : n;
  switch (how % 5) {
    case 1:
      return n < 0n ? String(n) : `+${n}`;
    case 2:
      return n < 0n ? `-0${abs}` : `00${n}`;
    case 3:
      return n < 0n ? String(n) : `0x${n.toString(16).toUpperCase()}`;
    case 4:
      return n < 0n ? String(n) : `0o${n.toString(8)}`;
    default:
      return String(n);
  }
}

function spellFloat(x: number, how: number): string {
  if (Number.isNaN(x)) return how % 2 ? ".NaN" : ".nan";
  if (x === Infinity) return how % 2 ? "+.inf" : ".Inf";
  if (x === -Infinity) return "-.inf";
  if (Object.is(x, -0)) return how % 2 ? "-0.0" : "-0e0";
  if (how % 3 === 1) return x.toExponential();
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

function spellString(s: string, how: number): string {
  return how % 2 ? doubleQuote(s) : `'${s.replaceAll("'", "''")}'`;
}

const how = fc.nat({ max: 11 });
const lookAlikes = fc.constantFrom(
  "1",
  "01",
  "-0",
  "12345678901234567890",
  "true",
  "null",
  "",
  "\ud800",
  "x\udfff",
);
/** One scalar, spelt some way. */
const anyScalar: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(bigInts, how).map(([n, h]) => spellInt(n, h)),
  fc.tuple(fc.double(), how).map(([x, h]) => spellFloat(x, h)),
  fc.tuple(
    fc.oneof(fc.string({ maxLength: 8 }), lookAlikes),
    how,
  ).map(([s, h]) => spellString(s, h)),
  fc.constantFrom("true", "True", "false", "null", "~", "", "!!str 5", "!!int 0x1F"),
  fc.tuple(bigInts, fc.nat({ max: 3 })).map(([n]) => `!!float ${n < 0n ? -n : n}.0`),
);
/** Two scalars near each other (the same value respelt, a neighbour, another type). */
type Pair = [string, string];
const scalarPair: fc.Arbitrary<Pair> = fc.oneof<fc.Arbitrary<Pair>[]>(
  fc.tuple(bigInts, deltas, how, how).map((
    [n, d, a, b],
  ): Pair => [spellInt(n, a), spellInt(n + d, b)]),
  fc.tuple(bigInts, how, how).map(([n, a, b]): Pair => [spellInt(n, a), spellFloat(Number(n), b)]),
  fc.tuple(bigInts, how, how).map(([n, a, b]): Pair => [spellInt(n, a), spellString(String(n), b)]),
  fc.tuple(bigInts, how).map(([n, a]): Pair => [
    spellInt(n < 0n ? -n : n, a),
    `!!float ${n < 0n ? -n : n}.0`,
  ]),
  fc.tuple(fc.double(), how, how).map(([x, a, b]): Pair => [spellFloat(x, a), spellFloat(x, b)]),
  fc.tuple(anyScalar, anyScalar),
  anyScalar.map((s): Pair => [s, s]),
);
/** Key slots: a key and what the other file may spell there (the same key, or a YAML look-alike). */
const KEY_SLOTS: [string, string[]][] = [
  ["a", ["a", "b"]],
  ["1", ["1", "01", "0x1", "'1'", "1.0"]],
  ["12345678901234567890", [
    "12345678901234567890",
    "12345678901234567891",
    "'12345678901234567890'",
  ]],
  ["true", ["true", "True", "'true'"]],
  ["~", ["~", "null", "''"]],
  ["x.y", ["x.y", "'x.y'"]],
];
const filePair = fc.uniqueArray(
  fc.tuple(
    fc.nat({ max: KEY_SLOTS.length - 1 }),
    fc.nat({ max: 9 }),
    scalarPair,
  ).map(([slot, alt, values]): [number, [string, string], [string, string]] => {
    const [key, others] = KEY_SLOTS[slot]!;
    // Mostly the same key on both sides; sometimes a look-alike.
    return [slot, [key, alt < 7 ? key : others[alt % others.length]!], values];
  }),
  { minLength: 1, maxLength: 4, selector: ([slot]) => slot },
).map((entries) => entries.map(([, k, v]): [[string, string], [string, string]] => [k, v]));

interface Loaded {
  config: string;
  v2: string;
  v1: string;
  v1Refused: boolean;
}

/** Parse, load (the loader's tree), encode; undefined when the reader or the MAC refuses it. */
function load(entries: [string, string][], refusals: Map<string, number>): Loaded | undefined {
  const text = entries.map(([k, v]) => `${k}: ${v}\n`).join("");
  try {
    const doc = parseDocument(text);
    const { tree } = documentToTree(doc, { maxAliasCount: 100 });
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return {
      config: canon(materialize(tree).value),
      v2: hex(macInput(doc, 1, { app: "p" })),
      v1: hex(macInput(doc, 1, { app: "p" }, 1)),
      v1Refused: v1Uncovered(doc).length > 0,
    };
  } catch (err) {
    const code = (err as { code?: string }).code ?? "(not typed)";
    expect(code, text).not.toBe("(not typed)");
    refusals.set(code, (refusals.get(code) ?? 0) + 1);
    return undefined;
  }
}

/** Register the property (adversarial suite, category "differential"). */
export function macInjectiveSuite(): void {
  describe("MAC input: different loaded configs, different v2 inputs", () => {
    it(
      "v2 is injective on loaded configs; v1 is where its rule accepts",
      () => {
        let pairs = 0, different = 0, v2Shared = 0, v1Gap = 0, v1Accepted = 0;
        const refusals = new Map<string, number>();
        const done = tried("differential", RUNS);
        fc.assert(
          fc.property(filePair, (entries) => {
            const a = load(entries.map(([[k], [v]]) => [k, v]), refusals);
            const b = load(entries.map(([[, k], [, v]]) => [k, v]), refusals);
            if (!a || !b) return;
            pairs++;
            const differ = a.config !== b.config;
            if (differ) different++;
            if (differ && a.v2 === b.v2) v2Shared++;
            expect(differ && a.v2 === b.v2, `${a.config} / ${b.config}`).toBe(false);
            if (a.v1 === b.v1) {
              expect(a.v1Refused, `${a.config} / ${b.config}`).toBe(b.v1Refused);
              if (differ) v1Gap++;
              if (!a.v1Refused) {
                v1Accepted++;
                expect(a.config, "v1 accepted two configs under one input").toBe(b.config);
              }
            }
          }),
          { numRuns: RUNS },
        );
        done();
        expect(pairs).toBeGreaterThan(RUNS / 4);
        expect(different).toBeGreaterThan(pairs / 4);
        note(
          "differential",
          `mac input: ${pairs} file pairs (${different} loading different configs), v2 input ` +
            `shared by different configs ${v2Shared}; v1 input shared by different configs ` +
            `${v1Gap}, all refused by the v1 rule (INTEGRITY_UNSUPPORTED); ${v1Accepted} equal-v1 ` +
            `pairs accepted, all one config; reader refusals: ${
              [...refusals].map(([c, n]) => `${c} ${n}`).join(", ") || "none"
            }`,
        );
      },
      DEEP ? 10 * 60_000 : 60_000,
    );
  });
}
