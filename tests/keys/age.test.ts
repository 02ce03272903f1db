/**
 * The age provider (src/keys/age.ts): write-only sealing to a recipient, identities from the
 * option, SEALFIG_AGE_KEY, SEALFIG_AGE_KEY_FILE and the default file, context binding, no leaks,
 * and interop with another age implementation: identities made by Debian's age-keygen (committed
 * fixture, and live when installed), data keys wrapped by the `age` CLI and the other way round.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { inspect } from "node:util";
import {
  addAgeIdentityToFile,
  decryptValue,
  defaultAgeKeyFile,
  encryptValue,
  isAgeRecipient,
  KeyAllowlist,
} from "../../document.ts";
import { AgeKeyProvider, SealfigError } from "../../mod.ts";
import { defaultProviders } from "../../src/keys/registry.ts";
import { guardProviders, parseTrustedKeys } from "../../src/keys/allowlist.ts";
import { parseKeyRef } from "../../src/rules.ts";
import { withoutKeyMaterial } from "../../src/cli/commands/run.ts";
import { byteForms, renderings } from "../_helpers/leaks.ts";

const dir = mkdtempSync(join(tmpdir(), "sealfig-age-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fixtureDir = new URL("../fixtures/age/", import.meta.url);
const fixtureKeys = readFileSync(new URL("keys.txt", fixtureDir), "utf8");
const vectors = JSON.parse(readFileSync(new URL("vectors.json", fixtureDir), "utf8")) as {
  recipients: string[];
  context: Record<string, string>;
  wrappedByAgeCli: { recipient: string; dekHex: string; ageFileBase64: string };
  blob: { recipient: string; path: string; plaintext: string; blob: string };
};
const fixtureIdentities = fixtureKeys.split("\n").filter((l) => l.startsWith("AGE-SECRET-KEY-1"));

/** A private (0600) copy of some key text, as age-keygen would leave it. */
function privateFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function fromHex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));
}

async function failure(p: Promise<unknown>): Promise<SealfigError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SealfigError);
  return err as SealfigError;
}

/** The SealfigError a synchronous call throws. */
function thrown(fn: () => unknown): SealfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SealfigError);
    return err as SealfigError;
  }
  throw new Error("expected a SealfigError, nothing was thrown");
}

/** Run with these environment variables set (undefined: unset), restoring them after. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>) {
  const prev: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    prev[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(prev)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const NO_AGE_ENV = { SEALFIG_AGE_KEY: undefined, SEALFIG_AGE_KEY_FILE: undefined };

/** Whether a command runs (`age --version`, `age-keygen --version`). */
function hasCommand(cmd: string): boolean {
  const r = spawnSync(cmd, ["--version"], { stdio: "ignore" });
  return r.status === 0;
}
const AGE_CLI = hasCommand("age") && hasCommand("age-keygen");
const SKIP_REASON = "SKIPPED: the age CLI (Debian package `age`: age, age-keygen) is not " +
  "installed; the committed fixtures made by it still run";

