/**
 * The KMS operations of the local server, independent of HTTP: keys, aliases, key material
 * versions, ciphertext blobs, the permission model and the persisted state.
 *
 * Ciphertext blobs are self-describing: `0x01 | u8 len | key id | u32 material version | 12-byte IV
 * | AES-256-GCM ciphertext and tag`. The header and the encryption context (sorted by the UTF-8
 * bytes of the keys, every key and value length-prefixed) are the GCM associated data, so a blob
 * only decrypts with the same context, and a changed key id or version fails authentication.
 *
 * @module
 */
import { ByteWriter, concat, randomBytes, utf8 } from "../crypto/bytes.ts";
import { fromBase64, KmsApiError, toBase64 } from "./_wire.ts";

/** Key states the server models. */
export type KmsKeyState = "Enabled" | "Disabled" | "PendingDeletion";

/** A key in one region (a multi-Region replica is a separate record with the same id). */
export interface KmsKeyRecord {
  keyId: string;
  region: string;
  description: string;
  creationDate: number;
  state: KmsKeyState;
  deletionDate?: number;
  pendingWindowInDays?: number;
  multiRegion: boolean;
  /** For multi-Region keys: the primary's region. */
  primaryRegion?: string;
  rotations: number[];
}

interface AliasRecord {
  target: string;
  creationDate: number;
  lastUpdatedDate: number;
}

/**
 * Allowed operations per access key id, then per key reference (key id, key ARN, alias name,
 * alias ARN or `"*"`). Operation names are KMS action names with or without `kms:`; a trailing
 * `*` matches a prefix (`ReEncrypt*`, `*`). ReEncrypt checks `ReEncryptFrom` on the source key
 * and `ReEncryptTo` on the destination, as KMS does. Calls that name no key (CreateKey, ListKeys,
 * ListAliases) are checked against the `"*"` entry.
 */
export type KmsPolicy = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

/** Who calls, and in which region. */
export interface KmsCaller {
  accessKeyId: string;
  region: string;
}

/** JSON request or response body. */
export type KmsJson = Record<string, unknown>;

const BLOB_VERSION = 0x01;
const AAD_LABEL = utf8("sealfig-kms-server:v1");
const MAX_PLAINTEXT = 4096;

/** Serialized state (a dev server: it holds raw key material). */
interface StateFile {
  format: "sealfig-kms-server-state";
  version: 1;
  keys: KmsKeyRecord[];
  materials: Record<string, string[]>;
  aliases: {
    region: string;
    name: string;
    target: string;
    creationDate: number;
    lastUpdatedDate: number;
  }[];
}

/** Options for {@link KmsService}. */
export interface KmsServiceOptions {
  account: string;
  policy?: KmsPolicy | undefined;
  /** Called after every state change (persistence). */
  onChange?: () => void;
}

/** The KMS operations. */
export class KmsService {
  readonly account: string;
  policy: KmsPolicy | undefined;
  readonly #keys = new Map<string, KmsKeyRecord>();
  readonly #materials = new Map<string, Uint8Array<ArrayBuffer>[]>();
  readonly #aliases = new Map<string, Map<string, AliasRecord>>();
  readonly #cryptoKeys = new Map<string, Promise<CryptoKey>>();
  readonly #onChange: (() => void) | undefined;

  constructor(options: KmsServiceOptions) {
    this.account = options.account;
    this.policy = options.policy;
    this.#onChange = options.onChange;
  }

  // ---- state ---------------------------------------------------------------------------------

