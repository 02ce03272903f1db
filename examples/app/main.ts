/**
 * The sealfig example app: loads config/base.yaml and the sealed config/production.yaml, validates
 * them with a zod schema and prints the redacted config plus what loading cost.
 *
 * Run: `npm run example` (Node, through tsx) or `deno run -A examples/app/main.ts`; with Deno's
 * least privilege, see the README's "Deno permissions" (tests/config/deno_permissions.test.ts runs
 * exactly those lines).
 * Environment overrides work too: `SEALFIG_EXAMPLE_DB__POOL__MAX=99 npm run example`.
 *
 * Arguments (both optional): a config directory other than ./config/ (holding base.yaml and
 * production.yaml), and `--no-env-overrides`, which leaves out the environment layer: that layer
 * lists the environment's variable names, which Deno allows only with `--allow-env` for all names.
 */
import process from "node:process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createLoader, KmsKeyProvider, LocalKeyProvider, redact } from "../../mod.ts";
import { DEMO_KEY, PRODUCTION_CONTEXT } from "./demo_key.ts";
import { AppConfig } from "./schema.ts";

const args = process.argv.slice(2);
const dirArg = args.find((a) => !a.startsWith("--"));
const envOverrides = !args.includes("--no-env-overrides");

const loader = createLoader({
  baseDir: dirArg ? pathToFileURL(resolve(dirArg) + "/") : new URL("./config/", import.meta.url),
  files: ["base.yaml", { path: "production.yaml", context: PRODUCTION_CONTEXT }],
  schema: AppConfig,
  ...(envOverrides ? { env: { prefix: "SEALFIG_EXAMPLE_" } } : {}),
  // The DEMO key (see demo_key.ts). Real apps use `new LocalKeyProvider()` (key file or
  // SEALFIG_KEY). The KMS provider is configured from the AWS environment on its first call, so
  // it costs nothing while every value is under the local key; a KMS key must also be trusted
  // (SEALFIG_TRUSTED_KEYS).
  providers: [new LocalKeyProvider({ keys: [DEMO_KEY] }), new KmsKeyProvider()],
  // No rules file: this example names its context and keys itself. An app with a .sealfig.yaml
  // names its path here (rules: "config/.sealfig.yaml"); by default the loader looks for one in
  // every parent directory of each file, which Deno must then be allowed to read.
  rules: false,
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