describe("AgeKeyProvider: identities made by age-keygen (committed fixture)", () => {
  it("reads a key file as age-keygen writes it: comments, several identities", async () => {
    const file = privateFile("fixture-keys.txt", fixtureKeys);
    const p = new AgeKeyProvider({ keyFile: file });
    expect((await p.keyIds()).sort()).toEqual([...vectors.recipients].sort());
    // The recipients are exactly what age-keygen printed as "# public key:".
    const printed = [...fixtureKeys.matchAll(/# public key: (\S+)/g)].map((m) => m[1]);
    expect((await p.keyIds()).sort()).toEqual(printed.sort());
  });

  it("opens a data key the age CLI wrapped (committed vector)", async () => {
    const w = vectors.wrappedByAgeCli;
    const p = new AgeKeyProvider({ identities: fixtureIdentities });
    const wrapped = Uint8Array.from(atob(w.ageFileBase64), (c) => c.charCodeAt(0));
    const dek = await p.decryptDataKey(w.recipient, wrapped, vectors.context);
    expect(hex(dek)).toBe(w.dekHex);
    const err = await failure(p.decryptDataKey(w.recipient, wrapped, { app: "vectors" }));
    expect(err.code).toBe("DEK_UNWRAP_FAILED");
  });

  it("opens a committed blob sealed to an age-keygen recipient", async () => {
    const b = vectors.blob;
    const p = new AgeKeyProvider({ identities: fixtureIdentities });
    const out = await decryptValue(b.blob, {
      providers: [p],
      path: b.path,
      context: vectors.context,
    });
    expect(out).toBe(b.plaintext);
  });
});

describe("AgeKeyProvider: write-only sealing", () => {
  it("seals with only the recipient; opening needs the identity (KEY_NOT_FOUND naming the variables)", async () => {
    const identity = await AgeKeyProvider.generateIdentity();
    const recipient = await AgeKeyProvider.recipientOf(identity);
    expect(isAgeRecipient(recipient)).toBe(true);
    const writer = new AgeKeyProvider({ keyFile: join(dir, "absent.txt") });
    const blob = await withEnv(NO_AGE_ENV, () =>
      encryptValue("hunter2", {
        provider: writer,
        keyId: recipient,
        path: "db.password",
        context: { app: "shop" },
      }));
    const err = await withEnv(NO_AGE_ENV, () =>
      failure(decryptValue(blob, {
        providers: [writer],
        path: "db.password",
        context: { app: "shop" },
      })));
    expect(err.code).toBe("KEY_NOT_FOUND");
    expect(err.message).toContain(recipient);
    for (const s of ["SEALFIG_AGE_KEY_FILE", "SEALFIG_AGE_KEY ", join(dir, "absent.txt")]) {
      expect(err.message).toContain(s);
    }
    const reader = new AgeKeyProvider({ identities: [identity] });
    expect(
      await decryptValue(blob, {
        providers: [reader],
        path: "db.password",
        context: { app: "shop" },
      }),
    ).toBe("hunter2");
  });

  it("a wrong identity is KEY_NOT_FOUND naming the recipients it holds", async () => {
    const a = await AgeKeyProvider.generateIdentity();
    const b = await AgeKeyProvider.generateIdentity();
    const ra = await AgeKeyProvider.recipientOf(a);
    const rb = await AgeKeyProvider.recipientOf(b);
    const dk = await new AgeKeyProvider({ identities: [] }).generateDataKey(ra, {});
    const err = await failure(
      new AgeKeyProvider({ identities: [b] }).decryptDataKey(ra, dk.wrapped, {}),
    );
    expect(err.code).toBe("KEY_NOT_FOUND");
    expect(err.message).toContain(rb);
    expect(renderings(err)).not.toContain(b);
  });
});

describe("AgeKeyProvider: binding and tampering", () => {
  it("binds the recipient, the context and the wrapped bytes", async () => {
    const a = await AgeKeyProvider.generateIdentity();
    const ra = await AgeKeyProvider.recipientOf(a);
    const p = new AgeKeyProvider({ identities: [a] });
    const dk = await p.generateDataKey(ra, { app: "shop", env: "prod" });
    expect(dk.keyId).toBe(ra);
    expect(dk.plaintext.length).toBe(32);
    expect(await p.decryptDataKey(ra, dk.wrapped, { env: "prod", app: "shop" })).toEqual(
      dk.plaintext,
    );
    for (
      const ctx of [{}, { app: "shop" }, { app: "shop", env: "dev" }, {
        app: "shop",
        env: "prod",
        x: "",
      }]
    ) {
      expect((await failure(p.decryptDataKey(ra, dk.wrapped, ctx))).code).toBe("DEK_UNWRAP_FAILED");
    }
    // Every single-byte change of the age file is refused.
    let refused = 0;
    for (let i = 0; i < dk.wrapped.length; i += 7) {
      const bad = dk.wrapped.slice();
      bad[i]! ^= 0x01;
      const err = await failure(p.decryptDataKey(ra, bad, { app: "shop", env: "prod" }));
      expect(err.code).toBe("DEK_UNWRAP_FAILED");
      refused++;
    }
    expect(refused).toBeGreaterThan(30);
    // Truncated, empty, oversized.
    for (const bad of [dk.wrapped.slice(0, 40), new Uint8Array(0), new Uint8Array(5000)]) {
      expect((await failure(p.decryptDataKey(ra, bad, {}))).code).toBe("DEK_UNWRAP_FAILED");
    }
  });

  it("a payload wrapped to one recipient does not open as another recipient's", async () => {
    // Both identities held: the age file opens with a's identity only, and the binding names a.
    const a = await AgeKeyProvider.generateIdentity();
    const b = await AgeKeyProvider.generateIdentity();
    const ra = await AgeKeyProvider.recipientOf(a);
    const rb = await AgeKeyProvider.recipientOf(b);
    const p = new AgeKeyProvider({ identities: [a, b] });
    const dk = await p.generateDataKey(ra, {});
    expect((await failure(p.decryptDataKey(rb, dk.wrapped, {}))).code).toBe("DEK_UNWRAP_FAILED");
    // The payload itself (DEK and a binding naming a), re-encrypted to b by age: b's identity
    // opens the age file, and the binding refuses it.
    const age = await import("age-encryption");
    const d = new age.Decrypter();
    d.addIdentity(a);
    const payload = await d.decrypt(dk.wrapped);
    const e = new age.Encrypter();
    e.addRecipient(rb);
    const moved = await e.encrypt(payload);
    expect((await failure(p.decryptDataKey(rb, moved, {}))).code).toBe("DEK_UNWRAP_FAILED");
    // The same payload re-encrypted to a opens: the refusal above is the binding's.
    const e2 = new age.Encrypter();
    e2.addRecipient(ra);
    expect(await p.decryptDataKey(ra, await e2.encrypt(payload), {})).toEqual(dk.plaintext);
  });

  it("wrapDataKey and rewrapDataKey keep the data key", async () => {
    const a = await AgeKeyProvider.generateIdentity();
    const b = await AgeKeyProvider.generateIdentity();
    const ra = await AgeKeyProvider.recipientOf(a);
    const rb = await AgeKeyProvider.recipientOf(b);
    const p = new AgeKeyProvider({ identities: [a, b] });
    const dek = crypto.getRandomValues(new Uint8Array(32));
    const w = await new AgeKeyProvider({ identities: [] }).wrapDataKey(ra, dek, { k: "v" });
    expect(w.keyId).toBe(ra);
    expect(await p.decryptDataKey(ra, w.wrapped, { k: "v" })).toEqual(dek);
    const re = await p.rewrapDataKey(ra, w.wrapped, { k: "v" }, rb);
    expect(re.keyId).toBe(rb);
    expect(await p.decryptDataKey(rb, re.wrapped, { k: "v" })).toEqual(dek);
    const err = await failure(p.wrapDataKey(ra, new Uint8Array(31), {}));
    expect(err.code).toBe("OPTION_INVALID");
  });

  it("refuses a malformed recipient with KEY_INVALID", async () => {
    const p = new AgeKeyProvider({ identities: [] });
    const good = vectors.recipients[0]!;
    const badChecksum = good.slice(0, -1) + (good.endsWith("q") ? "p" : "q");
    for (const r of [badChecksum, "age1", good.toUpperCase(), "lk_0123456789abcdef"]) {
      const err = await failure(p.generateDataKey(r, {}));
      expect(err.code).toBe("KEY_INVALID");
    }
  });
});

describe("AgeKeyProvider: where identities come from", () => {
  it("SEALFIG_AGE_KEY: several identities, one a line, comments allowed", async () => {
    const text = `# two keys\n${fixtureIdentities[0]}\n\n  ${fixtureIdentities[1]}  \n`;
    const ids = await withEnv(
      { SEALFIG_AGE_KEY: text, SEALFIG_AGE_KEY_FILE: undefined },
      () => new AgeKeyProvider({ keyFile: join(dir, "absent.txt") }).keyIds(),
    );
    expect(ids.sort()).toEqual([...vectors.recipients].sort());
  });

  it("SEALFIG_AGE_KEY_FILE names the file; SEALFIG_AGE_KEY adds to it", async () => {
    const file = privateFile("env-keys.txt", fixtureKeys.split("\n\n")[0]! + "\n");
    const extra = await AgeKeyProvider.generateIdentity();
    const ids = await withEnv({ SEALFIG_AGE_KEY_FILE: file, SEALFIG_AGE_KEY: extra }, async () => {
      expect(defaultAgeKeyFile()).toBe(file);
      return await new AgeKeyProvider().keyIds();
    });
    expect(ids.sort()).toEqual(
      [vectors.recipients[0]!, await AgeKeyProvider.recipientOf(extra)].sort(),
    );
  });

  it("the default file is $XDG_CONFIG_HOME/sealfig/age/keys.txt, used through the default providers", async () => {
    const xdg = join(dir, "xdg");
    mkdirSync(join(xdg, "sealfig", "age"), { recursive: true });
    privateFile(join("xdg", "sealfig", "age", "keys.txt"), fixtureKeys);
    await withEnv({ ...NO_AGE_ENV, XDG_CONFIG_HOME: xdg }, async () => {
      expect(defaultAgeKeyFile()).toBe(join(xdg, "sealfig", "age", "keys.txt"));
      const age = defaultProviders().find((p) => p.id === "age")!;
      expect((await age.keyIds!()).sort()).toEqual([...vectors.recipients].sort());
      const b = vectors.blob;
      expect(
        await decryptValue(b.blob, {
          providers: defaultProviders(),
          path: b.path,
          context: vectors.context,
        }),
      ).toBe(b.plaintext);
    });
  });

  it("refuses a key file others can read (KEY_FILE_PERMISSIONS)", async () => {
    if (process.platform === "win32") return; // POSIX modes only
    const file = privateFile("loose.txt", fixtureKeys);
    chmodSync(file, 0o644);
    const err = await failure(new AgeKeyProvider({ keyFile: file }).keyIds());
    expect(err.code).toBe("KEY_FILE_PERMISSIONS");
    expect(renderings(err)).not.toContain(fixtureIdentities[0]!);
  });

  it("a malformed identity is KEY_INVALID with its line, never its text", async () => {
    const canary = "AGE-SECRET-KEY-1" + "CNRYQQQQ".repeat(7) + "QQ"; // right shape, bad checksum
    const file = privateFile("bad.txt", `# created: now\n${fixtureIdentities[0]}\n${canary}\n`);
    const err = await failure(new AgeKeyProvider({ keyFile: file }).keyIds());
    expect(err.code).toBe("KEY_INVALID");
    expect(err.message).toContain(`${file}:3`);
    expect(renderings(err)).not.toContain("CNRYQQQQ");
    expect(renderings(err)).not.toContain(fixtureIdentities[0]!);
    const err2 = await failure(
      new AgeKeyProvider({ identities: ["AGE-SECRET-KEY-1CNRYshort"] }).keyIds(),
    );
    expect(err2.code).toBe("KEY_INVALID");
    expect(renderings(err2)).not.toContain("CNRYshort");
  });

  it("skips identity kinds it does not use (plugin, post-quantum) and says so", async () => {
    const plugin = "AGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQ";
    const p = new AgeKeyProvider({ identities: [plugin, fixtureIdentities[0]!] });
    expect(await p.keyIds()).toEqual([vectors.recipients[0]]);
    const err = await failure(p.decryptDataKey(vectors.recipients[1]!, new Uint8Array(10), {}));
    expect(err.code).toBe("KEY_NOT_FOUND");
    expect(err.message).toContain("1 identity of another kind skipped");
    expect(renderings(err)).not.toContain(plugin);
  });

  it("accepts an identity written in lower case (bech32 is case-insensitive)", async () => {
    const p = new AgeKeyProvider({ identities: [fixtureIdentities[0]!.toLowerCase()] });
    expect(await p.keyIds()).toEqual([vectors.recipients[0]]);
  });
});

describe("addAgeIdentityToFile (sealfig keygen --age)", () => {
  it("writes what age-keygen -o writes: 0600 in a 0700 directory, comments, appended", async () => {
    const file = join(dir, "made", "age", "keys.txt");
    const r1 = await addAgeIdentityToFile(file);
    const r2 = await addAgeIdentityToFile(file);
    expect(r1).not.toBe(r2);
    if (process.platform !== "win32") {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, "made", "age")).mode & 0o777).toBe(0o700);
    }
    const text = readFileSync(file, "utf8");
    const shape =
      /^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n# public key: (age1\S+)\nAGE-SECRET-KEY-1[0-9A-Z]{58}\n$/;
    const blocks = text.split("\n\n");
    expect(blocks.length).toBe(2);
    expect(shape.exec(blocks[0]! + "\n")?.[1]).toBe(r1);
    expect(shape.exec(blocks[1]!)?.[1]).toBe(r2);
    expect((await new AgeKeyProvider({ keyFile: file }).keyIds()).sort()).toEqual([r1, r2].sort());
    if (!AGE_CLI) return console.warn(SKIP_REASON);
    // The age tools read it: age-keygen -y prints the recipients sealfig printed.
    const y = spawnSync("age-keygen", ["-y", file], { encoding: "utf8" });
    expect(y.status).toBe(0);
    expect(y.stdout.trim().split("\n")).toEqual([r1, r2]);
  });

  it("refuses to add to a file others can read", async () => {
    if (process.platform === "win32") return; // POSIX modes only
    const file = privateFile("loose-add.txt", fixtureKeys);
    chmodSync(file, 0o640);
    const err = await failure(addAgeIdentityToFile(file));
    expect(err.code).toBe("KEY_FILE_PERMISSIONS");
    expect(readFileSync(file, "utf8")).toBe(fixtureKeys);
  });
});

