/**
 * The local key provider: key-encryption keys in a private key file outside the repository (like
 * age keys for sops), or one key in `SEALFIG_KEY` for CI. Works offline.
 *
 * Key text: `sealfig-local-key-v1:<43 chars of base64url = 32 random bytes>`.
 * Key id (fingerprint): `lk_` + the first 16 hex digits of SHA-256("sealfig/v1/local-key-id" ‖ key).
 * Key file: one key per line; blank lines and `#` comments ignored; mode 0600 required (POSIX).
 * Wrapping: AES-256-GCM under HKDF-SHA-256(KEK, info "sealfig/v1/local-wrap"), random 12-byte IV,
 * associated data = label ‖ key id ‖ encryption context (canonical). Wrapped DEK:
 * `0x01 ‖ IV(12) ‖ ciphertext(32) ‖ tag(16)` = 61 bytes.
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import {
  type Bytes,
  ByteWriter,
  concat,
  fromBase64Url,
  randomBytes,
  toBase64Url,
  toHex,
  utf8,
} from "../crypto/bytes.ts";
import { DEK_LENGTH } from "../crypto/data_key.ts";
import { canonicalContext } from "../envelope/aad.ts";
import {
  getEnv,
  hostErrorCode,
  isWindows,
  joinPath,
  makeDir,
  readFileBytes,
  statFile,
  userConfigDir,
  writeFileAtomic,
} from "../runtime.ts";
import type { EncryptionContext, GeneratedDataKey, KeyProvider } from "./key_provider.ts";

/** The provider id recorded in blobs sealed with local keys. */
export const LOCAL_PROVIDER_ID = "local";
const KEY_PREFIX = "sealfig-local-key-v1:";
const WRAP_VERSION = 0x01;
const WRAP_INFO = utf8("sealfig/v1/local-wrap");
const ID_LABEL = utf8("sealfig/v1/local-key-id");
const WRAPPED_LENGTH = 1 + 12 + DEK_LENGTH + 16;

/** Options for {@link LocalKeyProvider}. */
export interface LocalKeyProviderOptions {
  /**
   * Key strings to use instead of the environment and key file (e.g. a demo key, or keys from
   * a secret store). Default: none, read `SEALFIG_KEY` and the key file.
   */
  keys?: readonly string[];
  /** Key file path. Default `$SEALFIG_KEY_FILE`, else `<user config dir>/sealfig/keys`. */
  keyFile?: string;
}

interface LoadedKey {
  wrapKey: CryptoKey;
}

/**
 * Wraps data keys with local AES-256 keys.
 *
 * @example
 * ```ts
 * import { LocalKeyProvider } from "@sealfig/sealfig";
 * import { decryptValue, encryptValue } from "@sealfig/sealfig/document";
 * const { id, key } = await LocalKeyProvider.generateKey();
 * const provider = new LocalKeyProvider({ keys: [key] });
 * const blob = await encryptValue("hunter2", { provider, keyId: id, path: "db.password" });
 * await decryptValue(blob, { providers: [provider], path: "db.password" }); // "hunter2"
 * ```
 */
export class LocalKeyProvider implements KeyProvider {
  /** Always `local`. */
  readonly id: string = LOCAL_PROVIDER_ID;
  readonly #options: LocalKeyProviderOptions;
  #keys: Promise<Map<string, LoadedKey>> | undefined;

  /**
   * Create a provider. The key file is read on first use, not here.
   *
   * @param options where keys come from; see {@link LocalKeyProviderOptions}.
   */
  constructor(options: LocalKeyProviderOptions = {}) {
    this.#options = options;
  }

  /** Generate a new random key. Returns its id and its text (store it privately). */
  static async generateKey(): Promise<{ id: string; key: string }> {
    const raw = randomBytes(32);
    const id = await fingerprint(raw);
    const key = KEY_PREFIX + toBase64Url(raw);
    raw.fill(0);
    return { id, key };
  }

  /** The id (fingerprint) of a key string. Throws `KEY_INVALID`. */
  static async keyIdOf(key: string): Promise<string> {
    const raw = parseKey(key, "the given key");
    try {
      return await fingerprint(raw);
    } finally {
      raw.fill(0);
    }
  }

