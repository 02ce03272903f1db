import { describe, expect, it } from "vitest";
import {
  decryptDocument,
  getValue,
  openDocument,
  parseDocument,
  sealDocument,
  setSecret,
  setValue,
  unsetValue,
} from "../../document.ts";
import { isSealfigError, type SealfigError } from "../../src/errors.ts";
import { renderings } from "../_helpers/leaks.ts";
import { CANARY, CANARY_PEM, changedLines, REALISTIC, testKey } from "./_fixture.ts";

async function expectCode(
  p: Promise<unknown> | (() => unknown),
  code: string,
): Promise<SealfigError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    expect(isSealfigError(err)).toBe(true);
    expect((err as SealfigError).code).toBe(code);
    return err as SealfigError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe("parseDocument()", () => {
  it("lists every value with path, kind, type and position", () => {
    const doc = parseDocument(REALISTIC, { file: "prod.yaml" });
    const byPath = new Map(doc.values().map((v) => [v.pathText, v]));
    expect(byPath.get("db.password")).toMatchObject({ kind: "secret", type: "string", line: 13 });
    expect(byPath.get("db.port")).toMatchObject({ kind: "plain", type: "integer", value: 5432 });
    expect(byPath.get("db.sample_rate")).toMatchObject({ kind: "secret", type: "float" });
    expect(byPath.get("db.replicas")).toMatchObject({ kind: "secret", type: "integer", value: 3 });
    expect(byPath.get("db.readonly")).toMatchObject({ kind: "secret", type: "boolean" });
    expect(byPath.get("db.legacy")).toMatchObject({ kind: "secret", type: "null", value: null });
    expect(byPath.get("tls.client_key")?.value).toBe(
      `-----BEGIN PRIVATE KEY-----\n${CANARY_PEM}\n-----END PRIVATE KEY-----\n`,
    );
    expect(byPath.get("tls.ca")?.value).toBe("line one\n  indented line two");
    expect(byPath.get("motto")?.value).toBe("it's: quoted");
    expect(byPath.get('labels["a.b"]')).toMatchObject({ kind: "secret", value: "dotted" });
    expect(byPath.get("servers[2].token")).toMatchObject({ kind: "secret", value: "tok ap 1" });
    // The alias is not listed again: the value belongs to its anchor.
    expect(byPath.has("servers[1].token")).toBe(false);
    expect(doc.get("db.password")?.col).toBe(21);
  });

  it("rejects !secret on a map with YAML_SECRET_TAG and its position", async () => {
    const err = await expectCode(
      () => parseDocument("a: 1\ndb: !secret\n  user: x\n", { file: "f.yaml" }),
      "YAML_SECRET_TAG",
    );
    expect(err.file).toBe("f.yaml");
    expect(err.path).toBe("db");
    expect(err.line).toBe(3);
  });

  it("rejects duplicate keys with YAML_DUPLICATE_KEY, file and line", async () => {
    const err = await expectCode(
      () => parseDocument("db:\n  user: a\n  user: b\n", { file: "dup.yaml" }),
      "YAML_DUPLICATE_KEY",
    );
    expect(err.message).toContain("dup.yaml:3:3");
  });

  it("rejects tab indentation with YAML_SYNTAX at line:col and a hint about tabs", async () => {
    const err = await expectCode(
      () => parseDocument(`db:\n\tpassword: ${CANARY}\n`, { file: "tabs.yaml" }),
      "YAML_SYNTAX",
    );
    expect(err.line).toBe(2);
    expect(err.col).toBe(1);
    expect(err.message).toMatch(/tabs/i);
    // The source excerpt yaml would print is left out: it could show a secret.
    expect(renderings(err)).not.toContain(CANARY);
  });

  it("rejects bytes that are not UTF-8 with FILE_NOT_UTF8 and the position", async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode("a: 1\nb: x"), 0xff, 0x0a]);
    const err = await expectCode(() => parseDocument(bytes, { file: "bin.yaml" }), "FILE_NOT_UTF8");
    expect(err.line).toBe(2);
    expect(err.col).toBe(5);
  });

  it("rejects a source over maxBytes with FILE_TOO_LARGE", async () => {
    const err = await expectCode(
      () => parseDocument("a: 123456789\n", { maxBytes: 8, file: "big.yaml" }),
      "FILE_TOO_LARGE",
    );
    expect(err.message).toContain("8 bytes");
  });

  it("reads several documents in one file: paths start with the document's index", () => {
    const doc = parseDocument("a: 1\n---\nb: 2\n");
    expect(doc.documentCount).toBe(2);
    expect(doc.values().map((v) => v.pathText)).toEqual(["[0].a", "[1].b"]);
  });
});

