/** Types of scenario.mjs, for the TypeScript files that run it (tests/consumer/deno_app.ts). */

/** What {@link runScenario} needs from the runtime it runs on. */
export interface ScenarioOptions {
  /** The app entry point `.`: the installed npm package, or mod.ts. */
  sealfig: object;
  /** The `./document` entry point. */
  document: object;
  /** The `./kms-server` entry point. */
  kmsServer: object;
  /** zod's `z`. */
  z: object;
  /** An empty directory to work in. */
  dir: string;
  /** The argv prefix that runs the `sealfig` command. */
  cli: string[];
  /** The argv prefix that imports the `./cli` entry point (which runs the command). */
  cliEntry: string[];
  /** The argv that runs a snippet of JavaScript with this runtime. */
  evalCommand: (code: string) => string[];
}

/** Run every check; prints `ok - …` / `not ok - …` lines and `# N passed, M failed`. */
export declare function runScenario(
  options: ScenarioOptions,
): Promise<{ passed: number; failed: number }>;
