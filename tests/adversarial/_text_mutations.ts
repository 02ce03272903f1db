/**
 * Blind text mutations for the format suites' differential properties (JSON, .env): what any
 * byte-level editor could do to a file, with no knowledge of its format. Each takes the text and
 * a position seed `at`, and is deterministic in both.
 */

/** A named mutation of a file's text. */
export interface TextMutation {
  name: string;
  f: (text: string, at: number) => string;
}

/**
 * Replace one character with one of `chars`; insert one of `bits`; drop, duplicate or swap a
 * line. A suite adds the mutations particular to its format.
 */
export function textMutations(chars: readonly string[], bits: readonly string[]): TextMutation[] {
  return [
    {
      name: "char",
      f: (t, at) => {
        const i = at % Math.max(1, t.length);
        return t.slice(0, i) + chars[at % chars.length] + t.slice(i + 1);
      },
    },
    {
      name: "insert",
      f: (t, at) => {
        const i = at % (t.length + 1);
        return t.slice(0, i) + bits[at % bits.length] + t.slice(i);
      },
    },
    {
      name: "drop line",
      f: (t, at) => {
        const ls = t.split("\n");
        ls.splice(at % ls.length, 1);
        return ls.join("\n");
      },
    },
    {
      name: "duplicate line",
      f: (t, at) => {
        const ls = t.split("\n");
        const i = at % ls.length;
        ls.splice(i, 0, ls[i]!);
        return ls.join("\n");
      },
    },
    {
      name: "swap lines",
      f: (t, at) => {
        const ls = t.split("\n");
        const i = at % ls.length, j = (at * 7 + 3) % ls.length;
        [ls[i], ls[j]] = [ls[j]!, ls[i]!];
        return ls.join("\n");
      },
    },
  ];
}
