/**
 * sealfig: envelope-encrypted secrets in committed YAML config, for Deno and Node.
 *
 * @module
 */
export { ErrorCode, isSealfigError, SealfigError } from "./src/errors.ts";
export type { ErrorLocation, SealfigErrorOptions } from "./src/errors.ts";
export type {
  EncryptionContext,
  GeneratedDataKey,
  KeyProvider,
  ProviderCallOptions,
  RewrappedDataKey,
} from "./src/keys/key_provider.ts";
export { DekCache } from "./src/cache/dek_cache.ts";
export type { DataKey } from "./src/crypto/data_key.ts";
export type { SecretKeyHandle } from "./src/crypto/primitives.ts";
export type { Bytes } from "./src/crypto/bytes.ts";
export type { DekCacheKey, DekCacheOptions, DekCacheStats } from "./src/cache/dek_cache.ts";
export {
  decryptValue,
  DEFAULT_MAX_VALUES_PER_DEK,
  encryptValue,
  Sealer,
} from "./src/envelope/values.ts";
export type {
  DecryptValueOptions,
  EncryptValueOptions,
  SealerOptions,
} from "./src/envelope/values.ts";
export type { SecretValue } from "./src/envelope/value_codec.ts";
export { BLOB_PREFIX, isBlob, parseBlob, ValueType } from "./src/envelope/format.ts";
export type { BlobHeader, ParsedBlob, ValueTypeName } from "./src/envelope/format.ts";
export { addKeyToFile, defaultKeyFile, LocalKeyProvider } from "./src/keys/local.ts";
export type { LocalKeyProviderOptions } from "./src/keys/local.ts";
export { formatPath, parsePath } from "./src/path.ts";
export type { PathSegment, ValuePath } from "./src/path.ts";

// --- AWS KMS provider and the local KMS-compatible server ---
export { kmsKeyFromEnv, KmsKeyProvider, kmsSdkLoadCount } from "./src/keys/aws_kms.ts";
export type {
  KmsClientFactory,
  KmsCredentials,
  KmsKeyFromEnvOptions,
  KmsKeyProviderOptions,
  KmsProviderStats,
} from "./src/keys/aws_kms.ts";
export type { KmsSdk } from "./src/keys/aws_kms_sdk.ts";
export {
  createKmsHandler,
  KMS_SERVER_LIMITS,
  KmsServerStats,
  startKmsServer,
} from "./src/kms_server/server.ts";
export type {
  CreateTestKeyOptions,
  KmsFaults,
  KmsHandler,
  KmsHandlerOptions,
  KmsKeyInfo,
  KmsPolicy,
  KmsQuota,
  KmsServer,
  KmsServerLimits,
  KmsServerOptions,
} from "./src/kms_server/server.ts";
export { runKmsServer } from "./src/kms_server/cli.ts";
// --- Sealed YAML documents and the config loader ---
export {
  DEFAULT_MAX_ALIAS_COUNT,
  formatOfFile,
  parseDocument,
  readDocument,
  SealfigDocument,
  SECRET_TAG,
} from "./src/document/document.ts";
export type {
  DocumentFormat,
  DocumentValue,
  ParseDocumentOptions,
  ValueKind,
} from "./src/document/document.ts";
export { isEnvFileName } from "./src/document/dotenv.ts";
export { DEFAULT_MAX_FILE_BYTES } from "./src/document/source.ts";
export { DEFAULT_CONCURRENCY } from "./src/document/_concurrency.ts";
export { decryptDocument, getValue, openDocument, sealDocument } from "./src/document/seal.ts";
export type {
  DecryptDocumentResult,
  DekPolicy,
  OpenDocumentOptions,
  SealDocumentOptions,
  SealDocumentResult,
} from "./src/document/seal.ts";
export { setSecret, setValue, unsetValue } from "./src/document/edit.ts";
export type { SetSecretOptions, SetValueOptions } from "./src/document/edit.ts";
export {
  createLoader,
  loadConfig,
  loadConfigWithReport,
  sharedDekCache,
} from "./src/config/load_config.ts";
export type {
  ConfigFile,
  ConfigLoader,
  ConfigOf,
  DeepReadonly,
  EnvOverrideOptions,
  LoadConfigOptions,
  LoadedConfig,
  LoadReport,
} from "./src/config/load_config.ts";
export { ENV_SOURCE, ENV_SOURCE_KEY, envSealing } from "./src/config/env_overrides.ts";
export type { PlaintextOverSealed } from "./src/config/env_overrides.ts";
export { ConfigValidationError } from "./src/config/validate.ts";
export type {
  ConfigIssue,
  InferSchemaOutput,
  StandardSchemaIssue,
  StandardSchemaProps,
  StandardSchemaResult,
  StandardSchemaV1,
} from "./src/config/validate.ts";
export { redact, REDACTED, secretPaths } from "./src/config/redact.ts";
export type { Redacted } from "./src/config/redact.ts";
export { formatOrigin } from "./src/config/tree.ts";
export type { Origin } from "./src/config/tree.ts";

// --- provider registry and rules file ---
export { defaultProviders, providerById, sharedProviders } from "./src/keys/registry.ts";
export type { DefaultProvidersOptions } from "./src/keys/registry.ts";
export {
  findRulesFile,
  formatKeyRef,
  loadRuleFor,
  parseKeyRef,
  readRules,
  ruleFor,
  RULES_FILE,
  trustedKeysOf,
} from "./src/rules.ts";
export type { FileRule, IntegrityPolicy, KeyRef, RuleEntry, Rules } from "./src/rules.ts";
export {
  BUILTIN_SECRET_NAMES,
  isSecretName,
  LEGACY_DEFAULT_SECRET,
  secretMatcher,
  secretNameOf,
  secretNameWords,
} from "./src/secret_names.ts";
export type { SecretNameMatcher } from "./src/secret_names.ts";

// --- key allowlist and whole-file integrity ---
export {
  describeKeyName,
  guardProviders,
  isValidKeyReference,
  KeyAllowlist,
  parseTrustedKeys,
} from "./src/keys/allowlist.ts";
export type { KeyAllowlistOptions, KeyName, TrustedKeys } from "./src/keys/allowlist.ts";
export {
  encodeIntegrityRecord,
  INTEGRITY_KEY,
  INTEGRITY_PREFIX,
  parseIntegrityRecord,
  stripIntegrityLines,
  stripIntegrityRecord,
} from "./src/integrity/record.ts";
export type { IntegrityRecord, IntegrityVersion } from "./src/integrity/record.ts";
export { integrityContext, macInput } from "./src/integrity/mac.ts";
export {
  checkIntegrity,
  readIntegrityRecord,
  stampDocument,
  verifyIntegrity,
} from "./src/integrity/verify.ts";
export type {
  IntegrityCheck,
  IntegrityState,
  StampDocumentOptions,
  StampDocumentResult,
  VerifyIntegrityOptions,
} from "./src/integrity/verify.ts";
export type { IntegrityMode } from "./src/config/load_config.ts";
