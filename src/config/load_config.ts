/**
 * The startup path: read layered YAML files, `.env` and the environment, open every sealed value
 * in one bounded-concurrency pass through a data key cache, validate, freeze. As stages
 * (`loadConfigWithReport`): start → read files (parse, policies, providers getting ready, side by
 * side) → plan (trees, layers, blobs, records) → refuse before any provider call (trust, missing
 * records, rollback) → unwrap, open and verify in one round → finish (merge, validate, freeze).
 *
 * @module
 */
import { DekCache, type DekCacheStats } from "../cache/dek_cache.ts";
import { isSealfigError, SealfigError, type SealfigErrorOptions } from "../errors.ts";
import { parseBlob, type ParsedBlob } from "../envelope/format.ts";
import { decryptParsed, decryptValue } from "../envelope/values.ts";
import type { SecretValue } from "../envelope/value_codec.ts";
import type { EncryptionContext, KeyProvider } from "../keys/key_provider.ts";
import { sharedProviders } from "../keys/registry.ts";
import { withDeadline } from "../keys/call_deadline.ts";
import { getEnvAll, statFile, toFilePath } from "../runtime.ts";
import type { KeyAllowlist, KeyName, TrustedKeys } from "../keys/allowlist.ts";
import {
  combinedTrust,
  describeContext,
  type FilePolicy,
  fromContextSource,
  minGenerationPolicy,
  policyFor,
  refuseUnsealedSecrets,
} from "../policy.ts";
import type { Rules } from "../rules.ts";
import { INTEGRITY_KEY, type IntegrityRecord } from "../integrity/record.ts";
import { readIntegrityRecord, verifyRecord } from "../integrity/verify.ts";
import type { SealfigDocument } from "../document/document.ts";
import { DEFAULT_CONCURRENCY, mapConcurrent } from "../document/_concurrency.ts";
import { DEFAULT_MAX_ALIAS_COUNT, readDocument } from "../document/document.ts";
import { DEFAULT_MAX_FILE_BYTES } from "../document/source.ts";
import { byteString } from "../crypto/bytes.ts";
import { formatPath } from "../path.ts";
import { contextKey, fixedContext } from "../envelope/aad.ts";
import {
  applyEnv,
  ENV_SOURCE_KEY,
  envSealing,
  type EnvVariable,
  rejectReservedContext,
  selectVariables,
} from "./env_overrides.ts";
import { freezeConfig } from "./redact.ts";
import {
  activeProfiles,
  documentToTree,
  type LeafNode,
  type MapNode,
  materialize,
  mergeTrees,
  type Origin,
  type PendingBlob,
  type TreeNode,
} from "./tree.ts";
import { type InferSchemaOutput, type StandardSchemaV1, validateConfig } from "./validate.ts";
import { isEnvName } from "../document/dotenv.ts";

/** A config file with per-file settings. */
export interface ConfigFile {
  /** Path (relative to `baseDir`) or `file:` URL. */
  path: string | URL;
  /** When true, a missing file is skipped instead of failing. Default false. */
  optional?: boolean;
  /** This file's encryption context; overrides the loader's `context`. */
  context?: EncryptionContext;
  /** This file's integrity mode; overrides the loader's `integrity`. */
  integrity?: IntegrityMode;
}

/**
 * How the loader treats files' integrity records:
 * - `require` (default): every file must carry a valid record (`INTEGRITY_MISSING` otherwise);
 * - `if-present`: a record is verified when there is one; a file without one loads. This does
 *   **not** protect against someone removing the record line;
 * - `off`: records are ignored (discouraged).
 */
export type IntegrityMode = "require" | "if-present" | "off";

/** Environment overrides (see docs/config.md for the name mapping). */
export interface EnvOverrideOptions {
  /** Only variables starting with this prefix are used, e.g. `APP_`. Required, non-empty. */
  prefix: string;
  /** The variables to read. Default: the process environment. */
  vars?: Readonly<Record<string, string | undefined>>;
  /**
   * Encryption context of sealed values in variables (`sealfig:source = env` is added to it: a
   * variable's blob must be sealed for the environment, e.g. by `sealfig seal-env NAME`). Default
   * `{}`.
   */
  context?: EncryptionContext;
  /**
   * A plaintext variable (or `.env` entry) that replaces a value sealed in a lower layer:
   * `"refuse"` (default, `ENV_SEALED_OVERRIDE`) or `"allow"` (it wins, and
   * {@link LoadReport.sealedOverridden} names the path). See docs/config.md.
   */
  plaintextOverSealed?: "refuse" | "allow";
}

