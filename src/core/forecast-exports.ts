// Typed view of the forecast area's numbers-only WASM exports (assembly/forecast/api.ts).
import type { CoreExports } from './wasm.js';

type F = (...args: number[]) => number;

export interface ForecastExports extends CoreExports {
  forecast_apiVersion(): number;
  fc_hist_header(): number;
  fc_hist_num_buckets: F;
  fc_hist_bucket_start: F;
  fc_hist_init: F;
  fc_hist_add: F;
  fc_hist_percentiles: F;
  fc_hist_track: F;
  fc_hist_track_batch: F;
  fc_hw_header(): number;
  fc_hw_fit_batch: F;
  fc_hw_update_batch: F;
  fc_hw_replay_batch: F;
  fc_hw_forecast_batch: F;
  fc_quantiles: F;
  fc_quantiles_seg: F;
  fc_ens_advance_batch: F;
  fc_ens_aci_run: F;
  fc_ens_weights: F;
}

/** The forecast exports of a core instance (the instance may change after an abort: call this inside Core.call). */
export function fx(x: CoreExports): ForecastExports {
  return x as ForecastExports;
}
