/**
 * The key allowlist: which (provider, key) pairs a reader accepts blobs and integrity records
 * from. A blob names the key its data key is wrapped under, and anyone can seal a value under a
 * key *they* control with an open key policy: it authenticates perfectly. So the ciphertext never
 * chooses the key: every blob's key is checked against this list **before** any provider call,
 * and a blob under any other key is `KEY_UNTRUSTED`.
 *
 * - Local keys: compared by key id (`lk_…`).
 * - age keys: compared by recipient (`age1…`; `age:age1…` in references).
 * - KMS keys: blobs record key ARNs. Trusted references that are aliases (`alias/app`, alias ARNs)
 *   or bare key ids are resolved to ARNs once per provider (`KeyProvider.resolveKeyId`, KMS
 *   `DescribeKey`), and only when a blob's key is not already trusted by ARN. Multi-Region key
 *   replicas (`mrk-…`) count as one key: the region is ignored for them.
 *
 * @module
 */
import { SealfigError, type SealfigErrorOptions } from "../errors.ts";
import { AGE_PROVIDER_ID, containsAgeIdentity, isAgeRecipient } from "./age.ts";
import type { KeyProvider } from "./key_provider.ts";

/**
 * Which keys to trust: key references (`local:<id>`, KMS key/alias ARN, `alias/<name>`, age
 * recipient), or `"any"`.
 */
export type TrustedKeys = readonly string[] | "any";

/** A (provider, key) pair as a blob or record names it. */
export interface KeyName {
  /** Provider id, e.g. `local` or `aws-kms`. */
  providerId: string;
  /** Key id as recorded (local fingerprint, KMS key ARN). */
  keyId: string;
  /**
   * Every key of a several-key blob or record (docs/format.md §11), the first being
   * `providerId`/`keyId`. It is trusted when any of them is (and is opened only through those).
   */
  slots?: readonly KeyName[];
}

/** Options for {@link KeyAllowlist}. */
export interface KeyAllowlistOptions {
  /**
   * Also trust every key the `local` provider holds (its key file and `SEALFIG_KEY`: the user's
   * own keys). Default false.
   */
  localHeld?: boolean;
}

// Strict KMS reference forms: what KMS itself accepts, nothing looser (docs/format.md §10).
const PARTITION = "aws(?:-[a-z]+){0,2}";
const REGION = "[a-z]{2}(?:-[a-z]+){1,2}-[1-9][0-9]?";
const ACCOUNT = "[0-9]{12}";
const KEY_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const KEY_MRK = "mrk-[0-9a-f]{32}";
const ALIAS_NAME = "alias/[A-Za-z0-9/_-]{1,250}";
/** A key ARN: partition, Region, account, key id (UUID or `mrk-` + 32 hex digits). */
const KEY_ARN = new RegExp(
  `^arn:(${PARTITION}):kms:(${REGION}):(${ACCOUNT}):key/(${KEY_UUID}|${KEY_MRK})$`,
);
const ALIAS_ARN = new RegExp(`^arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:${ALIAS_NAME}$`);
const ALIAS = new RegExp(`^${ALIAS_NAME}$`);
const BARE_KEY_ID = new RegExp(`^(?:${KEY_UUID}|${KEY_MRK})$`);
/** A local key id: `lk_` + 16 lower-case hex digits. */
const LOCAL_KEY_ID = /^lk_[0-9a-f]{16}$/;
/** Any other provider's key id: printable, no spaces, bounded. */
const OTHER_KEY_ID = /^[\x21-\x7e]{1,2048}$/;

/**
 * Whether `keyId` is a well-formed key reference for `providerId`: for `aws-kms` a key ARN, alias
 * ARN, `alias/<name>`, key id or `mrk-` id (strictly: partition, Region, 12-digit account); for
 * `local` an `lk_` id; for `age` a native recipient (`age1…`); for other providers printable text
 * without spaces.
 *
 * @example
 * ```ts
 * import { isValidKeyReference } from "./allowlist.ts";
 * isValidKeyReference("aws-kms", "arn:aws:kms:*:111122223333:key/mrk-0123456789abcdef0123456789abcdef"); // false
 * ```
 */