/** Options for {@link loadConfig} and {@link createLoader}. */
export interface LoadConfigOptions<S extends StandardSchemaV1 | undefined = undefined> {
  /** YAML files, lowest precedence first; later files deep-merge over earlier ones. */
  files: readonly (string | URL | ConfigFile)[];
  /** Directory (path or `file:` URL) relative file paths resolve against. Default: the cwd. */
  baseDir?: string | URL;
  /** A zod v4 schema or any Standard Schema validator. Default: none (result is unchecked). */
  schema?: S;
  /** Environment overrides with a prefix. Default: none. */
  env?: EnvOverrideOptions;
  /**
   * Read a `.env` file (via dotenv) as a layer between the files and the environment: `true`
   * reads `.env` in `baseDir` if it exists, a path reads that file (which must exist). Only
   * variables with the `env.prefix` are used (so `dotenv` without `env` is `OPTION_INVALID`), and
   * the process environment is not modified. Default false.
   */
  dotenv?: boolean | string;
  /**
   * Key providers, matched by the provider id in each blob. Default: {@link sharedProviders}
   * (local keys and AWS KMS configured from the environment; the AWS SDK loads only when a KMS
   * blob is met).
   */
  providers?: readonly KeyProvider[];
  /** Data key cache. Default: one cache shared by every `loadConfig` call in the process. */
  cache?: DekCache;
  /**
   * Encryption context of the files' sealed values, for all files or per file path. A file
   * entry's own `context` wins. Default `{}`.
   */
  context?: EncryptionContext | ((file: string) => EncryptionContext);
  /** Values opened at once (and so provider requests in flight at most). Default 16. */
  concurrency?: number;
  /**
   * Startup deadline of the load's provider calls, in ms from the start of the load. Within it,
   * calls answered with throttling (a KMS request quota shared with other instances) are retried
   * until they succeed: the instance starts late rather than failing. Faults (errors, timeouts)
   * still fail a call after the provider's own budget. Default 60000 (docs/kms.md, "Deadlines").
   */
  startupDeadlineMs?: number;

  /**
   * Also open sealed values that a later layer (file, `.env` or environment) replaces. Default
   * `false`: a shadowed value is never opened, so its key need not be trusted or available (the
   * file's integrity record still covers it).
   */
  openShadowed?: boolean;
  /** Size limit per file in bytes. Default 10 MiB. */
  maxFileBytes?: number;
  /** Alias expansions allowed per file. Default 100. */
  maxAliasCount?: number;
  /**
   * Active profiles for files of several YAML documents: a document with Spring Boot's
   * `spring.config.activate.on-profile` loads only when it matches them (docs/config.md,
   * "Multi-document YAML"). Default: `SEALFIG_PROFILES` (comma-separated), else none.
   */
  profiles?: readonly string[];
  /** Show non-secret values in schema error messages. Sealed values never are. Default false. */
  showValuesInErrors?: boolean;
  /**
   * The rules file (`.sealfig.yaml`) the files' policy comes from: a path, or `false` to use none.
   * Default: for each file, the nearest `.sealfig.yaml` from its directory upward (as the CLI
   * finds it; a rules file other users can write is skipped). The file's rule gives its
   * encryption context, integrity policy and secret names, and the rules file its trusted keys;
   * the `context`, `integrity` and `trustedKeys` options (and a file entry's own) override them.
   */
  rules?: string | URL | false;
  /**
   * Keys whose blobs (and integrity records) are accepted: key references (`local:<id>`, KMS key
   * ARN, alias ARN, `alias/<name>`; aliases are resolved to ARNs once), or `"any"` (discovery
   * mode: a blob under a key anyone controls is accepted). A blob under any other key is
   * `KEY_UNTRUSTED`, before any provider call. Default: `SEALFIG_TRUSTED_KEYS` (comma-separated,
   * or `any`) when set, else the rules file's keys (every rule's `key` and `trusted_keys`), else
   * the local keys the `local` provider holds and no KMS key.
   */
  trustedKeys?: TrustedKeys;
  /**
   * Integrity records: `require`, `if-present` or `off`; see {@link IntegrityMode}. Default: the
   * file's rule (`required` → `require`, `optional` → `if-present`, `off`), else `require`.
   */
  integrity?: IntegrityMode;
  /**
   * Rollback guard: refuse a file whose record's generation is below this (`INTEGRITY_ROLLBACK`),
   * for every file, or per file path (as given in `files`, resolved against `baseDir`; a path
   * that names none of the files is `OPTION_INVALID`). Default: `SEALFIG_MIN_GENERATION` (`N`, or
   * `path=N,path=N`) when set, else none.
   */
  minGeneration?: number | Readonly<Record<string, number>>;
}

/** What a load did, for logs and benchmarks. */
export interface LoadReport {
  /** The files read, as resolved paths (skipped optional files not included). */
  files: string[];
  /** Sealed values opened (file values and environment values). */
  valuesDecrypted: number;
  /** Sealed values not opened because a later layer replaced them (see `openShadowed`). */
  valuesShadowed: number;
  /** Distinct wrapped data keys among them. */
  dataKeys: number;
  /** Provider calls this load made (through the cache; 0 when every key was cached). */
  providerCalls: number;
  /**
   * Keys of several-key values and records passed over (untrusted, provider absent, or failing)
   * before the one that opened, once per data key unwrapped (docs/format.md §11).
   */
  keyFallThroughs: number;
  /** Files whose integrity record was verified. */
  integrityVerified: number;
  /**
   * Paths sealed in a lower layer that a plaintext environment variable or `.env` entry replaced
   * (only with `env.plaintextOverSealed: "allow"`; otherwise such a load fails).
   */
  sealedOverridden: string[];
}

/** A loaded config and its report. */
export interface LoadedConfig<T> {
  /** The validated, deeply frozen config. */
  config: T;
  /** What the load did. */
  report: LoadReport;
}

/** Deeply read-only view of a type. */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown ? T
  : T extends readonly (infer U)[] ? readonly DeepReadonly<U>[]
  : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
  : T;

