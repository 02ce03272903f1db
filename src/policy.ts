/**
 * The one answer to "how is this file handled?": for a config file, the key(s) it is sealed with,
 * its encryption context, the keys whose blobs and records are trusted, its integrity policy, which
 * key names are secret, and its data key policy. Every CLI command, `sealfig run` and the loader
 * ask this module, so they cannot disagree.
 *
 * Where each answer comes from, first match wins:
 *
 * | answer       | explicit                               | then                                                         |
 * | ------------ | -------------------------------------- | ------------------------------------------------------------ |
 * | rules file   | `rules` option / `--rules` (`false`: none) | nearest `.sealfig.yaml` from the file's directory upward |
 * | key          | `--key`                                | the file's rule, then `SEALFIG_KMS_KEY`                      |
 * | context      | a file entry's / the loader's `context`, `--context` | the file's rule, then `{}`                     |
 * | trusted keys | `trustedKeys` option                   | `SEALFIG_TRUSTED_KEYS`, then the rules file (every rule's key and `trusted_keys`), then the local keys you hold plus the file's key |
 * | integrity    | a file entry's / the loader's `integrity` | the file's rule, then `required`                         |
 *
 * @module
 */
import { KeyAllowlist, parseTrustedKeys, type TrustedKeys } from "./keys/allowlist.ts";
import type { EncryptionContext } from "./keys/key_provider.ts";
import { kmsKeyFromEnv } from "./keys/aws_kms.ts";
import { BUILTIN_SECRET_NAMES, type SecretNameMatcher, secretNameOf } from "./secret_names.ts";
import type { SealfigDocument } from "./document/document.ts";
import {
  type FileRule,
  findRulesFileFrom,
  type IntegrityPolicy,
  type KeyRef,
  parseKeyRef,
  readRules,
  ruleFor,
  type Rules,
} from "./rules.ts";
import { dirName, getEnv, resolvePath, toFilePath } from "./runtime.ts";
import { isSealfigError, SealfigError } from "./errors.ts";
import { fixedContext } from "./envelope/aad.ts";

/** Options for {@link policyFor}: explicit choices, which override the rules file. */
export interface PolicyOptions {
  /**
   * The rules file: a path, or `false` for none. Default: the nearest `.sealfig.yaml` from the
   * file's directory (or {@link PolicyOptions.searchFrom}) upward, skipping rules files other
   * users can write.
   */
  rules?: string | false | undefined;
  /** Where to start looking for the rules file instead of the file's own directory. */
  searchFrom?: string | undefined;
  /**
   * The key(s) to seal with (`--key`, repeatable: several keys, in order), overriding the rule and
   * `SEALFIG_KMS_KEY`.
   */
  key?: string | KeyRef | readonly (string | KeyRef)[] | undefined;
  /** The encryption context, overriding the rule's. */
  context?: EncryptionContext | undefined;
  /** Where an explicit context came from, for messages. Default `"the context option"`. */
  contextSource?: string | undefined;
  /** Trusted keys, overriding `SEALFIG_TRUSTED_KEYS` and the rules file. */
  trustedKeys?: TrustedKeys | undefined;
  /** The integrity policy, overriding the rule's. */
  integrity?: IntegrityPolicy | undefined;
  /** Rules files already read in this operation, by path (filled as files are read). */
  cache?: Map<string, Promise<Rules>> | undefined;
}

/** Everything that decides how one file is sealed, opened and verified. */
export interface FilePolicy extends FileRule {
  /** The file (resolved). */
  file: string;
  /**
   * The keys the file is sealed with, in order: the first generates data keys, every data key is
   * wrapped under all of them, and any one opens the file (docs/format.md §11).
   */
  keys: readonly KeyRef[];
  /** `per-file` (values share data keys) or `per-value`. */
  dekPolicy: "per-file" | "per-value";
  /** Where the context came from (`rules file …`, `--context`, …), for messages. */
  contextSource: string;
  /** The trusted keys as references (`provider:id`), or `"any"`. */
  trustedRefs: readonly string[] | "any";
  /** Whether the local keys this user holds are trusted too (the default without rules). */
  trustsLocalHeld: boolean;
  /** Where the trusted keys came from. */
  trustSource: "option" | "SEALFIG_TRUSTED_KEYS" | "rules" | "default";
  /** The allowlist built from {@link FilePolicy.trustedRefs}. */
  trust: KeyAllowlist;
  /** Key names that must never arrive as plaintext: the rule's `secret`, else the default. */
  secretNames: SecretNameMatcher;
  /** Rules files passed over because other users can write them. */
  ignoredRules: readonly string[];
}

