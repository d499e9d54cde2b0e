// Seeded random draws for test fixtures, so every run sees the same series without Math.random.

/** Uniform draws in (0, 1) from a seeded LCG (Numerical Recipes constants). */
export function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
}

/** Standard normal draws from the seeded LCG through Box-Muller. */
export function gaussian(seed: number): () => number {
  const u = uniform(seed);
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}
