/**
 * Crash safety: `sealfig encrypt -i`, `set` and `rewrap` killed with SIGKILL at random moments
 * leave the file either exactly as it was or as the complete new version, which loads.
 *
 * "Random moments" over a process whose life is mostly start-up: half of the kills come after a
 * random delay drawn over the measured lifetime of a full run (30% to 110% of it, skipping the
 * first part of start-up, where nothing can happen to the file), the other half exactly when the
 * atomic write's temporary file appears in the directory (the write window). The file holds 150
 * values, so sealing and writing take a while. Five trials run at once, each on its own file.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import { loadConfig, type LoadConfigOptions } from "../../src/config/load_config.ts";
import { readDocument } from "../../src/document/document.ts";
import { parseBlob } from "../../src/envelope/format.ts";
import { runSealfig } from "../_helpers/cli.ts";
import type { TempDir } from "../_helpers/tmp_dir.ts";
import {
  canary,
  captureCli,
  DEEP,
  KNOBS,
  note,
  plaintextOnPurpose,
  tempDir,
  tried,
} from "./_collector.ts";
import { cliRepo, CONTEXT, key1, key2, local } from "./_fixture.ts";

const VALUES = 150;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Deep mode's 100 kills per command outlast the default test timeout (vitest only). */
const LONG: [] | [number] = DEEP ? [30 * 60_000] : [];

interface Trial {
  mode: "delay" | "tmp-file";
  delayMs?: number;
}