/**
 * The policy for `file`.
 *
 * @example
 * ```ts ignore
 * import { policyFor } from "./policy.ts";
 * const p = await policyFor("config/production.yaml");
 * p.context; // e.g. { app: "shop", env: "prod" }, from .sealfig.yaml
 * p.trust.describe(); // the keys whose blobs are accepted
 * ```
 */
export async function policyFor(file: string, options: PolicyOptions = {}): Promise<FilePolicy> {
  const path = resolvePath(file);
  let rulesFile: string | undefined;
  let ignored: string[] = [];
  if (typeof options.rules === "string") rulesFile = resolvePath(options.rules);
  else if (options.rules !== false) {
    const found = await findRulesFileFrom(options.searchFrom ?? dirName(path));
    rulesFile = found.file;
    ignored = found.ignored;
  }
  let rules: Rules | undefined;
  if (rulesFile) {
    const cache = options.cache;
    let p = cache?.get(rulesFile);
    if (!p) {
      p = readRules(rulesFile);
      cache?.set(rulesFile, p);
    }
    rules = await p;
  }
  return fromRule(path, ruleFor(rules, path), ignored, options);
}

/**
 * One policy per rule of `rulesFile`, in order, for a file whose real path is unknown (git's
 * textconv gets a temporary copy): the caller tries each until the file's record verifies.
 */
export async function policiesOfRules(
  rulesFile: string,
  options: PolicyOptions = {},
): Promise<FilePolicy[]> {
  const rules = await readRules(rulesFile);
  const out: FilePolicy[] = [];
  for (const r of rules.rules) {
    // The same rules file with this rule first, matching every path: trust stays the file's.
    const only: Rules = { ...rules, rules: [{ ...r, files: "" }, ...rules.rules] };
    out.push(fromRule(resolvePath(rulesFile), ruleFor(only, rulesFile), [], options));
  }
  return out;
}

function fromRule(
  path: string,
  rule: FileRule,
  ignored: string[],
  options: PolicyOptions,
): FilePolicy {
  // Keys: --key, the rule, then SEALFIG_KMS_KEY.
  let keys: readonly KeyRef[] = rule.keys.length ? rule.keys : rule.key ? [rule.key] : [];
  if (keys.length === 0) {
    const envKey = kmsKeyFromEnv();
    if (envKey) {
      keys = [parseKeyRef(
        envKey.startsWith("arn:") || envKey.startsWith("alias/") ? envKey : `aws-kms:${envKey}`,
      )];
    }
  }
  if (options.key !== undefined) {
    const given = Array.isArray(options.key) ? options.key : [options.key];
    keys = dedupeRefs(
      given.map((k: string | KeyRef) => typeof k === "string" ? parseKeyRef(k) : k),
    );
  }
  const key = keys[0];

  // Context: checked here (a bad one is refused whether or not the file holds sealed values,
  // naming where it came from), frozen, its encoding computed once for all the values opened or
  // sealed under it.
  const contextSource = options.context !== undefined
    ? options.contextSource ?? "the context option"
    : rule.source
    ? `the rules file ${rule.source}`
    : "the default (no rules file)";
  let context: EncryptionContext;
  try {
    context = fixedContext(options.context ?? rule.context);
  } catch (err) {
    throw fromContextSource(
      err,
      contextSource,
      options.context === undefined && rule.source ? { file: rule.source } : {},
    );
  }

  // Trust.
  const explicitKey = options.key !== undefined ? keys.map(refText) : [];
  let trustedRefs: readonly string[] | "any";
  let trustsLocalHeld = false;
  let trustSource: FilePolicy["trustSource"];
  const envTrusted = parseTrustedKeys(getEnv("SEALFIG_TRUSTED_KEYS"));
  if (options.trustedKeys !== undefined) {
    trustSource = "option";
    trustedRefs = options.trustedKeys === "any"
      ? "any"
      : dedupe([...options.trustedKeys, ...explicitKey]);
  } else if (envTrusted !== undefined) {
    trustSource = "SEALFIG_TRUSTED_KEYS";
    trustedRefs = envTrusted === "any" ? "any" : dedupe([...envTrusted, ...explicitKey]);
  } else if (rule.trusted !== undefined) {
    trustSource = "rules";
    trustedRefs = rule.trusted === "any" ? "any" : dedupe([...rule.trusted, ...explicitKey]);
  } else {
    trustSource = "default";
    trustedRefs = dedupe(keys.map(refText));
    trustsLocalHeld = true;
  }
  const trust = trustedRefs === "any"
    ? KeyAllowlist.any()
    : KeyAllowlist.of(trustedRefs, { localHeld: trustsLocalHeld });

  return {
    ...rule,
    file: path,
    key,
    keys,
    context,
    contextSource,
    integrity: options.integrity ?? rule.integrity,
    dekPolicy: rule.maxValuesPerDek === 1 ? "per-value" : "per-file",
    trusted: trustedRefs,
    trustedRefs,
    trustsLocalHeld,
    trustSource,
    trust,
    secretNames: rule.secret ?? BUILTIN_SECRET_NAMES,
    ignoredRules: ignored,
  };
}

