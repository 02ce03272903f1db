/**
 * `sealfig/kms-server` (`@sealfig/sealfig/kms-server`): a local server that speaks the AWS KMS
 * protocol well enough for `@aws-sdk/client-kms` and the AWS CLI, for development and tests. No
 * authentication, raw key material in its state file: never for real secrets.
 *
 * @example Start it on an ephemeral port and create a key
 * ```ts ignore
 * import { startKmsServer } from "@sealfig/sealfig/kms-server";
 *
 * const server = await startKmsServer();
 * const key = await server.createKey({ alias: "alias/dev" });
 * // AWS_ENDPOINT_URL_KMS=<server.endpoint>, AWS_REGION=<server.region>; seal with `key.arn`
 * await server.close();
 * ```
 *
 * @module
 */
export { startKmsServer } from "./src/kms_server/server.ts";
export { createKmsHandler } from "./src/kms_server/server.ts";
export { KmsServerStats } from "./src/kms_server/server.ts";
export { KMS_SERVER_LIMITS } from "./src/kms_server/server.ts";
export type { CreateTestKeyOptions } from "./src/kms_server/server.ts";
export type { KmsFaults } from "./src/kms_server/server.ts";
export type { KmsHandler } from "./src/kms_server/server.ts";
export type { KmsHandlerOptions } from "./src/kms_server/server.ts";
export type { KmsKeyInfo } from "./src/kms_server/server.ts";
export type { KmsPolicy } from "./src/kms_server/server.ts";
export type { KmsQuota } from "./src/kms_server/server.ts";
export type { KmsServer } from "./src/kms_server/server.ts";
export type { KmsServerLimits } from "./src/kms_server/server.ts";
export type { KmsServerOptions } from "./src/kms_server/server.ts";
export { runKmsServer } from "./src/kms_server/cli.ts";
