/**
 * !!! DEMO KEY — NOT A SECRET — NEVER USE IT FOR REAL DATA !!!
 *
 * This local key seals the example app's `config/production.yaml`. It is committed on purpose so
 * that `npm run example` works on a fresh clone with no setup, no AWS account and no network.
 * Anyone can read it, so anything sealed with it is effectively public.
 *
 * For real secrets: create a private key with `sealfig keygen` (it goes to your key file, mode
 * 0600, outside the repository) or use AWS KMS, and never commit key material.
 */
export const DEMO_KEY = "sealfig-local-key-v1:VZtq8hMefhzx3xK49eVgMbADrgLn5dXxMpI5BQg-Ej0";

/** The id (fingerprint) of {@link DEMO_KEY}, as recorded in the example's blobs. */
export const DEMO_KEY_ID = "lk_4cb7bcfba7ae59da";

/** The encryption context the example's production file is sealed with. */
export const PRODUCTION_CONTEXT = { app: "sealfig-example", env: "production" } as const;
