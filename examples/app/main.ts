/**
 * The sealfig example app: loads config/base.yaml and the sealed config/production.yaml, validates
 * them with a zod schema and prints the redacted config plus what loading cost.
 *
 * Run: `npm run example` (Node, through tsx) or `deno run -A examples/app/main.ts`.
 * Environment overrides work too: `SEALFIG_EXAMPLE_DB__POOL__MAX=99 npm run example`.
 */
import { createLoader, LocalKeyProvider, redact } from "../../mod.ts";
import { DEMO_KEY, PRODUCTION_CONTEXT } from "./demo_key.ts";
import { AppConfig } from "./schema.ts";

const loader = createLoader({
  baseDir: new URL("./config/", import.meta.url),
  files: ["base.yaml", { path: "production.yaml", context: PRODUCTION_CONTEXT }],
  schema: AppConfig,
  env: { prefix: "SEALFIG_EXAMPLE_" },
  // The DEMO key (see demo_key.ts). Real apps use `new LocalKeyProvider()` (key file or
  // SEALFIG_KEY) or the AWS KMS provider.
  providers: [new LocalKeyProvider({ keys: [DEMO_KEY] })],
});

const t0 = performance.now();
const { config, report } = await loader.loadWithReport();
const firstMs = performance.now() - t0;

// A reload (what an app would do on SIGHUP) finds every data key in the loader's cache.
const t1 = performance.now();
const reload = await loader.loadWithReport();
const reloadMs = performance.now() - t1;

console.log("config (redacted):");
console.log(JSON.stringify(redact(config), null, 2));
console.log(
  `first load: ${report.valuesDecrypted} values decrypted, ${report.dataKeys} data keys, ` +
    `${report.integrityVerified} integrity records verified, ` +
    `${report.providerCalls} provider calls, ${firstMs.toFixed(1)} ms`,
);
console.log(
  `reload:     ${reload.report.valuesDecrypted} values decrypted, ` +
    `${reload.report.providerCalls} provider calls, ${reloadMs.toFixed(1)} ms`,
);
// The app itself gets real values: e.g. config.db.password is a string of length:
console.log(`db.password length: ${config.db.password.length}`);
