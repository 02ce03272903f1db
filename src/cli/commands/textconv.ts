/**
 * `sealfig textconv FILE`: the decrypted view for `git diff` (`diff.sealfig.textconv`).
 * `--hashes` shows a short hash of each secret instead of its value, for machines that must not
 * show secrets but should still show which ones changed. Without a key, blobs are shown as they
 * are rather than failing the diff.
 *
 * git runs textconv at the top level of the work tree, on the work tree file itself or on a
 * temporary copy (`/tmp/XXXXXX_name.yaml`). The rules never come from the temporary file's
 * directory: a file outside the work tree is matched against the top level's rules file, trying
 * its rules in order until the file's record verifies. A file whose record does not verify is
 * still shown decrypted (both sides of a diff must look alike), after one warning line; a file
 * with no sealed value is shown as it is, silently.
 *
 * @module
 */
import { applyEdits, openDocument } from "../../document/seal.ts";
import { toHex, utf8 } from "../../crypto/bytes.ts";
import { isSealfigError } from "../../errors.ts";
import { UsageError } from "../args.ts";
import { type CliContext, type Command, flagBool, flagString } from "../command.ts";
import { stripIntegrityLines, stripIntegrityRecord } from "../../integrity/record.ts";
import { checkIntegrity } from "../../integrity/verify.ts";
import type { SealfigDocument } from "../../document/document.ts";
import { defaultProviders } from "../../keys/registry.ts";
import { policiesOfRules } from "../../policy.ts";
import { findRulesFileFrom } from "../../rules.ts";
import { currentDir, relativePath, resolvePath } from "../../runtime.ts";
import {
  checkBlobKeys,
  plaintextView,
  readTarget,
  resolveTarget,
  RULE_FLAGS,
  SKIP_INTEGRITY_FLAG,
  type Target,
  targetFormat,
  targetOf,
} from "../target.ts";

/** The textconv command. */
export const textconvCommand: Command = {
  name: "textconv",
  summary: "Decrypted view for git diff; --hashes shows a hash per secret instead of the value",
  usage: "textconv FILE [--hashes]",
  details: [
    "Set up once per clone (git runs it at the top level of the work tree):",
    "  echo 'config/*.yaml diff=sealfig' >> .gitattributes",
    "  git config diff.sealfig.textconv 'npx --no-install sealfig textconv'",
    "A file whose record does not verify is shown decrypted after one warning line.",
  ].join("\n"),
  flags: {
    hashes: {
      type: "boolean",
      description:
        "Show sha256:<12 hex> of each secret's path and plaintext instead of the value (needs the key)",
    },
    rules: RULE_FLAGS.rules!,
    format: RULE_FLAGS.format!,
    "insecure-skip-integrity": SKIP_INTEGRITY_FLAG,
  },
  async run(args, ctx) {
    const [file, ...extra] = args.positionals;
    if (!file || extra.length) throw new UsageError("textconv takes exactly one FILE");
    const candidates = await targetsFor(file, args, ctx);
    const doc = await readTarget(candidates[0]!, ctx);
    // A plain file: shown as it is, with nothing to verify or warn about.
    if (!doc.values().some((v) => v.kind === "sealed")) {
      ctx.stdout(stripIntegrityRecord(doc));
      return 0;
    }
    const skip = flagBool(args, "insecure-skip-integrity");
    let target: Target | undefined;
    let warning: string | undefined;
    if (skip) {
      target = candidates[0]!;
      warning = `sealfig: WARNING: --insecure-skip-integrity: ${file} was NOT checked against ` +
        "its integrity record";
    } else {
      // The first policy under which the record verifies; else, one warning and the first
      // policy whose context opens the values.
      let firstProblem: string | undefined;
      for (const c of candidates) {
        const problem = await recordProblem(c, doc);
        if (problem === undefined) {
          target = c;
          break;
        }
        firstProblem ??= problem;
      }
      if (!target) {
        warning = `sealfig textconv: WARNING: ${file}: ${firstProblem}; values shown decrypted ` +
          "anyway";
      }
    }
    for (const c of target ? [target, ...candidates.filter((x) => x !== target)] : candidates) {
      const shown = await render(c, doc, flagBool(args, "hashes"));
      if (shown === undefined) continue;
      if (warning) ctx.stderr(`${warning}\n`);
      ctx.stdout(shown);
      return 0;
    }
    ctx.stderr(
      `sealfig textconv: ${file}: ${warning ? `${warning.replace(/^sealfig[^:]*: /, "")}; ` : ""}` +
        "the values cannot be opened here; showing the sealed text\n",
    );
    ctx.stdout(doc.toString());
    return 0;
  },
};

