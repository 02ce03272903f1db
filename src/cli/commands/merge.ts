/**
 * `sealfig merge BASE CURRENT OTHER PATH`: a git merge driver for sealed files.
 *
 * Both branches rewrite the integrity record line on every change, so a plain text merge would
 * always conflict on it. The driver:
 *
 * 1. finds the file's policy from PATH (git's `%P`, relative to the repository's top level, where
 *    git runs drivers), never from the temporary files' directory;
 * 2. verifies both sides' records (a side changed outside sealfig is never merged and re-stamped,
 *    which would launder the change) and refuses a side whose generation is older than the
 *    base's (a branch that restores an earlier, validly stamped file: an old secret);
 * 3. removes the record lines and merges the rest: `git merge-file` first, and where lines
 *    conflict (or the line merge is not the key-by-key result), key by key
 *    (src/document/merge.ts), so changes to different keys merge cleanly;
 * 4. stamps the result with generation max(current, other) + 1.
 *
 * The result goes to CURRENT (git's `%A`). Exit 0: merged; 1: conflicts (CURRENT holds the
 * conflict-marked text, ending with `sealfig_integrity: sealfig-merge:v1:<generation>` so that
 * `sealfig stamp` after the resolution continues the generation) or a side was refused (CURRENT
 * is unchanged, and git reports a conflict).
 *
 * ```sh
 * echo 'config/*.yaml merge=sealfig' >> .gitattributes
 * git config merge.sealfig.driver 'npx --no-install sealfig merge %O %A %B %P'
 * ```
 *
 * @module
 */