describe("AgeKeyProvider: identities never leak", () => {
  it("not through inspect, JSON, errors or the child environment of run", async () => {
    const identity = await AgeKeyProvider.generateIdentity();
    const recipient = await AgeKeyProvider.recipientOf(identity);
    const p = new AgeKeyProvider({ identities: [identity] });
    const dk = await p.generateDataKey(recipient, { a: "b" });
    await p.decryptDataKey(recipient, dk.wrapped, { a: "b" }); // identities loaded
    const secretForms = [identity, identity.toLowerCase(), identity.slice(16)];
    const shown = renderings(p) + inspect(p, { showHidden: true, depth: 10 }) + JSON.stringify(p);
    for (const s of secretForms) expect(shown).not.toContain(s);
    const errors = [
      await failure(p.decryptDataKey(recipient, dk.wrapped, { a: "c" })),
      await failure(p.decryptDataKey(recipient, dk.wrapped.slice(1), { a: "b" })),
      await failure(p.generateDataKey(identity, {})),
      await failure(p.decryptDataKey(identity, dk.wrapped, { a: "b" })),
      await failure(p.rewrapDataKey(recipient, dk.wrapped, { a: "b" }, identity)),
      await failure(p.wrapDataKey(identity, dk.plaintext, {})),
      await failure(new AgeKeyProvider({ identities: [identity + "X"] }).keyIds()),
      thrown(() => parseKeyRef(identity)),
      thrown(() => parseKeyRef(`age:${identity}`)),
      thrown(() => KeyAllowlist.of([identity])),
      thrown(() => parseTrustedKeys(`alias/x, ${identity}`)),
    ];
    for (const err of errors) {
      const text = renderings(err);
      for (const s of secretForms) expect(text).not.toContain(s);
      for (const f of byteForms(dk.plaintext)) expect(text).not.toContain(f);
    }
    const env = withoutKeyMaterial({
      PATH: "/bin",
      SEALFIG_AGE_KEY: identity,
      SEALFIG_AGE_KEY_FILE: "/k",
      OTHER: `x ${identity.toLowerCase()} y`,
      SOME_KEY: identity,
    });
    expect(env).toEqual({ PATH: "/bin" });
  });
});

