// Typed host API of the anomaly kernels (assembly/anomaly): per-series detectors and per-tenant behaviour profiles
// whose state lives in host Float64Arrays, batched over many series per WASM call.
//
//   periodSamples(intervalS)                          daily season in samples (288 at 5-minute spacing)
//   new SeriesDetectorState(periodSamples)            state of one series (host memory, survives core restarts)
//   scoreSeries(core, states, values)                 feeds values[k] (same length for every k) to states[k]
//     -> SeriesAnomalyResult[]: score, event, likelihood (Float64Array), kind (AnomalyKind[]), status
//   new BehaviourState(d)                             profile of one tenant's d-signal behaviour vector
//   scoreBehaviour(core, states, vectors)             vectors[k]: nSteps x d doubles, row-major
//     -> BehaviourResult[]: score, likelihood, z (Float64Array), kind (AnomalyKind[]), status
// Scores are in [0, 1); likelihoods are calibrated per series (see assembly/anomaly/*.ts for every formula).
// A non-finite value or vector is skipped (outputs 0, status 'non-finite'); a skipped value still takes its place on
// the series' grid (daily season), so pass gaps as NaN rather than dropping them. Warming up gives 'too-few-points'.
import type { AnomalyKind } from '../model/snapshot.js';
import { ArgumentInvalidError } from '../errors.js';
import type { Core, CoreExports } from './wasm.js';
import { Status, statusName } from './status.js';

interface AnomalyExports extends CoreExports {
  anomaly_uv_state_len(period: number): number;
  anomaly_uv_init(state: number, period: number): number;
  anomaly_uv_step(
    nSeries: number, nSteps: number, stride: number, states: number, values: number,
    outScore: number, outEvent: number, outLik: number, outKind: number, outStatus: number,
  ): number;
  anomaly_mv_state_len(d: number): number;
  anomaly_mv_init(state: number, d: number): number;
  anomaly_mv_step(
    nTenants: number, nSteps: number, d: number, stride: number, states: number, vectors: number,
    outScore: number, outLik: number, outZ: number, outStatus: number,
  ): number;
}

const KINDS: readonly AnomalyKind[] = ['none', 'spike', 'level-shift', 'behaviour-change', 'ramp'];

/** Samples per day at the given spacing; the detectors treat values outside [4, 2016] as non-seasonal. */
export function periodSamples(intervalS: number): number {
  return intervalS > 0 ? Math.round(86_400 / intervalS) : 0;
}

function ex(core: Core): AnomalyExports {
  return core.exports as AnomalyExports;
}

/** Host-held state of one series' detector. Create it with the core that will run it. */
export class SeriesDetectorState {
  readonly period: number;
  buf: Float64Array | undefined;
  constructor(period: number) {
    this.period = Math.trunc(period);
  }
}

export interface SeriesAnomalyResult {
  score: Float64Array;
  /** Score at the first point of an episode, 0 inside it unless higher: one report per episode. */
  event: Float64Array;
  likelihood: Float64Array;
  kind: AnomalyKind[];
  status: string;
}

function ensureInit(core: Core, st: SeriesDetectorState): Float64Array {
  if (!st.buf) {
    const len = ex(core).anomaly_uv_state_len(st.period);
    st.buf = core.withF64(len, (p) => {
      const code = ex(core).anomaly_uv_init(p, st.period);
      if (code !== Status.Ok) throw new ArgumentInvalidError(`anomaly_uv_init failed: ${statusName(code)}`);
      return core.f64(p, len).slice();
    });
  }
  return st.buf;
}

