// Seeded random draws for test fixtures, so every run sees the same series without Math.random.

/** Standard normal draws from a seeded LCG (Numerical Recipes constants) through Box-Muller. */
export function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}
