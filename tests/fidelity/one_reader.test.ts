/**
 * Issue 13, item 9: the CLI and the loader read files through one reader with one set of rules.
 * Every file of a corpus goes through both: the loader (with and without an integrity record),
 * and what the writing commands do (stamp a record, set a value, seal). A file the loader accepts
 * must be writable, and the written file must load again; a file the loader refuses must be
 * refused by the writers with the same error code.
 */
import { afterAll, describe, expect, it } from "vitest";
import { parseDocument, sealDocument, setSecret, setValue, stampDocument } from "../../document.ts";
import { loadConfig } from "../../mod.ts";
import type { SealfigDocument } from "../../document.ts";
import { isSealfigError } from "../../src/errors.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";
import { testKey } from "../document/_fixture.ts";

const t = makeTempDir("sealfig-reader-");
afterAll(() => t.cleanup());

/** name → file text. */
const CORPUS: Record<string, string> = {
  "block map": "a: 1\nb: two\n",
  "flow-style top level": "{a: 1, b: two}\n",
  "JSON top level": '{\n  "a": 1,\n  "b": "two"\n}\n',
  "empty flow top level": "{}\n",
  "empty file": "",
  "comments only": "# nothing yet\n",
  "explicit null document": "~\n",
  "document-end marker": "a: 1\nb: two\n...\n",
  "document-end marker and comment": "a: 1\n... # end\n",
  "start and end markers": "---\na: 1\n...\n",
  "only a document-end marker": "...\n",
  "no final newline": "a: 1\nb: two",
  "anchor on a value used later": "a: &x 1\nb: *x\n",
  "anchor on a key used later": "&k a: 1\nb: *k\n",
  "merge key": "base: &b\n  x: 1\nc:\n  <<: *b\n  y: 2\n",
  "top-level sequence": "- 1\n- 2\n",
  "top-level scalar": "hello\n",
  "two documents": "a: 1\n---\nb: 2\n",
  "three documents, an empty one and a final ...": "a: 1\n---\n---\nb: {c: 2}\n...\n",
  "a document that is a sequence": "a: 1\n---\n- 2\n",
  "an alias to another document's anchor": "a: &x 1\n---\nb: *x\n",
  "duplicate key": "a: 1\na: 2\n",
  "tab indentation": "a:\n\tb: 1\n",
  "block scalar last": "a: |\n  line one\n  line two\n",
  "big integer": "n: 123456789012345678901234567890\n",
  "CRLF line endings": "a: 1\r\nb: two\r\n",
  "BOM": "\ufeffa: 1\n",
  "multi-line flow top level with a comment": "{\n  a: 1, # one\n  b: [x, y]\n} # end\n",
  "flow top level without a final newline": "{a: 1}",
  "start marker with a comment": "--- # config\na: 1\n",
  "anchored map merged twice": "x: &x {p: 1}\ny:\n  <<: *x\nz:\n  <<: [*x]\n  q: 2\n",
};

type Outcome = { ok: true; value: unknown } | { ok: false; code: string };

async function outcome(fn: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (!isSealfigError(err)) throw err;
    return { ok: false, code: err.code };
  }
}

describe("one reader: the loader and the writing commands accept and refuse the same files", () => {
  for (const [name, text] of Object.entries(CORPUS)) {
    it(name, async () => {
      const key = await testKey();
      const load = (content: string, integrity: "off" | "require") => {
        const file = t.write(`${name.replaceAll(" ", "_")}.yaml`, content);
        return loadConfig({ files: [file], providers: [key.provider], integrity });
      };
      const stamp = async (doc: SealfigDocument) =>
        (await stampDocument(doc, { provider: key.provider, keyId: key.keyId, generation: 1 }))
          .document;
      const loaded = await outcome(() => load(text, "off"));
      // A new key: at the top level, or in a file of several documents in the last one.
      let added = "added";
      try {
        const n = parseDocument(text).documentCount;
        if (n > 1) added = `[${n - 1}].added`;
      } catch { /* refused alike below */ }
      // What `stamp` does.
      const stamped = await outcome(() => stamp(parseDocument(text)));
      // What `set --plain` does (a new top-level key), then its record.
      const set = await outcome(() => stamp(setValue(parseDocument(text), added, "v")));
      // What `set` does (a sealed value), and what `encrypt` does with a new !secret value.
      const sealedSet = await outcome(async () =>
        stamp(
          await setSecret(parseDocument(text), added, "s3", {
            provider: key.provider,
            keyId: key.keyId,
          }),
        )
      );
      const sealed = await outcome(async () =>
        stamp(
          (await sealDocument(setValue(parseDocument(text), added, "s3", { secretTag: true }), {
            provider: key.provider,
            keyId: key.keyId,
          })).document,
        )
      );
      if (!loaded.ok) {
        for (const w of [stamped, set, sealedSet, sealed]) {
          expect(w.ok, `${name}: the loader refuses it (${loaded.code}); so must the writers`)
            .toBe(false);
          expect((w as { code: string }).code, name).toBe(loaded.code);
        }
        return;
      }
      for (const [what, w] of [["stamp", stamped], ["set --plain", set]] as const) {
        expect(w.ok, `${name}: ${what} refused what the loader reads (${JSON.stringify(w)})`)
          .toBe(true);
      }
      expect(sealedSet.ok, `${name}: set ${JSON.stringify(sealedSet)}`).toBe(true);
      expect(sealed.ok, `${name}: encrypt ${JSON.stringify(sealed)}`).toBe(true);
      // Each written file loads with its record required, and has the same config (plus `added`).
      const again = await load((stamped as { value: SealfigDocument }).value.toString(), "require");
      expect(again).toEqual(loaded.value);
      const withSet = await load((set as { value: SealfigDocument }).value.toString(), "require");
      expect(withSet).toEqual({ ...(loaded.value as object), added: "v" });
      const withSecret = await load(
        (sealedSet as { value: SealfigDocument }).value.toString(),
        "require",
      );
      expect(withSecret).toEqual({ ...(loaded.value as object), added: "s3" });
      const withSealed = await load(
        (sealed as { value: SealfigDocument }).value.toString(),
        "require",
      );
      expect(withSealed).toEqual({ ...(loaded.value as object), added: "s3" });
    });
  }
});
