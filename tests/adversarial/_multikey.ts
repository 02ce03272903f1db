/**
 * Several keys per value (docs/format.md §11), as a property: a value sealed under a random
 * ordered list of keys opens exactly when this process holds one of them that it trusts, through
 * the first such key in list order (the keys before it counted as fall-throughs); otherwise the
 * error is typed and names every key: `KEY_UNTRUSTED` when none is trusted, else `KEY_NOT_FOUND`
 * for a one-key value and `KEYS_UNAVAILABLE` for several. Re-encoding the list (keys added,
 * removed or reordered) never changes salt, IV, commitment or ciphertext.
 */
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { type KeySlot, parseBlob, replaceKeySlots } from "../../src/envelope/format.ts";
import { decryptValue, Sealer, wrapForKeys } from "../../src/envelope/values.ts";
import { KeyAllowlist } from "../../src/keys/allowlist.ts";
import { LocalKeyProvider } from "../../src/keys/local.ts";
import { isSealfigError } from "../../src/errors.ts";
import { codeTally, KNOBS, note, tried } from "./_collector.ts";

const POOL = 5;
const CONTEXT = { app: "adversarial", env: "multikey" };

export function multikeySuite(): void {
  describe("several keys per value: key lists × keys held × keys trusted", () => {
    const keys: { id: string; key: string }[] = [];
    let all: LocalKeyProvider;
    beforeAll(async () => {
      for (let i = 0; i < POOL; i++) keys.push(await LocalKeyProvider.generateKey());
      all = new LocalKeyProvider({ keys: keys.map((k) => k.key) });
    });

    it(
      `opens iff a held, trusted key is listed, through the first (${KNOBS.valueRuns} runs)`,
      async () => {
        const runs = KNOBS.valueRuns;
        const done = tried("properties", runs);
        const outcomes: string[] = [];
        let opened = 0, fallThroughs = 0, rewrapped = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.uniqueArray(fc.integer({ min: 0, max: POOL - 1 }), { minLength: 1, maxLength: 4 }),
            fc.subarray([...Array(POOL).keys()]),
            fc.subarray([...Array(POOL).keys()]),
            fc.uniqueArray(fc.integer({ min: 0, max: POOL - 1 }), { minLength: 1, maxLength: 4 }),
            fc.string({ maxLength: 40 }),
            async (list, held, trusted, relist, generated) => {
              // A marker makes the leak check meaningful: a short value ("name") can be a word of
              // the error message itself.
              const value = `mk-canary-${generated}`;
              const [first, ...more] = list.map((i) => ({ provider: all, keyId: keys[i]!.id }));
              const sealer = new Sealer({
                provider: first!.provider,
                keyId: first!.keyId,
                additionalKeys: more,
                context: CONTEXT,
              });
              const blob = await sealer.seal(value, "x.y");
              sealer.dispose();
              const stats = { keyFallThroughs: 0 };
              const usable = list.filter((i) => held.includes(i) && trusted.includes(i));
              const result = await decryptValue(blob, {
                providers: [new LocalKeyProvider({ keys: held.map((i) => keys[i]!.key) })],
                path: "x.y",
                context: CONTEXT,
                cache: new DekCache(),
                trust: KeyAllowlist.of(trusted.map((i) => `local:${keys[i]!.id}`)),
                stats,
              }).then((v) => ({ v }), (e: unknown) => ({ e }));
              if (usable.length > 0) {
                expect("v" in result, JSON.stringify({ list, held, trusted })).toBe(true);
                expect((result as { v: unknown }).v).toBe(value);
                expect(stats.keyFallThroughs).toBe(list.indexOf(usable[0]!));
                opened++;
                fallThroughs += stats.keyFallThroughs;
                outcomes.push("opened");
              } else {
                const e = (result as { e: unknown }).e;
                expect(isSealfigError(e), String(e)).toBe(true);
                const err = e as import("../../src/errors.ts").SealfigError;
                const anyTrusted = list.some((i) => trusted.includes(i));
                const code = !anyTrusted
                  ? "KEY_UNTRUSTED"
                  : list.length === 1
                  ? "KEY_NOT_FOUND"
                  : "KEYS_UNAVAILABLE";
                expect(err.code, JSON.stringify({ list, held, trusted })).toBe(code);
                if (list.length > 1) {
                  for (const i of list) expect(err.message).toContain(keys[i]!.id);
                }
                expect(err.message).not.toContain("mk-canary-");
                outcomes.push(err.code);
              }
              // Re-encode under another list: the value's bytes stay; every listed key opens it.
              const p = parseBlob(blob);
              const dek = await all.decryptDataKey(p.keyId, p.wrappedDek, CONTEXT);
              let slots: KeySlot[];
              try {
                slots = (await wrapForKeys(
                  dek,
                  relist.map((i) => ({ provider: all, keyId: keys[i]!.id })),
                  CONTEXT,
                )).map((r) => ({
                  providerId: r.providerId,
                  keyId: r.keyId,
                  wrappedDek: r.wrapped,
                }));
              } finally {
                dek.fill(0);
              }
              const again = parseBlob(replaceKeySlots(p, slots));
              expect(again.boundHeader).toEqual(p.boundHeader);
              expect(again.ciphertext).toEqual(p.ciphertext);
              const last = relist.at(-1)!;
              expect(
                await decryptValue(replaceKeySlots(p, slots), {
                  providers: [new LocalKeyProvider({ keys: [keys[last]!.key] })],
                  path: "x.y",
                  context: CONTEXT,
                }),
              ).toBe(value);
              rewrapped++;
            },
          ),
          { numRuns: runs },
        );
        done();
        expect(opened).toBeGreaterThan(0);
        expect(outcomes.length - opened).toBeGreaterThan(0);
        note(
          "properties",
          `multi-key: ${runs} key lists × held × trusted subsets: ${codeTally(outcomes)}; ` +
            `${fallThroughs} fall-throughs, each at the first usable key; ${rewrapped} re-encoded ` +
            "key lists, 0 ciphertexts changed",
        );
      },
      120_000,
    );
  });
}
