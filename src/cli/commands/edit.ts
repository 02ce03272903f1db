/**
 * `sealfig edit FILE`: edit a sealed file like `sops edit`.
 *
 * 1. Decrypt to a private temp file (directory 0700, file 0600, on a RAM-backed file system where
 *    one exists) and open `$SEALFIG_EDITOR`, `$VISUAL`, `$EDITOR` or `vi` on it.
 * 2. When the editor exits 0: unchanged text → nothing is written ("File has not changed");
 *    otherwise the text is parsed (and validated against the rule's schema, if any). On an error
 *    the user is asked whether to reopen the editor with their text intact.
 * 3. Only what changed is resealed (unchanged values keep their blobs), and the file is replaced
 *    atomically with its permissions kept. If the file changed on disk meanwhile, nothing is
 *    overwritten: the edit is saved, sealed, next to it, and the message names that file.
 * 4. The temp directory is removed on every exit path, SIGINT and SIGTERM included.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import {
  DEFAULT_MAX_ALIAS_COUNT,
  parseDocument,
  type SealfigDocument,
} from "../../document/document.ts";
import { sealDocument } from "../../document/seal.ts";
import { toHex } from "../../crypto/bytes.ts";
import { SealfigError } from "../../errors.ts";
import {
  baseName,
  exitProcess,
  importFile,
  isWindows,
  makePrivateTempDir,
  onTerminationSignal,
  readFileBytes,
  readStdinLine,
  removePath,
  removePathSync,
  runChild,
  signalNumber,
  statFile,
  writeFileAtomic,
  writeNewFile,
} from "../../runtime.ts";
import { UsageError } from "../args.ts";
import { type CliContext, type Command, flagBool } from "../command.ts";
import { ExitCode } from "../exit_codes.ts";
import {
  markedSecret,
  plaintextView,
  resolveTarget,
  RULE_FLAGS,
  sealOptions,
  stampForWrite,
  type Target,
  verifyForWrite,
  warnNarrowedKeys,
} from "../target.ts";
import { INTEGRITY_KEY } from "../../integrity/record.ts";
import { documentTrees, type LeafNode, type TreeNode } from "../../config/tree.ts";
import { formatPath, type PathSegment } from "../../path.ts";

/** The edit command. */
export const editCommand: Command = {
  name: "edit",
  summary: "Edit a sealed file in $EDITOR; reseal only what changed (creates new files too)",
  usage: "edit FILE [--key REF] [--context K=V]...",
  details: [
    "Editor: $SEALFIG_EDITOR, else $VISUAL, else $EDITOR, else vi (run through the shell, so",
    '"code --wait" works). Mark new secrets with !secret; sealed values appear as !secret <value>.',
    "The plaintext lives only in a private temp dir (RAM-backed where possible) and is removed on exit.",
  ].join("\n"),
  flags: {
    unseal: {
      type: "boolean",
      description: "Allow sealed values whose !secret tag was removed to be stored in plaintext",
    },
    ...RULE_FLAGS,
  },
  async run(args, ctx) {
    const [file, ...extra] = args.positionals;
    if (!file || file === "-" || extra.length) throw new UsageError("edit takes exactly one FILE");
    const target = await resolveTarget(file, args, ctx);
    return await edit(target, ctx, flagBool(args, "unseal"));
  },
};

async function sha256(bytes: Uint8Array): Promise<string> {
  return toHex(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)),
  );
}

async function fileDigest(file: string): Promise<string | undefined> {
  return (await statFile(file)) ? await sha256(await readFileBytes(file)) : undefined;
}

