/**
 * The built-in secret-name matcher against a table of real-world key names: environment variable
 * conventions (.env.example files of common frameworks and services, docker-compose images' env
 * vars), Kubernetes/Helm values, Spring/Rails/Django/Laravel settings. Each name is tried in every
 * spelling (snake, SCREAMING, kebab, camel, Pascal, dotted) where it is a multi-word name.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  isSecretName,
  LEGACY_DEFAULT_SECRET,
  secretMatcher,
  secretNameWords,
} from "../src/secret_names.ts";

/** Names that must be secret, with where such names are found. */
const MUST_MATCH: readonly string[] = [
  // databases and caches (docker images, twelve-factor apps)
  "DB_PASSWORD",
  "DATABASE_PASSWORD",
  "POSTGRES_PASSWORD",
  "MYSQL_ROOT_PASSWORD",
  "MONGO_INITDB_ROOT_PASSWORD",
  "REDIS_PASSWORD",
  "RABBITMQ_DEFAULT_PASS",
  "DB_PASS",
  "DB_PWD",
  "spring.datasource.password",
  "password",
  "Password",
  "pass",
  "passwd",
  "keystore_password",
  "key_password",
  "new_password",
  "password2",
  "dbpassword",
  "mysqlPassword",
  // mail and messaging
  "SMTP_PASSWORD",
  "MAIL_PASSWORD",
  "SENDGRID_API_KEY",
  "MAILGUN_API_KEY",
  "TWILIO_AUTH_TOKEN",
  "SLACK_BOT_TOKEN",
  "SLACK_SIGNING_SECRET",
  // cloud and SaaS
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AZURE_STORAGE_KEY",
  "AZURE_CLIENT_SECRET",
  "GOOGLE_CLIENT_SECRET",
  "STRIPE_SECRET_KEY",
  "stripeSecretKey",
  "STRIPE_WEBHOOK_SECRET",
  "OPENAI_API_KEY",
  "ALGOLIA_ADMIN_API_KEY",
  "SENTRY_DSN",
  "dsn",
  "NEW_RELIC_LICENSE_KEY",
  "DATADOG_API_KEY",
  "PUSHER_APP_SECRET",
  "AUTH0_CLIENT_SECRET",
  "FIREBASE_PRIVATE_KEY",
  "GITHUB_TOKEN",
  "GithubToken",
  "GitHubToken",
  "NPM_TOKEN",
  "NODE_AUTH_TOKEN",
  "CODECOV_TOKEN",
  "npm_config_//registry.npmjs.org/:_authToken",
  // app frameworks
  "SECRET_KEY",
  "DJANGO_SECRET_KEY",
  "SECRET_KEY_BASE",
  "secret_key_base",
  "APP_KEY",
  "JWT_SECRET",
  "jwtSecret",
  "SESSION_SECRET",
  "NEXTAUTH_SECRET",
  "COOKIE_SECRET",
  "ENCRYPTION_KEY",
  "MASTER_KEY",
  "SIGNING_KEY",
  "HMAC_KEY",
  "AUTH_SALT",
  "salt",
  // generic forms, in every spelling
  "apiKey",
  "ApiKey",
  "APIKey",
  "api_key",
  "api-key",
  "x-api-key",
  "apikey",
  "APIKEY",
  "client_secret",
  "clientSecret",
  "access_token",
  "accessToken",
  "refresh_token",
  "id_token",
  "bearer_token",
  "csrf_token",
  "verify_token",
  "token",
  "secret",
  "SECRET",
  "private_key",
  "privateKey",
  "PRIVATE_KEY",
  "SSH_PRIVATE_KEY",
  "privkey",
  "deploy_key",
  "aes256Key",
  "passphrase",
  "GPG_PASSPHRASE",
  "CAPTCHA_SECRET",
  "SUPER_ADMIN_PASSWORD",
  "TELEGRAM_WEBHOOK_SECRET_TOKEN",
  "JWT_SECRET_KEY",
  "apiToken",
  "MINIO_ROOT_PASSWORD",
  "MINIO_SECRET_KEY",
  "R2_SECRET_ACCESS_KEY",
  "SUPABASE_SERVICE_ROLE_KEY",
  "CLERK_SECRET_KEY",
  "GITHUB_APP_PRIVATE_KEY",
  "COOKIE_SECRET_OLD",
  "passcode",
  "credentials",
  "GOOGLE_CREDENTIALS",
  "creds",
  "connection_string",
  "ConnectionString",
  "AZURE_STORAGE_CONNECTION_STRING",
  "wallet_mnemonic",
  "mytoken",
  "oauth_token_secret",
  "DB_PASSWORD_PROD",
  "password_reset_token",
  "passwort",
  "contraseña",
  // plurals: a list of secrets (newcomer review)
  "api_keys",
  "apiKeys",
  "passwords",
  "tokens",
  "secrets",
  "client_secrets",
  "privateKeys",
  "encryption_keys",
  "DB_PASSWORDS",
  "webhook_secrets",
  "signing_keys",
  // personal access tokens and auth strings
  "github_pat",
  "GITLAB_PAT",
  "auth",
  "basic_auth",
  "NPM_AUTH",
  "proxy_auth",
];

