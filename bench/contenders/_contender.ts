/**
 * What every contender implements: one cold load of N committed ciphertexts into N plaintexts.
 *
 * @module
 */

/** The outcome of one load. */
export interface Loaded {
  /** The plaintexts, in fixture order (checked against values.json outside the timing). */
  values: string[];
  /** sealfig: distinct wrapped data keys the load opened (values' and integrity records'). */
  dataKeys?: number;
  /** sealfig: integrity records verified (one integrity data key each). */
  integrityKeys?: number;
  /** Close clients; called after the timing stops. */
  dispose(): void | Promise<void>;
}

/** A contender configuration, ready to run. */
export interface Contender {
  /**
   * Turn the ciphertexts in fixture directory `dir` into plaintexts, as a service does at
   * startup: fresh clients and caches every call, reading the committed file is part of it.
   */
  load(dir: string): Promise<Loaded>;
}
