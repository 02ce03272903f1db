/**
 * Consumer tests: the built npm package as a user gets it, and mod.ts as a Deno user gets it.
 *
 *   npm run build && npx tsx tests/consumer/run.ts      (scripts/test.sh runs both)
 *
 * 1. `npm pack` the build in npm/ and check what the tarball holds (no tests, fixtures, keys,
 *    vectors or TypeScript sources; a source map for every .js file).
 * 2. Install the tarball into a fresh project in the temp dir, outside the repository, with zod
 *    and @types/node beside it (from the npm cache, else the registry).
 * 3. Node: a plain .mjs app runs tests/consumer/scenario.mjs with each entry point (`sealfig`,
 *    `sealfig/document`, `sealfig/kms-server`, and `sealfig/cli` run by importing it) and the
 *    installed `sealfig` bin; a .cjs file `require()`s each library entry point; a TypeScript file
 *    type-checks against the shipped .d.ts of each (moduleResolution nodenext), with
 *    `@ts-expect-error` lines as negative checks; a load hook lists the package modules that
 *    `import "sealfig"` loads: no KMS server, document writer or CLI (import cost).
 * 4. Deno: tests/consumer/deno_app.ts runs the same scenario against the entry points deno.json
 *    exports, from the sources.
 *
 * Prints `ok`/`not ok` lines and, last, `consumer: N passed, M failed` (counted by scripts/test.sh).
 * SEALFIG_KEEP_CONSUMER=1 keeps the temp project for inspection.
 *
 * @module
 */
import { spawn, type SpawnOptions } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { gitMergeScenario } from "./git_merge.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const here = join(root, "tests", "consumer");
const npmDir = join(root, "npm");
const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

let passed = 0;
let failed = 0;

