/**
 * `sealfig textconv FILE`: the decrypted view for `git diff` (`diff.sealfig.textconv`).
 * `--hashes` shows a short hash of each secret instead of its value, for machines that must not
 * show secrets but should still show which ones changed. Without a key, blobs are shown as they
 * are rather than failing the diff.
 *
 * @module
 */
import { applyEdits, decryptDocument, openDocument } from "../../document/seal.ts";
import { toHex, utf8 } from "../../crypto/bytes.ts";
import { isSealfigError } from "../../errors.ts";
import { UsageError } from "../args.ts";
import { type Command, flagBool } from "../command.ts";
import { stripIntegrityLines } from "../../integrity/record.ts";
import {
  readTarget,
  resolveTarget,
  RULE_FLAGS,
  SKIP_INTEGRITY_FLAG,
  verifyForRead,
} from "../target.ts";

/** The textconv command. */
export const textconvCommand: Command = {
  name: "textconv",
  summary: "Decrypted view for git diff; --hashes shows a hash per secret instead of the value",
  usage: "textconv FILE [--hashes]",
  details: [
    "Set up once per clone:",
    "  echo 'config/*.yaml diff=sealfig' >> .gitattributes",
    "  git config diff.sealfig.textconv 'sealfig textconv'",
  ].join("\n"),
  flags: {
    hashes: {
      type: "boolean",
      description: "Show sha256:<12 hex> of each plaintext instead of the value",
    },
    rules: RULE_FLAGS.rules!,
    "insecure-skip-integrity": SKIP_INTEGRITY_FLAG,
  },
  async run(args, ctx) {
    const [file, ...extra] = args.positionals;
    if (!file || extra.length) throw new UsageError("textconv takes exactly one FILE");
    const target = await resolveTarget(file, args);
    const doc = await readTarget(target, ctx);
    const opts = { providers: target.providers, context: target.rule.context, cache: target.cache };
    try {
      await verifyForRead(target, doc, ctx, flagBool(args, "insecure-skip-integrity"));
      if (!flagBool(args, "hashes")) {
        ctx.stdout(stripIntegrityLines((await decryptDocument(doc, opts)).text));
        return 0;
      }
      const values = await openDocument(doc, opts);
      const edits = [];
      for (const e of doc.entries()) {
        if (e.kind !== "sealed") continue;
        const v = values.get(e.pathText);
        const digest = new Uint8Array(
          await crypto.subtle.digest("SHA-256", utf8(`${e.pathText}\u0000${String(v)}`)),
        );
        edits.push({
          from: e.start,
          to: e.end,
          text: `!secret sha256:${toHex(digest).slice(0, 12)}`,
        });
      }
      ctx.stdout(stripIntegrityLines(applyEdits(doc.text, edits)));
      return 0;
    } catch (err) {
      if (!isSealfigError(err)) throw err;
      ctx.stderr(`sealfig textconv: ${err.message}; showing the sealed text\n`);
      ctx.stdout(doc.toString());
      return 0;
    }
  },
};
