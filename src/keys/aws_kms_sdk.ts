/**
 * Lazy loading of `@aws-sdk/client-kms`: the SDK is imported on the first KMS call, never when
 * sealfig itself is imported, so apps that only use the local provider do not pay for it.
 * Only `import type` may name the SDK anywhere else in sealfig.
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import { hostErrorCode, permissionDenied } from "../runtime.ts";

/** The `@aws-sdk/client-kms` module namespace. */
export type KmsSdk = typeof import("@aws-sdk/client-kms");

let sdk: Promise<KmsSdk> | undefined;
let loads = 0;

/** Import the SDK once (later calls share the same promise). */
export function loadKmsSdk(): Promise<KmsSdk> {
  if (!sdk) {
    loads++;
    sdk = import("@aws-sdk/client-kms").catch((err: unknown) => {
      sdk = undefined;
      throw sdkLoadFailure(err);
    });
  }
  return sdk;
}

/**
 * How many times sealfig started importing `@aws-sdk/client-kms` in this isolate (0 or 1 unless
 * an import failed and was retried).
 *
 * @example
 * ```ts
 * import { KmsKeyProvider } from "@sealfig/sealfig";
 * import { kmsSdkLoadCount } from "./aws_kms.ts";
 * new KmsKeyProvider({ region: "eu-west-1" });
 * console.assert(kmsSdkLoadCount() === 0); // constructing a provider loads nothing
 * ```
 */
export function kmsSdkLoadCount(): number {
  return loads;
}

/**
 * Why the SDK did not load, as far as the error says: a runtime permission denial (Deno: its
 * import reads environment variables) as `PERMISSION_DENIED`; a module that is not installed as
 * such, with how to install it; anything else by its name, without a guess.
 */
function sdkLoadFailure(err: unknown): SealfigError {
  const denied = permissionDenied(err);
  if (denied) return denied;
  const code = hostErrorCode(err);
  if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
    return new SealfigError("PROVIDER_FAILED", "Cannot load @aws-sdk/client-kms: not installed", {
      hint:
        "Install it next to sealfig (npm install @aws-sdk/client-kms) to use the aws-kms provider",
      cause: err,
    });
  }
  return new SealfigError(
    "PROVIDER_FAILED",
    `Cannot load @aws-sdk/client-kms (${err instanceof Error ? err.name : typeof err})`,
    { hint: "The cause is the error its import raised", cause: err },
  );
}
