/**
 * `sealfig status FILE...` and `sealfig check FILE...`: what is sealed, with which keys, and what
 * should be but is not. `check` is for pre-commit hooks and CI: it exits 6 when a value the rules
 * mark secret is plaintext, a `!secret` tag is unsealed, or a blob is malformed; `--decrypt` also
 * proves every blob opens.
 *
 * @module
 */
import { DEFAULT_MAX_ALIAS_COUNT, type SealfigDocument } from "../../document/document.ts";
import { documentTrees } from "../../config/tree.ts";
import { openDocument } from "../../document/seal.ts";
import { type KeySlot, parseBlob } from "../../envelope/format.ts";
import { isSealfigError, type SealfigError } from "../../errors.ts";
import { formatKeyRef } from "../../rules.ts";
import { UsageError } from "../args.ts";
import { type Command, flagBool } from "../command.ts";
import { ExitCode } from "../exit_codes.ts";
import { markedSecret, readTarget, resolveTarget, RULE_FLAGS, type Target } from "../target.ts";
import { checkIntegrity, type IntegrityCheck } from "../../integrity/verify.ts";
import { describeKeyName, type KeyName } from "../../keys/allowlist.ts";
import { isRecordPath } from "../../integrity/record.ts";

/** One problem `check` reports. */
interface Problem {
  where: string;
  what: string;
}

interface FileReport {
  sealed: number;
  keys: Map<string, number>;
  dataKeys: Set<string>;
  problems: Problem[];
  /** Each sealed value's key, to check against the allowlist. */
  blobKeys: { where: string; key: KeyName; ref: string }[];
  /** One wrapped data key per key (every slot of every value), to test which keys open here. */
  probes: Map<string, KeySlot>;
}

function inspectDoc(target: Target, doc: SealfigDocument): FileReport {
  const isMarked = markedSecret(target.rule);
  const report: FileReport = {
    sealed: 0,
    keys: new Map(),
    dataKeys: new Set(),
    problems: [],
    blobKeys: [],
    probes: new Map(),
  };
  for (const v of configValues(doc)) {
    const where = `${target.file}:${v.line}:${v.col} ${v.pathText}`;
    if (v.kind === "sealed") {
      report.sealed++;
      try {
        const b = parseBlob(v.value as string);
        const ref = formatKeyRef({ providerId: b.providerId, keyId: b.keyId });
        for (const slot of b.slots) {
          const r = formatKeyRef(slot);
          report.keys.set(r, (report.keys.get(r) ?? 0) + 1);
          if (!report.probes.has(r)) report.probes.set(r, slot);
        }
        report.dataKeys.add(`${ref} ${b.wrappedDek.join(",")}`);
        report.blobKeys.push({
          where,
          key: b,
          ref: b.slots.length > 1 ? b.slots.map(formatKeyRef).join(", ") : ref,
        });
      } catch (err) {
        report.problems.push({ where, what: isSealfigError(err) ? err.reason : "malformed blob" });
      }
    } else if (v.kind === "secret") {
      report.problems.push({
        where,
        what: "tagged !secret but not sealed (run sealfig encrypt -i)",
      });
    } else if (isMarked(v)) {
      report.problems.push({
        where,
        what: "the rules mark this key secret but it is plaintext (run sealfig encrypt -i)",
      });
    }
  }
  return report;
}

/** The document's values without its integrity record (metadata, not a value). */
function configValues(doc: SealfigDocument) {
  return doc.values().filter((v) => !isRecordPath(v.path));
}

/** Sealed values under keys the rules do not trust (checked without any unwrap). */
async function untrusted(target: Target, r: FileReport): Promise<Problem[]> {
  const out: Problem[] = [];
  for (const b of r.blobKeys) {
    if (await target.trust.isTrusted(b.key, target.providers)) continue;
    out.push({
      where: b.where,
      what: b.ref.includes(", ")
        ? `sealed with keys ${b.ref}, none of which is trusted`
        : `sealed with key ${b.ref}, which is not trusted`,
    });
  }
  return out;
}

/**
 * Which of the file's keys this process can use: one unwrap per key (of the first data key that
 * names it), through the target's guarded providers and cache; the key bytes are never kept.
 */
