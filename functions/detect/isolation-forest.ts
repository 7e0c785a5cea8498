/**
 * Isolation Forest (Liu, Ting, Zhou 2008), written here because no maintained npm
 * implementation exists. Seeded, so the same data gives the same scores.
 *
 * score s(x, n) = 2^(-E(h(x)) / c(n)), where h(x) is the path length of x in one tree (plus
 * c(size) at an external node that still holds `size` points) and c(n) the average path length
 * of an unsuccessful search in a binary search tree of n points.
 */

const EULER_GAMMA = 0.5772156649015329;

/** c(n) = 2 H(n-1) - 2 (n-1) / n, with H(i) ~ ln(i) + Euler's constant; c(2) = 1, c(n<2) = 0. */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

/** mulberry32: a small, fast, seeded PRNG with uniform output in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface IsolationForestOptions {
  /** @default 100 */
  readonly trees?: number;
  /** Points drawn (without replacement) for each tree. @default 256 */
  readonly sampleSize?: number;
  /** @default 42 */
  readonly seed?: number;
}

/** One tree in flat arrays: node i splits on feature[i] at threshold[i], or is external (feature -1). */
interface Tree {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** Points held by an external node. */
  size: Int32Array;
  /** c(size) of an external node, computed once at fit time. */
  adjust: Float64Array;
}

export class IsolationForest {
  readonly trees: number;
  readonly sampleSize: number;
  private readonly seed: number;
  private forest: Tree[] = [];
  /** All trees in one set of flat arrays, for scoring: node ids are global, roots listed per tree. */
  private flat: { feature: Int32Array; threshold: Float64Array; left: Int32Array; right: Int32Array; adjust: Float64Array; roots: Int32Array } | undefined;
  /** ψ actually used (the sample size, or fewer when the data set is smaller). */
  private psi = 0;
  /** c(ψ), the normaliser of every score. */
  private cPsi = 1;

  constructor(options: IsolationForestOptions = {}) {
    this.trees = options.trees ?? 100;
    this.sampleSize = options.sampleSize ?? 256;
    this.seed = options.seed ?? 42;
  }

  /** Fits the forest on rows of equal-length numeric features. */
  fit(data: readonly (readonly number[])[]): this {
    if (data.length === 0) throw new RangeError("IsolationForest.fit: no rows to fit");
    const random = seededRandom(this.seed);
    this.psi = Math.min(this.sampleSize, data.length);
    this.cPsi = averagePathLength(this.psi);
    const heightLimit = Math.ceil(Math.log2(Math.max(this.psi, 2)));
    const dims = data[0]!.length;
    const indices = Array.from({ length: data.length }, (_, i) => i);
    this.forest = [];
    for (let t = 0; t < this.trees; t++) {
      // Partial Fisher-Yates: the first psi entries become a sample without replacement.
      for (let i = 0; i < this.psi; i++) {
        const j = i + Math.floor(random() * (indices.length - i));
        const tmp = indices[i]!;
        indices[i] = indices[j]!;
        indices[j] = tmp;
      }
      this.forest.push(buildTree(data, indices.slice(0, this.psi), heightLimit, dims, random));
    }
    this.flatten();
    return this;
  }

  private flatten(): void {
    const total = this.forest.reduce((n, t) => n + t.feature.length, 0);
    const flat = {
      feature: new Int32Array(total),
      threshold: new Float64Array(total),
      left: new Int32Array(total),
      right: new Int32Array(total),
      adjust: new Float64Array(total),
      roots: new Int32Array(this.forest.length),
    };
    let base = 0;
    this.forest.forEach((t, i) => {
      flat.roots[i] = base;
      flat.feature.set(t.feature, base);
      flat.threshold.set(t.threshold, base);
      flat.adjust.set(t.adjust, base);
      for (let n = 0; n < t.feature.length; n++) {
        flat.left[base + n] = t.left[n]! + base;
        flat.right[base + n] = t.right[n]! + base;
      }
      base += t.feature.length;
    });
    this.flat = flat;
  }

