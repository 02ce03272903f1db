/**
 * `sealfig get FILE PATH`: print one value (decrypting only that value).
 *
 * @module
 */
import { getValue } from "../../document/seal.ts";
import { UsageError } from "../args.ts";
import { type Command, flagBool } from "../command.ts";
import {
  readTarget,
  resolveTarget,
  RULE_FLAGS,
  SKIP_INTEGRITY_FLAG,
  verifyForRead,
} from "../target.ts";

/** The get command. */
export const getCommand: Command = {
  name: "get",
  summary: "Print the value at PATH (decrypting it if sealed)",
  usage: "get FILE|- PATH [--insecure-skip-integrity]",
  details: 'PATH syntax: db.password, servers[0].host, labels["app.kubernetes.io/name"].',
  flags: {
    rules: RULE_FLAGS.rules!,
    context: RULE_FLAGS.context!,
    "insecure-skip-integrity": SKIP_INTEGRITY_FLAG,
  },
  async run(args, ctx) {
    const [file, path, ...extra] = args.positionals;
    if (!file || path === undefined || extra.length) {
      throw new UsageError("get takes FILE and PATH");
    }
    const target = await resolveTarget(file, args, ctx);
    const doc = await readTarget(target, ctx);
    await verifyForRead(target, doc, ctx, flagBool(args, "insecure-skip-integrity"));
    const value = await getValue(doc, path, {
      providers: target.providers,
      context: target.rule.context,
      cache: target.cache,
    });
    const text = value === null ? "null" : String(value);
    ctx.stdout(text.endsWith("\n") ? text : text + "\n");
    return 0;
  },
};