export function isValidKeyReference(providerId: string, keyId: string): boolean {
  if (providerId === "aws-kms") {
    return KEY_ARN.test(keyId) || ALIAS_ARN.test(keyId) || ALIAS.test(keyId) ||
      BARE_KEY_ID.test(keyId);
  }
  if (providerId === "local") return LOCAL_KEY_ID.test(keyId);
  if (providerId === AGE_PROVIDER_ID) return isAgeRecipient(keyId);
  return /^[a-z0-9-]{1,32}$/.test(providerId) && OTHER_KEY_ID.test(keyId);
}

/**
 * The comparable form of a key a blob or record names, or undefined when it is not well formed
 * (never trusted). KMS blobs name key ARNs; a multi-Region key's Region is dropped so every
 * replica compares equal.
 */
function canonicalKms(keyId: string): string | undefined {
  const m = KEY_ARN.exec(keyId);
  if (!m) return BARE_KEY_ID.test(keyId) ? keyId : undefined;
  if (m[4]!.startsWith("mrk-")) return `arn:${m[1]}:kms:*:${m[3]}:key/${m[4]}`;
  return keyId;
}

/**
 * Parse one trusted-key reference. Error messages never quote the text: a key (local key
 * material, `sealfig-local-key-v1:…`) pasted where its id belongs must not be echoed.
 */
function parseRef(ref: string, index: number): KeyName {
  if (ref.includes("sealfig-local-key-")) {
    throw new SealfigError(
      "OPTION_INVALID",
      `Trusted key #${index + 1} is a local key itself, not its id`,
      {
        hint: "Name a local key by its id (local:lk_…, as sealfig keygen prints it); keep the " +
          "key out of configuration and environment listings",
      },
    );
  }
  if (containsAgeIdentity(ref)) {
    throw new SealfigError(
      "OPTION_INVALID",
      `Trusted key #${index + 1} is an age identity, not its recipient`,
      {
        hint: "Name an age key by its recipient (age1…; age-keygen -y KEYFILE prints it); keep " +
          "the identity in SEALFIG_AGE_KEY_FILE or SEALFIG_AGE_KEY",
      },
    );
  }
  const m = /^([a-z0-9-]{1,32}):(.+)$/.exec(ref);
  let k: KeyName | undefined;
  if (ref.startsWith("age1")) {
    k = { providerId: AGE_PROVIDER_ID, keyId: ref };
  } else if (m && !ref.startsWith("arn:") && !ref.startsWith("alias/")) {
    k = { providerId: m[1]!, keyId: m[2]! };
  } else if (ref.startsWith("arn:") || ref.startsWith("alias/")) {
    k = { providerId: "aws-kms", keyId: ref };
  }
  if (k && isValidKeyReference(k.providerId, k.keyId)) return k;
  throw new SealfigError("OPTION_INVALID", `Trusted key #${index + 1} is not a key reference`, {
    hint: "Use local:lk_<16 hex digits>, a KMS key ARN (arn:aws:kms:<region>:<12-digit " +
      "account>:key/<key id>), an alias ARN, alias/<name>, aws-kms:<key id> or an age " +
      "recipient (age1…)",
  });
}

/** How a key name is shown in messages (`local:lk_…`, the ARN, or the age recipient). */
export function describeKeyName(k: KeyName): string {
  return (k.providerId === "aws-kms" && k.keyId.startsWith("arn:")) ||
      (k.providerId === AGE_PROVIDER_ID && isAgeRecipient(k.keyId))
    ? k.keyId
    : `${k.providerId}:${k.keyId}`;
}

