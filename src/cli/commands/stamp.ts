/**
 * `sealfig stamp FILE...`: write (or recreate) each file's integrity record. This is how a file is
 * vouched for explicitly: a file without a record (written before records existed, or by hand), or
 * with `--force`, one whose record no longer verifies after you reviewed why.
 *
 * @module
 */
import { readDocument } from "../../document/document.ts";
import { SealfigError } from "../../errors.ts";
import { checkIntegrity } from "../../integrity/verify.ts";
import { writeFileAtomic } from "../../runtime.ts";
import { pendingMergeGeneration } from "./merge.ts";
import { UsageError } from "../args.ts";
import { type Command, flagBool, flagString } from "../command.ts";
import {
  checkBlobKeys,
  type PriorRecord,
  priorUnverified,
  resolveTarget,
  RULE_FLAGS,
  stampForWrite,
} from "../target.ts";

/** The stamp command. */
export const stampCommand: Command = {
  name: "stamp",
  summary: "Write each file's integrity record (for files without one; --force to recreate)",
  usage: "stamp FILE... [--force] [--key REF] [--context K=V]...",
  details: [
    "A record authenticates every value of the file (plaintext ones too), so the loader refuses a",
    "file changed outside sealfig. sealfig writes records on every change; stamp is for files that",
    "have none yet. A file whose record does not verify is refused unless --force: review the",
    "change first (git diff, git log -p), since stamping vouches for the file as it is.",
  ].join("\n"),
  flags: {
    force: {
      type: "boolean",
      short: "f",
      description: "Recreate a record that does not verify (after reviewing the file)",
    },
    ...RULE_FLAGS,
  },
  async run(args, ctx) {
    if (args.positionals.length === 0) throw new UsageError("stamp takes one or more FILEs");
    const force = flagBool(args, "force");
    for (const file of args.positionals) {
      if (file === "-") throw new UsageError("stamp works on files, not stdin");
      const resolved = await resolveTarget(file, args, ctx);
      // Stamping is explicit: it writes a record even where the rules turn them off.
      const target = { ...resolved, rule: { ...resolved.rule, integrity: "required" as const } };
      const doc = await readDocument(file);
      // Vouching for a blob under an untrusted key would only move the failure to load time.
      await checkBlobKeys(target, doc);
      const c = await checkIntegrity(doc, {
        providers: target.providers,
        context: target.rule.context,
        trust: target.trust,
        cache: target.cache,
      });
      let prior: PriorRecord;
      const moveTo = flagString(args, "key") !== undefined ? target.rule.key : undefined;
      if (c.state === "valid" && moveTo) {
        // --key: the record moves to that key (a new integrity data key), generation + 1.
        prior = { record: c.record, reusable: false };
      } else if (c.state === "valid") {
        ctx.stderr(
          `${file}: integrity record is up to date (generation ${c.record!.generation})\n`,
        );
        continue;
      } else if (c.state === "missing") {
        prior = { record: undefined, reusable: false };
      } else if (c.state === "malformed" && pendingMergeGeneration(doc) !== undefined) {
        // A resolved merge conflict: the generation continues from the merge (max + 1).
        prior = { record: undefined, reusable: false, floor: pendingMergeGeneration(doc)! };
      } else if (force) {
        ctx.stderr(
          `sealfig stamp: WARNING: ${file}: replacing a record that is ${c.state} (${
            c.error?.code ?? "?"
          }); you vouch for the file as it is now\n`,
        );
        prior = priorUnverified(doc);
      } else {
        throw c.error ?? new SealfigError("INTEGRITY_INVALID", "The integrity record is invalid");
      }
      const out = await stampForWrite(target, undefined, doc, prior, moveTo ? { key: moveTo } : {});
      await writeFileAtomic(file, out.toBytes());
      const gen = Math.max(prior.record?.generation ?? 0, prior.floor ?? 0) + 1;
      ctx.stderr(`${file}: stamped (generation ${gen})\n`);
    }
    return 0;
  },
};
