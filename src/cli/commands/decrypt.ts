/**
 * `sealfig decrypt FILE`: the plaintext view (sealed values as `!secret <value>`) on stdout.
 *
 * @module
 */
import { UsageError } from "../args.ts";
import { type Command, flagBool } from "../command.ts";
import {
  plaintextView,
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
    // The plaintext view carries no integrity record: it is written again when sealing.
    ctx.stdout(
      await plaintextView(doc, {
        providers: target.providers,
        context: target.rule.context,
        cache: target.cache,
      }),
    );
    return 0;
  },
};
