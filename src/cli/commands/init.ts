/**
 * `sealfig init`: write a rules file `.sealfig.yaml`.
 *
 * @module
 */
import { parse, stringify } from "yaml";
import { SealfigError } from "../../errors.ts";
import { canonicalContext } from "../../envelope/aad.ts";
import { integrityContext } from "../../integrity/mac.ts";
import { addKeyToFile, defaultKeyFile, LocalKeyProvider } from "../../keys/local.ts";
import { formatKeyRef, parseKeyRef, RULES_FILE } from "../../rules.ts";
import { joinPath, statFile, writeFileAtomic } from "../../runtime.ts";
import { UsageError } from "../args.ts";
import { type Command, flagBool, flagList, flagString } from "../command.ts";
import { parseContextFlags } from "../target.ts";

/** The init command. */
export const initCommand: Command = {
  name: "init",
  summary: "Write a rules file (.sealfig.yaml): files, key, context, secret names, DEK policy",
  usage:
    "init [--key REF]... [--files REGEX] [--context k=v]... [--secret REGEX] [--dek per-file|per-value] [--dir DIR] [--force]",
  details: [
    "Without --key, uses the first local key in the key file, creating one if there is none.",
    "REF is local:<id>, a KMS key ARN, an alias ARN, alias/<name> or an age recipient (age1…).",
    "Repeat --key for several keys (written as keys: [...]): each data key is wrapped under every",
    "one, any one opens.",
    "Without --secret, the rule has no secret: field and the built-in secret-name matcher applies",
    "(DB_PASSWORD, apiKey, stripeSecretKey … in any spelling; see docs/rules.md).",
    "Everything is validated before anything is written: an invalid regex, a reserved or",
    "oversized context, or a malformed key reference exits 2 and writes nothing.",
  ].join("\n"),
  flags: {
    key: {
      type: "list",
      value: "REF",
      description: "Key to seal with; repeat for several keys (any one opens)",
    },
    files: {
      type: "string",
      value: "REGEX",
      description: "Files the rule applies to (default: YAML, JSON and .env files)",
    },
    context: { type: "list", value: "K=V", description: "Encryption context entry (repeatable)" },
    secret: {
      type: "string",
      value: "REGEX",
      description:
        "Keys that are secret by name, a regex used as written (default: the built-in matcher)",
    },
    dek: { type: "string", value: "POLICY", description: "per-file (default) or per-value" },
    dir: {
      type: "string",
      value: "DIR",
      description: "Where to write the rules file (default: .)",
    },
    force: { type: "boolean", short: "f", description: "Overwrite an existing rules file" },
  },
  async run(args, ctx) {
    const dir = flagString(args, "dir") ?? ".";
    const dirInfo = await statFile(dir);
    if (!dirInfo || dirInfo.isFile) {
      throw new SealfigError("OPTION_INVALID", `--dir ${dir} is not a directory`, {
        hint: "Create it first (mkdir -p), or run init from the repository's root",
      });
    }
    const file = joinPath(dir, RULES_FILE);
    if ((await statFile(file)) && !flagBool(args, "force")) {
      throw new SealfigError("OPTION_INVALID", `${file} already exists`, {
        hint: "Use --force to overwrite it",
      });
    }
    const dek = flagString(args, "dek") ?? "per-file";
    if (dek !== "per-file" && dek !== "per-value") {
      throw new UsageError("--dek must be per-file or per-value");
    }
    const context = parseContextFlags(flagList(args, "context"));
    const files = flagString(args, "files") ?? DEFAULT_FILES;
    const secret = flagString(args, "secret");
    validateInit({ files, secret, context });
    const given = flagList(args, "key").map(validKeyRef);
    let key: string | undefined = given[0];
    if (new Set(given).size !== given.length) throw new UsageError("--key names a key twice");
    if (!key) {
      const ids = await new LocalKeyProvider({
        keyFile: ctx.env.SEALFIG_KEY_FILE ?? defaultKeyFile(),
      }).keyIds();
      const id = ids[0] ?? (await addKeyToFile(ctx.env.SEALFIG_KEY_FILE ?? defaultKeyFile()));
      if (!ids[0]) ctx.stderr(`Created local key ${id}\n`);
      key = `local:${id}`;
    }
    const rule: Record<string, unknown> = {
      files,
      ...(given.length > 1 ? { keys: given } : { key }),
      ...(Object.keys(context).length ? { context } : {}),
      ...(secret !== undefined ? { secret } : {}),
      dek,
    };
    const data = { version: 1, rules: [rule] };
    const body =
      "# sealfig rules: the first rule whose `files` regex matches a file's path (relative to\n" +
      "# this file) applies. key: local:<id> | KMS key ARN | alias/<name> (keys: [...] for several,\n" +
      "# any one of which opens the file). context is bound to every\n" +
      "# value and sent to KMS as EncryptionContext (logged in CloudTrail: no secrets). secret: a\n" +
      "# regex on key names sealed even without !secret (absent: the built-in matcher; false: none).\n" +
      "# dek: per-file shares a data key per file, per-value does not. Reference: docs/rules.md\n" +
      stringify(data, { lineWidth: 0 });
    // What is written must read back as exactly what was validated.
    if (JSON.stringify(parse(body)) !== JSON.stringify(data)) {
      throw new SealfigError("OPTION_INVALID", "The rules file would not read back as written", {
        hint: "Check the --files, --secret and --context values for unusual characters",
      });
    }
    await writeFileAtomic(file, body, { mode: 0o644 });
    // Say which key(s): without --key the first key of the key file is chosen, which need not be
    // the one keygen printed last.
    const named = given.length > 1 ? given : [String(key)];
    ctx.stderr(`Wrote ${file} (${named.length > 1 ? "keys" : "key"} ${named.join(", ")})\n`);
    return 0;
  },
};

