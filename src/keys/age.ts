/**
 * The age key provider: data keys wrapped to age recipients (`age1…`) and opened with age
 * identities (`AGE-SECRET-KEY-1…`), exactly as `age-keygen` writes them, through the
 * `age-encryption` package (loaded on first use).
 *
 * - Key id: the X25519 recipient, lower case, as `age-keygen` prints it.
 * - Write-only: sealing needs only the recipient (public); opening needs the identity.
 * - Wrapped DEK: a binary (not armored) age file whose payload is
 *   `0x01 ‖ DEK(32) ‖ SHA-256("sealfig/v1/age-wrap" ‖ u32 len ‖ recipient ‖ u32 pairs ‖ pairs)`
 *   (65 bytes; pairs as in the blob's associated data). age has no associated data, so the
 *   recipient and the encryption context are bound by that digest, compared in constant time on
 *   unwrap (docs/format.md, "age wrapping").
 * - Identities: `SEALFIG_AGE_KEY` (one or more identities, one a line) and the key file
 *   `$SEALFIG_AGE_KEY_FILE`, else `<user config dir>/sealfig/age/keys.txt` (mode 0600, `#`
 *   comments). They never appear in errors, logs or inspect output.
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import {
  type Bytes,
  ByteWriter,
  concat,
  randomBytes,
  timingSafeEqual,
  utf8,
} from "../crypto/bytes.ts";
import { DEK_LENGTH } from "../crypto/data_key.ts";
import { canonicalContext } from "../envelope/aad.ts";
import {
  getEnv,
  joinPath,
  makeDir,
  readFileBytes,
  statFile,
  userConfigDir,
  writeFileAtomic,
} from "../runtime.ts";
import type {
  EncryptionContext,
  GeneratedDataKey,
  KeyProvider,
  ProviderCallOptions,
  RewrappedDataKey,
} from "./key_provider.ts";
import { readKeyFile } from "./local.ts";

/** The provider id recorded in blobs whose data key is wrapped to an age recipient. */
export const AGE_PROVIDER_ID = "age";

/** A native X25519 age recipient as `age-keygen` prints it: `age1` + 58 bech32 characters. */
const RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;
/** A native X25519 age identity as `age-keygen` writes it. */
const IDENTITY = /^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/;
/** Other age identity kinds (plugins, post-quantum hybrid): recognised and skipped. */
const OTHER_IDENTITY = /^AGE-(PLUGIN-|SECRET-KEY-PQ-)/i;
const WRAP_LABEL = utf8("sealfig/v1/age-wrap");
const PAYLOAD_VERSION = 0x01;
const DIGEST_LENGTH = 32;
const PAYLOAD_LENGTH = 1 + DEK_LENGTH + DIGEST_LENGTH;
/** The blob format's limit for a wrapped data key (docs/format.md §2). */
const MAX_WRAPPED = 4096;
/** The variables that hold identities, for hints. */
const WHERE_IDENTITIES = "SEALFIG_AGE_KEY_FILE (an age key file, as age-keygen -o writes it) or " +
  "SEALFIG_AGE_KEY (the AGE-SECRET-KEY-1… line)";

type AgeLibrary = typeof import("age-encryption");
let library: Promise<AgeLibrary> | undefined;
let libraryLoads = 0;

/** Import `age-encryption` once, on the first use of an age key (never at sealfig's import). */
function loadLibrary(): Promise<AgeLibrary> {
  if (!library) {
    libraryLoads++;
    library = import("age-encryption").catch((err: unknown) => {
      library = undefined;
      throw new SealfigError("PROVIDER_FAILED", "Cannot load age-encryption", {
        hint: "Install it next to sealfig (npm install age-encryption) to use age keys",
        cause: err,
      });
    });
  }
  return library;
}

/** How many times this isolate started importing `age-encryption` (0 until an age key is used). */
export function ageLibraryLoadCount(): number {
  return libraryLoads;
}

/**
 * Whether `text` is an age recipient sealfig accepts as a key id: a native X25519 recipient
 * (`age1` + 58 lower-case bech32 characters), as `age-keygen` prints it. The checksum is checked
 * when the recipient is used.
 *
 * @example
 * ```ts
 * import { isAgeRecipient } from "@sealfig/sealfig/document";
 * isAgeRecipient("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"); // true
 * isAgeRecipient("AGE-SECRET-KEY-1…"); // false
 * ```
 */
export function isAgeRecipient(text: string): boolean {
  return RECIPIENT.test(text);
}