/**
 * A set of trusted keys. Build it with {@link KeyAllowlist.of}, {@link KeyAllowlist.any} or
 * {@link KeyAllowlist.from}; check a blob's key with {@link KeyAllowlist.check} before opening it.
 *
 * @example
 * ```ts
 * import { KeyAllowlist } from "@sealfig/sealfig/document";
 * const trusted = KeyAllowlist.of(["local:lk_0123456789abcdef"]);
 * await trusted.isTrusted({ providerId: "local", keyId: "lk_0123456789abcdef" }, []); // true
 * await trusted.isTrusted({ providerId: "local", keyId: "lk_ffffffffffffffff" }, []); // false
 * ```
 */
export class KeyAllowlist {
  readonly #any: boolean;
  readonly #localHeld: boolean;
  /** Exact (provider, canonical key id) pairs. */
  readonly #exact = new Set<string>();
  /** References that need resolving first, by provider id. */
  readonly #unresolved = new Map<string, string[]>();
  /** Resolutions per provider object (a provider answers for its own account and endpoint). */
  readonly #resolved = new WeakMap<KeyProvider, Promise<Set<string>>>();
  readonly #refs: readonly string[];

  private constructor(refs: readonly string[], any: boolean, options: KeyAllowlistOptions) {
    this.#any = any;
    this.#localHeld = options.localHeld === true;
    this.#refs = refs;
    for (const [i, ref] of refs.entries()) {
      const k = parseRef(ref, i);
      if (k.providerId === "aws-kms" && !KEY_ARN.test(k.keyId)) {
        const list = this.#unresolved.get(k.providerId) ?? [];
        list.push(k.keyId);
        this.#unresolved.set(k.providerId, list);
      } else {
        this.#exact.add(exactKey(k)!);
      }
    }
  }

  /**
   * Trust exactly these key references (`local:<id>`, KMS key ARN, alias ARN, `alias/<name>`,
   * `aws-kms:<key id>`). Throws `OPTION_INVALID` for anything else.
   */
  static of(refs: readonly string[], options: KeyAllowlistOptions = {}): KeyAllowlist {
    return new KeyAllowlist([...refs], false, options);
  }

  /** Trust every key (discovery mode): a blob under a key anyone controls is accepted. */
  static any(): KeyAllowlist {
    return new KeyAllowlist([], true, {});
  }

  /** `"any"` → {@link KeyAllowlist.any}; a list → {@link KeyAllowlist.of}. */
  static from(trusted: TrustedKeys, options: KeyAllowlistOptions = {}): KeyAllowlist {
    return trusted === "any" ? KeyAllowlist.any() : KeyAllowlist.of(trusted, options);
  }

  /** True in discovery mode (every key trusted). */
  get trustsAny(): boolean {
    return this.#any;
  }