import {
  DEFAULT_MAX_ALIAS_COUNT,
  parseDocument,
  type SealfigDocument,
} from "../../document/document.ts";
import { mergeDocuments } from "../../document/merge.ts";
import { readSourceFile, restoreText } from "../../document/source.ts";
import { openDocument } from "../../document/seal.ts";
import { isSealfigError, SealfigError } from "../../errors.ts";
import {
  INTEGRITY_KEY,
  recordless,
  recordPath,
  stripIntegrityLines,
} from "../../integrity/record.ts";
import { checkIntegrity, readIntegrityRecord } from "../../integrity/verify.ts";
import {
  currentDir,
  dirName,
  hostErrorCode,
  makePrivateTempDir,
  removePath,
  resolvePath,
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
  summary: "git merge driver: merge two branches of a sealed file key by key, re-stamp its record",
  usage: "merge BASE CURRENT OTHER PATH",
  details: [
    "Set up once per clone (git runs it at the top level; PATH, git's %P, finds the file's rule):",
    "  echo 'config/*.yaml merge=sealfig' >> .gitattributes",
    "  git config merge.sealfig.driver 'npx --no-install sealfig merge %O %A %B %P'",
    "If the command cannot run (sealfig not installed), git reports a conflict; it never keeps",
    "one side silently. Both sides' integrity records must verify, and neither may be older than",
    "the base. Different keys merge cleanly; the same key changed two ways is a conflict: resolve",
    "it, then run sealfig stamp FILE (the generation continues from the merge).",
  ].join("\n"),
  flags: { rules: RULE_FLAGS.rules!, context: RULE_FLAGS.context! },
  async run(args, ctx) {
    const [base, current, other, path, ...extra] = args.positionals;
    if (!base || !current || !other || extra.length) {
      throw new UsageError("merge takes BASE CURRENT OTHER and PATH (git's %O %A %B %P)");
    }
    // git runs merge drivers at the top level of the work tree: PATH is relative to it. The
    // rules come from PATH's directory upward, never from where git put its temporary files.
    const name = path ?? current;
    const top = currentDir();
    const real = resolvePath(top, name);
    const target = await resolveTarget(current, args, ctx, {
      ruleFile: real,
      searchFrom: path !== undefined ? dirName(real) : top,
    });
    if (target.format !== "yaml") {
      // The merge by key of .env and JSON files is not built yet: exit 1, so git reports a
      // conflict and keeps both sides for a merge by hand.
      const kind = target.format === "env" ? ".env" : "JSON";
      ctx.stderr(
        `sealfig merge: ${name}: ${kind} files are not merged by sealfig yet; resolve the ` +
          "conflict by hand (keep one record or none), then run sealfig stamp FILE\n",
      );
      return CONFLICT;
    }
    // Through the one source decoder every command reads with: size limit, strict UTF-8, and the
    // BOM and CRLF line endings kept in the text (parseDocument and the writes restore them).
    const texts = await Promise.all([base, current, other].map(async (f) => {
      const source = await readSourceFile(f);
      return restoreText(source, source.text);
    }));
    const [baseText, curText, otherText] = texts as [string, string, string];

    // 1. Both sides must verify: never merge and re-stamp a change made outside sealfig. Neither
    // may be older than the base: that restores an earlier file (and its old secrets).
    let ours: SealfigDocument, theirs: SealfigDocument, baseDoc: SealfigDocument;
    let priorOurs: PriorRecord, priorTheirs: PriorRecord;
    try {
      ours = parseDocument(curText, { file: `${name} (current)` });
      theirs = parseDocument(otherText, { file: `${name} (other)` });
      priorOurs = await verified(target, ours);
      priorTheirs = await verified(target, theirs);
      baseDoc = parseDocument(baseText, { file: `${name} (base)` });
      const baseGen = baseGeneration(baseDoc);
      for (const [side, prior] of [["current", priorOurs], ["other", priorTheirs]] as const) {
        const gen = prior.record?.generation ?? 0;
        if (target.rule.integrity !== "off" && gen < baseGen) {
          throw new SealfigError(
            "INTEGRITY_ROLLBACK",
            `The ${side} side is generation ${gen}, older than the base's ${baseGen}: it ` +
              "restores an earlier version of the file",
            {
              file: name,
              hint: "A person must resolve this: check that side's history (git log -p), take " +
                "the version you want, and run sealfig stamp FILE",
            },
          );
        }
      }
    } catch (err) {
      if (!isSealfigError(err)) throw err;
      ctx.stderr(`sealfig merge: ${err.message} [${err.code}]; not merged\n`);
      const floor = Math.max(unverifiedGeneration(curText), unverifiedGeneration(otherText));
      await writeWholeConflict(current, name, curText, otherText, floor);
      return CONFLICT;
    }
    const genOurs = priorOurs.record?.generation ?? 0;
    const genTheirs = priorTheirs.record?.generation ?? 0;
    const generation = Math.max(genOurs, genTheirs);

    // 2. Merge the text without the record lines: by line, then by key where that is not enough.
    // Each side is parsed once more without its record (issue 16: that one parse serves the
    // record's removal check and the key merge).
    const sides = [baseDoc, ours, theirs].map(recordless) as [
      SealfigDocument,
      SealfigDocument,
      SealfigDocument,
    ];
    const stripped = sides.map((d) => d.toString()) as [string, string, string];
    const lines = await mergeText(stripped, name, ctx);
    if (lines === undefined) {
      await writeWholeConflict(current, name, curText, otherText, generation);
      return CONFLICT;
    }
    let keyed;
    try {
      keyed = mergeDocuments(sides[0], sides[1], sides[2], {
        ours: `${name} (current)`,
        theirs: `${name} (other)`,
      });
    } catch {
      keyed = undefined; // a side that is not YAML (or base is not): the line merge decides
    }
    let mergedText: string | undefined;
    let fromKeys = false;
    // The line merge's text, parsed once: the check that it agrees with the key merge, and the
    // document that is stamped.
    let linesDoc: SealfigDocument | undefined;
    if (!lines.conflicts) {
      try {
        linesDoc = parseDocument(lines.text, { file: name });
      } catch {
        linesDoc = undefined;
      }
    }
    if (!lines.conflicts && agrees(linesDoc, keyed)) mergedText = lines.text;
    else if (keyed && keyed.conflicts.length === 0) {
      mergedText = keyed.text;
      fromKeys = true;
    }
    if (mergedText === undefined) {
      const text = keyed && keyed.conflicts.length ? keyed.text : lines.text;
      // The record's place holds the generation the merge reached, so that stamping after the
      // resolution continues it (generations only grow). The loader refuses this line.
      await writeFileAtomic(
        current,
        `${text}${text.endsWith("\n") || text === "" ? "" : "\n"}${INTEGRITY_KEY}: ` +
          `${PENDING_MERGE_PREFIX}${generation}\n`,
      );
      const where = keyed?.conflicts.length ? ` at ${keyed.conflicts.join(", ")}` : "";
      ctx.stderr(
        `sealfig merge: ${name}: conflict${where}; resolve it, then run sealfig stamp ${name}\n`,
      );
      if (keyed?.conflicts.length) await showConflicts(target, ours, theirs, keyed.conflicts, ctx);
      return CONFLICT;
    }
    if (mergedText === stripped[1] && genOurs >= genTheirs) return 0; // ours, record and all
    if (mergedText === stripped[2] && genTheirs >= genOurs) {
      await writeFileAtomic(current, otherText); // theirs, record and all
      return 0;
    }

    // 3. Stamp the result: generation max(ours, theirs) + 1, keeping our integrity data key.
    try {
      // The key merge works on LF text: our file's line endings and BOM come back on write.
      const doc = fromKeys
        ? ours.withText(mergedText)
        : linesDoc ?? parseDocument(mergedText, { file: name });
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
      await writeFileAtomic(current, mergedText);
      ctx.stderr(`sealfig merge: ${err.message} [${err.code}]; merged text left unstamped\n`);
      return CONFLICT;
    }
  },
};

/**
 * A conflict over the whole file (a side was refused, or git could not merge): both sides inside
 * conflict markers, so the file can never pass for one side. Git reports the conflict either way;
 * this makes sure that `git add` of the file as it is cannot silently drop the other side.
 */
