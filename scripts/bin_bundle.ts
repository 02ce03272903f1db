/**
 * The esbuild bundle of the `sealfig` bin: one definition for the npm package's bin
 * (scripts/build_npm.ts, step 4b) and for the bundle the Node test suite runs the CLI from
 * (tests/_helpers/bin_bundle_setup.ts), so the two cannot drift apart.
 *
 * One file holds sealfig's own modules, yaml and dotenv, and starts like a native tool (about
 * 90 ms) instead of ~60 files resolved and compiled one by one. The AWS SDK, zod and
 * age-encryption stay lazy, external imports (dependencies of the package, loaded only on the
 * first KMS call / the first rules file read / the first age key used), and the build fails if
 * one of them was bundled all the same. Node built-ins stay external; the banner gives bundled
 * CommonJS code (yaml, dotenv) a `require`.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Packages the bin imports lazily: external to the bundle, never inside it. */
export const LAZY_EXTERNAL: readonly string[] = ["@aws-sdk/client-kms", "zod", "age-encryption"];

/**
 * Bundle scripts/sealfig.ts into `outfile` (with `outfile.map`) with esbuild. `outfile` must lie
 * inside the repository (or the npm package) so that the lazy externals resolve from its
 * node_modules. Throws if the bundle contains a lazy external.
 *
 * @example
 * ```ts
 * buildBinBundle("/repo/npm/esm/scripts/sealfig.js");
 * ```
 */
export function buildBinBundle(outfile: string): void {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const esbuildBin = join(root, "node_modules", "esbuild", "bin", "esbuild");
  const metaFile = `${outfile}.meta.json`;
  execFileSync(esbuildBin, [
    join(root, "scripts", "sealfig.ts"),
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--target=node20",
    ...LAZY_EXTERNAL.map((m) => `--external:${m}`),
    "--sourcemap",
    "--legal-comments=inline",
    `--metafile=${metaFile}`,
    `--outfile=${outfile}`,
    "--allow-overwrite",
    "--log-level=warning",
    '--banner:js=import { createRequire as __sealfigRequire } from "node:module"; ' +
    "const require = __sealfigRequire(import.meta.url);",
  ], { stdio: "inherit", cwd: root });
  const inputs = Object.keys(
    (JSON.parse(readFileSync(metaFile, "utf8")) as { inputs: Record<string, unknown> }).inputs,
  );
  rmSync(metaFile);
  const leaked = inputs.filter((p) => LAZY_EXTERNAL.some((m) => p.includes(`node_modules/${m}/`)));
  if (leaked.length) {
    throw new Error(`the bin bundle must not contain ${leaked.join(", ")}`);
  }
}
