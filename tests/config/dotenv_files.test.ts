/**
 * `.env` files in the loader (issue 18): a sealed `.env` in `files` loads as a flat map of its
 * variables; the same file works as the dotenv layer (its blobs are bound to the variable and to
 * `sealfig:source=env`, like seal-env's); its integrity record is verified in both places; blobs
 * do not move between `.env` and YAML files; errors carry file:line:col.
 */
import { afterAll, describe, expect, it } from "vitest";
import { parseDocument, sealDocument, stampDocument } from "../../document.ts";
import { isSealfigError, loadConfig, LocalKeyProvider } from "../../mod.ts";
import { envSealing } from "../../src/config/env_overrides.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const t = makeTempDir("sealfig-dotenv-files-");
afterAll(() => t.cleanup());

const { id, key } = await LocalKeyProvider.generateKey();
const provider = new LocalKeyProvider({ keys: [key] });
const trustedKeys = [`local:${id}`];
const CONTEXT = { app: "shop" };

async function sealEnv(text: string, file: string, names: string[]): Promise<string> {
  const context = envSealing("", CONTEXT).context;
  const doc = parseDocument(text, { file });
  const sealed = await sealDocument(doc, {
    provider,
    keyId: id,
    context,
    select: (v) => names.includes(String(v.path[0])),
  });
  return (await stampDocument(sealed.document, { provider, keyId: id, context, generation: 1 }))
    .document.toString();
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isSealfigError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("expected a refusal");
}

const ENV = [
  "# shop, production",
  "export APP_DB__HOST=db.internal",
  "APP_DB__PASSWORD='hunter 2'",
  'APP_TLS__KEY="line1',
  'line2"',
  "",
].join("\n");

describe(".env files in the loader", () => {
  it("a sealed .env in files loads as its variables, record verified", async () => {
    const file = t.write(
      "deploy/.env.production",
      await sealEnv(ENV, ".env", ["APP_DB__PASSWORD"]),
    );
    const config = await loadConfig({
      files: [file],
      providers: [provider],
      trustedKeys,
      context: CONTEXT,
    });
    expect(config).toEqual({
      APP_DB__HOST: "db.internal",
      APP_DB__PASSWORD: "hunter 2",
      APP_TLS__KEY: "line1\nline2",
    });
  });

  it("the same sealed .env is the dotenv layer, its record verified; a changed plain value fails", async () => {
    const sealed = await sealEnv(ENV, ".env", ["APP_DB__PASSWORD", "APP_TLS__KEY"]);
    const yaml = t.write("layer/app.yaml", "db:\n  host: yaml-host\n  port: 5432\n");
    const dotenv = t.write("layer/.env", sealed);
    const load = () =>
      loadConfig({
        files: [yaml],
        dotenv,
        env: { prefix: "APP_", vars: {}, context: CONTEXT },
        providers: [provider],
        trustedKeys,
        context: CONTEXT,
      });
    expect(await load()).toEqual({
      db: { host: "db.internal", port: 5432, password: "hunter 2" },
      tls: { key: "line1\nline2" },
    });
    // Without env.context the .env's record does not open: the error says the context came from
    // env.context (its default), not from the files' context option or a rules file.
    const noEnvContext = await refusal(
      loadConfig({
        files: [yaml],
        dotenv,
        env: { prefix: "APP_", vars: {} },
        providers: [provider],
        trustedKeys,
        context: CONTEXT,
      }),
    );
    expect(noEnvContext.code).toBe("CONTEXT_MISMATCH");
    expect(noEnvContext.message).toContain("the context came from the loader's env.context option");
    // No rules file: the rule's context is {} too, so "set env.context to {}" would be circular.
    expect(noEnvContext.message).not.toContain("set env.context to");
    // A rule that gives the .env a context: the advice names it.
    const rules = t.write(
      "layer/rules.yaml",
      `rules:\n  - files: '\\.env$'\n    key: local:${id}\n    context: { app: shop }\n`,
    );
    const withRule = await refusal(
      loadConfig({
        files: [yaml],
        dotenv,
        rules,
        env: { prefix: "APP_", vars: {} },
        providers: [provider],
        trustedKeys,
        context: CONTEXT,
      }),
    );
    expect(withRule.code).toBe("CONTEXT_MISMATCH");
    expect(withRule.message).toContain('set env.context to { app: "shop" }');
    t.write("layer/.env", sealed.replace("db.internal", "evil.example"));
    expect((await refusal(load())).code).toBe("INTEGRITY_INVALID");
    // integrity: "off" turns it off here too, as for the files.
    expect(
      await loadConfig({
        files: [yaml],
        dotenv,
        env: { prefix: "APP_", vars: {}, context: CONTEXT },
        providers: [provider],
        trustedKeys,
        context: CONTEXT,
        integrity: "off",
      }),
    ).toMatchObject({ db: { host: "evil.example" } });
    // Reordering or requoting is not content: the record still verifies.
    t.write(
      "layer/.env",
      sealed.replace("export APP_DB__HOST=db.internal", "APP_DB__HOST='db.internal'"),
    );
    expect(await load()).toMatchObject({ db: { host: "db.internal" } });
  });

  it("blobs do not move between a .env file and a YAML file", async () => {
    const sealedEnv = await sealEnv("DB_PASSWORD=cnry-env\n", ".env", ["DB_PASSWORD"]);
    const blob = /sealfig:v1:\S+/.exec(sealedEnv)![0];
    const yaml = t.write("move/app.yaml", `DB_PASSWORD: ${blob}\n`);
    const r = await refusal(
      loadConfig({
        files: [yaml],
        providers: [provider],
        trustedKeys,
        integrity: "off",
        context: CONTEXT,
      }),
    );
    expect(["BLOB_AUTH_FAILED", "DEK_UNWRAP_FAILED"]).toContain(r.code);
    const yamlSealed = await sealDocument(parseDocument("DB_PASSWORD: !secret cnry-yaml\n"), {
      provider,
      keyId: id,
      context: CONTEXT,
    });
    const yblob = String(yamlSealed.document.get("DB_PASSWORD")!.value);
    const env = t.write("move/.env", `DB_PASSWORD=${yblob}\n`);
    const r2 = await refusal(
      loadConfig({
        files: [env],
        providers: [provider],
        trustedKeys,
        integrity: "off",
        context: CONTEXT,
      }),
    );
    expect(["BLOB_AUTH_FAILED", "DEK_UNWRAP_FAILED"]).toContain(r2.code);
  });

  it("a bad .env is ENV_SYNTAX at file:line:col, in files and as the dotenv layer", async () => {
    const bad = t.write("bad/.env", 'A=1\nB="open\n');
    const r = await refusal(loadConfig({ files: [bad], providers: [provider] }));
    expect(r.code).toBe("ENV_SYNTAX");
    expect(r.message).toContain(`${bad}:2:3`);
    const r2 = await refusal(
      loadConfig({ files: [], dotenv: bad, env: { prefix: "A", vars: {} }, providers: [provider] }),
    );
    expect(r2.code).toBe("ENV_SYNTAX");
    expect(r2.message).toContain(":2:3");
  });
});
