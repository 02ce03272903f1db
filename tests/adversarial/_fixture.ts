/** Keys, providers and blob surgery shared by the adversarial suite. */
import { chmodSync } from "node:fs";
import { LocalKeyProvider } from "../../src/keys/local.ts";
import { parseDocument, type SealfigDocument } from "../../src/document/document.ts";
import { sealDocument } from "../../src/document/seal.ts";
import {
  BLOB_PREFIX,
  type BlobHeader,
  encodeBlob,
  encodeHeader,
  parseBlob,
  type ParsedBlob,
} from "../../src/envelope/format.ts";
import { fromBase64Url, toBase64Url } from "../../src/crypto/bytes.ts";

/** The encryption context of the suite's files. */
export const CONTEXT = { app: "adversarial", env: "test" } as const;

/** Two local keys; `local` holds both. */
export const key1 = await LocalKeyProvider.generateKey();
export const key2 = await LocalKeyProvider.generateKey();
export const local = new LocalKeyProvider({ keys: [key1.key, key2.key] });

/** Seal a plaintext view under key 1 with {@link CONTEXT} (or the given context). */
export async function sealText(
  plain: string,
  options: { context?: Record<string, string>; perValue?: boolean; file?: string } = {},
): Promise<SealfigDocument> {
  const doc = parseDocument(plain, options.file !== undefined ? { file: options.file } : {});
  const out = await sealDocument(doc, {
    provider: local,
    keyId: key1.id,
    context: options.context ?? CONTEXT,
    ...(options.perValue ? { dekPolicy: "per-value" as const } : {}),
  });
  return out.document;
}

/** 1-based line of the first line containing `needle`. */
export function lineOf(text: string, needle: string): number {
  const i = text.split("\n").findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`no line with ${needle}`);
  return i + 1;
}

/** The blob at `path` of a sealed document. */
export function blobAt(doc: SealfigDocument, path: string): string {
  const v = doc.get(path);
  if (!v || v.kind !== "sealed") throw new Error(`no blob at ${path}`);
  return v.value as string;
}

/** Decoded bytes of a blob. */
export function blobBytes(blob: string): Uint8Array {
  return fromBase64Url(blob.slice(BLOB_PREFIX.length))!;
}

/** A blob string from bytes. */
export function bytesBlob(bytes: Uint8Array): string {
  return BLOB_PREFIX + toBase64Url(bytes);
}

/** Rebuild a blob with some header fields (or the ciphertext) replaced. */
export function rebuild(
  parsed: ParsedBlob,
  changes: Partial<Omit<BlobHeader, "version" | "suite">> & { ciphertext?: Uint8Array } = {},
): string {
  const h = { ...parsed, ...changes };
  const header = encodeHeader({
    valueType: h.valueType,
    providerId: h.providerId,
    keyId: h.keyId,
    wrappedDek: h.wrappedDek,
    salt: h.salt,
    iv: h.iv,
    commitment: h.commitment,
  });
  return encodeBlob(header, changes.ciphertext ?? parsed.ciphertext);
}

export { parseBlob };

/** Replace the first occurrence of `from` in `text` (which must occur). */
export function replaceOnce(text: string, from: string, to: string): string {
  const i = text.indexOf(from);
  if (i < 0) throw new Error("replaceOnce: not found");
  return text.slice(0, i) + to + text.slice(i + from.length);
}

/** Make `dir` a repo for CLI runs: a rules file (key 1, {@link CONTEXT}) and a 0600 key file. */
export function cliRepo(dir: { dir: string; write(name: string, content: string): string }): {
  cwd: string;
  env: Record<string, string | undefined>;
} {
  dir.write(
    ".sealfig.yaml",
    `rules:\n  - files: '.*'\n    key: local:${key1.id}\n    context: { app: ${CONTEXT.app}, env: ${CONTEXT.env} }\n`,
  );
  const keyFile = dir.write(".keys", `${key1.key}\n${key2.key}\n`);
  chmodSync(keyFile, 0o600);
  return {
    cwd: dir.dir,
    env: { SEALFIG_KEY_FILE: keyFile, SEALFIG_KEY: undefined, SEALFIG_TRUSTED_KEYS: undefined },
  };
}
