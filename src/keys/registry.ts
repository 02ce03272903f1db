/**
 * The composition root for key providers: the default set (local keys, AWS KMS, age), and finding
 * the provider a key reference names. Everything else receives providers from here and talks to
 * them only through the {@link KeyProvider} interface.
 *
 * @module
 */
import { SealfigError } from "../errors.ts";
import { AgeKeyProvider, type AgeKeyProviderOptions } from "./age.ts";
import { KmsKeyProvider, type KmsKeyProviderOptions } from "./aws_kms.ts";
import type { KeyProvider } from "./key_provider.ts";
import { LocalKeyProvider, type LocalKeyProviderOptions } from "./local.ts";

/** Options for {@link defaultProviders}. */
export interface DefaultProvidersOptions {
  /** Options for the local provider. */
  local?: LocalKeyProviderOptions;
  /** Options for the AWS KMS provider (its SDK loads only when a KMS key is used). */
  kms?: KmsKeyProviderOptions;
  /** Options for the age provider (its library loads only when an age key is used). */
  age?: AgeKeyProviderOptions;
}

/**
 * The default providers: local keys, AWS KMS configured from the environment exactly as the AWS
 * SDK does it, and age. Constructing them reads no file and loads no SDK; that happens on first
 * use.
 *
 * @example
 * ```ts
 * import { defaultProviders } from "./registry.ts";
 * const providers = defaultProviders({ kms: { preferredRegion: "eu-west-1" } });
 * providers.map((p) => p.id); // ["local", "aws-kms", "age"]
 * ```
 */
export function defaultProviders(options: DefaultProvidersOptions = {}): KeyProvider[] {
  return [
    new LocalKeyProvider(options.local),
    new KmsKeyProvider(options.kms),
    new AgeKeyProvider(options.age),
  ];
}

/** The provider with `id` among `providers`; throws `PROVIDER_UNKNOWN` when none has it. */
export function providerById(providers: readonly KeyProvider[], id: string): KeyProvider {
  const p = providers.find((x) => x.id === id);
  if (!p) {
    throw new SealfigError("PROVIDER_UNKNOWN", `No key provider "${id}" is configured`, {
      hint: `Configured providers: ${providers.map((x) => x.id).join(", ") || "none"}`,
    });
  }
  return p;
}

let shared: readonly KeyProvider[] | undefined;

/**
 * One default provider set per process (created on first use), so repeated loads reuse the local
 * keys already read and the KMS clients already created.
 *
 * @example
 * ```ts
 * import { sharedProviders } from "./registry.ts";
 * sharedProviders() === sharedProviders(); // true
 * ```
 */
export function sharedProviders(): readonly KeyProvider[] {
  shared ??= Object.freeze(defaultProviders());
  return shared;
}