  /** The state as JSON text (includes raw key material). */
  serialize(): string {
    const state: StateFile = {
      format: "sealfig-kms-server-state",
      version: 1,
      keys: [...this.#keys.values()],
      materials: Object.fromEntries(
        [...this.#materials].map(([id, versions]) => [id, versions.map(toBase64)]),
      ),
      aliases: [...this.#aliases].flatMap(([region, m]) =>
        [...m].map(([name, a]) => ({ region, name, ...a }))
      ),
    };
    return JSON.stringify(state, null, 2) + "\n";
  }

  /**
   * Replace the state with one read from {@link serialize} output. The text is checked whole
   * before anything is replaced: a corrupt state throws and leaves the current one as it was.
   */
  restore(text: string): void {
    const state = JSON.parse(text) as StateFile;
    if (state?.format !== "sealfig-kms-server-state" || state.version !== 1) {
      throw new Error("not a sealfig kms-server state file");
    }
    const str = (v: unknown) => typeof v === "string";
    const num = (v: unknown) => typeof v === "number" && Number.isFinite(v);
    if (
      !Array.isArray(state.keys) || !Array.isArray(state.aliases) ||
      typeof state.materials !== "object" || state.materials === null ||
      !state.keys.every((k) =>
        typeof k === "object" && k !== null && str(k.keyId) && str(k.region)
      ) ||
      !state.aliases.every((a) =>
        typeof a === "object" && a !== null && str(a.region) && str(a.name) && str(a.target) &&
        num(a.creationDate) && num(a.lastUpdatedDate)
      )
    ) {
      throw new Error("malformed sealfig kms-server state file");
    }
    const materials = new Map<string, Uint8Array<ArrayBuffer>[]>();
    for (const [id, versions] of Object.entries(state.materials)) {
      if (!Array.isArray(versions) || versions.length === 0) {
        throw new Error("bad key material in state file");
      }
      materials.set(
        id,
        versions.map((b) => {
          const bytes = typeof b === "string" ? fromBase64(b) : undefined;
          if (!bytes || bytes.length !== 32) throw new Error("bad key material in state file");
          return bytes;
        }),
      );
    }
    if (!state.keys.every((k) => materials.has(k.keyId))) {
      throw new Error("a key without material in state file");
    }
    this.#keys.clear();
    this.#materials.clear();
    this.#aliases.clear();
    this.#cryptoKeys.clear();
    for (const k of state.keys) this.#keys.set(`${k.region}/${k.keyId}`, k);
    for (const [id, versions] of materials) this.#materials.set(id, versions);
    for (const a of state.aliases) {
      this.#aliasMap(a.region).set(a.name, {
        target: a.target,
        creationDate: a.creationDate,
        lastUpdatedDate: a.lastUpdatedDate,
      });
    }
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** The ARN of a key. */
  keyArn(k: { region: string; keyId: string }): string {
    return `arn:aws:kms:${k.region}:${this.account}:key/${k.keyId}`;
  }

  #aliasMap(region: string): Map<string, AliasRecord> {
    let m = this.#aliases.get(region);
    if (!m) this.#aliases.set(region, m = new Map());
    return m;
  }

