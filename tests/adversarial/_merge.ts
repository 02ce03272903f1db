/**
 * The key-level merge (src/document/merge.ts, the merge driver's fallback when lines conflict),
 * by property: random block-map documents, two branches editing disjoint keys (changes, removals,
 * additions at the same place, edits to different keys of one nested map) merge with no conflict
 * into exactly the expected data; the same key changed two ways is always a conflict naming it.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseDocument } from "../../src/document/document.ts";
import { mergeDocuments } from "../../src/document/merge.ts";
import { captureCli, DEEP, note, plaintextOnPurpose, tempDir, tried } from "./_collector.ts";
import { cliRepo, key2 } from "./_fixture.ts";
import { runSealfig } from "../_helpers/cli.ts";

type Scalar = number | string;
type Entries = [string, Scalar | [string, Scalar][]][];

const RUNS = DEEP ? 3_000 : 200;

function emit(entries: Entries, indent = 0): string {
  const pad = " ".repeat(indent);
  return entries.map(([k, v]) =>
    Array.isArray(v) ? `${pad}${k}:\n${emit(v, indent + 2)}` : `${pad}${k}: ${v}\n`
  ).join("");
}

function toData(entries: Entries): Record<string, unknown> {
  return Object.fromEntries(
    entries.map(([k, v]) => [k, Array.isArray(v) ? toData(v) : v]),
  );
}

function canonical(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) =>
      x && typeof x === "object" && !Array.isArray(x)
        ? Object.fromEntries(Object.entries(x as object).sort(([p], [q]) => p < q ? -1 : 1))
        : x,
  );
}

const scalar: fc.Arbitrary<Scalar> = fc.oneof(
  fc.integer({ min: 0, max: 99_999 }),
  fc.stringMatching(/^[a-z]{1,6}$/).map((s) => `v${s}`),
);
const nested = fc.array(scalar, { minLength: 1, maxLength: 3 }).map((vs) =>
  vs.map((v, i): [string, Scalar] => [`n${i}`, v])
);
const base = fc.array(fc.oneof(scalar, nested), { minLength: 2, maxLength: 7 }).map((vs) =>
  vs.map((v, i): Entries[number] => [`k${i}`, v])
);

/** Who does what to each top-level key: 0 nothing, 1/2 ours/theirs change, 3/4 remove, 5 both edit inner keys. */
const plan = fc.record({
  base,
  ops: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 7, maxLength: 7 }),
  values: fc.array(scalar, { minLength: 16, maxLength: 16 }),
  addOurs: fc.array(fc.tuple(fc.nat(), scalar), { maxLength: 2 }),
  addTheirs: fc.array(fc.tuple(fc.nat(), scalar), { maxLength: 2 }),
});

function clone(e: Entries): Entries {
  return e.map(([k, v]) => [k, Array.isArray(v) ? v.map(([a, b]) => [a, b]) : v]);
}

function distinct(a: Scalar, avoid: Scalar): Scalar {
  return a === avoid ? (typeof a === "number" ? a + 1 : `${a}x`) : a;
}

