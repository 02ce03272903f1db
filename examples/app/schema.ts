/** The example app's config schema (zod v4): what main.ts expects after loading. */
import { z } from "zod";

export const AppConfig = z.object({
  service: z.object({
    name: z.string(),
    port: z.number().int().min(1).max(65535),
    log_level: z.enum(["debug", "info", "warn", "error"]),
  }),
  db: z.object({
    host: z.string(),
    port: z.number().int(),
    name: z.string(),
    user: z.string(),
    password: z.string().min(12),
    pool: z.object({ min: z.number().int(), max: z.number().int() }),
  }),
  tls: z.object({ client_key: z.string().startsWith("-----BEGIN") }),
  api: z.object({
    stripe_key: z.string(),
    webhook_secret: z.string(),
    rate_limit: z.number().int().positive(),
  }),
  features: z.record(z.string(), z.boolean()),
  upstreams: z.array(z.object({ name: z.string(), url: z.url(), token: z.string().optional() })),
});

/** The validated config type. */
export type AppConfig = z.infer<typeof AppConfig>;
