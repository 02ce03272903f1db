/**
 * writeFileAtomic: the target is replaced whole, its mode kept, and temporary files that a killed
 * earlier write left behind are removed by the next write to the same path once their writer is
 * gone (a running writer's temp file is left alone).
 */
import { afterAll, describe, expect, it } from "vitest";
import process from "node:process";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../src/runtime.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const tmp = makeTempDir("sealfig-atomic-");
afterAll(() => tmp.cleanup());

describe("writeFileAtomic", () => {
  it("replaces the file and keeps its mode", async () => {
    const file = tmp.write("keep-mode.yaml", "old: 1\n");
    if (process.platform !== "win32") (await import("node:fs")).chmodSync(file, 0o600);
    await writeFileAtomic(file, "new: 2\n");
    expect(readFileSync(file, "utf8")).toBe("new: 2\n");
    if (process.platform !== "win32") expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("removes temp files of dead writers to the same path, and nothing else", async () => {
    const file = tmp.write("app.yaml", "a: 1\n");
    const dir = join(file, "..");
    // A process id that has just exited: a writer killed with kill -9 looks like this.
    const dead = spawnSync(process.execPath, ["--version"]).pid!;
    const stale = `.app.yaml.sealfig-${dead}-1700000000000-0.tmp`;
    const running = `.app.yaml.sealfig-${process.pid}-1700000000000-0.tmp`;
    const otherFile = `.other.yaml.sealfig-${dead}-1700000000000-0.tmp`;
    for (const name of [stale, running, otherFile]) writeFileSync(join(dir, name), "sealed\n");
    await writeFileAtomic(file, "a: 2\n");
    const left = readdirSync(dir);
    expect(left).not.toContain(stale);
    expect(left).toContain(running);
    expect(left).toContain(otherFile);
    expect(left.filter((n) => n.startsWith(".app.yaml.") && n !== running)).toEqual([]);
    expect(readFileSync(file, "utf8")).toBe("a: 2\n");
  });
});