/** Results of one line of work, printed as a block when it is done (the lines run in parallel). */
class Section {
  readonly lines: string[] = [];
  ok(name: string): void {
    passed++;
    this.lines.push(`ok - ${name}`);
  }
  notOk(name: string, why: string): void {
    failed++;
    this.lines.push(`not ok - ${name}: ${why.trim().split("\n").join("\n  ")}`);
  }
  async check(name: string, fn: () => void | Promise<void>): Promise<boolean> {
    try {
      await fn();
      this.ok(name);
      return true;
    } catch (err) {
      this.notOk(name, err instanceof Error ? err.message : String(err));
      return false;
    }
  }
  /** Add a scenario's own `# N passed, M failed` to the totals; keep its lines. */
  scenario(label: string, r: Run): void {
    for (const line of r.stdout.split("\n")) if (line.trim()) this.lines.push(`[${label}] ${line}`);
    const m = /^# (\d+) passed, (\d+) failed$/m.exec(r.stdout);
    if (!m) {
      this.notOk(`${label} scenario ran to the end`, `exit ${r.status}\n${r.stderr.slice(-2000)}`);
      return;
    }
    passed += Number(m[1]);
    failed += Number(m[2]);
    if (r.status !== 0 && Number(m[2]) === 0) this.notOk(`${label} scenario exit`, `${r.status}`);
  }
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}
function run(cmd: string, args: string[], options: SpawnOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { timeout: 180_000, ...options, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}
function must(r: Run, what: string): Run {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}\n${r.stderr}${r.stdout}`);
  return r;
}

const work = mkdtempSync(join(tmpdir(), "sealfig-consumer-"));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/** Node: pack, install into a fresh project, then the ESM scenario, require() and tsc at once. */
async function nodeConsumer(out: Section): Promise<void> {
  const project = join(work, "project");
  mkdirSync(project);
  let tarball = "";
  await out.check("npm pack: the tarball holds only what should ship", async () => {
    const r = must(
      await run(npm, ["pack", npmDir, "--pack-destination", work, "--json", "--silent"], {
        cwd: work,
      }),
      "npm pack",
    );
    const [info] = JSON.parse(r.stdout) as {
      filename: string;
      size: number;
      unpackedSize: number;
      entryCount: number;
      files: { path: string }[];
    }[];
    if (!info) throw new Error("npm pack printed no package");
    tarball = join(work, info.filename);
    const problems = shippingProblems(info.files.map((f) => f.path));
    if (problems.length) throw new Error(problems.join("\n"));
    out.lines.push(
      `# tarball ${info.filename}: ${(info.size / 1024).toFixed(1)} kB packed, ` +
        `${(info.unpackedSize / 1024).toFixed(1)} kB unpacked, ${info.entryCount} files`,
    );
  });

  // A fresh project outside the repository.
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "sealfig-consumer", private: true, type: "module" }, null, 2),
  );
  const installed = tarball !== "" && await out.check(
    "npm install <tarball> into a fresh project",
    async () => {
      must(
        await run(npm, [
          "install",
          "--prefer-offline",
          "--no-audit",
          "--no-fund",
          "--loglevel=error",
          tarball,
          `zod@${rootPkg.dependencies["zod"]}`,
          `@types/node@${rootPkg.devDependencies["@types/node"]}`,
        ], { cwd: project, env: outsideNpmRun() }),
        "npm install",
      );
    },
  );
  if (!installed) return;

  copyFileSync(join(here, "scenario.mjs"), join(project, "scenario.mjs"));
  writeFileSync(join(project, "app.mjs"), nodeApp());
  writeFileSync(join(project, "cli_entry.mjs"), 'await import("sealfig/cli");\n');
  writeFileSync(
    join(project, "load_log_hook.mjs"),
    readFileSync(join(root, "tests", "api", "_load_log_hook.mjs")),
  );
  writeFileSync(join(project, "app.cjs"), cjsApp());
  writeFileSync(join(project, "consumer.ts"), tsConsumer());
  writeFileSync(join(project, "tsconfig.json"), JSON.stringify(tsConfig(), null, 2));
  mkdirSync(join(project, "work"));
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const loaded = (entry: string) =>
    run(process.execPath, [
      "--input-type=module",
      "-e",
      `import { register } from "node:module";
       import { pathToFileURL } from "node:url";
       const log = ${JSON.stringify(join(project, `loaded-${entry.replace(/\W/g, "_")}.txt`))};
       register(pathToFileURL("./load_log_hook.mjs"), { data: { log } });
       await import(${JSON.stringify(entry)});
       const { readFileSync } = await import("node:fs");
       const mine = readFileSync(log, "utf8").split("\\n").filter((u) => u.includes("/node_modules/sealfig/esm/"));
       console.log(JSON.stringify(mine.map((u) => u.slice(u.indexOf("/esm/") + 5))));`,
    ], { cwd: project });
  const [esm, cjs, types, rootLoads, documentLoads] = await Promise.all([
    // ESM: the shared scenario against the installed package and its bin.
    run(process.execPath, ["app.mjs", join(project, "work")], {
      cwd: project,
      env: { ...process.env, NO_COLOR: "1" },
    }),
    // CommonJS: require() of the ESM-only package (Node >= 20.19).
    run(process.execPath, ["app.cjs"], { cwd: project }),
    // TypeScript against the shipped .d.ts.
    run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: project }),
    // Import cost: the package's modules Node loads for `sealfig` and for `sealfig/document`.
    loaded("sealfig"),
    loaded("sealfig/document"),
  ]);
  out.scenario("node", esm);
  await gitMergeChecks(out, project, tarball);
  await out.check("import 'sealfig' loads no KMS server, document writer or CLI", () => {
    const forApp = JSON.parse(must(rootLoads, "import sealfig").stdout) as string[];
    const forTools = JSON.parse(must(documentLoads, "import sealfig/document").stdout) as string[];
    const heavy =
      /^(src\/kms_server\/|src\/cli\/|scripts\/|src\/document\/(seal|edit|splice|merge)\.js$)/;
    if (!forApp.includes("src/config/load_config.js")) throw new Error(forApp.join("\n"));
    const bad = forApp.filter((m) => heavy.test(m));
    if (bad.length) throw new Error(`'sealfig' loads ${bad.join(", ")}`);
    // Positive control: the same measurement sees the writer behind sealfig/document.
    if (!forTools.includes("src/document/splice.js")) throw new Error(forTools.join("\n"));
    out.lines.push(
      `# import 'sealfig': ${forApp.length} package modules; 'sealfig/document': ${forTools.length}`,
    );
  });
  await out.check("require() of each entry point works from CommonJS", () => {
    must(cjs, "node app.cjs");
    if (cjs.stdout.trim() !== "function function function function") {
      throw new Error(cjs.stdout + cjs.stderr);
    }
  });
  await out.check(
    "TypeScript consumer type-checks against the shipped .d.ts (nodenext)",
    () => {
      must(types, "tsc");
    },
  );
}

/**
 * The README's merge driver lines under real `git merge`, with the package installed the two ways
 * users install it: locally in the project (`npx --no-install` finds node_modules/.bin) and
 * globally under an npm prefix.
 */