/**
 * One allowlist for values that belong to no single file (sealed environment variables): the
 * explicit trusted keys when given (the loader's `trustedKeys`), else the union of the files'
 * trusted keys.
 */
export function combinedTrust(
  policies: readonly FilePolicy[],
  explicit?: TrustedKeys | undefined,
): KeyAllowlist {
  if (explicit !== undefined) return KeyAllowlist.from(explicit);
  if (policies.some((p) => p.trustedRefs === "any")) return KeyAllowlist.any();
  const refs = dedupe(policies.flatMap((p) => p.trustedRefs as readonly string[]));
  const localHeld = policies.length === 0 || policies.some((p) => p.trustsLocalHeld);
  if (policies.length === 0) {
    const env = parseTrustedKeys(getEnv("SEALFIG_TRUSTED_KEYS"));
    if (env === "any") return KeyAllowlist.any();
    if (env) return KeyAllowlist.of(env);
  }
  return KeyAllowlist.of(refs, { localHeld });
}

/** The references without repeats (the first of each kept), in order. */
function dedupeRefs(refs: readonly KeyRef[]): KeyRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => !seen.has(refText(r)) && seen.add(refText(r)) !== undefined);
}

/** `provider:id` for a key reference (the allowlist's form). */
function refText(ref: KeyRef): string {
  return `${ref.providerId}:${ref.keyId}`;
}

/** The references once each, compared in their `provider:id` form (`alias/x` = `aws-kms:alias/x`). */
function dedupe(refs: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const r of refs) {
    let norm: string;
    try {
      norm = refText(parseKeyRef(r));
    } catch {
      norm = r; // the allowlist reports it
    }
    if (seen.has(norm)) continue;
    seen.add(norm);
    out.push(r);
  }
  return out;
}

/** Describe a context for messages: keys and values (contexts are never secret: CloudTrail logs them). */
export function describeContext(context: EncryptionContext): string {
  const entries = Object.entries(context);
  if (entries.length === 0) return "{} (no context)";
  return `{ ${entries.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ")} }`;
}

/**
 * The rollback guard: the minimum generation of each file's integrity record, from the explicit
 * option, else `SEALFIG_MIN_GENERATION` (`N` for every file, or `path=N,path=N`); undefined for a
 * file without one. Paths resolve against `baseDir`; a path that names none of `files` is
 * `OPTION_INVALID` (a misspelt path would silently protect nothing).
 */