async function writeWholeConflict(
  current: string,
  name: string,
  ours: string,
  theirs: string,
  generation: number,
): Promise<void> {
  const nl = (t: string) => (t === "" || t.endsWith("\n") ? t : `${t}\n`);
  await writeFileAtomic(
    current,
    `<<<<<<< ${name} (current)\n${nl(stripIntegrityLines(ours))}=======\n` +
      `${nl(stripIntegrityLines(theirs))}>>>>>>> ${name} (other)\n` +
      `${INTEGRITY_KEY}: ${PENDING_MERGE_PREFIX}${generation}\n`,
  );
}

/** The record value the merge driver leaves in a conflicted file: `sealfig-merge:v1:<generation>`. */
export const PENDING_MERGE_PREFIX = "sealfig-merge:v1:";

/** The generation a conflicted merge reached, when `doc` is such a file's resolution. */
export function pendingMergeGeneration(doc: SealfigDocument): number | undefined {
  const v = doc.get(recordPath(doc))?.value;
  if (typeof v !== "string" || !v.startsWith(PENDING_MERGE_PREFIX)) return undefined;
  const n = v.slice(PENDING_MERGE_PREFIX.length);
  return /^[0-9]{1,15}$/.test(n) ? Number(n) : undefined;
}

/** A text's record generation, read without verifying (a floor only: raising it is harmless). */
function unverifiedGeneration(text: string): number {
  try {
    return baseGeneration(parseDocument(text));
  } catch {
    return 0;
  }
}

/** The base's record generation (0 without one). The base is history both sides share. */
function baseGeneration(doc: SealfigDocument): number {
  try {
    return readIntegrityRecord(doc)?.generation ?? pendingMergeGeneration(doc) ?? 0;
  } catch {
    return pendingMergeGeneration(doc) ?? 0;
  }
}

/** Whether a clean line merge is also the key-by-key result (it can differ: duplicate keys …). */
function agrees(
  doc: SealfigDocument | undefined,
  keyed: ReturnType<typeof mergeDocuments> | undefined,
): boolean {
  // No key-level answer (not block maps), or one that conflicts where lines did not (e.g. two
  // edits inside one sequence): the clean line merge stands.
  if (!keyed || keyed.conflicts.length) return true;
  if (!doc) return false; // the line merge's text does not parse
  try {
    // yaml's toJS is quadratic in aliases; a file with more than a load expands never loads.
    if (doc.aliasCount() > DEFAULT_MAX_ALIAS_COUNT) return false;
    return canonical(doc.yaml.toJS({ maxAliasCount: DEFAULT_MAX_ALIAS_COUNT })) ===
      canonical(keyed.value ?? {});
  } catch {
    return false;
  }
}

function canonical(v: unknown): string {
  return JSON.stringify(v ?? {}, (_k, x) => {
    if (x && typeof x === "object" && !Array.isArray(x)) {
      return Object.fromEntries(Object.entries(x as object).sort(([p], [q]) => p < q ? -1 : 1));
    }
    return typeof x === "bigint" ? `${x}n` : x;
  });
}

/**
 * Name each conflicting value; on a terminal, and only for whoever can open them, show both
 * sides' plaintext (never in a log: git's stderr is not a terminal in CI).
 */
async function showConflicts(
  target: Target,
  ours: SealfigDocument,
  theirs: SealfigDocument,
  paths: readonly string[],
  ctx: CliContext,
): Promise<void> {
  if (!ctx.stderrIsTty) {
    ctx.stderr(
      "sealfig merge: the conflicting values are shown sealed; run the merge in a terminal to " +
        "see them decrypted\n",
    );
    return;
  }
  const opts = { providers: target.providers, context: target.rule.context, cache: target.cache };
  const open = async (doc: SealfigDocument) => {
    try {
      return await openDocument(doc, opts);
    } catch {
      return undefined;
    }
  };
  const [o, t] = await Promise.all([open(ours), open(theirs)]);
  for (const p of paths) {
    const show = (doc: SealfigDocument, opened: Map<string, unknown> | undefined) => {
      const v = doc.get(p);
      if (!v) return "(absent or not a single value)";
      if (v.kind !== "sealed") return JSON.stringify(v.value);
      return opened?.has(p) ? `${JSON.stringify(opened.get(p))} (sealed)` : "(sealed; cannot open)";
    };
    ctx.stderr(`  ${p}\n    current: ${show(ours, o)}\n    other:   ${show(theirs, t)}\n`);
  }
}

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
    } catch (err) {
      const code = hostErrorCode(err);
      ctx.stderr(
        code === "ENOENT"
          ? "sealfig merge: cannot run git merge-file: git is not on the PATH\n"
          : `sealfig merge: cannot run git merge-file (${
            code ?? (err instanceof Error ? err.name : "error")
          })\n`,
      );
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
