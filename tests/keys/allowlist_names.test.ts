/**
 * Trust decisions by key name stay exact however many names a process has seen: the canonical
 * form of a key name is memoised (src/keys/allowlist.ts, bounded, restarted when full), and a
 * decision after the memo restarted must equal the one before.
 */
import { describe, expect, it } from "vitest";
import { KeyAllowlist } from "../../document.ts";

const kms = (n: number) =>
  `arn:aws:kms:eu-west-1:111122223333:key/${
    n.toString(16).padStart(8, "0")
  }-0000-4000-8000-000000000000`;

describe("KeyAllowlist names", () => {
  it("answers the same before and after thousands of other names (the memo restarts)", async () => {
    const trusted = KeyAllowlist.of([kms(1), "local:lk_0123456789abcdef"]);
    const ask = (providerId: string, keyId: string) => [
      trusted.trustedNow({ providerId, keyId }),
    ];
    const before = [
      ask("aws-kms", kms(1)),
      ask("aws-kms", kms(2)),
      ask("local", "lk_0123456789abcdef"),
      ask("local", "lk_fedcba9876543210"),
      ask("aws-kms", "arn:aws:kms:eu-west-1:111122223333:key/*"), // malformed: never trusted
    ];
    expect(before.flat()).toEqual([true, false, true, false, false]);
    // More distinct names than the memo holds (4,096), trusted and not, through both paths.
    for (let n = 10; n < 10_000; n++) {
      expect(trusted.trustedNow({ providerId: "aws-kms", keyId: kms(n) })).toBe(false);
      expect(
        await trusted.isTrusted({
          providerId: "local",
          keyId: `lk_${n.toString(16).padStart(16, "0")}`,
        }, []),
      )
        .toBe(false);
    }
    const after = [
      ask("aws-kms", kms(1)),
      ask("aws-kms", kms(2)),
      ask("local", "lk_0123456789abcdef"),
      ask("local", "lk_fedcba9876543210"),
      ask("aws-kms", "arn:aws:kms:eu-west-1:111122223333:key/*"),
    ];
    expect(after).toEqual(before);
  });
});
