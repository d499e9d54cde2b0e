// Adaptive conformal calibration of the realised shortage rate, per tenant (Gibbs and Candès, NeurIPS 2021).

export interface CalibrationConfig {
  /** Share of steps allowed to run short, in (0, 1). */
  targetShortage: number;
  /** ACI step size gamma: how fast the level reacts to each outcome. */
  gain: number;
  /** Range of the quantile level the calibration may choose. */
  minLevel: number;
  maxLevel: number;
}

export const DEFAULT_CALIBRATION: Readonly<CalibrationConfig> = Object.freeze({
  targetShortage: 0.02,
  gain: 0.005,
  minLevel: 0.5,
  maxLevel: 0.99995,
});

/**
 * Adaptive conformal inference (Gibbs and Candès, "Adaptive Conformal Inference Under Distribution Shift", 2021,
 * eq. 2): alpha_{t+1} = alpha_t + gamma * (alpha* - err_t), where err_t = 1 when step t ran short. The level used
 * for the next decision is 1 - alpha_{t+1}. Over T outcomes the realised shortage rate differs from alpha* by at most
 * (max(alpha) - min(alpha) + gamma) / (gamma * T) (their Proposition 4.1), whatever the data: here the "miss" is a
 * shortage of the policy's own allocation (after its holds and its change budget), so the calibration also absorbs
 * the effect of holding and rate-limiting allocations, not only the forecast's own coverage. What the actuator's
 * gate writes may differ (a VPA's min/max, the stable window of a VPA that evicts); the backtest scores that, the
 * calibration does not see it.
 * Worked example: target 0.02, gain 0.005, level 0.98; a shortage gives alpha = 0.02 + 0.005 * (0.02 - 1) = 0.0151,
 * i.e. level 0.9849; a step without shortage then gives alpha = 0.0151 + 0.0001 = 0.0152.
 */
export function calibrateLevel(level: number, short: boolean, cfg: CalibrationConfig): number {
  const alpha = 1 - level + cfg.gain * (cfg.targetShortage - (short ? 1 : 0));
  return Math.min(cfg.maxLevel, Math.max(cfg.minLevel, 1 - alpha));
}

/** The starting level: the target's complement, within bounds. */
export function initialLevel(cfg: CalibrationConfig): number {
  return Math.min(cfg.maxLevel, Math.max(cfg.minLevel, 1 - cfg.targetShortage));
}
