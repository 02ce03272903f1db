/**
 * Stable exit codes of the `sealfig` command (documented in the README). Scripts and CI may
 * rely on them.
 *
 * @module
 */
import type { ErrorCode } from "../errors.ts";

/** Exit codes by meaning. */
export const ExitCode = {
  /** Success. */
  OK: 0,
  /** An unexpected internal error (a bug: please report it). */
  INTERNAL: 1,
  /** Wrong command-line usage. */
  USAGE: 2,
  /** Bad input: file missing, not YAML, malformed blob, too large, invalid rules file. */
  INPUT: 3,
  /**
   * A value or file did not authenticate, or is sealed under a key nobody trusted: altered,
   * moved, sealed for another context, or injected (`KEY_UNTRUSTED`, `INTEGRITY_*`).
   */
  DECRYPT: 4,
  /** A key or key provider problem: key missing or malformed, permissions, KMS denied or unavailable. */
  KEY: 5,
  /** `check` found problems (plaintext secrets, unsealed tags, malformed blobs). */
  CHECK_FAILED: 6,
  /** The config does not match its schema. */
  SCHEMA: 7,
  /** The file changed on disk during `edit`; the edit was saved elsewhere. */
  CONFLICT: 8,
  /** `edit` was aborted: the editor failed or the user gave up; nothing was changed. */
  ABORTED: 9,
  /** Interrupted by SIGINT (128 + 2). */
  INTERRUPTED: 130,
  /** Terminated by SIGTERM (128 + 15), e.g. `edit` stopped by a supervisor. */
  TERMINATED: 143,
} as const;

/** An exit code value. */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode];

/** The exit code for an error code. */
export function exitCodeFor(code: ErrorCode | string): ExitCode {
  // An untrusted key is a content problem (someone else sealed the value, or the rules forgot a
  // key): like a blob that does not authenticate, not like a missing key.
  if (code === "KEY_UNTRUSTED") return ExitCode.DECRYPT;
  if (
    code.startsWith("KMS_") || code.startsWith("KEY_") || code === "KEYS_UNAVAILABLE" ||
    code === "PROVIDER_UNKNOWN" ||
    code === "PROVIDER_FAILED"
  ) {
    return ExitCode.KEY;
  }
  if (
    code === "BLOB_AUTH_FAILED" || code === "DEK_UNWRAP_FAILED" || code.startsWith("INTEGRITY_") ||
    code === "CONTEXT_MISMATCH"
  ) {
    return ExitCode.DECRYPT;
  }
  if (code === "SCHEMA_INVALID" || code === "CONFIG_INVALID") return ExitCode.SCHEMA;
  if (code === "EDIT_CONFLICT") return ExitCode.CONFLICT;
  if (code === "OPTION_INVALID" || code === "REWRAP_NO_CHANGE") return ExitCode.USAGE;
  return ExitCode.INPUT;
}