export function minGenerationPolicy(
  explicit: number | Readonly<Record<string, number>> | undefined,
  files: readonly (string | URL)[],
  baseDir: string | URL | undefined,
): (file: string) => number | undefined {
  let spec: number | Readonly<Record<string, number>> | undefined = explicit;
  if (spec === undefined) {
    const text = getEnv("SEALFIG_MIN_GENERATION")?.trim();
    if (text) spec = parseMinGeneration(text);
  }
  if (spec === undefined) return () => undefined;
  const check = (n: unknown) => {
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
      throw new SealfigError("OPTION_INVALID", "minGeneration must be a non-negative integer");
    }
    return n;
  };
  if (typeof spec === "number") {
    const n = check(spec);
    return () => n;
  }
  const byFile = new Map<string, number>();
  const known = new Set(files.map((f) => resolvePath(toFilePath(f, baseDir))));
  for (const [path, n] of Object.entries(spec)) {
    const resolved = resolvePath(toFilePath(path, baseDir));
    if (!known.has(resolved)) {
      throw new SealfigError(
        "OPTION_INVALID",
        `The minimum generation names ${
          JSON.stringify(path)
        }, which is not one of the files loaded`,
        {
          hint: "Name files as given in `files` (relative to baseDir or the working directory), " +
            "e.g. SEALFIG_MIN_GENERATION=config/production.yaml=42",
        },
      );
    }
    byFile.set(resolved, check(n));
  }
  return (file) => byFile.get(resolvePath(file));
}

function parseMinGeneration(text: string): number | Record<string, number> {
  const bad = () =>
    new SealfigError("OPTION_INVALID", "SEALFIG_MIN_GENERATION is invalid", {
      hint: "Set it to a number, or to path=number pairs separated by commas",
    });
  if (/^[0-9]+$/.test(text)) return Number(text);
  const out: Record<string, number> = {};
  for (const part of text.split(",")) {
    const eq = part.lastIndexOf("=");
    const n = part.slice(eq + 1).trim();
    if (eq < 1 || !/^[0-9]+$/.test(n)) throw bad();
    out[part.slice(0, eq).trim()] = Number(n);
  }
  return out;
}

/**
 * For a file with no sealed value and no integrity record (which needs none): refuse a plaintext
 * value whose name the policy calls secret (`SECRET_UNSEALED`), since that is also what a sealed
 * file looks like after its blobs were replaced by plaintext and its record removed. The loader,
 * `get`, `decrypt` and `run` apply the same rule.
 */
export function refuseUnsealedSecrets(
  doc: SealfigDocument,
  policy: Pick<FilePolicy, "secretNames">,
  file: string | undefined,
): void {
  for (const v of doc.values()) {
    if (v.kind !== "plain") continue;
    const name = secretNameOf(v.path);
    if (name === undefined || !policy.secretNames.test(name)) continue;
    if (v.value === null || typeof v.value === "boolean" || v.value === "") continue;
    throw new SealfigError(
      "SECRET_UNSEALED",
      "A value whose name marks it secret is plaintext, in a file with no sealed value and no " +
        "integrity record (which is also what a sealed file looks like after its blobs were " +
        "replaced by plaintext and its record removed)",
      {
        ...(file !== undefined ? { file } : {}),
        line: v.line,
        col: v.col,
        path: v.pathText,
        hint: "Seal it (sealfig encrypt -i FILE writes the record too). If the name is not a " +
          "secret, change the rule's secret: pattern in .sealfig.yaml",
      },
    );
  }
}

/**
 * An error about a context (a bad entry, a record or value that does not open with it), saying
 * where the context came from: `the rules file …`, `--context`, `the loader's env.context
 * option`… Any other error is returned as it is.
 */
export function fromContextSource(
  err: unknown,
  source: string,
  location: { file?: string; path?: string } = {},
  hint?: string,
): unknown {
  if (!isSealfigError(err)) return err;
  const advice = hint ?? err.hint;
  return new SealfigError(err.code, `${err.reason} (the context came from ${source})`, {
    ...location,
    ...(err.keyId !== undefined ? { keyId: err.keyId } : {}),
    ...(advice !== undefined ? { hint: advice } : {}),
    cause: err,
  });
}