export function crashSuite(): void {
  describe(`crash safety: kill -9 during encrypt -i / set / rewrap (${KNOBS.crashRepeats}× each)`, () => {
    const secrets = Array.from({ length: VALUES }, (_, i) => i === 0 ? canary("crash") : `s-${i}`);
    const NEW = canary("crash-new");
    let repo: TempDir;
    let cwd: string;
    let env: Record<string, string | undefined>;
    let plainText: string;
    let sealedBytes: Uint8Array;
    const expectedValues = Object.fromEntries(secrets.map((s, i) => [`k${i}`, s]));

    /** Load a file the way an app would, verifying an integrity record when there is one. */
    async function loads(file: string): Promise<Record<string, unknown>> {
      const options = {
        files: [file],
        providers: [local],
        context: CONTEXT,
        integrity: "if-present",
        // Mid-rotation (rewrap to key 2) an app trusts both keys; the repo's rules name key 1.
        trustedKeys: [`local:${key1.id}`, `local:${key2.id}`],
      } as LoadConfigOptions<undefined>;
      return await loadConfig(options) as Record<string, unknown>;
    }

    async function timed(args: string[], input?: string): Promise<number> {
      const t0 = performance.now();
      const r = await runSealfig(args, { cwd, env, ...(input !== undefined ? { input } : {}) });
      captureCli(args.join(" "), r);
      expect(r.code, r.stderr).toBe(0);
      return performance.now() - t0;
    }

    /** Run the command and SIGKILL it per `trial`; resolves to whether the kill landed. */
    async function runKilled(
      args: string[],
      name: string,
      trial: Trial,
      input?: string,
    ): Promise<boolean> {
      let child: ChildProcess | undefined;
      let exited = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const watch = async () => {
        while (!exited && child) {
          if (readdirSync(repo.dir).some((n) => n.startsWith(`.${name}.sealfig-`))) {
            child.kill("SIGKILL");
            return;
          }
          await new Promise((r) => setTimeout(r, 0));
        }
      };
      const run = runSealfig(args, {
        cwd,
        env,
        ...(input !== undefined ? { input } : {}),
        onSpawn: (c) => {
          child = c;
          c.stdin?.on("error", () => {}); // EPIPE when killed before reading stdin
          if (trial.mode === "delay") timer = setTimeout(() => c.kill("SIGKILL"), trial.delayMs);
          else void watch();
        },
      });
      const r = await run;
      exited = true;
      clearTimeout(timer);
      captureCli(`${args.join(" ")} (killed?)`, r);
      if (r.signal === "SIGKILL") return true;
      expect(r.code, r.stderr).toBe(0);
      return false;
    }

    function trials(fullMs: number): Trial[] {
      const lo = fullMs * 0.3, hi = fullMs * 1.1;
      return Array.from(
        { length: KNOBS.crashRepeats },
        (_, i) =>
          i % 2 === 0
            ? { mode: "delay" as const, delayMs: Math.round(lo + Math.random() * (hi - lo)) }
            : { mode: "tmp-file" as const },
      );
    }

    /** Trials run this many at a time, each on its own copy of the file. */
    const PARALLEL = 5;

    async function crashLoop(
      name: string,
      args: (file: string) => string[],
      initial: string | Uint8Array,
      fullMs: number,
      check: (file: string, bytes: Uint8Array) => Promise<"old" | "new">,
      input?: string,
    ): Promise<void> {
      const outcome = { old: 0, new: 0, killed: 0, killedInWriteWindow: 0 };
      const queue = trials(fullMs).map((t, i) => ({ t, i }));
      const worker = async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const done = tried("crash safety");
          const base = `${name.replace(/\W+/g, "")}-${next.i}.yaml`;
          const file = repo.write(base, initial);
          if (typeof initial === "string") plaintextOnPurpose(file);
          const killed = await runKilled(args(base), base, next.t, input);
          if (killed) outcome.killed++;
          if (killed && next.t.mode === "tmp-file") outcome.killedInWriteWindow++;
          outcome[await check(file, readFileSync(file))]++;
          done();
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, worker));
      note(
        "crash safety",
        `${name}: ${outcome.killed} killed (${outcome.killedInWriteWindow} as the temp file ` +
          `appeared), file old ${outcome.old}, new ${outcome.new}, torn 0; lifetime ~` +
          `${Math.round(fullMs)} ms`,
      );
    }

    beforeAll(() => {
      repo = tempDir("crash");
      ({ cwd, env } = cliRepo(repo));
      plainText = [
        "# crash fixture",
        ...secrets.map((s, i) => `k${i}: !secret ${s}`),
        "",
      ].join("\n");
    });

    it(
      "encrypt -i: the file is the plaintext view or the complete sealed file, which loads",
      async () => {
        const file = repo.path("app.yaml");
        plaintextOnPurpose(file);
        writeFileSync(file, plainText);
        const fullMs = await timed(["encrypt", "-i", "app.yaml"]);
        expect(await loads(file)).toMatchObject(expectedValues);
        sealedBytes = readFileSync(file);
        await crashLoop(
          "encrypt -i",
          (f) => ["encrypt", "-i", f],
          plainText,
          fullMs,
          async (f, bytes) => {
            if (new TextDecoder().decode(bytes) === plainText) return "old";
            const config = await loads(f);
            expect(config).toMatchObject(expectedValues);
            expect((await readDocument(f)).values().filter((v) => v.kind === "sealed"))
              .toHaveLength(
                VALUES,
              );
            return "new";
          },
        );
      },
      ...LONG,
    );

    it("set: the file is the old sealed file or has exactly the new value, and loads", async () => {
      const file = repo.path("app.yaml");
      writeFileSync(file, sealedBytes);
      const fullMs = await timed(["set", "app.yaml", "k1", "-"], NEW);
      expect((await loads(file)).k1).toBe(NEW);
      await crashLoop(
        "set",
        (f) => ["set", f, "k1", "-"],
        sealedBytes,
        fullMs,
        async (f, bytes) => {
          if (sameBytes(bytes, sealedBytes)) {
            expect(await loads(f)).toMatchObject(expectedValues);
            return "old";
          }
          expect(await loads(f)).toMatchObject({ ...expectedValues, k1: NEW });
          return "new";
        },
        NEW,
      );
    }, ...LONG);

    it(
      "rewrap: the file is the old one or every data key is re-wrapped to key 2, and loads",
      async () => {
        const file = repo.path("app.yaml");
        writeFileSync(file, sealedBytes);
        const args = (f: string) => ["rewrap", f, "--to", `local:${key2.id}`];
        const fullMs = await timed(args("app.yaml"));
        await crashLoop("rewrap", args, sealedBytes, fullMs, async (f, bytes) => {
          expect(await loads(f)).toMatchObject(expectedValues);
          if (sameBytes(bytes, sealedBytes)) return "old";
          const sealed = (await readDocument(f)).values().filter((v) => v.kind === "sealed");
          expect(sealed).toHaveLength(VALUES);
          expect(sealed.every((v) => parseBlob(v.value as string).keyId === key2.id)).toBe(true);
          return "new";
        });
      },
      ...LONG,
    );
  });
}
