// Model choice per series and horizon from the rolling-origin backtest: every model forecasts at every origin of the
// recent window, and its exponentially weighted absolute error (twice the pinball loss at the median) decides its
// weight. A softmax over relative loss (exp(-eta * (L_m / L_best - 1))) weights near-equal models alike and
// drops clearly worse ones; a single dominant model gets all the weight.

/** Softmax sharpness: a model 10% worse than the best gets exp(-eta * 0.1) of the best's weight. */
export const WEIGHT_ETA = 12;
/** Weights below this are set to zero (and the rest renormalised) so the ensemble stays explainable. */
export const MIN_WEIGHT = 0.02;

/** Weights for models with losses `loss` (NaN/Infinity = unavailable); writes into `out` and returns it. */
export function weightsFromLoss(loss: ArrayLike<number>, out: Float64Array, eta = WEIGHT_ETA): Float64Array {
  let best = Infinity;
  for (let i = 0; i < loss.length; i++) if (loss[i] < best) best = loss[i];
  if (!Number.isFinite(best)) {
    // nothing scored yet: equal weights over the available models
    out.fill(1 / loss.length);
    return out;
  }
  const scale = best > 0 ? best : 1e-300;
  let sum = 0;
  for (let i = 0; i < loss.length; i++) {
    const l = loss[i];
    const w = Number.isFinite(l) ? Math.exp(-eta * (l / scale - 1)) : 0;
    out[i] = w;
    sum += w;
  }
  let kept = 0;
  for (let i = 0; i < loss.length; i++) {
    out[i] = out[i] / sum < MIN_WEIGHT ? 0 : out[i];
    kept += out[i];
  }
  for (let i = 0; i < loss.length; i++) out[i] = kept > 0 ? out[i] / kept : 0;
  return out;
}
