/**
 * Regenerate config/production.yaml from config/production.plain.yaml with the DEMO key, and
 * (re)write the integrity record of both config files.
 *
 * Values whose plaintext did not change keep their existing blob (so `git diff` shows only what
 * changed); new or changed values are sealed under a new data key. A file whose content did not
 * change keeps its record as it is; a changed file gets the next generation.
 *
 * Run: `npx tsx examples/app/reseal.ts` or `deno run -A examples/app/reseal.ts`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { LocalKeyProvider } from "../../mod.ts";
import {
  KeyAllowlist,
  parseDocument,
  readDocument,
  readIntegrityRecord,
  type SealfigDocument,
  sealDocument,
  stampDocument,
  stripIntegrityRecord,
  verifyIntegrity,
} from "../../document.ts";
import { DEMO_KEY, DEMO_KEY_ID, PRODUCTION_CONTEXT } from "./demo_key.ts";

const plainUrl = new URL("./config/production.plain.yaml", import.meta.url);
const sealedUrl = new URL("./config/production.yaml", import.meta.url);
const baseUrl = new URL("./config/base.yaml", import.meta.url);

const provider = new LocalKeyProvider({ keys: [DEMO_KEY] });
const trust = KeyAllowlist.of([`local:${DEMO_KEY_ID}`]);

/** `doc` with a record: unchanged when `before` had the same content and a valid record. */
async function stamped(
  doc: SealfigDocument,
  before: SealfigDocument | undefined,
  context: Record<string, string>,
): Promise<SealfigDocument> {
  const record = before ? readIntegrityRecord(before) : undefined;
  if (before && record && stripIntegrityRecord(before) === stripIntegrityRecord(doc)) {
    try {
      await verifyIntegrity(before, { providers: [provider], trust, context });
      return before; // unchanged: keep the record as it is
    } catch {
      // edited by hand: this script vouches for the files, so it stamps them again
    }
  }
  const { document } = await stampDocument(doc, {
    provider,
    keyId: DEMO_KEY_ID,
    context,
    generation: (record?.generation ?? 0) + 1,
    ...(record ? { reuse: record } : {}),
  });
  return document;
}

const plain = parseDocument(new Uint8Array(await readFile(plainUrl)), {
  file: "config/production.plain.yaml",
});
let previous;
try {
  previous = await readDocument(fileURLToPath(sealedUrl));
} catch {
  previous = undefined; // first run: nothing to keep
}
const result = await sealDocument(plain, {
  provider,
  keyId: DEMO_KEY_ID,
  context: PRODUCTION_CONTEXT,
  ...(previous ? { previous } : {}),
});
const header = "# SEALED with the example's DEMO key (examples/app/demo_key.ts): regenerate with\n" +
  "# `npx tsx examples/app/reseal.ts` after editing config/production.plain.yaml.\n";
const body = stripIntegrityRecord(result.document).replace(/^(#[^\n]*\n)+/, "");
const production = await stamped(
  parseDocument(header + body, { file: "config/production.yaml" }),
  previous,
  PRODUCTION_CONTEXT,
);
await writeFile(sealedUrl, production.toString());
console.log(
  `production.yaml: ${result.sealed} values sealed, ${result.kept} kept, ` +
    `${result.dataKeysGenerated} data keys generated, ` +
    `integrity generation ${readIntegrityRecord(production)?.generation}`,
);

const base = await readDocument(fileURLToPath(baseUrl));
const baseOut = await stamped(base, base, {});
if (baseOut !== base) await writeFile(baseUrl, baseOut.toString());
console.log(`base.yaml: integrity generation ${readIntegrityRecord(baseOut)?.generation}`);
