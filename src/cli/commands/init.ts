/**
 * `sealfig init`: write a rules file `.sealfig.yaml`.
 *
 * @module
 */
import { stringify } from "yaml";
import { SealfigError } from "../../errors.ts";
import { addKeyToFile, defaultKeyFile, LocalKeyProvider } from "../../keys/local.ts";
import { DEFAULT_SECRET_PATTERN, formatKeyRef, parseKeyRef, RULES_FILE } from "../../rules.ts";
import { joinPath, statFile, writeFileAtomic } from "../../runtime.ts";
import { UsageError } from "../args.ts";
import { type Command, flagBool, flagList, flagString } from "../command.ts";

/** The init command. */
export const initCommand: Command = {
  name: "init",
  summary: "Write a rules file (.sealfig.yaml): files, key, context, secret names, DEK policy",
  usage:
    "init [--key REF] [--files REGEX] [--context k=v]... [--secret REGEX] [--dek per-file|per-value] [--dir DIR] [--force]",
  details: [
    "Without --key, uses the first local key in the key file, creating one if there is none.",
    "REF is local:<id>, a KMS key ARN, an alias ARN or alias/<name>.",
  ].join("\n"),
  flags: {
    key: { type: "string", value: "REF", description: "Key to seal with" },
    files: {
      type: "string",
      value: "REGEX",
      description: "Files the rule applies to (default: YAML files)",
    },
    context: { type: "list", value: "K=V", description: "Encryption context entry (repeatable)" },
    secret: {
      type: "string",
      value: "REGEX",
      description:
        "Keys that are secret by name (default: password|passwd|token|secret|api_?key|private_?key)",
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
    const file = joinPath(flagString(args, "dir") ?? ".", RULES_FILE);
    if ((await statFile(file)) && !flagBool(args, "force")) {
      throw new SealfigError("OPTION_INVALID", `${file} already exists`, {
        hint: "Use --force to overwrite it",
      });
    }
    const dek = flagString(args, "dek") ?? "per-file";
    if (dek !== "per-file" && dek !== "per-value") {
      throw new UsageError("--dek must be per-file or per-value");
    }
    const context: Record<string, string> = {};
    for (const kv of flagList(args, "context")) {
      const eq = kv.indexOf("=");
      if (eq < 1) throw new UsageError(`--context wants KEY=VALUE, got ${JSON.stringify(kv)}`);
      context[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    let key = flagString(args, "key");
    if (key) {
      key = formatKeyRef(parseKeyRef(key));
    } else {
      const ids = await new LocalKeyProvider({
        keyFile: ctx.env.SEALFIG_KEY_FILE ?? defaultKeyFile(),
      }).keyIds();
      const id = ids[0] ?? (await addKeyToFile(ctx.env.SEALFIG_KEY_FILE ?? defaultKeyFile()));
      if (!ids[0]) ctx.stderr(`Created local key ${id}\n`);
      key = `local:${id}`;
    }
    const rule: Record<string, unknown> = {
      files: flagString(args, "files") ?? "\\.ya?ml$",
      key,
      ...(Object.keys(context).length ? { context } : {}),
      secret: flagString(args, "secret") ?? DEFAULT_SECRET_PATTERN,
      dek,
    };
    const body =
      "# sealfig rules: the first rule whose `files` regex matches a file's path (relative to\n" +
      "# this file) applies. key: local:<id> | KMS key ARN | alias/<name>. context is bound to every\n" +
      "# value and sent to KMS as EncryptionContext (logged in CloudTrail: no secrets). secret: keys\n" +
      "# sealed even without !secret. dek: per-file shares a data key per file, per-value does not.\n" +
      stringify({ version: 1, rules: [rule] }, { lineWidth: 0 });
    await writeFileAtomic(file, body, { mode: 0o644 });
    ctx.stderr(`Wrote ${file}\n`);
    return 0;
  },
};
