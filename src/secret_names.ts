/**
 * Which key names are secret by name: the built-in matcher the rules use when a rule has no
 * `secret:` regex (docs/rules.md, "Secret names").
 *
 * A name is split into lower-case words whatever its spelling: `DB_PASSWORD`, `db-password`,
 * `dbPassword`, `DbPassword`, `db.password` all become `db password`. It is secret when
 *
 * 1. one of its words is a secret word (`password`, `passwd`, `pwd` after another word, `pass`,
 *    `passphrase`, `secret`, `token`, `credential(s)`, `creds`, `dsn`, `salt`, `mnemonic`, …), or
 *    a single word ends with one of the long ones (`dbpassword`, `apikey`, `authtoken`); `pat`
 *    after another word; `auth` as the last word; a plural counts as its singular, or
 * 2. its words contain `key` after a word that makes a key secret (`api`, `private`, `secret`,
 *    `signing`, `encryption`, `master`, `app`, `auth`, `client`, `license`, …), or
 *    `connection string`;
 *
 * unless its LAST word says the value is about the secret rather than the secret itself
 * (`token_url`, `secret_name`, `password_hash`, `key_id`, `private_key_path`, `token_ttl`,
 * `password_min_length`, `password_enabled` …), its FIRST word is a flag verb (`use_`, `enable_`,
 * `has_`, `is_`, `require_` …), or it is marked public (`public_key`, `publishable_key`,
 * `NEXT_PUBLIC_API_KEY`).
 *
 * The word lists are below; the test table (tests/secret_names.test.ts) pins real-world names.
 *
 * @module
 */

/** Something that says whether a key name is secret; a `RegExp` is one. */
export interface SecretNameMatcher {
  /** True when values under the key `name` are secret. */
  test(name: string): boolean;
}

/** Words that make a name secret wherever they appear. */
const SECRET_WORDS: ReadonlySet<string> = new Set([
  "password",
  "passwd",
  "pass",
  "passphrase",
  "passcode",
  "passwort",
  "contrasena",
  "contraseña",
  "senha",
  "secret",
  "token",
  "credential",
  "credentials",
  "creds",
  "dsn",
  "salt",
  "mnemonic",
  "apikey",
  "privkey",
]);

/**
 * Secret words a single run of letters may end with (`dbpassword`, `mytoken`, `apikey`): long
 * enough not to end ordinary words (`pass` ends `bypass`, so it is not here).
 */
const SECRET_SUFFIXES: readonly string[] = [
  "password",
  "passwd",
  "passphrase",
  "secret",
  "token",
  "credentials",
  "apikey",
  "privatekey",
  "secretkey",
];

/**
 * `pwd` counts only after another word (`DB_PWD`): alone it is the shell's working directory;
 * `pat` (a personal access token: `GITHUB_PAT`) likewise.
 */
const SECRET_AFTER_WORD: ReadonlySet<string> = new Set(["pwd", "pat"]);

/** Words secret as the LAST word of a name (`auth`, `basic_auth`; not `auth_method`). */
const SECRET_LAST_WORDS: ReadonlySet<string> = new Set(["auth"]);

/**
 * A word and, for a plural (`passwords`, `apiKeys`, `client_secrets`, `privateKeys`), its singular:
 * a plural name usually holds a list of the secrets it names.
 */
function singular(w: string): string {
  if (w.length > 4 && /(?:ss|x|ch|sh)es$/.test(w)) return w.slice(0, -2); // hashes, indexes
  return w.length > 3 && w.endsWith("s") && !w.endsWith("ss") ? w.slice(0, -1) : w;
}

/** Words that make a following `key` secret (`api_key`, `privateKey`, `APP_KEY`). */
const KEY_QUALIFIERS: ReadonlySet<string> = new Set([
  "api",
  "private",
  "priv",
  "secret",
  "signing",
  "sign",
  "encryption",
  "encrypt",
  "decryption",
  "master",
  "app",
  "auth",
  "service",
  "account",
  "client",
  "hmac",
  "session",
  "shared",
  "ssh",
  "deploy",
  "crypto",
  "cipher",
  "aes",
  "license",
  "licence",
  "jwt",
  "storage",
  "db",
  "database",
  "consumer",
  "subscription",
  "admin",
  "root",
  "gpg",
  "pgp",
  "rsa",
  "webhook",
  "cookie",
]);

