/**
 * Scalars of the plaintext view: the typed value a `!secret` scalar stands for (YAML 1.2 core
 * schema rules, so `!secret 5432` is an integer and `!secret "5432"` a string), and the YAML text
 * a decrypted value is written back as.
 *
 * @module
 */
import type { ValueTypeName } from "../envelope/format.ts";
import { inferValueType, type SecretValue } from "../envelope/value_codec.ts";

/** A value together with the type it is (or will be) sealed as. */
export interface TypedValue {
  /** The value. */
  value: SecretValue;
  /** Its sealed type (`1.0` is a float, `1` an integer). */
  type: ValueTypeName;
}

const NULL = /^(?:~|null|Null|NULL)?$/;
const BOOL = /^(?:true|True|TRUE|false|False|FALSE)$/;
const INT_DEC = /^[-+]?[0-9]+$/;
const INT_OCT = /^0o[0-7]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const INF = /^([-+]?)\.(?:inf|Inf|INF)$/;
const NAN = /^\.(?:nan|NaN|NAN)$/;

/**
 * The typed value of a scalar under the YAML 1.2 core schema. Quoted and block scalars are always
 * strings; plain scalars may be null, booleans, integers (bigint beyond 2^53) or floats.
 */
export function resolveScalar(text: string, plain: boolean): TypedValue {
  if (!plain) return { value: text, type: "string" };
  if (NULL.test(text)) return { value: null, type: "null" };
  if (BOOL.test(text)) return { value: text[0] === "t" || text[0] === "T", type: "boolean" };
  if (INT_DEC.test(text)) return integer(BigInt(text));
  if (INT_OCT.test(text)) return integer(BigInt(text));
  if (INT_HEX.test(text)) return integer(BigInt(text));
  if (FLOAT.test(text)) return { value: Number(text), type: "float" };
  const inf = INF.exec(text);
  if (inf) return { value: inf[1] === "-" ? -Infinity : Infinity, type: "float" };
  if (NAN.test(text)) return { value: NaN, type: "float" };
  return { value: text, type: "string" };
}

function integer(n: bigint): TypedValue {
  const num = Number(n);
  return { value: Number.isSafeInteger(num) ? num : n, type: "integer" };
}

/** True when two typed values are the same value of the same type (NaN equals NaN). */
export function sameTypedValue(a: TypedValue, b: TypedValue): boolean {
  if (a.type !== b.type) return false;
  if (typeof a.value === "bigint" || typeof b.value === "bigint") {
    return String(a.value) === String(b.value);
  }
  return Object.is(a.value, b.value) || (a.value === 0 && b.value === 0 && a.type === "integer");
}

/** Where a rendered scalar goes: the column its key (or `- `) starts at, and flow context. */
export interface RenderContext {
  /** Column (0-based) of the key or sequence entry that holds the value. */
  keyColumn: number;
  /** True inside `{ }` or `[ ]`, where block scalars are not allowed. */
  flow: boolean;
}

/**
 * YAML source text for a value such that parsing it back gives the same typed value: plain when
 * safe, a literal block (`|`, `|-`) for multi-line strings outside flow context, else
 * double-quoted. Floats always carry a `.`/exponent so they stay floats.
 */
export function renderScalar(tv: TypedValue, ctx: RenderContext): string {
  const { value, type } = tv;
  switch (type) {
    case "null":
      return "null";
    case "boolean":
      return value ? "true" : "false";
    case "integer":
      return String(value);
    case "float":
      return renderFloat(value as number);
    case "string":
      return renderString(String(value), ctx);
  }
}

function renderFloat(n: number): string {
  if (Number.isNaN(n)) return ".nan";
  if (n === Infinity) return ".inf";
  if (n === -Infinity) return "-.inf";
  if (Object.is(n, -0)) return "-0.0";
  const s = String(n);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** Characters YAML does not allow unescaped (outside c-printable), plus CR. */
const NON_PRINTABLE =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u0008\u000b-\u001f\u007f-\u0084\u0086-\u009f\ud800-\udfff\ufffe\uffff]/u;
const NON_PRINTABLE_NO_LF =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u0009\u000b-\u001f\u007f-\u0084\u0086-\u009f\ufeff\ufffe\uffff]/;

function renderString(s: string, ctx: RenderContext): string {
  if (isPlainSafe(s, ctx.flow)) return s;
  if (!ctx.flow && s.includes("\n")) {
    const block = renderLiteral(s, ctx.keyColumn + 2);
    if (block !== undefined) return block;
  }
  return doubleQuote(s);
}

/** Plain only when it cannot be misread: no indicators, no `: ` or ` #`, not another type. */
export function isPlainSafe(s: string, flow: boolean): boolean {
  if (s === "" || s.trim() !== s) return false;
  if (NON_PRINTABLE_NO_LF.test(s) || s.includes("\n") || /\p{Zl}|\p{Zp}|\u0085/u.test(s)) {
    return false;
  }
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(s)) {
    // "-x", "?x", ":x" are plain in YAML 1.2, but keep it simple and quote them.
    return false;
  }
  if (s.includes(": ") || s.includes(" #") || s.endsWith(":") || s.includes("\t")) return false;
  if (flow && /[,[\]{}]/.test(s)) return false;
  return resolveScalar(s, true).type === "string";
}

/** A literal block scalar, or undefined when the string cannot be one faithfully. */
function renderLiteral(s: string, indent: number): string | undefined {
  if (/[\r]/.test(s) || NON_PRINTABLE.test(s.replaceAll("\n", "").replaceAll("\t", ""))) {
    return undefined;
  }
  let body = s;
  let chomp: string;
  if (body.endsWith("\n")) {
    body = body.slice(0, -1);
    // More than one trailing line break needs keep-chomping, which would also swallow the blank
    // lines that follow in the file: quote instead.
    if (body.endsWith("\n") || body === "") return undefined;
    chomp = "";
  } else {
    chomp = "-";
  }
  const lines = body.split("\n");
  // A first line starting with a space would need an indentation indicator.
  if (lines[0]!.startsWith(" ") || lines[0] === "") return undefined;
  const pad = " ".repeat(indent);
  return `|${chomp}\n` + lines.map((l) => (l === "" ? "" : pad + l)).join("\n");
}

/** A double-quoted YAML string with every non-printable character escaped. */
export function doubleQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0xfeff || c === 0x2028 || c === 0x2029) {
      out += `\\u${c.toString(16).padStart(4, "0")}`;
    } else out += ch;
  }
  return out + '"';
}

/** The typed value of a plain JS value (for `set`). */
export function typedValueOf(value: SecretValue): TypedValue {
  return { value, type: inferValueType(value) };
}
