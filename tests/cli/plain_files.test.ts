/**
 * A file with no sealed value needs no integrity record (README, docs/rules.md): `get` and
 * `decrypt` read it as the loader does, and refuse what the loader refuses (a plaintext value the
 * rules call secret in such a file: SECRET_UNSEALED), one policy for the CLI and the app.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSealfig } from "../_helpers/cli.ts";
import { loadConfig } from "../../mod.ts";
import { isSealfigError } from "../../src/errors.ts";

const root = mkdtempSync(join(tmpdir(), "sealfig-plain-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const env = { SEALFIG_KEY_FILE: join(root, "keys"), SEALFIG_KEY: undefined };

async function loaderCode(file: string): Promise<string | undefined> {
  try {
    await loadConfig({ files: [file], rules: join(root, ".sealfig.yaml") });
    return undefined;
  } catch (err) {
    if (!isSealfigError(err)) throw err;
    return err.code;
  }
}

describe("plain files without a record", () => {
  it("get and decrypt accept them like the loader; a plaintext secret is refused by all three", async () => {
    mkdirSync(root, { recursive: true });
    const init = await runSealfig(["init"], { cwd: root, env });
    expect(init.code, init.stderr).toBe(0);
    writeFileSync(join(root, "plain.yaml"), "a: 1\nlist: [x, y]\n---\nb: two\n");
    writeFileSync(join(root, "one.yml"), "port: 5432\n");
    for (
      const [file, path, out] of [
        ["one.yml", "port", "5432\n"],
        ["plain.yaml", "[1].b", "two\n"],
      ] as const
    ) {
      const get = await runSealfig(["get", file, path], { cwd: root, env });
      expect(get.code, get.stderr).toBe(0);
      expect(get.stdout).toBe(out);
      const dec = await runSealfig(["decrypt", file], { cwd: root, env });
      expect(dec.code, dec.stderr).toBe(0);
    }
    expect(await loaderCode(join(root, "one.yml"))).toBeUndefined();

    writeFileSync(join(root, "leak.yaml"), "db:\n  password: hunter2\n");
    const get = await runSealfig(["get", "leak.yaml", "db.password"], { cwd: root, env });
    expect(get.code).not.toBe(0);
    expect(get.stderr).toContain("SECRET_UNSEALED");
    expect(get.stderr).toContain("leak.yaml:2:");
    expect(await loaderCode(join(root, "leak.yaml"))).toBe("SECRET_UNSEALED");
  });
});
