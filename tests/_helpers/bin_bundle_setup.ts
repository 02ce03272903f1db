/**
 * Vitest globalSetup (Node only): bundles the CLI once per test run, from the current sources and
 * with the npm bin's own esbuild options (scripts/bin_bundle.ts), and tells the test workers where
 * it is (SEALFIG_TEST_BIN, read by tests/_helpers/cli.ts). Starting that bundle costs about a
 * quarter of the CPU of `node --import tsx scripts/sealfig.ts`, and the suite starts the CLI more
 * than a thousand times. Each run builds into its own directory under .test-build/ (inside the
 * repository, so the lazy externals resolve from node_modules; gitignored) and removes it at the
 * end, so two runs at once do not share or delete each other's bundle.
 */
import process from "node:process";
import { buildTestBundle } from "./cli.ts";

/** Build the bundle; returns the teardown that removes it. */
export function setup(): () => void {
  const { bin, remove } = buildTestBundle("run-");
  process.env.SEALFIG_TEST_BIN = bin;
  return remove;
}
