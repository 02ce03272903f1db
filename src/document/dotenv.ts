/**
 * `.env` files (docs/config.md, ".env files"): the one reader of the dotenv language sealfig
 * accepts, the YAML view the rest of sealfig works on, and the writer that carries a changed view
 * back into the file's own text.
 *
 * A `.env` file is read into entries (`NAME=value`, each with its line, column and source range)
 * and into a line-aligned YAML view: one top-level `NAME: "value"` per entry, on the entry's own
 * line, and the integrity record (`# sealfig_integrity: sealfig-mac:v2:…`) as the view's
 * `sealfig_integrity` entry. Sealing, opening, the integrity record, `set` and `unset` work on the
 * view exactly as on a YAML file; {@link renderEnv} then splices only the values that changed
 * into the original text, so comments, blank lines, order, `export` and every untouched value's
 * quoting stay byte for byte. Every write is read back and compared before it is used.
 *
 * The language (anything else is `ENV_SYNTAX` at file:line:col):
 * - blank lines and `#` comment lines;
 * - `NAME=value` or `export NAME=value`, NAME a POSIX name (`[A-Za-z_][A-Za-z0-9_]*`), spaces or
 *   tabs allowed around `=`; each NAME once;
 * - values: unquoted (to the end of the line or a ` #` comment, blanks around it trimmed; a `#`
 *   right after a character is refused since dotenv tools disagree on it), `'single'` and
 *   `` `backtick` `` (literal), `"double"` (escapes `\n \r \t \" \\` only); quoted values may
 *   span lines; after a quoted value only blanks and a comment.
 *
 * @module
 */
import { SealfigError } from "../errors.ts";

/** The name of the integrity record in a `.env` file's comment line (and in its YAML view). */
export const ENV_RECORD_NAME = "sealfig_integrity";

/** One `NAME=value` entry of a `.env` file. */
export interface EnvEntry {
  /** The variable name. */
  readonly name: string;
  /** The value, unquoted and unescaped. */
  readonly value: string;
  /** 1-based line of the name. */
  readonly line: number;
  /** 1-based column of the name. */
  readonly nameCol: number;
  /** 1-based column of the value (of its opening quote when quoted). */
  readonly col: number;
  /** Offset of the first character of the entry's line. */
  readonly lineStart: number;
  /** Offset of the value's first character (its opening quote when quoted). */
  readonly start: number;
  /** Offset just after the value (its closing quote when quoted). */
  readonly end: number;
  /** Offset just after the entry's last line (after its newline, or the end of the text). */
  readonly lineEnd: number;
}

/** The integrity record comment line of a `.env` file. */
export interface EnvRecordLine {
  /** The record text (`sealfig-mac:v2:…`). */
  readonly value: string;
  /** 1-based line. */
  readonly line: number;
  /** Offset of the record text and just after it. */
  readonly start: number;
  readonly end: number;
  /** The line's range, newline included. */
  readonly lineStart: number;
  readonly lineEnd: number;
}

