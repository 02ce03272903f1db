/**
 * Lazy loading of `@aws-sdk/client-kms`: the SDK is imported on the first KMS call, never when
 * sealfig itself is imported, so apps that only use the local provider do not pay for it.
 * Only `import type` may name the SDK anywhere else in sealfig.
 *
 * @module
 */
import { SealfigError } from "../errors.ts";

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
      throw new SealfigError("PROVIDER_FAILED", "Cannot load @aws-sdk/client-kms", {
        hint:
          "Install it next to sealfig (npm install @aws-sdk/client-kms) to use the aws-kms provider",
        cause: err,
      });
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
