/**
 * The one error type sealfig throws for conditions a caller is expected to handle.
 *
 * Every error carries a stable string `code` (see {@link ErrorCode}); callers and tests switch on
 * the code, never on message text. Messages say what failed, where (file:line:col and the value's
 * path when known) and what to do. They never contain a secret value, a data key or a key-encryption
 * key: callers must only pass non-secret facts (paths, key ids, counts) into a message.
 *
 * @module
 */

/** Every error code sealfig can throw, with the condition it stands for. */
export const ErrorCode = {
  /** The string is not a sealfig blob, or its fields are malformed, truncated or oversized. */
  BLOB_MALFORMED: "BLOB_MALFORMED",
  /** The blob declares a format version or algorithm this build does not know. */
  BLOB_UNSUPPORTED: "BLOB_UNSUPPORTED",
  /** Authentication failed: the blob was altered, moved to another path or context, or the key is wrong. */
  BLOB_AUTH_FAILED: "BLOB_AUTH_FAILED",
  /** The value cannot be sealed (unsupported type, too large). */
  VALUE_INVALID: "VALUE_INVALID",
  /** A value cannot be written as YAML text that reads back as the same value; nothing was written. */
  VALUE_NOT_REPRESENTABLE: "VALUE_NOT_REPRESENTABLE",
  /** A write would store in plaintext a value that was sealed (e.g. its `!secret` tag was removed). */
  VALUE_UNSEALED: "VALUE_UNSEALED",
  /** A path string does not follow the path syntax. */
  PATH_INVALID: "PATH_INVALID",
  /** No key provider is configured for the provider id a blob names. */
  PROVIDER_UNKNOWN: "PROVIDER_UNKNOWN",
  /** The key a blob or an option names is not available to its provider. */
  KEY_NOT_FOUND: "KEY_NOT_FOUND",
  /** A key file or key string is malformed. */
  KEY_INVALID: "KEY_INVALID",
  /** A key file is readable by other users. */
  KEY_FILE_PERMISSIONS: "KEY_FILE_PERMISSIONS",
  /**
   * None of the keys of a value (or record) sealed under several keys could open it here: each
   * was absent, refused or failed. The message names every key tried and its error code.
   */
  KEYS_UNAVAILABLE: "KEYS_UNAVAILABLE",
  /**
   * `rewrap --remove-key` names a key no value of the file has, or `--add-key` a key every value
   * already has: the command would change nothing, so it writes nothing.
   */
  REWRAP_NO_CHANGE: "REWRAP_NO_CHANGE",
  /** A key provider could not unwrap a data key (wrong key, wrong context, corrupted wrapped key). */
  DEK_UNWRAP_FAILED: "DEK_UNWRAP_FAILED",
  /** A key provider failed for another reason (see the message and `cause`). */
  PROVIDER_FAILED: "PROVIDER_FAILED",
  /** An option passed to a sealfig function is invalid. */
  OPTION_INVALID: "OPTION_INVALID",
  /**
   * A data key or integrity record does not open with the encryption context (or key) it was given:
   * the file was sealed with another context or key (or the wrapped key was altered). The message
   * shows the context's keys and values.
   */
  CONTEXT_MISMATCH: "CONTEXT_MISMATCH",
  /** The rules file (`.sealfig.yaml`) is unreadable or invalid. */
  RULES_INVALID: "RULES_INVALID",
  /** `sealfig edit`: the file changed on disk during the edit; the edit was saved elsewhere. */
  EDIT_CONFLICT: "EDIT_CONFLICT",
  // --- AWS KMS provider (src/keys/aws_kms.ts) ---
  /** KMS refused the call: the caller's IAM identity lacks the permission (kms:Decrypt, …) on the key. */
  KMS_ACCESS_DENIED: "KMS_ACCESS_DENIED",
  /** The KMS key (or alias) does not exist in that account and region. */
  KMS_KEY_NOT_FOUND: "KMS_KEY_NOT_FOUND",
  /** The KMS key is disabled. */
  KMS_KEY_DISABLED: "KMS_KEY_DISABLED",
  /** The KMS key is in a state that does not allow the call (pending deletion, pending import …). */
  KMS_INVALID_STATE: "KMS_INVALID_STATE",
  /** KMS could not decrypt the wrapped key: wrong encryption context, or the wrapped key is corrupted. */
  KMS_INVALID_CIPHERTEXT: "KMS_INVALID_CIPHERTEXT",
  /** The wrapped key was made under a different KMS key than the one named. */
  KMS_INCORRECT_KEY: "KMS_INCORRECT_KEY",
  /** The KMS key cannot be used for this operation (not a symmetric encryption key). */
  KMS_INVALID_KEY_USAGE: "KMS_INVALID_KEY_USAGE",
  /** No AWS credentials were found by the SDK's credential chain. */
  KMS_CREDENTIALS_MISSING: "KMS_CREDENTIALS_MISSING",
  /** AWS rejected the credentials (unknown access key, bad signature, expired token). */
  KMS_CREDENTIALS_INVALID: "KMS_CREDENTIALS_INVALID",
  /** No AWS region could be determined for the key, or the region is unknown. */
  KMS_REGION_UNKNOWN: "KMS_REGION_UNKNOWN",
  /** KMS kept throttling the calls until the retry budget was exhausted. */
  KMS_THROTTLED: "KMS_THROTTLED",
  /** KMS kept failing with transient errors (5xx, network) until the retry budget was exhausted. */
  KMS_UNAVAILABLE: "KMS_UNAVAILABLE",
  /** A KMS call did not complete within its deadline. */
  KMS_DEADLINE_EXCEEDED: "KMS_DEADLINE_EXCEEDED",
  /** KMS rejected the request as malformed (ValidationException and similar). */
  KMS_REQUEST_INVALID: "KMS_REQUEST_INVALID",
  // --- Sealed YAML documents and the config loader (src/document, src/config) ---
  /** A file to read does not exist (or is not a regular file). */
  FILE_NOT_FOUND: "FILE_NOT_FOUND",
  /** A file is larger than the configured size limit (checked before reading it). */
  FILE_TOO_LARGE: "FILE_TOO_LARGE",
  /** A file is not valid UTF-8. */
  FILE_NOT_UTF8: "FILE_NOT_UTF8",
  /** A file exists but could not be read (permissions, I/O error). */
  FILE_READ_FAILED: "FILE_READ_FAILED",
  /** The YAML does not parse (syntax, tab indentation, several documents in one file …). */
  YAML_SYNTAX: "YAML_SYNTAX",
  /**
   * The YAML uses a construct sealfig does not read because its meaning could differ from what
   * the integrity record covers: a `%YAML`/`%TAG` directive, a YAML 1.1 or custom tag, a quoted or
   * tagged `<<` key (docs/format.md §9.3).
   */
  YAML_UNSUPPORTED: "YAML_UNSUPPORTED",
  /** A YAML map has the same key twice. */
  YAML_DUPLICATE_KEY: "YAML_DUPLICATE_KEY",
  /** Alias expansion exceeded the limit (a "billion laughs" document). */
  YAML_ALIAS_LIMIT: "YAML_ALIAS_LIMIT",
  /** A document exceeds a structural limit (tokens, nodes, keys in one map): parsing is bounded. */
  YAML_LIMIT: "YAML_LIMIT",
  /** A map key has invisible or bidi control characters, is not NFC, or mixes scripts. */
  YAML_KEY_CONFUSABLE: "YAML_KEY_CONFUSABLE",
  /** A `!secret` tag is where it cannot be honoured: on a map, a sequence, a key or an alias. */
  YAML_SECRET_TAG: "YAML_SECRET_TAG",
  /** A value tagged `!secret` was found unsealed where only sealed values are accepted. */
  SECRET_UNSEALED: "SECRET_UNSEALED",
  /** No value exists at the given path. */
  PATH_NOT_FOUND: "PATH_NOT_FOUND",
  /** The path cannot be set: it runs through a scalar, or addresses a map or sequence as a value. */
  PATH_CONFLICT: "PATH_CONFLICT",
  /** An environment variable cannot be mapped onto the config (ambiguous or conflicting name). */
  ENV_INVALID: "ENV_INVALID",
  /**
   * A `.env` file is outside the dotenv language sealfig reads (a line that is not `NAME=value`,
   * a comment or blank; an unclosed quote, an unknown escape, a `#` inside an unquoted value, a
   * name set twice): docs/config.md, ".env files".
   */
  ENV_SYNTAX: "ENV_SYNTAX",
  /**
   * A `.json` file is not strict JSON (RFC 8259: comments, trailing commas, single quotes,
   * `NaN`, leading zeros, raw control characters in strings …): docs/config.md, "JSON files".
   */
  JSON_SYNTAX: "JSON_SYNTAX",
  /**
   * A `.json` file is valid JSON whose meaning could differ between sealfig and another reader:
   * a key twice in one object, a lone surrogate, a number beyond the float range, the integer
   * `-0`, the key `"<<"`: docs/config.md, "JSON files".
   */
  JSON_UNSUPPORTED: "JSON_UNSUPPORTED",
  /**
   * A plaintext environment variable (or `.env` entry) would replace a value that is sealed in a
   * lower layer; allow it with `env.plaintextOverSealed: "allow"`.
   */
  ENV_SEALED_OVERRIDE: "ENV_SEALED_OVERRIDE",
  /**
   * `sealfig run`: a variable made from the config has the name of one the child would inherit
   * (`PATH`, `LD_PRELOAD`, `NODE_OPTIONS` …); allowed only by `--override NAME`.
   */
  RUN_ENV_COLLISION: "RUN_ENV_COLLISION",
  /** The loaded config does not satisfy the schema (see `ConfigValidationError.issues`). */
  CONFIG_INVALID: "CONFIG_INVALID",
  /** The local KMS server's state file cannot be read or is corrupt. */
  STATE_FILE_INVALID: "STATE_FILE_INVALID",
  // --- Key allowlist and whole-file integrity (src/keys/allowlist.ts, src/integrity) ---
  /** A blob or integrity record names a key that is not trusted (checked before any provider call). */
  KEY_UNTRUSTED: "KEY_UNTRUSTED",
  /** A file has no integrity record (`sealfig_integrity`) where one is required. */
  INTEGRITY_MISSING: "INTEGRITY_MISSING",
  /** A file's integrity record does not match its content: it was changed outside sealfig. */
  INTEGRITY_INVALID: "INTEGRITY_INVALID",
  /** A file's integrity record is not a well-formed `sealfig-mac:v2:` (or `v3:`, `v1:`) record. */
  INTEGRITY_MALFORMED: "INTEGRITY_MALFORMED",
  /**
   * A file's record is of a version that cannot cover its content exactly: a v1 record over a
   * plain integer beyond ±(2^53−1) (docs/format.md §9.4).
   */
  INTEGRITY_UNSUPPORTED: "INTEGRITY_UNSUPPORTED",
  /** A file's integrity record is valid but older than the pinned minimum generation. */
  INTEGRITY_ROLLBACK: "INTEGRITY_ROLLBACK",
  /**
   * The runtime denied an access sealfig (or a library it uses) needed: a Deno permission
   * (`--allow-env`, `--allow-read`, `--allow-net` …) or Node's permission model. The message names
   * the permission and what was asked for; the hint, the flag that grants it.
   */
  PERMISSION_DENIED: "PERMISSION_DENIED",
} as const;