describe("sealDocument() / decryptDocument()", () => {
  it("round-trips a realistic file: decrypt → seal without edits is byte-identical", async () => {
    const { keyId, provider, counting } = await testKey();
    const plain = parseDocument(REALISTIC, { file: "prod.yaml" });
    const first = await sealDocument(plain, { provider, keyId, context: { env: "prod" } });
    const sealed = first.document;
    expect(first.sealed).toBe(13);
    expect(first.dataKeysGenerated).toBe(1);
    expect(sealed.toString()).not.toContain(CANARY);
    expect(sealed.toString()).not.toContain("!secret");
    // Only the sealed values' lines changed; comments and everything else are intact.
    for (const line of REALISTIC.split("\n").filter((l) => !l.includes("!secret"))) {
      if (!/^\s+(-----|\S*CANARY|line one|indented)/.test(line)) {
        expect(sealed.toString()).toContain(line);
      }
    }

    const view = await decryptDocument(sealed, {
      providers: [counting],
      context: { env: "prod" },
    });
    expect(view.decrypted).toBe(13);
    expect(counting.decryptCalls).toBe(1); // one data key, fetched once
    const viewValues = new Map(view.document.values().map((v) => [v.pathText, v]));
    for (const v of plain.values()) {
      expect(viewValues.get(v.pathText)?.kind).toBe(v.kind);
      if (v.type === "float" && Number.isNaN(v.value)) continue;
      expect(viewValues.get(v.pathText)?.value).toEqual(v.value);
    }
    expect(view.document.toString()).toContain(`password: !secret ${CANARY}   # rotate`);

    const again = await sealDocument(view.document, {
      provider: counting,
      keyId,
      context: { env: "prod" },
      previous: sealed,
    });
    expect(again.sealed).toBe(0);
    expect(again.kept).toBe(13);
    expect(again.dataKeysGenerated).toBe(0);
    expect(again.document.toString()).toBe(sealed.toString());
  });

  it("changing one value in the plaintext view changes exactly one sealed line", async () => {
    const { keyId, provider } = await testKey();
    const sealed = (await sealDocument(parseDocument(REALISTIC), { provider, keyId })).document;
    const view = (await decryptDocument(sealed, { providers: [provider] })).document;
    for (
      const [from, to] of [
        [`password: !secret ${CANARY}`, "password: !secret new-password"],
        ["replicas: !secret 3", "replicas: !secret 4"],
        [CANARY_PEM, "ANOTHER-PEM-LINE"],
      ] as const
    ) {
      const edited = parseDocument(view.toString().replace(from, to));
      const out = await sealDocument(edited, { provider, keyId, previous: sealed });
      expect(out.sealed).toBe(1);
      expect(out.kept).toBe(12);
      expect(changedLines(sealed.toString(), out.document.toString())).toBe(1);
    }
  });

  it('a changed type (3 → "3") gets a new blob', async () => {
    const { keyId, provider } = await testKey();
    const sealed = (await sealDocument(parseDocument("n: !secret 3\n"), { provider, keyId }))
      .document;
    const out = await sealDocument(parseDocument('n: !secret "3"\n'), {
      provider,
      keyId,
      previous: sealed,
    });
    expect(out.sealed).toBe(1);
    expect(await getValue(out.document, "n", { providers: [provider] })).toBe("3");
  });

  it("keeps CRLF line endings and a BOM", async () => {
    const { keyId, provider } = await testKey();
    const src =
      "\ufeff# c\r\ndb:\r\n  password: !secret pw\r\n  cert: !secret |\r\n    a\r\n    b\r\n";
    const sealed = (await sealDocument(parseDocument(src), { provider, keyId })).document;
    const text = sealed.toString();
    expect(text.startsWith("\ufeff# c\r\n")).toBe(true);
    expect(text.replaceAll("\r\n", "")).not.toContain("\n");
    const view = (await decryptDocument(sealed, { providers: [provider] })).document;
    expect(view.toString()).toBe(src);
    const again = await sealDocument(view, { provider, keyId, previous: sealed });
    expect(again.document.toString()).toBe(text);
  });

  it("seals values that `select` picks (rules-marked keys) and leaves sealed values alone", async () => {
    const { keyId, provider } = await testKey();
    const doc = parseDocument("db:\n  password: hunter2\n  host: x\n");
    const out = await sealDocument(doc, {
      provider,
      keyId,
      select: (v) => /password/.test(v.pathText),
    });
    expect(out.document.get("db.password")?.kind).toBe("sealed");
    expect(out.document.get("db.host")?.kind).toBe("plain");
    const twice = await sealDocument(out.document, { provider, keyId });
    expect(twice.document.toString()).toBe(out.document.toString());
  });

  it("shares data keys: per-file policy bounded by maxValuesPerDek, per-value policy one each", async () => {
    const { keyId, counting } = await testKey();
    const src = Array.from({ length: 10 }, (_, i) => `k${i}: !secret v${i}\n`).join("");
    const a = await sealDocument(parseDocument(src), { provider: counting, keyId });
    expect(a.dataKeysGenerated).toBe(1);
    const b = await sealDocument(parseDocument(src), {
      provider: counting,
      keyId,
      maxValuesPerDek: 4,
    });
    expect(b.dataKeysGenerated).toBe(3);
    const c = await sealDocument(parseDocument(src), {
      provider: counting,
      keyId,
      dekPolicy: "per-value",
    });
    expect(c.dataKeysGenerated).toBe(10);
    expect(counting.generateCalls).toBe(14);
  });

  it("openDocument() rejects a blob moved to another path, naming file, path and reason", async () => {
    const { keyId, provider } = await testKey();
    const sealed = (await sealDocument(parseDocument(`a: !secret ${CANARY}\nb: x\n`), {
      provider,
      keyId,
    })).document;
    const blob = sealed.get("a")!.value as string;
    const moved = parseDocument(`a: plain\nb: ${blob}\n`, { file: "moved.yaml" });
    const err = await expectCode(
      openDocument(moved, { providers: [provider] }),
      "BLOB_AUTH_FAILED",
    );
    expect(err.file).toBe("moved.yaml");
    expect(err.path).toBe("b");
    expect(err.line).toBe(2);
    expect(err.message).toMatch(/moved to another path/);
    expect(renderings(err)).not.toContain(CANARY);
  });

  it("openDocument() rejects a blob moved into a file with another context", async () => {
    const { keyId, provider } = await testKey();
    const sealed = (await sealDocument(parseDocument("a: !secret x\n"), {
      provider,
      keyId,
      context: { env: "prod" },
    })).document;
    const other = parseDocument(sealed.toString(), { file: "staging.yaml" });
    const err = await expectCode(
      openDocument(other, { providers: [provider], context: { env: "staging" } }),
      "DEK_UNWRAP_FAILED",
    );
    expect(err.file).toBe("staging.yaml");
    expect(err.path).toBe("a");
    expect(err.message).toMatch(/another encryption context/);
  });

  it("a truncated blob gives BLOB_MALFORMED with file and path", async () => {
    const { keyId, provider } = await testKey();
    const sealed = (await sealDocument(parseDocument("a: !secret x\n"), { provider, keyId }))
      .document;
    const blob = sealed.get("a")!.value as string;
    const cut = parseDocument(`a: ${blob.slice(0, 60)}\n`, { file: "cut.yaml" });
    const err = await expectCode(openDocument(cut, { providers: [provider] }), "BLOB_MALFORMED");
    expect(err.file).toBe("cut.yaml");
    expect(err.path).toBe("a");
  });
});

