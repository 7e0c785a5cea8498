/**
 * Isolation Forest (Liu, Ting, Zhou 2008), written here because no maintained npm
 * implementation exists. Seeded, so the same data gives the same scores.
 *
 * score s(x, n) = 2^(-E(h(x)) / c(n)), where h(x) is the path length of x in one tree (plus
 * c(size) at an external node that still holds `size` points) and c(n) the average path length
 * of an unsuccessful search in a binary search tree of n points.
 */

import { forestSums } from "./wasm";

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
  /** All trees, laid out for scoring (see `flatten`). */
  private flat: { depth: number; feature: Int32Array; threshold: Float64Array; leaf: Float64Array; minLeaf: Float64Array } | undefined;
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
    return this.fitMatrix(toMatrix(data), data[0]!.length);
  }

  /**
   * Fits the forest on a row-major matrix: row i is values[i * dims, (i + 1) * dims). With
   * `order`, samples are drawn as if the rows stood in that order (order[k] is the row at place
   * k): the same forest as fitting the reordered matrix, without moving the rows.
   */
  fitMatrix(values: Float64Array, dims: number, order?: Int32Array): this {
    const count = Math.floor(values.length / dims);
    if (count === 0) throw new RangeError("IsolationForest.fit: no rows to fit");
    if (order && order.length !== count) throw new RangeError(`IsolationForest.fit: order has ${order.length} entries for ${count} rows`);
    const random = seededRandom(this.seed);
    this.psi = Math.min(this.sampleSize, count);
    this.cPsi = averagePathLength(this.psi);
    const heightLimit = Math.ceil(Math.log2(Math.max(this.psi, 2)));
    const indices = new Int32Array(count);
    for (let i = 0; i < count; i++) indices[i] = order ? order[i]! : i;
    this.forest = [];
    for (let t = 0; t < this.trees; t++) {
      // Partial Fisher-Yates: the first psi entries become a sample without replacement.
      for (let i = 0; i < this.psi; i++) {
        const j = i + Math.floor(random() * (count - i));
        const tmp = indices[i]!;
        indices[i] = indices[j]!;
        indices[j] = tmp;
      }
      this.forest.push(buildTree(values, dims, Array.from(indices.subarray(0, this.psi)), heightLimit, random));
    }
    this.flatten();
    return this;
  }

  /**
   * Lays every tree out as a complete binary tree of the height limit, children of node i at
   * 2i + 1 (left, x < threshold) and 2i + 2: an external node above the limit becomes a chain of
   * pass-through nodes (threshold +Infinity, always left) down to a leaf that holds its path
   * length, depth plus c(size). Scoring a point is then exactly `depth` steps of arithmetic, with
   * no pointers to chase and no loop exit to predict, and gives the same path lengths.
   */
  private flatten(): void {
    const depth = Math.ceil(Math.log2(Math.max(this.psi, 2)));
    const inner = (1 << depth) - 1;
    const leaves = 1 << depth;
    const trees = this.forest.length;
    const feature = new Int32Array(trees * inner);
    const threshold = new Float64Array(trees * inner).fill(Infinity);
    const leaf = new Float64Array(trees * leaves);
    /** The shortest path length of each tree (over the leaves a point can reach). */
    const minLeaf = new Float64Array(trees).fill(Infinity);
    this.forest.forEach((tree, t) => {
      const place = (at: number, node: number, level: number, external: number): void => {
        if (level === depth) {
          const length = external >= 0 ? external : level + tree.adjust[node]!;
          leaf[t * leaves + at - inner] = length;
          if (length < minLeaf[t]!) minLeaf[t] = length;
          return;
        }
        if (external < 0 && tree.feature[node]! >= 0) {
          feature[t * inner + at] = tree.feature[node]!;
          threshold[t * inner + at] = tree.threshold[node]!;
          place(2 * at + 1, tree.left[node]!, level + 1, -1);
          place(2 * at + 2, tree.right[node]!, level + 1, -1);
          return;
        }
        // External above the limit: pass through (threshold stays +Infinity) to the leftmost leaf below.
        place(2 * at + 1, node, level + 1, external >= 0 ? external : level + tree.adjust[node]!);
      };
      place(0, 0, 0, -1);
    });
    this.flat = { depth, feature, threshold, leaf, minLeaf };
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
    if (this.flat === undefined) throw new RangeError("IsolationForest.score: call fit() first");
    return this.scoreMatrix(Float64Array.from(x), x.length)[0]!;
  }

  /** Scores many rows, tree by tree: each tree stays in cache while every row walks it. */
  scoreAll(data: readonly (readonly number[])[]): number[] {
    if (data.length === 0) return [];
    return Array.from(this.scoreMatrix(toMatrix(data), data[0]!.length));
  }

  /**
   * Scores every row of a row-major matrix (as `fitMatrix` takes). The walks run in the
   * detector's WebAssembly module (assembly/forest.ts), tree by tree so that each tree stays in
   * cache while every row walks it; run once per detection, JavaScript spent more time warming
   * up than walking.
   *
   * With a `floor` above 0, only scores of at least `floor` are needed exactly, and a row whose
   * score is certain to stay below it scores 0: every ten trees, a row whose path lengths so far
   * plus the shortest path of every tree still to come already exceed the longest total that
   * scores `floor` (with a margin far above rounding) walks no further trees. Every other row
   * walks every tree and gets exactly the score it gets without a floor. (On the 5M-record
   * benchmark, 107,000 vectors: a third walk more than 20 trees, 0.5% more than 40.)
   */
  scoreMatrix(rows: Float64Array, dims: number, floor = 0): Float64Array {
    const f = this.flat;
    if (f === undefined) throw new RangeError("IsolationForest.score: call fit() first");
    const trees = this.forest.length;
    // score >= floor exactly when the sum of path lengths is at most this.
    const limit = floor > 0 ? -trees * this.cPsi * Math.log2(floor) : Infinity;
    const cut = limit * (1 + 1e-12) + 1e-9;
    const ahead = new Float64Array(trees + 1);
    for (let t = trees - 1; t >= 0; t--) ahead[t] = ahead[t + 1]! + f.minLeaf[t]!;
    const { sums, dropped } = forestSums({ ...f, trees }, rows, dims, ahead, cut);
    for (let i = 0; i < sums.length; i++) sums[i] = dropped[i] === 1 ? 0 : Math.pow(2, -(sums[i]! / trees) / this.cPsi);
    return sums;
  }
}

/** Rows as one row-major matrix. */
function toMatrix(data: readonly (readonly number[])[]): Float64Array {
  const dims = data[0]?.length ?? 0;
  const out = new Float64Array(data.length * dims);
  data.forEach((x, i) => out.set(x, i * dims));
  return out;
}

function buildTree(data: Float64Array, dims: number, sample: number[], heightLimit: number, random: () => number): Tree {
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
        const v = data[r * dims + f]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi > lo) {
        const split = lo + random() * (hi - lo);
        const l: number[] = [];
        const rgt: number[] = [];
        for (const r of rows) (data[r * dims + f]! < split ? l : rgt).push(r);
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
