/**
 * `sealfig run -f FILE... -- CMD ARGS...`: load the files like `loadConfig`, put the config into
 * the environment (see env_flatten.ts), run the command, and exit with its exit code. Signals
 * this process receives are forwarded to the child.
 *
 * @module
 */
import { loadConfigWithOrigins } from "../../config/load_config.ts";
import type { StandardSchemaV1 } from "../../config/validate.ts";
import { isSealfigError, SealfigError } from "../../errors.ts";
import { containsAgeIdentity } from "../../keys/age.ts";
import { defaultProviders } from "../../keys/registry.ts";
import { importFile, isWindows, runChild, signalNumber } from "../../runtime.ts";
import { UsageError } from "../args.ts";
import { type Command, flagBool, flagList, flagString } from "../command.ts";
import { flattenToEnv } from "../env_flatten.ts";

/** The run command. */
export const runCommand: Command = {
  name: "run",
  summary: "Load config files, export them as environment variables, run a command",
  usage:
    "run -f FILE [-f FILE]... [--prefix P] [--override NAME]... [--schema MODULE[#EXPORT]] [--env-prefix APP_] -- CMD [ARGS...]",
  details: [
    "Later files deep-merge over earlier ones. Variable names: nested keys joined with __, upper-cased",
    "(db.password → DB__PASSWORD, servers[0].host → SERVERS__0__HOST, maxConnections →",
    "MAX_CONNECTIONS), with --prefix prepended. Values are passed as they are (multi-line, spaces,",
    "quotes). The command's exit code is sealfig's; a signal it dies of is re-raised (exit 128+n).",
    "--schema imports MODULE and validates with its EXPORT (default: `schema`, then `default`).",
    "The child's environment never carries key material: SEALFIG_KEY, SEALFIG_KEY_FILE,",
    "SEALFIG_KEY_* and SEALFIG_AGE_KEY* are removed, and so is any variable whose value holds a",
    "local key (sealfig-local-key-…) or an age identity (AGE-SECRET-KEY-…). The child runs as the",
    "same user with the same HOME: it can",
    "read the key files that user can (see README). Cloud credentials (AWS_*) are passed on.",
    "A config variable never silently replaces an inherited one (PATH, LD_PRELOAD, NODE_OPTIONS …):",
    "that is RUN_ENV_COLLISION, unless --override NAME names it. Use --prefix to keep them apart.",
    "With --no-inherit the config supplies the whole environment, PATH included: give CMD as a path.",
  ].join("\n"),
  flags: {
    file: {
      type: "list",
      short: "f",
      value: "FILE",
      description: "Config file (repeatable, in order)",
    },
    prefix: { type: "string", value: "P", description: "Prefix for variable names (default none)" },
    schema: {
      type: "string",
      value: "MODULE",
      description: "Validate with a zod/Standard Schema export",
    },
    "env-prefix": {
      type: "string",
      value: "P",
      description: "Also apply overrides from P-prefixed variables",
    },
    "no-inherit": { type: "boolean", description: "Do not pass this process's environment to CMD" },
    override: {
      type: "list",
      value: "NAME",
      description: "Let the config replace the inherited variable NAME (repeatable)",
    },
    rules: {
      type: "string",
      value: "FILE",
      description: "Rules file for contexts (default: nearest .sealfig.yaml)",
    },
  },
  async run(args, ctx) {
    const files = flagList(args, "file");
    if (files.length === 0) throw new UsageError("run needs at least one -f FILE");
    const [cmd, ...cmdArgs] = args.rest ?? [];
    if (!cmd) throw new UsageError("run needs -- CMD [ARGS...]");
    const schema = await loadSchema(flagString(args, "schema"));
    const envPrefix = flagString(args, "env-prefix");
    // Contexts, trusted keys and integrity policy: the files' policy (src/policy.ts), exactly as
    // the loader in an app finds it.
    const rules = flagString(args, "rules");
    const { config, origins } = await loadConfigWithOrigins({
      files,
      ...(rules !== undefined ? { rules } : {}),
      providers: defaultProviders(),
      ...(schema ? { schema } : {}),
      ...(envPrefix ? { env: { prefix: envPrefix, vars: ctx.env } } : {}),
    });
    let vars: Record<string, string>;
    try {
      vars = flattenToEnv(config, flagString(args, "prefix") ?? "");
    } catch (err) {
      // Located where the loader found the value, as schema issues are.
      const origin = isSealfigError(err) && err.path !== undefined
        ? origins.get(err.path)
        : undefined;
      if (origin?.file === undefined) throw err;
      throw (err as SealfigError).withLocation({
        file: origin.file,
        ...(origin.line !== undefined ? { line: origin.line } : {}),
        ...(origin.col !== undefined ? { col: origin.col } : {}),
      });
    }
    const inherited = flagBool(args, "no-inherit") ? {} : ctx.env;
    refuseCollisions(vars, inherited, new Set(flagList(args, "override")));
    const env = withoutKeyMaterial({ ...inherited, ...vars });
    let exit;
    try {
      exit = await runChild(cmd, cmdArgs, { env });
    } catch (err) {
      throw new SealfigError("OPTION_INVALID", `Cannot run ${JSON.stringify(cmd)}`, {
        cause: err,
        hint: "Check that the command exists and is executable",
      });
    }
    if (exit.signal) return 128 + signalNumber(exit.signal);
    return exit.code ?? 1;
  },
};