describe("setValue() / setSecret() / unsetValue()", () => {
  it("setSecret() seals one new value with one data key and decrypts nothing", async () => {
    const { keyId, provider, counting } = await testKey();
    const sealed = (await sealDocument(parseDocument(REALISTIC), { provider, keyId })).document;
    const out = await setSecret(sealed, "db.api_token", "tok-new", { provider: counting, keyId });
    expect(counting.generateCalls).toBe(1);
    expect(counting.decryptCalls).toBe(0);
    // One new line, inserted in the db map with its indentation; nothing else changed.
    const before = sealed.toString().split("\n");
    const after = out.toString().split("\n");
    expect(after.length).toBe(before.length + 1);
    const added = after.filter((l) => !before.includes(l));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/^ {2}api_token: sealfig:v1:/);
    expect(await getValue(out, "db.api_token", { providers: [provider] })).toBe("tok-new");
    // The new value opens along with all the others.
    const all = await openDocument(out, { providers: [provider] });
    expect(all.get("db.password")).toBe(CANARY);
  });

  it("setValue() replaces in place, keeps anchors and comments, and creates nested maps", () => {
    let doc = parseDocument("a: &x 1 # one\nb:\n  c: 2\nlist:\n  - p\n");
    doc = setValue(doc, "a", 10);
    doc = setValue(doc, "b.d.e", "new");
    doc = setValue(doc, "list[1]", "q");
    doc = setValue(doc, "top", true);
    expect(doc.toString()).toBe(
      "a: &x 10 # one\nb:\n  c: 2\n  d:\n    e: new\nlist:\n  - p\n  - q\ntop: true\n",
    );
    doc = setValue(doc, 'labels["a.b"]', "v", { secretTag: true });
    expect(doc.get('labels["a.b"]')?.kind).toBe("secret");
  });

  it("setValue() writes multi-line strings as literal blocks that read back the same", () => {
    const doc = setValue(parseDocument("k:\n  x: 1\n"), "k.pem", "l1\nl2\n");
    expect(doc.toString()).toBe("k:\n  x: 1\n  pem: |\n    l1\n    l2\n");
    expect(doc.get("k.pem")?.value).toBe("l1\nl2\n");
  });

  it("setValue() refuses paths through scalars and onto maps with PATH_CONFLICT", async () => {
    const doc = parseDocument("a: 1\nb:\n  c: 2\n");
    await expectCode(() => setValue(doc, "a.x", 1), "PATH_CONFLICT");
    await expectCode(() => setValue(doc, "b", 1), "PATH_CONFLICT");
  });

  it("unsetValue() removes the key's lines only, and refuses to shift sealed sequence items", async () => {
    const { keyId, provider } = await testKey();
    const doc = parseDocument("# head\na: 1 # c\nb:\n  c: 2\n  d: 3\ne: 4\n");
    expect(unsetValue(doc, "b.c").toString()).toBe("# head\na: 1 # c\nb:\n  d: 3\ne: 4\n");
    expect(unsetValue(doc, "b").toString()).toBe("# head\na: 1 # c\ne: 4\n");
    await expectCode(() => unsetValue(doc, "zz"), "PATH_NOT_FOUND");
    const seq = (await sealDocument(parseDocument("s:\n  - !secret a\n  - !secret b\n"), {
      provider,
      keyId,
    })).document;
    await expectCode(() => unsetValue(seq, "s[0]"), "PATH_CONFLICT");
    expect(unsetValue(seq, "s[1]").values()).toHaveLength(1);
  });
});