/** Names that must NOT be secret: they describe, locate or configure a secret, or are public. */
const MUST_NOT_MATCH: readonly string[] = [
  // the decisions (docs/rules.md): about the secret, not the secret
  "password_hash",
  "passwordHash",
  "token_url",
  "tokenUrl",
  "TOKEN_ENDPOINT",
  "secret_name",
  "SECRET_ARN",
  "secret_id",
  "key_id",
  "KEY_ID",
  "AWS_ACCESS_KEY_ID",
  "KMS_KEY_ID",
  "public_key",
  "publicKey",
  "STRIPE_PUBLISHABLE_KEY",
  "NEXT_PUBLIC_API_KEY",
  "private_key_path",
  "PRIVATE_KEY_FILE",
  "GOOGLE_APPLICATION_CREDENTIALS",
  "credentials_file",
  "credential_helper",
  "password_min_length",
  "PASSWORD_MAX_AGE",
  "token_ttl",
  "tokenExpiry",
  "TOKEN_EXPIRES_IN",
  "JWT_SECRET_EXPIRES_IN",
  "ACCESS_TOKEN_EXPIRE_MINUTES",
  "TOKEN_REFRESH_INTERVAL",
  "REFRESH_TOKEN_TTL",
  "PASSWORD_SALT_ROUNDS",
  "OAUTH_CLIENT_SECRET_FILE",
  "NEXT_PUBLIC_SUPABASE_ANON_KEY",
  "GITHUB_APP_ID",
  "SESSION_COOKIE_SECURE",
  "token_type",
  "token_expires_at",
  "password_policy",
  "password_enabled",
  "password_required",
  "use_token_auth",
  "has_password",
  "is_secret",
  "enable_password_login",
  "jwt_algorithm",
  "secret_version",
  "api_key_header",
  // not secrets at all
  "key",
  "keys",
  "cache_key",
  "primary_key",
  "sort_key",
  "max_tokens",
  "tokenizer",
  "bypass",
  "compass",
  "passwordless",
  "PWD",
  "OLDPWD",
  "host",
  "DB_HOST",
  "DATABASE_URL",
  "port",
  "username",
  "DB_USER",
  "client_id",
  "GOOGLE_CLIENT_ID",
  "TWILIO_ACCOUNT_SID",
  "region",
  "log_level",
  "secretsmanager",
  "author",
  "monkey",
  "turkey",
  // plurals of what describes a secret, and look-alikes
  "password_hashes",
  "token_urls",
  "secret_names",
  "key_ids",
  "public_keys",
  "keys",
  "statuses",
  "bypass",
  "access",
  "pat",
  "auth_method",
  "auth_provider",
  "authors",
  "oauth_scopes",
  "password_rules",
  "",
  "_",
];

