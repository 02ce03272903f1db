/**
 * sealfig: envelope-encrypted secrets in committed YAML config, for Deno and Node.
 *
 * This entry point (`sealfig`, `@sealfig/sealfig`) is what an app needs at startup: load the
 * config, redact it for logs, the errors, and the key providers. Tools that read or write sealed
 * files use `sealfig/document`; the local KMS-compatible server is `sealfig/kms-server`; the
 * command is `sealfig/cli`.
 *
 * @example Load a sealed config, validated by a zod schema
 * ```ts ignore
 * import { loadConfig, redact } from "@sealfig/sealfig";
 * import { z } from "zod";
 *
 * const config = await loadConfig({
 *   files: ["config/base.yaml", "config/production.yaml"],
 *   schema: z.object({ db: z.object({ password: z.string() }) }),
 * });
 * console.log(redact(config));
 * ```
 *
 * @module
 */

// --- loading the config ---
export { loadConfig } from "./src/config/load_config.ts";
export { loadConfigWithReport } from "./src/config/load_config.ts";
export { createLoader } from "./src/config/load_config.ts";
export type { ConfigFile } from "./src/config/load_config.ts";
export type { ConfigLoader } from "./src/config/load_config.ts";
export type { ConfigOf } from "./src/config/load_config.ts";
export type { DeepReadonly } from "./src/config/load_config.ts";
export type { EnvOverrideOptions } from "./src/config/load_config.ts";
export type { IntegrityMode } from "./src/config/load_config.ts";
export type { LoadConfigOptions } from "./src/config/load_config.ts";
export type { LoadedConfig } from "./src/config/load_config.ts";
export type { LoadReport } from "./src/config/load_config.ts";

// --- redaction for logs ---
export { redact } from "./src/config/redact.ts";
export { REDACTED } from "./src/config/redact.ts";
export { secretPaths } from "./src/config/redact.ts";
export type { Redacted } from "./src/config/redact.ts";

// --- errors ---
export { SealfigError } from "./src/errors.ts";
export { isSealfigError } from "./src/errors.ts";
export { ErrorCode } from "./src/errors.ts";
export { ConfigValidationError } from "./src/config/validate.ts";
export type { ConfigIssue } from "./src/config/validate.ts";

// --- key providers ---
export { LocalKeyProvider } from "./src/keys/local.ts";
export type { LocalKeyProviderOptions } from "./src/keys/local.ts";
export { KmsKeyProvider } from "./src/keys/aws_kms.ts";
export type { KmsKeyProviderOptions } from "./src/keys/aws_kms.ts";
export { AgeKeyProvider } from "./src/keys/age.ts";
export type { AgeKeyProviderOptions } from "./src/keys/age.ts";
export type { KeyProvider } from "./src/keys/key_provider.ts";
export type { EncryptionContext } from "./src/keys/key_provider.ts";
export type { TrustedKeys } from "./src/keys/allowlist.ts";