/** A stable error code: the union of the values of {@link ErrorCode}. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/** Where in which file an error happened. All fields are optional; none is ever a secret. */
export interface ErrorLocation {
  /** The file the value came from. */
  file?: string;
  /** 1-based line in that file. */
  line?: number;
  /** 1-based column in that file. */
  col?: number;
  /** The value's path in the document, in sealfig path syntax (e.g. `db.password`). */
  path?: string;
}

/** Options for {@link SealfigError}. */
export interface SealfigErrorOptions extends ErrorLocation {
  /** The key id involved, if any (key ids and ARNs are not secret). */
  keyId?: string;
  /** What the user can do about it, one sentence. */
  hint?: string;
  /** The underlying error. Never pass an error whose message could contain a secret. */
  cause?: unknown;
}

/**
 * An error with a stable `code`, an optional location and a hint, safe to log.
 *
 * @example Switch on the code
 * ```ts
 * import { SealfigError } from "@sealfig/sealfig";
 * import { decryptValue } from "@sealfig/sealfig/document";
 * try {
 *   await decryptValue("sealfig:v1:AAAA", { providers: [], path: "db.password" });
 * } catch (err) {
 *   if (err instanceof SealfigError && err.code === "BLOB_MALFORMED") console.error(err.message);
 * }
 * ```
 */
