/*
 * The anomaly rule's bookkeeping over its groups, in WebAssembly (run once per detection, the
 * JavaScript loops spent much of their time warming up): groups put in the order of their
 * (source, destination, port) ids, and their distinct feature vectors.
 */

import { allocFilled } from "./memory";

/**
 * Row numbers 0..n-1 ordered by (a[i], b[i], c[i]) (non-negative 32-bit keys), ties in row
 * order: three stable counting sorts, least significant key first. `order` and `next` hold n
 * 32-bit numbers each; returns the one holding the result.
 */
export function orderByKeys(a: usize, b: usize, c: usize, n: i32, order: usize, next: usize): usize {
  for (let i = 0; i < n; i++) store<i32>(order + <usize>i * 4, i);
  let from = order;
  let to = next;
  for (let k = 2; k >= 0; k--) {
    const key = k == 2 ? c : k == 1 ? b : a;
    let top = 0;
    for (let i = 0; i < n; i++) top = max(top, load<i32>(key + <usize>i * 4));
    const slots = <usize>(top + 2) * 4;
    const at = allocFilled(slots);
    for (let i = 0; i < n; i++) {
      const s = at + <usize>(load<i32>(key + <usize>i * 4) + 1) * 4;
      store<i32>(s, load<i32>(s) + 1);
    }
    for (let v: usize = 1; v < <usize>(top + 2); v++) store<i32>(at + v * 4, load<i32>(at + v * 4) + load<i32>(at + (v - 1) * 4));
    for (let i = 0; i < n; i++) {
      const row = load<i32>(from + <usize>i * 4);
      const s = at + <usize>load<i32>(key + <usize>row * 4) * 4;
      const place = load<i32>(s);
      store<i32>(s, place + 1);
      store<i32>(to + <usize>place * 4, row);
    }
    heap.free(at);
    const swap = from;
    from = to;
    to = swap;
  }
  return from;
}

/**
 * The distinct rows of n feature vectors (4 doubles each, each a multiple of 1/64 in [0, 64)):
 * copies each vector not seen before to `distinct` (in order of first appearance), sets
 * vectorOf[i] (32-bit) to the number of row i's vector there, and returns how many there are.
 */
export function distinctVectors(features: usize, n: i32, vectorOf: usize, distinct: usize): i32 {
  // 64 times a feature is a whole number below 4,096: two of them name half a vector exactly.
  let capacity = 16;
  while (capacity < n * 2) capacity <<= 1;
  const mask = capacity - 1;
  const table = allocFilled(<usize>capacity * 12, 0xff);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const f = features + <usize>i * 32;
    const ka = <i32>(load<f64>(f) * 64) * 4096 + <i32>(load<f64>(f, 8) * 64);
    const kb = <i32>(load<f64>(f, 16) * 64) * 4096 + <i32>(load<f64>(f, 24) * 64);
    let slot = ((ka * <i32>0x9e3779b1) ^ (kb * <i32>0x85ebca77)) & mask;
    for (;;) {
      const s = table + <usize>slot * 12;
      const k = load<i32>(s);
      if (k == -1) {
        store<i32>(s, ka);
        store<i32>(s, kb, 4);
        store<i32>(s, count, 8);
        memory.copy(distinct + <usize>count * 32, f, 32);
        store<i32>(vectorOf + <usize>i * 4, count);
        count++;
        break;
      }
      if (k == ka && load<i32>(s, 4) == kb) {
        store<i32>(vectorOf + <usize>i * 4, load<i32>(s, 8));
        break;
      }
      slot = (slot + 1) & mask;
    }
  }
  heap.free(table);
  return count;
}
