/**
 * Typed values <-> plaintext bytes. The type is recorded in the blob header; the plaintext holds
 * the value's canonical text:
 * - string: the UTF-8 bytes, unchanged (any length up to 1 MiB, multi-line, NUL included)
 * - integer: decimal, `-?(0|[1-9][0-9]*)`; decrypts to a `number` when safe, else a `bigint`
 * - float: JavaScript's shortest round-trip text, or `NaN`, `Infinity`, `-Infinity`, `-0`
 * - boolean: `true` or `false`
 * - null: empty
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import { type Bytes, fromUtf8, utf8 } from "../crypto/bytes.ts";
import { MAX_PLAINTEXT, type ValueTypeName } from "./format.ts";

/** A value sealfig can seal: what YAML scalars hold. */
export type SecretValue = string | number | bigint | boolean | null;

const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const FLOAT = /^(NaN|-?Infinity|-0|-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)$/;

/** The type a value is sealed as, unless the caller says otherwise. */
export function inferValueType(value: SecretValue): ValueTypeName {
  switch (typeof value) {
    case "string":
      return "string";
    case "bigint":
      return "integer";
    case "boolean":
      return "boolean";
    case "number":
      // A number beyond 2^53 is sealed as a float: as an integer it would come back as a bigint.
      return Number.isSafeInteger(value) && !Object.is(value, -0) ? "integer" : "float";
    default:
      if (value === null) return "null";
      throw invalid(`cannot seal a value of type ${typeof value}`);
  }
}

function invalid(why: string): SealfigError {
  return new SealfigError("VALUE_INVALID", `Cannot seal value: ${why}`);
}

/** Encode a value as plaintext bytes for the given type. Throws `VALUE_INVALID`. */
export function encodeValue(value: SecretValue, type: ValueTypeName): Bytes {
  let text: string;
  switch (type) {
    case "string":
      if (typeof value !== "string") throw invalid("expected a string");
      text = value;
      break;
    case "integer":
      if (typeof value === "bigint") text = value.toString();
      else if (typeof value === "number" && Number.isInteger(value)) {
        // String(1e21) is "1e+21", which no integer reader accepts: write the digits.
        text = Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
      } else throw invalid("expected an integer");
      break;
    case "float":
      if (typeof value !== "number") throw invalid("expected a number");
      text = Object.is(value, -0) ? "-0" : String(value);
      break;
    case "boolean":
      if (typeof value !== "boolean") throw invalid("expected a boolean");
      text = String(value);
      break;
    case "null":
      if (value !== null) throw invalid("expected null");
      text = "";
      break;
  }
  const bytes = utf8(text);
  if (bytes.length > MAX_PLAINTEXT) throw invalid(`larger than ${MAX_PLAINTEXT} bytes`);
  if (typeof value === "string" && fromUtf8(bytes) !== value) {
    throw invalid("the string is not valid Unicode (lone surrogate)");
  }
  return bytes;
}

/** Decode authenticated plaintext bytes. Returns undefined when they do not fit the type. */
export function decodeValue(bytes: Uint8Array, type: ValueTypeName): SecretValue | undefined {
  const text = fromUtf8(bytes);
  if (text === undefined) return undefined;
  switch (type) {
    case "string":
      return text;
    case "integer": {
      if (!INTEGER.test(text)) return undefined;
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : BigInt(text);
    }
    case "float":
      return FLOAT.test(text) ? Number(text) : undefined;
    case "boolean":
      return text === "true" ? true : text === "false" ? false : undefined;
    case "null":
      return text === "" ? null : undefined;
  }
}