  #changed(): void {
    this.#onChange?.();
  }

  /** Resolve a key reference in the caller's region; throws NotFoundException. */
  resolve(ref: unknown, region: string, param = "KeyId"): KmsKeyRecord {
    if (typeof ref !== "string" || ref.length === 0 || ref.length > 2048) {
      throw new KmsApiError(
        "ValidationException",
        `1 validation error detected: Value at '${param}' failed to satisfy constraint: Member must have length between 1 and 2048`,
      );
    }
    let keyId: string | undefined;
    const arn = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/.exec(ref);
    if (arn) {
      const [, r, acct, kind, rest] = arn;
      if (r !== region || acct !== this.account) {
        throw new KmsApiError("NotFoundException", `Invalid arn ${r}`);
      }
      if (kind === "key") keyId = rest;
      else keyId = this.#aliasTarget(`alias/${rest}`, region, ref);
    } else if (ref.startsWith("alias/")) {
      keyId = this.#aliasTarget(ref, region, `arn:aws:kms:${region}:${this.account}:${ref}`);
    } else if (ref.startsWith("arn:")) {
      throw new KmsApiError("NotFoundException", `Invalid arn ${ref.slice(0, 200)}`);
    } else {
      keyId = ref;
    }
    const key = this.#keys.get(`${region}/${keyId}`);
    if (!key) {
      throw new KmsApiError(
        "NotFoundException",
        `Key '${this.keyArn({ region, keyId: keyId! })}' does not exist`,
      );
    }
    return key;
  }

  #aliasTarget(name: string, region: string, arnForMessage: string): string {
    const a = this.#aliasMap(region).get(name);
    if (!a) throw new KmsApiError("NotFoundException", `Alias ${arnForMessage} is not found.`);
    return a.target;
  }

  /** Every name a key is known by in its region: id, ARN, alias names and alias ARNs. */
  #namesOf(key: KmsKeyRecord): string[] {
    const names = [key.keyId, this.keyArn(key)];
    for (const [name, a] of this.#aliasMap(key.region)) {
      if (a.target === key.keyId) {
        names.push(name, `arn:aws:kms:${key.region}:${this.account}:${name}`);
      }
    }
    return names;
  }

  /** Throw UnrecognizedClientException / AccessDeniedException unless the policy allows. */
  authorize(caller: KmsCaller, action: string, key: KmsKeyRecord | undefined): void {
    const names = key ? [...this.#namesOf(key), "*"] : ["*"];
    const resource = key ? this.keyArn(key) : `arn:aws:kms:${caller.region}:${this.account}:*`;
    this.#authorizeNames(caller, action, names, resource);
  }

  /**
   * The alias itself as a resource (its name, its ARN or `"*"`): alias operations need it besides
   * the key(s) involved, as in KMS, so nobody moves or removes an alias granted to someone else.
   */
  #authorizeAlias(caller: KmsCaller, action: string, region: string, name: string): void {
    const arn = `arn:aws:kms:${region}:${this.account}:${name}`;
    this.#authorizeNames(caller, action, [name, arn, "*"], arn);
  }

  /** The key itself (its id, its ARN or `"*"`), not through an alias pointing to it. */
  #authorizeKey(caller: KmsCaller, action: string, key: KmsKeyRecord): void {
    const arn = this.keyArn(key);
    this.#authorizeNames(caller, action, [key.keyId, arn, "*"], arn);
  }

  #authorizeNames(caller: KmsCaller, action: string, names: string[], resource: string): void {
    const policy = this.policy;
    if (!policy) return;
    const grants = policy[caller.accessKeyId];
    if (!grants) {
      throw new KmsApiError(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
      );
    }
    for (const name of names) {
      for (const pattern of grants[name] ?? []) {
        const p = pattern.startsWith("kms:") ? pattern.slice(4) : pattern;
        if (p === action || (p.endsWith("*") && action.startsWith(p.slice(0, -1)))) return;
      }
    }
    throw new KmsApiError(
      "AccessDeniedException",
      `User: arn:aws:iam::${this.account}:user/${caller.accessKeyId} is not authorized to perform: ` +
        `kms:${action} on resource: ${resource} because no identity-based policy allows the ` +
        `kms:${action} action`,
    );
  }

  #usable(key: KmsKeyRecord): void {
    if (key.state === "Disabled") {
      throw new KmsApiError("DisabledException", `${this.keyArn(key)} is disabled.`);
    }
    if (key.state === "PendingDeletion") {
      throw new KmsApiError("KMSInvalidStateException", `${this.keyArn(key)} is pending deletion.`);
    }
  }

  #metadata(key: KmsKeyRecord): KmsJson {
    const md: KmsJson = {
      AWSAccountId: this.account,
      KeyId: key.keyId,
      Arn: this.keyArn(key),
      CreationDate: key.creationDate,
      Enabled: key.state === "Enabled",
      Description: key.description,
      KeyUsage: "ENCRYPT_DECRYPT",
      KeyState: key.state,
      Origin: "AWS_KMS",
      KeyManager: "CUSTOMER",
      CustomerMasterKeySpec: "SYMMETRIC_DEFAULT",
      KeySpec: "SYMMETRIC_DEFAULT",
      EncryptionAlgorithms: ["SYMMETRIC_DEFAULT"],
      MultiRegion: key.multiRegion,
    };
    if (key.deletionDate !== undefined) md.DeletionDate = key.deletionDate;
    if (key.pendingWindowInDays !== undefined) {
      md.PendingDeletionWindowInDays = key.pendingWindowInDays;
    }
    if (key.multiRegion && key.primaryRegion) {
      const primary = {
        Arn: this.keyArn({ region: key.primaryRegion, keyId: key.keyId }),
        Region: key.primaryRegion,
      };
      const replicas = [...this.#keys.values()]
        .filter((k) => k.keyId === key.keyId && k.region !== key.primaryRegion)
        .map((k) => ({ Arn: this.keyArn(k), Region: k.region }));
      md.MultiRegionConfiguration = {
        MultiRegionKeyType: key.region === key.primaryRegion ? "PRIMARY" : "REPLICA",
        PrimaryKey: primary,
        ReplicaKeys: replicas,
      };
    }
    return md;
  }

  async #aesKey(keyId: string, version: number): Promise<CryptoKey> {
    const id = `${keyId}#${version}`;
    let p = this.#cryptoKeys.get(id);
    if (!p) {
      const material = this.#materials.get(keyId)?.[version];
      if (!material) throw new KmsApiError("InvalidCiphertextException", "");
      p = crypto.subtle.importKey("raw", material, "AES-GCM", false, ["encrypt", "decrypt"]);
      this.#cryptoKeys.set(id, p);
    }
    return await p;
  }

  async #encrypt(key: KmsKeyRecord, plaintext: Uint8Array, context: Record<string, string>) {
    const versions = this.#materials.get(key.keyId);
    if (!versions || versions.length === 0) {
      throw new KmsApiError("KMSInternalException", "Key material missing", 500);
    }
    const version = versions.length - 1;
    const header = blobHeader(key.keyId, version);
    const iv = randomBytes(12);
    const ct = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: aad(header, context) },
      await this.#aesKey(key.keyId, version),
      new Uint8Array(plaintext),
    );
    return concat(header, iv, new Uint8Array(ct));
  }

  /** Decrypt a blob in the caller's region; `expected` is the key named in the request, if any. */
  async #decrypt(
    caller: KmsCaller,
    blob: Uint8Array,
    context: Record<string, string>,
    expected: KmsKeyRecord | undefined,
    action: string,
  ): Promise<{ key: KmsKeyRecord; plaintext: Uint8Array<ArrayBuffer> }> {
    if (expected) this.authorize(caller, action, expected);
    const parsed = parseBlob(blob);
    if (!parsed) throw new KmsApiError("InvalidCiphertextException", "");
    if (expected && expected.keyId !== parsed.keyId) {
      throw new KmsApiError(
        "IncorrectKeyException",
        "The key ID in the request does not identify a CMK that can perform this operation.",
      );
    }
    const key = expected ?? this.#keys.get(`${caller.region}/${parsed.keyId}`);
    if (!key) throw new KmsApiError("InvalidCiphertextException", "");
    if (!expected) this.authorize(caller, action, key);
    this.#usable(key);
    let plaintext: ArrayBuffer;
    try {
      plaintext = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: parsed.iv, additionalData: aad(parsed.header, context) },
        await this.#aesKey(key.keyId, parsed.version),
        parsed.ct,
      );
    } catch {
      throw new KmsApiError("InvalidCiphertextException", "");
    }
    return { key, plaintext: new Uint8Array(plaintext) };
  }

  // ---- operations ----------------------------------------------------------------------------

  /** Run one operation. */
  async call(op: string, input: KmsJson, caller: KmsCaller): Promise<KmsJson> {
    const region = caller.region;
    switch (op) {
      case "CreateKey": {
        this.authorize(caller, "CreateKey", undefined);
        const usage = input.KeyUsage ?? "ENCRYPT_DECRYPT";
        const spec = input.KeySpec ?? input.CustomerMasterKeySpec ?? "SYMMETRIC_DEFAULT";
        if (usage !== "ENCRYPT_DECRYPT" || spec !== "SYMMETRIC_DEFAULT") {
          throw new KmsApiError(
            "UnsupportedOperationException",
            "This server supports only SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys",
          );
        }
        const key = this.createKey(region, {
          description: str(input.Description, "Description") ?? "",
          multiRegion: input.MultiRegion === true,
        });
        return { KeyMetadata: this.#metadata(key) };
      }
      case "DescribeKey": {
        const key = this.resolve(input.KeyId, region);
        this.authorize(caller, "DescribeKey", key);
        return { KeyMetadata: this.#metadata(key) };
      }
      case "ListKeys": {
        this.authorize(caller, "ListKeys", undefined);
        const all = [...this.#keys.values()].filter((k) => k.region === region)
          .map((k) => ({ KeyId: k.keyId, KeyArn: this.keyArn(k) }));
        return page(all, input, "Keys");
      }
      case "CreateAlias": {
        const name = aliasName(input.AliasName);
        const key = this.resolve(input.TargetKeyId, region, "TargetKeyId");
        this.#authorizeAlias(caller, "CreateAlias", region, name);
        this.#authorizeKey(caller, "CreateAlias", key);
        const aliases = this.#aliasMap(region);
        if (aliases.has(name)) {
          throw new KmsApiError(
            "AlreadyExistsException",
            `An alias with the name arn:aws:kms:${region}:${this.account}:${name} already exists`,
          );
        }
        const now = nowSeconds();
        aliases.set(name, { target: key.keyId, creationDate: now, lastUpdatedDate: now });
        this.#changed();
        return {};
      }
      case "UpdateAlias": {
        const name = aliasName(input.AliasName);
        const a = this.#aliasMap(region).get(name);
        if (!a) {
          throw new KmsApiError(
            "NotFoundException",
            `Alias arn:aws:kms:${region}:${this.account}:${name} is not found.`,
          );
        }
        const key = this.resolve(input.TargetKeyId, region, "TargetKeyId");
        // Like KMS: the alias, the key it points to now, and the key it is to point to.
        this.#authorizeAlias(caller, "UpdateAlias", region, name);
        const current = this.#keys.get(`${region}/${a.target}`);
        if (current) this.#authorizeKey(caller, "UpdateAlias", current);
        this.#authorizeKey(caller, "UpdateAlias", key);
        a.target = key.keyId;
        a.lastUpdatedDate = nowSeconds();
        this.#changed();
        return {};
      }
      case "DeleteAlias": {
        const name = aliasName(input.AliasName);
        const key = this.resolve(name, region, "AliasName");
        this.#authorizeAlias(caller, "DeleteAlias", region, name);
        this.#authorizeKey(caller, "DeleteAlias", key);
        this.#aliasMap(region).delete(name);
        this.#changed();
        return {};
      }
      case "ListAliases": {
        let filter: string | undefined;
        if (input.KeyId !== undefined) {
          const key = this.resolve(input.KeyId, region);
          this.authorize(caller, "ListAliases", key);
          filter = key.keyId;
        } else {
          this.authorize(caller, "ListAliases", undefined);
        }
        const all = [...this.#aliasMap(region)]
          .filter(([, a]) => filter === undefined || a.target === filter)
          .map(([name, a]) => ({
            AliasName: name,
            AliasArn: `arn:aws:kms:${region}:${this.account}:${name}`,
            TargetKeyId: a.target,
            CreationDate: a.creationDate,
            LastUpdatedDate: a.lastUpdatedDate,
          }));
        return page(all, input, "Aliases");
      }
      case "Encrypt": {
        const key = this.resolve(input.KeyId, region);
        this.authorize(caller, "Encrypt", key);
        this.#usable(key);
        algorithm(input.EncryptionAlgorithm);
        const plaintext = blob(input.Plaintext, "Plaintext", MAX_PLAINTEXT);
        const ct = await this.#encrypt(key, plaintext, context(input.EncryptionContext));
        return {
          CiphertextBlob: toBase64(ct),
          KeyId: this.keyArn(key),
          EncryptionAlgorithm: "SYMMETRIC_DEFAULT",
        };
      }
      case "Decrypt": {
        algorithm(input.EncryptionAlgorithm);
        const ct = blob(input.CiphertextBlob, "CiphertextBlob", 6144);
        const expected = input.KeyId === undefined ? undefined : this.resolve(input.KeyId, region);
        const { key, plaintext } = await this.#decrypt(
          caller,
          ct,
          context(input.EncryptionContext),
          expected,
          "Decrypt",
        );
        return {
          KeyId: this.keyArn(key),
          Plaintext: toBase64(plaintext),
          EncryptionAlgorithm: "SYMMETRIC_DEFAULT",
        };
      }
      case "GenerateDataKey":
      case "GenerateDataKeyWithoutPlaintext": {
        const key = this.resolve(input.KeyId, region);
        this.authorize(caller, op, key);
        this.#usable(key);
        const n = dataKeyLength(input);
        const plaintext = randomBytes(n);
        const ct = await this.#encrypt(key, plaintext, context(input.EncryptionContext));
        const out: KmsJson = { CiphertextBlob: toBase64(ct), KeyId: this.keyArn(key) };
        if (op === "GenerateDataKey") out.Plaintext = toBase64(plaintext);
        plaintext.fill(0);
        return out;
      }
      case "ReEncrypt": {
        const ct = blob(input.CiphertextBlob, "CiphertextBlob", 6144);
        algorithm(input.SourceEncryptionAlgorithm);
        algorithm(input.DestinationEncryptionAlgorithm);
        const expected = input.SourceKeyId === undefined
          ? undefined
          : this.resolve(input.SourceKeyId, region, "SourceKeyId");
        const dest = this.resolve(input.DestinationKeyId, region, "DestinationKeyId");
        const { key, plaintext } = await this.#decrypt(
          caller,
          ct,
          context(input.SourceEncryptionContext),
          expected,
          "ReEncryptFrom",
        );
        try {
          this.authorize(caller, "ReEncryptTo", dest);
          this.#usable(dest);
          const out = await this.#encrypt(
            dest,
            plaintext,
            context(input.DestinationEncryptionContext),
          );
          return {
            CiphertextBlob: toBase64(out),
            SourceKeyId: this.keyArn(key),
            KeyId: this.keyArn(dest),
            SourceEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
            DestinationEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
          };
        } finally {
          plaintext.fill(0);
        }
      }
      case "EnableKey":
      case "DisableKey": {
        const key = this.resolve(input.KeyId, region);
        this.authorize(caller, op, key);
        if (key.state === "PendingDeletion") this.#usable(key);
        key.state = op === "EnableKey" ? "Enabled" : "Disabled";
        this.#changed();
        return {};
      }
      case "ScheduleKeyDeletion": {
        const key = this.resolve(input.KeyId, region);
        this.authorize(caller, op, key);
        if (key.state === "PendingDeletion") this.#usable(key);
        const days = input.PendingWindowInDays ?? 30;
        if (typeof days !== "number" || !Number.isInteger(days) || days < 7 || days > 30) {
          throw new KmsApiError(
            "ValidationException",
            "1 validation error detected: Value at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30",
          );
        }
        key.state = "PendingDeletion";
        key.pendingWindowInDays = days;
        key.deletionDate = nowSeconds() + days * 86400;
        this.#changed();
        return {
          KeyId: this.keyArn(key),
          DeletionDate: key.deletionDate,
          KeyState: "PendingDeletion",
          PendingWindowInDays: days,
        };
      }
      case "CancelKeyDeletion": {
        const key = this.resolve(input.KeyId, region);
        this.authorize(caller, op, key);
        if (key.state !== "PendingDeletion") {
          throw new KmsApiError(
            "KMSInvalidStateException",
            `${this.keyArn(key)} is not pending deletion.`,
          );
        }
        key.state = "Disabled";
        delete key.deletionDate;
        delete key.pendingWindowInDays;
        this.#changed();
        return { KeyId: this.keyArn(key) };
      }
      case "RotateKeyOnDemand": {
        const key = this.resolve(input.KeyId, region);
        this.authorize(caller, op, key);
        this.#usable(key);
        if (key.multiRegion && key.region !== key.primaryRegion) {
          throw new KmsApiError(
            "UnsupportedOperationException",
            `${this.keyArn(key)} is a replica key; rotate the primary key.`,
          );
        }
        this.rotateKey(key);
        return { KeyId: key.keyId };
      }
      case "ReplicateKey": {
        const key = this.resolve(input.KeyId, region);
        this.authorize(caller, op, key);
        const to = str(input.ReplicaRegion, "ReplicaRegion");
        if (!to || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(to)) {
          throw new KmsApiError("ValidationException", "ReplicaRegion is not a valid region name");
        }
        const replica = this.replicateKey(key, to, str(input.Description, "Description"));
        return {
          ReplicaKeyMetadata: this.#metadata(replica),
          ReplicaPolicy: "{}",
          ReplicaTags: [],
        };
      }
      default:
        throw new KmsApiError("UnknownOperationException", "");
    }
  }

  // ---- direct (test API) -------------------------------------------------------------------

  /** Create a key in a region; returns its record. */
  createKey(
    region: string,
    options: { description?: string; multiRegion?: boolean } = {},
  ): KmsKeyRecord {
    const multiRegion = options.multiRegion === true;
    const keyId = multiRegion
      ? "mrk-" + crypto.randomUUID().replaceAll("-", "")
      : crypto.randomUUID();
    const key: KmsKeyRecord = {
      keyId,
      region,
      description: options.description ?? "",
      creationDate: nowSeconds(),
      state: "Enabled",
      multiRegion,
      rotations: [],
    };
    if (multiRegion) key.primaryRegion = region;
    this.#keys.set(`${region}/${keyId}`, key);
    this.#materials.set(keyId, [randomBytes(32)]);
    this.#changed();
    return key;
  }

  /** Add a material version; old ciphertexts keep decrypting. Shared by all replicas. */
  rotateKey(key: KmsKeyRecord): void {
    this.#materials.get(key.keyId)!.push(randomBytes(32));
    key.rotations.push(nowSeconds());
    this.#changed();
  }

  /** Create a replica of a multi-Region primary key in another region (same id and material). */
  replicateKey(key: KmsKeyRecord, toRegion: string, description?: string): KmsKeyRecord {
    if (!key.multiRegion || key.region !== key.primaryRegion) {
      throw new KmsApiError(
        "UnsupportedOperationException",
        `${this.keyArn(key)} is not a multi-Region primary key.`,
      );
    }
    if (this.#keys.has(`${toRegion}/${key.keyId}`)) {
      throw new KmsApiError(
        "AlreadyExistsException",
        `A replica of ${this.keyArn(key)} already exists in ${toRegion}.`,
      );
    }
    const replica: KmsKeyRecord = {
      ...key,
      region: toRegion,
      description: description ?? key.description,
      creationDate: nowSeconds(),
      rotations: [],
    };
    this.#keys.set(`${toRegion}/${key.keyId}`, replica);
    this.#changed();
    return replica;
  }

  /** Create or move an alias. */
  setAlias(region: string, name: string, key: KmsKeyRecord): void {
    const now = nowSeconds();
    const existing = this.#aliasMap(region).get(aliasName(name));
    this.#aliasMap(region).set(aliasName(name), {
      target: key.keyId,
      creationDate: existing?.creationDate ?? now,
      lastUpdatedDate: now,
    });
    this.#changed();
  }

  /** The number of material versions of a key. */
  materialVersions(keyId: string): number {
    return this.#materials.get(keyId)?.length ?? 0;
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function str(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") {
    throw new KmsApiError("SerializationException", `${name} must be a string`);
  }
  return v;
}

