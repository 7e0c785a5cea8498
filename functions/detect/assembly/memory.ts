/** A block of `bytes` bytes from the module's allocator, every byte set to `fill`. */
export function allocFilled(bytes: usize, fill: u8 = 0): usize {
  const p = heap.alloc(bytes);
  memory.fill(p, fill, bytes);
  return p;
}
