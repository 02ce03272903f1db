/**
 * Whole-file integrity at load time: a stamped file loads (one extra provider call); every change
 * made outside sealfig — a plaintext value, a deleted or added key, reordered sequence items, a
 * truncation at any line boundary, an older valid blob swapped back in — is refused by the loader
 * with an error naming the file; an older valid file is refused under a pinned generation.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import process from "node:process";
import {
  DekCache,
  parseDocument,
  readIntegrityRecord,
  sealDocument,
  setSecret,
  setValue,
  stampDocument,
  unsetValue,
} from "../../document.ts";
import { createLoader, loadConfig, loadConfigWithReport } from "../../mod.ts";
import type { SealfigDocument } from "../../document.ts";
import type { KeyProvider, LoadConfigOptions } from "../../mod.ts";
import { isSealfigError, type SealfigError } from "../../src/errors.ts";
import { INTEGRITY_KEY } from "../../src/integrity/record.ts";
import { makeTempDir, type TempDir } from "../_helpers/tmp_dir.ts";
import { testKey } from "../document/_fixture.ts";

const CANARY = "canary-integrity-9d1f";
const CONTEXT = { app: "shop", env: "prod" };
const PLAIN = `# shop, production
db:
  host: db.internal   # primary
  port: 5432
  password: !secret ${CANARY}
  tls: true
servers:
  - a.internal
  - b.internal
  - c.internal
limits: { rps: 100, burst: 20 }
ratio: 0.5
note: "quoted"
`;

let t: TempDir;
let key: Awaited<ReturnType<typeof testKey>>;
let stamped: SealfigDocument;
let file: string;

beforeEach(async () => {
  t = makeTempDir("sealfig-integ-");
  key = await testKey();
  const sealed = await sealDocument(parseDocument(PLAIN), {
    provider: key.provider,
    keyId: key.keyId,
    context: CONTEXT,
  });
  stamped = (await stampDocument(sealed.document, {
    provider: key.provider,
    keyId: key.keyId,
    context: CONTEXT,
    generation: 1,
  })).document;
  file = t.write("prod.yaml", stamped.toString());
});
afterEach(() => t.cleanup());

function options(extra: Partial<LoadConfigOptions> = {}): LoadConfigOptions {
  return {
    files: [file],
    providers: [key.counting],
    context: CONTEXT,
    cache: new DekCache(),
    ...extra,
  };
}

async function refused(
  text: string,
  extra: Partial<LoadConfigOptions> = {},
): Promise<SealfigError> {
  t.write("prod.yaml", text);
  try {
    await loadConfig(options(extra));
  } catch (err) {
    if (!isSealfigError(err)) throw err;
    expect(err.file).toBe(file);
    expect(err.message).toContain(file);
    expect(err.message).not.toContain(CANARY);
    return err;
  }
  throw new Error(`loaded a tampered file:\n${text}`);
}

/** The text of `doc` after `edit`, with the (now stale) record line left in place. */
function edited(edit: (d: SealfigDocument) => SealfigDocument): string {
  const out = edit(stamped).toString();
  expect(out).not.toBe(stamped.toString());
  expect(readIntegrityRecord(parseDocument(out))).toEqual(readIntegrityRecord(stamped));
  return out;
}