async function edit(target: Target, ctx: CliContext, allowUnseal: boolean): Promise<number> {
  const file = target.file;
  const existing = await statFile(file);
  const originalBytes = existing ? await readFileBytes(file) : new Uint8Array(0);
  const originalDigest = existing ? await sha256(originalBytes) : undefined;
  const sealed = existing
    ? parseDocument(originalBytes, { file, format: target.format })
    : undefined;
  // A file changed outside sealfig is never re-stamped (that would launder the change).
  const prior = await verifyForWrite(target, sealed, ctx);
  const plainText = sealed
    ? await plaintextView(sealed, {
      providers: target.providers,
      context: target.rule.context,
      cache: target.cache,
    })
    : "";
  // Fail early, before the editor opens, when nothing could be sealed afterwards.
  sealOptions(target);

  const dir = await makePrivateTempDir("sealfig-edit-");
  const off = onTerminationSignal((signal) => {
    removePathSync(dir);
    ctx.stderr(`\nsealfig edit: interrupted by ${signal}; nothing was changed\n`);
    // Exit like the signal would have (128 + its number), after the other listeners (the one
    // forwarding the signal to the editor) have run.
    setTimeout(() => exitProcess(128 + signalNumber(signal)), 0);
  });
  try {
    const tmp = `${dir}/${baseName(file)}`;
    await writeNewFile(tmp, plainText, 0o600);
    for (;;) {
      const started = Date.now();
      const exit = await runEditor(tmp, ctx);
      if (exit !== 0) {
        ctx.stderr(`sealfig edit: the editor exited with ${exit}; nothing was changed\n`);
        return ExitCode.ABORTED;
      }
      const editedBytes = await readFileBytes(tmp);
      const edited = new TextDecoder("utf-8", { ignoreBOM: true }).decode(editedBytes);
      if (edited === plainText) {
        ctx.stderr(`${file}: file has not changed\n`);
        if (Date.now() - started < EDITOR_RETURNED_AT_ONCE_MS) ctx.stderr(WAIT_HINT);
        return ExitCode.OK;
      }
      let doc: SealfigDocument;
      try {
        doc = parseDocument(editedBytes, { file, format: target.format });
        await validate(target, edited);
        if (!allowUnseal) refuseUnsealing(target, sealed, doc);
      } catch (err) {
        if (!(err instanceof SealfigError)) throw err;
        ctx.stderr(`sealfig edit: ${err.message} [${err.code}]\n`);
        ctx.stderr("Reopen the editor to fix it? Your text is kept. [Y/n] ");
        const answer = (await readStdinLine())?.trim().toLowerCase();
        if (answer === undefined || answer === "n" || answer === "no") {
          ctx.stderr("sealfig edit: edit discarded; nothing was changed\n");
          return ExitCode.ABORTED;
        }
        continue;
      }
      const result = await sealDocument(doc, sealOptions(target, sealed));
      const stamped = await stampForWrite(target, sealed, result.document, prior);
      if (stamped === sealed) {
        ctx.stderr(`${file}: file has not changed\n`);
        return ExitCode.OK;
      }
      warnNarrowedKeys(ctx, file, sealed, stamped);
      const out = stamped.toBytes();
      if ((await fileDigest(file)) !== originalDigest) {
        const saved = `${file}.sealfig-edit-${Date.now()}`;
        await writeNewFile(saved, out, 0o600);
        throw new SealfigError(
          "EDIT_CONFLICT",
          "The file changed on disk while you were editing; it was not overwritten",
          {
            file,
            hint: `Your edit is saved, sealed, in ${saved}: compare and merge it by hand`,
          },
        );
      }
      await writeFileAtomic(file, out, existing?.mode !== undefined ? { mode: existing.mode } : {});
      let changes = "";
      try {
        const c = loadedChanges(sealed, result.document);
        changes = `${c.secret} secret value(s) and ${c.plain} plain value(s) added, changed or ` +
          "removed ";
      } catch {
        // A side the loader would refuse (an alias bomb, say): the counts are left out.
      }
      ctx.stderr(
        `${file}: ${changes}(sealed ${result.sealed} anew, kept ${result.kept} blob(s))\n`,
      );
      return ExitCode.OK;
    }
  } finally {
    off();
    await removePath(dir);
  }
}

/**
 * A value that was sealed must not come back as plaintext because its `!secret` tag was removed:
 * refused (`VALUE_UNSEALED`, naming the path) unless `--unseal` or the rules seal it anyway.
 */
function refuseUnsealing(
  target: Target,
  before: SealfigDocument | undefined,
  after: SealfigDocument,
): void {
  // .env and JSON files have no tags: what was sealed is sealed again (sealOptions), never
  // unsealed.
  if (!before || after.format !== "yaml") return;
  const marked = markedSecret(target.rule);
  for (const e of after.values()) {
    if (e.kind !== "plain" || marked(e)) continue;
    if (before.get(e.path)?.kind !== "sealed") continue;
    throw new SealfigError(
      "VALUE_UNSEALED",
      "This value was sealed; without its !secret tag it would be stored in plaintext",
      {
        ...(after.file !== undefined ? { file: after.file } : {}),
        line: e.line,
        col: e.col,
        path: e.pathText,
        hint: "Put the !secret tag back, or run sealfig edit --unseal to store it in plaintext",
      },
    );
  }
}

/** Plain values added, changed or removed between two versions (the record left out). */
/**
 * What changed in the config as loaded (aliases and merge keys expanded, as the loader reads it),
 * by path: a sealed value counts as changed when its blob differs (an item replaced by an alias to
 * another secret too), a plain one when its type or value does. Counted as secret when the value
 * is sealed after the edit (or was, when removed).
 */
