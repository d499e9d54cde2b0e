// Detector state lives in host-owned f64 blocks: slot i of the block at s, read and written by index.

@inline export function slot(s: usize, i: i32): usize {
  return s + (<usize>i << 3);
}

@inline export function get(s: usize, i: i32): f64 {
  return load<f64>(slot(s, i));
}

@inline export function put(s: usize, i: i32, v: f64): void {
  store<f64>(slot(s, i), v);
}
