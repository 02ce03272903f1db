/**
 * Property tests with fast-check: random values of every type round-trip (values and documents);
 * random strings, bytes and mutations of valid blobs never give anything but a SealfigError and
 * never a value other than the sealed one; random YAML documents round-trip seal → decrypt → seal
 * byte for byte; random text given to the loader gives a config or a SealfigError, nothing else.
 */
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { loadConfig } from "../../src/config/load_config.ts";
import { parseDocument } from "../../src/document/document.ts";
import { decryptDocument, sealDocument } from "../../src/document/seal.ts";
import { setSecret } from "../../src/document/edit.ts";
import { BLOB_PREFIX, parseBlob } from "../../src/envelope/format.ts";
import { decryptValue, encryptValue } from "../../src/envelope/values.ts";
import type { SecretValue } from "../../src/envelope/value_codec.ts";
import { toBase64Url } from "../../src/crypto/bytes.ts";
import {
  attempt,
  canary,
  codeTally,
  expectTyped,
  KNOBS,
  noIntegrity,
  note,
  tempDir,
  tried,
} from "./_collector.ts";
import { blobBytes, bytesBlob, CONTEXT, key1, local } from "./_fixture.ts";
import type { TempDir } from "../_helpers/tmp_dir.ts";

/** Same value, same JS type (NaN equals NaN, -0 differs from 0). */
function same(a: unknown, b: unknown): boolean {
  return typeof a === typeof b && (Object.is(a, b) || (typeof a === "bigint" && a === b));
}

/** What decrypting gives back for a sealed value: integers in the safe range come back as numbers. */
function expectedOf(v: SecretValue): SecretValue {
  if (
    typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) &&
    v <= BigInt(Number.MAX_SAFE_INTEGER)
  ) {
    return Number(v);
  }
  return v;
}

const specialStrings = [
  "",
  " ",
  "\n",
  "a\r\nb",
  "\u0000",
  "tab\there",
  "trailing\n\n",
  "  leading",
  "#not a comment",
  "key: value",
  "- item",
  "!secret x",
  "&anchor",
  "*alias",
  "'quoted'",
  '"dq"',
  "null",
  "true",
  "1.0",
  "0x1F",
  "1e3",
  ".inf",
  "sealfig:v1:AAAA",
  "\u2028\u2029",
  "\ufeffbom",
  "é ✓ 秘密 🔐",
];

/** Any value sealfig can seal. */
export const anyValue: fc.Arbitrary<SecretValue> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 48 }),
  fc.string({ unit: "grapheme", maxLength: 24 }),
  fc.constantFrom(...specialStrings),
  fc.integer(),
  fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53, 1e21, -1e300),
  fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);