export class SealfigError extends Error {
  /** The stable error code. */
  readonly code: ErrorCode;
  /** What failed, without location or hint. */
  readonly reason: string;
  /** File the error is about, if known. */
  readonly file: string | undefined;
  /** 1-based line, if known. */
  readonly line: number | undefined;
  /** 1-based column, if known. */
  readonly col: number | undefined;
  /** The value's path, if known. */
  readonly path: string | undefined;
  /** The key id involved, if any. */
  readonly keyId: string | undefined;
  /** What to do about it. */
  readonly hint: string | undefined;

  /**
   * Create an error; the message is `reason` with the location and hint from `options` added.
   *
   * @param code the stable code
   * @param reason what failed, without location (that is added from `options`)
   * @param options location, key id, hint and cause
   */
  constructor(code: ErrorCode, reason: string, options: SealfigErrorOptions = {}) {
    super(
      formatMessage(reason, options),
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.name = "SealfigError";
    this.code = code;
    this.reason = reason;
    this.file = options.file;
    this.line = options.line;
    this.col = options.col;
    this.path = options.path;
    this.keyId = options.keyId;
    this.hint = options.hint;
  }

  /**
   * A copy of this error with location fields filled in where this one has none. A line and
   * column are only taken together with their file: an error about another file (a key file met
   * while opening a value) never gets the value's line and column.
   */
  withLocation(location: SealfigErrorOptions): SealfigError {
    const mine: SealfigErrorOptions = {};
    const otherFile = this.file !== undefined && location.file !== undefined &&
      location.file !== this.file;
    for (const k of ["file", "line", "col", "path", "keyId", "hint"] as const) {
      const v = this[k] ?? ((k === "line" || k === "col") && otherFile ? undefined : location[k]);
      if (v !== undefined) (mine as Record<string, unknown>)[k] = v;
    }
    if (this.cause !== undefined) mine.cause = this.cause;
    const copy = new SealfigError(this.code, this.reason, mine);
    return copy;
  }

  /** A JSON form for structured logs: code, message and location, never a value. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: this.name,
      code: this.code,
      message: this.message,
    };
    for (const k of ["file", "line", "col", "path", "keyId", "hint"] as const) {
      if (this[k] !== undefined) out[k] = this[k];
    }
    return out;
  }
}

function formatMessage(reason: string, o: SealfigErrorOptions): string {
  let where = "";
  if (o.file !== undefined) {
    where = o.file;
    if (o.line !== undefined) where += `:${o.line}${o.col !== undefined ? `:${o.col}` : ""}`;
  }
  if (o.path !== undefined) where += `${where ? " " : ""}at "${o.path}"`;
  let msg = where ? `${where}: ${reason}` : reason;
  if (o.keyId !== undefined && !reason.includes(o.keyId)) msg += ` (key ${o.keyId})`;
  if (o.hint !== undefined) msg += `. ${o.hint}`;
  return msg;
}

/**
 * True when `err` is a {@link SealfigError}, optionally with the given code.
 *
 * @example
 * ```ts
 * import { isSealfigError, loadConfig } from "@sealfig/sealfig";
 * try {
 *   await loadConfig({ files: ["config/app.yaml"] });
 * } catch (err) {
 *   if (isSealfigError(err, "KEY_UNTRUSTED")) console.error(err.message, err.hint);
 *   else throw err;
 * }
 * ```
 */
export function isSealfigError(err: unknown, code?: ErrorCode): err is SealfigError {
  return err instanceof SealfigError && (code === undefined || err.code === code);
}
