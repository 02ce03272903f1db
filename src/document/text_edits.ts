/**
 * Text edits: replace ranges of a text. The primitive under the splice (splice.ts, which also
 * checks that what it wrote reads back) and under the integrity record's own line edits; its own
 * module so the loader, which only removes or checks a record, does not load the document writer.
 *
 * @module
 */

/** A text edit: replace `[from, to)` with `text`. */
export interface TextEdit {
  from: number;
  to: number;
  text: string;
}

/** Apply non-overlapping edits to a text. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => a.from - b.from);
  let out = "";
  let pos = 0;
  for (const e of sorted) {
    if (e.from < pos) throw new Error("overlapping edits");
    out += text.slice(pos, e.from) + e.text;
    pos = e.to;
  }
  return out + text.slice(pos);
}
