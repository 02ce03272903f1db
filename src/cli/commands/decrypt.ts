/**
 * `sealfig decrypt FILE`: the plaintext view (sealed values as `!secret <value>`) on stdout.
 *
 * @module
 */
import { decryptDocument } from "../../document/seal.ts";
import { stripIntegrityRecord } from "../../integrity/record.ts";
import { UsageError } from "../args.ts";
import { type Command, flagBool } from "../command.ts";
import {
  readTarget,
  resolveTarget,
  RULE_FLAGS,
  SKIP_INTEGRITY_FLAG,
  verifyForRead,
} from "../target.ts";

/** The decrypt command. */
export const decryptCommand: Command = {
  name: "decrypt",
  summary: "Print the plaintext view (with !secret tags) to stdout",
  usage: "decrypt FILE|- [--context K=V]... [--insecure-skip-integrity]",
  details:
    "Writes plaintext only to stdout; use `sealfig edit` to change a file without plaintext on disk.",
  flags: {
    rules: RULE_FLAGS.rules!,
    context: RULE_FLAGS.context!,
    format: RULE_FLAGS.format!,
    "insecure-skip-integrity": SKIP_INTEGRITY_FLAG,
  },
  async run(args, ctx) {
    const [file, ...extra] = args.positionals;
    if (!file || extra.length) {
      throw new UsageError("decrypt takes exactly one FILE (or - for stdin)");
    }
    const target = await resolveTarget(file, args, ctx);
    const doc = await readTarget(target, ctx);
    await verifyForRead(target, doc, ctx, flagBool(args, "insecure-skip-integrity"));
    const { document } = await decryptDocument(doc, {
      providers: target.providers,
      context: target.rule.context,
      cache: target.cache,
    });
    // The plaintext view carries no integrity record: it is written again when sealing.
    ctx.stdout(stripIntegrityRecord(document));
    return 0;
  },
};
