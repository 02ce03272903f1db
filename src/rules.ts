/**
 * The rules file (`.sealfig.yaml`): which files use which key, which encryption context, which
 * values are secret by name, and the data-key policy. Every CLI command reads it; the loader can
 * too. The first rule whose `files` pattern matches a file's path (relative to the rules file,
 * with `/` separators) applies.
 *
 * ```yaml
 * # .sealfig.yaml
 * rules:
 *   - files: '^config/production\.ya?ml$'
 *     key: local:lk_0123456789abcdef       # or a KMS key ARN / alias ARN / alias/name / age1…
 *     # keys: [arn:…:key/…, arn:…(other Region):key/…, local:lk_…]  # several: any one opens
 *     context: { app: shop, env: prod }    # bound to every value; KMS EncryptionContext
 *     secret: '(password|token|secret|key)$'  # keys sealed even without !secret
 *     dek: per-file                        # or per-value
 *     max_values_per_dek: 256
 *     integrity: required                  # or optional, off (the file's integrity record)
 * trusted_keys: [alias/shop-prod-old]      # also accept blobs under these keys (rotation)
 * # trust: any                             # discovery mode: accept blobs under ANY key (unsafe)
 * ```
 *
 * @module
 */
import { isSealfigError, SealfigError } from "./errors.ts";
import { AGE_PROVIDER_ID, containsAgeIdentity, isAgeRecipient } from "./keys/age.ts";
import { parseDocument } from "./document/document.ts";
import type { EncryptionContext } from "./keys/key_provider.ts";
import { DEFAULT_MAX_VALUES_PER_DEK } from "./envelope/values.ts";
import { secretMatcher, type SecretNameMatcher } from "./secret_names.ts";
import {
  currentUserId,
  dirName,
  joinPath,
  readFileBytes,
  relativePath,
  resolvePath,
  statFile,
} from "./runtime.ts";
import { canonicalContext } from "./envelope/aad.ts";

/** The rules file name searched for in a file's directory and its parents. */
export const RULES_FILE = ".sealfig.yaml";

/** A key reference: which provider, which key. */
export interface KeyRef {
  /** Provider id: `local` or `aws-kms`. */
  providerId: string;
  /** Key id for that provider (local fingerprint; KMS ARN, key id or alias). */
  keyId: string;
}

/** The rule that applies to one file. */
export interface FileRule {
  /** The key new values are sealed with (the first of {@link FileRule.keys}). */
  key: KeyRef | undefined;
  /**
   * Every key the file is sealed for, in order (`keys:`, or the one `key:`): each data key is
   * wrapped under all of them and any one opens the file (docs/format.md §11). Empty: none.
   */
  keys: readonly KeyRef[];
  /** Encryption context bound to every value of the file. */
  context: EncryptionContext;
  /**
   * Values whose key (last path segment) matches are secret even without `!secret`: the rule's
   * regex, or the built-in matcher (`isSecretName`); undefined also means the built-in matcher.
   */
  secret: SecretNameMatcher | undefined;
  /** Values sharing one data key in one operation (1 = one data key per value). */
  maxValuesPerDek: number;
  /** Schema module for `edit` validation (`path/to/module.ts#ExportName`), if any. */
  schema: string | undefined;
  /** The rules file this came from, if any. */
  source: string | undefined;
  /** Whether the file must carry an integrity record. Default `required`. */
  integrity: IntegrityPolicy;
  /**
   * Keys whose blobs are accepted: every rule's key plus `trusted_keys`, or `"any"` with
   * `trust: any`; undefined when there is no rules file (the caller's default applies).
   */
  trusted: readonly string[] | "any" | undefined;
}

/**
 * Whether files must carry an integrity record: `required` (a missing record is an error),
 * `optional` (verified when present) or `off` (neither written nor checked).
 */
export type IntegrityPolicy = "required" | "optional" | "off";

// zod is imported on the first rules file read, not when sealfig is imported: the loader and
// every CLI command on a tree without a rules file never need it (issue 16, import cost).
let rulesSchema: Promise<RulesSchema> | undefined;
let rulesSchemaLoads = 0;
type RulesSchema = ReturnType<typeof makeRulesSchema>;

