/** Test helpers: render an object every way it could reach a log, and counting providers. */
import { inspect } from "node:util";
import type {
  EncryptionContext,
  GeneratedDataKey,
  KeyProvider,
  ProviderCallOptions,
} from "../../src/keys/key_provider.ts";

/** Every textual form of `x` a log or crash report could show: message, stack, cause, inspect, JSON. */
export function renderings(x: unknown): string {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown, depth: number) => {
    if (depth > 4 || seen.has(v)) return;
    seen.add(v);
    try {
      out.push(String(v));
    } catch { /* objects without toString */ }
    try {
      out.push(JSON.stringify(v) ?? "");
    } catch { /* cycles */ }
    out.push(inspect(v, { depth: 10, showHidden: true, getters: true }));
    if (v instanceof Error) {
      out.push(v.message, v.stack ?? "");
      walk(v.cause, depth + 1);
    }
  };
  walk(x, 0);
  return out.join("\n");
}

/** Hex and base64 forms of bytes, to search renderings for key material. */
export function byteForms(bytes: Uint8Array): string[] {
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  const b64 = btoa(bin);
  return [
    hex,
    b64.replace(/=+$/, ""),
    b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
    [...bytes].join(","),
  ];
}

/** Wraps a provider, counting calls and the largest number of calls in flight at once. */
export class CountingProvider implements KeyProvider {
  readonly id: string;
  generateCalls = 0;
  decryptCalls = 0;
  inFlight = 0;
  maxInFlight = 0;
  /** Plaintext data keys handed out (to check zeroing). */
  readonly handedOut: Uint8Array[] = [];
  /** When set, decryptDataKey fails with this error (to test failure handling). */
  failWith: Error | undefined;
  /** Promise each decryptDataKey waits on before answering (to hold calls in flight). */
  gate: Promise<void> | undefined;

  constructor(readonly inner: KeyProvider) {
    this.id = inner.id;
  }

  /** The inner provider's key list (so "the local keys you hold" sees them), if it has one. */
  keyIds(): Promise<string[]> {
    return this.inner.keyIds ? this.inner.keyIds() : Promise.resolve([]);
  }

  async generateDataKey(
    keyId: string,
    context: EncryptionContext,
    options?: ProviderCallOptions,
  ): Promise<GeneratedDataKey> {
    this.generateCalls++;
    return await this.inner.generateDataKey(keyId, context, options);
  }

  async decryptDataKey(
    keyId: string,
    wrapped: Uint8Array,
    context: EncryptionContext,
    options?: ProviderCallOptions,
  ): Promise<Uint8Array> {
    this.decryptCalls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.gate) await this.gate;
      if (this.failWith) throw this.failWith;
      const dek = await this.inner.decryptDataKey(keyId, wrapped, context, options);
      this.handedOut.push(dek);
      return dek;
    } finally {
      this.inFlight--;
    }
  }
}
