/**
 * What the CLI tests of age and several keys share: the committed age identities (made by
 * Debian's age-keygen, tests/fixtures/age), an environment with no key anywhere, and the blobs of
 * a file's text.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** tests/fixtures/age/keys.txt as written by age-keygen: comments, then one identity per key. */
export const AGE_KEYS_TEXT: string = readFileSync(
  new URL("../fixtures/age/keys.txt", import.meta.url),
  "utf8",
);

/** The fixture's identities (`AGE-SECRET-KEY-1…`), in file order. */
export const AGE_IDENTITIES: string[] = AGE_KEYS_TEXT.split("\n").filter((l) =>
  l.startsWith("AGE-SECRET-KEY-1")
);

/** The fixture's recipients (`age1…`), in the order of their identities. */
export const AGE_RECIPIENTS: string[] = [...AGE_KEYS_TEXT.matchAll(/# public key: (age1\S+)/g)]
  .map((m) => m[1]!);

/**
 * Environment overrides for a CLI process with no key anywhere: HOME and XDG_CONFIG_HOME under
 * `root` (created, empty), a local key file that does not exist, no key, trust or generation
 * variables.
 */
export function noKeysEnv(root: string): Record<string, string | undefined> {
  const env = {
    HOME: join(root, "home"),
    XDG_CONFIG_HOME: join(root, "home", ".config"),
    SEALFIG_AGE_KEY: undefined,
    SEALFIG_AGE_KEY_FILE: undefined,
    SEALFIG_KEY: undefined,
    SEALFIG_KEY_FILE: join(root, "home", "no-local-keys"),
    SEALFIG_TRUSTED_KEYS: undefined,
    SEALFIG_KMS_KEY: undefined,
    SEALFIG_MIN_GENERATION: undefined,
  };
  mkdirSync(env.XDG_CONFIG_HOME, { recursive: true });
  return env;
}

/** Every blob in a file's text, in order. */
export const blobsOf = (text: string): string[] =>
  [...text.matchAll(/sealfig:v[12]:[A-Za-z0-9_-]+/g)].map((m) => m[0]);
