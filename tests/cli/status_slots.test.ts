/**
 * A record's key slots are not covered by its MAC (any trusted key that opens the integrity data
 * key will do), so a slot for a key the rules do not trust, added by anyone, is skipped when
 * verifying: `status` must not list it as one of a valid record's keys, and `check` says so.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSealfig } from "../_helpers/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "sealfig-status-slots-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { SEALFIG_KEY_FILE: join(dir, "keys"), SEALFIG_KEY: undefined };

describe("status and check with a record slot the rules do not trust", () => {
  it("the slot is marked not trusted, and check notes it", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const k = await runSealfig(["keygen"], { cwd: dir, env });
      expect(k.code, k.stderr).toBe(0);
      ids.push(`local:${k.stdout.trim().split("\n").at(-1)!.replace(/^local:/, "")}`);
    }
    const keys = (list: string[]) => list.flatMap((k) => ["--key", k]);
    expect((await runSealfig(["init", ...keys(ids)], { cwd: dir, env })).code).toBe(0);
    writeFileSync(join(dir, "app.yaml"), "db:\n  password: hunter2\n");
    expect((await runSealfig(["encrypt", "-i", "app.yaml"], { cwd: dir, env })).code).toBe(0);
    // The rules now trust only the first two keys; the file's record still names the third.
    const init = await runSealfig(["init", "--force", ...keys(ids.slice(0, 2))], { cwd: dir, env });
    expect(init.code, init.stderr).toBe(0);

    const status = await runSealfig(["status", "app.yaml"], { cwd: dir, env });
    expect(status.code, status.stderr).toBe(0);
    const line = status.stdout.split("\n").find((l) => l.includes("integrity:"))!;
    expect(line).toContain("valid");
    const third = ids[2]!.slice("local:".length);
    expect(line).toMatch(new RegExp(`${third}[^,]*\\(not trusted here, ignored\\)`));
    for (const id of ids.slice(0, 2)) {
      expect(line).not.toMatch(new RegExp(`${id.slice(6)} \\(not trusted`));
    }
    const check = await runSealfig(["check", "app.yaml"], { cwd: dir, env });
    expect(check.code, check.stderr).toBe(0);
    expect(check.stderr).toContain("not trusted here");
    expect(check.stderr).toContain(third);
  });
});
