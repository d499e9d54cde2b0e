// Per-series state of the engine, all in host memory: model states, recent values, every model's forecasts by
// origin, their matured errors (the rolling-origin backtest) and the conformal shifts. `advance` is the one step
// that both the initial backtest (fit) and the online update run, so both see exactly the same arithmetic.
import { aciStep } from './conformal.js';
import { weightsFromLoss } from './select.js';

export interface StateShape {
  /** Base model names (the ensemble is tracked after them as model index `models.length`). */
  models: readonly string[];
  /** Horizons in steps. */
  hs: readonly number[];
  /** Configured quantile levels (ACI shifts are kept for these). */
  levels: readonly number[];
  /** Capacity of each error ring (the backtest window, in origins). */
  errWindow: number;
  /** Seasonal period (steps) for seasonal naive; 0 = none. */
  season: number;
  /** Half-life (in origins) of the loss average that drives the weights. */
  lossHalfLife: number;
  /** Recent values to keep at least (e.g. the GRU's context). */
  keep?: number;
  /** Softmax sharpness of the weights (select.ts WEIGHT_ETA by default). */
  eta?: number;
  /** Models switched off by the caller (by index): they forecast NaN and never get weight. */
  disabled?: readonly boolean[];
}

/** Per-origin forecasts of the models that run in WASM, for `n` new points: hw[j*K + k], hist[j]. */
export interface StepInputs {
  hw: Float64Array;
  hist: Float64Array;
  /** Non-seasonal damped Holt (ETS(A,Ad,N)) forecasts, holt[j*K + k]. */
  holt: Float64Array;
  /** Optional extra model forecasts (e.g. the GRU) by model index: extra.get(m)[j*K + k]. */
  extra?: Map<number, Float64Array>;
}

export const M_HW = 0;
export const M_HIST = 1;
export const M_PERSIST = 2;
export const M_SNAIVE = 3;
export const M_HOLT = 4;
export const M_MEDIAN = 5;
/** Window of the recent-median model, steps: robust to the single-sample spikes that make persistence jumpy. */
export const MEDIAN_WINDOW = 6;
export const M_SMEDIAN = 6;
/** Seasons the seasonal median looks back over (a week of days): a robust seasonal naive. */
export const SEASONAL_MEDIAN_DEPTH = 7;

export class SeriesState {
  readonly shape: StateShape;
  readonly nM: number; // base models
  readonly K: number;
  readonly P: number; // origin slots (max horizon + 1)
  status = 'ok';
  /** Points consumed. */
  n = 0;
  lastFinite = NaN;
  minSeen = Infinity;
  maxAbs = 0;
  readonly ring: Float64Array;
  hw: Float64Array<ArrayBufferLike> = new Float64Array(0);
  holt: Float64Array<ArrayBufferLike> = new Float64Array(0);
  hist: Float64Array<ArrayBufferLike> = new Float64Array(0);
  histFirst = 1;
  histNb = 0;
  readonly fc: Float64Array; // [(m*K + k)*P + slot], m in 0..nM (nM = ensemble)
  readonly fcOrigin: Float64Array;
  readonly err: Float64Array; // [(m*K + k)*E + i]
  readonly errN: Float64Array; // total errors pushed per (m,k)
  readonly loss: Float64Array; // EW mean absolute error per (m,k)
  readonly weights: Float64Array; // [k*nM + m]
  readonly issuedQ: Float64Array; // [((slot*(nM+1) + m)*K + k)*L + l]
  readonly issuedOrigin: Float64Array;
  readonly issuedModels: Uint8Array; // [slot*(nM+1) + m] 1 when issued
  readonly shift: Float64Array; // [(m*K + k)*L + l]
  /** Live scoring of issued forecasts as they mature: hits per level, count and absolute error of the median. */
  readonly liveHits: Float64Array; // [(m*K + k)*L + l]
  readonly liveCount: Float64Array; // [m*K + k]
  readonly liveAbs: Float64Array; // [m*K + k]
  #w: Float64Array;
  #lossTmp: Float64Array;

