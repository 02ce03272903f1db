/**
 * What the file commands share: resolving a file's rule (key, context, secret names, DEK policy)
 * from `.sealfig.yaml` and flags, reading the document (or stdin for `-`), choosing which plain
 * values the rules mark secret, and writing results atomically or to stdout.
 *
 * @module
 */
import { isSealfigError, SealfigError } from "../errors.ts";
import {
  type DocumentFormat,
  type DocumentValue,
  formatOfFile,
  locate,
  parseDocument,
  readDocument,
  type SealfigDocument,
} from "../document/document.ts";
import {
  applyEdits,
  decryptDocument,
  decryptView,
  type OpenDocumentOptions,
  type SealDocumentOptions,
} from "../document/seal.ts";
import type { KeyProvider } from "../keys/key_provider.ts";
import type { SealingKey } from "../envelope/values.ts";
import { defaultProviders, providerById } from "../keys/registry.ts";
import { type FileRule, formatKeyRef, type KeyRef } from "../rules.ts";
import { BUILTIN_SECRET_NAMES, secretNameOf } from "../secret_names.ts";
import { type FilePolicy, policyFor, refuseUnsealedSecrets } from "../policy.ts";
import { currentDir, joinPath, statFile, writeFileAtomic } from "../runtime.ts";
import { guardProviders, type KeyAllowlist } from "../keys/allowlist.ts";
import { DekCache } from "../cache/dek_cache.ts";
import { parseBlob } from "../envelope/format.ts";
import {
  type IntegrityRecord,
  isRecordPath,
  recordCut,
  recordPath,
  stripIntegrityRecord,
} from "../integrity/record.ts";
import {
  checkIntegrity,
  readIntegrityRecord,
  stampDocument,
  verifyIntegrity,
  withRecord,
} from "../integrity/verify.ts";
import { envSealing, rejectReservedContext } from "../config/env_overrides.ts";
import { type FlagSpec, type ParsedArgs, UsageError } from "./args.ts";
import { type CliContext, flagList, flagString } from "./command.ts";

/** Flags every file command accepts. */
export const RULE_FLAGS: Record<string, FlagSpec> = {
  rules: {
    type: "string",
    value: "FILE",
    description: "Rules file (default: nearest .sealfig.yaml)",
  },
  key: { type: "string", value: "REF", description: "Key to seal with, overriding the rules" },
  context: {
    type: "list",
    value: "K=V",
    description: "Encryption context entry, overriding the rules (repeatable)",
  },
  format: {
    type: "string",
    value: "yaml|env|json",
    description:
      "File format (default: by the file name, .env files as env, .json as json; yaml for stdin)",
  },
};

/** A file a command works on, with its policy and the providers to use. */
export interface Target {
  /** The path, or `-` for stdin. */
  file: string;
  /** The file's policy (src/policy.ts): key, context, trust, integrity, secret names, DEK policy. */
  rule: FilePolicy;
  /** Providers for opening blobs; each checks {@link Target.trust} before every unwrap. */
  providers: KeyProvider[];
  /**
   * The keys blobs and records are accepted under (the policy's allowlist: `SEALFIG_TRUSTED_KEYS`,
   * else every key the rules name and `trusted_keys`, else the local keys you hold and the file's
   * key; plus the key given with `--key`).
   */
  trust: KeyAllowlist;
  /** Data key cache shared by the command's verify, open and stamp steps on this file. */
  cache: DekCache;
  /** The file format: `--format`, else by the file name (stdin: yaml). */
  format: DocumentFormat;
  /**
   * The context the matching rule gives the file, when `--context` replaced it with another: a
   * write is then refused (readers that follow the rules could not open the file).
   */
  rulesContext?: Readonly<Record<string, string>>;
}

/** Options for {@link resolveTarget}. */
export interface ResolveTargetOptions {
  /** Look for the rules file from here instead of the file's directory (git helpers). */
  searchFrom?: string;
  /** The path the file's rule is matched with, when `file` is a temporary copy. */
  ruleFile?: string;
}

/**
 * The `--context K=V` flags as a context; a key given twice is a UsageError (which one was
 * meant?). Entries are defined, not assigned, so that a `__proto__` key reaches the context check
 * (which refuses it) instead of setting the object's prototype.
 */
