/**
 * KMS faults through the local KMS server, at the loadConfig level: every fault either loads
 * within the retry budget or fails with a typed error naming file, line and path, within the
 * deadline; nothing hangs; a failure is never cached (the same cache loads fine once the fault is
 * gone, with one provider call per data key).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CancelKeyDeletionCommand,
  DeleteAliasCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
} from "@aws-sdk/client-kms";
import { DekCache } from "../../src/cache/dek_cache.ts";
import { loadConfigWithReport } from "../../src/config/load_config.ts";
import { parseDocument } from "../../src/document/document.ts";
import { sealDocument } from "../../src/document/seal.ts";
import { setSecret } from "../../src/document/edit.ts";
import { KmsKeyProvider, type KmsKeyProviderOptions } from "../../src/keys/aws_kms.ts";
import { type KmsServer, startKmsServer } from "../../src/kms_server/server.ts";
import { runSealfig } from "../_helpers/cli.ts";
import { noCredentials } from "../keys/_kms_fixture.ts";
import type { TempDir } from "../_helpers/tmp_dir.ts";
import {
  attempt,
  canary,
  captureCli,
  expectTyped,
  noIntegrity,
  note,
  rejectionOf,
  returnsWithin,
  tempDir,
} from "./_collector.ts";
import { blobAt, CONTEXT, lineOf, local, parseBlob, rebuild, replaceOnce } from "./_fixture.ts";

const ACCESS_KEY = "AKIDADVERSARIAL";
const SECRET_KEY = "adversarial-secret-key-not-a-canary";
/** Generous guard against hangs (the deadlines below are 250-2000 ms). */
const NO_HANG_MS = 20_000;

