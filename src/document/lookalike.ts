/**
 * Look-alike map keys: keys that can render the same as another key, or differently from what
 * they are, in a reviewed diff. sealfig refuses them when it reads a document
 * (`YAML_KEY_CONFUSABLE`, docs/config.md "Look-alike keys"), so `loadConfig`, `check`, `status`,
 * `edit` and every other command see the same verdict:
 *
 * - invisible characters: control and format characters (zero-width spaces and joiners, the
 *   byte order mark, soft hyphens, bidi embeddings, overrides and isolates, tags), other default
 *   ignorable code points (variation selectors, Hangul fillers …) and every space but U+0020;
 * - a space (U+0020) at the start or the end of a key (`"password "`);
 * - a key that is not in Unicode normalisation form C (`é` written as `e` + U+0301), or not in
 *   form KC: compatibility characters that render as others (`pass𝚠ord` with a mathematical
 *   `𝚠`, fullwidth `ｐａｓｓ`, ligatures, superscripts, the micro sign);
 * - letters from several scripts in one key (`pаssword` with a Cyrillic `а`), except the
 *   combinations of Latin with Han, Hiragana, Katakana, Bopomofo or Hangul that Unicode's
 *   "highly restrictive" profile (UTS #39) allows;
 * - ({@link confusableSiblings}) two keys of one map with the same UTS #39 confusable skeleton
 *   when either is not plain ASCII (`рор` in Cyrillic beside `pop` in Latin, each of one script).
 *
 * Keys in one script (`пароль`, `パスワード`, `café`) are accepted; digits, `_`, `-`, `.` and
 * other common punctuation belong to every script.
 *
 * @module
 */
import unhomoglyph from "unhomoglyph";
import { hasLoneSurrogate } from "../crypto/bytes.ts";

const INVISIBLE =
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Zs}\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u3164\uFE00-\uFE0F\uFFA0\u{E0100}-\u{E01EF}]/u;

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
  const edgeSpace = key.startsWith(" ") || key.endsWith(" ");
  const spaceReason = "begins or ends with a space (it could pass for the key without it)";
  // Plain ASCII keys (nearly all of them) are safe unless they hold a control character.
  if (/^[\x20-\x7e]*$/.test(key)) return edgeSpace ? spaceReason : undefined;
  // UTF-8 (what the MAC and the AAD hash) cannot encode a lone surrogate: it would become U+FFFD
  // there, so two different keys would authenticate alike.
  if (hasLoneSurrogate(key)) {
    return "is not well-formed Unicode (it holds a lone surrogate, which UTF-8 cannot encode)";
  }
  for (const ch of key) {
    if (ch !== " " && INVISIBLE.test(ch)) {
      return `contains the invisible or control character ${codePoint(ch)}`;
    }
  }
  if (edgeSpace) return spaceReason;
  if (key.normalize("NFC") !== key) {
    return "is not in Unicode normalisation form C (the same text has another, canonical encoding)";
  }
  if (key.normalize("NFKC") !== key) {
    for (const ch of key) {
      if (ch.normalize("NFKC") !== ch) {
        return `holds the compatibility character ${codePoint(ch)}, which renders like another ` +
          "(it is not in Unicode normalisation form KC)";
      }
    }
    return "is not in Unicode normalisation form KC (it holds a compatibility character)";
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

/**
 * The UTS #39 confusable skeleton of a key: NFD, then each character replaced by its prototype in
 * Unicode's confusables table (the `unhomoglyph` package's copy of confusables.txt, Unicode
 * 13.0), then NFD again. Two keys with the same skeleton can render alike.
 *
 * @example
 * ```ts ignore
 * confusableSkeleton("\u0440\u043e\u0440") === confusableSkeleton("pop"); // true (Cyrillic)
 * ```
 */
export function confusableSkeleton(key: string): string {
  return unhomoglyph(key.normalize("NFD")).normalize("NFD");
}

/**
 * The first pair of keys of one map that can render alike, as indexes `[earlier, later]`, or
 * undefined: two keys with the same {@link confusableSkeleton} when either holds a character
 * beyond ASCII. Pairs of plain ASCII keys are not compared (`modem` and `modern`, `l1` and `ll`
 * share a skeleton, and the fonts diffs are read in tell them apart); a map of ASCII keys only
 * costs one test per key.
 *
 * @example
 * ```ts ignore
 * confusableSiblings(["pop", "host", "\u0440\u043e\u0440"]); // [0, 2]
 * ```
 */
export function confusableSiblings(keys: readonly string[]): [number, number] | undefined {
  const ascii = keys.map((k) => /^[\x20-\x7e]*$/.test(k));
  if (ascii.every(Boolean)) return undefined;
  const seen = new Map<string, number>();
  for (let i = 0; i < keys.length; i++) {
    const skeleton = confusableSkeleton(keys[i]!);
    const j = seen.get(skeleton);
    // When two ASCII keys share a skeleton, a later key is compared with the first of them.
    if (j === undefined) seen.set(skeleton, i);
    else if (!ascii[i] || !ascii[j]) return [j, i];
  }
  return undefined;
}
