// A bound on allocation changes per hour (a token bucket), keeping part of the budget for increases (running short
// costs more than slack).

export interface RateLimitConfig {
  /** Long-run bound: changes per hour (the bucket's refill rate; fractional allowed). */
  maxChangesPerHour: number;
  /** Most changes in a burst (the bucket's size). */
  burst: number;
  /** Tokens only an increase may use: a decrease needs 1 + this many in the bucket. */
  reservedForIncrease: number;
}

/**
 * One change per hour in the long run (at 5-minute steps at most 0.083 changes per step, under the 0.1),
 * bursts of two; a decrease only when the bucket is full, so an increase can always follow it.
 */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimitConfig> = Object.freeze({ maxChangesPerHour: 1, burst: 2, reservedForIncrease: 1 });

/** Tokens in the bucket at `nowS`, given `tokens` at `atS` (NaN: never used, full). */
export function tokensAt(tokens: number, atS: number, nowS: number, cfg: RateLimitConfig): number {
  if (!Number.isFinite(atS)) return cfg.burst;
  return Math.min(cfg.burst, tokens + (Math.max(0, nowS - atS) * cfg.maxChangesPerHour) / 3600);
}

/** Whether a change in the given direction fits the budget at `nowS`. */
export function mayChange(tokens: number, atS: number, nowS: number, increase: boolean, cfg: RateLimitConfig): boolean {
  const t = tokensAt(tokens, atS, nowS, cfg);
  return t >= (increase ? 1 : 1 + cfg.reservedForIncrease) - 1e-9;
}