/** Whether `text` contains what looks like an age identity (secret), in any case. */
export function containsAgeIdentity(text: string): boolean {
  return /AGE-SECRET-KEY-/i.test(text);
}

/**
 * The age identity file: `$SEALFIG_AGE_KEY_FILE`, else `$XDG_CONFIG_HOME/sealfig/age/keys.txt`,
 * else `~/.config/sealfig/age/keys.txt` (`%APPDATA%\sealfig\age\keys.txt` on Windows).
 *
 * @example
 * ```ts
 * import { defaultAgeKeyFile } from "@sealfig/sealfig/document";
 * defaultAgeKeyFile(); // e.g. "/home/me/.config/sealfig/age/keys.txt"
 * ```
 */
export function defaultAgeKeyFile(): string {
  return getEnv("SEALFIG_AGE_KEY_FILE") || joinPath(userConfigDir(), "sealfig", "age", "keys.txt");
}

/**
 * Create a new X25519 identity and append it to an age key file, as `age-keygen -o` writes it
 * (`# created:` and `# public key:` comments, then the identity). The file is created with mode
 * 0600 in a 0700 directory, and refused (`KEY_FILE_PERMISSIONS`) when others can read it.
 * Returns the new recipient (`age1…`).
 *
 * @example
 * ```ts
 * import { addAgeIdentityToFile } from "@sealfig/sealfig/document";
 * const recipient = await addAgeIdentityToFile("/tmp/demo-age-keys.txt"); // "age1…"
 * ```
 */
export async function addAgeIdentityToFile(file: string = defaultAgeKeyFile()): Promise<string> {
  const identity = await AgeKeyProvider.generateIdentity();
  const recipient = await AgeKeyProvider.recipientOf(identity);
  await readKeyFile(file); // checks the permissions of an existing file
  const existing = (await statFile(file))
    ? new TextDecoder().decode(await readFileBytes(file)).replace(/\n*$/, "\n\n")
    : "";
  const created = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  await makeDir(joinPath(file, ".."), 0o700);
  await writeFileAtomic(
    file,
    `${existing}# created: ${created}\n# public key: ${recipient}\n${identity}\n`,
    { mode: 0o600 },
  );
  return recipient;
}

/** Options for {@link AgeKeyProvider}. */
export interface AgeKeyProviderOptions {
  /**
   * Identities (`AGE-SECRET-KEY-1…`) to use instead of `SEALFIG_AGE_KEY` and the key file.
   * Default: none, read the environment and the key file.
   */
  identities?: readonly string[];
  /**
   * The identity file. Default `$SEALFIG_AGE_KEY_FILE`, else
   * `<user config dir>/sealfig/age/keys.txt`.
   */
  keyFile?: string;
}

interface Held {
  /** recipient → identity */
  identities: Map<string, string>;
  /** Identities of kinds sealfig does not use (plugins, post-quantum), skipped. */
  skipped: number;
}

/**
 * Wraps data keys to age recipients. Sealing needs only the recipient; opening needs the
 * matching identity (from the `identities` option, `SEALFIG_AGE_KEY` or the key file).
 *
 * @example
 * ```ts
 * import { AgeKeyProvider } from "@sealfig/sealfig";
 * import { decryptValue, encryptValue } from "@sealfig/sealfig/document";
 * const identity = await AgeKeyProvider.generateIdentity();
 * const recipient = await AgeKeyProvider.recipientOf(identity);
 * // Anyone holding the recipient can seal:
 * const blob = await encryptValue("hunter2", {
 *   provider: new AgeKeyProvider({ identities: [] }),
 *   keyId: recipient,
 *   path: "db.password",
 * });
 * // Only the identity holder opens:
 * const reader = new AgeKeyProvider({ identities: [identity] });
 * await decryptValue(blob, { providers: [reader], path: "db.password" }); // "hunter2"
 * ```
 */
export class AgeKeyProvider implements KeyProvider {
  /** Always `age`. */
  readonly id: string = AGE_PROVIDER_ID;
  readonly #options: AgeKeyProviderOptions;
  #held: Promise<Held> | undefined;

  /**
   * Create a provider. Identities are read on first use, not here.
   *
   * @param options where identities come from; see {@link AgeKeyProviderOptions}.
   */
  constructor(options: AgeKeyProviderOptions = {}) {
    this.#options = options;
  }

  /** A new X25519 identity (`AGE-SECRET-KEY-1…`), as `age-keygen` makes them. Keep it private. */
  static async generateIdentity(): Promise<string> {
    return await (await loadLibrary()).generateX25519Identity();
  }