function aliasName(v: unknown): string {
  if (typeof v !== "string" || !/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(v)) {
    throw new KmsApiError(
      "ValidationException",
      "1 validation error detected: Value at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$",
    );
  }
  if (v.startsWith("alias/aws/")) {
    throw new KmsApiError(
      "NotAuthorizedException",
      "Aliases that begin with alias/aws/ are reserved.",
    );
  }
  return v;
}

function algorithm(v: unknown): void {
  if (v !== undefined && v !== "SYMMETRIC_DEFAULT") {
    throw new KmsApiError(
      "InvalidKeyUsageException",
      `This key does not support the ${String(v)} algorithm`,
    );
  }
}

function blob(v: unknown, name: string, max: number): Uint8Array<ArrayBuffer> {
  const bytes = typeof v === "string" ? fromBase64(v) : undefined;
  if (!bytes) throw new KmsApiError("SerializationException", `${name} must be base64`);
  if (bytes.length < 1 || bytes.length > max) {
    throw new KmsApiError(
      "ValidationException",
      `1 validation error detected: Value at '${name}' failed to satisfy constraint: Member must have length between 1 and ${max}`,
    );
  }
  return bytes;
}

function context(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new KmsApiError("SerializationException", "EncryptionContext must be a map");
  }
  for (const x of Object.values(v)) {
    if (typeof x !== "string") {
      throw new KmsApiError("SerializationException", "EncryptionContext values must be strings");
    }
  }
  return v as Record<string, string>;
}

