// Model choice per series and horizon from the rolling-origin backtest: every model forecasts at every origin of the
// recent window, and its exponentially weighted absolute error (twice the pinball loss at the median) decides its
// weight. A softmax over relative loss (exp(-eta * (L_m / L_best - 1))) weights near-equal models alike and
// drops clearly worse ones; a single dominant model gets all the weight. The arithmetic runs in the core.
import { ArgumentInvalidError } from '../errors.js';
import { fx } from './forecast-exports.js';
import { checkStatus } from './status.js';
import { Core, sharedCore } from './wasm.js';

/** Softmax sharpness: a model 10% worse than the best gets exp(-eta * 0.1) of the best's weight. */
export const WEIGHT_ETA = 12;
/** Weights below this are set to zero (and the rest renormalised) so the ensemble stays explainable. */
export const MIN_WEIGHT = 0.02;

/**
 * Weights for models with losses `loss` (NaN/Infinity = unavailable), computed in the core
 * (assembly/forecast/ensemble.ts weightsFromLoss, the same function the engine's per-point update applies);
 * `rows` loss vectors of `loss.length / rows` models each, weights in the same layout. Writes into `out` and returns it.
 */
export function weightsFromLoss(
  loss: ArrayLike<number>, out: Float64Array, eta = WEIGHT_ETA, rows = 1, core: Core = sharedCore(),
): Float64Array {
  const n = loss.length / rows;
  if (!Number.isInteger(n) || n < 1 || out.length < loss.length) {
    throw new ArgumentInvalidError(`weightsFromLoss: ${loss.length} losses in ${rows} rows into ${out.length} weights`);
  }
  return core.call((x) => {
    const lp = core.putF64(loss);
    const op = x.alloc(loss.length * 8);
    try {
      checkStatus(fx(x).fc_ens_weights(lp, rows, n, eta, MIN_WEIGHT, op), 'weightsFromLoss');
      out.set(core.f64(op, loss.length));
      return out;
    } finally {
      x.free(lp);
      x.free(op);
    }
  });
}
