/**
 * The per-value and per-file crypto runs on `node:crypto` (src/crypto/primitives.ts); the format
 * was specified, and its vectors generated, with WebCrypto. These properties pin that the two
 * compute the same bytes for random inputs (HKDF-SHA-256, AES-256-GCM both ways, HMAC-SHA-256),
 * that a tampered ciphertext never decrypts, and that blobs sealed now open under an independent
 * WebCrypto implementation of the format (docs/format.md), so what sealfig writes today is what
 * the WebCrypto code wrote before. The committed vectors pin the other direction (opening).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  hkdfSha256,
  hmacSha256,
} from "../../src/crypto/primitives.ts";
import {
  type Bytes,
  ByteWriter,
  fromUtf8,
  hasLoneSurrogate,
  timingSafeEqual,
  utf8,
} from "../../src/crypto/bytes.ts";
import { buildAad, compareBytes, fixedContext } from "../../src/envelope/aad.ts";
import { parseBlob } from "../../src/envelope/format.ts";
import { encryptValue } from "../../src/envelope/values.ts";
import { parsePath, type ValuePath } from "../../src/path.ts";
import { KNOBS, note, tried } from "./_collector.ts";
import { CONTEXT, key1, local } from "./_fixture.ts";

const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Uint8Array.from(b) as Bytes);

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

async function webHkdf(ikm: Bytes, salt: Bytes, info: Bytes, length: number): Promise<Bytes> {
  const k = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(
    await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, k, 8 * length),
  );
}

async function webGcm(
  op: "encrypt" | "decrypt",
  key: Bytes,
  iv: Bytes,
  additionalData: Bytes,
  data: Bytes,
): Promise<Bytes> {
  const k = await crypto.subtle.importKey("raw", key, "AES-GCM", false, [op]);
  return new Uint8Array(
    await crypto.subtle[op]({ name: "AES-GCM", iv, additionalData, tagLength: 128 }, k, data),
  );
}

/** docs/format.md's open, written with WebCrypto only (the format's reference). */
async function webOpen(blob: string, path: string): Promise<string | undefined> {
  const parsed = parseBlob(blob);
  const dek = await local.decryptDataKey(parsed.keyId, parsed.wrappedDek, CONTEXT);
  const info = utf8("sealfig/v1/value-key\u0001");
  const okm = await webHkdf(dek as Bytes, parsed.salt as Bytes, info, 64);
  if (!timingSafeEqual(okm.subarray(32), parsed.commitment)) return undefined;
  const aad = buildAad(parsed.boundHeader, parsePath(path), CONTEXT);
  const pt = await webGcm(
    "decrypt",
    okm.slice(0, 32),
    parsed.iv as Bytes,
    aad,
    parsed.ciphertext as Bytes,
  );
  return fromUtf8(pt);
}

/**
 * docs/format.md's associated data, written the plain way: one length-prefixed part per field,
 * context pairs sorted by their UTF-8 key bytes (buildAad writes the same bytes in one pass).
 */
function referenceAad(header: Uint8Array, path: ValuePath, context: Record<string, string>): Bytes {
  const w = new ByteWriter().bytes(utf8("sealfig/v1/aad")).lp32(header).u32(path.length);
  for (const seg of path) {
    if (typeof seg === "number") w.u8(0x02).u32(seg);
    else w.u8(0x01).lp32(utf8(seg));
  }
  const pairs = Object.entries(context).map(([k, v]) => [utf8(k), utf8(v)] as const);
  pairs.sort((a, b) => compareBytes(a[0], b[0]));
  w.u32(pairs.length);
  for (const [k, v] of pairs) w.lp32(k).lp32(v);
  return w.finish();
}

/** Strings of any UTF-16 code units: ASCII, 2- to 4-byte UTF-8, and lone surrogates. */
const anyText = (minLength: number, maxLength: number) =>
  fc.string({
    unit: fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      fc.constantFrom("é", "秘", "🔐", "\ud800", "\udfff", "\uffff"),
    ),
    minLength,
    maxLength,
  });

