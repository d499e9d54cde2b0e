// Reclamation: shrink an allocation only after usage has stayed below a share of it for a while (with hysteresis).

export interface ReclaimConfig {
  /** Usage below this share of the allocation counts as "low" (0.75: the 75%). */
  utilisation: number;
  /** How long usage must stay low before a shrink is allowed, seconds. */
  afterS: number;
  /** Hysteresis: shrink only when the new value is at least this fraction below the current one. */
  hysteresis: number;
}

export const DEFAULT_RECLAIM: Readonly<ReclaimConfig> = Object.freeze({ utilisation: 0.75, afterS: 900, hysteresis: 0.1 });

/**
 * Updates the start of the current run of low samples. Returns the new `lowSinceS`: the time of the first sample of
 * the ongoing run of samples below `utilisation * allocation`, or NaN when the latest sample was not low.
 * A missing sample (NaN) neither extends nor breaks the run.
 */
export function trackLowUsage(lowSinceS: number, sampleS: number, usage: number, allocation: number, cfg: ReclaimConfig): number {
  if (!Number.isFinite(usage) || !Number.isFinite(allocation)) return lowSinceS;
  if (usage < cfg.utilisation * allocation) return Number.isFinite(lowSinceS) ? lowSinceS : sampleS;
  return NaN;
}

/**
 * Whether a shrink from `current` to `proposed` is allowed at `nowS`: usage has been low since at least
 * `afterS` ago (counting the sample interval the run's first sample covers), and the shrink clears the hysteresis band.
 */
export function mayReclaim(current: number, proposed: number, lowSinceS: number, nowS: number, cfg: ReclaimConfig): boolean {
  if (!Number.isFinite(lowSinceS)) return false;
  if (nowS - lowSinceS < cfg.afterS) return false;
  return proposed < current * (1 - cfg.hysteresis);
}