/** The config type a load returns: the schema's output, or plain data without a schema. */
export type ConfigOf<S> = S extends StandardSchemaV1 ? DeepReadonly<InferSchemaOutput<S>>
  : { readonly [key: string]: unknown };

/** Default {@link LoadConfigOptions.startupDeadlineMs}: one minute. */
export const DEFAULT_STARTUP_DEADLINE_MS = 60_000;

let sharedCache: DekCache | undefined;

/** The data key cache `loadConfig` uses when none is given (created on first use). */
export function sharedDekCache(): DekCache {
  sharedCache ??= new DekCache();
  return sharedCache;
}

/**
 * Load layered config: files in order (deep-merged), then `.env`, then the environment; open every
 * sealed value; validate against the schema; return it deeply frozen. Secrets come back as plain
 * values; use {@link redact} for logs. Errors are {@link SealfigError}s naming file, line, column
 * and path, never a value; schema failures are one {@link ConfigValidationError} listing every
 * issue.
 *
 * @example
 * ```ts ignore
 * import { loadConfig } from "@sealfig/sealfig";
 * import { z } from "zod";
 * const AppConfig = z.object({ db: z.object({ host: z.string(), password: z.string() }) });
 * const config = await loadConfig({
 *   files: ["config/base.yaml", "config/production.yaml"],
 *   schema: AppConfig,
 *   env: { prefix: "APP_" },
 *   dotenv: true,
 * });
 * config.db.password; // string
 * ```
 */
export async function loadConfig<S extends StandardSchemaV1 | undefined = undefined>(
  options: LoadConfigOptions<S>,
): Promise<ConfigOf<S>> {
  return (await loadConfigWithReport(options)).config;
}

/**
 * Like {@link loadConfig}, and also report how many values were opened and how many provider
 * calls that took.
 *
 * @example
 * ```ts ignore
 * import { loadConfigWithReport } from "@sealfig/sealfig";
 * const { config, report } = await loadConfigWithReport({ files: ["config/production.yaml"] });
 * console.log(report.valuesDecrypted, report.providerCalls);
 * ```
 */
export async function loadConfigWithReport<S extends StandardSchemaV1 | undefined = undefined>(
  options: LoadConfigOptions<S>,
): Promise<LoadedConfig<ConfigOf<S>>> {
  const { config, report } = await loadConfigWithOrigins(options);
  return { config, report };
}

/**
 * @internal {@link loadConfigWithReport}, and where each path of the merged plain data came from
 * (file, line and column, or variable), as schema issues are located: for errors about the
 * loaded config (`sealfig run`'s variable names).
 */
export async function loadConfigWithOrigins<S extends StandardSchemaV1 | undefined = undefined>(
  options: LoadConfigOptions<S>,
): Promise<LoadedConfig<ConfigOf<S>> & { origins: ReadonlyMap<string, Origin> }> {
  const load = startLoad(options);
  const files = await readFiles(options, load);
  const plan = await planLoad(options, load, files);
  await refuseBeforeCalls(options, load, plan);
  await unwrapOpenVerify(load, plan);
  return finish(options, load, plan);
}

/** What every stage of one load shares. */
interface LoadState {
  cache: DekCache;
  providers: readonly KeyProvider[];
  concurrency: number;
  /** The cache's provider calls before the load (the report counts this load's). */
  callsBefore: number;
  /** Keys passed over while opening (a value's later key opened it): the report's count. */
  fallThroughs: { keyFallThroughs: number };
  specs: ConfigFile[];
  /** The rules file option, resolved. */
  rulesOption: string | false | undefined;
  /** Rules files read once per load, shared by every file's policy. */
  rulesCache: Map<string, Promise<Rules>>;
  /** The `.env` layer, read from the start (undefined without `dotenv`). */
  dotenv:
    | Promise<Settled<{ variables: EnvVariable[]; doc: SealfigDocument | undefined }>>
    | undefined;
}

/** A config file as read: its document and its policy. */
interface ReadFile {
  doc: SealfigDocument;
  spec: ConfigFile;
  file: string;
  policy: FilePolicy;
}

/** What the load will do: the merged tree, the blobs to open and the records to verify. */
interface LoadPlan {
  tree: TreeNode;
  files: string[];
  jobs: OpenJob[];
  /** Each job's blob, parsed once (undefined when malformed: reported with its location). */
  parsed: (ParsedBlob | undefined)[];
  integrityJobs: IntegrityJob[];
  records: (IntegrityRecord | undefined)[];
  shadowed: number;
  sealedOverridden: string[];
}

interface OpenJob {
  pending: PendingBlob;
  context: EncryptionContext;
  file?: string;
  trust: KeyAllowlist;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then((value) => ({ ok: true, value }), (error: unknown) => ({ ok: false, error }));
}

function unsettle<T>(s: Settled<T>): T {
  if (!s.ok) throw s.error;
  return s.value;
}