describe("key references and the allowlist understand recipients", () => {
  const r = vectors.recipients[0]!;
  it("parseKeyRef: age1… and age:age1…, strictly", () => {
    expect(parseKeyRef(r)).toEqual({ providerId: "age", keyId: r });
    expect(parseKeyRef(`age:${r}`)).toEqual({ providerId: "age", keyId: r });
    for (const bad of ["age1abc", `age:${r}x`, r.toUpperCase().replace("AGE1", "age1"), `${r} `]) {
      expect((thrown(() => parseKeyRef(bad))).code).toBe("OPTION_INVALID");
    }
  });

  it("KeyAllowlist trusts a named recipient and no other", async () => {
    const other = vectors.recipients[1]!;
    for (const refs of [[r], [`age:${r}`], parseTrustedKeys(`alias/x, ${r}`) as string[]]) {
      const trust = KeyAllowlist.of(refs);
      expect(await trust.isTrusted({ providerId: "age", keyId: r }, [])).toBe(true);
      expect(await trust.isTrusted({ providerId: "age", keyId: other }, [])).toBe(false);
      // The same text under another provider id is another key.
      expect(await trust.isTrusted({ providerId: "local", keyId: r }, [])).toBe(false);
    }
    // The guarded providers keep wrapDataKey (sealing is not restricted) and check decrypts.
    const identity = fixtureIdentities[0]!;
    const [guarded] = guardProviders(
      [new AgeKeyProvider({ identities: [identity] })],
      KeyAllowlist.of([other]),
    );
    const w = await guarded!.wrapDataKey!(r, new Uint8Array(32).fill(9), {});
    expect((await failure(guarded!.decryptDataKey(r, w.wrapped, {}))).code).toBe("KEY_UNTRUSTED");
    const err = thrown(() => KeyAllowlist.of(["age1nope"]));
    expect(err.code).toBe("OPTION_INVALID");
    // A blob naming a malformed recipient is never trusted.
    expect(await KeyAllowlist.of([r]).isTrusted({ providerId: "age", keyId: r + "q" }, [])).toBe(
      false,
    );
  });
});