async function usableKeys(target: Target, r: FileReport): Promise<string[]> {
  const out: string[] = [];
  for (const [ref, slot] of r.probes) {
    const provider = target.providers.find((p) => p.id === slot.providerId);
    if (!provider) {
      out.push(`${ref} no (PROVIDER_UNKNOWN)`);
      continue;
    }
    try {
      await target.cache.get(
        {
          providerId: slot.providerId,
          keyId: slot.keyId,
          wrapped: slot.wrappedDek,
          context: target.rule.context,
          scope: provider,
        },
        () => provider.decryptDataKey(slot.keyId, slot.wrappedDek, target.rule.context),
      );
      out.push(`${ref} yes`);
    } catch (err) {
      out.push(`${ref} no (${isSealfigError(err) ? err.code : "PROVIDER_FAILED"})`);
    }
  }
  return out;
}

/** The file's integrity record state, unless the rule turns records off. */
async function integrityOf(
  target: Target,
  doc: SealfigDocument,
): Promise<IntegrityCheck | undefined> {
  if (target.rule.integrity === "off") return undefined;
  return await checkIntegrity(doc, {
    providers: target.providers,
    context: target.rule.context,
    trust: target.trust,
    cache: target.cache,
  });
}

/**
 * The key slots of a record that the rules do not trust. Slots are not covered by the MAC (any
 * one trusted key opening the integrity data key is what counts): one added by someone else is
 * skipped when verifying, and must not be shown as one of a valid record's keys.
 */
async function untrustedSlots(
  target: Target,
  c: IntegrityCheck | undefined,
): Promise<Set<string>> {
  const out = new Set<string>();
  const slots = c?.record?.slots;
  if (!slots || slots.length < 2) return out;
  for (const slot of slots) {
    if (!(await target.trust.isTrusted(slot, target.providers))) out.add(describeKeyName(slot));
  }
  return out;
}

/** One line describing a record state. */
function describeIntegrity(
  c: IntegrityCheck | undefined,
  untrusted: ReadonlySet<string> = new Set(),
): string {
  if (!c) return "off (by the rules)";
  const name = (k: string) => (untrusted.has(k) ? `${k} (not trusted here, ignored)` : k);
  const gen = c.record
    ? `generation ${c.record.generation}, ${
      c.record.slots && c.record.slots.length > 1
        ? `keys ${c.record.slots.map(describeKeyName).map(name).join(", ")}`
        : `key ${describeKeyName(c.record)}`
    }`
    : "";
  switch (c.state) {
    case "valid":
      return `valid (${gen})`;
    case "missing":
      return "MISSING: no integrity record";
    case "invalid":
      if (c.error?.code === "CONTEXT_MISMATCH") return `CONTEXT MISMATCH: ${c.error.reason}`;
      if (c.error?.code === "INTEGRITY_UNSUPPORTED") return `INVALID: ${c.error.reason} (${gen})`;
      return `INVALID: record mismatch, the file was changed outside sealfig (${gen})`;
    case "malformed":
      return "MALFORMED: the record cannot be read";
    case "untrusted":
      return `UNTRUSTED: the record's key is not trusted (${gen})`;
    case "unverified":
      return `present, not verified: ${c.error?.code ?? "?"} (${gen})`;
  }
}

/** The status command. */
export const statusCommand: Command = {
  name: "status",
  summary: "Per file: values sealed, keys used, distinct data keys, context, unsealed secrets",
  usage: "status FILE...",
  flags: { rules: RULE_FLAGS.rules!, format: RULE_FLAGS.format! },
  async run(args, ctx) {
    if (args.positionals.length === 0) throw new UsageError("status takes one or more FILEs");
    for (const file of args.positionals) {
      const target = await resolveTarget(file, args, ctx);
      const doc = await readTarget(target, ctx);
      const r = inspectDoc(target, doc);
      r.problems.push(...(await untrusted(target, r)));
      const integrity = await integrityOf(target, doc);
      const usable = await usableKeys(target, r);
      const ctxText = Object.entries(target.rule.context).map(([k, v]) => `${k}=${v}`).join(",") ||
        "(none)";
      ctx.stdout(
        [
          `${file}:`,
          `  values: ${
            configValues(doc).length
          }, sealed: ${r.sealed}, distinct data keys: ${r.dataKeys.size}`,
          `  keys: ${[...r.keys].map(([k, n]) => `${k} (${n})`).join(", ") || "(none)"}`,
          ...(usable.length ? [`  usable here: ${usable.join("; ")}`] : []),
          `  context: ${ctxText}; rule ${
            target.rule.keys.length > 1
              ? `keys: ${target.rule.keys.map(formatKeyRef).join(", ")}`
              : `key: ${target.rule.key ? formatKeyRef(target.rule.key) : "(none)"}`
          }`,
          `  integrity: ${describeIntegrity(integrity, await untrustedSlots(target, integrity))}`,
          ...r.problems.map((p) => `  ! ${p.where}: ${p.what}`),
          "",
        ].join("\n"),
      );
    }
    return 0;
  },
};