export function propertiesSuite(): void {
  describe("property tests (fast-check)", () => {
    const secret = canary("prop");
    let dir: TempDir;
    beforeAll(() => {
      dir = tempDir("prop");
    });

    it(`random values of every type round-trip through encryptValue/decryptValue (${KNOBS.valueRuns} runs)`, async () => {
      const done = tried("properties", KNOBS.valueRuns);
      await fc.assert(
        fc.asyncProperty(
          anyValue,
          fc.constantFrom("a", "db.password", "servers[3].key"),
          async (v, path) => {
            const blob = await encryptValue(v, {
              provider: local,
              keyId: key1.id,
              path,
              context: CONTEXT,
            });
            const out = await decryptValue(blob, { providers: [local], path, context: CONTEXT });
            return same(out, expectedOf(v));
          },
        ),
        { numRuns: KNOBS.valueRuns },
      );
      done();
    });

    it("regression: numbers beyond 2^53 round-trip as the same number; as integers, exactly", async () => {
      for (const v of [2 ** 53, -(2 ** 53), 2 ** 60, 1e21, -1e300, Number.MAX_VALUE]) {
        await attempt("properties", async () => {
          const blob = await encryptValue(v, { provider: local, keyId: key1.id, path: "n" });
          expect(parseBlob(blob).valueType).toBe("float"); // an integer would come back a bigint
          expect(await decryptValue(blob, { providers: [local], path: "n" })).toBe(v);
        });
      }
      // Sealed as an explicit integer, 1e21 used to be written "1e+21", which nothing can open.
      await attempt("properties", async () => {
        const blob = await encryptValue(1e21, {
          provider: local,
          keyId: key1.id,
          path: "n",
          type: "integer",
        });
        expect(await decryptValue(blob, { providers: [local], path: "n" })).toBe(10n ** 21n);
      });
    });

    it(`random values round-trip through documents: setSecret → load, decrypt → seal keeps the blob (${KNOBS.documentRuns} runs)`, async () => {
      const done = tried("properties", KNOBS.documentRuns);
      const cache = new DekCache();
      await fc.assert(
        fc.asyncProperty(anyValue, async (v) => {
          const base = parseDocument(`# random value\napp:\n  name: demo\n  secret: ${secret}\n`);
          const sealed = await setSecret(base, "app.secret", v, {
            provider: local,
            keyId: key1.id,
            context: CONTEXT,
          });
          const file = dir.write("value.yaml", sealed.toString());
          const config = await loadConfig(
            noIntegrity({ files: [file], providers: [local], cache, context: CONTEXT }),
          ) as { app: { secret: unknown } };
          expect(same(config.app.secret, expectedOf(v)), `loaded ${String(v)}`).toBe(true);
          // The plaintext view writes the value as YAML text; it must read back as the same value.
          const plain = await decryptDocument(sealed, {
            providers: [local],
            context: CONTEXT,
            cache,
          });
          const entry = plain.document.get("app.secret")!;
          expect(entry.kind).toBe("secret");
          expect(same(entry.value, expectedOf(v)), `plaintext view of ${String(v)}`).toBe(true);
          const again = await sealDocument(plain.document, {
            provider: local,
            keyId: key1.id,
            context: CONTEXT,
            previous: sealed,
            cache,
          });
          expect(again.document.toString()).toBe(sealed.toString());
          expect(again.sealed).toBe(0);
        }),
        { numRuns: KNOBS.documentRuns },
      );
      done();
    });

    it(`random YAML documents round-trip: seal → decrypt → seal is byte-identical, and load gives the values (${KNOBS.documentRuns} runs)`, async () => {
      const done = tried("properties", KNOBS.documentRuns);
      const cache = new DekCache();
      await fc.assert(
        fc.asyncProperty(yamlDocument, async ({ text, expected }) => {
          const plain = parseDocument(text);
          const sealed = await sealDocument(plain, {
            provider: local,
            keyId: key1.id,
            context: CONTEXT,
          });
          const opened = await decryptDocument(sealed.document, {
            providers: [local],
            context: CONTEXT,
            cache,
          });
          const again = await sealDocument(opened.document, {
            provider: local,
            keyId: key1.id,
            context: CONTEXT,
            previous: sealed.document,
            cache,
          });
          expect(again.document.toString()).toBe(sealed.document.toString());
          expect(again.sealed).toBe(0);
          const file = dir.write("doc.yaml", sealed.document.toString());
          const config = await loadConfig(
            noIntegrity({ files: [file], providers: [local], cache, context: CONTEXT }),
          );
          expect(deepSame(config, expected), `loaded ${text}`).toBe(true);
        }),
        { numRuns: KNOBS.documentRuns },
      );
      done();
    });

    it(`random mutations of valid blobs: a SealfigError, or the sealed value when nothing changed (${KNOBS.mutationRuns} runs)`, async () => {
      const values: SecretValue[] = [secret, 5432, 2n ** 80n, 3.25, true, null];
      const blobs = await Promise.all(
        values.map((v) =>
          encryptValue(v, { provider: local, keyId: key1.id, path: "p", context: CONTEXT })
        ),
      );
      const cache = new DekCache();
      const codes: string[] = [];
      let unchanged = 0;
      const done = tried("properties", KNOBS.mutationRuns);
      await fc.assert(
        fc.asyncProperty(
          fc.nat(values.length - 1),
          fc.array(mutation, { minLength: 1, maxLength: 4 }),
          async (which, ops) => {
            const original = blobs[which]!;
            const mutated = ops.reduce((b, op) => op(b), original);
            try {
              const out = await decryptValue(mutated, {
                providers: [local],
                path: "p",
                context: CONTEXT,
                cache,
              });
              // Opening is only allowed when the mutations cancelled out.
              expect(mutated).toBe(original);
              expect(same(out, expectedOf(values[which]!))).toBe(true);
              unchanged++;
            } catch (err) {
              codes.push(expectTyped("mutated blob", err).code);
            }
          },
        ),
        { numRuns: KNOBS.mutationRuns },
      );
      done();
      note(
        "properties",
        `blob mutations: ${codeTally(codes)}${unchanged ? `, ${unchanged} no-op` : ""}`,
      );
    });

    it(`random strings and byte strings as blobs: only SealfigErrors (${KNOBS.randomInputRuns} runs)`, async () => {
      const codes: string[] = [];
      const done = tried("properties", KNOBS.randomInputRuns);
      await fc.assert(
        fc.asyncProperty(randomBlobText, async (text) => {
          try {
            await decryptValue(text, { providers: [local], path: "p", context: CONTEXT });
            expect.fail("a random string opened");
          } catch (err) {
            codes.push(expectTyped("random blob", err).code);
          }
        }),
        { numRuns: KNOBS.randomInputRuns },
      );
      done();
      note("properties", `random blob strings: ${codeTally(codes)}`);
    });

    it(`random text and bytes as config files: a config or a SealfigError (${KNOBS.randomInputRuns} runs)`, async () => {
      const outcomes: string[] = [];
      const done = tried("properties", KNOBS.randomInputRuns);
      const cache = new DekCache();
      await fc.assert(
        fc.asyncProperty(randomFile, async (content) => {
          const file = dir.write("random.yaml", content);
          try {
            await loadConfig(
              noIntegrity({ files: [file], providers: [local], cache, context: CONTEXT }),
            );
            outcomes.push("loaded");
          } catch (err) {
            outcomes.push(expectTyped("random file", err, { file }).code);
          }
        }),
        { numRuns: KNOBS.randomInputRuns },
      );
      done();
      note("properties", `random files: ${codeTally(outcomes)}`);
    });
  });
}

