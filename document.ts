/**
 * `sealfig/document` (`@sealfig/sealfig/document`): sealed documents and blobs, for tools that read
 * and write sealed files (editors, migrations, CI checks, custom key providers).
 *
 * An app that only loads its config needs `sealfig` (the loader), not this: importing it loads
 * the document writer. The types a key provider implements, the data key cache, the Standard
 * Schema types and the AWS KMS client hooks live here too; `import type` from this entry point
 * costs nothing at run time.
 *
 * @example Seal the `!secret` values of a plaintext view, then open one
 * ```ts ignore
 * import { getValue, parseDocument, sealDocument } from "@sealfig/sealfig/document";
 * import { LocalKeyProvider } from "@sealfig/sealfig";
 *
 * const { id, key } = await LocalKeyProvider.generateKey();
 * const provider = new LocalKeyProvider({ keys: [key] });
 * const plain = parseDocument("db:\n  password: !secret hunter2\n");
 * const { document } = await sealDocument(plain, { provider, keyId: id });
 * await getValue(document, "db.password", { providers: [provider] }); // "hunter2"
 * ```
 *
 * @module
 */

// --- sealed YAML and .env documents ---
export { SealfigDocument } from "./src/document/document.ts";
export { parseDocument } from "./src/document/document.ts";
export { readDocument } from "./src/document/document.ts";
export { formatOfFile } from "./src/document/document.ts";
export { SECRET_TAG } from "./src/document/document.ts";
export type { DocumentFormat } from "./src/document/document.ts";
export type { DocumentValue } from "./src/document/document.ts";
export type { ParseDocumentOptions } from "./src/document/document.ts";
export type { ValueKind } from "./src/document/document.ts";
export { sealDocument } from "./src/document/seal.ts";
export { openDocument } from "./src/document/seal.ts";
export { decryptDocument } from "./src/document/seal.ts";
export { getValue } from "./src/document/seal.ts";
export type { DecryptDocumentResult } from "./src/document/seal.ts";
export type { DekPolicy } from "./src/document/seal.ts";
export type { OpenDocumentOptions } from "./src/document/seal.ts";
export type { SealDocumentOptions } from "./src/document/seal.ts";
export type { SealDocumentResult } from "./src/document/seal.ts";
export { setSecret } from "./src/document/edit.ts";
export { setValue } from "./src/document/edit.ts";
export { unsetValue } from "./src/document/edit.ts";
export type { SetSecretOptions } from "./src/document/edit.ts";
export type { SetValueOptions } from "./src/document/edit.ts";
export { formatPath } from "./src/path.ts";
export { parsePath } from "./src/path.ts";
export type { PathSegment } from "./src/path.ts";
export type { ValuePath } from "./src/path.ts";

// --- integrity records ---
export { stampDocument } from "./src/integrity/verify.ts";
export { verifyIntegrity } from "./src/integrity/verify.ts";
export { checkIntegrity } from "./src/integrity/verify.ts";
export { readIntegrityRecord } from "./src/integrity/verify.ts";
export type { IntegrityCheck } from "./src/integrity/verify.ts";
export type { IntegrityState } from "./src/integrity/verify.ts";
export type { StampDocumentOptions } from "./src/integrity/verify.ts";
export type { StampDocumentResult } from "./src/integrity/verify.ts";
export type { VerifyIntegrityOptions } from "./src/integrity/verify.ts";
export { stripIntegrityRecord } from "./src/integrity/record.ts";
export { INTEGRITY_KEY } from "./src/integrity/record.ts";
export { recordPath } from "./src/integrity/record.ts";
export { isRecordPath } from "./src/integrity/record.ts";
export type { IntegrityRecord } from "./src/integrity/record.ts";
export type { IntegrityVersion } from "./src/integrity/record.ts";

// --- blobs: one value, one `sealfig:v1:` string ---
export { encryptValue } from "./src/envelope/values.ts";
export { decryptValue } from "./src/envelope/values.ts";
export { Sealer } from "./src/envelope/values.ts";
export { DEFAULT_MAX_VALUES_PER_DEK } from "./src/envelope/values.ts";
export type { DecryptValueOptions } from "./src/envelope/values.ts";
export type { EncryptValueOptions } from "./src/envelope/values.ts";
export type { SealerOptions } from "./src/envelope/values.ts";
export type { SealingKey } from "./src/envelope/values.ts";
export { BLOB_PREFIX } from "./src/envelope/format.ts";
export { isBlob } from "./src/envelope/format.ts";
export { parseBlob } from "./src/envelope/format.ts";
export { ValueType } from "./src/envelope/format.ts";
export type { BlobHeader } from "./src/envelope/format.ts";
export type { KeySlot } from "./src/envelope/format.ts";
export type { ParsedBlob } from "./src/envelope/format.ts";
export type { ValueTypeName } from "./src/envelope/format.ts";
export type { SecretValue } from "./src/envelope/value_codec.ts";
export { envSealing } from "./src/config/env_overrides.ts";

// --- trusted keys and the data key cache ---
export { KeyAllowlist } from "./src/keys/allowlist.ts";
export type { KeyAllowlistOptions } from "./src/keys/allowlist.ts";
export type { KeyName } from "./src/keys/allowlist.ts";
export { DekCache } from "./src/cache/dek_cache.ts";
export type { DekCacheKey } from "./src/cache/dek_cache.ts";
export type { DekCacheOptions } from "./src/cache/dek_cache.ts";
export type { DekCacheStats } from "./src/cache/dek_cache.ts";

// --- keys for sealing: who may seal (a recipient, a KMS key named in the environment) ---
export { kmsKeyFromEnv } from "./src/keys/aws_kms.ts";
export type { KmsKeyFromEnvOptions } from "./src/keys/aws_kms.ts";
export { isAgeRecipient } from "./src/keys/age.ts";
export { defaultAgeKeyFile } from "./src/keys/age.ts";
export { addAgeIdentityToFile } from "./src/keys/age.ts";

// --- what a key provider implements (the KeyProvider interface itself is in `sealfig`) ---
export type { GeneratedDataKey } from "./src/keys/key_provider.ts";
export type { RewrappedDataKey } from "./src/keys/key_provider.ts";
export type { ProviderCallOptions } from "./src/keys/key_provider.ts";
export type { DataKey } from "./src/crypto/data_key.ts";
export type { SecretKeyHandle } from "./src/crypto/primitives.ts";
export type { Bytes } from "./src/crypto/bytes.ts";

// --- types the loader's and providers' signatures name (no run-time cost) ---
export type { StandardSchemaV1 } from "./src/config/validate.ts";
export type { StandardSchemaProps } from "./src/config/validate.ts";
export type { StandardSchemaResult } from "./src/config/validate.ts";
export type { StandardSchemaIssue } from "./src/config/validate.ts";
export type { InferSchemaOutput } from "./src/config/validate.ts";
export type { ErrorLocation } from "./src/errors.ts";
export type { SealfigErrorOptions } from "./src/errors.ts";
export type { KmsClientFactory } from "./src/keys/aws_kms.ts";
export type { KmsCredentials } from "./src/keys/aws_kms.ts";
export type { KmsProviderStats } from "./src/keys/aws_kms.ts";
export type { KmsSdk } from "./src/keys/aws_kms_sdk.ts";
