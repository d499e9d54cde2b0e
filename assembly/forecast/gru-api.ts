// Export surface of the GRU quantile forecaster (assembly/forecast/gru.ts): numbers and pointers only.
// All pointers come from `alloc`; the state blob is a host-owned Float64Array copied in and out around each call.
import {
  gruContextLength, gruGradCheck, gruInit, gruPredict, gruPredictRolling, gruTrain, gruUpdate, stateSize,
} from "./gru";

/** Version of this export surface (bumped on any signature change). */
export function forecast_gru_apiVersion(): i32 {
  return 1;
}

/**
 * Doubles a state blob needs for hidden size `hidden` (even, 16-64), window length `window` (2-512 steps),
 * `nHorizons` (1-16), `nLevels` (1-16) and seasonal period `season` (0 = off, else steps > max horizon).
 * Returns 0 when a size is out of range.
 */
export function gru_stateSize(hidden: i32, window: i32, nHorizons: i32, nLevels: i32, season: i32): i32 {
  return stateSize(hidden, window, nHorizons, nLevels, season);
}

/**
 * Initialises the state blob at `statePtr` (`stateLen` doubles): horizons (f64 steps, integers 1-1024) at
 * `horizonsPtr`, quantile levels (f64, strictly ascending in (0, 1)) at `levelsPtr`, `seed` (any finite number;
 * same seed, same weights), Adam learning rate `lr` in (0, 1]. Status: Ok, BadParam, BufferTooSmall.
 */
export function gru_init(
  statePtr: usize, stateLen: i32, hidden: i32, window: i32, horizonsPtr: usize, nHorizons: i32, levelsPtr: usize,
  nLevels: i32, season: i32, seed: f64, lr: f64,
): i32 {
  return gruInit(statePtr, stateLen, hidden, window, horizonsPtr, nHorizons, levelsPtr, nLevels, season, seed, lr);
}

/**
 * Trains on a batch of series: values (f64, NaN = missing) concatenated at `valuesPtr` (`valuesLen` doubles),
 * series s spanning [offsets[s], offsets[s+1]) (f64 offsets, nSeries + 1 of them). `epochs` 1-10000;
 * `perEpoch` windows per epoch (0 = all); `batch` windows per Adam step (1-65536). Report (5 f64, or 0 for none):
 * [windows used, windows skipped (NaN), mean normalised pinball of the first epoch, of the last epoch, Adam steps].
 * Status: Ok, TooFewPoints (no series long enough for one window + max horizon), NonFinite (every window had a
 * NaN/Inf), BadParam, BufferTooSmall.
 */
export function gru_train(
  statePtr: usize, stateLen: i32, valuesPtr: usize, valuesLen: i32, offsetsPtr: usize, nSeries: i32, epochs: i32,
  perEpoch: i32, batch: i32, reportPtr: usize,
): i32 {
  return gruTrain(statePtr, stateLen, valuesPtr, valuesLen, offsetsPtr, nSeries, epochs, perEpoch, batch, reportPtr);
}

/**
 * Online update: same values layout as gru_train, each series a tail whose last newCounts[s] (f64) points are new;
 * trains once on each window whose furthest target is new (O(new points)). Report as gru_train (first = last =
 * mean loss of this call). Status: Ok (also when nothing could be learned: report[0] = 0), BadParam, BufferTooSmall.
 */
export function gru_update(
  statePtr: usize, stateLen: i32, valuesPtr: usize, valuesLen: i32, offsetsPtr: usize, nSeries: i32,
  newCountsPtr: usize, batch: i32, reportPtr: usize,
): i32 {
  return gruUpdate(statePtr, stateLen, valuesPtr, valuesLen, offsetsPtr, nSeries, newCountsPtr, batch, reportPtr);
}

/**
 * Forecasts each series from its last gru_contextLength points: out (f64, outLen >= nSeries * nHorizons * nLevels)
 * horizon-major per series, in the series' unit, monotone in the level; statuses (i32 per series): Ok,
 * TooFewPoints or NonFinite (then a flat fallback at the last finite value, 0 if none). Never NaN.
 */
export function gru_predict(
  statePtr: usize, stateLen: i32, valuesPtr: usize, valuesLen: i32, offsetsPtr: usize, nSeries: i32, outPtr: usize,
  outLen: i32, statusPtr: usize,
): i32 {
  return gruPredict(statePtr, stateLen, valuesPtr, valuesLen, offsetsPtr, nSeries, outPtr, outLen, statusPtr);
}

/**
 * Rolling-origin forecasts of one series of `n` values: origins from, from + stride, ... <= n - 1; one row of
 * nHorizons * nLevels outputs and one i32 status per origin, as gru_predict. Needs outLen >= rows * outputs.
 */
export function gru_predictRolling(
  statePtr: usize, stateLen: i32, valuesPtr: usize, n: i32, from: i32, stride: i32, outPtr: usize, outLen: i32,
  statusPtr: usize,
): i32 {
  return gruPredictRolling(statePtr, stateLen, valuesPtr, n, from, stride, outPtr, outLen, statusPtr);
}

/** History points one forecast window needs for this state (0 when the blob is invalid). */
export function gru_contextLength(statePtr: usize, stateLen: i32): i32 {
  return gruContextLength(statePtr, stateLen);
}

/**
 * Test support (not for production paths): max |analytic - finite-difference| gradient of the loss of the window
 * ending at T over every `every`-th parameter, in out[0]; max |analytic| in out[1]; parameters checked in out[2].
 */
export function gru_gradCheck(
  statePtr: usize, stateLen: i32, valuesPtr: usize, n: i32, T: i32, every: i32, outPtr: usize,
): i32 {
  return gruGradCheck(statePtr, stateLen, valuesPtr, n, T, every, outPtr);
}
