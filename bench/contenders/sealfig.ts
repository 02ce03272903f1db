/**
 * sealfig: `loadConfig` (through `loadConfigWithReport`, which also says how many data keys the
 * load opened) over one sealed YAML file, with the AWS KMS provider and a fresh data key cache.
 *
 * @module
 */
import { join } from "node:path";
import { DekCache } from "../../document.ts";
import { KmsKeyProvider, loadConfigWithReport } from "../../mod.ts";
import {
  ACCESS_KEY_ID,
  CONTEXT,
  type KmsTarget,
  SECRET_ACCESS_KEY,
  type Variant,
} from "../_shared.ts";
import type { Contender } from "./_contender.ts";

/** The fixture file a variant loads. */
export function sealfigFile(dir: string, variant: Variant): string {
  return join(dir, `sealfig-${variant.policy ?? "per-file"}.yaml`);
}

/** A provider talking to the local KMS server (what a service configures through the SDK env). */
export function benchProvider(kms: KmsTarget): KmsKeyProvider {
  return new KmsKeyProvider({
    endpoint: kms.endpoint,
    region: kms.region,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
  });
}

export function sealfig(variant: Variant, kms: KmsTarget): Contender {
  return {
    async load(dir) {
      const provider = benchProvider(kms);
      const { config, report } = await loadConfigWithReport({
        files: [sealfigFile(dir, variant)],
        providers: [provider],
        cache: new DekCache(),
        context: CONTEXT,
        trustedKeys: [kms.keyArn],
      });
      return {
        values: Object.entries(config).filter(([k]) => k.startsWith("secret_")).map(([, v]) =>
          v as string
        ),
        // Distinct wrapped data keys: the values' plus each file's integrity data key.
        dataKeys: report.dataKeys + report.integrityVerified,
        integrityKeys: report.integrityVerified,
        dispose: () => provider.destroy(),
      };
    },
  };
}
