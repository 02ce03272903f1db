/**
 * Classifying AWS SDK errors (retry or not) and turning the final ones into {@link SealfigError}s
 * with a code per condition, the key ARN and a hint. Messages carry only non-secret facts: the
 * operation, the key ARN, the encryption context (non-secret by contract: KMS logs it in
 * CloudTrail) and AWS's own error message for access and validation errors. Never key material.
 *
 * @module
 */
import { type ErrorCode, SealfigError } from "../errors.ts";
import { permissionDenied } from "../runtime.ts";
import type { EncryptionContext } from "./key_provider.ts";

/** How a failed attempt is handled. */
export type KmsFailureKind = "throttled" | "transient" | "final";

const THROTTLE_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
]);

const TRANSIENT_NAMES = new Set([
  "KMSInternalException",
  "DependencyTimeoutException",
  "KeyUnavailableException",
  "InternalFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
]);

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "UND_ERR_SOCKET",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

interface SdkLikeError {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
  $response?: { statusCode?: unknown };
}

function fields(err: unknown): SdkLikeError {
  return typeof err === "object" && err !== null ? err as SdkLikeError : {};
}

/** The error's name (`ThrottlingException` …), or its host code for network errors. */
export function errorName(err: unknown): string {
  const e = fields(err);
  return typeof e.name === "string" ? e.name : "Error";
}

function httpStatus(err: unknown): number | undefined {
  const e = fields(err);
  const s = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  return typeof s === "number" ? s : undefined;
}

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 4; depth++) {
    const code = fields(e).code;
    if (typeof code === "string" && (NETWORK_CODES.has(code) || code === "ENOTFOUND")) return code;
    e = fields(e).cause;
  }
  const msg = fields(err).message;
  if (
    typeof msg === "string" && /socket hang up|connection (was )?reset|other side closed/i.test(msg)
  ) {
    return "ECONNRESET";
  }
  return undefined;
}

/**
 * True when the SDK could not parse KMS's answer (a body that is not KMS JSON, or fields of the
 * wrong shape). Such an error's message may quote the response body, which can hold a plaintext
 * data key (a truncated `Decrypt` answer): only fixed text is ever taken from it.
 */
export function isUnparsableResponse(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  if (errorName(err) === "SyntaxError" || "$responseBodyText" in err) return true;
  // The SDK marks deserialization failures with the raw `$response`, service errors with `$metadata`.
  if ("$response" in err && !("$metadata" in err)) return true;
  const m = fields(err).message;
  return typeof m === "string" && m.includes("Deserialization error");
}

/** A short, non-secret description of a failed attempt: the error name, or the HTTP status. */
export function describeFailure(err: unknown): string {
  const name = errorName(err);
  const status = httpStatus(err);
  if (status !== undefined && (name === "SyntaxError" || name === "Error" || name === "Unknown")) {
    return `HTTP ${status}`;
  }
  // A network failure by its code (ECONNREFUSED …): "Error" would name nothing.
  const net = networkCode(err);
  return net !== undefined && (name === "TimeoutError" || name === "Error") ? net : name;
}

/** Retry throttling and transient faults (named 5xx-style errors, any 5xx, network errors). */
export function classifyKmsError(err: unknown): KmsFailureKind {
  const name = errorName(err);
  const status = httpStatus(err);
  if (THROTTLE_NAMES.has(name) || status === 429) return "throttled";
  if (TRANSIENT_NAMES.has(name)) return "transient";
  if (status !== undefined && status >= 500) return "transient";
  const net = networkCode(err);
  if (net !== undefined && net !== "ENOTFOUND") return "transient";
  return "final";
}

/** What the provider was doing when the error happened. */
export interface KmsErrorContext {
  /** The KMS operation: GenerateDataKey, Decrypt, ReEncrypt. */
  operation: string;
  /** The key reference (the ARN when known). */
  keyId: string;
  /** The encryption context sent. */
  context: EncryptionContext;
  /** Attempts made so far. */
  attempts: number;
  /** The destination key of a ReEncrypt. */
  toKeyId?: string;
}