export function kmsFaultsSuite(): void {
  describe("KMS faults at the loadConfig level (local KMS server)", () => {
    const PW = canary("kms-pw");
    const TOKEN = canary("kms-token");
    let server: KmsServer;
    let keyArn: string;
    let dir: TempDir;
    let file: string;
    let text: string;
    let sdk: KMSClient;
    const providers: KmsKeyProvider[] = [];
    const expected = { db: { host: "h", password: PW, port: 5432 }, api: { token: TOKEN } };
    const paths = ["db.password", "db.port", "api.token"];

    function kms(options: KmsKeyProviderOptions = {}): KmsKeyProvider {
      const p = new KmsKeyProvider({
        endpoint: server.endpoint,
        region: server.region,
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
        baseDelayMs: 2,
        maxDelayMs: 20,
        maxAttempts: 4,
        deadlineMs: 2_000,
        requestTimeoutMs: 1_000,
        connectionTimeoutMs: 1_000,
        ...options,
      });
      providers.push(p);
      return p;
    }

    /** The loads' startup deadline (ms), when a case sets one. */
    let startupDeadlineMs: number | undefined;

    /** One load through `provider` and `cache`, one value at a time (nothing left in flight). */
    function load(provider: KmsKeyProvider, cache: DekCache, content?: string, trust?: "any") {
      const f = content === undefined ? file : dir.write("variant.yaml", content);
      return returnsWithin(
        loadConfigWithReport(noIntegrity(
          {
            files: [f],
            providers: [provider, local],
            cache,
            context: CONTEXT,
            concurrency: 1,
            ...(startupDeadlineMs !== undefined ? { startupDeadlineMs } : {}),
          },
          trust ?? [keyArn],
        )),
        NO_HANG_MS,
        "loadConfig",
      );
    }

    /**
     * The fault fails the load with one of `codes`, naming the file, a value's path and line; the
     * cache keeps nothing from it; once `fix` ran, the same cache loads with one provider call per
     * data key.
     */
    async function failsThenRecovers(
      what: string,
      codes: string[],
      fault: () => Promise<void> | void,
      fix: () => Promise<void> | void,
      options: KmsKeyProviderOptions = {},
    ): Promise<void> {
      await attempt("kms faults", async () => {
        const provider = kms(options);
        const cache = new DekCache();
        await fault();
        let err: unknown;
        try {
          err = await rejectionOf(load(provider, cache), what);
        } finally {
          await fix();
        }
        const e = expectTyped(what, err, { codes, file });
        expect(paths).toContain(e.path);
        expect(e.line).toBe(lineOf(text, blobAt(parseDocument(text), e.path!)));
        expect(cache.stats().size, `${what}: nothing cached`).toBe(0);
        const { config, report } = await load(provider, cache);
        expect(config).toEqual(expected);
        expect(report.providerCalls).toBe(3);
        expect(cache.stats().size).toBe(3);
      });
    }

    beforeAll(async () => {
      server = await startKmsServer({ seed: 8 });
      keyArn = (await server.createKey({ alias: "alias/adversarial" })).arn;
      sdk = new KMSClient({
        endpoint: server.endpoint,
        region: server.region,
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      });
      dir = tempDir("kms");
      const plain = parseDocument(
        `db:\n  host: h\n  password: !secret ${PW}\n  port: !secret 5432\napi:\n  token: !secret ${TOKEN}\n`,
      );
      const sealed = await sealDocument(plain, {
        provider: kms(),
        keyId: "alias/adversarial",
        context: CONTEXT,
        dekPolicy: "per-value", // three data keys, three Decrypt calls per cold load
      });
      text = sealed.document.toString();
      file = dir.write("kms.yaml", text);
      expect(parseBlob(blobAt(sealed.document, "db.password")).keyId).toBe(keyArn);
    });
    afterAll(async () => {
      for (const p of providers) p.destroy();
      sdk?.destroy();
      await server?.close();
    });

    it("throttling storms, 5xx and connection resets within the retry budget: loads", async () => {
      const storms: [string, Partial<KmsServer["faults"]>][] = [
        ["50% throttling", { throttleRate: 0.5 }],
        ["40% KMSInternalException", { errorRate: 0.4, errorKind: "internal" }],
        ["40% bare 503", { errorRate: 0.4, errorKind: "unavailable" }],
        ["30% connection resets", { resetRate: 0.3 }],
      ];
      for (const [what, faults] of storms) {
        await attempt("kms faults", async () => {
          const provider = kms({ maxAttempts: 30, deadlineMs: 10_000 });
          server.stats.reset();
          server.reseed(11);
          Object.assign(server.faults, { ...faults, operations: ["Decrypt"] });
          try {
            for (let i = 0; i < 4; i++) { // 12 cold Decrypts, so the dice surely fire
              const out = await load(provider, new DekCache());
              expect(out.config, what).toEqual(expected);
              expect(out.report.providerCalls).toBe(3);
            }
          } finally {
            server.resetFaults();
          }
          const injected = server.stats.throttled + server.stats.errors + server.stats.resets;
          expect(injected, `${what} fired`).toBeGreaterThan(0);
          // One retry per injected throttle or 5xx; a reset may hit an idle pooled connection,
          // which the HTTP client re-opens by itself without a provider retry.
          expect(provider.stats.retries).toBeLessThanOrEqual(injected);
          expect(provider.stats.retries).toBeGreaterThanOrEqual(
            server.stats.throttled + server.stats.errors,
          );
          note("kms faults", `${what}: loaded after ${provider.stats.retries} retries`);
        });
      }
    });

    it("throttling past the load's startup deadline fails clearly, and is not charged to maxAttempts", async () => {
      // In a load, throttling is retried until the startup deadline (docs/kms.md, "Deadlines").
      startupDeadlineMs = 500;
      try {
        await failsThenRecovers(
          "100% throttling",
          ["KMS_THROTTLED", "KMS_DEADLINE_EXCEEDED"],
          () => {
            server.stats.reset();
            Object.assign(server.faults, { throttleRate: 1, operations: ["Decrypt"] });
          },
          () => {
            expect(server.stats.throttled).toBe(server.stats.count("Decrypt"));
            expect(server.stats.count("Decrypt")).toBeGreaterThan(4); // more than maxAttempts
            server.resetFaults();
          },
        );
      } finally {
        startupDeadlineMs = undefined;
      }
    });

    it("5xx and resets past the budget fail clearly and are not cached", async () => {
      for (
        const [what, codes, faults] of [
          ["100% KMSInternalException", ["KMS_UNAVAILABLE"], { errorRate: 1 }],
          ["100% bare 503", ["KMS_UNAVAILABLE"], { errorRate: 1, errorKind: "unavailable" }],
          ["100% connection resets", ["KMS_UNAVAILABLE"], { resetRate: 1 }],
        ] as const
      ) {
        await failsThenRecovers(what, [...codes], () => {
          server.stats.reset();
          Object.assign(server.faults, { ...faults, operations: ["Decrypt"] });
        }, () => {
          // At most maxAttempts (4) requests for the one data key tried.
          expect(server.stats.count("Decrypt")).toBeLessThanOrEqual(4);
          server.resetFaults();
        });
      }
    });

    it("a hanging server and a server slower than the deadline: KMS_DEADLINE_EXCEEDED, no hang", async () => {
      await failsThenRecovers("hanging server", ["KMS_DEADLINE_EXCEEDED"], () => {
        server.faults.hang = true;
      }, () => {
        server.resetFaults();
        server.releaseHanging();
      }, { deadlineMs: 300 });
      await failsThenRecovers(
        "slow server (600 ms, deadline 250 ms)",
        [
          "KMS_DEADLINE_EXCEEDED",
        ],
        () => {
          server.faults.latencyMs = 600;
        },
        () => server.resetFaults(),
        { deadlineMs: 250 },
      );
    });

    it("disabled key, key pending deletion, access denied, unknown and missing credentials", async () => {
      await failsThenRecovers("disabled key", ["KMS_KEY_DISABLED"], async () => {
        await sdk.send(new DisableKeyCommand({ KeyId: keyArn }));
      }, async () => {
        await sdk.send(new EnableKeyCommand({ KeyId: keyArn }));
      });
      await failsThenRecovers("key pending deletion", ["KMS_INVALID_STATE"], async () => {
        await sdk.send(new ScheduleKeyDeletionCommand({ KeyId: keyArn, PendingWindowInDays: 7 }));
      }, async () => {
        await sdk.send(new CancelKeyDeletionCommand({ KeyId: keyArn }));
        await sdk.send(new EnableKeyCommand({ KeyId: keyArn }));
      });
      await failsThenRecovers("access denied", ["KMS_ACCESS_DENIED"], () => {
        server.setPolicy({ [ACCESS_KEY]: { "*": ["GenerateDataKey"] } });
        server.stats.reset();
      }, () => {
        expect(server.stats.count("Decrypt")).toBe(1); // not retried
        server.setPolicy(undefined);
      });
      await failsThenRecovers("unknown access key", ["KMS_CREDENTIALS_INVALID"], () => {
        server.setPolicy({ AKIDSOMEONEELSE: { "*": ["*"] } });
      }, () => server.setPolicy(undefined));
      // Missing credentials: the SDK's chain finds nothing. The same provider cannot recover, so
      // a provider with credentials loads through the same cache afterwards.
      await attempt("kms faults", async () => {
        const cache = new DekCache();
        const noCreds = kms({ clientFactory: noCredentials });
        const err = await rejectionOf(load(noCreds, cache), "missing credentials");
        const e = expectTyped("missing credentials", err, {
          codes: ["KMS_CREDENTIALS_MISSING"],
          file,
        });
        expect(paths).toContain(e.path);
        expect(noCreds.stats.retries).toBe(0);
        expect(cache.stats().size).toBe(0);
        expect((await load(kms(), cache)).config).toEqual(expected);
      });
    });

    it("a deleted alias: existing blobs still open (they record the key ARN); sealing through it fails", async () => {
      await attempt("kms faults", async () => {
        const provider = kms();
        await sdk.send(new DeleteAliasCommand({ AliasName: "alias/adversarial" }));
        expect((await load(provider, new DekCache())).config).toEqual(expected);
        const err = await rejectionOf(
          setSecret(parseDocument(text, { file }), "db.extra", PW, {
            provider,
            keyId: "alias/adversarial",
            context: CONTEXT,
          }),
          "seal through a deleted alias",
        );
        expectTyped("seal through a deleted alias", err, { codes: ["KMS_KEY_NOT_FOUND"] });
        await server.setAlias("alias/adversarial", keyArn);
      });
    });

    it("wrong region: a key ARN moved to another region, and an alias looked up in another region", async () => {
      await attempt("kms faults", async () => {
        const blob = blobAt(parseDocument(text), "db.password");
        const moved = rebuild(parseBlob(blob), {
          keyId: keyArn.replace(server.region, "eu-west-3"),
        });
        const err = await rejectionOf(
          load(kms(), new DekCache(), replaceOnce(text, blob, moved), "any"),
          "ARN in another region",
        );
        expectTyped("ARN in another region", err, {
          codes: ["KMS_KEY_NOT_FOUND"],
          path: "db.password",
          line: lineOf(text, blob),
        });
      });
      await attempt("kms faults", async () => {
        const err = await rejectionOf(
          setSecret(parseDocument("a: 1\n"), "b", PW, {
            provider: kms({ region: "ap-south-2" }),
            keyId: "alias/adversarial",
            context: CONTEXT,
          }),
          "alias in another region",
        );
        expectTyped("alias in another region", err, { codes: ["KMS_KEY_NOT_FOUND"] });
      });
    });

    it("a local blob relabelled as aws-kms reaches KMS and fails typed", async () => {
      await attempt("tampering", async () => {
        const sealed = await sealDocument(parseDocument(`a: !secret ${PW}\n`), {
          provider: local,
          keyId: (await local.keyIds())[0]!,
          context: CONTEXT,
        });
        const blob = blobAt(sealed.document, "a");
        const relabelled = rebuild(parseBlob(blob), { providerId: "aws-kms" });
        const err = await rejectionOf(
          load(kms(), new DekCache(), `a: ${relabelled}\n`, "any"),
          "local blob as aws-kms",
        );
        expectTyped("local blob as aws-kms", err, {
          codes: ["KMS_KEY_NOT_FOUND", "KMS_REQUEST_INVALID", "KMS_INVALID_CIPHERTEXT"],
          path: "a",
          line: 1,
        });
      });
    });

    it("the CLI without any AWS credentials: exit 5, KMS_CREDENTIALS_MISSING, one line", async () => {
      await attempt("kms faults", async () => {
        // (integrity records are issue 9's business: this run is about credentials)
        const cwd = dir.dir;
        dir.write(
          ".sealfig.yaml",
          `rules:\n  - files: '.*'\n    key: ${keyArn}\n    integrity: off\n`,
        );
        const r = await runSealfig(["get", file, "db.password"], {
          cwd,
          env: {
            AWS_ENDPOINT_URL_KMS: server.endpoint,
            AWS_REGION: server.region,
            AWS_ACCESS_KEY_ID: undefined,
            AWS_SECRET_ACCESS_KEY: undefined,
            AWS_SESSION_TOKEN: undefined,
            AWS_PROFILE: undefined,
            AWS_DEFAULT_PROFILE: undefined,
            AWS_SHARED_CREDENTIALS_FILE: dir.path("no-credentials"),
            AWS_CONFIG_FILE: dir.path("no-config"),
            AWS_EC2_METADATA_DISABLED: "true",
            AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
            AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
            AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
            AWS_ROLE_ARN: undefined,
            SEALFIG_TRUSTED_KEYS: keyArn,
            SEALFIG_KEY: undefined,
            SEALFIG_KEY_FILE: dir.path("no-keys"),
          },
        });
        captureCli("get without AWS credentials", r);
        expect(r.code, r.stderr).toBe(5);
        expect(r.stderr).toContain("KMS_CREDENTIALS_MISSING");
        expect(r.stderr).toContain(keyArn);
        expect(r.stdout).toBe("");
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
      });
    });
  });
}
