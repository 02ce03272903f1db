/**
 * Multi-document YAML through the CLI as a process (issue 18): a Kubernetes bundle and a Spring
 * Boot application.yml sealed in place, round-tripped byte for byte, and taken through every verb
 * (encrypt, decrypt, edit, set, get, unset, rotate, rewrap, status, check, textconv, merge, run);
 * paths start with the document's index; bad files are refused at file:line:col.
 */
import { afterAll, describe, expect, it } from "vitest";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSealfig } from "../_helpers/cli.ts";
import { parseDocument } from "../../src/document/document.ts";

const root = mkdtempSync(join(tmpdir(), "sealfig-multidoc-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A Kubernetes bundle: a Secret with stringData, a ConfigMap, another Secret, a final `...`. */
const BUNDLE = [
  "# Shop manifests: sealfig decrypt bundle.yaml | kubectl apply -f -",
  "apiVersion: v1",
  "kind: Secret",
  "metadata:",
  "  name: db-credentials",
  "  namespace: shop",
  "  labels:",
  '    app.kubernetes.io/name: "shop"',
  "type: Opaque",
  "stringData:",
  "  username: shop",
  "  password: cnry-k8s-db   # rotated quarterly",
  "---",
  "# settings, no secrets",
  "apiVersion: v1",
  "kind: ConfigMap",
  "metadata:",
  "  name: shop-config",
  "data:",
  "  LOG_LEVEL: info",
  '  FEATURE_FLAGS: "checkout,search"',
  "  config.json: |",
  '    {"retries": 3}',
  "---",
  "apiVersion: v1",
  "kind: Secret",
  "metadata:",
  "  name: api-keys",
  "stringData:",
  "  stripe_api_key: cnry-k8s-stripe",
  "  webhook_secret: 'cnry-k8s-webhook'",
  "...",
  "",
].join("\n");

/** A Spring Boot application.yml: a default document and profile documents. */
const SPRING = [
  "# Spring Boot configuration",
  "spring:",
  "  application:",
  "    name: shop",
  "  datasource:",
  "    url: jdbc:postgresql://localhost:5432/shop",
  "    username: shop",
  "    password: cnry-spring-dev",
  "server:",
  "  port: 8080",
  "---",
  "spring:",
  "  config:",
  "    activate:",
  "      on-profile: prod",
  "  datasource:",
  "    url: jdbc:postgresql://db.prod.internal:5432/shop",
  "    password: cnry-spring-prod",
  "server:",
  "  port: 80",
  "---",
  'spring.config.activate.on-profile: "!prod"',
  "logging:",
  "  level:",
  "    root: DEBUG",
  "",
].join("\n");

const SHAPES = [
  {
    shape: "Kubernetes bundle (Secret stringData, ConfigMap, Secret, comments, final ...)",
    file: "bundle.yaml",
    text: BUNDLE,
    documents: 3,
    sealed: [
      "[0].stringData.password",
      "[2].stringData.stripe_api_key",
      "[2].stringData.webhook_secret",
    ],
    secrets: {
      "[0].stringData.password": "cnry-k8s-db",
      "[2].stringData.webhook_secret": "cnry-k8s-webhook",
    },
  },
  {
    shape: "Spring Boot application.yml with on-profile documents",
    file: "application.yml",
    text: SPRING,
    documents: 3,
    sealed: ["[0].spring.datasource.password", "[1].spring.datasource.password"],
    secrets: { "[1].spring.datasource.password": "cnry-spring-prod" },
  },
];

async function repo() {
  const dir = join(root, `r${n++}`);
  mkdirSync(dir, { recursive: true });
  const env = {
    SEALFIG_KEY_FILE: join(dir, ".keys"),
    SEALFIG_KEY: undefined,
    SEALFIG_PROFILES: undefined,
  };
  const init = await runSealfig(["init"], { cwd: dir, env });
  expect(init.code).toBe(0);
  const run = (args: string[], extra: { input?: string; env?: Record<string, string> } = {}) =>
    runSealfig(args, {
      cwd: dir,
      env: { ...env, ...extra.env },
      ...(extra.input !== undefined ? { input: extra.input } : {}),
    });
  return { dir, run };
}

/** The sealed text with each blob's original source text put back and the record line removed. */
function unsealed(sealed: string, original: string): string {
  const before = parseDocument(original);
  const after = parseDocument(sealed);
  let out = "";
  let at = 0;
  for (const e of after.entries()) {
    if (e.pathText.endsWith("sealfig_integrity")) {
      out += after.text.slice(at, after.text.lastIndexOf("\n", e.propsStart) + 1);
      at = after.text.indexOf("\n", e.end) + 1;
      continue;
    }
    if (e.kind !== "sealed") continue;
    const o = before.entryAt(e.path)!;
    out += after.text.slice(at, e.start) + before.text.slice(o.start, o.end);
    at = e.end;
  }
  return out + after.text.slice(at);
}

describe("multi-document YAML through the CLI", () => {
  for (const s of SHAPES) {
    it(`${s.shape}: sealed in place, byte-identical round trip, every verb`, async () => {
      const { dir, run } = await repo();
      const path = join(dir, s.file);
      writeFileSync(path, s.text);
      const enc = await run(["encrypt", "-i", s.file]);
      expect(enc.code, enc.stderr).toBe(0);
      expect(enc.stderr).toContain(`sealed ${s.sealed.length} value(s)`);
      const sealed = readFileSync(path, "utf8");
      expect(sealed).not.toContain("cnry");
      const doc = parseDocument(sealed);
      expect(doc.documentCount).toBe(s.documents);
      // Exactly the secret names, per document; the record is the last document's last entry.
      expect(doc.values().filter((v) => v.kind === "sealed").map((v) => v.pathText)).toEqual(
        s.sealed,
      );
      const last = doc.values().at(-1)!;
      expect(last.pathText).toBe(`[${s.documents - 1}].sealfig_integrity`);
      // Byte for byte: blobs back to their source text, record line out → the original file.
      expect(unsealed(sealed, s.text)).toBe(s.text);

      expect((await run(["check", s.file])).code).toBe(0);
      const status = await run(["status", s.file]);
      expect(status.stdout).toContain(`sealed: ${s.sealed.length}`);
      expect(status.stdout).toContain("integrity: valid");

      const dec = await run(["decrypt", s.file]);
      expect(dec.code).toBe(0);
      expect(dec.stdout).not.toContain("sealfig_integrity");
      expect(parseDocument(dec.stdout).documentCount).toBe(s.documents);
      writeFileSync(join(dir, "plain.yaml"), dec.stdout);
      const again = await run(["encrypt", "plain.yaml", "--previous", s.file]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe(sealed);

      const tc = await run(["textconv", s.file]);
      expect(tc.code).toBe(0);
      for (const [p, v] of Object.entries(s.secrets)) {
        expect(tc.stdout).toContain(v);
        expect((await run(["get", s.file, p])).stdout).toBe(`${v}\n`);
      }
      // A path without the document index: not found, with a hint naming the syntax.
      const bare = await run(["get", s.file, s.sealed[0]!.replace(/^\[\d+\]\./, "")]);
      expect(bare.code).not.toBe(0);
      expect(bare.stderr).toContain("[PATH_NOT_FOUND]");
      expect(bare.stderr).toContain(`holds ${s.documents} YAML documents`);

      // set and unset in one document: their own lines only, the file stays valid.
      const before = readFileSync(path, "utf8");
      expect((await run(["set", s.file, "[1].extra_token", "cnry-set"])).code).toBe(0);
      expect((await run(["set", s.file, "[0].plain_note", "hello", "--plain"])).code).toBe(0);
      const removed = s.sealed[s.sealed.length - 1]!;
      expect((await run(["unset", s.file, removed])).code).toBe(0);
      const after = readFileSync(path, "utf8");
      expect(after).not.toContain("cnry");
      expect((await run(["check", s.file])).code).toBe(0);
      expect((await run(["get", s.file, "[1].extra_token"])).stdout).toBe("cnry-set\n");
      const kept = parseDocument(before).values().filter((v) =>
        v.pathText !== removed && !v.pathText.endsWith("sealfig_integrity")
      );
      const afterDoc = parseDocument(after);
      expect(afterDoc.documentCount).toBe(s.documents);
      for (const v of kept) expect(afterDoc.get(v.path)?.value).toEqual(v.value);
      // A whole document is not a value.
      const whole = await run(["unset", s.file, "[1]"]);
      expect(whole.stderr).toContain("[PATH_CONFLICT]");
      const outOfRange = await run(["set", s.file, `[${s.documents}].x`, "1", "--plain"]);
      expect(outOfRange.stderr).toContain("[PATH_CONFLICT]");

      // edit: the editor sees every document; a change in one re-seals that value only.
      const editor = join(dir, "editor.sh");
      writeFileSync(editor, `#!/bin/sh\nsed -i 's/cnry-set/cnry-edited/' "$1"\n`);
      chmodSync(editor, 0o755);
      const edit = await run(["edit", s.file], { env: { EDITOR: editor, VISUAL: editor } });
      expect(edit.code, edit.stderr).toBe(0);
      expect((await run(["get", s.file, "[1].extra_token"])).stdout).toBe("cnry-edited\n");

      const rotate = await run(["rotate", s.file]);
      expect(rotate.code, rotate.stderr).toBe(0);
      expect((await run(["check", s.file])).code).toBe(0);
      const rules = readFileSync(join(dir, ".sealfig.yaml"), "utf8");
      const keyRef = /key: (local:lk_[0-9a-f]{16})/.exec(rules)![1]!;
      const rewrap = await run(["rewrap", s.file, "--to", keyRef]);
      expect(rewrap.code, rewrap.stderr).toBe(0);
      expect((await run(["check", s.file])).code).toBe(0);
      expect(parseDocument(readFileSync(path, "utf8")).documentCount).toBe(s.documents);
    });
  }

  it("merge: two branches changing different documents merge by key and verify", async () => {
    const { dir, run } = await repo();
    writeFileSync(join(dir, "bundle.yaml"), BUNDLE);
    expect((await run(["encrypt", "-i", "bundle.yaml"])).code).toBe(0);
    const base = readFileSync(join(dir, "bundle.yaml"), "utf8");
    writeFileSync(join(dir, "base.yaml"), base);
    expect((await run(["set", "bundle.yaml", "[1].data.MAIN_FLAG", "on", "--plain"])).code).toBe(0);
    expect((await run(["set", "bundle.yaml", "[0].stringData.main_token", "cnry-main"])).code)
      .toBe(0);
    writeFileSync(join(dir, "ours.yaml"), readFileSync(join(dir, "bundle.yaml"), "utf8"));
    writeFileSync(join(dir, "bundle.yaml"), base);
    expect((await run(["set", "bundle.yaml", "[2].stringData.other_token", "cnry-other"])).code)
      .toBe(0);
    writeFileSync(join(dir, "theirs.yaml"), readFileSync(join(dir, "bundle.yaml"), "utf8"));
    const merge = await run(["merge", "base.yaml", "ours.yaml", "theirs.yaml", "bundle.yaml"]);
    expect(merge.code, merge.stderr).toBe(0);
    const merged = readFileSync(join(dir, "ours.yaml"), "utf8");
    writeFileSync(join(dir, "bundle.yaml"), merged);
    expect((await run(["check", "bundle.yaml"])).code).toBe(0);
    expect((await run(["get", "bundle.yaml", "[1].data.MAIN_FLAG"])).stdout).toBe("on\n");
    expect((await run(["get", "bundle.yaml", "[0].stringData.main_token"])).stdout).toBe(
      "cnry-main\n",
    );
    expect((await run(["get", "bundle.yaml", "[2].stringData.other_token"])).stdout).toBe(
      "cnry-other\n",
    );
  });

  it("run -f loads a Spring file by SEALFIG_PROFILES; a Kubernetes bundle is refused", async () => {
    const { dir, run } = await repo();
    writeFileSync(join(dir, "application.yml"), SPRING);
    writeFileSync(join(dir, "bundle.yaml"), BUNDLE);
    expect((await run(["encrypt", "-i", "application.yml"])).code).toBe(0);
    expect((await run(["encrypt", "-i", "bundle.yaml"])).code).toBe(0);
    const show = [
      "--",
      "sh",
      "-c",
      'printf "%s %s" "$SPRING__DATASOURCE__PASSWORD" "$SERVER__PORT"',
    ];
    const dev = await run(["run", "-f", "application.yml", ...show]);
    expect(dev.code, dev.stderr).toBe(0);
    expect(dev.stdout).toBe("cnry-spring-dev 8080");
    const prod = await run(["run", "-f", "application.yml", ...show], {
      env: { SEALFIG_PROFILES: "prod" },
    });
    expect(prod.code, prod.stderr).toBe(0);
    expect(prod.stdout).toBe("cnry-spring-prod 80");
    const k8s = await run(["run", "-f", "bundle.yaml", "--", "true"]);
    expect(k8s.code).not.toBe(0);
    expect(k8s.stderr).toContain("bundle.yaml:2:1");
    expect(k8s.stderr).toContain("Kubernetes manifest");
    expect(k8s.stderr).toContain("[YAML_UNSUPPORTED]");
  });

  it("bad multi-document files are refused at file:line:col, naming no value", async () => {
    const { dir, run } = await repo();
    const cases: [string, string, string][] = [
      ["a: 1\n---\n- cnry-item\n", "f.yaml:3:1", "YAML_UNSUPPORTED"],
      ["a: 1\n---\nplain cnry scalar\n", "f.yaml:3:1", "YAML_UNSUPPORTED"],
      [
        "a: 1\nsealfig_integrity: sealfig-mac:v2:AAAA\n---\nb: cnry\n",
        "f.yaml:2:1",
        "YAML_UNSUPPORTED",
      ],
      ["a: 1\n---\nb: cnry\nb: 2\n", "f.yaml:4:1", "YAML_DUPLICATE_KEY"],
      ["a: 1\n---\nb: [cnry\n", "f.yaml:4:1", "YAML_SYNTAX"],
      ["a: &x 1\n---\nb: *x\n", "f.yaml:3:4", "YAML_SYNTAX"],
    ];
    for (const [text, where, code] of cases) {
      writeFileSync(join(dir, "f.yaml"), text);
      const r = await run(["check", "f.yaml"]);
      expect(r.code, text).not.toBe(0);
      expect(r.stdout + r.stderr, text).toContain(where);
      expect(r.stdout + r.stderr, text).toContain(code);
      expect(r.stdout + r.stderr, text).not.toContain("cnry");
    }
  });
});