  constructor(shape: StateShape) {
    this.shape = shape;
    this.nM = shape.models.length;
    this.K = shape.hs.length;
    this.P = Math.max(...shape.hs) + 1;
    const M1 = this.nM + 1;
    const L = shape.levels.length;
    this.ring = new Float64Array(Math.max(MEDIAN_WINDOW, shape.season * SEASONAL_MEDIAN_DEPTH + 1, shape.keep ?? 0)).fill(NaN);
    this.fc = new Float64Array(M1 * this.K * this.P).fill(NaN);
    this.fcOrigin = new Float64Array(this.P).fill(-1);
    this.err = new Float64Array(M1 * this.K * shape.errWindow);
    this.errN = new Float64Array(M1 * this.K);
    this.loss = new Float64Array(M1 * this.K).fill(NaN);
    this.weights = new Float64Array(this.K * this.nM).fill(1 / this.nM);
    this.issuedQ = new Float64Array(this.P * M1 * this.K * L);
    this.issuedOrigin = new Float64Array(this.P).fill(-1);
    this.issuedModels = new Uint8Array(this.P * M1);
    this.shift = new Float64Array(M1 * this.K * L);
    this.liveHits = new Float64Array(M1 * this.K * L);
    this.liveCount = new Float64Array(M1 * this.K);
    this.liveAbs = new Float64Array(M1 * this.K);
    this.#w = new Float64Array(this.nM);
    this.#lossTmp = new Float64Array(this.nM);
  }

  /** The last `len` values (oldest first; NaN where not kept). */
  tail(len: number): Float64Array {
    const out = new Float64Array(len);
    for (let i = 0; i < len; i++) out[i] = this.recent(len - 1 - i);
    return out;
  }

  /** Value `back` steps before the last consumed point (0 = last), NaN when not kept. */
  recent(back: number): number {
    if (back < 0 || back >= this.ring.length || back >= this.n) return NaN;
    return this.ring[(this.n - 1 - back) % this.ring.length];
  }

  /** Errors of model m at horizon index k, most recent window (a copy). */
  errors(m: number, k: number): Float64Array {
    const E = this.shape.errWindow;
    const cnt = Math.min(E, this.errN[m * this.K + k]);
    const base = (m * this.K + k) * E;
    return this.err.slice(base, base + cnt);
  }

  /** Latest forecast of model m (nM = ensemble) at horizon index k, made at the last origin. */
  lastForecast(m: number, k: number): number {
    return this.n > 0 ? this.fc[(m * this.K + k) * this.P + ((this.n - 1) % this.P)] : NaN;
  }