/**
 * The policies to try for FILE: its own (by its path) when it is inside the work tree; for a
 * temporary copy elsewhere, each rule of the top level's rules file.
 */
async function targetsFor(
  file: string,
  args: Parameters<Command["run"]>[0],
  ctx: CliContext,
): Promise<Target[]> {
  const top = currentDir();
  const rel = relativePath(top, resolvePath(file));
  const inside = !rel.startsWith("..") && !rel.startsWith("/") && rel !== "";
  if (inside || flagString(args, "rules") !== undefined) {
    return [await resolveTarget(file, args, ctx)];
  }
  const found = await findRulesFileFrom(top);
  for (const ignored of found.ignored) {
    ctx.stderr(
      `sealfig: WARNING: ignoring ${ignored}: other users can write it (or its directory)\n`,
    );
  }
  const policies = found.file ? await policiesOfRules(found.file) : [];
  if (policies.length === 0) return [await resolveTarget(file, args, ctx, { searchFrom: top })];
  const providers = defaultProviders();
  const format = targetFormat(args, file);
  return policies.map((p) => targetOf(file, { ...p, file: resolvePath(file) }, providers, format));
}

/** Why the record does not verify under this policy (undefined: it does, or the rule has none). */
async function recordProblem(target: Target, doc: SealfigDocument): Promise<string | undefined> {
  try {
    await checkBlobKeys(target, doc);
  } catch (err) {
    if (isSealfigError(err)) return `${err.reason} [${err.code}]`;
    throw err;
  }
  if (target.rule.integrity === "off") return undefined;
  const c = await checkIntegrity(doc, {
    providers: target.providers,
    context: target.rule.context,
    trust: target.trust,
    cache: target.cache,
  });
  if (c.state === "valid") return undefined;
  if (c.state === "missing") {
    return target.rule.integrity === "optional"
      ? undefined
      : "the file has sealed values but no integrity record [INTEGRITY_MISSING]";
  }
  return `its integrity record is ${c.state} [${c.error?.code ?? "?"}]`;
}

/** The decrypted (or hashed) view, or undefined when the values do not open under this policy. */
async function render(
  target: Target,
  doc: SealfigDocument,
  hashes: boolean,
): Promise<string | undefined> {
  const opts = { providers: target.providers, context: target.rule.context, cache: target.cache };
  try {
    if (!hashes) {
      return await plaintextView(doc, opts);
    }
    const values = await openDocument(doc, opts);
    const edits = [];
    for (const e of doc.entries()) {
      if (e.kind !== "sealed") continue;
      const v = values.get(e.pathText);
      const digest = new Uint8Array(
        await crypto.subtle.digest("SHA-256", utf8(`${e.pathText}\u0000${String(v)}`)),
      );
      // .env and JSON files have no tags: their hashes show as plain values.
      const tag = doc.format === "yaml" ? "!secret " : "";
      edits.push({ from: e.start, to: e.end, text: `${tag}sha256:${toHex(digest).slice(0, 12)}` });
    }
    if (doc.format !== "yaml") {
      return doc.withText(applyEdits(doc.text, edits)).textWithoutRecord(stripIntegrityLines);
    }
    return stripIntegrityLines(applyEdits(doc.text, edits));
  } catch (err) {
    if (isSealfigError(err)) return undefined;
    throw err;
  }
}