export function parseContextFlags(flags: readonly string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (const kv of flags) {
    const eq = kv.indexOf("=");
    if (eq < 1) throw new UsageError(`--context wants KEY=VALUE, got ${JSON.stringify(kv)}`);
    const k = kv.slice(0, eq);
    if (Object.hasOwn(context, k)) {
      throw new UsageError(`--context ${k} is given twice`);
    }
    Object.defineProperty(context, k, {
      value: kv.slice(eq + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return context;
}

/** Resolve the policy and providers for `file`, applying `--rules`, `--key` and `--context`. */
export async function resolveTarget(
  file: string,
  args: ParsedArgs,
  ctx?: CliContext,
  options: ResolveTargetOptions = {},
): Promise<Target> {
  const ruleFile = options.ruleFile ??
    (file === "-" ? joinPath(currentDir(), "stdin.yaml") : file);
  const contextFlags = flagList(args, "context");
  const context = parseContextFlags(contextFlags);
  const rules = flagString(args, "rules");
  const key = flagString(args, "key");
  const policy = await policyFor(ruleFile, {
    ...(rules !== undefined ? { rules } : {}),
    ...(options.searchFrom !== undefined ? { searchFrom: options.searchFrom } : {}),
    ...(key ? { key } : {}),
    ...(contextFlags.length ? { context, contextSource: "--context" } : {}),
  });
  // `sealfig:source` is for values sealed for the environment (seal-env), never for a file.
  rejectReservedContext(policy.context, file === "-" ? undefined : file);
  const format = targetFormat(args, file, options.ruleFile);
  for (const ignored of policy.ignoredRules) {
    ctx?.stderr(
      `sealfig: WARNING: ignoring ${ignored}: other users can write it (or its directory)\n`,
    );
  }
  // The context a matching rule gives the file, when --context replaces it with another one.
  let rulesContext: Record<string, string> | undefined;
  if (contextFlags.length) {
    const base = await policyFor(ruleFile, {
      ...(rules !== undefined ? { rules } : {}),
      ...(options.searchFrom !== undefined ? { searchFrom: options.searchFrom } : {}),
    });
    const matched = base.source !== undefined &&
      (base.key !== undefined || Object.keys(base.context).length > 0);
    if (matched && !sameContext(base.context, context)) rulesContext = { ...base.context };
  }
  return targetOf(file, policy, defaultProviders(), format, rulesContext);
}

/**
 * The target for `file` under `policy`. A `.env` file's values are the environment's: its
 * context gets `sealfig:source = env`, as seal-env's values and the loader's (docs/config.md).
 */
export function targetOf(
  file: string,
  policy: FilePolicy,
  providers: KeyProvider[],
  format: DocumentFormat,
  rulesContext?: Readonly<Record<string, string>>,
): Target {
  const rule = format === "env"
    ? { ...policy, context: envSealing("", policy.context).context }
    : policy;
  return {
    file,
    rule,
    providers: guardProviders(providers, policy.trust),
    trust: policy.trust,
    cache: new DekCache(),
    format,
    ...(rulesContext ? { rulesContext } : {}),
  };
}

/** `--format`, else the format of the file's name (or of the path its rule is matched with). */
export function targetFormat(args: ParsedArgs, file: string, ruleFile?: string): DocumentFormat {
  const flag = args.flags.format;
  if (typeof flag === "string") {
    if (flag !== "yaml" && flag !== "env" && flag !== "json") {
      throw new UsageError(`--format wants yaml, env or json, got ${JSON.stringify(flag)}`);
    }
    return flag;
  }
  if (file === "-") return "yaml";
  // A temporary copy (git textconv) keeps the format of the path its rule is matched with.
  return formatOfFile(ruleFile ?? file);
}

function sameContext(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

function contextText(c: Readonly<Record<string, string>>): string {
  return `{ ${Object.entries(c).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ")} }`;
}

/**
 * Every written file must open for readers that follow the rules: a write with `--context`
 * other than the matching rule's is refused (reads may override the context freely).
 */
function refuseForeignContext(target: Target): void {
  if (!target.rulesContext) return;
  throw new SealfigError(
    "OPTION_INVALID",
    `--context ${contextText(target.rule.context)} differs from the context the rules give this ` +
      `file, ${contextText(target.rulesContext)} (${
        target.rule.source ?? ".sealfig.yaml"
      }): the file written would not open for the CLI or the app, which follow the rules`,
    {
      ...(target.file !== "-" ? { file: target.file } : {}),
      hint: "Drop --context to write with the rules' context. To move a file to another context, " +
        "decrypt it with the old one, change its rule in .sealfig.yaml and encrypt it again",
    },
  );
}

/** Read the target's document; `-` reads stdin. Throws FILE_NOT_FOUND etc. */
export async function readTarget(target: Target, ctx: CliContext): Promise<SealfigDocument> {
  if (target.file === "-") {
    return parseDocument(await ctx.readStdin(), { file: "<stdin>", format: target.format });
  }
  return await readDocument(target.file, { format: target.format });
}

/** Whether the target file exists (stdin always does). */
export async function targetExists(target: Target): Promise<boolean> {
  return target.file === "-" || (await statFile(target.file)) !== undefined;
}

/**
 * The plain values the rule marks secret by name (their key name, secretNameOf, matches `secret`; without a
 * rule, the built-in secret-name matcher).
 */
export function markedSecret(rule: FileRule): (v: DocumentValue) => boolean {
  const re = rule.secret ?? BUILTIN_SECRET_NAMES;
  return (v) => {
    const name = secretNameOf(v.path);
    // The integrity record is metadata, never a secret, whatever the regex (e.g. `.*`) says.
    if (isRecordPath(v.path)) return false;
    return name !== undefined && re.test(name);
  };
}

/** Options for sealing the target's values per its rule. Throws when the rule names no key. */
export function sealOptions(target: Target, previous?: SealfigDocument): SealDocumentOptions {
  return {
    ...sealingKey(target),
    context: target.rule.context,
    maxValuesPerDek: target.rule.maxValuesPerDek,
    dekPolicy: target.rule.dekPolicy,
    providers: target.providers,
    select: selectToSeal(target, previous),
    cache: target.cache,
    ...(previous ? { previous } : {}),
  };
}

/**
 * The plain values to seal: those the rules mark secret; in a `.env` or JSON file (no tags), also
 * those that were sealed in `previous`, so a decrypted view sealed again never unseals a value.
 */
function selectToSeal(
  target: Target,
  previous: SealfigDocument | undefined,
): (v: DocumentValue) => boolean {
  const marked = markedSecret(target.rule);
  if (target.format === "yaml" || !previous) return marked;
  return (v) => marked(v) || previous.get(v.path)?.kind === "sealed";
}

/**
 * The provider and key the file's rule seals with, and its further keys (a several-key rule).
 * Throws `OPTION_INVALID` when it has none.
 */
export function sealingKey(
  target: Target,
): { provider: KeyProvider; keyId: string; additionalKeys?: SealingKey[] } {
  const key = target.rule.key;
  if (!key) {
    throw new SealfigError("OPTION_INVALID", "No key to seal with", {
      ...(target.file !== "-" ? { file: target.file } : {}),
      hint: "Add a rule for this file to .sealfig.yaml (sealfig init) or pass --key",
    });
  }
  return {
    provider: providerById(target.providers, key.providerId),
    keyId: key.keyId,
    ...additionalKeysOf(target),
  };
}

/** `{ additionalKeys }` for the rule's keys after the first (empty object for one key). */
export function additionalKeysOf(target: Target): { additionalKeys?: SealingKey[] } {
  const more = target.rule.keys.slice(1);
  if (more.length === 0) return {};
  return {
    additionalKeys: more.map((k) => ({
      provider: providerById(target.providers, k.providerId),
      keyId: k.keyId,
    })),
  };
}

/** Write a document: in place (atomically, keeping the mode) or to stdout. */
export async function writeTarget(
  target: Target,
  doc: SealfigDocument,
  inPlace: boolean,
  ctx: CliContext,
): Promise<void> {
  if (inPlace && target.file !== "-") {
    await writeFileAtomic(target.file, doc.toBytes());
  } else {
    // The text as it is, BOM included (a TextDecoder would drop it).
    ctx.stdout(doc.toString());
  }
}

/** The flag of read-only commands that skips integrity verification. */
export const SKIP_INTEGRITY_FLAG: FlagSpec = {
  type: "boolean",
  description: "Do not verify the file's integrity record (loud warning; read-only commands only)",
};

/**
 * Verify the target's integrity record before its values are read, per the rule's policy
 * (`required`: a record must exist; `optional`: verified when present; `off`: skipped). With
 * `skip`, print a loud warning instead.
 */
export async function verifyForRead(
  target: Target,
  doc: SealfigDocument,
  ctx: CliContext,
  skip: boolean,
): Promise<void> {
  if (skip) {
    ctx.stderr(
      `sealfig: WARNING: --insecure-skip-integrity: ${target.file} was NOT checked against its ` +
        "integrity record; its values may have been changed by someone else\n",
    );
    return;
  }
  await checkBlobKeys(target, doc);
  if (target.rule.integrity === "off") return;
  // As the loader reads it (one policy): a file with no sealed value needs no record, but then no
  // value the rules call secret may be plaintext.
  const sealed = doc.values().some((v) => v.kind === "sealed");
  const record = await verifyIntegrity(doc, {
    providers: target.providers,
    context: target.rule.context,
    trust: target.trust,
    cache: target.cache,
    required: target.rule.integrity === "required" && sealed,
  });
  if (!sealed && record === undefined) refuseUnsealedSecrets(doc, target.rule, target.file);
}

/**
 * Check the key of every sealed value against the allowlist before any provider call, so a blob
 * under an untrusted key is named (`KEY_UNTRUSTED` with its path) rather than found later.
 */
export async function checkBlobKeys(target: Target, doc: SealfigDocument): Promise<void> {
  function* keys() {
    for (const v of doc.values()) {
      if (v.kind !== "sealed") continue;
      let key;
      try {
        key = parseBlob(v.value as string);
      } catch {
        continue; // malformed: reported where it is opened
      }
      yield {
        key,
        where: () => ({
          ...(doc.file !== undefined ? { file: doc.file } : {}),
          line: v.line,
          col: v.col,
          path: v.pathText,
        }),
      };
    }
  }
  await target.trust.checkAll(keys(), target.providers);
}

/** What a write command learned about the file's existing record. */
export interface PriorRecord {
  /** The existing record (verified, or unverifiable), if any. */
  record: IntegrityRecord | undefined;
  /** True when its integrity data key opened (it is kept). */
  reusable: boolean;
  /** A generation the next record must exceed (a conflicted merge's), besides the record's. */
  floor?: number;
  /**
   * The existing record's text, kept as it is because it could not be verified (a write-only
   * caller): a writer never vouches for content it could not check, so the file fails to load
   * until someone who can verify it reviews the change and runs `sealfig stamp --force`.
   */
  keep?: string;
}

/**
 * Before a command rewrites the target: verify its existing record so that a file changed
 * outside sealfig is never re-stamped (which would launder the change). Throws for an invalid,
 * malformed or untrusted record, and for a missing one on a file with sealed values when the
 * rule requires records (`sealfig stamp` is the explicit way to vouch for such a file). A record
 * whose key cannot be opened (a write-only caller) is reported on stderr and KEPT as it is: the
 * change is written, but no new record vouches for content nobody verified, so the file fails its
 * integrity check until someone who can verify reviews it and runs `sealfig stamp --force`.
 */
export async function verifyForWrite(
  target: Target,
  doc: SealfigDocument | undefined,
  ctx: CliContext,
): Promise<PriorRecord> {
  const none: PriorRecord = { record: undefined, reusable: false };
  if (doc) await checkBlobKeys(target, doc);
  if (!doc || target.rule.integrity === "off") return none;
  const c = await checkIntegrity(doc, {
    providers: target.providers,
    context: target.rule.context,
    trust: target.trust,
    cache: target.cache,
  });
  switch (c.state) {
    case "valid":
      return { record: c.record, reusable: true };
    case "missing":
      if (target.rule.integrity === "required" && doc.values().some((v) => v.kind === "sealed")) {
        throw new SealfigError(
          "INTEGRITY_MISSING",
          "The file has sealed values but no integrity record; refusing to write it",
          {
            ...(doc.file !== undefined ? { file: doc.file } : {}),
            hint: "Review the file (git log -p), then run sealfig stamp FILE to vouch for it",
          },
        );
      }
      return none;
    case "unverified": {
      const entry = doc.entryAt(recordPath(doc));
      ctx.stderr(
        `sealfig: WARNING: ${target.file}: cannot verify the integrity record (${
          c.error?.code ?? "?"
        }), so the change is written under the OLD record, which no longer matches: the file ` +
          "will not load until someone who may verify it (who holds one of the record's keys: " +
          "for KMS, kms:Decrypt with sealfig:purpose=integrity; for age, the identity) reviews " +
          `the change (git diff) and runs sealfig stamp --force ${target.file}\n`,
      );
      return {
        record: c.record,
        reusable: false,
        ...(entry ? { keep: doc.text.slice(entry.start, entry.end) } : {}),
      };
    }
    default:
      throw c.error ?? new SealfigError("INTEGRITY_INVALID", "Integrity check failed");
  }
}

/**
 * The same text but for the record (a `.env` file compares its own text: its YAML view also
 * holds where multi-line values were).
 */
function sameText(a: SealfigDocument, b: SealfigDocument): boolean {
  if (a.format !== b.format) return false;
  if (a.format !== "yaml") return stripIntegrityRecord(a) === stripIntegrityRecord(b);
  if (a.bom !== b.bom || a.lineEnding !== b.lineEnding) return false;
  // Both documents are parsed already: compare their texts with the record entries cut out and
  // their values besides the records, with no parse of the cut texts (issue 16: one parse per
  // file). A cut that would not strip cleanly only makes the texts differ: the file is written.
  const cut = (d: SealfigDocument) => {
    const c = recordCut(d);
    return c ? applyEdits(d.text, [c.edit]) : d.text;
  };
  if (cut(a) !== cut(b)) return false;
  const rest = (d: SealfigDocument) =>
    d.entries().filter((e) => !isRecordPath(e.path.slice(0, d.documentCount > 1 ? 2 : 1))).map((
      e,
    ) => `${e.pathText}\u0000${e.kind}\u0000${e.type}\u0000${d.text.slice(e.propsStart, e.end)}`)
      .join("\u0001");
  return rest(a) === rest(b);
}

/**
 * The plaintext view of a sealed document without its integrity record (decrypt, textconv),
 * checked by one parse: the values' splice and the record's removal share it.
 */
export async function plaintextView(
  doc: SealfigDocument,
  options: OpenDocumentOptions,
): Promise<string> {
  const cut = recordCut(doc);
  if (cut) {
    try {
      const { document } = await decryptView(doc, options, {
        extra: [cut.edit],
        released: [recordPath(doc)],
      });
      if (cut.removed(document)) return document.toString();
    } catch (err) {
      if (!isSealfigError(err) || err.code !== "VALUE_NOT_REPRESENTABLE") throw err;
    }
  }
  // No record, or one that does not cut cleanly: stripIntegrityRecord then leaves it in view.
  return stripIntegrityRecord((await decryptDocument(doc, options)).document);
}

/**
 * For `--force`: the existing record's generation (when it parses), without verifying anything;
 * a new integrity data key is made.
 */
export function priorUnverified(doc: SealfigDocument | undefined): PriorRecord {
  try {
    return { record: doc ? readIntegrityRecord(doc) : undefined, reusable: false };
  } catch {
    return { record: undefined, reusable: false };
  }
}

/** Options for {@link stampForWrite}. */
export interface StampForWriteOptions {
  /** Make a new integrity data key even when the old one opens (rotate, rewrap); always writes. */
  freshKey?: boolean;
  /** Wrap a new integrity data key under this key instead of the rule's; always writes. */
  key?: KeyRef;
  /**
   * Wrap a new integrity data key under these keys, in order, instead of the rule's (rewrap
   * --add-key/--remove-key: the record follows the values' key list); always writes.
   */
  keys?: readonly KeyRef[];
}

/**
 * Every write leaves a file that `check` and the loader accept: a value that reads as a blob
 * (`sealfig:vN:…`) but is not a well-formed one is refused with `BLOB_MALFORMED` at its line.
 */
function refuseMalformedBlobs(doc: SealfigDocument): void {
  for (const v of doc.values()) {
    if (v.kind !== "sealed" || isRecordPath(v.path)) continue;
    try {
      parseBlob(v.value as string);
    } catch (err) {
      throw locate(err, doc, v);
    }
  }
}

/**
 * The document to write: `after` with an integrity record of generation (previous + 1), keeping
 * the previous integrity data key when it opened. When `after` has the same text as `before`
 * (apart from the record), `before` is returned as it is: nothing changed, nothing is rewritten.
 */
export async function stampForWrite(
  target: Target,
  before: SealfigDocument | undefined,
  after: SealfigDocument,
  prior: PriorRecord,
  options: StampForWriteOptions = {},
): Promise<SealfigDocument> {
  refuseForeignContext(target);
  // Unchanged text keeps the file as it is, unless the record must move to a new integrity data
  // key (rotate, rewrap --to, stamp --key): records follow keys, in files without a sealed value
  // too.
  if (options.keys !== undefined && options.keys.length > 0) {
    const [first, ...rest] = options.keys;
    options = { ...options, key: first! };
    target = {
      ...target,
      rule: { ...target.rule, key: first!, keys: [first!, ...rest] },
    };
  }
  const moving = options.freshKey === true || options.key !== undefined;
  refuseMalformedBlobs(after);
  if (
    !moving && before && sameText(before, after)
  ) {
    return before;
  }
  if (target.rule.integrity === "off") return after;
  // Never vouch for what could not be verified: the old record stays (see verifyForWrite).
  if (prior.keep !== undefined) return withRecord(after, prior.keep);
  const reuse = prior.reusable && !options.freshKey ? prior.record : undefined;
  const key = options.key ?? target.rule.key ?? (reuse ? undefined : missingKey(target));
  const provider = key
    ? providerById(target.providers, key.providerId)
    : providerById(target.providers, reuse!.providerId);
  const { document } = await stampDocument(after, {
    provider,
    keyId: key?.keyId ?? reuse!.keyId,
    // The rule's further keys, unless the record moves to one explicit key.
    ...(options.key === undefined || options.keys !== undefined ? additionalKeysOf(target) : {}),
    context: target.rule.context,
    generation: Math.max(prior.record?.generation ?? 0, prior.floor ?? 0) + 1,
    ...(reuse ? { reuse } : {}),
    providers: target.providers,
    cache: target.cache,
  });
  return document;
}

function missingKey(target: Target): never {
  throw new SealfigError("OPTION_INVALID", "No key for the integrity record", {
    ...(target.file !== "-" ? { file: target.file } : {}),
    hint: "Add a rule for this file to .sealfig.yaml (sealfig init) or pass --key",
  });
}

/**
 * Warn on stderr when a write seals values for fewer keys than the file's values already carry
 * (say a key added by `rewrap --add-key` that the rule's `keys` do not name yet): each newly sealed
 * value would silently lose that key. Names the keys dropped and how to keep them
 * (docs/keys.md, "Writes follow the rule's keys").
 */
export function warnNarrowedKeys(
  ctx: CliContext,
  file: string,
  before: SealfigDocument | undefined,
  after: SealfigDocument,
): void {
  if (!before) return;
  const keysOf = (doc: SealfigDocument) => {
    const blobs = new Map<string, string[]>();
    for (const e of doc.entries()) {
      if (e.kind !== "sealed" || typeof e.value !== "string" || blobs.has(e.value)) continue;
      try {
        blobs.set(e.value, parseBlob(e.value).slots.map((s) => `${s.providerId}:${s.keyId}`));
      } catch {
        // A malformed blob is reported by the write itself.
      }
    }
    return blobs;
  };
  const old = keysOf(before);
  const had = new Set([...old.values()].flat());
  const dropped = new Set<string>();
  const refOf = (k: string): KeyRef => {
    const at = k.indexOf(":");
    return { providerId: k.slice(0, at), keyId: k.slice(at + 1) };
  };
  let narrowed = 0;
  for (const [blob, keys] of keysOf(after)) {
    if (old.has(blob)) continue;
    const missing = [...had].filter((k) => !keys.includes(k));
    if (missing.length > 0) narrowed++;
    for (const k of missing) dropped.add(k);
  }
  if (dropped.size === 0) return;
  const refs = [...dropped].map((k) => formatKeyRef(refOf(k)));
  const names = refs.join(", ");
  ctx.stderr(
    `sealfig: warning: ${file}: ${narrowed} value(s) sealed without ${names}, which the file's ` +
      `other values carry (the rule's keys do not name ${dropped.size > 1 ? "them" : "it"}). ` +
      `To keep ${dropped.size > 1 ? "them" : "it"}, add ${names} to the rule's keys in ` +
      `.sealfig.yaml, then run: sealfig rewrap ${file} ${
        refs.map((r) => `--add-key ${r}`).join(" ")
      }\n`,
  );
}
