/**
 * The README's git merge setup, run as written: two branches of a sealed file merged by real
 * `git merge` through the merge driver line copied verbatim from README.md. Used by the consumer
 * tests (the packed package installed locally in a project, and globally under an npm prefix) and
 * by tests/integrity/git_merge.test.ts (the CLI from the sources, as a local `node_modules/.bin`,
 * on Node and on Deno). Plain JavaScript: it runs in the consumer's project without a build.
 *
 * @module
 */
// @ts-self-types="./git_merge.d.mts"
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The two setup lines of the README's merge driver block (`.gitattributes` and `git config`).
 *
 * @param {string} readme the README text
 * @returns {string[]}
 */
export function readmeMergeLines(readme) {
  const block =
    /```sh\n(echo 'config\/\*\.yaml merge=sealfig'[^\n]*\ngit config merge\.sealfig\.driver [^\n]*)\n```/
      .exec(readme);
  if (!block) throw new Error("README: the merge driver block was not found");
  return block[1].split("\n");
}

/**
 * Run the scenario in `dir` (created empty by the caller).
 *
 * @param {object} o
 * @param {string} o.dir an empty directory for the repository
 * @param {string[]} o.cli argv prefix that runs sealfig, for the setup steps
 * @param {Record<string, string | undefined>} o.env environment for every command (git's too)
 * @param {string} o.readme the README text
 * @param {boolean} o.driverInstalled whether `npx --no-install sealfig` finds sealfig from `dir`
 * @returns {{ generation: number | undefined, conflicted: boolean, text: string }}
 */
export function gitMergeScenario({ dir, cli, env, readme, driverInstalled }) {
  const run = (argv, input) => {
    const r = spawnSync(argv[0], argv.slice(1), {
      cwd: dir,
      env: { ...env, GIT_CONFIG_NOSYSTEM: "1", HOME: dir, NO_COLOR: "1" },
      encoding: "utf8",
      input,
      timeout: 120_000,
    });
    return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
  const must = (argv, input) => {
    const r = run(argv, input);
    if (r.code !== 0) {
      throw new Error(`${argv.join(" ")} exited ${r.code}\n${r.stderr}${r.stdout}`);
    }
    return r;
  };
  const sealfig = (...args) => [...cli, ...args];
  const file = "config/app.yaml";

  must(["git", "init", "-q", "."]);
  must(["git", "config", "user.name", "sealfig test"]);
  must(["git", "config", "user.email", "test@example.invalid"]);
  must(["git", "config", "commit.gpgsign", "false"]);
  const keyId = must(sealfig("keygen")).stdout.trim();
  must(sealfig("init", "--key", `local:${keyId}`, "--context", "app=shop"));
  mkdirSync(join(dir, "config"), { recursive: true });
  writeFileSync(
    join(dir, file),
    "db:\n  host: db.internal\n  password: !secret base-password-1\nservice:\n  port: 8080\n",
  );
  must(sealfig("encrypt", "-i", file));
  // The README's lines, verbatim, through the shell.
  for (const line of readmeMergeLines(readme)) must(["sh", "-c", line]);
  must(["git", "add", "-A"]);
  must(["git", "commit", "-qm", "base"]);
  const main = must(["git", "rev-parse", "--abbrev-ref", "HEAD"]).stdout.trim();

  // Both branches add a key at the end of the same map: a line merge conflicts there.
  must(["git", "checkout", "-qb", "other"]);
  must(sealfig("set", file, "db.replica_password", "-"), "replica-secret-2");
  must(["git", "commit", "-qam", "other: db.replica_password"]);
  must(["git", "checkout", "-q", main]);
  must(sealfig("set", file, "db.api_token", "-"), "api-token-3");
  must(sealfig("set", file, "service.port", "9090", "--type", "integer"));
  must(["git", "commit", "-qam", "main: db.api_token, service.port"]);

  const merge = run(["git", "merge", "--no-edit", "other"]);
  const text = readFileSync(join(dir, file), "utf8");
  if (!driverInstalled) {
    // git must stop with a conflict, and the file must not pass for "ours".
    if (merge.code === 0) throw new Error(`git merge succeeded without the driver:\n${text}`);
    const unmerged = must(["git", "diff", "--name-only", "--diff-filter=U"]).stdout;
    if (!unmerged.includes(file)) throw new Error(`not marked as conflicted: ${unmerged}`);
    if (!text.includes("<<<<<<< ")) throw new Error(`no conflict markers:\n${text}`);
    if (!text.includes("replica_password")) throw new Error("the other side is missing");
    return { generation: undefined, conflicted: true, text };
  }
  if (merge.code !== 0) {
    throw new Error(`git merge failed (${merge.code}):\n${merge.stderr}${text}`);
  }
  if (text.includes("<<<<<<<")) throw new Error(`conflict markers left:\n${text}`);
  const get = (path) => must(sealfig("get", file, path)).stdout.trim();
  const values = [get("db.password"), get("db.replica_password"), get("db.api_token")];
  const want = ["base-password-1", "replica-secret-2", "api-token-3"];
  if (values.join() !== want.join()) throw new Error(`merged values ${values.join()}`);
  if (get("service.port") !== "9090") throw new Error("service.port lost");
  must(sealfig("check", file));
  const st = must(sealfig("status", file));
  const status = st.stdout + st.stderr;
  const m = /generation (\d+)/.exec(status);
  return { generation: m ? Number(m[1]) : undefined, conflicted: false, text };
}
