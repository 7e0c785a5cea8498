import { BRUTE_FORCE, conditionHolds, DECLARATIONS, EXFILTRATION, RuleDeclaration } from "../../../functions/detect/declarations";
import { bindDeclaration } from "../../../functions/detect/rules";
import { DetectorThresholds, longHorizon, resolveThresholds } from "../../../functions/detect/thresholds";

const numericMeasures = (d: RuleDeclaration) => Object.entries(d.measures).filter(([, m]) => !("first" in m) && !("list" in m)).map(([name]) => name);

/** A small seeded generator (mulberry32), so a failure repeats. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Whole values (measures are counts) around every numeric threshold of either horizon: where a condition flips. */
function candidates(t: DetectorThresholds): number[] {
  const thresholds = [...Object.values(t), ...Object.values(t.long)].filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  return [...new Set([0, 1, 2, 3, 4, 5, ...thresholds.flatMap((v) => [v - 1, v, v + 1, v * 2, v * 10 - 1, v * 10, v * 10 + 1])])].filter((v) => v >= 0 && Number.isInteger(v));
}

describe("the engine's windowed rules run their declarations", () => {
  const t = resolveThresholds();
  const values = candidates(t);

  for (const horizon of ["short", "long"] as const) {
    const th = horizon === "long" ? longHorizon(t) : t;
    for (const view of ["i32", "f64"] as const) {
      it(`decide every declaration's condition as conditionHolds does, over ${view} columns at the ${horizon} horizon`, () => {
        const next = random(7);
        for (const d of DECLARATIONS) {
          const names = numericMeasures(d);
          // Two i32 slots per measure, so a double's column stays aligned.
          const columns = Object.fromEntries(names.map((name, k) => [name, view === "i32" ? { i32: 2 * k } : { f64: 2 * k }]));
          const bound = bindDeclaration(d, th, columns);
          const stride = 2 * names.length;
          const rows = 3000;
          const f64 = new Float64Array((rows * stride) / 2 + 1);
          const i32 = new Int32Array(f64.buffer);
          let held = 0;
          for (let row = 0; row < rows; row++) {
            const r = row * stride;
            const m: Record<string, number> = {};
            names.forEach((name, k) => {
              const v = view === "i32" ? Math.min(values[Math.floor(next() * values.length)]!, 2 ** 31 - 1) : values[Math.floor(next() * values.length)]!;
              if (view === "i32") i32[r + 2 * k] = v;
              else f64[(r + 2 * k) >> 1] = v;
              m[name] = v;
            });
            const expected = conditionHolds(d.having, m, th);
            if (bound.holds(r, i32, f64) !== expected) throw new Error(`${d.id} (${horizon}, ${view}) decides ${!expected} on ${JSON.stringify(m)}; conditionHolds says ${expected}`);
            if (row < 100) expect(bound.measures(r, i32, f64)).toEqual(m);
            if (expected) held++;
          }
          // The values reach both sides of every condition but the one that always holds.
          if (!("always" in d.having)) expect(held).toBeGreaterThan(0);
          if (!("always" in d.having)) expect(held).toBeLessThan(rows);
        }
      });
    }
  }

  it("refuse a declaration whose measure has no column and is not computed, naming the rule and the measure", () => {
    expect(() => bindDeclaration(BRUTE_FORCE, resolveThresholds(), { attempts: { i32: 3 } })).toThrow(
      "detector: rule brute-force: measures without a column in the engine's table (got synOnly, sourceInside). Bind each to its column, or compute it, in rules.ts.",
    );
  });

  it("refuse a condition that reads a measure computed per row rather than held in a column", () => {
    expect(() => bindDeclaration(EXFILTRATION, resolveThresholds(), {}, ["egressBytes"])).toThrow(
      "detector: rule exfiltration: its condition reads egressBytes, a measure computed per row, not held in a column (got columns none). Hold it in the engine's table.",
    );
  });
});