/** The check command. */
export const checkCommand: Command = {
  name: "check",
  summary:
    "For pre-commit/CI: fail (exit 6) on plaintext secrets, unsealed tags, malformed blobs, untrusted keys, bad integrity records",
  usage: "check FILE... [--decrypt]",
  details:
    "With --decrypt, also opens every blob (needs decrypt permission) to prove it authenticates.\n" +
    "The integrity record is verified when its key is available; a missing record fails when the\n" +
    "rules require one (integrity: required, the default) and the file has a sealed value.\n" +
    "Without access to the record's key it is reported as not verified (a failure only with\n" +
    "--decrypt).",
  flags: {
    decrypt: { type: "boolean", description: "Also decrypt every blob" },
    rules: RULE_FLAGS.rules!,
    format: RULE_FLAGS.format!,
  },
  async run(args, ctx) {
    if (args.positionals.length === 0) throw new UsageError("check takes one or more FILEs");
    let problems = 0;
    for (const file of args.positionals) {
      const target = await resolveTarget(file, args, ctx);
      let found: Problem[];
      try {
        const doc = await readTarget(target, ctx);
        const r = inspectDoc(target, doc);
        found = [...r.problems, ...(await untrusted(target, r))];
        // The loader's rules for the file's shape (top level, aliases), so check passes only what
        // the loader reads. (Unsealed tags are reported above, with their place.)
        if (r.problems.length === 0) {
          try {
            documentTrees(doc, { maxAliasCount: DEFAULT_MAX_ALIAS_COUNT });
          } catch (err) {
            if (!isSealfigError(err)) throw err;
            found.push(errorProblem(file, err));
          }
        }
        const integrity = await integrityOf(target, doc);
        const state = integrity?.state;
        if (
          // A file with no sealed value needs no record (the loader's rule too).
          (state === "missing" && target.rule.integrity === "required" &&
            doc.values().some((v) => v.kind === "sealed")) ||
          state === "invalid" || state === "malformed" || state === "untrusted" ||
          (state === "unverified" && flagBool(args, "decrypt"))
        ) {
          found.push({ where: file, what: `integrity: ${describeIntegrity(integrity)}` });
        } else if (state === "unverified") {
          ctx.stderr(`${file}: note: integrity: ${describeIntegrity(integrity)}\n`);
        } else if (state === "valid") {
          const untrusted = await untrustedSlots(target, integrity);
          if (untrusted.size > 0) {
            ctx.stderr(
              `${file}: note: the integrity record also names ${[...untrusted].join(", ")}, ` +
                "not trusted here: ignored when verifying; " +
                `the next write drops it (sealfig stamp --force ${file})\n`,
            );
          }
        }
        if (flagBool(args, "decrypt") && found.length === 0) {
          try {
            await openDocument(doc, {
              providers: target.providers,
              context: target.rule.context,
              cache: target.cache,
            });
          } catch (err) {
            if (!isSealfigError(err)) throw err;
            found.push(errorProblem(file, err));
          }
        }
      } catch (err) {
        if (!isSealfigError(err)) throw err;
        found = [errorProblem(file, err)];
      }
      for (const p of found) ctx.stderr(`${p.where ? `${p.where}: ` : ""}${p.what}\n`);
      problems += found.length;
    }
    if (problems > 0) {
      ctx.stderr(`sealfig check: ${problems} problem(s) in ${args.positionals.length} file(s)\n`);
      return ExitCode.CHECK_FAILED;
    }
    return ExitCode.OK;
  },
};

/** A problem from an error: its message names the place itself when it has a file. */
function errorProblem(file: string, err: SealfigError): Problem {
  return { where: err.file !== undefined ? "" : file, what: `${err.message} [${err.code}]` };
}
