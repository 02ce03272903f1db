/**
 * Regenerate config/production.yaml from config/production.plain.yaml with the DEMO key.
 *
 * Values whose plaintext did not change keep their existing blob (so `git diff` shows only what
 * changed); new or changed values are sealed under a new data key.
 *
 * Run: `npx tsx examples/app/reseal.ts` or `deno run -A examples/app/reseal.ts`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { LocalKeyProvider, parseDocument, readDocument, sealDocument } from "../../mod.ts";
import { DEMO_KEY, DEMO_KEY_ID, PRODUCTION_CONTEXT } from "./demo_key.ts";

const plainUrl = new URL("./config/production.plain.yaml", import.meta.url);
const sealedUrl = new URL("./config/production.yaml", import.meta.url);

const provider = new LocalKeyProvider({ keys: [DEMO_KEY] });
const plain = parseDocument(new Uint8Array(await readFile(plainUrl)), {
  file: "config/production.plain.yaml",
});
let previous;
try {
  previous = await readDocument(decodeURIComponent(sealedUrl.pathname));
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
const body = result.document.toString().replace(/^(#[^\n]*\n)+/, "");
await writeFile(sealedUrl, header + body);
console.log(
  `production.yaml: ${result.sealed} values sealed, ${result.kept} kept, ` +
    `${result.dataKeysGenerated} data keys generated`,
);
