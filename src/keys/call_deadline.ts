/**
 * Give every provider call of one load the load's startup deadline (`ProviderCallOptions.deadline`),
 * without changing the providers: each is wrapped in a proxy that adds the deadline to the calls'
 * options (the earlier one wins when the caller gave its own) and forwards everything else to the
 * provider itself (its id, `keyIds`, private state).
 *
 * @module
 */
import type { KeyProvider, ProviderCallOptions } from "./key_provider.ts";

/** Where each method takes its options argument. */
const OPTIONS_AT: Readonly<Record<string, number>> = {
  generateDataKey: 2,
  decryptDataKey: 3,
  wrapDataKey: 3,
  rewrapDataKey: 4,
  resolveKeyId: 1,
};

/** `providers`, each of whose calls carries `deadline` (a time as from `Date.now()`). */
export function withDeadline(
  providers: readonly KeyProvider[],
  deadline: number,
): KeyProvider[] {
  return providers.map((provider) => {
    const proxy = new Proxy(provider, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== "function") return value;
        const at = typeof prop === "string" ? OPTIONS_AT[prop] : undefined;
        if (at === undefined) return (value as (...a: unknown[]) => unknown).bind(target);
        return (...args: unknown[]) => {
          const given = (args[at] ?? {}) as ProviderCallOptions;
          const all = [...args];
          while (all.length < at) all.push(undefined);
          all[at] = {
            ...given,
            deadline: given.deadline === undefined ? deadline : Math.min(given.deadline, deadline),
          };
          return (value as (...a: unknown[]) => unknown).apply(target, all);
        };
      },
    });
    proxied.set(proxy, underlyingProvider(provider));
    return proxy;
  });
}

/** Each proxy made by {@link withDeadline} -> the provider it forwards to. */
const proxied = new WeakMap<KeyProvider, KeyProvider>();

/**
 * The provider itself behind a {@link withDeadline} proxy (or `provider` when it is none): what
 * the data key cache scopes its entries by, so a load's proxies share what the provider unwrapped
 * in earlier loads, and never what another provider instance unwrapped.
 */
export function underlyingProvider(provider: KeyProvider): KeyProvider {
  return proxied.get(provider) ?? provider;
}