describe("loadConfig() with integrity records", () => {
  it("verifies a stamped file with one extra provider call; the record is not config", async () => {
    const { config, report } = await loadConfigWithReport(options());
    expect((config.db as Record<string, unknown>).password).toBe(CANARY);
    expect(config[INTEGRITY_KEY]).toBeUndefined();
    expect(report.integrityVerified).toBe(1);
    expect(report.providerCalls).toBe(2); // one value data key + the integrity data key
    const loader = createLoader(options());
    await loader.load();
    const again = await loader.loadWithReport();
    expect(again.report.providerCalls).toBe(0); // both cached
  });

  it("fetches the integrity data key and the values' data keys in one round", async () => {
    // Each unwrap is held until two are in flight (or, if the loader asked one after the
    // other, until a fallback timer lets it go). Two in flight = one round trip, not two.
    let inFlight = 0, maxInFlight = 0;
    const held: (() => void)[] = [];
    const releaseAll = () => held.splice(0).forEach((release) => release());
    const gated: KeyProvider = {
      id: key.counting.id,
      generateDataKey: (k, c) => key.counting.generateDataKey(k, c),
      keyIds: () => key.counting.keyIds(),
      async decryptDataKey(k, w, c) {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await new Promise<void>((resolve) => {
          held.push(resolve);
          if (inFlight >= 2) releaseAll();
          else setTimeout(releaseAll, 300);
        });
        inFlight--;
        return key.counting.decryptDataKey(k, w, c);
      },
    };
    const { config, report } = await loadConfigWithReport(options({ providers: [gated] }));
    expect((config.db as Record<string, unknown>).password).toBe(CANARY);
    expect(report.providerCalls).toBe(2);
    expect(maxInFlight).toBe(2);
  });

  it("names the integrity failure, not a value's, when both fail in the same load", async () => {
    // A blob altered in place (its value fails to open) under a record that no longer matches.
    const text = stamped.toString().replace(
      /(password: sealfig:v1:[A-Za-z0-9_-]+)([A-Za-z0-9_-])(\s)/,
      (_, head: string, last: string, end: string) => `${head}${last === "A" ? "B" : "A"}${end}`,
    );
    expect(text).not.toBe(stamped.toString());
    expect((await refused(text)).code).toBe("INTEGRITY_INVALID");
    expect((await refused(text, { integrity: "off" })).code).toMatch(/^BLOB_/);
  });

  it("rejects every changed plain value (INTEGRITY_INVALID, naming the file)", async () => {
    const plain = stamped.values().filter((v) =>
      v.kind === "plain" && v.pathText !== INTEGRITY_KEY
    );
    expect(plain.length).toBe(10);
    for (const v of plain) {
      const changed = typeof v.value === "number"
        ? v.value + 1
        : typeof v.value === "boolean"
        ? !v.value
        : `${String(v.value)}.evil`;
      const err = await refused(edited((d) => setValue(d, v.path, changed)));
      expect(err.code, v.pathText).toBe("INTEGRITY_INVALID");
      expect(err.message).toContain("changed outside sealfig");
    }
  });

  it("rejects every deleted key, and every added key or item", async () => {
    const paths = [
      "db.host",
      "db.port",
      "db.password",
      "db.tls",
      "db",
      "servers[2]",
      "servers",
      "limits",
      "ratio",
      "note",
    ];
    for (const p of paths) {
      expect((await refused(edited((d) => unsetValue(d, p)))).code, p).toBe("INTEGRITY_INVALID");
    }
    const added: [string, string | number | null][] = [
      ["extra", "x"],
      ["db.user", "app"],
      ["servers[3]", "d.internal"],
      ["limits.window", 60],
      ["db.empty", null],
    ];
    for (const [p, v] of added) {
      expect((await refused(edited((d) => setValue(d, p, v)))).code, p).toBe("INTEGRITY_INVALID");
    }
    const text = stamped.toString();
    for (const extra of ["extra: {}\n", "extra: []\n", "alias: &x 1\nagain: *x\n"]) {
      const err = await refused(text.replace(/^sealfig_integrity:/m, `${extra}sealfig_integrity:`));
      expect(err.code).toBe("INTEGRITY_INVALID");
    }
  });

  it("rejects reordered sequence items", async () => {
    const text = stamped.toString();
    const items = ["  - a.internal\n", "  - b.internal\n", "  - c.internal\n"];
    const orders = [[1, 0, 2], [0, 2, 1], [2, 1, 0], [1, 2, 0], [2, 0, 1]];
    for (const o of orders) {
      const swapped = text.replace(items.join(""), o.map((i) => items[i]).join(""));
      expect(swapped).not.toBe(text);
      expect((await refused(swapped)).code, o.join()).toBe("INTEGRITY_INVALID");
    }
  });

  it("rejects the file truncated at every line boundary that keeps a sealed value", async () => {
    const lines = stamped.toString().split("\n");
    let refusedCuts = 0, plainCuts = 0;
    for (let k = 0; k < lines.length - 1; k++) {
      const cut = lines.slice(0, k).join("\n") + (k > 0 ? "\n" : "");
      if (cut.includes("sealfig:v1:")) {
        expect((await refused(cut)).code, `${k} lines`).toBe("INTEGRITY_MISSING");
        refusedCuts++;
      } else {
        // No sealed value and no record: a plain file, which loads (docs/config.md).
        t.write("prod.yaml", cut);
        await loadConfig(options());
        plainCuts++;
      }
    }
    expect([refusedCuts, plainCuts]).toEqual([9, 5]); // 13 lines of content + the record line
  });

  it("rejects an older valid blob swapped back in after a set", async () => {
    const oldBlob = stamped.get("db.password")!.value as string;
    const changed = await setSecret(stamped, "db.password", "rotated", {
      provider: key.provider,
      keyId: key.keyId,
      context: CONTEXT,
    });
    const gen2 = (await stampDocument(changed, {
      provider: key.provider,
      keyId: key.keyId,
      context: CONTEXT,
      generation: 2,
      reuse: readIntegrityRecord(stamped)!,
    })).document;
    t.write("prod.yaml", gen2.toString());
    expect(((await loadConfig(options())).db as Record<string, unknown>).password).toBe("rotated");
    const newBlob = gen2.get("db.password")!.value as string;
    const swapped = gen2.toString().replace(newBlob, oldBlob);
    expect((await refused(swapped)).code).toBe("INTEGRITY_INVALID");
    // The whole older file is valid on its own; a pinned minimum generation refuses it.
    t.write("prod.yaml", stamped.toString());
    expect(((await loadConfig(options())).db as Record<string, unknown>).password).toBe(CANARY);
    expect((await refused(stamped.toString(), { minGeneration: 2 })).code)
      .toBe("INTEGRITY_ROLLBACK");
    expect((await refused(stamped.toString(), { minGeneration: { [file]: 2 } })).code)
      .toBe("INTEGRITY_ROLLBACK");
    process.env.SEALFIG_MIN_GENERATION = "2";
    try {
      expect((await refused(stamped.toString())).code).toBe("INTEGRITY_ROLLBACK");
    } finally {
      delete process.env.SEALFIG_MIN_GENERATION;
    }
    t.write("prod.yaml", gen2.toString());
    await loadConfig(options({ minGeneration: 2 }));
  });

  it("a missing record: require (default) refuses, if-present loads, off loads anything", async () => {
    const text = stamped.toString().replace(/^sealfig_integrity:.*\n/m, "");
    expect((await refused(text)).code).toBe("INTEGRITY_MISSING");
    const loaded = await loadConfig(options({ integrity: "if-present" }));
    expect((loaded.db as Record<string, unknown>).password).toBe(CANARY);
    // if-present still verifies a record that is there.
    const tampered = stamped.toString().replace("db.internal", "evil.example");
    expect((await refused(tampered, { integrity: "if-present" })).code).toBe("INTEGRITY_INVALID");
    t.write("prod.yaml", tampered);
    const off = await loadConfig(options({ integrity: "off" }));
    expect((off.db as Record<string, unknown>).host).toBe("evil.example");
    expect(off[INTEGRITY_KEY]).toBeUndefined();
  });

  it("rejects a record that is malformed, or under a key that is not trusted", async () => {
    const text = stamped.toString();
    const line = /^sealfig_integrity: (\S+)$/m.exec(text)![1]!;
    const bad = text.replace(line, line.slice(0, 50));
    expect((await refused(bad)).code).toBe("INTEGRITY_MALFORMED");
    // Stamped under a second key the provider holds, but only the first key is trusted.
    const other = await testKey();
    const under2 = (await stampDocument(parseDocument(text), {
      provider: other.provider,
      keyId: other.keyId,
      context: CONTEXT,
      generation: 2,
    })).document.toString();
    const before = key.counting.decryptCalls;
    const err = await refused(under2, { trustedKeys: [`local:${key.keyId}`] });
    expect(err.code).toBe("KEY_UNTRUSTED");
    expect(err.path).toBe(INTEGRITY_KEY);
    expect(err.message).toContain(other.keyId);
    expect(key.counting.decryptCalls).toBe(before); // refused before any provider call
  });
});