// --- arbitraries -------------------------------------------------------------------------------

type Mutation = (blob: string) => string;
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** One random change to a blob, on its bytes or on its text. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([pos, x]): Mutation => (b) => {
    const bytes = blobBytes(b);
    if (!bytes) return b;
    bytes[pos % bytes.length]! ^= x;
    return bytesBlob(bytes);
  }),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(
    ([pos, ins]): Mutation => (b) => {
      const bytes = blobBytes(b);
      if (!bytes) return b;
      const at = pos % (bytes.length + 1);
      return bytesBlob(new Uint8Array([...bytes.subarray(0, at), ...ins, ...bytes.subarray(at)]));
    },
  ),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 40 })).map(([pos, len]): Mutation => (b) => {
    const bytes = blobBytes(b);
    if (!bytes) return b;
    const at = pos % bytes.length;
    return bytesBlob(new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(at + len)]));
  }),
  fc.nat().map((pos): Mutation => (b) => b.slice(0, pos % b.length)),
  fc.tuple(fc.nat(), fc.constantFrom(...B64, "=", " ", "+", "/", ".", "é", "\n")).map(
    ([pos, ch]): Mutation => (b) => {
      const at = pos % b.length;
      return b.slice(0, at) + ch + b.slice(at + 1);
    },
  ),
  fc.constantFrom<Mutation>(
    (b) => b + "A",
    (b) => b + "==",
    (b) => b.replace("sealfig:v1:", "sealfig:v2:"),
    (b) => b.replace("sealfig:v1:", "SEALFIG:v1:"),
    (b) => b.replace("sealfig:v1:", "sealfig:v01:"),
  ),
);

/** Strings that may or may not look like blobs. */
const randomBlobText: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.uint8Array({ maxLength: 400 }).map((b) => BLOB_PREFIX + toBase64Url(b)),
  fc.string({ unit: fc.constantFrom(...B64), maxLength: 600 }).map((s) => BLOB_PREFIX + s),
  fc.tuple(fc.nat(99), fc.string({ unit: fc.constantFrom(...B64) })).map(([v, s]) =>
    `sealfig:v${v}:${s}`
  ),
  fc.uint8Array({ minLength: 3, maxLength: 300 }).map((b) => {
    // A plausible header start: version 1, suite 1, a type, then random bytes.
    const head = new Uint8Array([1, 1, 1 + (b[0]! % 5), ...b.subarray(1)]);
    return BLOB_PREFIX + toBase64Url(head);
  }),
);

const yamlAlphabet = [..."ab:-[]{}!&*#|>'\"\n ,?%@`\t\r\\0.1", "!secret ", "sealfig:v1:", "\u0000"];