  /** The ids of the keys this provider can use (loads them on first call). */
  async keyIds(): Promise<string[]> {
    return [...(await this.#load()).keys()];
  }

  /** {@inheritDoc KeyProvider.generateDataKey} */
  async generateDataKey(keyId: string, context: EncryptionContext): Promise<GeneratedDataKey> {
    const key = await this.#key(keyId);
    const plaintext = randomBytes(DEK_LENGTH);
    const iv = randomBytes(12);
    const ct = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: wrapAad(keyId, context) },
        key.wrapKey,
        plaintext,
      ),
    );
    return { plaintext, wrapped: concat(Uint8Array.of(WRAP_VERSION), iv, ct), keyId };
  }

  /** {@inheritDoc KeyProvider.decryptDataKey} */
  async decryptDataKey(
    keyId: string,
    wrapped: Uint8Array,
    context: EncryptionContext,
  ): Promise<Uint8Array> {
    const key = await this.#key(keyId);
    if (wrapped.length !== WRAPPED_LENGTH || wrapped[0] !== WRAP_VERSION) {
      throw unwrapFailed(keyId);
    }
    try {
      return new Uint8Array(
        await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: wrapped.slice(1, 13), additionalData: wrapAad(keyId, context) },
          key.wrapKey,
          wrapped.slice(13),
        ),
      );
    } catch {
      throw unwrapFailed(keyId);
    }
  }

  /** {@inheritDoc KeyProvider.wrapDataKey} */
  async wrapDataKey(
    keyId: string,
    plaintext: Uint8Array,
    context: EncryptionContext,
  ): Promise<{ wrapped: Uint8Array; keyId: string }> {
    if (plaintext.length !== DEK_LENGTH) {
      throw new SealfigError("VALUE_INVALID", `A data key must be ${DEK_LENGTH} bytes`, { keyId });
    }
    const key = await this.#key(keyId);
    const iv = randomBytes(12);
    const ct = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: wrapAad(keyId, context) },
        key.wrapKey,
        plaintext as Bytes,
      ),
    );
    return { wrapped: concat(Uint8Array.of(WRAP_VERSION), iv, ct), keyId };
  }

  /** Re-wrap a data key under another local key (both must be loaded). */
  async rewrapDataKey(
    keyId: string,
    wrapped: Uint8Array,
    context: EncryptionContext,
    toKeyId: string,
  ): Promise<{ wrapped: Uint8Array; keyId: string }> {
    const target = await this.#key(toKeyId);
    const dek = await this.decryptDataKey(keyId, wrapped, context);
    try {
      const iv = randomBytes(12);
      const ct = new Uint8Array(
        await crypto.subtle.encrypt(
          { name: "AES-GCM", iv, additionalData: wrapAad(toKeyId, context) },
          target.wrapKey,
          dek as Bytes,
        ),
      );
      return { wrapped: concat(Uint8Array.of(WRAP_VERSION), iv, ct), keyId: toKeyId };
    } finally {
      dek.fill(0);
    }
  }

  async #key(keyId: string): Promise<LoadedKey> {
    const keys = await this.#load();
    const key = keys.get(keyId);
    if (!key) {
      throw new SealfigError("KEY_NOT_FOUND", `Local key ${keyId} is not available`, {
        keyId,
        hint: keys.size === 0
          ? `No local keys are loaded. Key ${keyId} is a secret its holder has: get it from them and ` +
            `set SEALFIG_KEY, or put it in ${this.#keyFilePath()} (sealfig keygen makes a new key, ` +
            "with another id, for a new rule)"
          : `Add the key with id ${keyId} to ${this.#keyFilePath()} or SEALFIG_KEY (loaded: ${
            [...keys.keys()].join(", ")
          })`,
      });
    }
    return key;
  }

  #keyFilePath(): string {
    return this.#options.keyFile ?? defaultKeyFile();
  }

  #load(): Promise<Map<string, LoadedKey>> {
    if (!this.#keys) {
      this.#keys = this.#loadKeys();
      // A failed load (bad permissions, malformed file) is retried on the next use.
      this.#keys.catch(() => (this.#keys = undefined));
    }
    return this.#keys;
  }

  async #loadKeys(): Promise<Map<string, LoadedKey>> {
    const keys = new Map<string, LoadedKey>();
    const add = async (text: string, where: string) => {
      const raw = parseKey(text, where);
      try {
        keys.set(await fingerprint(raw), { wrapKey: await importWrapKey(raw) });
      } finally {
        raw.fill(0);
      }
    };
    if (this.#options.keys) {
      for (const [i, k] of this.#options.keys.entries()) {
        await add(k, `key ${i + 1} of the keys option`);
      }
      return keys;
    }
    const envKey = getEnv("SEALFIG_KEY");
    if (envKey) await add(envKey.trim(), "SEALFIG_KEY");
    const file = this.#keyFilePath();
    for (const [line, text] of await readKeyFile(file)) await add(text, `${file}:${line}`);
    return keys;
  }
}