export function cryptoEquivalenceSuite(): void {
  describe("node:crypto = WebCrypto (fast-check)", () => {
    const runs = KNOBS.valueRuns;
    let cases = 0;

    it(`HKDF-SHA-256 and HMAC-SHA-256 give WebCrypto's bytes (${runs} runs)`, async () => {
      const done = tried("properties", runs);
      await fc.assert(
        fc.asyncProperty(
          bytes(32, 32),
          bytes(0, 64),
          bytes(0, 64),
          fc.integer({ min: 1, max: 96 }),
          bytes(0, 300),
          async (ikm, salt, info, length, data) => {
            const ours = hkdfSha256(ikm, salt, info, length);
            if (!same(ours, await webHkdf(ikm, salt, info, length))) return false;
            const k = await crypto.subtle.importKey(
              "raw",
              ikm,
              { name: "HMAC", hash: "SHA-256" },
              false,
              ["sign"],
            );
            cases++;
            return same(
              hmacSha256(ikm, data),
              new Uint8Array(await crypto.subtle.sign("HMAC", k, data)),
            );
          },
        ),
        { numRuns: runs },
      );
      done();
    });

    it(`AES-256-GCM: same ciphertext and tag both ways; a flipped bit never decrypts (${runs} runs)`, async () => {
      const done = tried("properties", runs);
      await fc.assert(
        fc.asyncProperty(
          bytes(32, 32),
          bytes(12, 12),
          bytes(0, 300),
          bytes(0, 100),
          fc.nat(),
          async (key, iv, aad, pt, flip) => {
            const ours = aesGcmEncrypt(key, iv, aad, pt);
            const theirs = await webGcm("encrypt", key, iv, aad, pt);
            if (!same(ours, theirs)) return false;
            const back = aesGcmDecrypt(key, iv, aad, theirs);
            if (back === undefined || !same(back, pt)) return false;
            const bad = theirs.slice();
            const bit = flip % (bad.length * 8);
            bad[bit >> 3]! ^= 1 << (bit & 7);
            cases++;
            return aesGcmDecrypt(key, iv, aad, bad) === undefined &&
              aesGcmDecrypt(key, iv, aad, theirs.subarray(0, 15)) === undefined;
          },
        ),
        { numRuns: runs },
      );
      done();
    });

    it(`the associated data is the reference encoding for any path and context, fixed, frozen or not; a context with a lone surrogate is refused (${runs} runs)`, () => {
      const done = tried("properties", runs);
      fc.assert(
        fc.property(
          bytes(0, 100),
          fc.array(fc.oneof(anyText(0, 12), fc.nat({ max: 0xffffffff })), { maxLength: 6 }),
          fc.dictionary(anyText(1, 8), anyText(0, 12), { maxKeys: 6 }),
          (header, path, context) => {
            cases++;
            const frozen = Object.freeze(Object.fromEntries(Object.entries(context)));
            if (
              Object.entries(context).some(([k, v]) => hasLoneSurrogate(k) || hasLoneSurrogate(v))
            ) {
              // No UTF-8 of its own (an encoder writes U+FFFD): refused, in every form.
              const refused = (f: () => unknown) => {
                try {
                  f();
                  return false;
                } catch (e) {
                  return (e as { code?: string }).code === "OPTION_INVALID";
                }
              };
              return refused(() => buildAad(header, path, context)) &&
                refused(() => fixedContext(context)) &&
                refused(() => buildAad(header, path, frozen));
            }
            const want = referenceAad(header, path, context);
            // The context as given, as the loader holds it (a fixed copy, its encoding computed
            // once: asked twice, the second from the memo), and frozen by the caller.
            const fixed = fixedContext(context);
            return same(buildAad(header, path, context), want) &&
              same(buildAad(header, path, fixed), want) &&
              same(buildAad(header, path, fixed), want) &&
              same(buildAad(header, path, frozen), want) &&
              same(buildAad(header, path, frozen), want);
          },
        ),
        { numRuns: runs },
      );
      done();
    });

    it(`values sealed now open under a WebCrypto-only implementation of the format (${runs} runs)`, async () => {
      const done = tried("properties", runs);
      await fc.assert(
        fc.asyncProperty(
          fc.string({ unit: "grapheme", maxLength: 40 }),
          fc.constantFrom("a", "db.password", "servers[3].key"),
          async (value, path) => {
            const blob = await encryptValue(value, {
              provider: local,
              keyId: key1.id,
              path,
              context: CONTEXT,
            });
            cases++;
            return (await webOpen(blob, path)) === value;
          },
        ),
        { numRuns: runs },
      );
      done();
      expect(cases).toBe(4 * runs);
      note(
        "properties",
        `node:crypto = WebCrypto: ${cases} cases (HKDF, HMAC, AES-GCM, AAD, sealed blobs), 0 differed`,
      );
    });
  });
}
