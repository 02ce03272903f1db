/**
 * The adversarial suite (issue 8): tampering, property tests, bad input, KMS faults, crash safety,
 * concurrency, and a final leak scan over everything captured, with a summary of counts printed at
 * the end (stderr). One test file, so the counters and captures live in one module instance on
 * both runtimes; the categories are in `_*.ts` next to it.
 *
 * Default mode is fast; `npm run test:deep` (SEALFIG_TEST_DEEP=1) does more of everything.
 */
import { afterAll, describe, expect, it } from "vitest";
import { cleanupDirs, printSummary, recordScan, scanForLeaks } from "./_collector.ts";
import { tamperingSuite } from "./_tampering.ts";
import { propertiesSuite } from "./_properties.ts";
import { fidelitySuite } from "./_fidelity.ts";
import { badInputSuite } from "./_bad_input.ts";
import { kmsFaultsSuite } from "./_kms_faults.ts";
import { crashSuite } from "./_crash.ts";
import { concurrencySuite } from "./_concurrency.ts";
import { differentialSuite } from "./_differential.ts";
import { mergeSuite } from "./_merge.ts";
import { hardeningSuite } from "./_hardening.ts";
import { cryptoEquivalenceSuite } from "./_crypto_equivalence.ts";
import { macInjectiveSuite } from "./_mac_injective.ts";
import { dotenvSuite } from "./_dotenv.ts";
import { ageSuite } from "./_age.ts";
import { jsonSuite } from "./_json.ts";
import { multikeySuite } from "./_multikey.ts";
import { multiDocSuite } from "./_multi_doc.ts";

describe("adversarial suite", () => {
  tamperingSuite();
  propertiesSuite();
  fidelitySuite();
  cryptoEquivalenceSuite();
  badInputSuite();
  kmsFaultsSuite();
  crashSuite();
  concurrencySuite();
  differentialSuite();
  mergeSuite();
  hardeningSuite();
  macInjectiveSuite();
  dotenvSuite();
  ageSuite();
  jsonSuite();
  multikeySuite();
  multiDocSuite();

  it("leak scan: no canary in any captured error, CLI output or temp file", () => {
    const scan = scanForLeaks();
    recordScan(scan);
    expect(scan.canaries).toBeGreaterThan(0);
    expect(scan.captures).toBeGreaterThan(0);
    expect(scan.hits).toEqual([]);
  });

  afterAll(() => {
    printSummary();
    cleanupDirs();
  });
});