/** A parsed `.env` text. */
export interface EnvLayout {
  /** The text (`\n` line endings, no BOM) the offsets refer to. */
  readonly text: string;
  /** The entries in file order. */
  readonly entries: readonly EnvEntry[];
  /** The integrity record line, when there is one. */
  readonly record: EnvRecordLine | undefined;
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const NAME_ONLY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RECORD_COMMENT = /^#[ \t]*sealfig_integrity\b/;
const RECORD_LINE = /^#[ \t]*sealfig_integrity:[ \t]*([^ \t\n]+)[ \t]*$/;

/**
 * Whether a file name is a `.env` file: `.env`, `.env.*` (e.g. `.env.production`, not
 * `.env.yaml` or `.env.json`) and `*.env` (`production.env`).
 *
 * @example
 * ```ts
 * import { isEnvFileName } from "./dotenv.ts";
 * isEnvFileName("config/.env.production"); // true
 * isEnvFileName("config/production.yaml"); // false
 * ```
 */
export function isEnvFileName(file: string): boolean {
  const base = file.replace(/^.*[\\/]/, "");
  if (/\.(ya?ml|json)$/i.test(base)) return false;
  // git's textconv copies are named XXXXXX_<basename>.
  return /(^|_)\.env(\.[^\\/]+)?$/.test(base) || /.\.env$/.test(base);
}

function fail(file: string | undefined, line: number, col: number, msg: string, hint: string) {
  return new SealfigError("ENV_SYNTAX", msg, {
    ...(file !== undefined ? { file } : {}),
    line,
    col,
    hint,
  });
}

/**
 * Parse `.env` text (`\n` line endings, no BOM). Throws `ENV_SYNTAX` with file, line and column
 * for anything outside the language in the module documentation; messages never quote values.
 */
export function parseEnvText(text: string, file?: string): EnvLayout {
  const entries: EnvEntry[] = [];
  let record: EnvRecordLine | undefined;
  const seen = new Map<string, number>();
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  const col = (at: number) => at - lineStart + 1;
  const eol = (from: number) => {
    const nl = text.indexOf("\n", from);
    return nl < 0 ? text.length : nl;
  };
  while (pos < text.length) {
    lineStart = pos;
    let i = pos;
    while (text[i] === " " || text[i] === "\t") i++;
    const end = eol(i);
    const next = end < text.length ? end + 1 : end;
    if (i === end) {
      pos = next;
      line++;
      continue;
    }
    if (text[i] === "#") {
      const body = text.slice(i, end);
      if (RECORD_COMMENT.test(body)) {
        const m = RECORD_LINE.exec(body);
        if (!m || i !== lineStart) {
          throw fail(
            file,
            line,
            col(i),
            "Malformed integrity record line",
            "Write it as `# sealfig_integrity: sealfig-mac:v2:…` at the start of a line, or restore it from git",
          );
        }
        if (record) {
          throw fail(
            file,
            line,
            1,
            `A second integrity record line (the first is on line ${record.line})`,
            "Keep one sealfig_integrity line",
          );
        }
        const start = i + body.indexOf(m[1]!);
        record = {
          value: m[1]!,
          line,
          start,
          end: start + m[1]!.length,
          lineStart,
          lineEnd: next,
        };
      }
      pos = next;
      line++;
      continue;
    }
    const entryLine = line;
    const entryLineStart = lineStart;
    if (text.startsWith("export", i) && (text[i + 6] === " " || text[i + 6] === "\t")) {
      i += 6;
      while (text[i] === " " || text[i] === "\t") i++;
    }
    NAME.lastIndex = i;
    const nm = NAME.exec(text);
    const afterName = nm ? i + nm[0].length : i;
    let j = afterName;
    while (text[j] === " " || text[j] === "\t") j++;
    if (!nm || text[j] !== "=") {
      const bad = nm ? j : i;
      throw fail(
        file,
        line,
        col(bad),
        nm ? "Expected = after the variable name" : "Expected a variable name (NAME=value)",
        "Write NAME=value with NAME of letters, digits and _ (not starting with a digit), " +
          "or start a comment with #",
      );
    }
    const name = nm[0];
    const nameCol = col(i);
    if (name === ENV_RECORD_NAME) {
      throw fail(
        file,
        line,
        nameCol,
        `The name ${ENV_RECORD_NAME} is reserved for the integrity record`,
        "Rename the variable",
      );
    }
    const first = seen.get(name);
    if (first !== undefined) {
      throw fail(
        file,
        line,
        nameCol,
        `The variable ${name} is set twice (first on line ${first})`,
        "Remove one of the two lines: tools disagree on which one wins",
      );
    }
    seen.set(name, line);
    j++;
    const afterEq = j;
    while (text[j] === " " || text[j] === "\t") j++;
    let start = j;
    const valueCol = col(j);
    let value: string;
    let valueEnd: number;
    const q = text[j];
    if (q === "'" || q === '"' || q === "`") {
      let k = j + 1;
      let out = "";
      for (;; k++) {
        if (k >= text.length) {
          throw fail(
            file,
            entryLine,
            valueCol,
            `The quoted value of ${name} is not closed`,
            `Close it with ${q}`,
          );
        }
        const c = text[k]!;
        if (c === q) break;
        if (c === "\n") {
          line++;
          lineStart = k + 1;
        }
        if (q === '"' && c === "\\") {
          const e = text[k + 1];
          const un = e === "n"
            ? "\n"
            : e === "r"
            ? "\r"
            : e === "t"
            ? "\t"
            : e === '"'
            ? '"'
            : e === "\\"
            ? "\\"
            : undefined;
          if (un === undefined) {
            throw fail(
              file,
              line,
              col(k),
              `Unsupported escape in the value of ${name}`,
              'Double-quoted values know \\n \\r \\t \\" and \\\\ only; use single quotes for a literal backslash',
            );
          }
          out += un;
          k++;
          continue;
        }
        out += c;
      }
      value = out;
      valueEnd = k + 1;
      let r = valueEnd;
      while (text[r] === " " || text[r] === "\t") r++;
      const rEnd = eol(r);
      if (r < rEnd && text[r] !== "#") {
        throw fail(
          file,
          line,
          col(r),
          `Unexpected text after the quoted value of ${name}`,
          "Only a # comment may follow a quoted value",
        );
      }
      pos = rEnd < text.length ? rEnd + 1 : rEnd;
    } else {
      const lineEndAt = eol(j);
      let k = j;
      let stop = lineEndAt;
      for (; k < lineEndAt; k++) {
        if (text[k] === "#") {
          if (k > j && text[k - 1] !== " " && text[k - 1] !== "\t") {
            throw fail(
              file,
              line,
              col(k),
              `A # inside the unquoted value of ${name}`,
              "Quote the value ('…'): some dotenv tools cut it there, others keep it",
            );
          }
          stop = k;
          break;
        }
      }
      let e = stop;
      while (e > j && (text[e - 1] === " " || text[e - 1] === "\t")) e--;
      value = text.slice(j, e);
      valueEnd = e;
      // An empty value before a comment sits right after `=`: text written there keeps the
      // blanks before the `#` (and so stays a value). Without a comment, it sits after them.
      if (value === "" && stop < lineEndAt) start = valueEnd = afterEq;
      pos = lineEndAt < text.length ? lineEndAt + 1 : lineEndAt;
    }
    entries.push({
      name,
      value,
      line: entryLine,
      nameCol,
      col: valueCol,
      lineStart: entryLineStart,
      start,
      end: valueEnd,
      lineEnd: pos,
    });
    line++;
  }
  return { text, entries, record };
}

/** Characters a YAML double-quoted scalar must not hold raw (JSON.stringify leaves them). */
const YAML_UNSAFE = /[\u007f-\u009f\u2028\u2029\ufeff]/g;

/** A string as a YAML double-quoted scalar (JSON escapes, which YAML reads the same). */
export function yamlQuoted(s: string): string {
  return JSON.stringify(s).replace(
    YAML_UNSAFE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

// At least one body character: `sealfig:v1:` alone would end in `:` and read as a map key.
const PLAIN_BLOB = /^sealfig:v[0-9]+:[A-Za-z0-9_-]+$/;

/**
 * A string value as a YAML view writes it (for the `.env` and JSON views): a blob as it is, so that
 * the view's text keeps the blob's own characters; anything else double-quoted. Either way it reads
 * back as exactly `s`.
 */
export function yamlViewString(s: string): string {
  return PLAIN_BLOB.test(s) ? s : yamlQuoted(s);
}
const PLAIN_RECORD = /^[A-Za-z0-9:_-]+$/;

/** The line-aligned YAML view of a `.env` text, and where each view value sits in the `.env`. */
export interface EnvView {
  /** YAML text: line N of the `.env` is line N of the view. */
  readonly text: string;
  /** Per 1-based line: the view column of the value and the `.env` column it stands for. */
  readonly columns: ReadonlyMap<number, { view: number; env: number; nameCol: number }>;
}

/** Build the YAML view of a parsed `.env` (see the module documentation). */
export function envView(layout: EnvLayout): EnvView {
  const lines = layout.text.split("\n").map(() => "");
  const columns = new Map<number, { view: number; env: number; nameCol: number }>();
  for (const e of layout.entries) {
    const v = yamlViewString(e.value);
    // Keys quoted: `null:` or `true:` would not read as the name's text.
    lines[e.line - 1] = `"${e.name}": ${v}`;
    columns.set(e.line, { view: e.name.length + 5, env: e.col, nameCol: e.nameCol });
  }
  const r = layout.record;
  if (r) {
    const v = PLAIN_RECORD.test(r.value) ? r.value : yamlQuoted(r.value);
    lines[r.line - 1] = `${ENV_RECORD_NAME}: ${v}`;
  }
  return { text: lines.join("\n"), columns };
}

/** A value of the view to write into the `.env` file. */
export interface EnvViewValue {
  /** The variable name (the view path's one segment). */
  readonly name: string;
  /** A blob (`sealed`) or the plaintext. */
  readonly kind: "sealed" | "secret" | "plain";
  /** The text to write: the blob, or the plaintext as a string. */
  readonly text: string;
}

/**
 * The `.env` text for a changed view: values that differ from `base` are spliced into their
 * source range (a blob unquoted, plaintext in the quoting {@link renderEnvValue} picks), names
 * gone from the view lose their lines, new names are appended, and the record line is replaced,
 * added or removed. Everything else stays byte for byte.
 */
export function renderEnv(
  base: EnvLayout,
  values: readonly EnvViewValue[],
  record: string | undefined,
): string {
  const edits: { from: number; to: number; text: string }[] = [];
  const byName = new Map(values.map((v) => [v.name, v]));
  const known = new Set<string>();
  for (const e of base.entries) {
    known.add(e.name);
    const v = byName.get(e.name);
    if (!v) {
      edits.push({ from: e.lineStart, to: e.lineEnd, text: "" });
    } else if (v.text !== e.value) {
      edits.push({ from: e.start, to: e.end, text: renderEnvValue(v) });
    }
  }
  let text = base.text;
  let added = "";
  for (const v of values) {
    if (known.has(v.name)) continue;
    added += `${v.name}=${renderEnvValue(v)}\n`;
  }
  let tail = "";
  const r = base.record;
  if (r && r.lineEnd === text.length && text.endsWith("\n")) {
    // New variables go before a record that ends the file, so it stays the last line.
    if (added) edits.push({ from: r.lineStart, to: r.lineStart, text: added });
  } else {
    tail = added;
  }
  if (r && record !== undefined) {
    if (record !== r.value) edits.push({ from: r.start, to: r.end, text: record });
  } else if (r) {
    edits.push({ from: r.lineStart, to: r.lineEnd, text: "" });
  } else if (record !== undefined) {
    tail += `# ${ENV_RECORD_NAME}: ${record}\n`;
  }
  edits.sort((a, b) => a.from - b.from);
  let out = "";
  let at = 0;
  for (const e of edits) {
    out += text.slice(at, e.from) + e.text;
    at = e.to;
  }
  text = out + text.slice(at);
  if (tail) {
    if (text.length > 0 && !text.endsWith("\n")) text += "\n";
    text += tail;
  }
  return text;
}

const SAFE_UNQUOTED = /^[A-Za-z0-9_./:@%+,=~-]+$/;

/**
 * A value as `.env` text: a blob or a simple word unquoted, the empty string as `''`, else
 * single-quoted (literal, may span
 * lines), else double-quoted with `\"`, `\\` and `\r` escaped. Throws `VALUE_NOT_REPRESENTABLE`
 * for a NUL character (no environment variable can hold one).
 */
export function renderEnvValue(v: Pick<EnvViewValue, "kind" | "text">): string {
  const t = v.text;
  if (v.kind === "sealed" || SAFE_UNQUOTED.test(t)) return t;
  // '' rather than nothing: where an empty value sits would depend on the blanks around it.
  if (t === "") return "''";
  if (t.includes("\u0000")) {
    throw new SealfigError(
      "VALUE_NOT_REPRESENTABLE",
      "A value with a NUL character cannot be written to a .env file",
      { hint: "Environment variables cannot hold NUL; store the value in a YAML file" },
    );
  }
  if (!/['\r]/.test(t)) return `'${t}'`;
  return `"${t.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\r/g, "\\r")}"`;
}

/** Whether `name` can be a `.env` variable name. */
export function isEnvName(name: string): boolean {
  return NAME_ONLY.test(name);
}
