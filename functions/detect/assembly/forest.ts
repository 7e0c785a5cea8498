/*
 * Isolation Forest scoring in WebAssembly: the walks of IsolationForest.scoreMatrix. The forest
 * is laid out as IsolationForest.flatten leaves it: complete trees of `depth` levels, children of
 * node i at 2i + 1 (x < threshold) and 2i + 2, one path length per leaf. Path lengths are added
 * to each row's sum tree by tree, in tree order, so the sums are exactly those of a plain loop.
 * JavaScript calls `forestWalk` for a block of trees at a time: each call after the first few runs
 * the optimized code (V8 swaps a WebAssembly function's code between calls, never during one).
 */

/** Memory for JavaScript to fill (rows, forest) and read (sums). */
export function allocate(bytes: i32): usize {
  return heap.alloc(<usize>bytes);
}

export function release(p: usize): void {
  heap.free(p);
}

/**
 * Walks the `count` rows listed at `active` (32-bit row numbers; row r is `dims` doubles at
 * rows + r * dims * 8) through trees [t0, t1), adding each path length to sums[r] (doubles).
 * Per tree: `feature` (32-bit) and `threshold` (doubles) for 2^depth - 1 nodes, `leaf`
 * (doubles) for 2^depth leaves.
 */
export function forestWalk(rows: usize, dims: i32, depth: i32, feature: usize, threshold: usize, leaf: usize, sums: usize, active: usize, count: i32, t0: i32, t1: i32): void {
  const inner = (1 << depth) - 1;
  const leaves = 1 << depth;
  const stride = <usize>dims * 8;
  for (let t = t0; t < t1; t++) {
    const f = feature + <usize>(t * inner) * 4;
    const th = threshold + <usize>(t * inner) * 8;
    // The path length of node k (k >= inner, a leaf) is at lf + k * 8.
    const lf = leaf + <usize>(t * leaves) * 8 - <usize>inner * 8;
    let j = 0;
    // Four rows at a time: independent walks that the processor overlaps; each step (left: +1,
    // right: +2) is arithmetic on the comparison, not a branch.
    for (; j + 4 <= count; j += 4) {
      const ra = <usize>load<i32>(active + <usize>j * 4);
      const rb = <usize>load<i32>(active + <usize>j * 4, 4);
      const rc = <usize>load<i32>(active + <usize>j * 4, 8);
      const re = <usize>load<i32>(active + <usize>j * 4, 12);
      const oa = rows + ra * stride;
      const ob = rows + rb * stride;
      const oc = rows + rc * stride;
      const oe = rows + re * stride;
      let a = 0;
      let b = 0;
      let c = 0;
      let e = 0;
      for (let d = 0; d < depth; d++) {
        a = 2 * a + 2 - <i32>(load<f64>(oa + <usize>load<i32>(f + <usize>a * 4) * 8) < load<f64>(th + <usize>a * 8));
        b = 2 * b + 2 - <i32>(load<f64>(ob + <usize>load<i32>(f + <usize>b * 4) * 8) < load<f64>(th + <usize>b * 8));
        c = 2 * c + 2 - <i32>(load<f64>(oc + <usize>load<i32>(f + <usize>c * 4) * 8) < load<f64>(th + <usize>c * 8));
        e = 2 * e + 2 - <i32>(load<f64>(oe + <usize>load<i32>(f + <usize>e * 4) * 8) < load<f64>(th + <usize>e * 8));
      }
      store<f64>(sums + ra * 8, load<f64>(sums + ra * 8) + load<f64>(lf + <usize>a * 8));
      store<f64>(sums + rb * 8, load<f64>(sums + rb * 8) + load<f64>(lf + <usize>b * 8));
      store<f64>(sums + rc * 8, load<f64>(sums + rc * 8) + load<f64>(lf + <usize>c * 8));
      store<f64>(sums + re * 8, load<f64>(sums + re * 8) + load<f64>(lf + <usize>e * 8));
    }
    for (; j < count; j++) {
      const r = <usize>load<i32>(active + <usize>j * 4);
      const o = rows + r * stride;
      let a = 0;
      for (let d = 0; d < depth; d++) a = 2 * a + 2 - <i32>(load<f64>(o + <usize>load<i32>(f + <usize>a * 4) * 8) < load<f64>(th + <usize>a * 8));
      store<f64>(sums + r * 8, load<f64>(sums + r * 8) + load<f64>(lf + <usize>a * 8));
    }
  }
}

/**
 * Keeps in `active` (in order) the rows whose sum plus `ahead` is at most `cut`, and marks the
 * others in `dropped` (one byte per row); returns how many are kept.
 */
export function forestPrune(sums: usize, active: usize, count: i32, ahead: f64, cut: f64, dropped: usize): i32 {
  let kept = 0;
  for (let j = 0; j < count; j++) {
    const r = load<i32>(active + <usize>j * 4);
    if (load<f64>(sums + <usize>r * 8) + ahead > cut) store<u8>(dropped + <usize>r, 1);
    else store<i32>(active + <usize>(kept++) * 4, r);
  }
  return kept;
}