/**
 * The default rule's files: every format sealfig reads (YAML; JSON; `.env`, `.env.*` and `*.env`).
 */
export const DEFAULT_FILES = "\\.ya?ml$|\\.json$|\\.env$|(^|/)\\.env\\.[^/]+$";

/** Check the regexes and the context `init` would write; throws before anything is written. */
function validateInit(
  o: { files: string; secret: string | undefined; context: Record<string, string> },
): void {
  for (const [flag, pattern] of [["--files", o.files], ["--secret", o.secret]] as const) {
    if (pattern === undefined) continue;
    if (pattern === "") throw new UsageError(`${flag} must not be empty`);
    try {
      new RegExp(pattern);
    } catch (err) {
      throw new SealfigError("OPTION_INVALID", `${flag} is not a valid regular expression`, {
        hint: `${(err as Error).message}; the rules use JavaScript regular expressions`,
      });
    }
  }
  for (const k of Object.keys(o.context)) {
    if (k.startsWith("sealfig:")) {
      throw new SealfigError(
        "OPTION_INVALID",
        `The encryption context key ${JSON.stringify(k)} is reserved (sealfig:* keys are)`,
        { hint: "Rename that context entry" },
      );
    }
  }
  // The value context and the integrity record's (one more pair) must both be valid.
  canonicalContext(integrityContext(o.context));
}

/**
 * A key reference in the form the rules file stores. A local key id must look like one
 * (`lk_` + 16 hex digits); the text is never echoed, since key material pasted by mistake must
 * not end up in an error message or the rules file.
 */
function validKeyRef(ref: string): string {
  if (ref.includes("sealfig-local-key-")) {
    throw new SealfigError("OPTION_INVALID", "--key is a local key itself, not its id", {
      hint: "Pass local:<key id> (sealfig keygen prints it); never put key material in rules",
    });
  }
  let parsed;
  try {
    parsed = parseKeyRef(ref);
  } catch {
    throw new SealfigError("OPTION_INVALID", "--key is not a key reference", {
      hint: "Use local:<key id>, a KMS key ARN, an alias ARN, alias/<name>, aws-kms:<key id> or " +
        "an age recipient (age1…)",
    });
  }
  if (parsed.providerId === "local" && !/^lk_[0-9a-f]{16}$/.test(parsed.keyId)) {
    throw new SealfigError("OPTION_INVALID", "--key local:<id> needs a local key id (lk_…)", {
      hint: "sealfig keygen prints the id; the key file lists it",
    });
  }
  if (
    parsed.providerId === "aws-kms" &&
    !/^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_:-]+|alias\/[A-Za-z0-9/_-]+|(mrk-)?[0-9a-f-]{32,36})$/
      .test(parsed.keyId)
  ) {
    throw new SealfigError("OPTION_INVALID", "--key is not a KMS key or alias reference", {
      hint: "Use a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), an alias ARN or alias/<name>",
    });
  }
  return formatKeyRef(parsed);
}
