/** -0.0 stays -0.0 in every CLI output (get, get --json, run's environment): finding 12. */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSealfig } from "../_helpers/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "sealfig-negzero-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("negative zero", () => {
  it("get, get --json and run print -0.0, not 0", async () => {
    const env = { HOME: join(dir, "home"), XDG_CONFIG_HOME: undefined, SEALFIG_KEY: undefined };
    const run = (args: string[]) => runSealfig(args, { cwd: dir, env });
    expect((await run(["keygen"])).code).toBe(0);
    expect((await run(["init", "--files", "\\.yaml$"])).code).toBe(0);
    writeFileSync(join(dir, "z.yaml"), "z: -0.0\nn: !secret -0.0\n");
    expect((await run(["encrypt", "-i", "z.yaml"])).code).toBe(0);
    for (const path of ["z", "n"]) {
      expect((await run(["get", "z.yaml", path])).stdout).toBe("-0.0\n");
      expect((await run(["get", "z.yaml", path, "--json"])).stdout).toBe("-0.0\n");
    }
    const printed = await run([
      "run",
      "-f",
      "z.yaml",
      "--",
      "node", // on the PATH under both runtimes
      "-e",
      "process.stdout.write(process.env.Z + ' ' + process.env.N)",
    ]);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toBe("-0.0 -0.0");
  }, 60_000);
});
