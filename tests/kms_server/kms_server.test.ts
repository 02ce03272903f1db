import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
  ReEncryptCommand,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
} from "@aws-sdk/client-kms";
import { createKmsHandler, type KmsServer, startKmsServer } from "../../src/kms_server/server.ts";
import { runKmsServer } from "../../src/kms_server/cli.ts";
import { joinPath, makePrivateTempDir, removePath, statFile } from "../../src/runtime.ts";
import {
  ACCESS_KEY,
  equalBytes,
  rejection,
  SECRET_KEY,
  startTestServer,
} from "../keys/_kms_fixture.ts";

function client(server: KmsServer, region = server.region, accessKeyId = ACCESS_KEY): KMSClient {
  return new KMSClient({
    endpoint: server.endpoint,
    region,
    credentials: { accessKeyId, secretAccessKey: SECRET_KEY },
    maxAttempts: 1,
  });
}

const text = (s: string) => new TextEncoder().encode(s);

describe("local KMS server with the real @aws-sdk/client-kms", () => {
  let server: KmsServer;
  let kms: KMSClient;

  beforeAll(async () => {
    server = await startTestServer();
    kms = client(server);
  });
  afterAll(async () => {
    kms.destroy();
    await server.close();
  });

  it("startKmsServer() binds 127.0.0.1 on an ephemeral port", () => {
    expect(server.endpoint).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
  });

  it("CreateKey, CreateAlias, DescribeKey by id, ARN, alias and alias ARN, ListKeys, ListAliases", async () => {
    const { KeyMetadata: md } = await kms.send(new CreateKeyCommand({ Description: "orders" }));
    expect(md?.Arn).toBe(`arn:aws:kms:us-east-1:111122223333:key/${md?.KeyId}`);
    expect(md?.KeyState).toBe("Enabled");
    expect(md?.CreationDate).toBeInstanceOf(Date);
    await kms.send(new CreateAliasCommand({ AliasName: "alias/orders", TargetKeyId: md!.KeyId! }));
    for (
      const ref of [
        md!.KeyId!,
        md!.Arn!,
        "alias/orders",
        "arn:aws:kms:us-east-1:111122223333:alias/orders",
      ]
    ) {
      const out = await kms.send(new DescribeKeyCommand({ KeyId: ref }));
      expect(out.KeyMetadata?.Arn).toBe(md!.Arn);
    }
    const keys = await kms.send(new ListKeysCommand({}));
    expect(keys.Keys?.some((k) => k.KeyArn === md!.Arn)).toBe(true);
    const aliases = await kms.send(new ListAliasesCommand({ KeyId: md!.KeyId! }));
    expect(aliases.Aliases?.map((a) => a.AliasName)).toEqual(["alias/orders"]);
    const dup = await rejection(
      kms.send(new CreateAliasCommand({ AliasName: "alias/orders", TargetKeyId: md!.KeyId! })),
    );
    expect(dup.name).toBe("AlreadyExistsException");
    await kms.send(new DeleteAliasCommand({ AliasName: "alias/orders" }));
    const gone = await rejection(kms.send(new DescribeKeyCommand({ KeyId: "alias/orders" })));
    expect(gone.name).toBe("NotFoundException");
    expect((gone as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(
      400,
    );
  });

  it("Encrypt/Decrypt bind the encryption context; Decrypt with another KeyId is IncorrectKeyException", async () => {
    const a = await server.createKey();
    const b = await server.createKey();
    const { CiphertextBlob, KeyId } = await kms.send(
      new EncryptCommand({
        KeyId: a.keyId,
        Plaintext: text("hello"),
        EncryptionContext: { env: "dev" },
      }),
    );
    expect(KeyId).toBe(a.arn);
    const out = await kms.send(
      new DecryptCommand({ CiphertextBlob, EncryptionContext: { env: "dev" } }),
    );
    expect(new TextDecoder().decode(out.Plaintext)).toBe("hello");
    expect(out.KeyId).toBe(a.arn);
    const wrongCtx = await rejection(
      kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { env: "prod" } })),
    );
    expect(wrongCtx.name).toBe("InvalidCiphertextException");
    const noCtx = await rejection(kms.send(new DecryptCommand({ CiphertextBlob })));
    expect(noCtx.name).toBe("InvalidCiphertextException");
    const wrongKey = await rejection(
      kms.send(
        new DecryptCommand({ CiphertextBlob, KeyId: b.arn, EncryptionContext: { env: "dev" } }),
      ),
    );
    expect(wrongKey.name).toBe("IncorrectKeyException");
  });

  it("the encryption context is canonical: key order does not matter, key/value boundaries do", async () => {
    const a = await server.createKey();
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({
        KeyId: a.arn,
        Plaintext: text("x"),
        EncryptionContext: { b: "2", a: "1" },
      }),
    );
    await kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { a: "1", b: "2" } }));
    const { CiphertextBlob: other } = await kms.send(
      new EncryptCommand({ KeyId: a.arn, Plaintext: text("x"), EncryptionContext: { ab: "c" } }),
    );
    const err = await rejection(
      kms.send(new DecryptCommand({ CiphertextBlob: other, EncryptionContext: { a: "bc" } })),
    );
    expect(err.name).toBe("InvalidCiphertextException");
  });

  it("GenerateDataKey (KeySpec or NumberOfBytes), GenerateDataKeyWithoutPlaintext and ReEncrypt", async () => {
    const a = await server.createKey({ alias: "alias/gdk" });
    const b = await server.createKey();
    const gdk = await kms.send(
      new GenerateDataKeyCommand({ KeyId: "alias/gdk", KeySpec: "AES_256" }),
    );
    expect(gdk.Plaintext?.length).toBe(32);
    expect(gdk.KeyId).toBe(a.arn);
    const n = await kms.send(new GenerateDataKeyCommand({ KeyId: a.arn, NumberOfBytes: 64 }));
    expect(n.Plaintext?.length).toBe(64);
    const both = await rejection(kms.send(new GenerateDataKeyCommand({ KeyId: a.arn })));
    expect(both.name).toBe("ValidationException");
    const np = await kms.send(
      new GenerateDataKeyWithoutPlaintextCommand({ KeyId: a.arn, KeySpec: "AES_256" }),
    );
    expect(np.CiphertextBlob?.length).toBeGreaterThan(32);
    expect("Plaintext" in np).toBe(false);
    const re = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: gdk.CiphertextBlob, DestinationKeyId: b.arn }),
    );
    expect(re.SourceKeyId).toBe(a.arn);
    expect(re.KeyId).toBe(b.arn);
    const out = await kms.send(
      new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, KeyId: b.arn }),
    );
    expect(equalBytes(out.Plaintext!, gdk.Plaintext!)).toBe(true);
  });

  it("multi-Region keys: CreateKey MultiRegion gives an mrk- id; ReplicateKey copies it to another region", async () => {
    const { KeyMetadata: md } = await kms.send(new CreateKeyCommand({ MultiRegion: true }));
    expect(md?.KeyId?.startsWith("mrk-")).toBe(true);
    expect(md?.MultiRegionConfiguration?.MultiRegionKeyType).toBe("PRIMARY");
    const rep = await kms.send(
      new ReplicateKeyCommand({ KeyId: md!.Arn!, ReplicaRegion: "eu-central-1" }),
    );
    expect(rep.ReplicaKeyMetadata?.Arn).toBe(md!.Arn!.replace("us-east-1", "eu-central-1"));
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: md!.Arn!, Plaintext: text("mrk") }),
    );
    const eu = client(server, "eu-central-1");
    const out = await eu.send(
      new DecryptCommand({ CiphertextBlob, KeyId: rep.ReplicaKeyMetadata!.Arn! }),
    );
    expect(new TextDecoder().decode(out.Plaintext)).toBe("mrk");
    // The primary's ARN is not usable through the eu-central-1 endpoint region.
    expect((await rejection(eu.send(new DescribeKeyCommand({ KeyId: md!.Arn! })))).name).toBe(
      "NotFoundException",
    );
    eu.destroy();
  });

  it("the policy denies with AccessDeniedException naming the ARN and operation; unknown access keys are unrecognized", async () => {
    const a = await server.createKey({ alias: "alias/policy" });
    server.setPolicy({
      AKIDREADER: { "alias/policy": ["kms:Decrypt", "Describe*"] },
      [ACCESS_KEY]: { "*": ["*"] },
    });
    const reader = client(server, server.region, "AKIDREADER");
    try {
      const { CiphertextBlob } = await kms.send(
        new EncryptCommand({ KeyId: a.arn, Plaintext: text("p") }),
      );
      await reader.send(new DecryptCommand({ CiphertextBlob }));
      await reader.send(new DescribeKeyCommand({ KeyId: a.keyId }));
      const denied = await rejection(
        reader.send(new EncryptCommand({ KeyId: a.arn, Plaintext: text("p") })),
      );
      expect(denied.name).toBe("AccessDeniedException");
      expect(denied.message).toContain(`kms:Encrypt on resource: ${a.arn}`);
      const stranger = client(server, server.region, "AKIDNOBODY");
      expect((await rejection(stranger.send(new ListKeysCommand({})))).name).toBe(
        "UnrecognizedClientException",
      );
      stranger.destroy();
    } finally {
      server.setPolicy(undefined);
      reader.destroy();
    }
  });

  it("answers a request without Authorization with MissingAuthenticationTokenException", async () => {
    const res = await fetch(server.endpoint, {
      method: "POST",
      headers: {
        "x-amz-target": "TrentService.ListKeys",
        "content-type": "application/x-amz-json-1.1",
      },
      body: "{}",
    });
    expect(res.status).toBe(400);
    expect((await res.json()).__type).toBe("MissingAuthenticationTokenException");
  });

  it("stats count requests per operation and the in-flight maximum; reset() zeroes them", async () => {
    server.stats.reset();
    await Promise.all([1, 2, 3].map(() => kms.send(new ListKeysCommand({}))));
    expect(server.stats.count("ListKeys")).toBe(3);
    expect(server.stats.total).toBe(3);
    expect(server.stats.maxInFlight).toBeGreaterThanOrEqual(1);
    server.stats.reset();
    expect(server.stats.total).toBe(0);
  });

  it("fault injection: throttling and KMSInternalException have the real shapes", async () => {
    Object.assign(server.faults, { throttleRate: 1 });
    const throttled = await rejection(kms.send(new ListKeysCommand({})));
    server.resetFaults();
    expect(throttled.name).toBe("ThrottlingException");
    Object.assign(server.faults, { errorRate: 1 });
    const internal = await rejection(kms.send(new ListKeysCommand({})));
    server.resetFaults();
    expect(internal.name).toBe("KMSInternalException");
    expect((internal as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode)
      .toBe(500);
  });

  it("createKmsHandler() answers in-process without HTTP", async () => {
    const h = createKmsHandler({ region: "eu-west-1", account: "123456789012" });
    const key = await h.createKey({ alias: "alias/app" });
    const res = await h.handle(
      new Request("http://kms.local/", {
        method: "POST",
        headers: {
          "x-amz-target": "TrentService.DescribeKey",
          "content-type": "application/x-amz-json-1.1",
          authorization:
            "AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-1/kms/aws4_request, Signature=x",
        },
        body: JSON.stringify({ KeyId: "alias/app" }),
      }),
    );
    expect(res.status).toBe(200);
    expect((await res.json()).KeyMetadata.Arn).toBe(
      `arn:aws:kms:eu-west-1:123456789012:key/${key.keyId}`,
    );
  });

  it("state persisted to a file (mode 0600) survives a restart, including rotated material", async () => {
    const dir = await makePrivateTempDir("sealfig-kms-");
    const statePath = joinPath(dir, "kms-state.json");
    try {
      const first = await startKmsServer({ statePath });
      const c1 = client(first);
      const { KeyMetadata } = await c1.send(new CreateKeyCommand({}));
      await c1.send(
        new CreateAliasCommand({ AliasName: "alias/persist", TargetKeyId: KeyMetadata!.KeyId! }),
      );
      const { CiphertextBlob } = await c1.send(
        new EncryptCommand({ KeyId: "alias/persist", Plaintext: text("kept") }),
      );
      await c1.send(new RotateKeyOnDemandCommand({ KeyId: "alias/persist" }));
      const rotated = await c1.send(
        new EncryptCommand({ KeyId: "alias/persist", Plaintext: text("new") }),
      );
      c1.destroy();
      await first.close();
      const st = await statFile(statePath);
      if (st?.mode !== undefined) expect(st.mode).toBe(0o600);

      const second = await startKmsServer({ statePath });
      const c2 = client(second);
      const out = await c2.send(new DecryptCommand({ CiphertextBlob, KeyId: "alias/persist" }));
      expect(new TextDecoder().decode(out.Plaintext)).toBe("kept");
      const out2 = await c2.send(new DecryptCommand({ CiphertextBlob: rotated.CiphertextBlob }));
      expect(new TextDecoder().decode(out2.Plaintext)).toBe("new");
      expect(second.materialVersions("alias/persist")).toBe(2);
      await c2.send(new EnableKeyCommand({ KeyId: "alias/persist" }));
      c2.destroy();
      await second.close();
    } finally {
      await removePath(dir);
    }
  });

  it("runKmsServer() rejects an unknown flag with exit code 2", async () => {
    expect(await runKmsServer(["--no-such-flag"])).toBe(2);
    expect(await runKmsServer(["--throttle-rate", "2"])).toBe(2);
  });
});