async function gitMergeChecks(out: Section, project: string, tarball: string): Promise<void> {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const base = {
    ...outsideNpmRun(),
    NO_COLOR: "1",
    SEALFIG_KEY: undefined,
    SEALFIG_TRUSTED_KEYS: undefined,
    SEALFIG_KMS_KEY: undefined,
    // npx --no-install looks a missing package up in the registry: stay on this machine.
    npm_config_offline: "true",
  };
  await out.check("git merge with the README's driver line: local npm install", () => {
    const dir = join(project, "repo");
    mkdirSync(dir);
    writeFileSync(join(dir, ".gitignore"), "keys\n");
    const r = gitMergeScenario({
      dir,
      cli: [join(project, "node_modules", ".bin", "sealfig")],
      env: { ...base, SEALFIG_KEY_FILE: join(work, "local-keys") },
      readme,
      driverInstalled: true,
    });
    if (r.generation !== 4) throw new Error(`merged generation ${r.generation}, want 4`);
  });
  const prefix = join(work, "global");
  const installed = await out.check("npm install -g <tarball> (a global prefix)", async () => {
    must(
      await run(npm, [
        "install",
        "-g",
        "--prefix",
        prefix,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        tarball,
      ], { cwd: work, env: outsideNpmRun() }),
      "npm install -g",
    );
  });
  if (!installed) return;
  await out.check("git merge with the README's driver line: global npm install", () => {
    const dir = join(work, "global-repo");
    mkdirSync(dir);
    const bin = join(prefix, "bin");
    const r = gitMergeScenario({
      dir,
      cli: [join(bin, "sealfig")],
      env: {
        ...base,
        npm_config_prefix: prefix,
        PATH: `${bin}:${process.env["PATH"] ?? ""}`,
        SEALFIG_KEY_FILE: join(work, "global-keys"),
      },
      readme,
      driverInstalled: true,
    });
    if (r.generation !== 4) throw new Error(`merged generation ${r.generation}, want 4`);
  });
}

