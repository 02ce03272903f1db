/** Types of git_merge.mjs, for the TypeScript files that run it. */

/** The two setup lines of the README's merge driver block. */
export declare function readmeMergeLines(readme: string): string[];

/** Options of {@link gitMergeScenario}. */
export interface GitMergeScenarioOptions {
  /** An empty directory for the repository. */
  dir: string;
  /** The argv prefix that runs sealfig, for the setup steps. */
  cli: string[];
  /** The environment of every command. */
  env: Record<string, string | undefined>;
  /** The README text. */
  readme: string;
  /** Whether `npx --no-install sealfig` finds sealfig from `dir`. */
  driverInstalled: boolean;
}

/** Run the README's git merge setup and a two-branch merge; throws on any failure. */
export declare function gitMergeScenario(
  options: GitMergeScenarioOptions,
): { generation: number | undefined; conflicted: boolean; text: string };
