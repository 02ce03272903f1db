/**
 * Shared setup for the KMS tests: a local KMS server on an ephemeral port and providers that talk
 * to it with the real `@aws-sdk/client-kms`, explicit dummy credentials and an explicit endpoint
 * (so nothing probes IMDS or reads the developer's AWS config).
 */
import {
  type KmsClientFactory,
  KmsKeyProvider,
  type KmsKeyProviderOptions,
} from "../../src/keys/aws_kms.ts";
import {
  type KmsServer,
  type KmsServerOptions,
  startKmsServer,
} from "../../src/kms_server/server.ts";

export const ACCESS_KEY = "AKIDSEALFIGTEST";
export const SECRET_KEY = "sealfig-test-secret-canary-0000";

export async function startTestServer(options: KmsServerOptions = {}): Promise<KmsServer> {
  return await startKmsServer({ seed: 42, ...options });
}

export function providerFor(
  server: KmsServer,
  options: KmsKeyProviderOptions = {},
): KmsKeyProvider {
  return new KmsKeyProvider({
    endpoint: server.endpoint,
    region: server.region,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    baseDelayMs: 2,
    maxDelayMs: 20,
    ...options,
  });
}

/**
 * A client factory whose credential provider finds nothing, failing the way the SDK's default
 * chain does when no credentials are configured.
 */
export const noCredentials: KmsClientFactory = (sdkModule, config) =>
  new sdkModule.KMSClient({
    ...config,
    credentials: () => {
      const e = new Error("Could not load credentials from any providers");
      e.name = "CredentialsProviderError";
      return Promise.reject(e);
    },
  });

/** Catch the rejection of a promise (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error("expected a rejection");
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