/** Stage 0: check the options; the providers get the load's deadline. */
function startLoad(options: LoadConfigOptions<StandardSchemaV1 | undefined>): LoadState {
  const cache = options.cache ?? sharedDekCache();
  const startupDeadlineMs = options.startupDeadlineMs ?? DEFAULT_STARTUP_DEADLINE_MS;
  if (!(startupDeadlineMs > 0)) {
    throw new SealfigError("OPTION_INVALID", "startupDeadlineMs must be a positive number");
  }
  const providers = withDeadline(
    options.providers ?? sharedProviders(),
    Date.now() + startupDeadlineMs,
  );
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new SealfigError("OPTION_INVALID", "concurrency must be a positive integer");
  }
  if (options.dotenv && !options.env) {
    // .env variables are selected by env.prefix: without one the file would be silently unused.
    throw new SealfigError("OPTION_INVALID", "dotenv needs env: { prefix } to select variables", {
      hint: 'Add env: { prefix: "APP_" } (only APP_… variables of .env are read), or drop dotenv',
    });
  }
  if (options.integrity !== undefined) checkMode(options.integrity);
  const prefix = options.env?.prefix;
  return {
    cache,
    providers,
    concurrency,
    callsBefore: cache.stats().providerCalls,
    fallThroughs: { keyFallThroughs: 0 },
    specs: options.files.map((f) =>
      typeof f === "string" || f instanceof URL ? { path: f } as ConfigFile : f
    ),
    rulesOption: options.rules === undefined || options.rules === false
      ? options.rules
      : toFilePath(options.rules, options.baseDir),
    rulesCache: new Map(),
    // Read beside the files; its errors are reported in the environment stage, after theirs.
    dotenv: options.dotenv && typeof prefix === "string" && prefix !== ""
      ? settle(readDotenv(options.dotenv, options.baseDir, prefix))
      : undefined,
  };
}

/**
 * Stage 1: discover and read. Every file is read and parsed, and its policy found (the rules
 * file read), side by side; the providers its blobs use get ready (SDK, client, credentials)
 * meanwhile. Errors are reported in file order: the files' own first, then their rules.
 */
async function readFiles(
  options: LoadConfigOptions<StandardSchemaV1 | undefined>,
  load: LoadState,
): Promise<ReadFile[]> {
  const read = await Promise.all(load.specs.map(async (spec) => {
    const file = toFilePath(spec.path, options.baseDir);
    if (spec.optional === true && !(await statFile(file))) return undefined;
    const explicitContext = spec.context ??
      (typeof options.context === "function" ? options.context(file) : options.context);
    const policy = settle(policyFor(file, {
      ...(load.rulesOption !== undefined ? { rules: load.rulesOption } : {}),
      ...(explicitContext !== undefined
        ? {
          context: explicitContext,
          contextSource: spec.context !== undefined
            ? "the file entry's context"
            : "the loader's context option",
        }
        : {}),
      ...(options.trustedKeys !== undefined ? { trustedKeys: options.trustedKeys } : {}),
      ...integrityOption(spec.integrity ?? options.integrity),
      cache: load.rulesCache,
    }));
    const doc = await settle(
      readDocument(
        file,
        options.maxFileBytes !== undefined ? { maxBytes: options.maxFileBytes } : {},
      ).then((doc) => {
        prepareProviders(doc, load.providers);
        return doc;
      }),
    );
    return { spec, file, doc, policy: await policy };
  }));
  const present = read.filter((r) => r !== undefined);
  for (const r of present) unsettle(r.doc);
  return present.map((r) => ({
    spec: r.spec,
    file: r.file,
    doc: unsettle(r.doc),
    policy: unsettle(r.policy),
  }));
}

/**
 * Stage 2: plan. Each file's tree (blobs still closed) merged over the last, then `.env` and the
 * environment; the blobs that reach the config (a shadowed one is not opened, unless asked), each
 * parsed once; each file's integrity record.
 */
async function planLoad(
  options: LoadConfigOptions<StandardSchemaV1 | undefined>,
  load: LoadState,
  read: readonly ReadFile[],
): Promise<LoadPlan> {
  const jobs: OpenJob[] = [];
  let tree: TreeNode = {
    kind: "map",
    entries: new Map(),
    origin: { source: "file", secret: false },
  };
  const files: string[] = [];
  const integrityJobs: IntegrityJob[] = [];
  const policies: FilePolicy[] = [];
  for (const { doc, file, policy } of read) {
    files.push(file);
    policies.push(policy);
    rejectReservedContext(policy.context, file);
    // A .env file's values are bound to the environment, as the dotenv layer's (docs/config.md).
    const context = doc.format === "env" ? envSealing("", policy.context).context : policy.context;
    const built = documentToTree(doc, {
      maxAliasCount: options.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT,
      profiles: () => activeProfiles(options.profiles),
    });
    // The integrity record is metadata, never config.
    built.tree.entries.delete(INTEGRITY_KEY);
    const mode = MODE_OF_POLICY[policy.integrity];
    if (mode !== "off") {
      integrityJobs.push({
        doc,
        context,
        contextSource: policy.contextSource,
        mode,
        file,
        policy,
        sealed: built.pending.length > 0,
      });
    }
    for (const pending of built.pending) {
      jobs.push({ pending, context, file, trust: policy.trust });
    }
    tree = mergeTrees(tree, built.tree);
  }

  const env = await environmentLayers(options, load, tree, policies, integrityJobs, jobs);
  tree = env.tree;

  // A value a later layer replaced is not in the config: it is not opened (nor its key checked),
  // unless asked. Leaves are shared by every alias of a blob, so reachability is by identity.
  let shadowed = 0;
  if (options.openShadowed !== true) {
    const live = liveLeaves(tree);
    const kept = jobs.filter((j) => live.has(j.pending.leaf));
    shadowed = jobs.length - kept.length;
    jobs.splice(0, jobs.length, ...kept);
  }
  return {
    tree,
    files,
    jobs,
    // Each blob is parsed once; a malformed one is reported with its location when opened.
    parsed: jobs.map(({ pending }) => {
      try {
        return parseBlob(pending.blob);
      } catch {
        return undefined;
      }
    }),
    integrityJobs,
    records: integrityJobs.map((j) => readIntegrityRecord(j.doc)),
    shadowed,
    sealedOverridden: env.sealedOverridden,
  };
}