function loadedChanges(
  before: SealfigDocument | undefined,
  after: SealfigDocument,
): { secret: number; plain: number } {
  const was = loadedLeaves(before);
  const now = loadedLeaves(after);
  let secret = 0, plain = 0;
  for (const path of new Set([...was.keys(), ...now.keys()])) {
    const a = was.get(path), b = now.get(path);
    if (a && b && a.text === b.text) continue;
    if ((b ?? a)!.sealed) secret++;
    else plain++;
  }
  return { secret, plain };
}

function loadedLeaves(
  doc: SealfigDocument | undefined,
): Map<string, { sealed: boolean; text: string }> {
  const out = new Map<string, { sealed: boolean; text: string }>();
  if (!doc) return out;
  const { trees, pending } = documentTrees(doc, { maxAliasCount: DEFAULT_MAX_ALIAS_COUNT });
  const blobs = new Map<LeafNode, string>(pending.map((p) => [p.leaf, p.blob]));
  // In a file of several YAML documents, paths start with the document's index.
  const top = trees.length === 1 ? 0 : 1;
  const walk = (node: TreeNode, path: PathSegment[]) => {
    if (node.kind === "map") {
      for (const [k, v] of node.entries) {
        if (path.length === top && k === INTEGRITY_KEY) continue;
        walk(v, [...path, k]);
      }
    } else if (node.kind === "seq") node.items.forEach((v, i) => walk(v, [...path, i]));
    else {
      const blob = blobs.get(node);
      const v = node.value;
      const shown = Object.is(v, -0) ? "-0" : typeof v === "string" ? v : String(v);
      out.set(formatPath(path), {
        sealed: blob !== undefined,
        text: blob !== undefined ? `s${blob}` : `p${node.type}\u0000${shown}`,
      });
    }
  };
  if (trees.length === 1) walk(trees[0]!, []);
  else trees.forEach((t, i) => walk(t, [i]));
  return out;
}
/** An editor that exits this soon without a change probably went on in the background. */
const EDITOR_RETURNED_AT_ONCE_MS = 1_500;
const WAIT_HINT = "sealfig edit: the editor returned at once without changes. If it keeps " +
  "running in the background (VS Code, Sublime, gvim …), make it wait for the file to close, " +
  'e.g. SEALFIG_EDITOR="code --wait", "subl -w" or "gvim -f"; an edit made after this point ' +
  "is lost (the plaintext copy is already removed)\n";

async function runEditor(file: string, ctx: CliContext): Promise<number> {
  const editor = ctx.env.SEALFIG_EDITOR || ctx.env.VISUAL || ctx.env.EDITOR ||
    (isWindows ? "notepad" : "vi");
  const exit = isWindows
    ? await runChild(`${editor} "${file}"`, [], { shell: true })
    : await runChild("/bin/sh", ["-c", `exec ${editor} "$1"`, "sealfig-editor", file]);
  if (exit.signal) return 128 + signalNumber(exit.signal);
  return exit.code ?? 1;
}

/** Validate the edited plaintext view against the rule's schema module, if one is named. */
async function validate(target: Target, text: string): Promise<void> {
  const spec = target.rule.schema;
  if (!spec) return;
  const hash = spec.lastIndexOf("#");
  const mod = await importFile(hash > 0 ? spec.slice(0, hash) : spec);
  const schema = (hash > 0 ? mod[spec.slice(hash + 1)] : mod.schema ?? mod.default) as
    | { "~standard"?: { validate(v: unknown): unknown } }
    | undefined;
  if (!schema?.["~standard"]) {
    throw new SealfigError(
      "OPTION_INVALID",
      `Schema ${spec} named by the rules is not a zod/Standard Schema`,
    );
  }
  // parseDocument already refused duplicate keys and anything over the parsing budget: yaml's
  // own duplicate check (quadratic) is not needed again.
  const data = parseYaml(text, {
    uniqueKeys: false,
    customTags: [{ tag: "!secret", resolve: (s: string) => s }],
  });
  const result = (await schema["~standard"].validate(data)) as {
    issues?: readonly { message: string; path?: readonly unknown[] }[];
  };
  if (result.issues?.length) {
    const list = result.issues.map((i) =>
      `${
        (i.path ?? []).map((p) => typeof p === "object" && p ? (p as { key: unknown }).key : p)
          .join(".") || "(root)"
      }: ${i.message}`
    );
    throw new SealfigError("CONFIG_INVALID", `Does not match the schema: ${list.join("; ")}`);
  }
}