  /** The recipient (`age1…`) of an identity. Throws `KEY_INVALID` (never quoting the identity). */
  static async recipientOf(identity: string): Promise<string> {
    return await recipientOfIdentity(identity, "the given identity");
  }

  /** The recipients of the identities this provider holds (reads them on first call). */
  async keyIds(): Promise<string[]> {
    return [...(await this.#load()).identities.keys()];
  }

  /** Load the age library ahead of the first wrap or unwrap. Never rejects. */
  async prepare(_keyId: string): Promise<void> {
    await loadLibrary().catch(() => undefined);
  }

  /**
   * A new 256-bit data key wrapped to the recipient `keyId`, bound to `context`. Needs no
   * identity: holding the recipient is enough to seal.
   */
  async generateDataKey(
    keyId: string,
    context: EncryptionContext,
    _options?: ProviderCallOptions,
  ): Promise<GeneratedDataKey> {
    const plaintext = randomBytes(DEK_LENGTH);
    try {
      const wrapped = await wrap(keyId, plaintext, context);
      return { plaintext, wrapped, keyId };
    } catch (err) {
      plaintext.fill(0);
      throw err;
    }
  }

  /** Wrap a given data key to the recipient `keyId` (another key for a DEK another key wraps). */
  async wrapDataKey(
    keyId: string,
    plaintext: Uint8Array,
    context: EncryptionContext,
    _options?: ProviderCallOptions,
  ): Promise<{ wrapped: Uint8Array; keyId: string }> {
    if (plaintext.length !== DEK_LENGTH) {
      throw new SealfigError("OPTION_INVALID", `A data key is ${DEK_LENGTH} bytes`, { keyId });
    }
    return { wrapped: await wrap(keyId, plaintext, context), keyId };
  }

  /** Unwrap a data key wrapped to `keyId`; needs the identity of that recipient. */
  async decryptDataKey(
    keyId: string,
    wrapped: Uint8Array,
    context: EncryptionContext,
    _options?: ProviderCallOptions,
  ): Promise<Uint8Array> {
    // A key id that is not a recipient is never echoed (it may be key material in the wrong place).
    if (!RECIPIENT.test(keyId)) throw notRecipient(keyId);
    const identity = await this.#identity(keyId);
    if (wrapped.length > MAX_WRAPPED) throw unwrapFailed(keyId);
    const lib = await loadLibrary();
    let payload: Uint8Array;
    try {
      const d = new lib.Decrypter();
      d.addIdentity(identity);
      payload = await d.decrypt(wrapped);
    } catch {
      throw unwrapFailed(keyId);
    }
    try {
      if (payload.length !== PAYLOAD_LENGTH || payload[0] !== PAYLOAD_VERSION) {
        throw unwrapFailed(keyId);
      }
      const expected = await binding(keyId, context);
      if (!timingSafeEqual(payload.subarray(1 + DEK_LENGTH), expected)) throw unwrapFailed(keyId);
      return payload.slice(1, 1 + DEK_LENGTH);
    } finally {
      payload.fill(0);
    }
  }

  /** Re-wrap a data key to another recipient (needs the identity of the current one). */
  async rewrapDataKey(
    keyId: string,
    wrapped: Uint8Array,
    context: EncryptionContext,
    toKeyId: string,
    _options?: ProviderCallOptions,
  ): Promise<RewrappedDataKey> {
    const dek = await this.decryptDataKey(keyId, wrapped, context);
    try {
      return { wrapped: await wrap(toKeyId, dek, context), keyId: toKeyId };
    } finally {
      dek.fill(0);
    }
  }

  async #identity(keyId: string): Promise<string> {
    const held = await this.#load();
    const identity = held.identities.get(keyId);
    if (identity !== undefined) return identity;
    const file = this.#keyFilePath();
    const have = [...held.identities.keys()];
    const skipped = held.skipped
      ? ` (${held.skipped} identit${
        held.skipped === 1 ? "y" : "ies"
      } of another kind skipped: sealfig uses native X25519 identities only)`
      : "";
    throw new SealfigError("KEY_NOT_FOUND", `No age identity for recipient ${keyId} is available`, {
      keyId,
      hint: (this.#options.identities
        ? "Pass the identity of that recipient in the identities option"
        : `Set ${WHERE_IDENTITIES}, or put the identity in ${file}`) +
        (have.length ? `; identities held are for ${have.join(", ")}` : "; no identity is held") +
        skipped + ". Holding only the recipient lets you seal values, not open them",
    });
  }

  #keyFilePath(): string {
    return this.#options.keyFile ?? defaultAgeKeyFile();
  }

