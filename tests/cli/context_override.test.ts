/**
 * Every file a command writes must pass `check` under the rules: a write with `--context` other
 * than the matching rule's is refused before anything is written (finding: `stamp --force
 * --context env=staging` wrote a file that `check` then failed). Reads may override the context.
 */
import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSealfig } from "../_helpers/cli.ts";

const root = mkdtempSync(join(tmpdir(), "sealfig-ctx-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const WRITES: string[][] = [
  ["set", "config/new.yaml", "db.password", "pw"], // a new file: nothing to verify first
  ["set", "config/app.yaml", "api.token", "t"],
  ["set", "config/app.yaml", "api.url", "u", "--plain"],
  ["encrypt", "-i", "config/app.yaml"],
  ["stamp", "--force", "config/app.yaml"],
  ["rotate", "config/app.yaml"],
  ["rewrap", "--to", "KEY", "config/app.yaml"],
];

describe("writes never use a context other than the rules'", () => {
  it(
    "each write command with a foreign --context is refused and leaves the file as it was",
    async () => {
      const dir = join(root, "repo");
      mkdirSync(join(dir, "config"), { recursive: true });
      const env = { HOME: join(root, "home"), XDG_CONFIG_HOME: undefined, SEALFIG_KEY: undefined };
      const run = (args: string[]) => runSealfig(args, { cwd: dir, env });
      const id = (await run(["keygen"])).stdout.trim();
      expect(
        (await run([
          "init",
          "--context",
          "app=shop",
          "--context",
          "env=prod",
          "--files",
          "^config/",
        ]))
          .code,
      ).toBe(0);
      writeFileSync(join(dir, "config", "app.yaml"), "db:\n  host: h\n  password: pw\n");
      expect((await run(["encrypt", "-i", "config/app.yaml"])).code).toBe(0);
      const before = readFileSync(join(dir, "config", "app.yaml"), "utf8");
      let refused = 0;
      for (const w of WRITES) {
        const args = w.map((a) => (a === "KEY" ? `local:${id}` : a));
        for (const ctx of [["env=staging"], ["app=shop"], ["app=shop", "env=prod", "x=y"]]) {
          const r = await run([...args, ...ctx.flatMap((c) => ["--context", c])]);
          // refused: by this check (exit 2), or earlier, when the existing record or a value does
          // not open with that context (CONTEXT_MISMATCH, exit 4); never written
          expect([2, 4], `${args.join(" ")} ${ctx}: ${r.stderr}`).toContain(r.code);
          if (r.code === 2 || args[0] === "stamp" || args[1] === "config/new.yaml") {
            expect(r.stderr).toContain("differs from the context the rules give this file");
          }
          expect(readFileSync(join(dir, "config", "app.yaml"), "utf8")).toBe(before);
          expect(existsSync(join(dir, "config", "new.yaml"))).toBe(false);
          refused++;
        }
      }
      expect(refused).toBe(WRITES.length * 3);
      // the rules' own context, given explicitly, is no override; the file still checks
      const same = await run([
        "set",
        "config/app.yaml",
        "api.token",
        "t",
        "--context",
        "env=prod",
        "--context",
        "app=shop",
      ]);
      expect(same.code, same.stderr).toBe(0);
      expect((await run(["check", "--decrypt", "config/app.yaml"])).code).toBe(0);
      // reads may still try another context (and say which)
      const get = await run(["get", "config/app.yaml", "db.password", "--context", "env=staging"]);
      expect(get.code).toBe(4);
      expect(get.stderr).toContain("CONTEXT_MISMATCH");
      // `__proto__` was once assigned to a plain object, which set the prototype and dropped the
      // entry, so this read used the rules' context. It is refused now: no layer (a rules file's
      // schema, an object literal) reliably keeps it.
      const proto = await run([
        "get",
        "config/app.yaml",
        "db.password",
        ...["app=shop", "env=prod", "__proto__=x"].flatMap((c) => ["--context", c]),
      ]);
      expect(proto.code, proto.stderr).toBe(2);
      expect(proto.stderr).toContain("OPTION_INVALID");
      expect(proto.stderr).toContain("__proto__");
      // A key given twice: which one was meant? Refused by every verb (init always did).
      const twice = await run([
        "get",
        "config/app.yaml",
        "db.password",
        "--context",
        "env=a",
        "--context",
        "env=b",
      ]);
      expect(twice.code, twice.stderr).toBe(2);
      expect(twice.stderr).toContain("--context env is given twice");
    },
    180_000,
  );
});
