/**
 * JSON files sealed in place (src/document/json.ts) through `parseDocument`: real-world-shaped
 * files round-trip byte for byte (read, seal, stamp, decrypt, seal again, load), sealed files stay
 * JSON with every other byte kept, types survive sealing, and what JSON.parse would read
 * differently is refused with file:line:col.
 */
import { afterAll, describe, expect, it } from "vitest";
import { isSealfigError, loadConfig } from "../../mod.ts";
import { parseDocument, type SealfigDocument, setValue, unsetValue } from "../../document.ts";
import { decryptDocument, openDocument, sealDocument } from "../../src/document/seal.ts";
import { parseJsonText } from "../../src/document/json.ts";
import { stampDocument, verifyIntegrity } from "../../src/integrity/verify.ts";
import { stripIntegrityRecord } from "../../src/integrity/record.ts";
import { BUILTIN_SECRET_NAMES, secretNameOf } from "../../src/secret_names.ts";
import { KeyAllowlist } from "../../src/keys/allowlist.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";
import { testKey } from "./_fixture.ts";

const PEM =
  "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\\n" +
  "q5Zk0cV3bGx1ZS9w4Y2Z\\n-----END PRIVATE KEY-----\\n";

/** Real-world-shaped JSON files: name, text, the paths the built-in secret names seal. */
export const JSON_SHAPES: { name: string; text: string; secrets: string[] }[] = [
  {
    name: "package.json-like (2 spaces)",
    text: `{
  "name": "@acme/shop",
  "version": "1.4.2",
  "private": true,
  "scripts": {
    "build": "tsc -p .",
    "test": "vitest run"
  },
  "dependencies": {
    "zod": "^4.0.0"
  },
  "config": {
    "apiToken": "tok_live_5f2a",
    "port": 8080
  },
  "files": ["dist", "README.md"]
}
`,
    secrets: ["config.apiToken"],
  },
  {
    name: "appsettings.json (2 spaces, nested, null, float)",
    text: `{
  "Logging": {
    "LogLevel": {
      "Default": "Information",
      "Microsoft.AspNetCore": "Warning"
    }
  },
  "AllowedHosts": "*",
  "ConnectionStrings": {
    "Default": "Server=db;Database=shop;User Id=app;"
  },
  "Db": {
    "Password": "hunter2",
    "CommandTimeout": 30,
    "SampleRate": 0.25,
    "Replica": null
  },
  "Stripe": { "SecretKey": "sk_live_abc", "PublishableKey": "pk_live_def" }
}
`,
    secrets: ["Db.Password", "Stripe.SecretKey"],
  },
  {
    name: "terraform.tfvars.json (4 spaces, arrays of objects)",
    text: `{
    "region": "eu-west-1",
    "instance_count": 3,
    "db_password": "s3cr3t!",
    "tags": {
        "team": "payments",
        "cost_center": 4711
    },
    "subnets": [
        { "cidr": "10.0.1.0/24", "az": "a" },
        { "cidr": "10.0.2.0/24", "az": "b" }
    ],
    "enable_backups": false
}
`,
    secrets: ["db_password"],
  },
  {
    name: "Firebase-like service account (multi-line PEM string)",
    text: `{
  "type": "service_account",
  "project_id": "acme-prod",
  "private_key_id": "8f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c",
  "private_key": "${PEM}",
  "client_email": "deploy@acme-prod.iam.gserviceaccount.com",
  "client_id": "104235236372736237235",
  "auth_uri": "https://accounts.google.com/o/oauth2/auth",
  "universe_domain": "googleapis.com"
}
`,
    secrets: ["private_key"],
  },
  {
    name: "tab indentation, CRLF, BOM",
    text: '\ufeff{\r\n\t"db": {\r\n\t\t"host": "db.internal",\r\n\t\t"password": "pw"\r\n\t},\r\n' +
      '\t"debug": true\r\n}\r\n',
    secrets: ["db.password"],
  },
  {
    name: "minified, one line, no final newline",
    text: '{"db":{"host":"h","password":"pw","port":5432},"api_key":"k-1","n":[1,2.5,-3e2]}',
    secrets: ["db.password", "api_key"],
  },
];

function marked(v: { path: readonly (string | number)[] }): boolean {
  const name = secretNameOf(v.path);
  return name !== undefined && BUILTIN_SECRET_NAMES.test(name);
}

function refusal(f: () => unknown): { code: string; message: string; line?: number; col?: number } {
  try {
    f();
  } catch (err) {
    if (isSealfigError(err)) {
      return {
        code: err.code,
        message: err.message,
        ...(err.line !== undefined ? { line: err.line } : {}),
        ...(err.col !== undefined ? { col: err.col } : {}),
      };
    }
    throw err;
  }
  throw new Error("expected a refusal");
}