describe("secret-name matching (the built-in matcher)", () => {
  it("matches every name of the must-match table", () => {
    const missed = MUST_MATCH.filter((n) => !isSecretName(n));
    expect(missed).toEqual([]);
  });

  it("matches no name of the must-not-match table", () => {
    const wrong = MUST_NOT_MATCH.filter((n) => isSecretName(n));
    expect(wrong).toEqual([]);
  });

  it("gives the same answer for a multi-word name in every spelling", () => {
    const spellings = (words: string[]) => {
      const cap = (w: string) => w[0]!.toUpperCase() + w.slice(1);
      return [
        words.join("_"),
        words.join("_").toUpperCase(),
        words.join("-"),
        words.join("."),
        words[0] + words.slice(1).map(cap).join(""),
        words.map(cap).join(""),
      ];
    };
    let checked = 0;
    for (const name of [...MUST_MATCH, ...MUST_NOT_MATCH]) {
      const words = secretNameWords(name);
      if (words.length < 2 || words.some((w) => !/^[a-z]+$/.test(w))) continue;
      const want = isSecretName(name);
      for (const s of spellings(words)) {
        expect([s, isSecretName(s)]).toEqual([s, want]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  it("splits names into words for every convention", () => {
    expect(secretNameWords("stripeSecretKey")).toEqual(["stripe", "secret", "key"]);
    expect(secretNameWords("APIKey")).toEqual(["api", "key"]);
    expect(secretNameWords("AWS_SECRET_ACCESS_KEY")).toEqual(["aws", "secret", "access", "key"]);
    expect(secretNameWords("x-api-key")).toEqual(["x", "api", "key"]);
    expect(secretNameWords("spring.datasource.password")).toEqual([
      "spring",
      "datasource",
      "password",
    ]);
    expect(secretNameWords("aes256Key")).toEqual(["aes", "256", "key"]);
    expect(secretNameWords("GitHubToken")).toEqual(["git", "hub", "token"]);
  });

  it("is never fooled into a crash by any string (property)", () => {
    const runs = Number(globalThis.process?.env?.SEALFIG_TEST_DEEP) ? 20_000 : 500;
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (s) => {
        const a = isSecretName(s);
        expect(typeof a).toBe("boolean");
        // case never matters
        expect(isSecretName(s.toUpperCase())).toBe(isSecretName(s.toLowerCase()));
      }),
      { numRuns: runs },
    );
  });
});

describe("the rule's secret: field", () => {
  it("absent or true: the built-in matcher; false: nothing", () => {
    expect(secretMatcher(undefined).test("DB_PASSWORD")).toBe(true);
    expect(secretMatcher(true).test("apiKey")).toBe(true);
    expect(secretMatcher(false).test("password")).toBe(false);
  });

  it("an explicit regex keeps its meaning: case-sensitive, as written", () => {
    const m = secretMatcher("^pin$");
    expect(m.test("pin")).toBe(true);
    expect(m.test("PIN")).toBe(false);
    expect(m.test("password")).toBe(false);
  });

  it("the old init default gains the built-in names and keeps every old match", () => {
    const legacy = new RegExp(LEGACY_DEFAULT_SECRET);
    const m = secretMatcher(LEGACY_DEFAULT_SECRET);
    for (const n of ["DB_PASSWORD", "apiKey", "GithubToken", "PRIVATE_KEY", "ApiToken"]) {
      expect([n, legacy.test(n), m.test(n)]).toEqual([n, false, true]);
    }
    const runs = Number(globalThis.process?.env?.SEALFIG_TEST_DEEP) ? 20_000 : 500;
    fc.assert(
      fc.property(
        fc.string({ maxLength: 12 }),
        fc.constantFrom("password", "passwd", "token", "secret", "apikey", "api_key", "privatekey"),
        (prefix, word) => {
          const name = prefix + word;
          expect(legacy.test(name)).toBe(true);
          expect(m.test(name)).toBe(true);
        },
      ),
      { numRuns: runs },
    );
  });
});