  /** The trusted references as given, for messages (`any` in discovery mode). */
  describe(): string {
    if (this.#any) return "any key";
    const parts = [...this.#refs];
    if (this.#localHeld) parts.push("the local keys you hold");
    return parts.length ? parts.join(", ") : "no key";
  }

  /**
   * Whether `key` is trusted. May resolve trusted aliases through `providers` (once per provider);
   * never calls a provider about `key` itself.
   */
  async isTrusted(key: KeyName, providers: readonly KeyProvider[]): Promise<boolean> {
    if (this.#any) return true;
    if (key.slots && key.slots.length > 1) {
      for (const slot of key.slots) {
        if (await this.#isTrustedOne(slot, providers)) return true;
      }
      return false;
    }
    return await this.#isTrustedOne(key, providers);
  }

  /**
   * Whether `key` (one key: a v1 blob's or one slot) is trusted on what is known without any
   * call: true in discovery mode or when it is listed exactly; false means "not known yet"
   * (an alias to resolve, a local key to look up) — ask {@link KeyAllowlist.isTrusted}.
   */
  trustedNow(key: KeyName): boolean {
    if (this.#any) return true;
    const id = exactKey(key);
    return id !== undefined && this.#exact.has(id);
  }

  async #isTrustedOne(key: KeyName, providers: readonly KeyProvider[]): Promise<boolean> {
    // A malformed key name (say a KMS ARN with a `*` or empty Region) is never trusted.
    const id = exactKey(key);
    if (id === undefined) return false;
    if (this.#exact.has(id)) return true;
    const provider = providers.find((p) => p.id === key.providerId);
    if (this.#localHeld && key.providerId === "local") {
      // Only keys the provider can list: one that cannot list its keys trusts none (fail closed).
      if (provider?.keyIds && (await provider.keyIds()).includes(key.keyId)) return true;
    }
    const pending = this.#unresolved.get(key.providerId);
    if (!pending || !provider) return false;
    let resolved = this.#resolved.get(provider);
    if (!resolved) {
      resolved = this.#resolve(provider, pending);
      const mine = resolved;
      mine.catch(() => {
        if (this.#resolved.get(provider) === mine) this.#resolved.delete(provider);
      });
      this.#resolved.set(provider, resolved);
    }
    return (await resolved).has(id);
  }

  async #resolve(provider: KeyProvider, refs: readonly string[]): Promise<Set<string>> {
    const ids = await Promise.all(
      refs.map((r) => provider.resolveKeyId ? provider.resolveKeyId(r) : Promise.resolve(r)),
    );
    const out = new Set<string>();
    for (const keyId of ids) {
      // A resolution is trusted only as a well-formed key ARN.
      const id = KEY_ARN.test(keyId) ? exactKey({ providerId: provider.id, keyId }) : undefined;
      if (id !== undefined) out.add(id);
    }
    return out;
  }

  /**
   * Throw `KEY_UNTRUSTED` (naming the key) unless `key` is trusted. Callers add the file and path.
   */
  async check(key: KeyName, providers: readonly KeyProvider[]): Promise<void> {
    if (!(await this.isTrusted(key, providers))) throw this.#untrusted(key);
  }

  /**
   * Check many keys in order (each distinct key is looked up once) and throw `KEY_UNTRUSTED` for
   * the first untrusted one, with the location `where` gives for it.
   */
  async checkAll(
    items: Iterable<{ key: KeyName; where: () => SealfigErrorOptions }>,
    providers: readonly KeyProvider[],
  ): Promise<void> {
    if (this.#any) return;
    const seen = new Map<string, boolean>();
    for (const { key, where } of items) {
      const id = key.slots && key.slots.length > 1
        ? key.slots.map((k) => `${k.providerId}\u0000${k.keyId}`).join("\u0002")
        : exactKey(key) ?? `\u0001${key.providerId}\u0000${key.keyId}`;
      let ok = seen.get(id);
      if (ok === undefined) seen.set(id, ok = await this.isTrusted(key, providers));
      if (!ok) throw this.#untrusted(key).withLocation(where());
    }
  }

  #untrusted(key: KeyName): SealfigError {
    const several = key.slots && key.slots.length > 1;
    return new SealfigError(
      "KEY_UNTRUSTED",
      several
        ? `Sealed with keys ${key.slots!.map(describeKeyName).join(", ")}, none of which is trusted`
        : `Sealed with key ${describeKeyName(key)}, which is not trusted`,
      {
        keyId: key.keyId,
        hint: `Trusted: ${this.describe()}. If the key is yours, name it in the rules ` +
          "(a rule's key or trusted_keys) or the loader's trustedKeys option; otherwise someone " +
          "else sealed this value",
      },
    );
  }
}

/**
 * Canonical names already computed, by provider id then key id: a pure function of the two,
 * asked for every value of a file (its trust check and the open), each time running the key-ARN
 * patterns otherwise. At most EXACT_MEMO names in all (key ids are up to 2,048 characters, and a
 * hostile file may name many): past that the memo starts again.
 */
const exactMemo = new Map<string, Map<string, string | null>>();
const EXACT_MEMO = 4096;
let exactMemoSize = 0;

function exactKey(k: KeyName): string | undefined {
  let byId = exactMemo.get(k.providerId);
  const known = byId?.get(k.keyId);
  if (known !== undefined) return known ?? undefined;
  let exact: string | undefined;
  if (isValidKeyReference(k.providerId, k.keyId)) {
    const id = k.providerId === "aws-kms" ? canonicalKms(k.keyId) : k.keyId;
    if (id !== undefined) exact = `${k.providerId}\u0000${id}`;
  }
  if (exactMemoSize >= EXACT_MEMO) {
    exactMemo.clear();
    exactMemoSize = 0;
    byId = undefined;
  }
  if (!byId) exactMemo.set(k.providerId, byId = new Map());
  byId.set(k.keyId, exact ?? null);
  exactMemoSize++;
  return exact;
}

/**
 * Parse `SEALFIG_TRUSTED_KEYS`-style text: `any`, or key references separated by commas.
 * Returns undefined for an empty or unset value.
 *
 * @example
 * ```ts
 * import { parseTrustedKeys } from "./allowlist.ts";
 * parseTrustedKeys("alias/app, local:lk_0123456789abcdef"); // ["alias/app", "local:lk_0123456789abcdef"]
 * parseTrustedKeys("any"); // "any"
 * ```
 */
export function parseTrustedKeys(text: string | undefined): TrustedKeys | undefined {
  const t = text?.trim();
  if (!t) return undefined;
  if (t === "any") return "any";
  const refs = t.split(",").map((s) => s.trim()).filter((s) => s !== "");
  refs.forEach(parseRef);
  return refs;
}

/**
 * The same providers, each checking the allowlist before every `decryptDataKey` and
 * `rewrapDataKey` call (`KEY_UNTRUSTED`, and no call is made). Generating data keys is not
 * restricted: sealing uses the key the caller chose.
 *
 * @example
 * ```ts
 * import { LocalKeyProvider } from "@sealfig/sealfig";
 * import { KeyAllowlist } from "@sealfig/sealfig/document";
 * import { guardProviders } from "./allowlist.ts";
 * const providers = guardProviders([new LocalKeyProvider()], KeyAllowlist.of([]));
 * providers[0]!.id; // "local"
 * ```
 */
export function guardProviders(
  providers: readonly KeyProvider[],
  trust: KeyAllowlist,
): KeyProvider[] {
  return providers.map((p) => {
    const guarded: KeyProvider = {
      id: p.id,
      generateDataKey: (keyId, context, options) => p.generateDataKey(keyId, context, options),
      decryptDataKey: async (keyId, wrapped, context, options) => {
        await trust.check({ providerId: p.id, keyId }, providers);
        return await p.decryptDataKey(keyId, wrapped, context, options);
      },
    };
    const rewrap = p.rewrapDataKey?.bind(p);
    if (rewrap) {
      guarded.rewrapDataKey = async (keyId, wrapped, context, toKeyId, options) => {
        await trust.check({ providerId: p.id, keyId }, providers);
        return await rewrap(keyId, wrapped, context, toKeyId, options);
      };
    }
    // Wrapping under a key (sealing for it) is not restricted, like generating.
    const wrap = p.wrapDataKey?.bind(p);
    if (wrap) {
      guarded.wrapDataKey = (keyId, plaintext, context, options) =>
        wrap(keyId, plaintext, context, options);
    }
    const resolve = p.resolveKeyId?.bind(p);
    if (resolve) guarded.resolveKeyId = (keyId, options) => resolve(keyId, options);
    // Keep the local provider's key list visible (the "local keys you hold" default).
    const held = p.keyIds?.bind(p);
    if (held) guarded.keyIds = () => held();
    return guarded;
  });
}