/**
 * Last words that make a name describe a secret rather than hold one: where it is, what it is
 * called, how it is made or checked, and flags.
 */
const DESCRIPTOR_LAST_WORDS: ReadonlySet<string> = new Set([
  // where or what it is
  "url",
  "uri",
  "urls",
  "endpoint",
  "host",
  "hostname",
  "port",
  "name",
  "names",
  "id",
  "ids",
  "arn",
  "file",
  "filename",
  "path",
  "dir",
  "directory",
  "location",
  "ref",
  "env",
  "var",
  "field",
  "param",
  "header",
  "label",
  "description",
  "provider",
  "store",
  "manager",
  "backend",
  "source",
  "command",
  "cmd",
  "helper",
  "issuer",
  "audience",
  "scope",
  "scopes",
  "region",
  "type",
  "kind",
  "format",
  "prefix",
  "version",
  // how it is made, checked or expires
  "hash",
  "hashed",
  "digest",
  "algorithm",
  "algo",
  "alg",
  "method",
  "policy",
  "rule",
  "mode",
  "strength",
  "regex",
  "pattern",
  "rounds",
  "iterations",
  "cost",
  "rotation",
  "ttl",
  "expiry",
  "expiration",
  "expires",
  "lifetime",
  "expire",
  "in", // expires_in
  "ms",
  "sec",
  "secs",
  "seconds",
  "mins",
  "minutes",
  "hours",
  "days",
  "interval",
  "delay",
  "retries",
  "attempts",
  "timeout",
  "duration",
  "age",
  "length",
  "len",
  "size",
  "min",
  "max",
  "count",
  "limit",
  "at",
  "date",
  "time",
  "timestamp",
  // flags
  "enabled",
  "disabled",
  "enable",
  "disable",
  "required",
  "optional",
]);

/**
 * First words that make a name a flag or a quantity (`use_ssl_password`, `has_token`,
 * `require_password`, `max_tokens`).
 */
const FLAG_FIRST_WORDS: ReadonlySet<string> = new Set([
  "use",
  "enable",
  "enabled",
  "disable",
  "disabled",
  "require",
  "requires",
  "allow",
  "has",
  "is",
  "skip",
  "no",
  "show",
  "hide",
  "should",
  "can",
  "must",
  // quantities (`max_tokens`, `num_passwords`)
  "max",
  "min",
  "num",
  "total",
]);

/** Words that say the value is meant to be public (`public_key`, `NEXT_PUBLIC_API_KEY`). */
const PUBLIC_WORDS: ReadonlySet<string> = new Set(["public", "publishable"]);

/**
 * Whole names (as their words joined by spaces) that contain a secret word but are well known to
 * hold something else: `GOOGLE_APPLICATION_CREDENTIALS` is the path of a credentials file.
 */
const NOT_SECRET_NAMES: ReadonlySet<string> = new Set(["google application credentials"]);

/**
 * Split a key name into lower-case words: separators (`_`, `-`, `.`, spaces and any other
 * non-alphanumeric character), lower→upper case changes (`dbPassword`), the end of an acronym
 * (`APIKey` → `api key`) and letter↔digit changes (`aes256Key` → `aes 256 key`).
 *
 * @example
 * ```ts
 * import { secretNameWords } from "./secret_names.ts";
 * secretNameWords("stripeSecretKey"); // ["stripe", "secret", "key"]
 * secretNameWords("AWS_SECRET_ACCESS_KEY"); // ["aws", "secret", "access", "key"]
 * ```
 */
export function secretNameWords(name: string): string[] {
  const out: string[] = [];
  for (const part of name.split(/[^\p{L}\p{N}]+/u)) {
    if (!part) continue;
    const spaced = part
      .replace(/(\p{Ll})(\p{Lu})/gu, "$1 $2")
      .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, "$1 $2")
      .replace(/(\p{L})(\p{N})/gu, "$1 $2")
      .replace(/(\p{N})(\p{L})/gu, "$1 $2");
    for (const w of spaced.split(" ")) if (w) out.push(w.toLowerCase());
  }
  return out;
}

/**
 * The built-in secret-name rule: true when values under the key `name` should be sealed even
 * without `!secret`. Case-insensitive, any spelling (snake, kebab, camel, Pascal, SCREAMING,
 * dotted). See the module documentation for the rule and docs/rules.md for the decisions.
 *
 * @example
 * ```ts
 * import { isSecretName } from "./secret_names.ts";
 * isSecretName("DB_PASSWORD"); // true
 * isSecretName("stripeSecretKey"); // true
 * isSecretName("token_url"); // false: a URL, not a token
 * isSecretName("public_key"); // false
 * ```
 */
