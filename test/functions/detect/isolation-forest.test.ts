import { averagePathLength, IsolationForest, seededRandom } from "../../../functions/detect/isolation-forest";

describe("Isolation Forest", () => {
  it("uses c(n) = 2H(n-1) - 2(n-1)/n with H(i) = ln(i) + Euler's constant", () => {
    expect(averagePathLength(0)).toBe(0);
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
    expect(averagePathLength(256)).toBeCloseTo(10.24477092, 8);
    expect(averagePathLength(100_000)).toBeCloseTo(2 * (Math.log(99_999) + 0.5772156649015329) - (2 * 99_999) / 100_000, 12);
  });

  it("scores every point as 2^(-E(h(x)) / c(n)), with E over the trees' path lengths", () => {
    const random = seededRandom(7);
    const rows = Array.from({ length: 1000 }, () => [random(), random(), random(), random()]);
    const forest = new IsolationForest({ seed: 3 }).fit(rows);
    expect(forest.trees).toBe(100);
    expect(forest.sampleSize).toBe(256);
    for (const x of [rows[0]!, rows[500]!, [5, 5, 5, 5]]) {
      let sum = 0;
      for (let t = 0; t < 100; t++) sum += forest.pathLength(x, t);
      const reference = Math.pow(2, -(sum / 100) / averagePathLength(256));
      expect(forest.score(x)).toBeCloseTo(reference, 12);
    }
  });

  it("gives the reference scores of hand-checkable forests", () => {
    // Two points, one tree: the root splits them, each leaf holds one point: h = 1, c(2) = 1, s = 2^-1.
    const two = new IsolationForest({ trees: 1, seed: 1 }).fit([[0], [1]]);
    expect(two.pathLength([0], 0)).toBe(1);
    expect(two.score([0])).toBeCloseTo(0.5, 12);
    // Identical points cannot be split: the root is external with n points, h = c(n), s = 2^-1.
    const same = new IsolationForest({ trees: 5 }).fit(Array.from({ length: 300 }, () => [1, 2]));
    expect(same.score([1, 2])).toBeCloseTo(0.5, 12);
  });

  it("separates a planted outlier from the bulk", () => {
    const random = seededRandom(11);
    // Box-Muller: a normal bulk has sparse tails, as traffic features do.
    const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const rows = Array.from({ length: 2000 }, () => [10 + normal(), 5 + normal(), 2 + normal(), 1 + normal()]);
    rows.push([18, 13, 10, 9]);
    const scores = new IsolationForest().fit(rows).scoreAll(rows);
    expect(scores[2000]).toBeGreaterThan(0.7);
    const bulk = scores.slice(0, 2000).sort((a, b) => a - b);
    expect(bulk[1000]).toBeLessThan(0.5);
    expect(bulk[1999]).toBeLessThan(scores[2000]!);
  });

  it("is deterministic for a seed", () => {
    const random = seededRandom(5);
    const rows = Array.from({ length: 500 }, () => [random(), random()]);
    const a = new IsolationForest({ seed: 9 }).fit(rows).scoreAll(rows);
    const b = new IsolationForest({ seed: 9 }).fit(rows).scoreAll(rows);
    const c = new IsolationForest({ seed: 10 }).fit(rows).scoreAll(rows);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it("fits with a row order exactly as on the reordered rows", () => {
    const random = seededRandom(8);
    const rows = Array.from({ length: 700 }, () => [random(), random() * 3, random() * random()]);
    const order = Int32Array.from(rows.map((_, i) => i).reverse());
    const flat = Float64Array.from(rows.flat());
    const reordered = Float64Array.from([...order].flatMap((i) => rows[i]!));
    const a = new IsolationForest({ seed: 4 }).fitMatrix(flat, 3, order).scoreMatrix(flat, 3);
    const b = new IsolationForest({ seed: 4 }).fitMatrix(reordered, 3).scoreMatrix(flat, 3);
    const plain = new IsolationForest({ seed: 4 }).fitMatrix(flat, 3).scoreMatrix(flat, 3);
    expect(a).toEqual(b);
    expect(a).not.toEqual(plain);
    expect(() => new IsolationForest().fitMatrix(flat, 3, order.subarray(1))).toThrow("IsolationForest.fit: order has 699 entries for 700 rows");
  });

  it("with a floor, scores every row at or above it exactly, and the rows that stop early (certain to stay below) 0", () => {
    const random = seededRandom(11);
    // The bulk, plus points far out on one feature or several, so that scores spread above and below the floors.
    const rows = Array.from({ length: 20_000 }, (_, i) => (i % 97 === 0 ? [random() * 40, random(), random() * (i % 3) * 20, random()] : [random(), random(), random(), random()]));
    const flat = Float64Array.from(rows.flat());
    const forest = new IsolationForest({ seed: 5 }).fitMatrix(flat, 4);
    const full = forest.scoreMatrix(flat, 4);
    for (const floor of [0.5, 0.6, 0.74]) {
      const cut = forest.scoreMatrix(flat, 4, floor);
      let above = 0;
      let stopped = 0;
      for (let i = 0; i < full.length; i++) {
        if (full[i]! >= floor) {
          above++;
          expect(cut[i]).toBe(full[i]);
        } else if (cut[i] === 0) stopped++;
        else expect(cut[i]).toBe(full[i]);
      }
      expect(above).toBeGreaterThan(0);
      expect(stopped).toBeGreaterThan((full.length - above) / 2);
    }
  });

  it("refuses to fit nothing or to score before fitting", () => {
    expect(() => new IsolationForest().fit([])).toThrow("IsolationForest.fit: no rows to fit");
    expect(() => new IsolationForest().score([1])).toThrow("IsolationForest.score: call fit() first");
  });
});
