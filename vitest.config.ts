import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 60_000,
    // The CLI that tests start as a process runs from one bundle built per run from the current
    // sources with the npm bin's esbuild options (about 90 ms to start, against 400 ms through
    // tsx's loader).
    globalSetup: ["tests/_helpers/bin_bundle_setup.ts"],
    // Vitest's default is one worker fewer than the cores: one on a 2-core CI machine, where most
    // files spend their time waiting for the CLI processes they start. Three forks keep both cores
    // busy (measured on 2 cores: 365 s -> 260 s for the Node suite). Rechecked once the CLI ran
    // from the bundle (tests/cli, fidelity, docs, integrity on a shared 2-core machine): 2 forks
    // 79 s and 80 s, 3 forks 78 s and 93 s, 4 forks 88 s: no clear winner, so 3 stays.
    maxWorkers: 3,
    env: { AWS_EC2_METADATA_DISABLED: "true", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
