/**
 * The age provider's wrapping (docs/format.md "age wrapping"), as properties over generated data
 * keys and encryption contexts (keys and values of any Unicode, empty ones, many pairs):
 *
 * - a data key wrapped to a recipient (by `generateDataKey` or `wrapDataKey`, by a writer that
 *   holds no identity) opens to the same bytes with the identity and the same context, given in
 *   any key order;
 * - with any other context (a pair added, removed, or one key or value changed) it is refused
 *   with `DEK_UNWRAP_FAILED`, and so is the wrapping with any one byte changed.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AgeKeyProvider } from "../../src/keys/age.ts";
import { isSealfigError } from "../../src/errors.ts";
import { byteForms, renderings } from "../_helpers/leaks.ts";
import { captureError, DEEP, note, tried } from "./_collector.ts";

const RUNS = DEEP ? 2_000 : 60;

const text = fc.string({ unit: "grapheme", maxLength: 12 });
const key = fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 });
const context = fc.dictionary(key, text, {
  maxKeys: 6,
});

/** A context that differs from `c`: a pair added, removed, or one key or value changed. */
function otherContext(
  c: Record<string, string>,
  how: number,
  extra: string,
): Record<string, string> {
  const keys = Object.keys(c);
  const out = { ...c };
  if (keys.length === 0 || how % 4 === 0) {
    let k = `x${extra}`;
    while (Object.hasOwn(out, k)) k += "x";
    out[k] = extra;
    return out;
  }
  const k = keys[how % keys.length]!;
  if (how % 4 === 1) {
    delete out[k];
  } else if (how % 4 === 2) {
    out[k] = out[k] + (extra || "y");
  } else {
    let k2 = k + "\u0000";
    while (Object.hasOwn(out, k2)) k2 += "\u0000";
    const v = out[k]!;
    delete out[k];
    out[k2] = v;
  }
  return out;
}

function reversed(c: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(c).reverse());
}

export function ageSuite(): void {
  describe("age wrapping (fast-check)", () => {
    it(`round trip under every context, refusal under any other (${RUNS} runs)`, async () => {
      const identity = await AgeKeyProvider.generateIdentity();
      const recipient = await AgeKeyProvider.recipientOf(identity);
      const writer = new AgeKeyProvider({ identities: [] });
      const reader = new AgeKeyProvider({ identities: [identity] });
      let opened = 0;
      let refusedContext = 0;
      let refusedByte = 0;
      const done = tried("properties", RUNS);
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          context,
          fc.nat(),
          text,
          fc.boolean(),
          async (dek, ctx, how, extra, generate) => {
            const wrapped = generate
              ? (await writer.generateDataKey(recipient, ctx)).wrapped
              : (await writer.wrapDataKey(recipient, dek, ctx)).wrapped;
            const back = await reader.decryptDataKey(recipient, wrapped, reversed(ctx));
            if (!generate) expect(back).toEqual(dek);
            expect(back.length).toBe(32);
            opened++;
            const other = otherContext(ctx, how, extra);
            const err = await reader.decryptDataKey(recipient, wrapped, other).then(
              () => undefined,
              (e: unknown) => e,
            );
            expect(isSealfigError(err, "DEK_UNWRAP_FAILED")).toBe(true);
            captureError("age wrong context", err);
            const shown = renderings(err);
            expect(shown).not.toContain(identity);
            for (const f of byteForms(back)) expect(shown).not.toContain(f);
            refusedContext++;
            const bad = wrapped.slice();
            bad[how % bad.length]! ^= 1 << (how % 8);
            const err2 = await reader.decryptDataKey(recipient, bad, ctx).then(
              () => undefined,
              (e: unknown) => e,
            );
            expect(isSealfigError(err2, "DEK_UNWRAP_FAILED")).toBe(true);
            refusedByte++;
          },
        ),
        { numRuns: RUNS },
      );
      done();
      expect(opened).toBe(RUNS);
      note(
        "properties",
        `age wrapping: ${opened} data keys × contexts opened, ${refusedContext} other contexts ` +
          `and ${refusedByte} changed bytes refused (DEK_UNWRAP_FAILED), 0 accepted`,
      );
    });
  });
}
