/**
 * `sealfig merge BASE CURRENT OTHER [PATH]`: a git merge driver for sealed files.
 *
 * Both branches rewrite the integrity record line on every change, so a plain text merge would
 * always conflict on it. The driver verifies both sides' records (a side changed outside sealfig
 * is never merged and re-stamped, which would launder the change), removes the record lines,
 * merges the rest with `git merge-file`, and stamps the result with generation
 * max(current, other) + 1. The result goes to CURRENT (git's `%A`). Exit 0: merged; 1: conflicts
 * (CURRENT holds the conflict-marked text) or a side failed verification (CURRENT is unchanged).
 *
 * ```sh
 * echo 'config/*.yaml merge=sealfig' >> .gitattributes
 * git config merge.sealfig.driver 'sealfig merge %O %A %B %P'
 * ```
 *
 * @module
 */
import { parseDocument, type SealfigDocument } from "../../document/document.ts";
import { isSealfigError, SealfigError } from "../../errors.ts";
import { stripIntegrityLines } from "../../integrity/record.ts";
import { checkIntegrity } from "../../integrity/verify.ts";
import {
  makePrivateTempDir,
  readFileBytes,
  removePath,
  runChildCapture,
  writeFileAtomic,
  writeNewFile,
} from "../../runtime.ts";
import { UsageError } from "../args.ts";
import type { CliContext, Command } from "../command.ts";
import {
  type PriorRecord,
  resolveTarget,
  RULE_FLAGS,
  stampForWrite,
  type Target,
} from "../target.ts";

/** Exit code of a merge driver that leaves conflicts (git treats any non-zero so). */
const CONFLICT = 1;

/** The merge command. */
export const mergeCommand: Command = {
  name: "merge",
  summary: "git merge driver: merge two branches of a sealed file and re-stamp its record",
  usage: "merge BASE CURRENT OTHER [PATH]",
  details: [
    "Set up once per clone (PATH, git's %P, finds the file's rule in .sealfig.yaml):",
    "  echo 'config/*.yaml merge=sealfig' >> .gitattributes",
    "  git config merge.sealfig.driver 'sealfig merge %O %A %B %P'",
    "Both sides' integrity records must verify. The result is written to CURRENT.",
  ].join("\n"),
  flags: { rules: RULE_FLAGS.rules!, context: RULE_FLAGS.context! },
  async run(args, ctx) {
    const [base, current, other, path, ...extra] = args.positionals;
    if (!base || !current || !other || extra.length) {
      throw new UsageError("merge takes BASE CURRENT OTHER and optionally PATH");
    }
    const target = await resolveTarget(path ?? current, args);
    const name = path ?? current;
    const texts = await Promise.all([base, current, other].map(async (f) => {
      return new TextDecoder().decode(await readFileBytes(f));
    }));
    const [baseText, curText, otherText] = texts as [string, string, string];

    // 1. Both sides must verify: never merge and re-stamp a change made outside sealfig.
    let ours: SealfigDocument, theirs: SealfigDocument;
    let priorOurs: PriorRecord, priorTheirs: PriorRecord;
    try {
      ours = parseDocument(curText, { file: `${name} (current)` });
      theirs = parseDocument(otherText, { file: `${name} (other)` });
      priorOurs = await verified(target, ours);
      priorTheirs = await verified(target, theirs);
    } catch (err) {
      if (!isSealfigError(err)) throw err;
      ctx.stderr(`sealfig merge: ${err.message} [${err.code}]; not merged\n`);
      return CONFLICT;
    }

    // 2. Merge the text without the record lines.
    const stripped = [baseText, curText, otherText].map(stripIntegrityLines);
    const merged = await mergeText(stripped as [string, string, string], name, ctx);
    if (merged === undefined) return CONFLICT;
    if (merged.conflicts) {
      await writeFileAtomic(current, merged.text);
      ctx.stderr(`sealfig merge: ${name}: conflicts; resolve them, then run sealfig stamp\n`);
      return CONFLICT;
    }
    if (merged.text === stripped[1]) return 0; // nothing from the other side: keep ours as is
    if (merged.text === stripped[2]) {
      await writeFileAtomic(current, otherText); // only their changes: take theirs, record and all
      return 0;
    }

    // 3. Stamp the result: generation max(ours, theirs) + 1, keeping our integrity data key.
    try {
      const doc = parseDocument(merged.text, { file: name });
      const generation = Math.max(
        priorOurs.record?.generation ?? 0,
        priorTheirs.record?.generation ?? 0,
      );
      const record = priorOurs.record ?? priorTheirs.record;
      const prior: PriorRecord = {
        record: record ? { ...record, generation } : undefined,
        reusable: priorOurs.record ? priorOurs.reusable : priorTheirs.reusable,
      };
      const out = await stampForWrite(target, undefined, doc, prior);
      await writeFileAtomic(current, out.toBytes());
      return 0;
    } catch (err) {
      if (!isSealfigError(err)) throw err;
      await writeFileAtomic(current, merged.text);
      ctx.stderr(`sealfig merge: ${err.message} [${err.code}]; merged text left unstamped\n`);
      return CONFLICT;
    }
  },
};

/** A side's record, which must verify (or be absent where the rules allow it). */
async function verified(target: Target, doc: SealfigDocument): Promise<PriorRecord> {
  if (target.rule.integrity === "off") return { record: undefined, reusable: false };
  const c = await checkIntegrity(doc, {
    providers: target.providers,
    context: target.rule.context,
    trust: target.trust,
    cache: target.cache,
  });
  if (c.state === "valid") return { record: c.record, reusable: true };
  if (c.state === "missing") {
    if (target.rule.integrity === "optional" || !doc.values().some((v) => v.kind === "sealed")) {
      return { record: undefined, reusable: false };
    }
    throw new SealfigError("INTEGRITY_MISSING", "The file has sealed values but no record", {
      ...(doc.file !== undefined ? { file: doc.file } : {}),
      hint: "Review that side, run sealfig stamp on it, and merge again",
    });
  }
  throw c.error ?? new SealfigError("INTEGRITY_INVALID", `The integrity record is ${c.state}`);
}

/** `git merge-file -p` on the three texts; undefined when git failed (reported on stderr). */
async function mergeText(
  [base, current, other]: [string, string, string],
  name: string,
  ctx: CliContext,
): Promise<{ text: string; conflicts: boolean } | undefined> {
  const dir = await makePrivateTempDir("sealfig-merge-");
  try {
    const files = ["current", "base", "other"].map((n) => `${dir}/${n}`);
    await writeNewFile(files[0]!, current, 0o600);
    await writeNewFile(files[1]!, base, 0o600);
    await writeNewFile(files[2]!, other, 0o600);
    let result;
    try {
      result = await runChildCapture("git", [
        "merge-file",
        "-p",
        "-L",
        `${name} (current)`,
        "-L",
        `${name} (base)`,
        "-L",
        `${name} (other)`,
        ...files,
      ]);
    } catch {
      ctx.stderr("sealfig merge: cannot run git merge-file (is git installed?)\n");
      return undefined;
    }
    if (result.code === null || result.code < 0 || result.code > 127) {
      ctx.stderr(`sealfig merge: git merge-file failed: ${result.stderr.split("\n")[0]}\n`);
      return undefined;
    }
    return { text: result.stdout, conflicts: result.code > 0 };
  } finally {
    await removePath(dir);
  }
}
