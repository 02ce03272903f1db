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
export { BLOB_PREFIX, isBlob, parseBlob } from "./src/envelope/format.ts";
export type { BlobHeader, ParsedBlob, ValueTypeName } from "./src/envelope/format.ts";
export { addKeyToFile, defaultKeyFile, LocalKeyProvider } from "./src/keys/local.ts";
export type { LocalKeyProviderOptions } from "./src/keys/local.ts";
export { formatPath, parsePath } from "./src/path.ts";
export type { PathSegment, ValuePath } from "./src/path.ts";
