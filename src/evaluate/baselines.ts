// The point baselines `foresight evaluate` scores the engine against (persistence and seasonal naive), from the
// samples up to the origin only, as the engine's own members forecast them.

/** The last finite value at or before index t (persistence's forecast at origin t), NaN when there is none. */
export function lastValue(y: ArrayLike<number>, t: number): number {
  for (let i = Math.min(t, y.length - 1); i >= 0; i--) if (Number.isFinite(y[i])) return y[i];
  return NaN;
}

/**
 * Seasonal naive forecast made at origin t for h steps ahead: the value at the same phase in the latest season that
 * has been observed by t, y[t + h - ceil(h / season) * season] (FPP3 section 5.2; for h <= season this is
 * y[t + h - season]). A horizon longer than a season steps back more than one season, so the forecast never reads
 * a sample after the origin. Falls back to the last value where that sample is missing or before the start, as
 * the engine's seasonal-naive member does.
 */
export function seasonalNaive(y: ArrayLike<number>, t: number, h: number, season: number): number {
  const at = t + h - Math.ceil(h / season) * season;
  const v = at >= 0 ? y[at] : NaN;
  return Number.isFinite(v) ? v : lastValue(y, t);
}