export function isSecretName(name: string): boolean {
  const words = secretNameWords(name);
  if (words.length === 0) return false;
  const last = words[words.length - 1]!;
  if (words.length > 1 && DESCRIPTOR_LAST_WORDS.has(last)) return false;
  if (words.length > 1 && FLAG_FIRST_WORDS.has(words[0]!)) return false;
  if (words.some((w) => PUBLIC_WORDS.has(w))) return false;
  if (NOT_SECRET_NAMES.has(words.join(" "))) return false;
  if (words.length > 1 && DESCRIPTOR_LAST_WORDS.has(singular(last))) return false;
  if (SECRET_LAST_WORDS.has(last)) return true;
  for (let i = 0; i < words.length; i++) {
    for (const w of new Set([words[i]!, singular(words[i]!)])) {
      if (SECRET_WORDS.has(w)) return true;
      if (i > 0 && SECRET_AFTER_WORD.has(w)) return true;
      if (SECRET_SUFFIXES.some((s) => w.length > s.length && w.endsWith(s))) return true;
      if (w === "key" && words.slice(0, i).some((q) => KEY_QUALIFIERS.has(q))) return true;
      if (w === "string" && i > 0 && ["connection", "conn"].includes(words[i - 1]!)) return true;
      if (w === "connstr" || w === "connectionstring") return true;
    }
  }
  return false;
}

/**
 * The built-in matcher as a {@link SecretNameMatcher}.
 *
 * @example
 * ```ts
 * import { BUILTIN_SECRET_NAMES } from "./secret_names.ts";
 * BUILTIN_SECRET_NAMES.test("GithubToken"); // true
 * ```
 */
export const BUILTIN_SECRET_NAMES: SecretNameMatcher = { test: isSecretName };

/**
 * The `secret:` regex `sealfig init` wrote before the built-in matcher existed. A rules file that
 * still has exactly this text gets the built-in matcher as well (every name the old regex matched
 * still matches): it was a default, not a choice.
 *
 * @example
 * ```ts
 * import { LEGACY_DEFAULT_SECRET, secretMatcher } from "./secret_names.ts";
 * secretMatcher(LEGACY_DEFAULT_SECRET).test("DB_PASSWORD"); // true (the old regex alone: false)
 * ```
 */
export const LEGACY_DEFAULT_SECRET = "(password|passwd|token|secret|api_?key|private_?key)$";

const NOTHING: SecretNameMatcher = { test: () => false };

/**
 * The matcher for a rule's `secret:` field: absent or `true` → the built-in matcher; `false` →
 * no value is secret by name; a string → that regular expression, as written (case-sensitive
 * unless it says otherwise), except {@link LEGACY_DEFAULT_SECRET}, which becomes the built-in
 * matcher or the old regex. The caller has checked that the regex compiles.
 *
 * @example
 * ```ts
 * import { secretMatcher } from "./secret_names.ts";
 * secretMatcher(undefined).test("apiKey"); // true
 * secretMatcher("^pin$").test("apiKey"); // false: an explicit regex keeps its meaning
 * secretMatcher(false).test("password"); // false
 * ```
 */
export function secretMatcher(spec: string | boolean | undefined): SecretNameMatcher {
  if (spec === undefined || spec === true) return BUILTIN_SECRET_NAMES;
  if (spec === false) return NOTHING;
  const re = new RegExp(spec);
  if (spec === LEGACY_DEFAULT_SECRET) return { test: (n) => re.test(n) || isSecretName(n) };
  return re;
}

/**
 * The key name the secret-name rule is tested against for a value at `path`: its last segment,
 * or, for a value directly in a sequence (`tokens: [a, b]`), the name of the nearest map key
 * above it. `undefined` for a value with no map key above it.
 *
 * @example
 * ```ts
 * import { secretNameOf } from "./secret_names.ts";
 * secretNameOf(["db", "password"]); // "password"
 * secretNameOf(["api", "tokens", 0]); // "tokens"
 * ```
 */
export function secretNameOf(path: readonly (string | number)[]): string | undefined {
  for (let i = path.length - 1; i >= 0; i--) {
    const seg = path[i];
    if (typeof seg === "string") return seg;
  }
  return undefined;
}