/** The IAM action a KMS operation needs. */
function action(op: string): string {
  return op === "ReEncrypt" ? "ReEncryptFrom/kms:ReEncryptTo" : op;
}

function awsMessage(err: unknown): string {
  if (isUnparsableResponse(err)) return "";
  const m = fields(err).message;
  if (typeof m !== "string" || m === "" || m === "UnknownError") return "";
  return m.length > 400 ? `${m.slice(0, 400)}…` : m;
}

/**
 * A cause that is safe to keep on the error: the SDK error's name, message and request id only
 * (SDK errors also carry the raw HTTP response, which we do not keep).
 */
function safeCause(err: unknown): Error {
  const status = httpStatus(err);
  const e = new Error(
    isUnparsableResponse(err)
      ? `${status !== undefined ? `HTTP ${status} with a` : "A"} body that is not KMS JSON`
      : awsMessage(err) || errorName(err),
  );
  e.name = describeFailure(err);
  const requestId = fields(err).$metadata?.requestId;
  if (typeof requestId === "string") (e as Error & { requestId?: string }).requestId = requestId;
  const code = networkCode(err);
  if (code) (e as Error & { code?: string }).code = code;
  return e;
}

function make(code: ErrorCode, reason: string, ctx: KmsErrorContext, hint: string, err: unknown) {
  return new SealfigError(code, reason, { keyId: ctx.keyId, hint, cause: safeCause(err) });
}

/** Map a final (non-retried) SDK error to a typed sealfig error. */
export function mapKmsError(err: unknown, ctx: KmsErrorContext): SealfigError {
  if (err instanceof SealfigError) return err;
  // The runtime refused the SDK something (Deno: an environment variable, a file, the host).
  const denied = permissionDenied(err);
  if (denied) return denied.withLocation({ keyId: ctx.keyId });
  const name = errorName(err);
  const op = ctx.operation;
  const arn = ctx.keyId;
  if (isUnparsableResponse(err)) {
    const status = httpStatus(err);
    return make(
      "PROVIDER_FAILED",
      `KMS ${op} with key ${arn} returned an answer that is not KMS JSON${
        status !== undefined ? ` (HTTP ${status})` : ""
      }`,
      ctx,
      "Check that the endpoint is AWS KMS (or a compatible server)",
      err,
    );
  }
  const ctxJson = JSON.stringify(ctx.context);
  switch (name) {
    case "AccessDeniedException": {
      const msg = awsMessage(err);
      return make(
        "KMS_ACCESS_DENIED",
        `KMS denied ${op} with key ${arn}${msg ? `: ${msg}` : ""}`,
        ctx,
        `Grant kms:${action(op)} on ${arn}${
          ctx.toKeyId ? ` and ${ctx.toKeyId}` : ""
        } to the calling ` +
          `identity, with any kms:EncryptionContext conditions matching the encryption context ${ctxJson}`,
        err,
      );
    }
    case "NotFoundException":
    case "InvalidArnException":
      return make(
        "KMS_KEY_NOT_FOUND",
        `KMS key ${arn} was not found${ctx.toKeyId ? ` (or ${ctx.toKeyId})` : ""}`,
        ctx,
        "Check the key id, alias, account and region (aws kms describe-key --key-id ...)",
        err,
      );
    case "DisabledException":
      return make(
        "KMS_KEY_DISABLED",
        `KMS key ${arn} is disabled`,
        ctx,
        `Enable it (aws kms enable-key --key-id ${arn}) or re-wrap the values to another key`,
        err,
      );
    case "KMSInvalidStateException":
      return make(
        "KMS_INVALID_STATE",
        `KMS key ${arn} cannot be used in its current state${
          awsMessage(err) ? ` (${awsMessage(err)})` : ""
        }`,
        ctx,
        `If it is pending deletion, cancel the deletion (aws kms cancel-key-deletion --key-id ${arn}) and enable it`,
        err,
      );
    case "InvalidCiphertextException":
      return make(
        "KMS_INVALID_CIPHERTEXT",
        `KMS could not decrypt the wrapped data key with key ${arn}: the encryption context differs ` +
          `from the one it was sealed with, or the wrapped key is corrupted`,
        ctx,
        `Check that the value was sealed for this file and environment (encryption context ${ctxJson}) and was not edited`,
        err,
      );
    case "IncorrectKeyException":
      return make(
        "KMS_INCORRECT_KEY",
        `The wrapped data key was not made under KMS key ${arn}`,
        ctx,
        "The blob names a different key than the one that wrapped it; re-seal the value",
        err,
      );
    case "InvalidKeyUsageException":
    case "UnsupportedOperationException":
      return make(
        "KMS_INVALID_KEY_USAGE",
        `KMS key ${arn} cannot be used for ${op}`,
        ctx,
        "Use a symmetric encryption key (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT)",
        err,
      );
    case "CredentialsProviderError":
      return make(
        "KMS_CREDENTIALS_MISSING",
        `No AWS credentials found for ${op} with key ${arn}`,
        ctx,
        "Set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with an IAM role",
        err,
      );
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "SignatureDoesNotMatch":
    case "IncompleteSignatureException":
    case "MissingAuthenticationTokenException":
    case "InvalidClientTokenId":
    case "ExpiredTokenException":
    case "ExpiredToken":
      return make(
        "KMS_CREDENTIALS_INVALID",
        `AWS rejected the credentials for ${op} with key ${arn} (${name})`,
        ctx,
        "Refresh the credentials (aws sso login, a new session token) or check AWS_PROFILE",
        err,
      );
    case "ValidationException":
    case "SerializationException": {
      const msg = awsMessage(err);
      return make(
        "KMS_REQUEST_INVALID",
        `KMS rejected the ${op} request for key ${arn}${msg ? `: ${msg}` : ""}`,
        ctx,
        "Check the key reference and the encryption context",
        err,
      );
    }
  }
  const message = awsMessage(err);
  if (name === "Error" && /Region is missing|Invalid region|region/i.test(message)) {
    return make(
      "KMS_REGION_UNKNOWN",
      `No usable AWS region for key ${arn}: ${message}`,
      ctx,
      "Use a full key ARN, pass the region option, or set AWS_REGION",
      err,
    );
  }
  if (networkCode(err) === "ENOTFOUND") {
    return make(
      "KMS_UNAVAILABLE",
      `Cannot reach KMS for key ${arn}: the endpoint host name does not resolve`,
      ctx,
      "Check the region in the key ARN and any endpoint override (AWS_ENDPOINT_URL_KMS)",
      err,
    );
  }
  return make(
    "PROVIDER_FAILED",
    `KMS ${op} with key ${arn} failed (${name}${message ? `: ${message}` : ""})`,
    ctx,
    "The cause is the SDK's error, by its name and message",
    err,
  );
}