/** The key file path used when none is configured. */
export function defaultKeyFile(): string {
  return getEnv("SEALFIG_KEY_FILE") || joinPath(userConfigDir(), "sealfig", "keys");
}

/**
 * Read a key file: `[lineNumber, keyText]` pairs. A missing file yields none. Throws
 * `KEY_FILE_PERMISSIONS` when the file is readable by group or others (POSIX). Also reads age
 * identity files (src/keys/age.ts): same rules, `#` comments and blank lines skipped.
 */
export async function readKeyFile(file: string): Promise<[number, string][]> {
  const info = await statFile(file);
  if (!info) return [];
  if (!isWindows && info.mode !== undefined && (info.mode & 0o077) !== 0) {
    throw new SealfigError(
      "KEY_FILE_PERMISSIONS",
      `Key file ${file} is accessible by other users (mode ${
        info.mode.toString(8).padStart(3, "0")
      })`,
      { file, hint: `Run: chmod 600 ${file}` },
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFileBytes(file);
  } catch (err) {
    throw new SealfigError(
      "KEY_INVALID",
      `Cannot read key file ${file} (${hostErrorCode(err) ?? "error"})`,
      {
        file,
      },
    );
  }
  const text = new TextDecoder().decode(bytes);
  bytes.fill(0);
  const out: [number, string][] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t && !t.startsWith("#")) out.push([i + 1, t]);
  });
  return out;
}

/**
 * Create a new key and append it to the key file (created with mode 0600 in a 0700 directory).
 * Returns the new key's id.
 */
export async function addKeyToFile(file: string = defaultKeyFile()): Promise<string> {
  const { id, key } = await LocalKeyProvider.generateKey();
  const existing = await readKeyFile(file); // also checks permissions
  const lines = existing.length === 0 && !(await statFile(file))
    ? ["# sealfig local keys: keep this file private (mode 0600) and out of git", ""]
    : [new TextDecoder().decode(await readFileBytes(file)).replace(/\n*$/, "")];
  lines.push(`# ${id}`, key, "");
  await makeDir(joinPath(file, ".."), 0o700);
  await writeFileAtomic(file, lines.join("\n"), { mode: 0o600 });
  return id;
}

function parseKey(text: string, where: string): Bytes {
  const raw = text.startsWith(KEY_PREFIX)
    ? fromBase64Url(text.slice(KEY_PREFIX.length))
    : undefined;
  if (!raw || raw.length !== 32) {
    throw new SealfigError("KEY_INVALID", `Malformed local key in ${where}`, {
      hint:
        `A local key is "${KEY_PREFIX}" followed by 43 base64url characters; sealfig keygen makes one`,
    });
  }
  return raw;
}

async function fingerprint(raw: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", concat(ID_LABEL, raw)));
  return "lk_" + toHex(digest.subarray(0, 8));
}

async function importWrapKey(raw: Bytes): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: WRAP_INFO },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function wrapAad(keyId: string, context: EncryptionContext): Bytes {
  const w = new ByteWriter().bytes(WRAP_INFO).lp32(utf8(keyId));
  const pairs = canonicalContext(context);
  w.u32(pairs.length);
  for (const [k, v] of pairs) w.lp32(k).lp32(v);
  return w.finish();
}

function unwrapFailed(keyId: string): SealfigError {
  return new SealfigError("DEK_UNWRAP_FAILED", "Cannot unwrap the data key", {
    keyId,
    hint:
      "The wrapped key was altered, or the value was moved into a file with another encryption context",
  });
}