/** Deno: the same scenario against mod.ts, straight from the sources. */
async function denoConsumer(out: Section): Promise<void> {
  const denoWork = join(work, "deno");
  mkdirSync(denoWork);
  const deno = join(
    root,
    "node_modules",
    ".bin",
    process.platform === "win32" ? "deno.cmd" : "deno",
  );
  out.scenario(
    "deno",
    await run(deno, [
      "run",
      "-A",
      "--quiet",
      "--config",
      join(root, "deno.json"),
      join(here, "deno_app.ts"),
      denoWork,
    ], { cwd: denoWork, env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" } }),
  );
}

const sections = [new Section(), new Section()] as const;
try {
  const results = await Promise.allSettled([
    nodeConsumer(sections[0]),
    denoConsumer(sections[1]),
  ]);
  results.forEach((r, i) => {
    if (r.status === "rejected") {
      const err = r.reason as unknown;
      sections[i]!.notOk("ran", err instanceof Error ? err.stack ?? err.message : String(err));
    }
  });
} finally {
  for (const s of sections) for (const line of s.lines) console.log(line);
  if (process.env["SEALFIG_KEEP_CONSUMER"] === "1") console.log(`# kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

console.log(`consumer: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;

/**
 * The environment without what `npm test` adds for its own package (`npm_package_*`,
 * `npm_config_local_prefix`, `INIT_CWD` …), so the consumer's npm sees only its own project.
 */
function outsideNpmRun(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) =>
      !/^(npm_package_|npm_lifecycle_|npm_config_local_prefix$|INIT_CWD$)/.test(k)
    ),
  );
}

/** What must not be in the package, and what must be. */
function shippingProblems(paths: string[]): string[] {
  const problems: string[] = [];
  const set = new Set(paths);
  for (const p of paths) {
    if (/(^|\/)(tests?|fixtures?|vectors?|bench|examples)\//.test(p)) {
      problems.push(`test or development file shipped: ${p}`);
    }
    if (p.startsWith("esm/scripts/") && !p.startsWith("esm/scripts/sealfig.")) {
      problems.push(`build or dev script shipped: ${p}`);
    }
    if (/\.(pem|key|env)$|(^|\/)keys$|\.sealfig\.yaml$|\.tgz$/.test(p)) {
      problems.push(`key or secret-like file shipped: ${p}`);
    }
    if (/\.(m|c)?ts$/.test(p) && !/\.d\.(m|c)?ts$/.test(p)) {
      problems.push(`TS source shipped: ${p}`);
    }
    if (p.endsWith(".js") && !set.has(`${p}.map`)) problems.push(`no source map for ${p}`);
    if (
      !/^(esm\/.+\.(js|js\.map|d\.ts)|docs\/[^/]+\.md|README\.md|LICENSE|package\.json)$/.test(p)
    ) {
      problems.push(`unexpected file: ${p}`);
    }
  }
  for (const p of ["package.json", "README.md", "LICENSE", "esm/mod.js", "esm/mod.d.ts"]) {
    if (!set.has(p)) problems.push(`missing ${p}`);
  }
  if (!set.has("esm/scripts/sealfig.js")) problems.push("missing the bin esm/scripts/sealfig.js");
  return problems;
}

/** The Node app: plain ESM, the installed package and its bin, zod from the project. */
function nodeApp(): string {
  return `import { join } from "node:path";
import { z } from "zod";
import * as sealfig from "sealfig";
import * as document from "sealfig/document";
import * as kmsServer from "sealfig/kms-server";
import { runScenario } from "./scenario.mjs";

const result = await runScenario({
  sealfig,
  document,
  kmsServer,
  z,
  dir: process.argv[2],
  cli: [join(import.meta.dirname, "node_modules", ".bin", "sealfig")],
  cliEntry: [process.execPath, join(import.meta.dirname, "cli_entry.mjs")],
  evalCommand: (code) => [process.execPath, "-e", code],
});
process.exitCode = result.failed === 0 ? 0 : 1;
`;
}

/** CommonJS: the ESM-only package through require(esm). */
function cjsApp(): string {
  return `const sealfig = require("sealfig");
const document = require("sealfig/document");
const kmsServer = require("sealfig/kms-server");
console.log(
  typeof sealfig.loadConfig,
  typeof sealfig.LocalKeyProvider,
  typeof document.sealDocument,
  typeof kmsServer.startKmsServer,
);
`;
}

/**
 * A TypeScript consumer. It is only type-checked: loadConfig's result is the schema's output type
 * (deeply read-only), and each `@ts-expect-error` line must be an error (else tsc fails with
 * "Unused '@ts-expect-error' directive"), so the negative checks cannot pass by accident.
 */
function tsConsumer(): string {
  return `import {
  type ConfigOf,
  ConfigValidationError,
  createLoader,
  isSealfigError,
  loadConfig,
  redact,
  type SealfigError,
} from "sealfig";
import { type DocumentValue, parseDocument, type StandardSchemaV1 } from "sealfig/document";
import { type KmsServer, startKmsServer } from "sealfig/kms-server";
import { z } from "zod";

const Schema = z.object({
  server: z.object({ host: z.string(), port: z.number().int() }),
  db: z.object({ password: z.string(), pool: z.object({ max: z.number() }).optional() }),
});

export async function main(): Promise<void> {
  const config = await loadConfig({ files: ["config/app.yaml"], schema: Schema });
  const port: number = config.server.port;
  const password: string = config.db.password;
  const max: number | undefined = config.db.pool?.max;
  // @ts-expect-error -- server.port is a number, not a string
  const wrong: string = config.server.port;
  // @ts-expect-error -- the config is deeply read-only
  config.server.port = 1;
  // @ts-expect-error -- no such key in the schema
  config.server.missing;

  const untyped = await loadConfig({ files: ["config/app.yaml"] });
  const anything: unknown = untyped["server"];
  // @ts-expect-error -- without a schema, values are unknown
  const notANumber: number = untyped["server"];

  const loader = createLoader({ files: ["config/app.yaml"], schema: Schema });
  const reloaded: ConfigOf<typeof Schema> = await loader.load();
  const forLogs = redact(reloaded);
  const values: DocumentValue[] = parseDocument("a: 1\\n").values();
  const schema: StandardSchemaV1 = Schema;
  const server: KmsServer = await startKmsServer();
  // @ts-expect-error -- the document writer is not part of the app's entry point
  const { sealDocument } = await import("sealfig");
  console.log(values.length, schema, server.endpoint, sealDocument);
  const calls: number = loader.stats().providerCalls;
  console.log(port, password, max, wrong, anything, notANumber, forLogs.db.password, calls);
  try {
    await loadConfig({ files: [], schema: Schema });
  } catch (err) {
    if (err instanceof ConfigValidationError) console.log(err.issues.map((i) => i.path));
    if (isSealfigError(err)) {
      const e: SealfigError = err;
      console.log(e.code, e.file, e.line);
    }
  }
}
`;
}

/** A strict, current Node setup: nodenext resolution, @types/node, library .d.ts checked too. */
function tsConfig(): object {
  return {
    compilerOptions: {
      target: "ES2022",
      module: "nodenext",
      moduleResolution: "nodenext",
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: false,
      types: ["node"],
      noEmit: true,
    },
    files: ["consumer.ts"],
  };
}