export function mergeSuite(): void {
  describe("key-level merge", () => {
    it("disjoint edits by two branches merge cleanly into exactly the expected data", () => {
      const done = tried("properties", RUNS);
      let lineConflicts = 0;
      fc.assert(
        fc.property(plan, (p) => {
          const ours = clone(p.base), theirs = clone(p.base), want = clone(p.base);
          let vi = 0;
          const next = (avoid: Scalar) => distinct(p.values[vi++ % p.values.length]!, avoid);
          const removed = new Set<string>();
          p.base.forEach(([k, v], i) => {
            const op = p.ops[i] ?? 0;
            const side = op === 1 || op === 3 ? ours : op === 2 || op === 4 ? theirs : undefined;
            if ((op === 1 || op === 2) && side) {
              const nv = next(Array.isArray(v) ? -1 : v);
              side[i]![1] = nv;
              want[i]![1] = nv;
            } else if ((op === 3 || op === 4) && side) {
              removed.add(k);
            } else if (op === 5 && Array.isArray(v) && v.length >= 2) {
              const o = ours[i]![1] as [string, Scalar][], t = theirs[i]![1] as [string, Scalar][];
              const w = want[i]![1] as [string, Scalar][];
              o[0]![1] = w[0]![1] = next(v[0]![1]);
              t[1]![1] = w[1]![1] = next(v[1]![1]);
            }
          });
          const drop = (e: Entries, who: Entries | undefined) =>
            e.filter(([k], i) =>
              !removed.has(k) ||
              (who !== undefined && !((p.ops[i] === 3 && who === ours) ||
                (p.ops[i] === 4 && who === theirs)))
            );
          const add = (e: Entries, adds: [number, Scalar][], prefix: string) => {
            adds.forEach(([at, v], j) => e.splice(at % (e.length + 1), 0, [`${prefix}${j}`, v]));
          };
          const o2 = drop(ours, ours), t2 = drop(theirs, theirs);
          const w2 = want.filter(([k]) => !removed.has(k));
          add(o2, p.addOurs, "o");
          add(t2, p.addTheirs, "t");
          const wantData = {
            ...toData(w2),
            ...toData(o2.filter(([k]) => k.startsWith("o"))),
            ...toData(t2.filter(([k]) => k.startsWith("t"))),
          };
          if (o2.length === 0) return; // nothing of ours left to anchor on: the driver conflicts
          const r = mergeDocuments(
            parseDocument(emit(p.base)),
            parseDocument(emit(o2)),
            parseDocument(emit(t2)),
          );
          expect(r, emit(o2) + "---\n" + emit(t2)).toBeDefined();
          expect(r!.conflicts).toEqual([]);
          // (A map emptied by the two sides' removals is an empty document: null.)
          expect(canonical(parseDocument(r!.text).yaml.toJS() ?? {})).toBe(canonical(wantData));
          if (p.addOurs.length && p.addTheirs.length) lineConflicts++;
        }),
        { numRuns: RUNS },
      );
      done();
      note(
        "properties",
        `key merge: ${RUNS} random 3-way merges of disjoint edits (${lineConflicts} with both ` +
          "sides adding keys), 0 conflicts, 0 wrong results",
      );
    });

    it("the same key changed two ways is a conflict naming it, with both sides' lines", () => {
      const done = tried("properties", RUNS);
      fc.assert(
        fc.property(base, fc.nat(), scalar, scalar, (b, at, x, y) => {
          const i = at % b.length;
          const ours = clone(b), theirs = clone(b);
          const a = distinct(x, -1), c = distinct(distinct(y, a), -1);
          ours[i]![1] = a;
          theirs[i]![1] = c === a ? distinct(c, a) : c;
          const r = mergeDocuments(
            parseDocument(emit(b)),
            parseDocument(emit(ours)),
            parseDocument(emit(theirs)),
          );
          const same = canonical(ours[i]![1]) === canonical(b[i]![1]) ||
            canonical(theirs[i]![1]) === canonical(b[i]![1]);
          if (same) return; // one side did not change it after all
          expect(r!.conflicts).toEqual([`k${i}`]);
          expect(r!.text).toContain(`<<<<<<< ours\nk${i}: ${ours[i]![1]}\n=======\n`);
        }),
        { numRuns: RUNS },
      );
      done();
      note("properties", `key merge: ${RUNS} same-key changes, every one a conflict`);
    });

    it("git helpers cannot be steered: planted rules are ignored, an older side is refused", async () => {
      const done = tried("tampering", 3);
      const repo = tempDir("steer");
      const { cwd, env } = cliRepo(repo);
      plaintextOnPurpose(
        repo.write("config/app.yaml", "db:\n  host: db.internal\n  password: !secret steer-pw-1\n"),
      );
      const run = async (label: string, args: string[]) => {
        const r = await runSealfig(args, { cwd, env });
        captureCli(label, r);
        return r;
      };
      expect((await run("encrypt", ["encrypt", "-i", "config/app.yaml"])).code).toBe(0);
      const v1 = repo.read("config/app.yaml");
      expect((await run("set", ["set", "config/app.yaml", "db.password", "steer-pw-2"])).code)
        .toBe(0);
      const v2 = repo.read("config/app.yaml");
      // git's temporary directory, with planted rules that would turn integrity off.
      const tmp = tempDir("steer-tmp");
      tmp.write(
        ".sealfig.yaml",
        `rules:\n  - files: '.'\n    key: local:${key2.id}\n    integrity: off\ntrust: any\n`,
      );
      const tampered = v2.replace("db.internal", "evil.example");
      expect(tampered).not.toBe(v2);
      const copy = tmp.write("AbC123_app.yaml", tampered);
      const tc = await run("textconv", ["textconv", copy]);
      expect(tc.code).toBe(0);
      expect(tc.stderr.trim().split("\n")).toHaveLength(1); // the warning the plant would hide
      expect(tc.stderr).toContain("INTEGRITY_INVALID");
      const ours = tmp.write("ours.yaml", v2);
      const theirs = tmp.write("theirs.yaml", tampered);
      const m1 = await run("merge", [
        "merge",
        tmp.write("base.yaml", v1),
        ours,
        theirs,
        "config/app.yaml",
      ]);
      expect(m1.code).toBe(1);
      expect(m1.stderr).toContain("INTEGRITY_INVALID");
      // A branch that restores the older, validly stamped file.
      tmp.write("ours.yaml", v2);
      const m2 = await run("merge", [
        "merge",
        tmp.write("base.yaml", v2),
        ours,
        tmp.write("theirs.yaml", v1),
        "config/app.yaml",
      ]);
      expect(m2.code).toBe(1);
      expect(m2.stderr).toContain("INTEGRITY_ROLLBACK");
      done();
      note(
        "tampering",
        "git helpers: planted rules in git's temp dir ignored by textconv and merge; a side " +
          "older than the base refused (3/3)",
      );
    });
  });
}
