/**
 * `keys: [...]` in the rules file (docs/rules.md, "Several keys"): the policy's key list in order,
 * every listed key trusted, `key` still working, and the malformed forms refused as RULES_INVALID.
 */
import { afterAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { policyFor } from "../../src/policy.ts";
import { SealfigError } from "../../src/errors.ts";
import { makeTempDir } from "../_helpers/tmp_dir.ts";

const tmp = makeTempDir("sealfig-rules-keys-");
afterAll(() => tmp.cleanup());

const A = "local:lk_0123456789abcdef";
const B = "arn:aws:kms:us-east-1:444455556666:key/abcd1234-ab12-cd34-ef56-abcdef123456";
const C = "local:lk_fedcba9876543210";

let n = 0;
function rules(text: string): string {
  n++;
  const file = join(tmp.dir, `rules${n}.yaml`);
  writeFileSync(file, text, { mode: 0o644 });
  return file;
}

async function failure(p: Promise<unknown>): Promise<SealfigError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SealfigError);
  return err as SealfigError;
}

describe("rules: keys: [...]", () => {
  it("gives the policy the keys in order, the first as key, and trusts every one", async () => {
    const file = rules(`rules:\n  - files: x\n    keys: [${A}, ${B}, ${C}]\n`);
    const p = await policyFor(join(tmp.dir, "x.yaml"), { rules: file });
    expect(p.keys.map((k) => `${k.providerId}:${k.keyId}`)).toEqual([A, `aws-kms:${B}`, C]);
    expect(p.key).toEqual(p.keys[0]);
    for (const k of p.keys) expect(await p.trust.isTrusted(k, [])).toBe(true);
  });

  it("a single key: keeps working as a one-key list", async () => {
    const file = rules(`rules:\n  - files: x\n    key: ${A}\n`);
    const p = await policyFor(join(tmp.dir, "x.yaml"), { rules: file });
    expect(p.keys.map((k) => `${k.providerId}:${k.keyId}`)).toEqual([A]);
  });

  it("--key given several times replaces the list (and is trusted)", async () => {
    const file = rules(`rules:\n  - files: x\n    key: ${A}\n`);
    const p = await policyFor(join(tmp.dir, "x.yaml"), { rules: file, key: [C, A, C] });
    expect(p.keys.map((k) => `${k.providerId}:${k.keyId}`)).toEqual([C, A]);
    expect(await p.trust.isTrusted({ providerId: "local", keyId: C.slice(6) }, [])).toBe(true);
  });

  it("refuses key and keys together, a key listed twice, an empty list, and 17 keys", async () => {
    const seventeen = Array.from(
      { length: 17 },
      (_, i) => `local:lk_${i.toString(16).padStart(16, "0")}`,
    );
    const codes: string[] = [];
    for (
      const body of [
        `key: ${A}\n    keys: [${C}]`,
        `keys: [${A}, ${A}]`,
        `keys: []`,
        `keys: [${seventeen.join(", ")}]`,
        `keys: [not-a-key]`,
      ]
    ) {
      const file = rules(`rules:\n  - files: x\n    ${body}\n`);
      codes.push((await failure(policyFor(join(tmp.dir, "x.yaml"), { rules: file }))).code);
    }
    // A malformed reference is OPTION_INVALID, as in `key:` (parseKeyRef).
    expect(codes).toEqual([
      "RULES_INVALID",
      "RULES_INVALID",
      "RULES_INVALID",
      "RULES_INVALID",
      "OPTION_INVALID",
    ]);
  });
});
