/**
 * Tampering at the document and loader level: every change to a blob inside a sealed file gives a
 * typed error naming file, line and path, never the value; the data key cache keeps nothing from
 * a failed open, and the untouched file still loads.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { loadConfig } from "../../src/config/load_config.ts";
import { BLOB_PREFIX, ValueType, type ValueTypeName } from "../../src/envelope/format.ts";
import type { SealfigDocument } from "../../src/document/document.ts";
import { LocalKeyProvider } from "../../src/keys/local.ts";
import type { KeyProvider } from "../../src/keys/key_provider.ts";
import {
  attempt,
  canary,
  codeTally,
  expectTyped,
  noIntegrity,
  note,
  rejectionOf,
  tempDir,
  tried,
} from "./_collector.ts";
import {
  blobAt,
  blobBytes,
  bytesBlob,
  CONTEXT,
  key2,
  lineOf,
  local,
  parseBlob,
  rebuild,
  replaceOnce,
  sealText,
} from "./_fixture.ts";
import type { TempDir } from "../_helpers/tmp_dir.ts";

/** Error codes a changed blob may produce; anything else (or success) is a failure. */
const TAMPER_CODES = [
  "BLOB_MALFORMED",
  "BLOB_UNSUPPORTED",
  "BLOB_AUTH_FAILED",
  "PROVIDER_UNKNOWN",
  "KEY_NOT_FOUND",
  "DEK_UNWRAP_FAILED",
  "KEY_UNTRUSTED", // issue 9's key allowlist: a changed key id is refused before any provider call
];