/** Stage 2b: `.env`, then the environment, over the files' tree. */
async function environmentLayers(
  options: LoadConfigOptions<StandardSchemaV1 | undefined>,
  load: LoadState,
  tree: TreeNode,
  policies: readonly FilePolicy[],
  integrityJobs: IntegrityJob[],
  jobs: OpenJob[],
): Promise<{ tree: TreeNode; sealedOverridden: string[] }> {
  const sealedOverridden: string[] = [];
  if (!options.env) return { tree, sealedOverridden };
  const prefix = options.env.prefix;
  if (typeof prefix !== "string" || prefix === "") {
    throw new SealfigError("OPTION_INVALID", "env.prefix must be a non-empty string", {
      hint: 'Use a prefix such as "APP_"',
    });
  }
  const envContextSource = options.env.context !== undefined
    ? "the loader's env.context option"
    : "the loader's env.context option, default {}";
  let envContext: EncryptionContext;
  try {
    envContext = fixedContext(options.env.context ?? {});
    rejectReservedContext(envContext);
  } catch (err) {
    throw fromContextSource(err, envContextSource);
  }
  const overSealed = options.env.plaintextOverSealed ?? "refuse";
  if (overSealed !== "refuse" && overSealed !== "allow") {
    throw new SealfigError("OPTION_INVALID", "env.plaintextOverSealed must be refuse or allow");
  }
  const envTrust = combinedTrust(policies, options.trustedKeys);
  const layers: EnvVariable[][] = [];
  if (load.dotenv) {
    const dotenv = unsettle(await load.dotenv);
    layers.push(dotenv.variables);
    // A .env sealed in place carries a record: verified with the environment's context (the
    // context its values open with), under the trust and integrity of the .env's own policy.
    const policy = dotenv.doc && readIntegrityRecord(dotenv.doc) !== undefined
      ? await policyFor(dotenv.doc.file!, {
        ...(load.rulesOption !== undefined ? { rules: load.rulesOption } : {}),
        ...(options.trustedKeys !== undefined ? { trustedKeys: options.trustedKeys } : {}),
        ...integrityOption(options.integrity),
        cache: load.rulesCache,
      })
      : undefined;
    if (dotenv.doc && policy && policy.integrity !== "off") {
      integrityJobs.push({
        doc: dotenv.doc,
        context: envSealing("", envContext).context,
        contextSource: envContextSource,
        // Advice to use the rule's context only when env.context is not that already (then the
        // record was made under another context or key: the record's own error says so).
        ...(contextKey(envContext) === contextKey(policy.context) ? {} : {
          contextHint: "A .env is read with the environment's context (env.context, plus " +
            `sealfig:source = env), not with its rule's: set env.context to ${
              describeContext(policy.context)
            }, the context ${policy.contextSource} gives it`,
        }),
        mode: "require",
        file: dotenv.doc.file!,
        policy,
        sealed: dotenv.doc.values().some((v) => v.kind === "sealed"),
      });
    }
  }
  layers.push(
    selectVariables(options.env.vars ?? getEnvAll(), prefix, (name) => ({
      source: "env",
      variable: name,
    })),
  );
  for (const layer of layers) {
    const applied = applyEnv(tree as MapNode, prefix, layer, overSealed);
    tree = applied.tree;
    sealedOverridden.push(...applied.overridden);
    // Bound to the environment: sealed for this variable, with sealfig:source = env.
    for (const pending of applied.pending) {
      const name = String(pending.path[0]);
      jobs.push({ pending, context: envSealing(name, envContext).context, trust: envTrust });
    }
  }
  return { tree, sealedOverridden };
}

/**
 * Stage 3: refuse before any provider call. The key of every blob and every record is checked
 * against the trusted keys of its file's policy; a file refused anyway is refused now: no record
 * where one is required, a plaintext secret in a file that has no record, or a record older than
 * the pinned generation.
 */
async function refuseBeforeCalls(
  options: LoadConfigOptions<StandardSchemaV1 | undefined>,
  load: LoadState,
  plan: LoadPlan,
): Promise<void> {
  const { integrityJobs, records } = plan;
  await checkTrust(load.providers, integrityJobs, records, plan.jobs, plan.parsed);
  const minGeneration = minGenerationPolicy(
    options.minGeneration,
    load.specs.map((s) => s.path),
    options.baseDir,
  );
  for (const [i, j] of integrityJobs.entries()) {
    if (records[i] === undefined && j.mode === "require") {
      if (j.sealed) {
        await verifyRecord(j.doc, undefined, {
          providers: load.providers,
          trust: j.policy.trust,
          cache: load.cache,
          required: true,
        });
      } else {
        // A file that holds no sealed value needs no record (a plain base.yaml just loads), but a
        // plaintext value under a name the rules call secret is refused: that is what a sealed
        // file looks like after someone replaced its blobs with plaintext and removed its record.
        refuseUnsealedSecrets(j.doc, j.policy, j.file);
      }
    }
    refuseRollback(j.file, records[i], minGeneration(j.file));
  }
}