function makeRulesSchema({ z }: typeof import("zod")) {
  const ruleSchema = z.strictObject({
    files: z.string().min(1),
    key: z.string().min(1).optional(),
    keys: z.array(z.string().min(1)).min(1).max(16).optional(),
    context: z.record(z.string().min(1), z.string()).optional(),
    secret: z.union([z.string().min(1), z.boolean()]).optional(),
    dek: z.enum(["per-file", "per-value"]).optional(),
    max_values_per_dek: z.int().min(1).max(1_000_000).optional(),
    schema: z.string().min(1).optional(),
    integrity: z.enum(["required", "optional", "off"]).optional(),
  });
  return z.strictObject({
    version: z.literal(1).optional(),
    rules: z.array(ruleSchema),
    trusted_keys: z.array(z.string().min(1)).optional(),
    trust: z.literal("any").optional(),
  });
}

function loadRulesSchema(): Promise<RulesSchema> {
  if (!rulesSchema) {
    rulesSchemaLoads++;
    rulesSchema = import("zod").then(makeRulesSchema);
  }
  return rulesSchema;
}

/** How many times the rules file's validator (and with it zod) was imported: 0 until one is read. */
export function rulesValidatorLoadCount(): number {
  return rulesSchemaLoads;
}

/** One rule as written in the rules file. */
export interface RuleEntry {
  /** Regex on the file path relative to the rules file (with `/` separators). */
  files: string;
  /** Key reference (`local:<id>`, KMS ARN, `alias/<name>`, age recipient `age1…`). */
  key?: string | undefined;
  /** Several key references, in order (instead of `key`): any one of them opens the file. */
  keys?: string[] | undefined;
  /** Encryption context. */
  context?: Record<string, string> | undefined;
  /** Regex on key names that are secret without `!secret`; absent/true: built-in; false: none. */
  secret?: string | boolean | undefined;
  /** Data key policy. */
  dek?: "per-file" | "per-value" | undefined;
  /** Values per data key under `per-file`. */
  max_values_per_dek?: number | undefined;
  /** Schema module for `edit` validation. */
  schema?: string | undefined;
  /** Integrity record policy. Default `required`. */
  integrity?: IntegrityPolicy | undefined;
}

/** A parsed rules file. */
export interface Rules {
  /** Absolute path of the rules file. */
  file: string;
  /** Rules in order. */
  rules: RuleEntry[];
  /** Extra trusted keys (`trusted_keys`), e.g. the old key during a rotation. */
  trustedKeys?: string[] | undefined;
  /** `any` in discovery mode (`trust: any`): blobs under every key are accepted. */
  trust?: "any" | undefined;
}

/**
 * Parse a key reference: `local:<id>`, `aws-kms:<ref>`, a KMS key or alias ARN, `alias/<name>`,
 * or an age recipient (`age1…`, also written `age:age1…`). Throws `OPTION_INVALID` for anything
 * else (never quoting an age identity).
 *
 * @example
 * ```ts
 * import { parseKeyRef } from "./rules.ts";
 * parseKeyRef("local:lk_0123456789abcdef"); // { providerId: "local", keyId: "lk_0123456789abcdef" }
 * parseKeyRef("alias/app-prod"); // { providerId: "aws-kms", keyId: "alias/app-prod" }
 * ```
 */
export function parseKeyRef(ref: string): KeyRef {
  if (containsAgeIdentity(ref)) {
    // Never echoed: an identity is a secret key.
    throw new SealfigError(
      "OPTION_INVALID",
      "A key reference is an age identity, not a recipient",
      {
        hint:
          "Name an age key by its recipient (age1…, age-keygen -y KEYFILE prints it); keep the " +
          "identity in SEALFIG_AGE_KEY_FILE or SEALFIG_AGE_KEY",
      },
    );
  }
  const age = /^(?:age:)?(age1.*)$/.exec(ref);
  if (age) {
    if (isAgeRecipient(age[1]!)) return { providerId: AGE_PROVIDER_ID, keyId: age[1]! };
    throw new SealfigError("OPTION_INVALID", "Malformed age recipient in a key reference", {
      hint:
        "An age recipient is age1 followed by 58 lower-case characters, as age-keygen prints it",
    });
  }
  const m = /^(local|aws-kms):(.+)$/.exec(ref);
  if (m) return { providerId: m[1]!, keyId: m[2]! };
  if (/^arn:aws[a-z-]*:kms:/.test(ref) || /^alias\//.test(ref)) {
    return { providerId: "aws-kms", keyId: ref };
  }
  throw new SealfigError("OPTION_INVALID", `Unrecognised key reference ${JSON.stringify(ref)}`, {
    hint: "Use local:<key id>, a KMS key ARN, an alias ARN, alias/<name>, aws-kms:<key id> or an " +
      "age recipient (age1…)",
  });
}