async function loadSchema(spec: string | undefined): Promise<StandardSchemaV1 | undefined> {
  if (!spec) return undefined;
  const hash = spec.lastIndexOf("#");
  const modPath = hash > 0 ? spec.slice(0, hash) : spec;
  const exportName = hash > 0 ? spec.slice(hash + 1) : undefined;
  let mod: Record<string, unknown>;
  try {
    mod = await importFile(modPath);
  } catch (err) {
    throw new SealfigError("OPTION_INVALID", `Cannot import schema module ${modPath}`, {
      cause: err,
    });
  }
  const schema = exportName ? mod[exportName] : mod.schema ?? mod.default;
  if (!schema || typeof schema !== "object" || !("~standard" in schema)) {
    throw new SealfigError(
      "OPTION_INVALID",
      `${spec} does not export a zod or Standard Schema validator`,
      {
        hint: "Export it as `schema`, or name it: --schema module.ts#AppConfig",
      },
    );
  }
  return schema as StandardSchemaV1;
}

/**
 * Throw `RUN_ENV_COLLISION` when a config-derived variable would replace an inherited one that
 * `--override` does not name: a config file must not choose the child's PATH, LD_PRELOAD,
 * NODE_OPTIONS … behind the back of whoever runs it. Names only, never values, in the message.
 */
function refuseCollisions(
  vars: Record<string, string>,
  inherited: Record<string, string | undefined>,
  overrides: ReadonlySet<string>,
): void {
  const windows = isWindows; // variable names are case-insensitive there
  const have = new Set(
    Object.keys(inherited).filter((k) => inherited[k] !== undefined).map((k) =>
      windows ? k.toUpperCase() : k
    ),
  );
  const clash = Object.keys(vars).filter((name) =>
    have.has(windows ? name.toUpperCase() : name) && !overrides.has(name)
  );
  if (clash.length === 0) return;
  const shown = clash.slice(0, 10).join(", ") + (clash.length > 10 ? ", …" : "");
  throw new SealfigError(
    "RUN_ENV_COLLISION",
    `The config would replace inherited environment variable(s) ${shown}`,
    {
      hint: "Give the config's variables their own names with --prefix APP_, or allow each one " +
        `the config may replace with --override NAME (e.g. --override ${clash[0]})`,
    },
  );
}

/** Names of variables that carry key material (or name a file that does). */
const KEY_VARIABLE = /^SEALFIG_(KEY|KEY_FILE|KEY_.*|AGE_KEY.*)$/;

/**
 * The child's environment without key material: with `SEALFIG_KEY` or `SEALFIG_KEY_FILE` the
 * child could open every value of every commit, not just the config it was given.
 */
export function withoutKeyMaterial(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (
      KEY_VARIABLE.test(name.toUpperCase()) || value.includes("sealfig-local-key-") ||
      containsAgeIdentity(value)
    ) continue;
    out[name] = value;
  }
  return out;
}
