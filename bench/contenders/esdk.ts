/**
 * AWS Encryption SDK for JavaScript (`@aws-crypto/client-node`): one message per value, a KMS
 * keyring whose client supplier is the SDK's own `cacheClients(getClient(KMS, …))` (what the
 * keyring uses by default) pointed at the local server; decrypted one by one (`for … await`, as
 * the SDK's examples do) or all at once (`Promise.all`); with or without the caching
 * cryptographic materials manager.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  buildClient,
  cacheClients,
  CommitmentPolicy,
  getClient,
  getLocalCryptographicMaterialsCache,
  KMS,
  KmsKeyringNode,
  NodeCachingMaterialsManager,
} from "@aws-crypto/client-node";
import {
  ACCESS_KEY_ID,
  CONTEXT,
  type KmsTarget,
  SECRET_ACCESS_KEY,
  type Variant,
} from "../_shared.ts";
import type { Contender } from "./_contender.ts";

export function esdk(variant: Variant, kms: KmsTarget): Contender {
  return {
    async load(dir) {
      const clients: KMS[] = [];
      const base = getClient(KMS, {
        endpoint: kms.endpoint,
        credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      });
      // Same as the keyring's default supplier, plus a list of the clients so they can be closed.
      const clientProvider = cacheClients((region: string) => {
        const client = base(region);
        if (client) clients.push(client);
        return client;
      });
      const keyring = new KmsKeyringNode({ clientProvider, generatorKeyId: kms.keyArn });
      const cmm = variant.cache
        ? new NodeCachingMaterialsManager({
          backingMaterials: keyring,
          cache: getLocalCryptographicMaterialsCache(1000),
          maxAge: 300_000,
        })
        : keyring;
      const { decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
      const file = join(dir, variant.cache ? "esdk-cached.json" : "esdk.json");
      const messages = (JSON.parse(await readFile(file, "utf8")) as string[])
        .map((b64) => Buffer.from(b64, "base64"));
      const one = async (message: Buffer): Promise<string> => {
        const { plaintext, messageHeader } = await decrypt(cmm, message);
        // As the SDK's examples do: check the encryption context is the expected one.
        for (const [k, v] of Object.entries(CONTEXT)) {
          if (messageHeader.encryptionContext[k] !== v) {
            throw new Error("Encryption context mismatch");
          }
        }
        return plaintext.toString("utf8");
      };
      let values: string[];
      if (variant.mode === "all") {
        values = await Promise.all(messages.map(one));
      } else {
        values = [];
        for (const m of messages) values.push(await one(m));
      }
      return { values, dispose: () => clients.forEach((c) => c.destroy()) };
    },
  };
}