/** The sealed text with every value's original text put back (what sealing may change). */
function unsealText(sealed: string, original: string): string {
  const strip = (t: string) => t.replace(/^\ufeff/, "").replace(/\r\n/g, "\n");
  const a = parseJsonText(strip(sealed));
  const b = parseJsonText(strip(original));
  const edits: { from: number; to: number; text: string }[] = [];
  const walk = (x: typeof a.root, y: typeof b.root) => {
    if (!x || !y) return;
    if (x.t === "object" && y.t === "object") {
      x.members.forEach((m, i) => walk(m.node, y.members[i]?.node));
    } else if (x.t === "array" && y.t === "array") {
      x.items.forEach((it, i) => walk(it.node, y.items[i]?.node));
    } else if (x.t !== "object" && x.t !== "array") {
      edits.push({ from: x.start, to: x.end, text: b.text.slice(y.start, y.end) });
    }
  };
  walk(a.root, b.root);
  let out = "", at = 0;
  for (const e of edits) {
    out += a.text.slice(at, e.from) + e.text;
    at = e.to;
  }
  return out + a.text.slice(at);
}

describe("JSON documents", () => {
  const dir = makeTempDir("sealfig-json-");
  afterAll(() => dir.cleanup());

  for (const shape of JSON_SHAPES) {
    it(`round trip, byte for byte: ${shape.name}`, async () => {
      const { provider, keyId } = await testKey();
      const context = { app: "shop" };
      const plain = parseDocument(shape.text, { file: "x.json" });
      expect(plain.format).toBe("json");
      expect(plain.toString()).toBe(shape.text);

      const sealed = await sealDocument(plain, { provider, keyId, context, select: marked });
      expect(sealed.sealed).toBe(shape.secrets.length);
      const sealedText = sealed.document.toString();
      // Still JSON; the secrets are blob strings; every other byte is what it was.
      const parsed = JSON.parse(sealedText.replace(/^\ufeff/, ""));
      expect(sealed.document.values().filter((v) => v.kind === "sealed").map((v) => v.pathText))
        .toEqual(shape.secrets);
      expect(unsealText(sealedText, shape.text)).toBe(
        shape.text.replace(/^\ufeff/, "").replace(/\r\n/g, "\n"),
      );
      expect(sealedText.startsWith("\ufeff")).toBe(shape.text.startsWith("\ufeff"));
      expect(sealedText.includes("\r\n")).toBe(shape.text.includes("\r\n"));
      expect(Object.keys(parsed)).toEqual(
        Object.keys(JSON.parse(shape.text.replace(/^\ufeff/, ""))),
      );

      const { document: stamped } = await stampDocument(sealed.document, {
        provider,
        keyId,
        context,
        generation: 1,
      });
      const stampedText = stamped.toString();
      const withRecord = JSON.parse(stampedText.replace(/^\ufeff/, ""));
      expect(Object.keys(withRecord).at(-1)).toBe("sealfig_integrity");
      expect(withRecord.sealfig_integrity).toMatch(/^sealfig-mac:v2:/);
      // Without its record the stamped file is the sealed file.
      expect(stripIntegrityRecord(stamped)).toBe(sealedText);

      const file = dir.write("sealed.json", stampedText);
      const again = parseDocument(stampedText, { file });
      const trust = KeyAllowlist.of([`local:${keyId}`]);
      await verifyIntegrity(again, { providers: [provider], context, required: true, trust });
      const config = await loadConfig({
        files: [file],
        providers: [provider],
        context,
        trustedKeys: [`local:${keyId}`],
        integrity: "require",
      });
      expect(config).toEqual(JSON.parse(shape.text.replace(/^\ufeff/, "")));

      // Decrypting the file as read from disk gives the plaintext file back byte for byte (the
      // record removed); sealing it again with the sealed file as `previous` gives the sealed
      // file back byte for byte.
      const view = (await decryptDocument(again, { providers: [provider], context })).document;
      expect(stripIntegrityRecord(view)).toBe(shape.text);
      const fromDisk = parseDocument(sealedText, { file: "x.json" });
      const resealed2 = await sealDocument(
        parseDocument(stripIntegrityRecord(view), { file: "x.json" }),
        {
          provider,
          keyId,
          context,
          select: (v) => marked(v) || fromDisk.get(v.path)?.kind === "sealed",
          previous: fromDisk,
        },
      );
      expect(resealed2.sealed).toBe(0);
      expect(resealed2.document.toString()).toBe(sealedText);
    });
  }

  it("values keep their JSON types when sealed and opened (integer, float, boolean, null, bigint)", async () => {
    const { provider, keyId } = await testKey();
    const text =
      '{"secret_int": 5432, "secret_float": 1.0, "secret_exp": 1e3, "secret_bool": true,\n' +
      ' "secret_null": null, "secret_big": 123456789012345678901234567890, "secret_neg": -0.0}\n';
    const doc = parseDocument(text, { file: "t.json" });
    expect(doc.values().map((v) => [v.pathText, v.type])).toEqual([
      ["secret_int", "integer"],
      ["secret_float", "float"],
      ["secret_exp", "float"],
      ["secret_bool", "boolean"],
      ["secret_null", "null"],
      ["secret_big", "integer"],
      ["secret_neg", "float"],
    ]);
    const sealed = await sealDocument(doc, { provider, keyId, select: () => true });
    expect(sealed.sealed).toBe(7);
    const values = await openDocument(sealed.document, { providers: [provider] });
    expect([...values.values()]).toEqual([
      5432,
      1,
      1000,
      true,
      null,
      123456789012345678901234567890n,
      -0,
    ]);
    expect(Object.is(values.get("secret_neg"), -0)).toBe(true);
    // Decrypting writes each value so that it reads back with its type (1.0 stays a float).
    const fromDisk = parseDocument(sealed.document.toString(), { file: "t.json" });
    const view = (await decryptDocument(fromDisk, { providers: [provider] })).document;
    expect(view.toString()).toBe(
      '{"secret_int": 5432, "secret_float": 1.0, "secret_exp": 1000.0, "secret_bool": true,\n' +
        ' "secret_null": null, "secret_big": 123456789012345678901234567890, "secret_neg": -0.0}\n',
    );
  });

  it("set and unset keep the file's style: new members like their neighbours, nested objects", () => {
    const text = '{\n    "a": 1,\n    "b": {\n        "c": "x"\n    },\n    "e": {}\n}\n';
    const doc = parseDocument(text, { file: "s.json" });
    expect(setValue(doc, "b.d", "y").toString()).toBe(
      '{\n    "a": 1,\n    "b": {\n        "c": "x",\n        "d": "y"\n    },\n    "e": {}\n}\n',
    );
    expect(setValue(doc, "e.f", 2.5).toString()).toBe(
      '{\n    "a": 1,\n    "b": {\n        "c": "x"\n    },\n    "e": {\n        "f": 2.5\n    }\n}\n',
    );
    expect(setValue(doc, "n.m", true).toString()).toBe(
      '{\n    "a": 1,\n    "b": {\n        "c": "x"\n    },\n    "e": {},\n    "n": {\n' +
        '        "m": true\n    }\n}\n',
    );
    expect(unsetValue(doc, "a").toString()).toBe(
      '{\n    "b": {\n        "c": "x"\n    },\n    "e": {}\n}\n',
    );
    expect(unsetValue(doc, "e").toString()).toBe(
      '{\n    "a": 1,\n    "b": {\n        "c": "x"\n    }\n}\n',
    );
    expect(setValue(parseDocument('{"a":[1,2]}', { file: "m.json" }), "b", "x").toString())
      .toBe('{"a":[1,2],"b":"x"}');
    // A new file (empty text) becomes an object.
    expect(setValue(parseDocument("", { file: "new.json" }), "db.password", "p").toString())
      .toBe('{\n  "db": {\n    "password": "p"\n  }\n}\n');
    // A plaintext string that starts like a blob cannot be plain, as in YAML.
    expect(refusal(() => setValue(doc, "a", "sealfig:v1:AAAA")).code).toBe(
      "VALUE_NOT_REPRESENTABLE",
    );
    // JSON numbers are finite.
    const nan = refusal(() => setValue(doc, "a", NaN).toString());
    expect(nan.code).toBe("VALUE_NOT_REPRESENTABLE");
  });

  it("--format json (stdin, other names) and the format by extension", () => {
    expect(parseDocument('{"a": "b"}', { format: "json" }).format).toBe("json");
    expect(parseDocument('{"a": "b"}', { file: "APPSETTINGS.JSON" }).format).toBe("json");
    expect(parseDocument('{"a": "b"}', { file: "x.yaml" }).format).toBe("yaml");
    expect(parseDocument('{"a": "b"}', { file: ".env.json" }).format).toBe("json");
  });

  it("values carry the JSON file's own line and column", () => {
    const doc = parseDocument('{\n  "a": {"b": 1,   "c": [true, "x"]},\n  "d": null\n}\n', {
      file: "p.json",
    });
    expect(doc.values().map((v) => [v.pathText, v.line, v.col])).toEqual([
      ["a.b", 2, 14],
      ["a.c[0]", 2, 25],
      ["a.c[1]", 2, 31],
      ["d", 3, 8],
    ]);
  });

  it("refuses what is not JSON, or JSON whose meaning could differ, with file:line:col", () => {
    const cases: [string, string, number, number][] = [
      ['{"a": 1, "a": 2}', "JSON_UNSUPPORTED", 1, 10],
      ['{\n  "a": 1,\n}', "JSON_SYNTAX", 2, 9],
      ['{"a": [1, 2,]}', "JSON_SYNTAX", 1, 12],
      ['// settings\n{"a": 1}', "JSON_SYNTAX", 1, 1],
      ['{"a": 1 /* c */}', "JSON_SYNTAX", 1, 9],
      ['{"a": NaN}', "JSON_SYNTAX", 1, 7],
      ['{"a": Infinity}', "JSON_SYNTAX", 1, 7],
      ['{"a": -Infinity}', "JSON_SYNTAX", 1, 7],
      ['{"a": "\\ud800"}', "JSON_UNSUPPORTED", 1, 7],
      ['{"\\udc00": 1}', "JSON_UNSUPPORTED", 1, 2],
      ['{"a": 1e400}', "JSON_UNSUPPORTED", 1, 7],
      ['{"a": -0}', "JSON_UNSUPPORTED", 1, 7],
      ['{"<<": {"a": 1}}', "JSON_UNSUPPORTED", 1, 2],
      ["{'a': 1}", "JSON_SYNTAX", 1, 2],
      ["{a: 1}", "JSON_SYNTAX", 1, 2],
      ['{"a": 01}', "JSON_SYNTAX", 1, 7],
      ['{"a": +1}', "JSON_SYNTAX", 1, 7],
      ['{"a": .5}', "JSON_SYNTAX", 1, 7],
      ['{"a": 0x1F}', "JSON_SYNTAX", 1, 7],
      ['{"a": "x\ty"}', "JSON_SYNTAX", 1, 9],
      ['{"a": "\\x41"}', "JSON_SYNTAX", 1, 8],
      ['{"a": "x"} {"b": 1}', "JSON_SYNTAX", 1, 12],
      ['{"a": "x"', "JSON_SYNTAX", 1, 10],
      ['{"a": True}', "JSON_SYNTAX", 1, 7],
      ['{"pаssword": 1}', "YAML_KEY_CONFUSABLE", 1, 2],
    ];
    for (const [text, code, line, col] of cases) {
      const r = refusal(() => parseDocument(text, { file: "bad.json" }));
      expect([text, r.code, r.line, r.col]).toEqual([text, code, line, col]);
      expect(r.message).toContain(`bad.json:${line}:${col}`);
    }
    // The parsing budget, counted by the JSON reader (so the view stays within YAML's).
    const budget: [string, number, number][] = [
      ["[".repeat(257) + "]".repeat(257), 1, 257],
      [`{${Array.from({ length: 10_001 }, (_, i) => `"k${i}":0`).join(",")}}`, 1, 98_892],
      [`{"a":[${"0,".repeat(100_000)}0]}`, 1, 200_001],
    ];
    for (const [text, line, col] of budget) {
      const r = refusal(() => parseDocument(text, { file: "big.json" }));
      expect([r.code, r.line, r.col]).toEqual(["YAML_LIMIT", line, col]);
    }
    // JSON.parse accepts the duplicate silently (the last one wins): sealfig never does.
    expect(JSON.parse('{"a": 1, "a": 2}')).toEqual({ a: 2 });
  });

  it("the top level must be an object (as in YAML), and the record is a top-level string", async () => {
    expect(refusal(() => setValue(parseDocument("[1]", { file: "a.json" }), "a", 1)).code).toBe(
      "YAML_UNSUPPORTED",
    );
    await expect(loadConfig({ files: [dir.write("arr.json", "[1, 2]\n")] })).rejects.toMatchObject({
      code: "YAML_UNSUPPORTED",
    });
    const { provider, keyId } = await testKey();
    const { document } = await stampDocument(parseDocument('{"a": 1}\n', { file: "r.json" }), {
      provider,
      keyId,
      generation: 1,
    });
    const text = document.toString();
    const tampered = text.replace('"a": 1', '"a": 2');
    const back: SealfigDocument = parseDocument(tampered, { file: "r.json" });
    const trust = KeyAllowlist.of([`local:${keyId}`]);
    await expect(verifyIntegrity(back, { providers: [provider], required: true, trust })).rejects
      .toMatchObject({ code: "INTEGRITY_INVALID" });
  });
});
