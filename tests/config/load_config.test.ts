import * as fs from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  DekCache,
  encryptValue,
  parseDocument,
  sealDocument,
  type StandardSchemaV1,
} from "../../document.ts";
import {
  ConfigValidationError,
  createLoader,
  loadConfig,
  loadConfigWithReport,
  redact,
  REDACTED,
  secretPaths,
} from "../../mod.ts";
import { envSealing } from "../../src/config/env_overrides.ts";
import { isSealfigError, type SealfigError } from "../../src/errors.ts";
import { renderings } from "../_helpers/leaks.ts";
import { makeTempDir, type TempDir } from "../_helpers/tmp_dir.ts";
import { CANARY, REALISTIC, testKey } from "../document/_fixture.ts";

async function expectCode(p: Promise<unknown>, code: string | string[]): Promise<SealfigError> {
  try {
    await p;
  } catch (err) {
    if (!isSealfigError(err)) throw err;
    expect(typeof code === "string" ? [code] : code).toContain(err.code);
    return err;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

let t: TempDir;
beforeEach(() => {
  t = makeTempDir();
});
afterEach(() => t.cleanup());

/** Seal a plaintext view and write it to the temp dir. */
async function writeSealed(
  name: string,
  plaintext: string,
  key: Awaited<ReturnType<typeof testKey>>,
  context: Record<string, string> = {},
  dekPolicy: "per-file" | "per-value" = "per-file",
): Promise<string> {
  const { document } = await sealDocument(parseDocument(plaintext), {
    provider: key.provider,
    keyId: key.keyId,
    context,
    dekPolicy,
  });
  return t.write(name, document.toString());
}

describe("loadConfig() layering", () => {
  it("merges files in order, then .env, then the environment (env wins)", async () => {
    const key = await testKey();
    t.write(
      "base.yaml",
      "db:\n  host: localhost\n  port: 5432\n  pool:\n    maxConnections: 5\n    min: 1\n" +
        "features: [a, b]\nname: base\nlevel: info\n",
    );
    await writeSealed(
      "prod.yaml",
      `db:\n  host: prod.db\n  password: !secret ${CANARY}\nfeatures: [c]\nlevel: warn\n`,
      key,
      { env: "prod" },
    );
    t.write(".env", "# local\nAPP_LEVEL=debug\nAPP_NAME=from-dotenv\nOTHER=ignored\n");
    const { config, report } = await loadConfigWithReport({
      files: ["base.yaml", { path: "prod.yaml", context: { env: "prod" } }],
      baseDir: t.dir,
      integrity: "off",
      providers: [key.provider],
      cache: new DekCache(),
      dotenv: true,
      env: {
        prefix: "APP_",
        vars: {
          APP_LEVEL: "error",
          APP_DB__PORT: "6543",
          APP_DB__POOL__MAX_CONNECTIONS: "20",
          APP_FEATURES__1: "d",
        },
      },
    });
    expect(config).toEqual({
      db: {
        host: "prod.db",
        port: 6543,
        password: CANARY,
        pool: { maxConnections: 20, min: 1 },
      },
      features: ["c", "d"],
      name: "from-dotenv",
      level: "error",
    });
    expect(report.valuesDecrypted).toBe(1);
    expect(report.files).toHaveLength(2);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen((config as { db: object }).db)).toBe(true);
    expect(Object.isFrozen((config as { features: object }).features)).toBe(true);
  });

  it("skips a missing optional file and fails on a missing required one", async () => {
    t.write("base.yaml", "a: 1\n");
    const config = await loadConfig({
      files: ["base.yaml", { path: "local.yaml", optional: true }],
      baseDir: t.dir,
      integrity: "off",
      providers: [],
    });
    expect(config).toEqual({ a: 1 });
    const err = await expectCode(
      loadConfig({
        files: ["base.yaml", "nope.yaml"],
        baseDir: t.dir,
        integrity: "off",
        providers: [],
      }),
      "FILE_NOT_FOUND",
    );
    expect(err.file).toBe(t.path("nope.yaml"));
  });

  it("decrypts env and .env overrides that are blobs sealed for their variable", async () => {
    const key = await testKey();
    t.write("base.yaml", "db:\n  password: placeholder\napi:\n  token: x\n");
    const forEnv = (name: string) => envSealing(name, { source: "env" });
    const envBlob = await encryptValue(CANARY, {
      provider: key.provider,
      keyId: key.keyId,
      ...forEnv("APP_DB__PASSWORD"),
    });
    const dotenvBlob = await encryptValue(4242, {
      provider: key.provider,
      keyId: key.keyId,
      ...forEnv("APP_API__PORT"),
    });
    t.write(".env.prod", `APP_API__PORT=${dotenvBlob}\n`);
    const config = await loadConfig({
      files: ["base.yaml"],
      baseDir: t.dir,
      integrity: "off",
      providers: [key.provider],
      cache: new DekCache(),
      dotenv: ".env.prod",
      env: { prefix: "APP_", vars: { APP_DB__PASSWORD: envBlob }, context: { source: "env" } },
    });
    expect(config).toEqual({ db: { password: CANARY }, api: { token: "x", port: 4242 } });
    expect(secretPaths(config).sort()).toEqual(["api.port", "db.password"]);

    // The same blob under another variable (another path) does not open.
    const err = await expectCode(
      loadConfig({
        files: ["base.yaml"],
        baseDir: t.dir,
        integrity: "off",
        providers: [key.provider],
        cache: new DekCache(),
        env: { prefix: "APP_", vars: { APP_API__TOKEN: envBlob }, context: { source: "env" } },
      }),
      "BLOB_AUTH_FAILED",
    );
    expect(err.message).toContain("APP_API__TOKEN");
    expect(err.hint).toContain("sealfig seal-env APP_API__TOKEN --context source=env");
    expect(err.path).toBe("api.token");
    // The command a hint gives runs as given: every word shell-quoted, and none at all for a name
    // seal-env cannot take (process environments allow any printable name after the prefix) or a
    // context key with `=` (`--context K=V` splits at the first one).
    const hostile = (vars: Record<string, string>, context: Record<string, string>) =>
      expectCode(
        loadConfig({
          files: ["base.yaml"],
          baseDir: t.dir,
          integrity: "off",
          providers: [key.provider],
          cache: new DekCache(),
          env: { prefix: "APP_", vars, context },
        }),
        ["BLOB_AUTH_FAILED", "DEK_UNWRAP_FAILED"],
      );
    expect((await hostile({ APP_API__TOKEN: envBlob }, { "a b": "c'd" })).hint).toContain(
      `sealfig seal-env APP_API__TOKEN --context 'a b=c'\\''d'`,
    );
    for (
      const [vars, context] of [
        [{ "APP_X$(touch)": envBlob }, {}],
        [{ APP_API__TOKEN: envBlob }, { "k=v": "z" }],
      ] as const
    ) {
      const hint = (await hostile(vars, context)).hint!;
      expect(hint).toContain("must be sealed for its variable and the loader's env.context (");
      expect(hint).not.toContain("sealfig seal-env");
    }
    expect(renderings(err)).not.toContain(CANARY);
  });

  it("a blob from a file never opens from the environment, nor one sealed for the env in a file", async () => {
    const key = await testKey();
    // The file's blob for db.password, replayed through APP_DB__PASSWORD with the same context.
    const file = await writeSealed(
      "prod.yaml",
      `db:\n  password: !secret ${CANARY}\n  host: h\n`,
      key,
      { env: "prod" },
    );
    const fileBlob = parseDocument(fs.readFileSync(file, "utf8")).get("db.password")!.value;
    const load = (vars: Record<string, string>, context: Record<string, string>) =>
      loadConfig({
        files: [{ path: "prod.yaml", context: { env: "prod" } }],
        baseDir: t.dir,
        integrity: "off",
        providers: [key.provider],
        cache: new DekCache(),
        env: { prefix: "APP_", vars, context },
      });
    const err = await expectCode(
      load({ APP_DB__PASSWORD: String(fileBlob) }, { env: "prod" }),
      ["DEK_UNWRAP_FAILED", "BLOB_AUTH_FAILED"], // the data key is bound to the context too
    );
    expect(err.path).toBe("db.password");
    expect(err.message).toContain("APP_DB__PASSWORD");
    expect(err.hint).toContain("sealfig seal-env APP_DB__PASSWORD --context env=prod");
    // A blob sealed for the env at the file's path and context does not open in the file either.
    const envBlob = await encryptValue("other", {
      provider: key.provider,
      keyId: key.keyId,
      ...envSealing("APP_DB__PASSWORD", { env: "prod" }),
    });
    expect(await load({ APP_DB__PASSWORD: envBlob }, { env: "prod" })).toMatchObject({
      db: { password: "other" },
    });
    t.write("moved.yaml", `db:\n  password: ${envBlob}\n`);
    await expectCode(
      loadConfig({
        files: [{ path: "moved.yaml", context: { env: "prod" } }],
        baseDir: t.dir,
        integrity: "off",
        providers: [key.provider],
        cache: new DekCache(),
      }),
      ["DEK_UNWRAP_FAILED", "BLOB_AUTH_FAILED"],
    );
    // A file context may not claim the reserved key.
    await expectCode(
      loadConfig({
        files: [{ path: "moved.yaml", context: { "sealfig:source": "env" } }],
        baseDir: t.dir,
        integrity: "off",
        providers: [key.provider],
      }),
      "OPTION_INVALID",
    );
  });

  it("a plaintext variable over a sealed value is refused by default; allowed, it is reported", async () => {
    const key = await testKey();
    await writeSealed("prod.yaml", `db:\n  password: !secret ${CANARY}\n  host: h\n`, key);
    t.write(".env", "APP_DB__PASSWORD=from-dotenv\n");
    const options = {
      files: ["prod.yaml"],
      baseDir: t.dir,
      integrity: "off" as const,
      providers: [key.provider],
      cache: new DekCache(),
    };
    const err = await expectCode(
      loadConfig({ ...options, env: { prefix: "APP_", vars: { APP_DB__PASSWORD: "plain" } } }),
      "ENV_SEALED_OVERRIDE",
    );
    expect(err.path).toBe("db.password");
    expect(err.message).toContain("APP_DB__PASSWORD");
    const fromDotenv = await expectCode(
      loadConfig({ ...options, dotenv: true, env: { prefix: "APP_", vars: {} } }),
      "ENV_SEALED_OVERRIDE",
    );
    expect(fromDotenv.file).toBe(t.path(".env"));
    expect(fromDotenv.line).toBe(1);
    // Plain values are overridden as before, and nothing is reported.
    const plainOnly = await loadConfigWithReport({
      ...options,
      env: { prefix: "APP_", vars: { APP_DB__HOST: "h2" } },
    });
    expect(plainOnly.report.sealedOverridden).toEqual([]);
    const allowed = await loadConfigWithReport({
      ...options,
      env: {
        prefix: "APP_",
        vars: { APP_DB__PASSWORD: "plain" },
        plaintextOverSealed: "allow",
      },
    });
    expect(allowed.config).toMatchObject({ db: { password: "plain" } });
    expect(allowed.report.sealedOverridden).toEqual(["db.password"]);
    expect(renderings(err)).not.toContain(CANARY);
  });

  it("maps env names case- and separator-insensitively, and refuses ambiguous names", async () => {
    t.write("base.yaml", "maxConnections: 1\nmax_connections: 2\nservers:\n  - host: a\n");
    const config = await loadConfig({
      files: ["base.yaml"],
      baseDir: t.dir,
      integrity: "off",
      providers: [],
      env: { prefix: "APP_", vars: { APP_SERVERS__0__HOST: "b", APP_NEW_KEY: "v" } },
    });
    expect(config).toMatchObject({ servers: [{ host: "b" }], new_key: "v" });
    const err = await expectCode(
      loadConfig({
        files: ["base.yaml"],
        baseDir: t.dir,
        integrity: "off",
        providers: [],
        env: { prefix: "APP_", vars: { APP_MAX_CONNECTIONS: "3" } },
      }),
      "ENV_INVALID",
    );
    expect(err.message).toContain("maxConnections, max_connections");
  });

  it("a blob moved into a file with another context fails naming file, path and reason", async () => {
    const key = await testKey();
    const sealed = await writeSealed("prod.yaml", "db:\n  password: !secret x\n", key, {
      env: "prod",
    });
    fs.copyFileSync(sealed, t.path("staging.yaml"));
    const err = await expectCode(
      loadConfig({
        files: [{ path: "staging.yaml", context: { env: "staging" } }],
        baseDir: t.dir,
        integrity: "off",
        providers: [key.provider],
        cache: new DekCache(),
      }),
      "DEK_UNWRAP_FAILED",
    );
    expect(err.file).toBe(t.path("staging.yaml"));
    expect(err.path).toBe("db.password");
    expect(err.line).toBe(2);
    expect(err.message).toMatch(/another encryption context/);
  });

  it("refuses an unsealed !secret value with SECRET_UNSEALED", async () => {
    t.write("plain.yaml", `db:\n  password: !secret ${CANARY}\n`);
    const err = await expectCode(
      loadConfig({ files: ["plain.yaml"], baseDir: t.dir, integrity: "off", providers: [] }),
      "SECRET_UNSEALED",
    );
    expect(err.line).toBe(2);
    expect(renderings(err)).not.toContain(CANARY);
  });
});

describe("loadConfig() validation", () => {
  const Schema = z.object({
    db: z.object({
      host: z.string(),
      port: z.number().int(),
      password: z.string().min(100),
      user: z.string(),
    }),
    level: z.enum(["debug", "info"]),
  });

  it("lists every issue with path and origin, never the values", async () => {
    const key = await testKey();
    t.write("base.yaml", "db:\n  host: 42\n  port: not-a-port\nlevel: verbose-9f3e\n");
    await writeSealed("prod.yaml", `db:\n  password: !secret ${CANARY}\n`, key);
    let caught: unknown;
    try {
      await loadConfig({
        files: ["base.yaml", "prod.yaml"],
        baseDir: t.dir,
        integrity: "off",
        providers: [key.provider],
        cache: new DekCache(),
        schema: Schema,
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigValidationError);
    const err = caught as ConfigValidationError;
    expect(err.code).toBe("CONFIG_INVALID");
    const byPath = new Map(err.issues.map((i) => [i.path, i]));
    expect([...byPath.keys()].sort()).toEqual(
      ["db.host", "db.password", "db.port", "db.user", "level"],
    );
    expect(byPath.get("db.host")?.origin).toBe(`${t.path("base.yaml")}:2:9`);
    expect(byPath.get("db.port")?.origin).toBe(`${t.path("base.yaml")}:3:9`);
    expect(byPath.get("db.password")?.origin).toBe(`${t.path("prod.yaml")}:2:13`);
    expect(byPath.get("db.user")?.missing).toBe(true);
    for (const p of ["db.host", "db.port", "db.password", "db.user", "level"]) {
      expect(err.message).toContain(p);
    }
    const all = renderings(err);
    expect(all).not.toContain(CANARY);
    expect(all).not.toContain("not-a-port");
    expect(all).not.toContain("verbose-9f3e");
  });

  it("accepts any Standard Schema validator (sync or async) and shows values only on opt-in", async () => {
    t.write("base.yaml", "port: eighty\n");
    const quoting: StandardSchemaV1<unknown, { port: number }> = {
      "~standard": {
        version: 1,
        vendor: "hand-made",
        validate: (value) =>
          Promise.resolve(
            typeof (value as { port: unknown }).port === "number"
              ? { value: value as { port: number } }
              : {
                issues: [{
                  message: `Expected number but received "${(value as { port: string }).port}"`,
                  path: [{ key: "port" }],
                }],
              },
          ),
      },
    };
    const hidden = await loadConfig({
      files: ["base.yaml"],
      baseDir: t.dir,
      integrity: "off",
      schema: quoting,
    })
      .then(() => undefined, (e: unknown) => e as ConfigValidationError);
    expect(hidden?.issues[0]?.message).toBe("Expected number but received <redacted>");
    expect(hidden?.issues[0]?.origin).toBe(`${t.path("base.yaml")}:1:7`);
    const shown = await loadConfig({
      files: ["base.yaml"],
      baseDir: t.dir,
      integrity: "off",
      schema: quoting,
      showValuesInErrors: true,
    }).then(() => undefined, (e: unknown) => e as ConfigValidationError);
    expect(shown?.issues[0]?.message).toContain('"eighty"');

    t.write("ok.yaml", "port: 80\n");
    const ok = await loadConfig({
      files: ["ok.yaml"],
      baseDir: t.dir,
      integrity: "off",
      schema: quoting,
    });
    expect(ok.port).toBe(80);
  });

  it("returns the schema's typed output, deeply frozen", async () => {
    t.write("base.yaml", "db:\n  host: h\n  port: 1\n  password: pw\n");
    const config = await loadConfig({
      files: ["base.yaml"],
      baseDir: t.dir,
      integrity: "off",
      schema: z.object({ db: z.object({ host: z.string(), port: z.number() }) }),
    });
    const port: number = config.db.port;
    expect(port).toBe(1);
    expect(Object.isFrozen(config.db)).toBe(true);
    expect(() => {
      (config.db as { port: number }).port = 2;
    }).toThrow(TypeError);
  });
});

describe("redact()", () => {
  it("masks every sealed value wherever merging, aliases or the schema put it", async () => {
    const key = await testKey();
    t.write("base.yaml", "db:\n  host: h\n");
    await writeSealed(
      "prod.yaml",
      `db:\n  password: &pw !secret ${CANARY}\ncopy: *pw\nport: !secret 5432\n`,
      key,
    );
    const schema = z.object({
      db: z.object({ host: z.string(), password: z.string() }),
      copy: z.string(),
      port: z.number(),
    }).transform((c) => ({ ...c, dsn: `postgres://app:${c.db.password}@${c.db.host}` }));
    const config = await loadConfig({
      files: ["base.yaml", "prod.yaml"],
      baseDir: t.dir,
      integrity: "off",
      providers: [key.provider],
      cache: new DekCache(),
      schema,
    });
    expect(config.db.password).toBe(CANARY);
    const safe = redact(config);
    expect(safe).toEqual({
      db: { host: "h", password: REDACTED },
      copy: REDACTED,
      port: REDACTED,
      dsn: `postgres://app:${REDACTED}@h`,
    });
    expect(renderings(safe)).not.toContain(CANARY);
    expect(redact(config.db)).toEqual({ host: "h", password: REDACTED });
    expect(() => redact({ a: 1 })).toThrow(TypeError);
  });
});

describe("loadConfig() decryption budget", () => {
  const secrets = Array.from({ length: 1000 }, (_, i) => `k${i}: !secret value-${i}\n`).join("");

  it("1,000 values sealed in one operation (256 per data key) take ⌈1000/256⌉ = 4 provider calls; a second load none", async () => {
    const key = await testKey();
    await writeSealed("many.yaml", secrets, key);
    const loader = createLoader({
      files: ["many.yaml"],
      baseDir: t.dir,
      integrity: "off",
      providers: [key.counting],
      concurrency: 16,
    });
    const first = await loader.loadWithReport();
    expect(first.report.valuesDecrypted).toBe(1000);
    expect(first.report.dataKeys).toBe(4);
    expect(first.report.providerCalls).toBe(4);
    expect(key.counting.decryptCalls).toBe(4);
    expect((first.config as Record<string, unknown>)["k999"]).toBe("value-999");
    const second = await loader.loadWithReport();
    expect(second.report.providerCalls).toBe(0);
    expect(key.counting.decryptCalls).toBe(4);
    expect(loader.stats().providerCalls).toBe(4);
  });

  it("with one data key per value: 1,000 provider calls, never more in flight than the concurrency", async () => {
    const key = await testKey();
    await writeSealed("many.yaml", secrets, key, {}, "per-value");
    const { report } = await loadConfigWithReport({
      files: ["many.yaml"],
      baseDir: t.dir,
      integrity: "off",
      providers: [key.counting],
      cache: new DekCache({ maxEntries: 2000 }),
      concurrency: 8,
    });
    expect(report.providerCalls).toBe(1000);
    expect(key.counting.decryptCalls).toBe(1000);
    expect(key.counting.maxInFlight).toBeLessThanOrEqual(8);
    expect(key.counting.maxInFlight).toBeGreaterThan(1);
  });

  it("the default shared cache serves a second loadConfig() without provider calls", async () => {
    const key = await testKey();
    await writeSealed("one.yaml", "a: !secret x\n", key);
    const opts = {
      files: ["one.yaml"],
      baseDir: t.dir,
      integrity: "off" as const,
      providers: [key.counting],
    };
    await loadConfig(opts);
    const { report } = await loadConfigWithReport(opts);
    expect(report.providerCalls).toBe(0);
    expect(key.counting.decryptCalls).toBe(1);
  });
});

describe("loadConfig() hostile input", () => {
  it("billion laughs: YAML_ALIAS_LIMIT", async () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(",")}]`);
    }
    t.write("laughs.yaml", lines.join("\n") + "\n");
    const err = await expectCode(
      loadConfig({ files: ["laughs.yaml"], baseDir: t.dir, integrity: "off", providers: [] }),
      "YAML_ALIAS_LIMIT",
    );
    expect(err.file).toBe(t.path("laughs.yaml"));
  });

  it("a 50 MB file: FILE_TOO_LARGE from its size, before reading it", async () => {
    const fd = fs.openSync(t.path("huge.yaml"), "w");
    fs.ftruncateSync(fd, 50 * 1024 * 1024);
    fs.closeSync(fd);
    const err = await expectCode(
      loadConfig({ files: ["huge.yaml"], baseDir: t.dir, integrity: "off", providers: [] }),
      "FILE_TOO_LARGE",
    );
    expect(err.message).toContain("huge.yaml");
    expect(err.message).toContain(String(10 * 1024 * 1024));
  });

  it("duplicate keys: YAML_DUPLICATE_KEY at file:line:col", async () => {
    t.write("dup.yaml", "db:\n  host: a\n  host: b\n");
    const err = await expectCode(
      loadConfig({ files: ["dup.yaml"], baseDir: t.dir, integrity: "off", providers: [] }),
      "YAML_DUPLICATE_KEY",
    );
    expect(err.message).toContain(`${t.path("dup.yaml")}:3:3`);
  });

  it("tab indentation: YAML_SYNTAX at file:line:col", async () => {
    t.write("tabs.yaml", "db:\n\thost: a\n");
    const err = await expectCode(
      loadConfig({ files: ["tabs.yaml"], baseDir: t.dir, integrity: "off", providers: [] }),
      "YAML_SYNTAX",
    );
    expect([err.line, err.col]).toEqual([2, 1]);
  });

  it("a truncated blob: BLOB_MALFORMED naming file, line and path", async () => {
    const key = await testKey();
    const file = await writeSealed("cut.yaml", "x: 1\ndb:\n  password: !secret hunter2\n", key);
    const text = fs.readFileSync(file, "utf8");
    const cut = text.replace(/(sealfig:v1:[A-Za-z0-9_-]{40})[A-Za-z0-9_-]+/, "$1");
    fs.writeFileSync(file, cut);
    const err = await expectCode(
      loadConfig({
        files: ["cut.yaml"],
        baseDir: t.dir,
        integrity: "off",
        providers: [key.provider],
      }),
      "BLOB_MALFORMED",
    );
    expect(err.file).toBe(file);
    expect(err.path).toBe("db.password");
    expect(err.line).toBe(3);
  });

  it("a realistic file with merge keys and aliases loads", async () => {
    const key = await testKey();
    await writeSealed("real.yaml", REALISTIC, key);
    const config = await loadConfig({
      files: ["real.yaml"],
      baseDir: t.dir,
      integrity: "off",
      providers: [key.provider],
      cache: new DekCache(),
    }) as Record<string, Record<string, unknown>>;
    expect(config["db"]).toMatchObject({ timeout_ms: 2500, retries: 3, password: CANARY });
    expect((config["servers"] as unknown as { token: string }[])[1]?.token).toBe(
      "whsec_0123456789",
    );
    expect(redact(config).servers).toEqual([
      { name: "eu-1", weight: 0.5, token: REDACTED },
      { name: "us-1", weight: 1500, token: REDACTED },
      { name: "ap-1", token: REDACTED },
    ]);
  });
});
