import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { openDocument, parseBlob, readDocument } from "../../document.ts";
import { LocalKeyProvider } from "../../mod.ts";
import { DEMO_KEY, DEMO_KEY_ID, PRODUCTION_CONTEXT } from "../../examples/app/demo_key.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const main = fileURLToPath(new URL("../../examples/app/main.ts", import.meta.url));
const configDir = fileURLToPath(new URL("../../examples/app/config/", import.meta.url));
const isDeno = "Deno" in globalThis;

function runExample(
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  const [cmd, args] = isDeno
    ? [process.execPath, ["run", "-A", "--quiet", main]]
    : [process.execPath, [
      "--import",
      new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href,
      main,
    ]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Uint8Array) => (out += new TextDecoder().decode(c)));
    child.stderr.on("data", (c: Uint8Array) => (out += new TextDecoder().decode(c)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

/** The plaintext of every sealed value in the example's production file. */
async function exampleSecrets(): Promise<string[]> {
  const doc = await readDocument(`${configDir}production.yaml`);
  const values = await openDocument(doc, {
    providers: [new LocalKeyProvider({ keys: [DEMO_KEY] })],
    context: PRODUCTION_CONTEXT,
  });
  return [...values.values()].map(String);
}

describe("examples/app", () => {
  it("main.ts runs, prints the redacted config and the load counts, and no secret", async () => {
    const { code, out } = await runExample({ SEALFIG_EXAMPLE_DB__POOL__MAX: "99" });
    expect(code).toBe(0);
    expect(out).toContain('"password": "[redacted]"');
    expect(out).toContain('"max": 99');
    // 1 value data key + 1 integrity data key per file (base.yaml and production.yaml).
    expect(out).toMatch(
      /first load: 5 values decrypted, 1 data keys, 2 integrity records verified, 3 provider calls, [\d.]+ ms/,
    );
    expect(out).toMatch(/reload: +5 values decrypted, 0 provider calls/);
    const secrets = await exampleSecrets();
    expect(secrets).toHaveLength(5);
    for (const s of secrets) {
      expect(out).not.toContain(s);
      for (const line of s.split("\n").filter((l) => l.length > 8)) expect(out).not.toContain(line);
    }
  });

  it("production.yaml is sealed with the demo key and matches production.plain.yaml", async () => {
    const plain = await readDocument(`${configDir}production.plain.yaml`);
    const sealed = await readDocument(`${configDir}production.yaml`);
    const opened = await openDocument(sealed, {
      providers: [new LocalKeyProvider({ keys: [DEMO_KEY] })],
      context: PRODUCTION_CONTEXT,
    });
    const wanted = plain.values().filter((v) => v.kind === "secret");
    expect([...opened.keys()].sort()).toEqual(wanted.map((v) => v.pathText).sort());
    for (const v of wanted) expect(opened.get(v.pathText)).toEqual(v.value);
    for (const v of sealed.values().filter((v) => v.kind === "sealed")) {
      expect(parseBlob(v.value as string).keyId).toBe(DEMO_KEY_ID);
    }
  });
});