/**
 * Stage 4: unwrap, open and verify in one round of provider calls. Each file's record is verified
 * while the values' data keys are fetched and their blobs opened, so a cold load waits for one
 * round trip, not two; each distinct data key is fetched once (the cache joins concurrent
 * misses). Opened values are held aside and reach the tree only after every record has verified;
 * when one fails, they are dropped and the integrity error is what the caller sees.
 */
async function unwrapOpenVerify(load: LoadState, plan: LoadPlan): Promise<void> {
  const { providers, cache, concurrency, fallThroughs } = load;
  const { integrityJobs, records, jobs, parsed } = plan;
  const verifying = mapConcurrent(integrityJobs, concurrency, async (j, i) => {
    try {
      await verifyRecord(j.doc, records[i], {
        providers,
        context: j.context,
        trust: j.policy.trust,
        cache,
        stats: fallThroughs,
        required: j.mode === "require" && j.sealed,
      });
    } catch (err) {
      if (isSealfigError(err) && err.code === "CONTEXT_MISMATCH") {
        throw fromContextSource(
          err,
          j.contextSource,
          { file: j.file, path: INTEGRITY_KEY },
          j.contextHint,
        );
      }
      throw err;
    }
  });
  const opening = mapConcurrent(
    jobs,
    concurrency,
    ({ pending, context, file, trust }, i) =>
      openPending(pending, parsed[i], {
        providers,
        context,
        cache,
        trust,
        stats: fallThroughs,
        ...(file !== undefined ? { file } : {}),
      }),
  );
  const [verified, opened] = await Promise.allSettled([verifying, opening]);
  if (verified.status === "rejected") throw verified.reason;
  if (opened.status === "rejected") throw opened.reason;
  for (const [i, { pending }] of jobs.entries()) pending.leaf.value = opened.value[i]!;
}

/** Stage 5: plain data, validation, freezing, and the report. */
async function finish<S extends StandardSchemaV1 | undefined>(
  options: LoadConfigOptions<S>,
  load: LoadState,
  plan: LoadPlan,
): Promise<LoadedConfig<ConfigOf<S>> & { origins: ReadonlyMap<string, Origin> }> {
  const { jobs, parsed } = plan;
  const data = materialize(plan.tree as MapNode);
  const secretStrings = jobs.map((j) => j.pending.leaf.value).filter((v) => v !== null)
    .map(String);
  const output = options.schema
    ? await validateConfig(options.schema, data.value, {
      origins: data.origins,
      secrets: secretStrings,
      showValues: options.showValuesInErrors === true,
    })
    : data.value;
  const config = freezeConfig(output, data.secretPaths, secretStrings) as ConfigOf<S>;
  const dataKeys = distinctDataKeys(jobs, parsed);
  return {
    config,
    origins: data.origins,
    report: {
      files: plan.files,
      valuesDecrypted: jobs.length,
      valuesShadowed: plan.shadowed,
      dataKeys: dataKeys.size,
      providerCalls: load.cache.stats().providerCalls - load.callsBefore,
      keyFallThroughs: load.fallThroughs.keyFallThroughs,
      integrityVerified: plan.integrityJobs.filter((_, i) => plan.records[i] !== undefined).length,
      sealedOverridden: plan.sealedOverridden,
    },
  };
}

/** Every leaf of the final tree (the values that reach the config). */
function liveLeaves(tree: TreeNode): Set<LeafNode> {
  const live = new Set<LeafNode>();
  const seen = new Set<TreeNode>();
  const stack: TreeNode[] = [tree];
  while (stack.length) {
    const node = stack.pop()!;
    if (seen.has(node)) continue; // a node shared by aliases is walked once
    seen.add(node);
    if (node.kind === "leaf") live.add(node);
    else if (node.kind === "map") stack.push(...node.entries.values());
    else stack.push(...node.items);
  }
  return live;
}

/** INTEGRITY_ROLLBACK when a pinned minimum generation is set and the record is older or absent. */
function refuseRollback(
  file: string,
  record: { generation: number } | undefined,
  min: number | undefined,
): void {
  if (min !== undefined && (record === undefined || record.generation < min)) {
    throw new SealfigError(
      "INTEGRITY_ROLLBACK",
      record === undefined
        ? `The file has no integrity record, and generation ${min} or later is required`
        : `The file is generation ${record.generation}, older than the minimum ${min}`,
      {
        file,
        hint: "This is an older version of the file than the minimum allows: deploy the " +
          "current file, or lower the pinned minimum generation if this is intended",
      },
    );
  }
}

/**
 * Let each provider a file's blobs use get ready (SDK, client, credentials) while the rest of the
 * load goes on, instead of on its first call. No provider call is made; nothing is awaited.
 */
function prepareProviders(doc: SealfigDocument, providers: readonly KeyProvider[]): void {
  const seen = new Set<string>();
  for (const v of doc.values()) {
    if (v.kind !== "sealed") continue;
    let blob: ParsedBlob;
    try {
      blob = parseBlob(v.value as string);
    } catch {
      continue; // reported when opened
    }
    if (seen.has(blob.providerId)) continue;
    seen.add(blob.providerId);
    void providers.find((p) => p.id === blob.providerId)?.prepare?.(blob.keyId);
  }
}

