/**
 * Look-alike map keys: keys that can render the same as another key, or differently from what
 * they are, in a reviewed diff. sealfig refuses them when it reads a document
 * (`YAML_KEY_CONFUSABLE`, docs/config.md "Look-alike keys"), so `loadConfig`, `check`, `status`,
 * `edit` and every other command see the same verdict:
 *
 * - invisible characters: control and format characters (zero-width spaces and joiners, the
 *   byte order mark, soft hyphens, bidi embeddings, overrides and isolates, tags), other default
 *   ignorable code points (variation selectors, Hangul fillers …) and every space but U+0020;
 * - a key that is not in Unicode normalisation form C (`é` written as `e` + U+0301);
 * - letters from several scripts in one key (`pаssword` with a Cyrillic `а`), except the
 *   combinations of Latin with Han, Hiragana, Katakana, Bopomofo or Hangul that Unicode's
 *   "highly restrictive" profile (UTS #39) allows.
 *
 * Keys in one script (`пароль`, `パスワード`, `café`) are accepted; digits, `_`, `-`, `.` and
 * other common punctuation belong to every script.
 *
 * @module
 */

const INVISIBLE =
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Zs}\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u3164\uFE00-\uFE0F\uFFA0\u{E0100}-\u{E01EF}]/u;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
export const LONE_SURROGATE: RegExp =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Scripts told apart; a letter in none of them counts as its own script ("other"). */
const SCRIPTS: readonly (readonly [string, RegExp])[] = [
  "Latin",
  "Greek",
  "Cyrillic",
  "Armenian",
  "Hebrew",
  "Arabic",
  "Syriac",
  "Thaana",
  "Devanagari",
  "Bengali",
  "Gurmukhi",
  "Gujarati",
  "Tamil",
  "Telugu",
  "Kannada",
  "Malayalam",
  "Thai",
  "Lao",
  "Tibetan",
  "Myanmar",
  "Georgian",
  "Hangul",
  "Ethiopic",
  "Cherokee",
  "Khmer",
  "Mongolian",
  "Hiragana",
  "Katakana",
  "Bopomofo",
  "Han",
  "Coptic",
].map((name) => [name, new RegExp(`^\\p{Script=${name}}$`, "u")] as const);

const NEUTRAL = /^[\p{Script=Common}\p{Script=Inherited}]$/u;

/** Script sets allowed together (UTS #39 "highly restrictive"), besides a single script. */
const ALLOWED_MIXES: readonly (readonly string[])[] = [
  ["Latin", "Han", "Hiragana", "Katakana"],
  ["Latin", "Han", "Bopomofo"],
  ["Latin", "Han", "Hangul"],
];

function scriptOf(ch: string): string | undefined {
  if (NEUTRAL.test(ch)) return undefined;
  for (const [name, re] of SCRIPTS) if (re.test(ch)) return name;
  return "other";
}

/** A printable name of a code point: `U+202E`. */
function codePoint(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * Why `key` is a look-alike key, or undefined when it is safe to show in a diff. The reason names
 * code points and scripts only, never the key itself (it is shown by position instead).
 *
 * @example
 * ```ts ignore
 * lookalikeReason("password"); // undefined
 * lookalikeReason("pass\u200bword"); // "contains the invisible character U+200B"
 * ```
 */
export function lookalikeReason(key: string): string | undefined {
  // Plain ASCII keys (nearly all of them) are safe unless they hold a control character.
  if (/^[\x20-\x7e]*$/.test(key)) return undefined;
  // UTF-8 (what the MAC and the AAD hash) cannot encode a lone surrogate: it would become U+FFFD
  // there, so two different keys would authenticate alike.
  if (LONE_SURROGATE.test(key)) {
    return "is not well-formed Unicode (it holds a lone surrogate, which UTF-8 cannot encode)";
  }
  for (const ch of key) {
    if (ch !== " " && INVISIBLE.test(ch)) {
      return `contains the invisible or control character ${codePoint(ch)}`;
    }
  }
  if (key.normalize("NFC") !== key) {
    return "is not in Unicode normalisation form C (the same text has another, canonical encoding)";
  }
  const scripts = new Set<string>();
  for (const ch of key) {
    const s = scriptOf(ch);
    if (s !== undefined) scripts.add(s);
  }
  if (scripts.size <= 1) return undefined;
  if (ALLOWED_MIXES.some((mix) => [...scripts].every((s) => mix.includes(s)))) return undefined;
  return `mixes letters of several scripts (${[...scripts].sort().join(", ")})`;
}
