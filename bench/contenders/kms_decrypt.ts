/**
 * One KMS `Decrypt` per value, no envelope (the pattern of `@mapbox/decrypt-kms-env`: each value
 * is a KMS ciphertext), with the real `@aws-sdk/client-kms`; sequential or `Promise.all`.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DecryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { ACCESS_KEY_ID, type KmsTarget, SECRET_ACCESS_KEY, type Variant } from "../_shared.ts";
import type { Contender } from "./_contender.ts";

export function kmsDecrypt(variant: Variant, kms: KmsTarget): Contender {
  return {
    async load(dir) {
      const client = new KMSClient({
        endpoint: kms.endpoint,
        region: kms.region,
        credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      });
      const blobs = (JSON.parse(await readFile(join(dir, "kms.json"), "utf8")) as string[])
        .map((b64) => Buffer.from(b64, "base64"));
      const decoder = new TextDecoder();
      const one = async (blob: Uint8Array): Promise<string> => {
        const out = await client.send(new DecryptCommand({ CiphertextBlob: blob }));
        return decoder.decode(out.Plaintext);
      };
      let values: string[];
      if (variant.mode === "all") {
        values = await Promise.all(blobs.map(one));
      } else {
        values = [];
        for (const b of blobs) values.push(await one(b));
      }
      return { values, dispose: () => client.destroy() };
    },
  };
}
