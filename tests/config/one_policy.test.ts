/**
 * One policy: src/policy.ts is the only module that decides a file's keys, context, trusted keys
 * and integrity (docs/architecture.md). Checked on the sources: the calls that make those
 * decisions (reading the rules file, picking a file's rule, reading the variables that choose
 * keys, trust and the rollback guard, building an allowlist) appear in no other module than
 * policy.ts and the modules that implement them (rules.ts, keys/allowlist.ts). The one exception
 * is named: textconv finds the top level's rules file for a temporary copy and hands it to
 * policy.ts's policiesOfRules.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const src = fileURLToPath(new URL("../../src/", import.meta.url));

/** A decision, and the modules allowed to make it. */
const DECISIONS: { what: string; pattern: RegExp; allowed: string[] }[] = [
  { what: "reads the rules file", pattern: /\breadRules\(/, allowed: ["policy.ts", "rules.ts"] },
  {
    what: "picks a file's rule",
    pattern: /\b(ruleFor|loadRuleFor|trustedKeysOf)\(/,
    allowed: ["policy.ts", "rules.ts"],
  },
  {
    what: "finds the rules file",
    pattern: /\bfindRulesFile(From)?\(/,
    allowed: ["policy.ts", "rules.ts", "cli/commands/textconv.ts"],
  },
  {
    what: "reads a variable that chooses keys, trust or the rollback guard",
    pattern: /["'`]SEALFIG_(TRUSTED_KEYS|MIN_GENERATION|KMS_KEY)["'`]/,
    allowed: ["policy.ts", "keys/aws_kms.ts"],
  },
  {
    what: "decides which keys are trusted",
    pattern: /\bKeyAllowlist\.(of|from|any)\(|\bparseTrustedKeys\(/,
    allowed: ["policy.ts", "keys/allowlist.ts"],
  },
];

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (p.endsWith(".ts")) yield p;
  }
}

/** Code lines (comments and JSDoc left out) of every module, by path relative to src/. */
function codeLines(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of sources(src)) {
    const lines = readFileSync(file, "utf8").split("\n").filter((l) => {
      const t = l.trim();
      return !(t.startsWith("//") || t.startsWith("*") || t.startsWith("/*"));
    });
    out.set(file.slice(src.length).replaceAll("\\", "/"), lines);
  }
  return out;
}

describe("src/policy.ts is the one place that decides keys, contexts, trust and integrity", () => {
  const modules = codeLines();

  for (const d of DECISIONS) {
    it(`only ${d.allowed.join(", ")} ${d.what}`, () => {
      const users = [...modules].filter(([, lines]) => lines.some((l) => d.pattern.test(l)))
        .map(([path]) => path);
      // The decision is made somewhere (the pattern sees it) …
      expect(users.some((u) => d.allowed.includes(u))).toBe(true);
      // … and nowhere else.
      expect(users.filter((u) => !d.allowed.includes(u))).toEqual([]);
    });
  }
});