/** Format a key reference for messages and rules files. */
export function formatKeyRef(ref: KeyRef): string {
  if (ref.providerId === AGE_PROVIDER_ID && isAgeRecipient(ref.keyId)) return ref.keyId;
  if (
    ref.providerId === "aws-kms" && (ref.keyId.startsWith("arn:") || ref.keyId.startsWith("alias/"))
  ) {
    return ref.keyId;
  }
  return `${ref.providerId}:${ref.keyId}`;
}

/**
 * Find the rules file for `file`: `.sealfig.yaml` in its directory or the nearest parent.
 * Returns undefined when there is none. A rules file that other users can write is skipped (see
 * {@link findRulesFileFrom}).
 */
export async function findRulesFile(file: string): Promise<string | undefined> {
  return (await findRulesFileFrom(dirName(resolvePath(file)))).file;
}

/** What {@link findRulesFileFrom} found. */
export interface RulesFileSearch {
  /** The rules file that applies, if any. */
  file: string | undefined;
  /** Rules files passed over because other users can write them (or their directory). */
  ignored: string[];
}

/**
 * Search `dir` and its parents for `.sealfig.yaml`. A candidate is **ignored** (and the search
 * goes on upward) when someone other than this user could have written it: a file owned by
 * another user (root excepted), a world-writable file, or a file in a world-writable directory
 * without the sticky bit. A rules file chooses which keys are trusted and which context and
 * integrity policy apply, so one planted in a shared directory (`/tmp/.sealfig.yaml`, where git's
 * temporary files live) must never be used.
 */
export async function findRulesFileFrom(dir: string): Promise<RulesFileSearch> {
  const ignored: string[] = [];
  const me = currentUserId();
  let d = resolvePath(dir);
  for (;;) {
    const candidate = joinPath(d, RULES_FILE);
    const info = await statFile(candidate);
    if (info?.isFile) {
      const dirInfo = await statFile(d);
      const foreign = me !== undefined && info.uid !== undefined && info.uid !== me &&
        info.uid !== 0;
      const worldWritable = ((info.mode ?? 0) & 0o002) !== 0 ||
        (((dirInfo?.mode ?? 0) & 0o002) !== 0 && dirInfo?.sticky !== true);
      if (!foreign && !worldWritable) return { file: candidate, ignored };
      ignored.push(candidate);
    }
    const parent = dirName(d);
    if (parent === d) return { file: undefined, ignored };
    d = parent;
  }
}

