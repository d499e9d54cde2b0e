// A bound on allocation changes per hour (default 3: at 5-minute steps at most 0.25 changes per step, in practice
// about 0.06 because most steps hold), keeping part of the budget for increases (running short costs more than slack).

export interface RateLimitConfig {
  /** Most changes in any rolling hour. */
  maxChangesPerHour: number;
  /** Changes of the hourly budget that only an increase may use (decreases stop earlier). */
  reservedForIncrease: number;
}

export const DEFAULT_RATE_LIMIT: Readonly<RateLimitConfig> = Object.freeze({ maxChangesPerHour: 3, reservedForIncrease: 1 });

/** Drops change times older than an hour before `nowS` (in place) and returns how many remain. */
export function recentChanges(changeTimesS: number[], nowS: number): number {
  while (changeTimesS.length > 0 && changeTimesS[0] <= nowS - 3600) changeTimesS.shift();
  return changeTimesS.length;
}

/** Whether a change in the given direction fits the hourly budget. */
export function mayChange(changeTimesS: number[], nowS: number, increase: boolean, cfg: RateLimitConfig): boolean {
  const used = recentChanges(changeTimesS, nowS);
  const limit = increase ? cfg.maxChangesPerHour : cfg.maxChangesPerHour - cfg.reservedForIncrease;
  return used < limit;
}
