/**
 * Document sources: bytes → text with the checks every sealed file gets before YAML sees it
 * (size limit, strict UTF-8, BOM and line endings remembered so a write gives the same bytes back).
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import { hostErrorCode, permissionDenied, readFileBytes, statFile } from "../runtime.ts";

/** Default size limit for one document: 10 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;

/** Decoded document text plus what is needed to write it back byte for byte. */
export interface DecodedSource {
  /** The text with `\n` line endings (when the file was uniformly CRLF) and without a BOM. */
  text: string;
  /** True when the file started with a UTF-8 byte order mark. */
  bom: boolean;
  /** `"\r\n"` when every line break in the file was CRLF, else `"\n"`. */
  lineEnding: "\n" | "\r\n";
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decode document bytes strictly as UTF-8. Throws `FILE_NOT_UTF8` naming the line and column of
 * the first invalid byte.
 */
export function decodeSource(bytes: Uint8Array, file?: string): DecodedSource {
  let text: string;
  try {
    text = strictDecoder.decode(bytes);
  } catch {
    const { line, col } = firstInvalidUtf8(bytes);
    throw new SealfigError("FILE_NOT_UTF8", "File is not valid UTF-8", {
      ...(file !== undefined ? { file } : {}),
      line,
      col,
      hint: "Save the file as UTF-8",
    });
  }
  return normalizeText(text);
}

/** Split a BOM and uniform CRLF line endings off a string (see {@link DecodedSource}). */
export function normalizeText(text: string): DecodedSource {
  let bom = false;
  if (text.charCodeAt(0) === 0xfeff) {
    bom = true;
    text = text.slice(1);
  }
  let lineEnding: "\n" | "\r\n" = "\n";
  if (text.includes("\r\n") && !/(^|[^\r])\n/.test(text)) {
    lineEnding = "\r\n";
    text = text.replaceAll("\r\n", "\n");
  }
  return { text, bom, lineEnding };
}

/** Put BOM and line endings back (the inverse of {@link normalizeText}). */
export function restoreText(source: Omit<DecodedSource, "text">, text: string): string {
  const body = source.lineEnding === "\r\n" ? text.replaceAll("\n", "\r\n") : text;
  return source.bom ? `\ufeff${body}` : body;
}

/** Options for {@link readSourceFile}. */
export interface ReadSourceOptions {
  /** Refuse files larger than this many bytes. Default {@link DEFAULT_MAX_FILE_BYTES} (10 MiB). */
  maxBytes?: number;
}

/**
 * Read a document file: stat first and refuse a missing file (`FILE_NOT_FOUND`) or one over the
 * size limit (`FILE_TOO_LARGE`) before reading a byte, then decode strictly.
 */
export async function readSourceFile(
  file: string,
  options: ReadSourceOptions = {},
): Promise<DecodedSource> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  let info;
  try {
    info = await statFile(file);
  } catch (err) {
    throw readFailed(file, err);
  }
  if (!info || !info.isFile) {
    throw new SealfigError(
      "FILE_NOT_FOUND",
      info ? "Not a regular file" : "File does not exist",
      { file, hint: "Check the path (relative paths resolve against the working directory)" },
    );
  }
  if (info.size > maxBytes) throw tooLarge(file, info.size, maxBytes);
  let bytes: Uint8Array;
  try {
    bytes = await readFileBytes(file);
  } catch (err) {
    throw readFailed(file, err);
  }
  // The file may have grown between stat and read.
  if (bytes.byteLength > maxBytes) throw tooLarge(file, bytes.byteLength, maxBytes);
  return decodeSource(bytes, file);
}

function tooLarge(file: string, size: number, max: number): SealfigError {
  return new SealfigError(
    "FILE_TOO_LARGE",
    `File is ${size} bytes, more than the limit of ${max} bytes`,
    { file, hint: "Split the file, or raise the maxFileBytes option if this is intended" },
  );
}

/** What each operating-system error code means for reading a file, and what to do about it. */
const READ_HINTS: Readonly<Record<string, string>> = {
  EACCES: "The operating system denies this user reading it: check the file's permissions",
  EPERM: "The operating system does not permit reading it: check the file's permissions",
  EISDIR: "It is a directory: name a file",
  ELOOP: "Too many symbolic links: check where the links point",
  EMFILE: "This process has too many files open",
  EIO: "The disk or file system reported an I/O error",
};

/**
 * A failed read, reported as what the host said: a runtime permission denial as
 * `PERMISSION_DENIED`, else `FILE_READ_FAILED` with the system's error code and, for the codes
 * whose meaning is known, what it means (no hint guesses a cause it was not told).
 */
function readFailed(file: string, err: unknown): SealfigError {
  const denied = permissionDenied(err);
  if (denied) return denied.withLocation({ file });
  const code = hostErrorCode(err);
  const hint = code === undefined ? undefined : READ_HINTS[code];
  return new SealfigError(
    "FILE_READ_FAILED",
    `Cannot read file (${code ?? (err instanceof Error ? err.name : "unknown error")})`,
    { file, ...(hint ? { hint } : {}), cause: err },
  );
}

/**
 * An error the YAML parser threw that is not a finding of sealfig's own checks, reported as what
 * it is: a runtime permission denial (the yaml library reads `LOG_TOKENS` and `LOG_STREAM` from
 * the environment) as `PERMISSION_DENIED`; the parser running out of stack as too deep nesting;
 * anything else as a parser failure naming the error's class (never its message, which may quote
 * the file).
 */
export function parserFailure(err: unknown, file: string | undefined): SealfigError {
  const at = file !== undefined ? { file } : {};
  const denied = permissionDenied(err);
  if (denied) return denied.withLocation(at);
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return new SealfigError(
      "YAML_SYNTAX",
      "The YAML is nested too deeply: the parser ran out of stack",
      { ...at, hint: "Flatten the structure", cause: err },
    );
  }
  return new SealfigError(
    "YAML_SYNTAX",
    `The YAML parser failed (${err instanceof Error ? err.name : typeof err})`,
    { ...at, cause: err },
  );
}

/** Line and column (1-based, column in bytes) of the first byte that is not valid UTF-8. */
function firstInvalidUtf8(bytes: Uint8Array): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let n = 0;
    let min = 0;
    if (b < 0x80) {
      if (b === 0x0a) {
        line++;
        lineStart = i + 1;
      }
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else {
      break;
    }
    let cp = b & (0x3f >> n);
    let ok = i + n < bytes.length;
    for (let k = 1; ok && k <= n; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) ok = false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (!ok || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) break;
    i += n + 1;
  }
  return { line, col: i - lineStart + 1 };
}
