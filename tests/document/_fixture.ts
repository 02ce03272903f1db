/** Shared fixtures for document and config tests: a key, providers and a realistic file. */
import { LocalKeyProvider } from "../../src/keys/local.ts";
import { CountingProvider } from "../_helpers/leaks.ts";

/** A fresh local key and a provider for it, plus a counting wrapper around that provider. */
export async function testKey(): Promise<{
  keyId: string;
  key: string;
  provider: LocalKeyProvider;
  counting: CountingProvider;
}> {
  const { id, key } = await LocalKeyProvider.generateKey();
  const provider = new LocalKeyProvider({ keys: [key] });
  return { keyId: id, key, provider, counting: new CountingProvider(provider) };
}

/** Canary secrets: they must never show up in errors, logs or redacted output. */
export const CANARY = "CANARY-s3cr3t-7f2a9c";
export const CANARY_PEM = "CANARY-PEM-LINE-b81d";

/**
 * A realistic plaintext view: comments, blank lines, anchors/aliases, merge keys, block scalars,
 * sequences of maps, numbers, booleans, floats, null, unicode, flow collections.
 */
export const REALISTIC = `# Shop service, production
# (owned by team-payments)

defaults: &defaults
  timeout_ms: 2500    # per request
  retries: 3

db:
  <<: *defaults
  host: db.prod.internal
  port: 5432
  user: shop_app
  password: !secret ${CANARY}   # rotate every 90 days
  ssl: true
  sample_rate: !secret 0.25
  replicas: !secret 3
  readonly: !secret false
  legacy: !secret null

tls:
  # PEM blocks keep their line breaks
  client_key: !secret |
    -----BEGIN PRIVATE KEY-----
    ${CANARY_PEM}
    -----END PRIVATE KEY-----

  ca: !secret |-
    line one
      indented line two

greeting: !secret "Grüße, 世界 ✓"
motto: !secret 'it''s: quoted'
webhook: &hook !secret whsec_0123456789
servers:
  - name: eu-1
    weight: 0.5
    token: !secret tok-eu-1
  - name: us-1
    weight: 1.5e3
    token: *hook
  - {name: ap-1, token: !secret "tok ap 1"}
labels:
  "app.kubernetes.io/name": shop
  "a.b": !secret dotted
empty_map: {}
`;

/** Lines that differ between two texts of the same line count (or -1 when counts differ). */
export function changedLines(a: string, b: string): number {
  const la = a.split("\n");
  const lb = b.split("\n");
  if (la.length !== lb.length) return -1;
  return la.filter((l, i) => l !== lb[i]).length;
}