/** Feeds values[k] to states[k] for every k in one WASM call; all value arrays must have the same length. */
export function scoreSeries(core: Core, states: readonly SeriesDetectorState[], values: readonly ArrayLike<number>[]): SeriesAnomalyResult[] {
  if (states.length !== values.length) throw new ArgumentInvalidError('scoreSeries: one value array per state');
  const n = states.length;
  if (n === 0) return [];
  const steps = values[0].length;
  for (const v of values) if (v.length !== steps) throw new ArgumentInvalidError('scoreSeries: value arrays differ in length');
  return core.call(() => {
    const bufs = states.map((s) => ensureInit(core, s));
    const stride = Math.max(...bufs.map((b) => b.length));
    const x = ex(core);
    const total = n * steps;
    const pStates = x.alloc(Math.max(8, n * stride * 8));
    const pVals = x.alloc(Math.max(8, total * 8));
    const pOut = x.alloc(Math.max(8, total * 4 * 8));
    const pStatus = x.alloc(Math.max(8, n * 4));
    try {
      bufs.forEach((b, k) => core.f64(pStates + k * stride * 8, b.length).set(b));
      const vals = core.f64(pVals, total);
      values.forEach((v, k) => vals.set(v, k * steps));
      const o = (i: number) => pOut + i * total * 8;
      x.anomaly_uv_step(n, steps, stride, pStates, pVals, o(0), o(1), o(2), o(3), pStatus);
      const status = core.i32(pStatus, n);
      // one host copy of the outputs (score, event, likelihood, kind; each series-major), which every result views
      const outs = core.f64(pOut, total * 4).slice();
      const out: SeriesAnomalyResult[] = [];
      for (let k = 0; k < n; k++) {
        bufs[k].set(core.f64(pStates + k * stride * 8, bufs[k].length));
        const view = (i: number) => outs.subarray(i * total + k * steps, i * total + (k + 1) * steps);
        out.push({
          score: view(0),
          event: view(1),
          likelihood: view(2),
          kind: Array.from(view(3), (c) => KINDS[c] ?? 'none'),
          status: statusName(status[k]),
        });
      }
      return out;
    } finally {
      x.free(pStates);
      x.free(pVals);
      x.free(pOut);
      x.free(pStatus);
    }
  });
}

/** Host-held behaviour profile of one tenant with `d` signals. */
export class BehaviourState {
  readonly d: number;
  buf: Float64Array | undefined;
  constructor(d: number) {
    if (!Number.isInteger(d) || d < 1 || d > 64) throw new ArgumentInvalidError(`behaviour dimension must be 1..64, got ${d}`);
    this.d = d;
  }
}

export interface BehaviourResult {
  score: Float64Array;
  likelihood: Float64Array;
  /** Wilson-Hilferty z of the squared Mahalanobis distance. */
  z: Float64Array;
  /** 'behaviour-change' where the score reaches 0.5 (the tenant's own 99th percentile of z), else 'none'. */
  kind: AnomalyKind[];
  status: string;
}

/** Scores vectors[k] (nSteps x d, row-major) against states[k], then updates the profiles; one WASM call. */
export function scoreBehaviour(core: Core, states: readonly BehaviourState[], vectors: readonly ArrayLike<number>[]): BehaviourResult[] {
  if (states.length !== vectors.length) throw new ArgumentInvalidError('scoreBehaviour: one vector array per state');
  const n = states.length;
  if (n === 0) return [];
  const d = states[0].d;
  if (states.some((s) => s.d !== d)) throw new ArgumentInvalidError('scoreBehaviour: all states of a batch share d');
  const len = vectors[0].length;
  if (len % d !== 0 || vectors.some((v) => v.length !== len)) {
    throw new ArgumentInvalidError(`scoreBehaviour: each vector array must hold the same multiple of d = ${d} values`);
  }
  const steps = len / d;
  return core.call(() => {
    const x = ex(core);
    const stride = x.anomaly_mv_state_len(d);
    for (const s of states) {
      if (!s.buf) {
        s.buf = core.withF64(stride, (p) => {
          x.anomaly_mv_init(p, d);
          return core.f64(p, stride).slice();
        });
      }
    }
    const total = n * steps;
    const pStates = x.alloc(Math.max(8, n * stride * 8));
    const pVec = x.alloc(Math.max(8, total * d * 8));
    const pOut = x.alloc(Math.max(8, total * 3 * 8));
    const pStatus = x.alloc(Math.max(8, n * 4));
    try {
      states.forEach((s, k) => core.f64(pStates + k * stride * 8, stride).set(s.buf as Float64Array));
      const vec = core.f64(pVec, total * d);
      vectors.forEach((v, k) => vec.set(v, k * len));
      const o = (i: number) => pOut + i * total * 8;
      x.anomaly_mv_step(n, steps, d, stride, pStates, pVec, o(0), o(1), o(2), pStatus);
      const status = core.i32(pStatus, n);
      return states.map((s, k) => {
        (s.buf as Float64Array).set(core.f64(pStates + k * stride * 8, stride));
        const view = (i: number) => core.f64(o(i) + k * steps * 8, steps).slice();
        const z = view(2);
        const score = view(0);
        const kind = Array.from(score, (v): AnomalyKind => (v >= 0.5 ? 'behaviour-change' : 'none'));
        return { score, likelihood: view(1), z, kind, status: statusName(status[k]) };
      });
    } finally {
      x.free(pStates);
      x.free(pVec);
      x.free(pOut);
      x.free(pStatus);
    }
  });
}
