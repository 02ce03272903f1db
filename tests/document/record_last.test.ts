/**
 * `setValue` on a file with an integrity record: the record stays the top level's last entry and
 * every byte `set` was not asked to change is kept (block and flow style, new paths of any depth).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseDocument } from "../../document.ts";
import { setValue } from "../../src/document/edit.ts";
import { INTEGRITY_KEY } from "../../src/integrity/record.ts";

const DEEP = (globalThis as { process?: { env: Record<string, string | undefined> } }).process
  ?.env.SEALFIG_TEST_DEEP === "1";

const RECORD = `${INTEGRITY_KEY}: sealfig-mac:v1:AAAA`;
const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,5}$/);

/** A top-level map (block or flow style, with odd spacing) whose last entry is the record. */
const fileArb = fc.record({
  flow: fc.boolean(),
  entries: fc.uniqueArray(fc.tuple(key, fc.oneof(key, fc.integer())), {
    minLength: 1,
    maxLength: 4,
    selector: ([k]) => k,
  }),
  nested: fc.option(fc.tuple(key, key), { nil: undefined }),
  gap: fc.constantFrom(" ", "  ", "   "),
}).map(({ flow, entries, nested, gap }) => {
  const pairs = entries.filter(([k]) => k !== nested?.[0]);
  if (flow) {
    const items = pairs.map(([k, v]) => `${k}:${gap}${v}`);
    if (nested) items.push(`${nested[0]}: {${gap}${nested[1]}: 1}`);
    return `{${items.join(`,${gap}`)}, ${RECORD}}\n`;
  }
  const lines = pairs.map(([k, v]) => `${k}:${gap}${v}   # c\n`);
  if (nested) lines.push(`${nested[0]}:\n  ${nested[1]}: 1\n`);
  return `${lines.join("")}${RECORD}\n`;
});

/** Topmost keys of the result, in order. */
function topKeys(text: string): string[] {
  const doc = parseDocument(text);
  const root = doc.yaml.contents as { items: { key: { value: string } }[] };
  return root.items.map((p) => String(p.key.value));
}

describe("set keeps the record last and untouched bytes as they were", () => {
  it("property: any new path in a block or flow file", () => {
    let runs = 0;
    fc.assert(
      fc.property(fileArb, fc.array(key, { minLength: 1, maxLength: 3 }), (text, path) => {
        const doc = parseDocument(text);
        // Only new top-level keys (entryAt finds values, not a key that holds a map).
        if (topKeys(text).includes(path[0]!)) return;
        const out = setValue(doc, path.join("."), "v").toString();
        runs++;
        // the record is still last
        expect(topKeys(out).at(-1)).toBe(INTEGRITY_KEY);
        expect(topKeys(out)).toContain(path[0]);
        // one contiguous insertion: everything else is byte for byte the same
        let pre = 0;
        while (pre < text.length && text[pre] === out[pre]) pre++;
        let suf = 0;
        while (
          suf < text.length - pre && text[text.length - 1 - suf] === out[out.length - 1 - suf]
        ) suf++;
        expect(pre + suf).toBe(text.length);
        expect(parseDocument(out).get(path.join("."))?.value).toBe("v");
      }),
      { numRuns: DEEP ? 3_000 : 200 },
    );
    expect(runs).toBeGreaterThan(50);
  });

  it("the README's case: a new top-level key on a sealed file goes before the record line", () => {
    const out = setValue(parseDocument(`db:\n  host: h\n${RECORD}\n`), "api.token", "t")
      .toString();
    expect(out).toBe(`db:\n  host: h\napi:\n  token: t\n${RECORD}\n`);
  });
});
