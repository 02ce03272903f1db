/**
 * The consumer scenario: what an app and its developers do with sealfig, run against the installed
 * npm package under Node (tests/consumer/run.ts copies this file into a fresh project) and against
 * mod.ts under Deno (tests/consumer/deno_app.ts). Plain JavaScript on purpose: it is the code a
 * consumer writes, and it must not need a build step or the repository's sources.
 *
 * The caller passes the library's entry points and zod in (`sealfig`, `sealfig/document`,
 * `sealfig/kms-server`, imported by their public names), and how to start the `sealfig` command,
 * the `sealfig/cli` entry point and the runtime itself. Each check prints `ok - name` or `not ok - name: reason`; the last line is
 * `# N passed, M failed`, which the runner counts.
 *
 * @module
 */
// @ts-self-types="./scenario.d.mts"
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

const PLAIN_VIEW = `# config for the consumer scenario
server:
  host: 0.0.0.0
  port: !secret 8080
db:
  host: db.internal
  password: !secret "hunter2 with 'quotes' and spaces"
  cert: !secret |
    -----BEGIN CERTIFICATE-----
    MIIB
    -----END CERTIFICATE-----
`;

/**
 * Run every check in a fresh directory.
 *
 * @param {object} deps
 * @param {Record<string, any>} deps.sealfig the app entry point `.` (npm package or mod.ts)
 * @param {Record<string, any>} deps.document the `./document` entry point
 * @param {Record<string, any>} deps.kmsServer the `./kms-server` entry point
 * @param {any} deps.z zod's `z`
 * @param {string} deps.dir an empty directory to work in
 * @param {string[]} deps.cli argv prefix that runs the `sealfig` command
 * @param {string[]} deps.cliEntry argv prefix that imports the `./cli` entry point (and so runs it)
 * @param {(code: string) => string[]} deps.evalCommand argv that runs JS code in this runtime
 * @returns {Promise<{ passed: number, failed: number }>}
 */