  #load(): Promise<Held> {
    if (!this.#held) {
      this.#held = this.#loadIdentities();
      // A failed load (bad permissions, malformed file) is retried on the next use.
      this.#held.catch(() => (this.#held = undefined));
    }
    return this.#held;
  }

  async #loadIdentities(): Promise<Held> {
    const held: Held = { identities: new Map(), skipped: 0 };
    const add = async (line: string, where: string) => {
      if (OTHER_IDENTITY.test(line)) {
        held.skipped++;
        return;
      }
      const identity = line.toUpperCase() === line || line.toLowerCase() === line
        ? line.toUpperCase()
        : line;
      held.identities.set(await recipientOfIdentity(identity, where), identity);
    };
    if (this.#options.identities) {
      for (const [i, text] of this.#options.identities.entries()) {
        await add(text.trim(), `identity ${i + 1} of the identities option`);
      }
      return held;
    }
    const env = getEnv("SEALFIG_AGE_KEY");
    if (env) {
      for (const [line, text] of keyLines(env)) {
        await add(text, `SEALFIG_AGE_KEY (line ${line})`);
      }
    }
    const file = this.#keyFilePath();
    for (const [line, text] of await readKeyFile(file)) await add(text, `${file}:${line}`);
    return held;
  }
}

/** Non-blank, non-comment lines of key text: `[lineNumber, text]`. */
function keyLines(text: string): [number, string][] {
  const out: [number, string][] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t && !t.startsWith("#")) out.push([i + 1, t]);
  });
  return out;
}

async function recipientOfIdentity(identity: string, where: string): Promise<string> {
  const malformed = () =>
    new SealfigError("KEY_INVALID", `Malformed age identity in ${where}`, {
      hint: "An age identity is AGE-SECRET-KEY-1 followed by 58 characters, one a line, as " +
        "age-keygen writes it; # starts a comment",
    });
  if (!IDENTITY.test(identity)) throw malformed();
  const lib = await loadLibrary();
  let recipient: string;
  try {
    recipient = await lib.identityToRecipient(identity);
  } catch {
    // The library's message may quote the text: never pass it on.
    throw malformed();
  }
  if (!RECIPIENT.test(recipient)) throw malformed();
  return recipient;
}

/** SHA-256 over the label, the recipient and the canonical context (docs/format.md). */
async function binding(recipient: string, context: EncryptionContext): Promise<Bytes> {
  const w = new ByteWriter().bytes(WRAP_LABEL).lp32(utf8(recipient));
  const pairs = canonicalContext(context);
  w.u32(pairs.length);
  for (const [k, v] of pairs) w.lp32(k).lp32(v);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", w.finish()));
}

async function wrap(
  recipient: string,
  dek: Uint8Array,
  context: EncryptionContext,
): Promise<Uint8Array> {
  if (!RECIPIENT.test(recipient)) throw notRecipient(recipient);
  const lib = await loadLibrary();
  const payload = concat(Uint8Array.of(PAYLOAD_VERSION), dek, await binding(recipient, context));
  try {
    const e = new lib.Encrypter();
    try {
      e.addRecipient(recipient);
    } catch {
      throw notRecipient(recipient);
    }
    let wrapped: Uint8Array;
    try {
      wrapped = await e.encrypt(payload);
    } catch {
      // A recipient whose checksum fails is refused here, on first use.
      throw notRecipient(recipient);
    }
    if (wrapped.length > MAX_WRAPPED) throw notRecipient(recipient);
    return wrapped;
  } finally {
    payload.fill(0);
  }
}

function notRecipient(recipient: string): SealfigError {
  // Quoted only when it has the form of a recipient (public): anything else may be key material
  // pasted in the wrong place (an identity, a local key).
  const shown = RECIPIENT.test(recipient) ? recipient : "The key id";
  return new SealfigError("KEY_INVALID", `${shown} is not an age recipient`, {
    hint: "An age recipient is age1… as age-keygen prints it (age-keygen -y KEYFILE prints the " +
      "recipient of an identity); sealfig uses native X25519 recipients",
  });
}

function unwrapFailed(keyId: string): SealfigError {
  return new SealfigError("DEK_UNWRAP_FAILED", "Cannot unwrap the data key", {
    keyId,
    hint:
      "The wrapped key was altered, or the value was moved into a file with another encryption context",
  });
}