/** Read and validate a rules file. Throws `RULES_INVALID` with the file and the problem. */
export async function readRules(file: string): Promise<Rules> {
  let bytes: Uint8Array;
  try {
    bytes = await readFileBytes(file);
  } catch (err) {
    if (isSealfigError(err, "PERMISSION_DENIED")) throw err.withLocation({ file });
    throw new SealfigError("RULES_INVALID", "Cannot read the rules file", { file, cause: err });
  }
  let data: unknown;
  try {
    // The document reader's checks: strict UTF-8, size and nesting limits, duplicate keys,
    // unknown tags, bounded aliases. A rules file is small: 1 MiB is plenty.
    const doc = parseDocument(bytes, { file, maxBytes: 1024 * 1024 });
    data = doc.yaml.toJS({ maxAliasCount: 100 });
  } catch (err) {
    const e = isSealfigError(err) ? err : undefined;
    throw new SealfigError(
      "RULES_INVALID",
      `Rules file is not valid YAML: ${e?.reason ?? "it cannot be parsed"}`,
      {
        file,
        ...(e?.line !== undefined ? { line: e.line } : {}),
        ...(e?.col !== undefined ? { col: e.col } : {}),
        ...(e?.hint !== undefined ? { hint: e.hint } : {}),
        ...(e ? {} : { cause: err }),
      },
    );
  }
  const parsed = (await loadRulesSchema()).safeParse(data ?? { rules: [] });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SealfigError(
      "RULES_INVALID",
      `Invalid rules file at ${issue.path.join(".") || "(top)"}: ${issue.message}`,
      { file, hint: "See `sealfig init --help` for the format" },
    );
  }
  const rawRules = (data as { rules?: { context?: object }[] } | null)?.rules;
  for (const [i, r] of parsed.data.rules.entries()) {
    // The context as written (the schema's record drops a `__proto__` key silently), checked as
    // every context is, and its `sealfig:` keys reserved: a rules file's mistake is reported as
    // the rules file's, not later as some data file's.
    const rawContext = rawRules?.[i]?.context as EncryptionContext | undefined;
    if (rawContext) {
      const reserved = Object.keys(rawContext).find((k) => k.toLowerCase().startsWith("sealfig:"));
      try {
        if (reserved !== undefined) {
          throw new SealfigError("OPTION_INVALID", `the key "${reserved}" is reserved`, {
            hint: "Rename that context entry (sealfig:* keys are sealfig's own)",
          });
        }
        canonicalContext(rawContext);
      } catch (err) {
        if (!isSealfigError(err)) throw err;
        throw new SealfigError("RULES_INVALID", `rules[${i}].context: ${err.reason}`, {
          file,
          ...(err.hint !== undefined ? { hint: err.hint } : {}),
        });
      }
    }
    for (const [field, pattern] of [["files", r.files], ["secret", r.secret]] as const) {
      if (typeof pattern !== "string") continue;
      try {
        new RegExp(pattern);
      } catch {
        throw new SealfigError(
          "RULES_INVALID",
          `rules[${i}].${field} is not a valid regular expression`,
          {
            file,
          },
        );
      }
    }
    if (r.key) parseKeyRef(r.key);
    if (r.key !== undefined && r.keys !== undefined) {
      throw new SealfigError("RULES_INVALID", `rules[${i}] has both key and keys`, {
        file,
        hint: "Use keys: [...] alone (the first key seals; any one opens)",
      });
    }
    const seen = new Set<string>();
    for (const k of r.keys ?? []) {
      const ref = parseKeyRef(k);
      const id = formatTrustRef(ref);
      if (seen.has(id)) {
        throw new SealfigError("RULES_INVALID", `rules[${i}].keys lists ${k} twice`, { file });
      }
      seen.add(id);
    }
  }
  for (const k of parsed.data.trusted_keys ?? []) parseKeyRef(k);
  return {
    file: resolvePath(file),
    rules: parsed.data.rules,
    ...(parsed.data.trusted_keys ? { trustedKeys: parsed.data.trusted_keys } : {}),
    ...(parsed.data.trust ? { trust: parsed.data.trust } : {}),
  };
}

/**
 * The keys a rules file trusts: every rule's key and `trusted_keys`, as key references; `"any"`
 * with `trust: any`.
 */
export function trustedKeysOf(rules: Rules): readonly string[] | "any" {
  if (rules.trust === "any") return "any";
  const refs = new Set<string>();
  for (const r of rules.rules) {
    for (const k of ruleKeys(r)) refs.add(formatTrustRef(parseKeyRef(k)));
  }
  for (const k of rules.trustedKeys ?? []) refs.add(formatTrustRef(parseKeyRef(k)));
  return [...refs];
}

/** A rule's keys as written: `keys`, else `[key]`, else none. */
function ruleKeys(r: RuleEntry): readonly string[] {
  return r.keys ?? (r.key ? [r.key] : []);
}

function formatTrustRef(ref: KeyRef): string {
  return `${ref.providerId}:${ref.keyId}`;
}

/** The rule for `file` in `rules` (first match), or defaults when none matches. */
export function ruleFor(rules: Rules | undefined, file: string): FileRule {
  const defaults: FileRule = {
    key: undefined,
    keys: [],
    context: {},
    secret: undefined,
    maxValuesPerDek: DEFAULT_MAX_VALUES_PER_DEK,
    schema: undefined,
    source: undefined,
    integrity: "required",
    trusted: undefined,
  };
  if (!rules) return defaults;
  const trusted = trustedKeysOf(rules);
  const rel = relativePath(dirName(rules.file), resolvePath(file)).split("\\").join("/");
  const rule = rules.rules.find((r) => new RegExp(r.files).test(rel));
  if (!rule) return { ...defaults, source: rules.file, trusted };
  const keys = ruleKeys(rule).map(parseKeyRef);
  return {
    key: keys[0],
    keys,
    context: rule.context ?? {},
    secret: secretMatcher(rule.secret),
    maxValuesPerDek: rule.dek === "per-value"
      ? 1
      : rule.max_values_per_dek ?? DEFAULT_MAX_VALUES_PER_DEK,
    schema: rule.schema,
    source: rules.file,
    integrity: rule.integrity ?? "required",
    trusted,
  };
}

/** Find, read and apply the rules for `file` in one step. */
export async function loadRuleFor(file: string, rulesFile?: string): Promise<FileRule> {
  const found = rulesFile ?? (await findRulesFile(file));
  return ruleFor(found ? await readRules(found) : undefined, file);
}