export async function runScenario(
  { sealfig, document, kmsServer, z, dir, cli, cliEntry, evalCommand },
) {
  let passed = 0;
  let failed = 0;
  async function check(name, fn) {
    try {
      await fn();
      passed++;
      console.log(`ok - ${name}`);
    } catch (err) {
      failed++;
      console.log(`not ok - ${name}: ${String(err?.message ?? err).split("\n").join("\n  ")}`);
    }
  }

  const keyFile = join(dir, "secrets", "keys");
  mkdirSync(join(dir, "secrets"), { recursive: true });
  mkdirSync(join(dir, "config"), { recursive: true });
  // The app's own environment names the key file, as a deployment would; loadConfig's default
  // providers read it on first use.
  process.env.SEALFIG_KEY_FILE = keyFile;
  delete process.env.SEALFIG_KEY;
  const env = { ...process.env, NO_COLOR: "1" };
  const sealfigCmd = (args, options = {}) => run([...cli, ...args], { env, ...options });
  const file = join(dir, "config", "app.yaml");
  let keyId = "";

  const Schema = z.object({
    server: z.object({ host: z.string(), port: z.number().int().min(1).max(65535) }),
    db: z.object({ host: z.string(), password: z.string().min(8), cert: z.string() }),
  });

  await check("sealfig --help lists the commands and exit codes", () => {
    const r = sealfigCmd(["--help"]);
    expectExit(r, 0);
    for (const c of ["keygen", "encrypt", "decrypt", "edit", "set", "check", "run", "textconv"]) {
      assert(r.stdout.includes(`  ${c} `), `--help does not list ${c}`);
    }
    assert(r.stdout.includes("Exit codes:"), "--help does not show the exit codes");
  });

  await check("the ./cli entry point runs the command (--version)", () => {
    const r = run([...cliEntry, "--version"], { env });
    expectExit(r, 0);
    assert(
      /^sealfig \d+\.\d+\.\d+$/.test(r.stdout.trim()),
      `--version printed ${JSON.stringify(r.stdout)}`,
    );
  });

  await check("each entry point exports what it is for, and '.' only the app's names", () => {
    for (
      const n of ["loadConfig", "createLoader", "redact", "LocalKeyProvider", "KmsKeyProvider"]
    ) {
      assert(typeof sealfig[n] === "function", `'.' lacks ${n}`);
    }
    for (const n of ["parseDocument", "sealDocument", "Sealer", "encryptValue", "stampDocument"]) {
      assert(typeof document[n] === "function", `./document lacks ${n}`);
    }
    assert(typeof kmsServer.startKmsServer === "function", "./kms-server lacks startKmsServer");
    for (
      const n of ["startKmsServer", "parseDocument", "sealDocument", "kmsSdkLoadCount", "macInput"]
    ) {
      assert(!(n in sealfig), `'.' exports ${n}`);
    }
    assert(Object.keys(sealfig).length <= 30, `'.' has ${Object.keys(sealfig).length} values`);
    // One module graph: the error class '.' exports is the one ./document's errors are made of.
    let err;
    try {
      document.parseBlob("not a blob");
    } catch (e) {
      err = e;
    }
    assert(err instanceof sealfig.SealfigError, "./document's error is not '.'s SealfigError");
  });

  await check("sealfig keygen writes a 0600 key file and prints the key id", () => {
    const r = sealfigCmd(["keygen"]);
    expectExit(r, 0);
    keyId = r.stdout.trim();
    assert(/^lk_[0-9a-f]{16}$/.test(keyId), `unexpected key id ${JSON.stringify(keyId)}`);
    assert((statSync(keyFile).mode & 0o777) === 0o600, "key file is not 0600");
  });

  await check("sealfig init writes .sealfig.yaml with the key and context", () => {
    const r = sealfigCmd(["init", "--key", `local:${keyId}`, "--context", "app=shop"], {
      cwd: dir,
    });
    expectExit(r, 0);
    const rules = readFileSync(join(dir, ".sealfig.yaml"), "utf8");
    assert(rules.includes(keyId), "rules file does not name the key");
  });

  await check("sealfig encrypt -i seals every !secret value in place", () => {
    writeFileSync(file, PLAIN_VIEW);
    const r = sealfigCmd(["encrypt", "-i", "config/app.yaml"], { cwd: dir });
    expectExit(r, 0);
    const sealed = readFileSync(file, "utf8");
    assert((sealed.match(/sealfig:v1:/g) ?? []).length === 3, "expected 3 blobs");
    for (const plain of ["hunter2", "8080", "MIIB"]) {
      assert(!sealed.includes(plain), `sealed file still contains ${plain}`);
    }
    assert(sealed.includes("host: db.internal"), "plain values must stay");
    assert(sealed.startsWith("# config for the consumer scenario"), "comment lost");
  });

  await check("sealfig decrypt prints the plaintext view with !secret tags", () => {
    const r = sealfigCmd(["decrypt", "config/app.yaml"], { cwd: dir });
    expectExit(r, 0);
    assert(r.stdout.includes("port: !secret 8080"), "port not in the plaintext view");
    assert(r.stdout.includes("hunter2 with 'quotes' and spaces"), "password not shown");
  });

  await check("sealfig check passes on the sealed file, fails (6) on a plaintext password", () => {
    expectExit(sealfigCmd(["check", "config/app.yaml"], { cwd: dir }), 0);
    writeFileSync(join(dir, "config", "leak.yaml"), "db:\n  password: not-sealed\n");
    expectExit(sealfigCmd(["check", "config/leak.yaml"], { cwd: dir }), 6);
  });

  await check("sealfig run exports the config to a child intact and forwards its exit code", () => {
    const code = "const e = process.env; process.stdout.write(JSON.stringify(" +
      "[e.DB__PASSWORD, e.DB__CERT, e.SERVER__PORT, e.DB__HOST])); process.exit(3);";
    const r = sealfigCmd(["run", "-f", "config/app.yaml", "--", ...evalCommand(code)], {
      cwd: dir,
    });
    expectExit(r, 3);
    const [password, cert, port, host] = JSON.parse(r.stdout);
    assert(password === "hunter2 with 'quotes' and spaces", `password: ${password}`);
    assert(cert === "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "cert");
    assert(port === "8080" && host === "db.internal", `port ${port}, host ${host}`);
  });

  await check("sealfig decrypt without the key exits 5 and names the key", () => {
    const other = join(dir, "secrets", "empty-keys");
    writeFileSync(other, "");
    chmodSync(other, 0o600);
    const r = run([...cli, "decrypt", "config/app.yaml"], {
      cwd: dir,
      env: { ...env, SEALFIG_KEY_FILE: other },
    });
    expectExit(r, 5);
    assert(r.stderr.includes(keyId), "error does not name the missing key");
    assert(!r.stderr.includes("hunter2"), "error leaks the secret");
  });

  await check("a blob moved to another path does not decrypt (exit 4)", () => {
    const sealed = readFileSync(file, "utf8");
    const blobs = sealed.match(/sealfig:v1:[A-Za-z0-9_-]+/g) ?? [];
    // swap the password's and the certificate's blobs
    const swapped = sealed.replace(blobs[1], "@@").replace(blobs[2], blobs[1]).replace(
      "@@",
      blobs[2],
    );
    writeFileSync(join(dir, "config", "swapped.yaml"), swapped);
    const r = sealfigCmd(["decrypt", "config/swapped.yaml"], { cwd: dir });
    expectExit(r, 4);
    assert(!r.stderr.includes("hunter2") && !r.stdout.includes("hunter2"), "secret leaked");
  });

  let config;
  await check("loadConfig opens the sealed file and validates it with zod", async () => {
    config = await sealfig.loadConfig({
      baseDir: dir,
      files: ["config/app.yaml"],
      context: { app: "shop" },
      schema: Schema,
    });
    assert(config.server.port === 8080, `port is ${JSON.stringify(config.server.port)}`);
    assert(config.db.password === "hunter2 with 'quotes' and spaces", "password differs");
    assert(config.db.cert.split("\n").length === 4, "multi-line cert not intact");
    assert(Object.isFrozen(config) && Object.isFrozen(config.db), "config is not frozen");
  });

  await check("redact() masks every sealed value, secretPaths() lists them", () => {
    const text = JSON.stringify(sealfig.redact(config));
    assert(!text.includes("hunter2") && !text.includes("MIIB"), "redacted copy leaks");
    assert(text.includes(sealfig.REDACTED) && text.includes("db.internal"), text);
    const paths = sealfig.secretPaths(config).sort();
    assert(paths.join() === "db.cert,db.password,server.port", paths.join());
  });

  await check("loadConfig applies prefixed environment overrides", async () => {
    const c = await sealfig.loadConfig({
      baseDir: dir,
      files: ["config/app.yaml"],
      context: { app: "shop" },
      schema: Schema,
      env: {
        prefix: "APP_",
        vars: { APP_SERVER__PORT: "9090", OTHER: "x" },
        plaintextOverSealed: "allow",
      },
    });
    assert(c.server.port === 9090, `port is ${c.server.port}`);
    // server.port is sealed in the file: by default a plaintext variable may not replace it.
    let code;
    try {
      await sealfig.loadConfig({
        baseDir: dir,
        files: ["config/app.yaml"],
        context: { app: "shop" },
        env: { prefix: "APP_", vars: { APP_SERVER__PORT: "9090" } },
      });
    } catch (err) {
      code = err.code;
    }
    assert(code === "ENV_SEALED_OVERRIDE", `plaintext over a sealed value: ${code}`);
  });

  await check("loadConfig rejects a config that fails the schema, without values", async () => {
    const strict = Schema.extend({ db: Schema.shape.db.extend({ password: z.string().max(4) }) });
    const err = await rejects(() =>
      sealfig.loadConfig({
        baseDir: dir,
        files: ["config/app.yaml"],
        context: { app: "shop" },
        schema: strict,
      })
    );
    assert(err instanceof sealfig.ConfigValidationError, `got ${err?.name}`);
    assert(err.code === "CONFIG_INVALID", err.code);
    assert(err.issues.some((i) => i.path === "db.password"), "issue path missing");
    assert(!err.message.includes("hunter2"), "message leaks the secret");
  });

  await check("loadConfig with another encryption context fails with a typed error", async () => {
    const err = await rejects(() =>
      sealfig.loadConfig({ baseDir: dir, files: ["config/app.yaml"], context: { app: "x" } })
    );
    assert(sealfig.isSealfigError(err), `not a SealfigError: ${err}`);
    // Reported as what it is, with the context that was used (never as a changed file).
    assert(err.code === "CONTEXT_MISMATCH", err.code);
    assert(err.message.includes('{ app: "x" }'), err.message);
    assert(!`${err.message} ${err.hint}`.includes("stamp --force"), "advises stamp --force");
    assert(err.file?.endsWith("app.yaml"), "the error does not name the file");
  });

  await check("createLoader reloads from its data key cache without provider calls", async () => {
    const loader = sealfig.createLoader({
      baseDir: dir,
      files: ["config/app.yaml"],
      context: { app: "shop" },
      schema: Schema,
    });
    const first = await loader.loadWithReport();
    const second = await loader.loadWithReport();
    assert(first.report.providerCalls >= 1, `first load: ${first.report.providerCalls} calls`);
    assert(second.report.providerCalls === 0, `reload: ${second.report.providerCalls} calls`);
    assert(second.config.db.password === config.db.password, "reload differs");
    loader.clear();
  });

  await check(
    "encryptValue/decryptValue (./document) round-trip with a LocalKeyProvider",
    async () => {
      const { id, key } = await sealfig.LocalKeyProvider.generateKey();
      const provider = new sealfig.LocalKeyProvider({ keys: [key] });
      const context = { app: "shop" };
      const blob = await document.encryptValue("s3cr3t\nline 2", {
        provider,
        keyId: id,
        path: "api.token",
        context,
      });
      assert(document.isBlob(blob) && blob.startsWith(document.BLOB_PREFIX), "not a blob");
      const value = await document.decryptValue(blob, {
        providers: [provider],
        path: "api.token",
        context,
        cache: new document.DekCache({ maxEntries: 4 }),
      });
      assert(value === "s3cr3t\nline 2", "round trip differs");
      const moved = await rejects(() =>
        document.decryptValue(blob, { providers: [provider], path: "api.other", context })
      );
      assert(moved?.code === "BLOB_AUTH_FAILED", `moved blob: ${moved?.code}`);
    },
  );

  await check(
    "./kms-server + ./document + '.': seal under the local KMS, loadConfig opens it",
    async () => {
      const server = await kmsServer.startKmsServer();
      try {
        const key = await server.createKey();
        const kms = new sealfig.KmsKeyProvider({
          endpoint: server.endpoint,
          region: server.region,
          credentials: { accessKeyId: "AKIDCONSUMER", secretAccessKey: "x" },
        });
        const context = { app: "shop" };
        const plain = document.parseDocument("api:\n  token: !secret kms-sealed\n");
        const { document: sealed } = await document.sealDocument(plain, {
          provider: kms,
          keyId: key.arn,
          context,
        });
        const { document: stamped } = await document.stampDocument(sealed, {
          provider: kms,
          keyId: key.arn,
          context,
          generation: 1,
        });
        writeFileSync(join(dir, "config", "kms.yaml"), stamped.toString());
        const loaded = await sealfig.loadConfig({
          baseDir: dir,
          files: ["config/kms.yaml"],
          context,
          providers: [kms],
          trustedKeys: [key.arn],
          rules: false,
        });
        assert(loaded.api.token === "kms-sealed", `token: ${JSON.stringify(loaded.api.token)}`);
        assert(server.stats.count("Decrypt") >= 1, "no KMS Decrypt call");
        kms.destroy();
      } finally {
        await server.close();
      }
    },
  );

  console.log(`# ${passed} passed, ${failed} failed`);
  return { passed, failed };
}

function run(argv, options) {
  const r = spawnSync(argv[0], argv.slice(1), {
    encoding: "utf8",
    timeout: 60_000,
    ...options,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

function expectExit(r, code) {
  if (r.status !== code) {
    throw new Error(`exit ${r.status}, expected ${code}; stderr: ${r.stderr.trim().slice(0, 500)}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function rejects(fn) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}
