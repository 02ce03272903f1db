/**
 * Wire helpers for the local KMS server: standard base64 (the JSON 1.1 protocol's blob encoding),
 * the KMS error type, and parsing of the SigV4 `Authorization` header.
 *
 * @module
 */

/** Encode bytes as standard, padded base64 (what AWS JSON protocols use for blobs). */
export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** Decode standard base64; undefined when the text is not base64. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  let bin: string;
  try {
    bin = atob(text);
  } catch {
    return undefined;
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** An error answered as `{"__type": type, "message": message}` with an HTTP status. */
export class KmsApiError extends Error {
  /** The AWS error type (`__type`), e.g. `NotFoundException`. */
  readonly type: string;
  /** The HTTP status. */
  readonly status: number;

  constructor(type: string, message: string, status = 400) {
    super(message);
    this.name = "KmsApiError";
    this.type = type;
    this.status = status;
  }
}

/** The caller as far as the server can tell from an unverified SigV4 `Authorization` header. */
export interface SigV4Caller {
  /** The access key id from the credential scope. */
  accessKeyId: string;
  /** The region from the credential scope. */
  region: string;
}

/**
 * Parse `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kms/aws4_request, ...`. The
 * signature is not verified: this is a development server.
 */
export function parseSigV4(header: string | null): SigV4Caller | undefined {
  if (!header) return undefined;
  const m = /Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request/.exec(header);
  if (!m) return undefined;
  return { accessKeyId: m[1]!, region: m[3]! };
}
