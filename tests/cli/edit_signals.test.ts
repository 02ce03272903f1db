/**
 * Issue 19, `edit`: every catchable terminating signal removes the plaintext copy (not only INT
 * and TERM), and an editor that returns at once without a change gets the `--wait` hint.
 */
import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runSealfig } from "../_helpers/cli.ts";

const editor = `node ${
  JSON.stringify(fileURLToPath(new URL("../fixtures/editors/replace.mjs", import.meta.url)))
}`;
const CANARY = "canary-edit-signal-19";
const root = mkdtempSync(join(tmpdir(), "sealfig-edit-signals-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

async function setup(): Promise<{ dir: string; env: Record<string, string | undefined> }> {
  const dir = join(root, `r${n++}`);
  mkdirSync(join(dir, "config"), { recursive: true });
  mkdirSync(join(dir, ".scratch"));
  const env = {
    SEALFIG_KEY_FILE: join(dir, ".keys"),
    SEALFIG_KEY: undefined,
    SEALFIG_TMPDIR: join(dir, ".scratch"),
    SEALFIG_EDITOR: editor,
  };
  const init = await runSealfig(["init", "--context", "env=dev", "--files", "^config/"], {
    cwd: dir,
    env,
  });
  expect(init.code, init.stderr).toBe(0);
  writeFileSync(join(dir, "config", "app.yaml"), `db:\n  password: !secret ${CANARY}\n`);
  const enc = await runSealfig(["encrypt", "-i", "config/app.yaml"], { cwd: dir, env });
  expect(enc.code, enc.stderr).toBe(0);
  return { dir, env };
}

const signals = [["SIGQUIT", 131], ["SIGUSR2", 140], ["SIGALRM", 142], ["SIGHUP", 129]] as const;

describe("sealfig edit and signals", () => {
  it("QUIT, USR2, ALRM and HUP during the edit leave no plaintext behind", async () => {
    if (process.platform === "win32") return; // POSIX signals only
    let checked = 0;
    const { dir, env } = await setup();
    const file = join(dir, "config", "app.yaml");
    const before = readFileSync(file);
    for (const [signal, code] of signals) {
      const marker = join(dir, `.editor-started-${signal}`);
      const sawPlaintext: boolean[] = [];
      const r = await runSealfig(["edit", "config/app.yaml"], {
        cwd: dir,
        env: { ...env, EDIT_WAIT: marker },
        onSpawn: (child) => {
          const poll = setInterval(() => {
            // The editor writes the marker (the scratch file's path) non-atomically: wait until
            // the path is complete and names a file, or a throw here would leave the edit waiting.
            const scratch = existsSync(marker) ? readFileSync(marker, "utf8") : "";
            if (scratch !== "" && existsSync(scratch)) {
              clearInterval(poll);
              // The plaintext is in the scratch dir right now.
              sawPlaintext.push(readFileSync(scratch, "utf8").includes(CANARY));
              child.kill(signal);
            }
          }, 20);
        },
      });
      expect(r.code === code || r.signal === signal, `${signal}: ${r.code} ${r.stderr}`)
        .toBe(true);
      expect(sawPlaintext, signal).toEqual([true]);
      expect(readdirSync(join(dir, ".scratch")), signal).toEqual([]);
      expect(readFileSync(file)).toEqual(before);
      checked++;
    }
    expect(checked).toBe(signals.length);
  });

  it("an editor that returns at once without a change gets the --wait hint", async () => {
    const { dir, env } = await setup();
    const r = await runSealfig(["edit", "config/app.yaml"], {
      cwd: dir,
      env: { ...env, SEALFIG_EDITOR: "true" },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("has not changed");
    expect(r.stderr).toContain("--wait");
    expect(readdirSync(join(dir, ".scratch"))).toEqual([]);
  });
});