/** The retry budget ran out while KMS kept throttling or failing. */
export function budgetExhausted(
  kind: KmsFailureKind,
  err: unknown,
  ctx: KmsErrorContext,
): SealfigError {
  if (kind === "throttled") {
    return make(
      "KMS_THROTTLED",
      `KMS kept throttling ${ctx.operation} with key ${ctx.keyId} (${ctx.attempts} attempts)`,
      ctx,
      "Lower the concurrency, cache data keys longer, or raise the KMS request quota for the account",
      err,
    );
  }
  return make(
    "KMS_UNAVAILABLE",
    `KMS kept failing ${ctx.operation} with key ${ctx.keyId} (${ctx.attempts} attempts, last: ${
      describeFailure(err)
    })`,
    ctx,
    "Check network access to KMS and the AWS service health for the region, then retry",
    err,
  );
}

/** The overall deadline passed while a request was outstanding or waiting for a slot. */
export function deadlineExceeded(deadlineMs: number, ctx: KmsErrorContext): SealfigError {
  return new SealfigError(
    "KMS_DEADLINE_EXCEEDED",
    `KMS ${ctx.operation} with key ${ctx.keyId} did not complete within ${deadlineMs} ms ` +
      `(${ctx.attempts} attempts)`,
    {
      keyId: ctx.keyId,
      hint: "Check network access to the KMS endpoint, or raise the provider's deadlineMs",
    },
  );
}
