/**
 * The one way values are written into a document's text: splice the new text of each value into
 * its source range, parse the result again, and check that every spliced value reads back as
 * exactly the value it stands for (same kind, type and value) and that every other value of the
 * document is still what it was. A rendering that does not read back is replaced by its fallback
 * (a double-quoted string, which is exact for every string); when even that fails, nothing is
 * written: `VALUE_NOT_REPRESENTABLE` is thrown instead.
 *
 * @module
 */
import { isSealfigError, SealfigError } from "../errors.ts";
import type { ValueTypeName } from "../envelope/format.ts";
import type { SecretValue } from "../envelope/value_codec.ts";
import { formatPath, type ValuePath } from "../path.ts";
import type { DocumentEntry, SealfigDocument, ValueKind } from "./document.ts";
import { sameTypedValue } from "./scalar.ts";
import { applyEdits, type TextEdit } from "./text_edits.ts";

export { applyEdits, type TextEdit };

/** What a value must read back as after it was written. */
export interface ExpectedValue {
  /** `sealed` (a blob), `secret` (`!secret` plaintext) or `plain`. */
  kind: ValueKind;
  /** Its type (for `sealed`: ignored, the blob is compared as text). */
  type: ValueTypeName | undefined;
  /** The value (for `sealed`: the blob). */
  value: SecretValue;
}

/** One value's new text, where it goes, and what it must read back as. */
export interface ValueEdit extends TextEdit {
  /** The value's path after the edit. */
  path: ValuePath;
  /** What the value at `path` must be once the edit is applied. */
  expect: ExpectedValue;
  /** Another rendering to use when this one does not read back (e.g. double-quoted). */
  fallback?: TextEdit;
}

/** Options for {@link spliceValues}. */
export interface SpliceOptions {
  /**
   * Paths (and everything under them) whose old values may change or disappear besides the
   * edited ones (e.g. a removed map). Default: none; every other value must stay as it was.
   */
  released?: readonly ValuePath[];
  /** The document to check instead of splicing (a whole rewrite); edits then give expectations. */
  rewritten?: () => SealfigDocument;
  /**
   * Text edits spliced with the values that are not values (e.g. removing the integrity record
   * entry); what they touch must be under `released`. The one parse checks them all.
   */
  extra?: readonly TextEdit[];
}

/** Counters for tests: how many splices were checked, and how many needed their fallback. */
export const spliceStats: { checked: number; fellBack: number } = { checked: 0, fellBack: 0 };

/**
 * Splice `edits` into `doc` and return the new document, checked: every edited path holds its
 * expected value and every other value is unchanged. Renderings that fail are retried with their
 * fallback; then a failure throws `VALUE_NOT_REPRESENTABLE` naming the path (never the value).
 */
export function spliceValues(
  doc: SealfigDocument,
  edits: readonly ValueEdit[],
  options: SpliceOptions = {},
): SealfigDocument {
  let current = edits;
  for (let round = 0;; round++) {
    let after: SealfigDocument | undefined;
    let parseError: unknown;
    try {
      after = options.rewritten && round === 0
        ? options.rewritten()
        : doc.withText(applyEdits(doc.text, [...current, ...(options.extra ?? [])]));
    } catch (err) {
      if (!isSealfigError(err)) throw err;
      parseError = err;
    }
    spliceStats.checked++;
    const failed = after ? current.filter((e) => !readsBack(after!, e)) : [...current];
    if (after && failed.length === 0) {
      checkUntouched(doc, after, edits, options.released ?? []);
      return after;
    }
    const retry = failed.filter((e) => e.fallback !== undefined);
    if (round > 0 || retry.length === 0) {
      const first = failed[0];
      throw new SealfigError(
        "VALUE_NOT_REPRESENTABLE",
        "A value cannot be written as YAML that reads back as the same value; nothing was written",
        {
          ...(doc.file !== undefined ? { file: doc.file } : {}),
          ...(first ? { path: formatPath(first.path) } : {}),
          ...(parseError === undefined ? {} : { cause: parseError }),
          hint: "Nothing was written. This is a sealfig bug: please report it with the path and " +
            "the value's type (never the value)",
        },
      );
    }
    spliceStats.fellBack += retry.length;
    current = current.map((e): ValueEdit =>
      failed.includes(e) && e.fallback ? { ...e.fallback, path: e.path, expect: e.expect } : e
    );
  }
}

function readsBack(after: SealfigDocument, e: ValueEdit): boolean {
  const got = after.entryAt(e.path);
  return got !== undefined && sameEntry(got, e.expect);
}

/** Same kind, type and value (a sealed value: the same blob text). */
export function sameEntry(got: DocumentEntry | ExpectedValue, want: ExpectedValue): boolean {
  if (got.kind !== want.kind) return false;
  if (got.kind === "sealed") return got.value === want.value;
  if (got.type === undefined || want.type === undefined) {
    return got.type === want.type && got.value === want.value;
  }
  return sameTypedValue(
    { value: got.value, type: got.type },
    { value: want.value, type: want.type },
  );
}

function under(path: ValuePath, prefix: ValuePath): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => path[i] === s);
}

function checkUntouched(
  before: SealfigDocument,
  after: SealfigDocument,
  edits: readonly ValueEdit[],
  released: readonly ValuePath[],
): void {
  const edited = new Set(edits.map((e) => formatPath(e.path)));
  for (const old of before.entries()) {
    if (edited.has(old.pathText) || released.some((p) => under(old.path, p))) continue;
    const now = after.entryAt(old.path);
    if (now && sameEntry(now, old)) continue;
    throw new SealfigError(
      "VALUE_NOT_REPRESENTABLE",
      "Writing the change would alter another value of the file; nothing was written",
      {
        ...(before.file !== undefined ? { file: before.file } : {}),
        line: old.line,
        col: old.col,
        path: old.pathText,
        hint: "Please report this as a bug; edit the file with sealfig edit instead",
      },
    );
  }
}