  /** Path length h(x) of one point in tree `t`, with the c(size) adjustment at the external node. */
  pathLength(x: readonly number[], t: number): number {
    const tree = this.forest[t]!;
    let node = 0;
    let depth = 0;
    while (tree.feature[node]! >= 0) {
      node = x[tree.feature[node]!]! < tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
      depth++;
    }
    return depth + tree.adjust[node]!;
  }

  /** Anomaly score in (0, 1]: near 1 isolates easily (anomalous), well below 0.5 is ordinary. */
  score(x: readonly number[]): number {
    const f = this.flat;
    if (f === undefined) throw new RangeError("IsolationForest.score: call fit() first");
    const { feature, threshold, left, right, adjust, roots } = f;
    let sum = 0;
    for (let t = 0; t < roots.length; t++) {
      let node = roots[t]!;
      let depth = 0;
      for (let k = feature[node]!; k >= 0; k = feature[node]!) {
        node = x[k]! < threshold[node]! ? left[node]! : right[node]!;
        depth++;
      }
      sum += depth + adjust[node]!;
    }
    return Math.pow(2, -(sum / roots.length) / this.cPsi);
  }

  /** Scores many rows, tree by tree: each tree stays in cache while every row walks it. */
  scoreAll(data: readonly (readonly number[])[]): number[] {
    const f = this.flat;
    if (f === undefined) throw new RangeError("IsolationForest.score: call fit() first");
    const n = data.length;
    if (n === 0) return [];
    const dims = data[0]!.length;
    const rows = new Float64Array(n * dims);
    data.forEach((x, i) => rows.set(x, i * dims));
    const sums = new Float64Array(n);
    const { feature, threshold, left, right, adjust, roots } = f;
    for (let t = 0; t < roots.length; t++) {
      const root = roots[t]!;
      for (let i = 0, o = 0; i < n; i++, o += dims) {
        let node = root;
        let depth = 0;
        for (let k = feature[node]!; k >= 0; k = feature[node]!) {
          node = rows[o + k]! < threshold[node]! ? left[node]! : right[node]!;
          depth++;
        }
        sums[i] += depth + adjust[node]!;
      }
    }
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = Math.pow(2, -(sums[i]! / roots.length) / this.cPsi);
    return out;
  }
}

function buildTree(data: readonly (readonly number[])[], sample: number[], heightLimit: number, dims: number, random: () => number): Tree {
  const max = 2 * sample.length;
  const tree: Tree = {
    feature: new Int32Array(max).fill(-1),
    threshold: new Float64Array(max),
    left: new Int32Array(max),
    right: new Int32Array(max),
    size: new Int32Array(max),
    adjust: new Float64Array(max),
  };
  let next = 0;
  const grow = (rows: number[], depth: number): number => {
    const node = next++;
    if (depth >= heightLimit || rows.length <= 1) {
      tree.size[node] = rows.length;
      tree.adjust[node] = averagePathLength(rows.length);
      return node;
    }
    // Pick a feature that still varies among these rows; a node whose rows are all equal is external.
    const start = Math.floor(random() * dims);
    for (let k = 0; k < dims; k++) {
      const f = (start + k) % dims;
      let lo = Infinity;
      let hi = -Infinity;
      for (const r of rows) {
        const v = data[r]![f]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi > lo) {
        const split = lo + random() * (hi - lo);
        const l: number[] = [];
        const rgt: number[] = [];
        for (const r of rows) (data[r]![f]! < split ? l : rgt).push(r);
        tree.feature[node] = f;
        tree.threshold[node] = split;
        tree.left[node] = grow(l, depth + 1);
        tree.right[node] = grow(rgt, depth + 1);
        return node;
      }
    }
    tree.size[node] = rows.length;
    tree.adjust[node] = averagePathLength(rows.length);
    return node;
  };
  grow(sample, 0);
  return tree;
}
