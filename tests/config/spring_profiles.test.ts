/**
 * Spring Boot reads `spring.config.activate.on-profile` after flattening keys (nested maps and
 * dotted keys are one property) and binds it relaxed (`onProfile`, `on_profile`): every spelling
 * selects the document, so the loader must honour (or refuse) every spelling, never load a
 * profile document under every profile because it was spelt another way.
 */
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../mod.ts";
import { isSealfigError } from "../../src/errors.ts";

const DEEP = !!process.env.SEALFIG_TEST_DEEP;
const dir = mkdtempSync(join(tmpdir(), "sealfig-spring-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `segments` written as nested maps, split into dotted keys at the chosen boundaries. */
function nest(segments: string[], splits: boolean[], value: string): string {
  const keys: string[] = [];
  let cur = segments[0]!;
  for (let i = 1; i < segments.length; i++) {
    if (splits[i - 1]) {
      keys.push(cur);
      cur = segments[i]!;
    } else cur += `.${segments[i]}`;
  }
  keys.push(cur);
  return keys.map((k, i) => `${"  ".repeat(i)}${k}:`).join("\n") + ` ${value}\n`;
}

async function load(text: string, profiles: string[]): Promise<unknown> {
  const file = join(dir, "application.yml");
  writeFileSync(file, `a: base\n---\n${text}a: selected\n`);
  try {
    return ((await loadConfig({
      files: [file],
      rules: false,
      integrity: "off",
      trustedKeys: "any",
      profiles,
    })) as { a: string }).a;
  } catch (err) {
    if (!isSealfigError(err)) throw err;
    return err.code;
  }
}

describe("Spring profile selectors in every spelling", () => {
  it("property: a selector spelt any way loads only under its profile", async () => {
    const onProfile = fc.constantFrom("on-profile", "onProfile", "on_profile", "ON-PROFILE");
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        onProfile,
        fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        async (last, splits) => {
          const text = nest(["spring", "config", "activate", last], splits, "dev");
          expect(await load(text, ["prod"])).toBe("base");
          expect(await load(text, ["dev"])).toBe("selected");
          runs++;
        },
      ),
      { numRuns: DEEP ? 200 : 24 },
    );
    expect(runs).toBeGreaterThan(0);
  });

  it("other conditions, the legacy key, two selectors and non-text names are refused in any spelling", async () => {
    for (
      const text of [
        nest(["spring", "config", "activate", "on-cloud-platform"], [false, false, false], "k8s"),
        nest(["spring", "config", "activate", "onCloudPlatform"], [true, true, true], "k8s"),
        "spring.profiles: dev\n",
        "spring:\n  profiles: dev\n",
        "spring.config.activate.on-profile: prod\nspring:\n  config:\n    activate:\n      " +
        "on-profile: dev\n",
        "spring.config.activate.on-profile: 0x10\n",
        "spring.config.activate.on-profile: true\n",
      ]
    ) {
      expect(await load(text, ["dev"]), text).toBe("YAML_UNSUPPORTED");
    }
  });

  it("the profile default is active when no other is, as in Spring", async () => {
    const text = "spring.config.activate.on-profile: default\n";
    expect(await load(text, [])).toBe("selected");
    expect(await load(text, ["prod"])).toBe("base");
  });
});
