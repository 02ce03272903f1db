/**
 * Multi-document YAML in one reader (issue 18): paths start with the document's index, edits stay
 * in their document, the integrity record lives in the last document and covers the document
 * list, and the loader merges the documents in order, selecting Spring profile documents by
 * `profiles` and refusing a Kubernetes bundle.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseDocument } from "../../src/document/document.ts";
import { sealDocument } from "../../src/document/seal.ts";
import { setValue, unsetValue } from "../../src/document/edit.ts";
import { macInput } from "../../src/integrity/mac.ts";
import { isRecordPath, recordPath, stripIntegrityRecord } from "../../src/integrity/record.ts";
import { stampDocument, verifyIntegrity } from "../../src/integrity/verify.ts";
import { KeyAllowlist } from "../../src/keys/allowlist.ts";
import { loadConfig } from "../../src/config/load_config.ts";
import { isSealfigError, type SealfigError } from "../../src/errors.ts";
import { makeTempDir, type TempDir } from "../_helpers/tmp_dir.ts";
import { testKey } from "./_fixture.ts";

function refusal(fn: () => unknown): SealfigError {
  try {
    fn();
  } catch (err) {
    if (isSealfigError(err)) return err;
    throw err;
  }
  throw new Error("expected a SealfigError");
}

async function rejection(p: Promise<unknown>): Promise<SealfigError> {
  try {
    await p;
  } catch (err) {
    if (isSealfigError(err)) return err;
    throw err;
  }
  throw new Error("expected a SealfigError");
}

const SPRING = `spring:
  datasource:
    password: !secret dev-pass
server:
  port: 8080
---
spring:
  config:
    activate:
      on-profile: prod, staging
  datasource:
    password: !secret prod-pass
server:
  port: 80
---
spring.config.activate.on-profile: "!prod"
logging: { level: debug }
---
spring:
  config:
    activate:
      on-profile: [cloud]
cloud: true
`;

describe("a file of several YAML documents", () => {
  it("lists values with the document's index first and file positions", () => {
    const doc = parseDocument("# c\na: 1\n---\nb:\n  c: x\n...\n---\nd: [1]\n", { file: "m.yaml" });
    expect(doc.documentCount).toBe(3);
    expect(doc.values().map((v) => `${v.pathText}@${v.line}:${v.col}`)).toEqual([
      "[0].a@2:4",
      "[1].b.c@5:6",
      "[2].d[0]@8:5",
    ]);
    expect(doc.get("[1].b.c")?.value).toBe("x");
    expect(parseDocument("a: 1\n").documentCount).toBe(1);
    // A single document keeps its paths.
    expect(parseDocument("---\na: 1\n...\n").values().map((v) => v.pathText)).toEqual(["a"]);
  });

  it("refuses a document whose top level is not a map, and a record outside the last one", () => {
    const seq = refusal(() => parseDocument("a: 1\n---\n- x\n", { file: "m.yaml" }));
    expect([seq.code, seq.line, seq.col]).toEqual(["YAML_UNSUPPORTED", 3, 1]);
    const rec = refusal(() =>
      parseDocument("a: 1\nsealfig_integrity: x\n---\nb: 2\n", { file: "m.yaml" })
    );
    expect([rec.code, rec.line, rec.col, rec.path]).toEqual(["YAML_UNSUPPORTED", 2, 1, "[0]"]);
    const alias = refusal(() => parseDocument("a: &x 1\n---\nb: *x\n", { file: "m.yaml" }));
    expect([alias.code, alias.line, alias.col]).toEqual(["YAML_SYNTAX", 3, 4]);
  });

  it("set and unset stay in their document; whole documents and bare paths are refused", () => {
    const text = "a: 1 # one\n---\nb: 2\n...\n---\nc: 3\n";
    const doc = parseDocument(text);
    expect(setValue(doc, "[1].x", "y").toString()).toBe(
      "a: 1 # one\n---\nb: 2\nx: y\n...\n---\nc: 3\n",
    );
    expect(setValue(doc, "[2].c", 4).toString()).toBe("a: 1 # one\n---\nb: 2\n...\n---\nc: 4\n");
    expect(unsetValue(doc, "[2].c").toString()).toBe("a: 1 # one\n---\nb: 2\n...\n---\n");
    expect(refusal(() => setValue(doc, "a", 1)).code).toBe("PATH_CONFLICT");
    expect(refusal(() => setValue(doc, "[3].a", 1)).code).toBe("PATH_CONFLICT");
    expect(refusal(() => setValue(doc, "[1]", 1)).code).toBe("PATH_CONFLICT");
    expect(refusal(() => unsetValue(doc, "[1]")).code).toBe("PATH_CONFLICT");
    // An empty document cannot be written into in place.
    expect(refusal(() => setValue(parseDocument("a: 1\n---\n---\nb: 1\n"), "[1].x", 1)).code)
      .toBe("PATH_CONFLICT");
  });

  it("unset of a first document's only key never loses the document silently", () => {
    const doc = parseDocument("a: 1\n---\nb: 2\n");
    // The first document has no `---` of its own: removing its only line would merge the
    // documents; the splice check refuses instead of writing it.
    const err = refusal(() => unsetValue(doc, "[0].a"));
    expect(err.code).toBe("PATH_CONFLICT");
    expect(err.message).toContain("join two documents");
  });

  it("the record goes into the last document (before its ...) and covers the list", async () => {
    const { keyId, provider } = await testKey();
    const trust = KeyAllowlist.of([`local:${keyId}`]);
    for (
      const text of [
        "a: 1\n---\nb: 2\n...\n",
        "a: 1\n---\nb: 2\n",
        "a: 1\n---\n",
        "a: 1\n---\nb: {x: 1}\n",
      ]
    ) {
      const doc = parseDocument(text);
      const { document } = await stampDocument(doc, { provider, keyId, generation: 1 });
      expect(document.documentCount).toBe(doc.documentCount);
      expect(recordPath(document)).toEqual([doc.documentCount - 1, "sealfig_integrity"]);
      expect(document.get(recordPath(document))?.kind).toBe("plain");
      expect(stripIntegrityRecord(document)).toBe(text);
      expect(await verifyIntegrity(document, { providers: [provider], trust })).toBeDefined();
    }
    // The record's own document may hold nothing else: an empty last document and one holding
    // only the record encode alike, and differently from no document at all.
    const input = (t: string) => macInput(parseDocument(t), 1, {});
    expect(input("a: 1\n---\n")).toEqual(input("a: 1\n---\nsealfig_integrity: x\n"));
    expect(input("a: 1\n---\n")).toEqual(input("a: 1\n---\n{}\n"));
    expect(input("a: 1\n---\n")).not.toEqual(input("a: 1\n"));
    expect(input("a: 1\n---\nb: 2\n")).not.toEqual(input("b: 2\n---\na: 1\n"));
    expect(input("a: 1\n---\nb: 2\n")).not.toEqual(input("a: 1\nb: 2\n"));
    expect(input("a: 1\n---\n---\nb: 2\n")).not.toEqual(input("a: 1\n---\nb: 2\n"));
    expect(isRecordPath([2, "sealfig_integrity"])).toBe(true);
    expect(isRecordPath(["x", "sealfig_integrity"])).toBe(false);
  });
});

describe("loadConfig() on a file of several documents", () => {
  let t: TempDir;
  beforeEach(() => {
    t = makeTempDir("sealfig-multidoc-load-");
  });
  afterEach(() => t.cleanup());

  async function sealed(text: string, name: string) {
    const k = await testKey();
    const { document } = await sealDocument(parseDocument(text), {
      provider: k.provider,
      keyId: k.keyId,
    });
    const stamped = await stampDocument(document, {
      provider: k.provider,
      keyId: k.keyId,
      generation: 1,
    });
    const file = t.write(name, stamped.document.toString());
    return { file, ...k };
  }

  it("merges the documents in order, Spring profile documents when their profile is active", async () => {
    const { file, counting, keyId } = await sealed(SPRING, "application.yml");
    const load = (profiles?: string[]) =>
      loadConfig({
        files: [file],
        providers: [counting],
        trustedKeys: [`local:${keyId}`],
        rules: false,
        ...(profiles ? { profiles } : {}),
      }) as Promise<Record<string, unknown>>;
    const none = await load([]);
    expect(none.spring).toEqual({ datasource: { password: "dev-pass" } });
    expect(none.server).toEqual({ port: 8080 });
    expect(none.logging).toEqual({ level: "debug" });
    expect(none.cloud).toBeUndefined();
    const prod = await load(["prod", "cloud"]);
    expect((prod.spring as { datasource: unknown }).datasource).toEqual({ password: "prod-pass" });
    expect(prod.server).toEqual({ port: 80 });
    expect(prod.logging).toBeUndefined();
    expect(prod.cloud).toBe(true);
    const staging = await load(["staging"]);
    expect(staging.server).toEqual({ port: 80 });
    expect(staging.logging).toEqual({ level: "debug" });
  });

  it("never opens a sealed value of a document that is not loaded", async () => {
    const text = "a: 1\n---\nspring.config.activate.on-profile: prod\np: !secret x\n";
    const { file, counting, keyId } = await sealed(text, "app.yml");
    const config = await loadConfig({
      files: [file],
      providers: [counting],
      trustedKeys: [`local:${keyId}`],
      rules: false,
      profiles: [],
    });
    expect(config).toEqual({ a: 1 });
    // The integrity record's data key only.
    expect(counting.decryptCalls).toBe(1);
  });

  it("refuses a Kubernetes bundle, legacy spring.profiles, profile expressions and other conditions", async () => {
    const cases: [string, number, number][] = [
      ["apiVersion: v1\nkind: Secret\n---\napiVersion: v1\nkind: ConfigMap\n", 1, 1],
      ["a: 1\n---\nspring:\n  profiles: prod\nb: 2\n", 4, 13],
      ["a: 1\n---\nspring.config.activate.on-profile: prod & cloud\nb: 2\n", 3, 36],
      [
        "a: 1\n---\nspring:\n  config:\n    activate:\n      on-cloud-platform: kubernetes\n",
        6,
        26,
      ],
    ];
    for (const [text, line, col] of cases) {
      const file = t.write("bad.yml", text);
      const err = await rejection(loadConfig({ files: [file], rules: false }));
      expect(err.code, text).toBe("YAML_UNSUPPORTED");
      expect([err.line, err.col], text).toEqual([line, col]);
    }
  });
});
