/**
 * dotenvx (`@dotenvx/dotenvx`): its documented `config()` on an encrypted `.env` with the private
 * key in `.env.keys` (local ECIES keys, no KMS), into a private object instead of `process.env`.
 *
 * @module
 */
import { join } from "node:path";
import dotenvx from "@dotenvx/dotenvx";
import type { Contender } from "./_contender.ts";

export function dotenvxContender(): Contender {
  return {
    load(dir) {
      const out = dotenvx.config({
        path: join(dir, "dotenvx", ".env"),
        envKeysFile: join(dir, "dotenvx", ".env.keys"),
        processEnv: {},
        quiet: true,
      });
      if (out.error) throw out.error;
      // The encrypted file also carries DOTENV_PUBLIC_KEY; the secrets are the SECRET_ variables.
      const values = Object.entries(out.parsed ?? {}).filter(([k]) => k.startsWith("SECRET_"))
        .map(([, v]) => v);
      return Promise.resolve({ values, dispose() {} });
    },
  };
}
