/**
 * `sealfig decrypt FILE`: the plaintext view (sealed values as `!secret <value>`) on stdout.
 *
 * @module
 */
import { decryptDocument } from "../../document/seal.ts";
import { UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { readTarget, resolveTarget, RULE_FLAGS } from "../target.ts";

/** The decrypt command. */
export const decryptCommand: Command = {
  name: "decrypt",
  summary: "Print the plaintext view (with !secret tags) to stdout",
  usage: "decrypt FILE|- [--context K=V]...",
  details:
    "Writes plaintext only to stdout; use `sealfig edit` to change a file without plaintext on disk.",
  flags: { rules: RULE_FLAGS.rules!, context: RULE_FLAGS.context! },
  async run(args, ctx) {
    const [file, ...extra] = args.positionals;
    if (!file || extra.length) {
      throw new UsageError("decrypt takes exactly one FILE (or - for stdin)");
    }
    const target = await resolveTarget(file, args);
    const doc = await readTarget(target, ctx);
    const { document } = await decryptDocument(doc, {
      providers: target.providers,
      context: target.rule.context,
    });
    ctx.stdout(new TextDecoder().decode(document.toBytes()));
    return 0;
  },
};
