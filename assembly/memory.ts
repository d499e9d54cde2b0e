// Raw memory for the host: the only way data crosses the boundary is as f64/i32 arrays at pointers handed out here.

/** Allocates `bytes` bytes (8-byte aligned) outside the GC heap; the host frees it with `free`. */
export function alloc(bytes: usize): usize {
  return heap.alloc(bytes);
}

/** Frees a block returned by `alloc`. */
export function free(ptr: usize): void {
  heap.free(ptr);
}