/** Open one pending blob; an error names the file, line and column, or the variable. */
async function openPending(
  pending: PendingBlob,
  parsed: ParsedBlob | undefined,
  options: {
    providers: readonly KeyProvider[];
    context: EncryptionContext;
    cache: DekCache;
    trust: KeyAllowlist;
    stats: { keyFallThroughs: number };
    file?: string;
  },
): Promise<SecretValue> {
  try {
    const opts = { ...options, path: pending.path };
    return await (parsed ? decryptParsed(parsed, opts) : decryptValue(pending.blob, opts));
  } catch (caught) {
    const o = pending.leaf.origin;
    if (!isSealfigError(caught)) throw caught;
    let err = caught;
    if (err.code === "DEK_UNWRAP_FAILED" || err.code === "KMS_INVALID_CIPHERTEXT") {
      // The usual cause is a context other than the writer's: show the one used (contexts are not
      // secret; KMS logs them in CloudTrail).
      err = new SealfigError(
        err.code,
        `${err.reason} with encryption context ${describeContext(options.context)}`,
        {
          ...(err.file !== undefined ? { file: err.file } : {}),
          ...(err.path !== undefined ? { path: err.path } : {}),
          ...(err.keyId !== undefined ? { keyId: err.keyId } : {}),
          ...(err.hint !== undefined ? { hint: err.hint } : {}),
          cause: caught,
        },
      );
    }
    if (o.source === "file") {
      throw err.withLocation({
        ...(o.file !== undefined ? { file: o.file } : {}),
        ...(o.line !== undefined ? { line: o.line } : {}),
        ...(o.col !== undefined ? { col: o.col } : {}),
      });
    }
    // A sealed environment value: say which variable (and .env line) it came from. One that
    // does not open was sealed for something else: a file, another variable, or another
    // env.context. The command that seals it for this one names the loader's env.context.
    const notForThisVariable = err.code === "DEK_UNWRAP_FAILED" ||
      err.code === "KMS_INVALID_CIPHERTEXT" || err.code === "BLOB_AUTH_FAILED";
    const entries = Object.entries(options.context).filter(([k]) => k !== ENV_SOURCE_KEY);
    const variable = o.variable ?? "NAME";
    // The command only when it can run: seal-env takes POSIX names, and `--context K=V` splits
    // at the first `=`.
    const command = variable.length <= 255 && isEnvName(variable) &&
        entries.every(([k]) => !k.includes("="))
      ? `: sealfig seal-env ${shellWord(variable)}${
        entries.map(([k, v]) => ` --context ${shellWord(`${k}=${v}`)}`).join("")
      }`
      : "";
    const hint = notForThisVariable
      ? `A value in the environment must be sealed for its variable and the loader's env.context${command} ` +
        "(a blob copied from a file or from another variable, or sealed with another context, does " +
        "not open here)"
      : err.hint;
    throw new SealfigError(
      err.code,
      `${err.reason} (value of environment variable ${o.variable ?? "?"})`,
      {
        ...(o.file !== undefined ? { file: o.file } : {}),
        ...(o.line !== undefined ? { line: o.line } : {}),
        ...(pending.target !== undefined
          ? { path: formatPath(pending.target) }
          : err.path !== undefined
          ? { path: err.path }
          : {}),
        ...(err.keyId !== undefined ? { keyId: err.keyId } : {}),
        ...(hint !== undefined ? { hint } : {}),
        cause: err,
      },
    );
  }
}

interface IntegrityJob {
  doc: SealfigDocument;
  context: EncryptionContext;
  /** Where the context came from, for messages. */
  contextSource: string;
  /** What to do when the record does not open with that context (default: the error's hint). */
  contextHint?: string;
  mode: IntegrityMode;
  file: string;
  policy: FilePolicy;
  /** Whether the file holds any sealed value. */
  sealed: boolean;
}

/** An explicit integrity mode as the policy's option (the policy decides; see policy.ts). */
function integrityOption(mode: IntegrityMode | undefined): { integrity?: FilePolicy["integrity"] } {
  if (mode === undefined) return {};
  checkMode(mode);
  return {
    integrity: mode === "require" ? "required" : mode === "if-present" ? "optional" : "off",
  };
}

/** The loader's integrity mode for a rule's integrity policy. */
const MODE_OF_POLICY: Record<FilePolicy["integrity"], IntegrityMode> = {
  required: "require",
  optional: "if-present",
  off: "off",
};

/**
 * A file without a record and without sealed values: refuse a plaintext value whose key the
 * policy calls secret (null, booleans and empty strings are placeholders, not secrets).
 */
function checkMode(mode: unknown): void {
  if (mode !== "require" && mode !== "if-present" && mode !== "off") {
    throw new SealfigError("OPTION_INVALID", `Invalid integrity mode ${JSON.stringify(mode)}`, {
      hint: 'Use "require", "if-present" or "off"',
    });
  }
}

