/**
 * One encoding per value: a value under one key is a v1 blob, so a v2 blob must hold 2..16 key
 * slots (docs/format.md §11). A v1 body re-labelled as v2 with one slot is refused, not opened.
 */
import { describe, expect, it } from "vitest";
import { encryptValue, parseBlob } from "../../document.ts";
import { LocalKeyProvider } from "../../mod.ts";
import { fromBase64Url, toBase64Url } from "../../src/crypto/bytes.ts";
import { isSealfigError } from "../../src/errors.ts";

describe("v2 blobs are canonical", () => {
  it("a v2 blob with one key slot is BLOB_MALFORMED", async () => {
    const { id, key } = await LocalKeyProvider.generateKey();
    const provider = new LocalKeyProvider({ keys: [key] });
    const v1 = await encryptValue("hunter2", { provider, keyId: id, path: "db.password" });
    const body = fromBase64Url(v1.slice("sealfig:v1:".length))!;
    expect(body[0]).toBe(1);
    // version 2, then suite and type as they were, then N = 1, then the v1 slot and the rest.
    const v2 = new Uint8Array([2, body[1]!, body[2]!, 1, ...body.slice(3)]);
    let code: string | undefined;
    try {
      parseBlob(`sealfig:v2:${toBase64Url(v2)}`);
    } catch (err) {
      code = isSealfigError(err) ? err.code : "not a SealfigError";
    }
    expect(code).toBe("BLOB_MALFORMED");
    expect(parseBlob(v1).slots).toHaveLength(1);
  });
});