/** Random config file content: YAML-ish text, random bytes, or a bit of both. */
const randomFile: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...yamlAlphabet), maxLength: 80 }),
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.uint8Array({ maxLength: 120 }),
  fc.tuple(
    fc.constantFrom("a:\n  b: ", "- ", "x: [", "k: !secret ", "y: &a\n  z: *a\n"),
    fc.string({ maxLength: 30 }),
  )
    .map(([a, b]) => a + b),
);

// --- random YAML documents ---------------------------------------------------------------------

type Tree =
  | { kind: "map"; entries: [string, Tree][] }
  | { kind: "seq"; items: Tree[] }
  | { kind: "scalar"; value: SecretValue; secret: boolean };

const keyArb = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/),
  fc.constantFrom("a.b", "x y", "0", "über", "null", "-", "<<x"),
);

const plainScalar = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.constantFrom(...specialStrings),
  fc.integer(),
  // (an integral double beyond 2^53 would print as integer text, which reads back as a bigint)
  fc.double().filter((d) => !Number.isInteger(d) || Number.isSafeInteger(d)),
  fc.boolean(),
  fc.constant(null),
);
const secretScalar = fc.oneof(plainScalar, fc.bigInt({ min: -(2n ** 100n), max: 2n ** 100n }));

const { tree: treeArb } = fc.letrec<{ tree: Tree; map: Tree; seq: Tree; scalar: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    tie("scalar"),
    tie("map"),
    tie("seq"),
  ),
  map: fc.uniqueArray(fc.tuple(keyArb, tie("tree")), { maxLength: 4, selector: ([k]) => k })
    .map((entries) => ({ kind: "map" as const, entries })),
  seq: fc.array(tie("tree"), { maxLength: 3 }).map((items) => ({ kind: "seq" as const, items })),
  scalar: fc.oneof(
    // (a plain string that looks like a blob is read as one, by design: only secrets may)
    plainScalar.filter((v) => !(typeof v === "string" && /^sealfig:v[0-9]+:/.test(v)))
      .map((value) => ({ kind: "scalar" as const, value, secret: false })),
    secretScalar.map((value) => ({ kind: "scalar" as const, value, secret: true })),
  ),
}));

/** A random document: block-style YAML text of a root map, and the plain data it must load as. */
const yamlDocument = fc.uniqueArray(fc.tuple(keyArb, treeArb), {
  minLength: 1,
  maxLength: 5,
  selector: ([k]) => k,
}).map((entries) => {
  const root: Tree = { kind: "map", entries };
  return { text: `# random document\n${render(root, 0)}`, expected: toData(root) };
});

function scalarText(v: SecretValue): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") {
    if (Number.isNaN(v)) return ".nan";
    if (v === Infinity) return ".inf";
    if (v === -Infinity) return "-.inf";
    if (Object.is(v, -0)) return "-0.0";
    return String(v);
  }
  return String(v);
}

function render(t: Tree, indent: number): string {
  const pad = " ".repeat(indent);
  if (t.kind === "map") {
    if (t.entries.length === 0) return `${pad}{}\n`;
    return t.entries.map(([k, v]) => `${pad}${JSON.stringify(k)}:${inline(v, indent)}`).join("");
  }
  if (t.kind === "seq") {
    if (t.items.length === 0) return `${pad}[]\n`;
    return t.items.map((v) => `${pad}-${inline(v, indent)}`).join("");
  }
  return `${pad}${t.secret ? "!secret " : ""}${scalarText(t.value)}\n`;
}

/** A child after `key:` or `-`: on the same line when scalar or empty, else indented below. */
function inline(v: Tree, indent: number): string {
  if (v.kind === "scalar") return ` ${v.secret ? "!secret " : ""}${scalarText(v.value)}\n`;
  if (v.kind === "map" && v.entries.length === 0) return " {}\n";
  if (v.kind === "seq" && v.items.length === 0) return " []\n";
  return `\n${render(v, indent + 2)}`;
}

function toData(t: Tree): unknown {
  if (t.kind === "map") return Object.fromEntries(t.entries.map(([k, v]) => [k, toData(v)]));
  if (t.kind === "seq") return t.items.map(toData);
  return expectedOf(t.value);
}

function deepSame(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
      a.every((x, i) => deepSame(x, b[i]));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length &&
      ka.every((k) =>
        deepSame((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
      );
  }
  return same(a, b);
}
