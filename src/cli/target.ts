/**
 * What the file commands share: resolving a file's rule (key, context, secret names, DEK policy)
 * from `.sealfig.yaml` and flags, reading the document (or stdin for `-`), choosing which plain
 * values the rules mark secret, and writing results atomically or to stdout.
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import {
  type DocumentValue,
  parseDocument,
  readDocument,
  type SealfigDocument,
} from "../document/document.ts";
import type { SealDocumentOptions } from "../document/seal.ts";
import type { KeyProvider } from "../keys/key_provider.ts";
import { kmsKeyFromEnv } from "../keys/aws_kms.ts";
import { defaultProviders, providerById } from "../keys/registry.ts";
import { type FileRule, loadRuleFor, parseKeyRef } from "../rules.ts";
import { currentDir, joinPath, statFile, writeFileAtomic } from "../runtime.ts";
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
};

/** A file a command works on, with its rule and the providers to use. */
export interface Target {
  /** The path, or `-` for stdin. */
  file: string;
  /** The rule that applies. */
  rule: FileRule;
  /** Providers for opening blobs. */
  providers: KeyProvider[];
}

/** Resolve the rule and providers for `file`, applying `--rules`, `--key` and `--context`. */
export async function resolveTarget(file: string, args: ParsedArgs): Promise<Target> {
  const ruleFile = file === "-" ? joinPath(currentDir(), "stdin.yaml") : file;
  const rule = await loadRuleFor(ruleFile, flagString(args, "rules"));
  const key = flagString(args, "key");
  const contextFlags = flagList(args, "context");
  const context: Record<string, string> = {};
  for (const kv of contextFlags) {
    const eq = kv.indexOf("=");
    if (eq < 1) throw new UsageError(`--context wants KEY=VALUE, got ${JSON.stringify(kv)}`);
    context[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  // Key precedence: --key, the rules file, then SEALFIG_KMS_KEY.
  const envKey = rule.key ? undefined : kmsKeyFromEnv();
  return {
    file,
    rule: {
      ...rule,
      ...(envKey
        ? {
          key: parseKeyRef(
            envKey.startsWith("arn:") || envKey.startsWith("alias/") ? envKey : `aws-kms:${envKey}`,
          ),
        }
        : {}),
      ...(key ? { key: parseKeyRef(key) } : {}),
      ...(contextFlags.length ? { context } : {}),
    },
    providers: defaultProviders(),
  };
}

/** Read the target's document; `-` reads stdin. Throws FILE_NOT_FOUND etc. */
export async function readTarget(target: Target, ctx: CliContext): Promise<SealfigDocument> {
  if (target.file === "-") return parseDocument(await ctx.readStdin(), { file: "<stdin>" });
  return await readDocument(target.file);
}

/** Whether the target file exists (stdin always does). */
export async function targetExists(target: Target): Promise<boolean> {
  return target.file === "-" || (await statFile(target.file)) !== undefined;
}

/** The plain values the rule marks secret by name (last path segment matches `secret`). */
export function markedSecret(rule: FileRule): (v: DocumentValue) => boolean {
  const re = rule.secret;
  if (!re) return () => false;
  return (v) => {
    const last = v.path[v.path.length - 1];
    return typeof last === "string" && re.test(last);
  };
}

/** Options for sealing the target's values per its rule. Throws when the rule names no key. */
export function sealOptions(target: Target, previous?: SealfigDocument): SealDocumentOptions {
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
    context: target.rule.context,
    maxValuesPerDek: target.rule.maxValuesPerDek,
    dekPolicy: target.rule.maxValuesPerDek === 1 ? "per-value" : "per-file",
    providers: target.providers,
    select: markedSecret(target.rule),
    ...(previous ? { previous } : {}),
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
    ctx.stdout(new TextDecoder().decode(doc.toBytes()));
  }
}