export function tamperingSuite(): void {
  describe("tampering with blobs inside sealed files (loadConfig level)", () => {
    const PW = canary("tamper-pw");
    const TOKEN = canary("tamper-token");
    const KEY_A = canary("tamper-key-a");
    const plain = [
      "# tampering fixture",
      "db:",
      "  host: db.internal",
      `  password: !secret ${PW}`,
      "  port: !secret 5432",
      "api:",
      `  token: !secret ${TOKEN}`,
      "servers:",
      "  - name: a",
      `    key: !secret ${KEY_A}`,
      '"db.password": plain-value',
      "",
    ].join("\n");
    let dir: TempDir;
    let small: SealfigDocument; // for the exhaustive loops: one secret, so each load is cheap
    let sealed: SealfigDocument; // one data key for all values
    let perValue: SealfigDocument; // one data key per value
    let text: string;
    const expected = {
      db: { host: "db.internal", password: PW, port: 5432 },
      api: { token: TOKEN },
      servers: [{ name: "a", key: KEY_A }],
      "db.password": "plain-value",
    };

    beforeAll(async () => {
      dir = tempDir("tamper");
      small = await sealText(`db:\n  host: db.internal\n  password: !secret ${PW}\n`);
      sealed = await sealText(plain);
      perValue = await sealText(plain, { perValue: true });
      text = sealed.toString();
    });

    /** Load `content` as a file; return the error (the load must fail). */
    async function loadFails(
      name: string,
      content: string,
      cache: DekCache,
      providers: readonly KeyProvider[] = [local],
      context: Record<string, string> = CONTEXT,
      trustedKeys?: readonly string[] | "any",
    ): Promise<{ err: unknown; file: string }> {
      const file = dir.write(name, content);
      const err = await rejectionOf(
        loadConfig(noIntegrity({ files: [file], providers, cache, context }, trustedKeys)),
        name,
      );
      return { err, file };
    }

    async function loadsIntact(cache: DekCache): Promise<void> {
      const file = dir.write("intact.yaml", text);
      const config = await loadConfig(
        noIntegrity({ files: [file], providers: [local], cache, context: CONTEXT }),
      );
      expect(config).toEqual(expected);
    }

    it("every single-byte change of a blob's bytes: typed error naming file, line and path", async () => {
      const smallText = small.toString();
      const blob = blobAt(small, "db.password");
      const bytes = blobBytes(blob);
      const line = lineOf(smallText, blob);
      const cache = new DekCache();
      const codes: string[] = [];
      for (let i = 0; i < bytes.length; i++) {
        const done = tried("tampering");
        const copy = bytes.slice();
        copy[i]! ^= 1 << (i % 8) | 0x80; // a different 1-2 bit change at each offset
        const { err, file } = await loadFails(
          "flip.yaml",
          replaceOnce(smallText, blob, bytesBlob(copy)),
          cache,
        );
        codes.push(
          expectTyped(`byte ${i} flipped`, err, {
            codes: TAMPER_CODES,
            file,
            line,
            path: "db.password",
          }).code,
        );
        done();
      }
      note("tampering", `byte flips (${bytes.length}): ${codeTally(codes)}`);
      // Only the one genuine data key can be in the cache: no failed unwrap was kept.
      expect(cache.stats().size).toBeLessThanOrEqual(1);
      await loadsIntact(cache);
    });

    it("every truncation of a blob in a file: BLOB_MALFORMED or BLOB_AUTH_FAILED at file:line", async () => {
      const smallText = small.toString();
      const blob = blobAt(small, "db.password");
      const line = lineOf(smallText, blob);
      const cache = new DekCache();
      const codes: string[] = [];
      for (let n = BLOB_PREFIX.length; n < blob.length; n++) {
        const done = tried("tampering");
        const { err, file } = await loadFails(
          "trunc.yaml",
          replaceOnce(smallText, blob, blob.slice(0, n)),
          cache,
        );
        // Cut to the bare prefix, `token: sealfig:v1:` is no longer a scalar but a nested map.
        const bare = n === BLOB_PREFIX.length;
        codes.push(
          expectTyped(`truncated to ${n}`, err, {
            codes: bare ? ["YAML_SYNTAX"] : ["BLOB_MALFORMED", "BLOB_AUTH_FAILED"],
            file,
            line,
            ...(bare ? {} : { path: "db.password" }),
          }).code,
        );
        done();
      }
      note("tampering", `truncations (${blob.length - BLOB_PREFIX.length}): ${codeTally(codes)}`);
      await loadsIntact(cache);
    });

    it("header fields swapped between two blobs, and a key slot from another data key, fail authentication", async () => {
      const cache = new DekCache();
      const a = parseBlob(blobAt(sealed, "db.password")); // string
      const b = parseBlob(blobAt(sealed, "db.port")); // integer, same data key
      const c = parseBlob(blobAt(perValue, "api.token")); // another data key
      const line = lineOf(text, blobAt(sealed, "db.password"));
      const variants: [string, string][] = [
        ["salt", rebuild(a, { salt: b.salt })],
        ["IV", rebuild(a, { iv: b.iv })],
        ["commitment", rebuild(a, { commitment: b.commitment })],
        ["value type", rebuild(a, { valueType: b.valueType })],
        ["salt+IV+commitment", rebuild(a, { salt: b.salt, iv: b.iv, commitment: b.commitment })],
        ["ciphertext", rebuild(a, { ciphertext: b.ciphertext })],
        [
          "key slot of another data key",
          rebuild(a, {
            keyId: c.keyId,
            wrappedDek: c.wrappedDek,
          }),
        ],
        [
          "everything but the key slot from another data key",
          rebuild(c, {
            keyId: a.keyId,
            wrappedDek: a.wrappedDek,
          }),
        ],
      ];
      for (const [what, blob] of variants) {
        await attempt("tampering", async () => {
          const { err, file } = await loadFails(
            "swap.yaml",
            replaceOnce(text, blobAt(sealed, "db.password"), blob),
            cache,
          );
          expectTyped(`swapped ${what}`, err, {
            codes: ["BLOB_AUTH_FAILED"],
            file,
            line,
            path: "db.password",
          });
        });
      }
      // The key slot of another value under the same data key is a re-wrap: it opens, to a's value.
      await attempt("tampering", async () => {
        const same = rebuild(a, { keyId: b.keyId, wrappedDek: b.wrappedDek });
        const file = dir.write(
          "same-dek.yaml",
          replaceOnce(text, blobAt(sealed, "db.password"), same),
        );
        const config = await loadConfig(
          noIntegrity({ files: [file], providers: [local], cache, context: CONTEXT }),
        );
        expect(config).toEqual(expected);
      });
      await loadsIntact(cache);
    });

    it("every changed commitment byte, and every re-labelled type, fail with BLOB_AUTH_FAILED", async () => {
      const cache = new DekCache();
      const blob = blobAt(sealed, "db.port");
      const a = parseBlob(blob);
      const line = lineOf(text, blob);
      const variants: [string, string][] = [];
      for (let i = 0; i < a.commitment.length; i++) {
        const commitment = a.commitment.slice();
        commitment[i]! ^= 0x01;
        variants.push([`commitment byte ${i}`, rebuild(a, { commitment })]);
      }
      for (const t of Object.keys(ValueType) as ValueTypeName[]) {
        if (t !== a.valueType) variants.push([`type ${t}`, rebuild(a, { valueType: t })]);
      }
      for (const [what, changed] of variants) {
        await attempt("tampering", async () => {
          const { err, file } = await loadFails(
            "commit.yaml",
            replaceOnce(text, blob, changed),
            cache,
          );
          expectTyped(what, err, { codes: ["BLOB_AUTH_FAILED"], file, line, path: "db.port" });
        });
      }
      await loadsIntact(cache);
    });

    it("a blob moved to another path (map key, key with a dot, sequence item) fails there", async () => {
      const cache = new DekCache();
      const pw = blobAt(sealed, "db.password");
      const moves: [string, string, string][] = [
        ["db.host", "  host: db.internal", `  host: ${pw}`],
        ['["db.password"]', '"db.password": plain-value', `"db.password": ${pw}`],
        ["servers[0].name", "  - name: a", `  - name: ${pw}`],
      ];
      for (const [path, from, to] of moves) {
        await attempt("tampering", async () => {
          const content = replaceOnce(text, from, to);
          const { err, file } = await loadFails("moved.yaml", content, cache);
          expectTyped(`moved to ${path}`, err, {
            codes: ["BLOB_AUTH_FAILED"],
            file,
            line: lineOf(content, to),
            path,
          });
        });
      }
      await loadsIntact(cache);
    });

    it("a blob moved into another file with another context fails there (DEK_UNWRAP_FAILED)", async () => {
      const cache = new DekCache();
      await attempt("tampering", async () => {
        const otherCtx = { app: "adversarial", env: "prod" };
        const other = await sealText("db:\n  password: !secret other\n", { context: otherCtx });
        const pw = blobAt(sealed, "db.password");
        const content = replaceOnce(other.toString(), blobAt(other, "db.password"), pw);
        const { err, file } = await loadFails("prod.yaml", content, cache, [local], otherCtx);
        expectTyped("moved to another file", err, {
          codes: ["DEK_UNWRAP_FAILED"],
          file,
          line: 2,
          path: "db.password",
        });
        expect(cache.stats().size).toBe(0);
      });
      await loadsIntact(cache);
    });

    it("two values' blobs exchanged: the load fails at one of them", async () => {
      const cache = new DekCache();
      for (const [p, q] of [["db.password", "api.token"], ["api.token", "servers[0].key"]]) {
        await attempt("tampering", async () => {
          const x = blobAt(sealed, p!), y = blobAt(sealed, q!);
          const content = replaceOnce(replaceOnce(text, x, "@@X@@"), y, x).replace("@@X@@", y);
          const { err, file } = await loadFails("exchanged.yaml", content, cache);
          const e = expectTyped(`exchanged ${p} and ${q}`, err, {
            codes: ["BLOB_AUTH_FAILED"],
            file,
          });
          expect([p, q]).toContain(e.path);
          expect(e.line).toBe(lineOf(content, e.path === p ? y : x));
        });
      }
      await loadsIntact(cache);
    });

    it("a key slot naming another provider or another key fails before or at unwrapping", async () => {
      const cache = new DekCache();
      const blob = blobAt(sealed, "db.password");
      const a = parseBlob(blob);
      const line = lineOf(text, blob);
      const arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
      // [what, blob, codes with the default key allowlist, codes when every key is trusted]
      const variants: [string, string, string[], string[]][] = [
        ["provider aws-kms (not configured)", rebuild(a, { providerId: "aws-kms" }), [
          "KEY_UNTRUSTED",
          "PROVIDER_UNKNOWN",
        ], ["PROVIDER_UNKNOWN"]],
        ["provider vault", rebuild(a, { providerId: "vault" }), [
          "KEY_UNTRUSTED",
          "PROVIDER_UNKNOWN",
        ], ["PROVIDER_UNKNOWN"]],
        ["another local key that exists", rebuild(a, { keyId: key2.id }), [
          "DEK_UNWRAP_FAILED",
        ], ["DEK_UNWRAP_FAILED"]],
        ["a local key nobody has", rebuild(a, { keyId: "lk_0000000000000000" }), [
          "KEY_UNTRUSTED",
          "KEY_NOT_FOUND",
        ], ["KEY_NOT_FOUND"]],
        ["a KMS key ARN under the local provider", rebuild(a, { keyId: arn }), [
          "KEY_UNTRUSTED",
          "KEY_NOT_FOUND",
        ], ["KEY_NOT_FOUND"]],
      ];
      for (const [what, changed, codes, anyCodes] of variants) {
        const content = replaceOnce(text, blob, changed);
        await attempt("tampering", async () => {
          const { err, file } = await loadFails("slot.yaml", content, cache);
          expectTyped(what, err, { codes, file, line, path: "db.password" });
        });
        await attempt("tampering", async () => {
          const { err, file } = await loadFails(
            "slot.yaml",
            content,
            cache,
            [local],
            CONTEXT,
            "any",
          );
          expectTyped(`${what}, every key trusted`, err, {
            codes: anyCodes,
            file,
            line,
            path: "db.password",
          });
        });
      }
      // A provider that has only key 2 cannot open what key 1 wrapped.
      await attempt("tampering", async () => {
        const only2 = new LocalKeyProvider({ keys: [key2.key] });
        // (a fresh cache: a cache shared with a provider that holds key 1 would answer)
        const fresh = new DekCache();
        const { err, file } = await loadFails(
          "other-key.yaml",
          text,
          fresh,
          [only2],
          CONTEXT,
          "any",
        );
        expectTyped("provider without the key", err, { codes: ["KEY_NOT_FOUND"], file });
      });
      expect(cache.stats().size).toBeLessThanOrEqual(1);
      await loadsIntact(cache);
    });
  });
}
