// Arrays with one hidden class whichever V8 tier built them, for the arrays the engine's hot path hands on.

/**
 * `a.map(f)` as a PACKED array. Array.prototype.map returns a PACKED array from the interpreter but a HOLEY one from
 * optimised code (V8 11, Node 20), so an array made by map reaches the functions it is passed to (and the closures
 * that read it) with either map, depending on whether its maker happened to be optimised: their optimised code then
 * deoptimises ("wrong map") and is recompiled, cycle after cycle (--trace-deopt on bench/sidecar.ts). push keeps an
 * array PACKED in every tier. Same elements, same order; `a` must have no holes (map would skip them).
 */
export function mapPacked<T, U>(a: readonly T[], f: (x: T, i: number) => U): U[] {
  const out: U[] = [];
  for (let i = 0; i < a.length; i++) out.push(f(a[i], i));
  return out;
}