describe("interop with the age CLI (Debian package age)", () => {
  it("an identity made by age-keygen now opens what sealfig sealed to its recipient", async () => {
    if (!AGE_CLI) return console.warn(SKIP_REASON);
    const file = join(dir, "live-keys.txt");
    const made = spawnSync("age-keygen", ["-o", file], { encoding: "utf8" });
    expect(made.status).toBe(0);
    const recipient = spawnSync("age-keygen", ["-y", file], { encoding: "utf8" }).stdout.trim();
    expect(isAgeRecipient(recipient)).toBe(true);
    const blob = await encryptValue(4242, {
      provider: new AgeKeyProvider({ identities: [] }),
      keyId: recipient,
      path: "port",
    });
    const reader = new AgeKeyProvider({ keyFile: file });
    expect(await reader.keyIds()).toEqual([recipient]);
    expect(await decryptValue(blob, { providers: [reader], path: "port" })).toBe(4242);
  });

  it("age -d opens a data key sealfig wrapped; sealfig opens one age -r wrapped", async () => {
    if (!AGE_CLI) return console.warn(SKIP_REASON);
    const file = privateFile("interop-keys.txt", fixtureKeys);
    const recipient = vectors.recipients[1]!;
    const context = { app: "interop", env: "test" };
    const p = new AgeKeyProvider({ keyFile: file });
    // sealfig → age
    const dk = await new AgeKeyProvider({ identities: [] }).generateDataKey(recipient, context);
    const opened = spawnSync("age", ["-d", "-i", file], { input: dk.wrapped });
    expect(opened.status).toBe(0);
    const payload = new Uint8Array(opened.stdout);
    expect(payload.length).toBe(65);
    expect(payload[0]).toBe(1);
    expect(hex(payload.subarray(1, 33))).toBe(hex(dk.plaintext));
    // age → sealfig: the same payload (DEK and binding), encrypted by age itself
    const sealedByAge = spawnSync("age", ["-r", recipient], { input: payload });
    expect(sealedByAge.status).toBe(0);
    const dek = await p.decryptDataKey(recipient, new Uint8Array(sealedByAge.stdout), context);
    expect(dek).toEqual(dk.plaintext);
    // …bound to its context there too
    const err = await failure(
      p.decryptDataKey(recipient, new Uint8Array(sealedByAge.stdout), { app: "interop" }),
    );
    expect(err.code).toBe("DEK_UNWRAP_FAILED");
    // A DEK age wrapped without sealfig's binding is refused.
    const raw = spawnSync("age", ["-r", recipient], {
      input: fromHex(vectors.wrappedByAgeCli.dekHex),
    });
    const err2 = await failure(p.decryptDataKey(recipient, new Uint8Array(raw.stdout), context));
    expect(err2.code).toBe("DEK_UNWRAP_FAILED");
  });
});