function dataKeyLength(input: KmsJson): number {
  const { KeySpec: spec, NumberOfBytes: n } = input;
  if ((spec === undefined) === (n === undefined)) {
    throw new KmsApiError(
      "ValidationException",
      "Please specify either number of bytes or key spec.",
    );
  }
  if (spec !== undefined) {
    if (spec === "AES_256") return 32;
    if (spec === "AES_128") return 16;
    throw new KmsApiError(
      "ValidationException",
      "1 validation error detected: Value at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]",
    );
  }
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 1024) {
    throw new KmsApiError(
      "ValidationException",
      "1 validation error detected: Value at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024",
    );
  }
  return n;
}

function page<T>(all: T[], input: KmsJson, field: string): KmsJson {
  const limit = typeof input.Limit === "number" ? Math.min(Math.max(input.Limit, 1), 1000) : 100;
  const start = typeof input.Marker === "string" ? Number.parseInt(input.Marker, 10) : 0;
  if (!Number.isInteger(start) || start < 0) {
    throw new KmsApiError("InvalidMarkerException", "Marker is invalid");
  }
  const items = all.slice(start, start + limit);
  const truncated = start + limit < all.length;
  return truncated
    ? { [field]: items, Truncated: true, NextMarker: String(start + limit) }
    : { [field]: items, Truncated: false };
}