/** Check the keys of every record and blob, in order, so the first untrusted one is named. */
async function checkTrust(
  providers: readonly KeyProvider[],
  files: readonly IntegrityJob[],
  records: readonly (IntegrityRecord | undefined)[],
  jobs: readonly { pending: PendingBlob; file?: string; trust: KeyAllowlist }[],
  parsed: readonly (ParsedBlob | undefined)[],
): Promise<void> {
  for (const [i, j] of files.entries()) {
    const r = records[i];
    if (r) {
      await j.policy.trust.checkAll(
        [{ key: r, where: () => ({ file: j.file, path: INTEGRITY_KEY }) }],
        providers,
      );
    }
  }
  // Blobs in order, grouped by allowlist (one per file policy, one for the environment).
  const groups = new Map<KeyAllowlist, { key: KeyName; where: () => SealfigErrorOptions }[]>();
  for (const [i, { pending, trust }] of jobs.entries()) {
    const key = parsed[i];
    if (!key) continue; // malformed: reported with its location when opened
    const o = pending.leaf.origin;
    let group = groups.get(trust);
    if (!group) groups.set(trust, group = []);
    group.push({
      key,
      where: () => ({
        ...(o.file !== undefined ? { file: o.file } : {}),
        ...(o.line !== undefined ? { line: o.line } : {}),
        ...(o.col !== undefined ? { col: o.col } : {}),
        ...(o.source === "file"
          ? { path: formatPath(pending.path) }
          : pending.target
          ? { path: formatPath(pending.target) }
          : {}),
      }),
    });
  }
  for (const [trust, items] of groups) await trust.checkAll(items, providers);
}

/** Distinct wrapped data keys among the opened values (the report's `dataKeys`). */
function distinctDataKeys(
  jobs: readonly OpenJob[],
  parsed: readonly (ParsedBlob | undefined)[],
): { size: number } {
  // By key, then by wrapped bytes: a parsed blob's wrapped DEK has its string made once
  // (byteString), so a value costs two lookups, not a base64 encoding of its wrapped key.
  const byKey = new Map<string, Set<string>>();
  let size = 0;
  for (const [i, j] of jobs.entries()) {
    const p = parsed[i];
    const key = p ? `${p.providerId}\u0000${p.keyId}` : "";
    const wrapped = p ? byteString(p.wrappedDek) : j.pending.blob;
    let seen = byKey.get(key);
    if (!seen) byKey.set(key, seen = new Set());
    if (!seen.has(wrapped)) {
      seen.add(wrapped);
      size++;
    }
  }
  return { size };
}

async function readDotenv(
  option: true | string,
  baseDir: string | URL | undefined,
  prefix: string,
): Promise<{ variables: EnvVariable[]; doc: SealfigDocument | undefined }> {
  const file = toFilePath(option === true ? ".env" : option, baseDir);
  const info = await statFile(file);
  if (!info) {
    if (option === true) return { variables: [], doc: undefined };
    throw new SealfigError("FILE_NOT_FOUND", "The .env file does not exist", {
      file,
      hint: "Create it, or set dotenv: true to read .env only when it exists",
    });
  }
  // sealfig's one .env reader (document/dotenv.ts), as for .env files in `files` and the CLI.
  const doc = await readDocument(file, { format: "env", maxBytes: DEFAULT_MAX_FILE_BYTES });
  const vars: Record<string, string> = {};
  const lines = new Map<string, number>();
  for (const v of doc.values()) {
    const name = String(v.path[0]);
    if (name === INTEGRITY_KEY) continue;
    vars[name] = String(v.value ?? "");
    lines.set(name, v.line);
  }
  const variables = selectVariables(vars, prefix, (name) => {
    const line = lines.get(name);
    return { source: "dotenv", file, ...(line !== undefined ? { line } : {}), variable: name };
  });
  return { variables, doc };
}

/** A loader that keeps its data key cache across reloads (e.g. on SIGHUP). */
export interface ConfigLoader<T> {
  /** Load (or reload) the config. Within the cache TTL a reload makes no provider call. */
  load(): Promise<T>;
  /** Load and report what the load did. */
  loadWithReport(): Promise<LoadedConfig<T>>;
  /** The loader's data key cache. */
  readonly cache: DekCache;
  /** The cache's counters (hits, misses, provider calls …). */
  stats(): DekCacheStats;
  /** Drop and zero every cached data key. */
  clear(): void;
}

/**
 * Create a loader with fixed options and its own data key cache (unless `options.cache` is
 * given), for apps that reload config.
 *
 * @example
 * ```ts ignore
 * import { createLoader } from "@sealfig/sealfig";
 * const loader = createLoader({ files: ["config/base.yaml", "config/production.yaml"] });
 * let config = await loader.load();
 * process.on("SIGHUP", async () => (config = await loader.load()));
 * console.log(loader.stats().providerCalls);
 * ```
 */
export function createLoader<S extends StandardSchemaV1 | undefined = undefined>(
  options: LoadConfigOptions<S>,
): ConfigLoader<ConfigOf<S>> {
  const cache = options.cache ?? new DekCache();
  const opts: LoadConfigOptions<S> = { ...options, cache };
  return {
    load: async () => (await loadConfigWithReport(opts)).config,
    loadWithReport: () => loadConfigWithReport(opts),
    cache,
    stats: () => cache.stats(),
    clear: () => cache.clear(),
  };
}

/** `text` as one shell word: bare when it is plain, else single-quoted. */
function shellWord(text: string): string {
  return /^[\w.,:/@=+-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