  #med = new Float64Array(MEDIAN_WINDOW);
  #smed = new Float64Array(SEASONAL_MEDIAN_DEPTH);
  /** Median of the values one, two, ... SEASONAL_MEDIAN_DEPTH seasons before the target h steps ahead. */
  #seasonalMedian(h: number): number {
    const m = this.shape.season;
    if (m <= 0 || h > m) return NaN;
    let c = 0;
    for (let d = 1; d <= SEASONAL_MEDIAN_DEPTH; d++) {
      const v = this.recent(d * m - h);
      if (Number.isFinite(v)) this.#smed[c++] = v;
    }
    if (c === 0) return NaN;
    const a = this.#smed.subarray(0, c).sort();
    return c % 2 ? a[(c - 1) >> 1] : 0.5 * (a[c / 2 - 1] + a[c / 2]);
  }

  /** Median of the finite values among the last MEDIAN_WINDOW points (NaN when none). */
  #recentMedian(): number {
    let c = 0;
    for (let b = 0; b < MEDIAN_WINDOW; b++) {
      const v = this.recent(b);
      if (Number.isFinite(v)) this.#med[c++] = v;
    }
    if (c === 0) return NaN;
    const a = this.#med.subarray(0, c).sort();
    return c % 2 ? a[(c - 1) >> 1] : 0.5 * (a[c / 2 - 1] + a[c / 2]);
  }

  /** Consumes points y[0..len) with the WASM models' per-origin forecasts. */
  advance(y: ArrayLike<number>, inp: StepInputs): void {
    const { hs, errWindow: E, season, lossHalfLife, levels } = this.shape;
    const K = this.K, P = this.P, nM = this.nM, M1 = nM + 1, L = levels.length;
    const lam = 1 - Math.pow(0.5, 1 / Math.max(1, lossHalfLife));
    for (let j = 0; j < y.length; j++) {
      const v = y[j];
      const idx = this.n;
      const finite = Number.isFinite(v);
      // 1. mature forecasts made h steps ago: errors, losses, conformal shifts
      for (let k = 0; k < K; k++) {
        const o = idx - hs[k];
        if (o < 0) continue;
        const slot = o % P;
        if (finite && this.fcOrigin[slot] === o) {
          for (let m = 0; m < M1; m++) {
            const f = this.fc[(m * K + k) * P + slot];
            if (!Number.isFinite(f)) continue;
            const e = v - f;
            const mk = m * K + k;
            const c = this.errN[mk];
            this.err[mk * E + (c % E)] = e;
            this.errN[mk] = c + 1;
            const a = Math.abs(e);
            const prev = this.loss[mk];
            this.loss[mk] = Number.isNaN(prev) ? a : prev + Math.max(lam, 1 / (c + 1)) * (a - prev);
          }
        }
        if (finite && this.issuedOrigin[slot] === o) {
          const med = levels.indexOf(0.5);
          for (let m = 0; m < M1; m++) {
            if (!this.issuedModels[slot * M1 + m]) continue;
            const mk = m * K + k;
            for (let l = 0; l < L; l++) {
              const q = this.issuedQ[((slot * M1 + m) * K + k) * L + l];
              const si = mk * L + l;
              this.shift[si] = aciStep(this.shift[si], levels[l], v > q);
              if (v <= q) this.liveHits[si]++;
            }
            this.liveCount[mk]++;
            const point = med >= 0 ? this.issuedQ[((slot * M1 + m) * K + k) * L + med] : this.fc[mk * P + slot];
            this.liveAbs[mk] += Math.abs(v - point);
          }
        }
      }
      // 2. consume the value
      this.ring[idx % this.ring.length] = v;
      if (finite) {
        this.lastFinite = v;
        if (v < this.minSeen) this.minSeen = v;
        if (Math.abs(v) > this.maxAbs) this.maxAbs = Math.abs(v);
      }
      this.n = idx + 1;
      // 3. forecasts at this origin
      const slot = idx % P;
      this.fcOrigin[slot] = idx;
      if (this.issuedOrigin[slot] !== -1 && this.issuedOrigin[slot] !== idx) this.issuedOrigin[slot] = -1;
      const fMed = this.#recentMedian();
      for (let k = 0; k < K; k++) {
        const h = hs[k];
        const fHw = inp.hw[j * K + k];
        let fSn = NaN;
        if (season > 0 && h <= season) fSn = this.recent(season - h);
        if (!Number.isFinite(fSn)) fSn = this.lastFinite;
        const fs = [fHw, inp.hist[j], this.lastFinite, fSn, inp.holt[j * K + k], fMed, this.#seasonalMedian(h)];
        for (let m = 0; m < nM; m++) {
          let f = m < fs.length ? fs[m] : (inp.extra?.get(m)?.[j * K + k] ?? NaN);
          if (!Number.isFinite(f) || this.shape.disabled?.[m]) f = NaN;
          this.fc[(m * K + k) * P + slot] = f;
          this.#lossTmp[m] = Number.isFinite(f) ? this.loss[m * K + k] : Infinity;
          if (Number.isNaN(this.#lossTmp[m])) this.#lossTmp[m] = Number.MAX_VALUE;
        }
        weightsFromLoss(this.#lossTmp, this.#w, this.shape.eta);
        let acc = 0, ws = 0;
        for (let m = 0; m < nM; m++) {
          const f = this.fc[(m * K + k) * P + slot];
          if (this.#w[m] > 0 && Number.isFinite(f)) {
            acc += this.#w[m] * f;
            ws += this.#w[m];
          }
          this.weights[k * nM + m] = this.#w[m];
        }
        this.fc[(nM * K + k) * P + slot] = ws > 0 ? acc / ws : this.lastFinite;
      }
    }
  }
}