function blobHeader(keyId: string, version: number): Uint8Array<ArrayBuffer> {
  const id = utf8(keyId);
  return new ByteWriter().u8(BLOB_VERSION).u8(id.length).bytes(id).u32(version).finish();
}

function parseBlob(b: Uint8Array) {
  if (b.length < 2 || b[0] !== BLOB_VERSION) return undefined;
  const idLen = b[1]!;
  const headerLen = 2 + idLen + 4;
  if (b.length < headerLen + 12 + 16) return undefined;
  const keyId = new TextDecoder().decode(b.subarray(2, 2 + idLen));
  const v = b.subarray(2 + idLen, headerLen);
  const version = ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0;
  return {
    keyId,
    version,
    header: b.slice(0, headerLen),
    iv: b.slice(headerLen, headerLen + 12),
    ct: b.slice(headerLen + 12),
  };
}

/** Canonical AAD: label, blob header, then context pairs sorted by the UTF-8 bytes of the keys. */
function aad(header: Uint8Array, ctx: Record<string, string>): Uint8Array<ArrayBuffer> {
  const pairs = Object.entries(ctx).map(([k, v]) => [utf8(k), utf8(v)] as const);
  pairs.sort((a, b) => compareBytes(a[0], b[0]));
  const w = new ByteWriter().lp32(AAD_LABEL).lp32(header).u32(pairs.length);
  for (const [k, v] of pairs) w.lp32(k).lp32(v);
  return w.finish();
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
