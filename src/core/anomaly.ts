// Typed host API of the anomaly kernels (assembly/anomaly): per-series detectors and per-tenant behaviour profiles
// whose state lives in host Float64Arrays (or, for ResidentDetectors, in the core's memory), batched over many series
// per WASM call.
//
//   periodSamples(intervalS)                          daily season in samples (288 at 5-minute spacing)
//   new SeriesDetectorState(periodSamples)            state of one series (host memory, survives core restarts)
//   scoreSeries(core, states, values)                 feeds values[k] (same length for every k) to states[k]
//     -> SeriesAnomalyResult[]: score, event, likelihood (Float64Array), kind (AnomalyKind[]), status
//   new ResidentDetectors(core, periodSamples)        the same detectors keyed by series, their states kept in the
//   detectors.score(keys, values)                     core's memory between calls (no copy in and out per call); a
//                                                     core restart loses them (has(key) turns false)
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
  anomaly_uv_step_at(
    nSeries: number, nSteps: number, stride: number, ptrs: number, values: number,
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

/** The inputs of one step call, all arrays the same length (steps). */
function stepsOf(name: string, values: readonly ArrayLike<number>[]): number {
  const steps = values[0].length;
  for (const v of values) if (v.length !== steps) throw new ArgumentInvalidError(`${name}: value arrays differ in length`);
  return steps;
}

/**
 * Runs one step call of n series x steps values (`run` gets the core's buffers: values, the four outputs one after
 * another, statuses) and reads its results: one host copy of the outputs (score, event, likelihood, kind; each
 * series-major), which every result views.
 */
function stepCall(
  core: Core, n: number, values: readonly ArrayLike<number>[], steps: number,
  run: (pVals: number, out: (i: number) => number, pStatus: number) => void,
): SeriesAnomalyResult[] {
  const x = ex(core);
  const total = n * steps;
  const pVals = x.alloc(Math.max(8, total * 8));
  const pOut = x.alloc(Math.max(8, total * 4 * 8));
  const pStatus = x.alloc(Math.max(8, n * 4));
  try {
    const vals = core.f64(pVals, total);
    values.forEach((v, k) => vals.set(v, k * steps));
    run(pVals, (i) => pOut + i * total * 8, pStatus);
    const status = core.i32(pStatus, n);
    const outs = core.f64(pOut, total * 4).slice();
    const out: SeriesAnomalyResult[] = [];
    for (let k = 0; k < n; k++) {
      const a = k * steps, b = a + steps;
      const kind: AnomalyKind[] = [];
      for (let j = 3 * total + a; j < 3 * total + b; j++) kind.push(KINDS[outs[j]] ?? 'none');
      out.push({
        score: outs.subarray(a, b),
        event: outs.subarray(total + a, total + b),
        likelihood: outs.subarray(2 * total + a, 2 * total + b),
        kind,
        status: statusName(status[k]),
      });
    }
    return out;
  } finally {
    x.free(pVals);
    x.free(pOut);
    x.free(pStatus);
  }
}

/** Feeds values[k] to states[k] for every k in one WASM call; all value arrays must have the same length. */
export function scoreSeries(core: Core, states: readonly SeriesDetectorState[], values: readonly ArrayLike<number>[]): SeriesAnomalyResult[] {
  if (states.length !== values.length) throw new ArgumentInvalidError('scoreSeries: one value array per state');
  const n = states.length;
  if (n === 0) return [];
  const steps = stepsOf('scoreSeries', values);
  return core.call(() => {
    const bufs = states.map((s) => ensureInit(core, s));
    const stride = Math.max(...bufs.map((b) => b.length));
    const x = ex(core);
    const pStates = x.alloc(Math.max(8, n * stride * 8));
    try {
      bufs.forEach((b, k) => core.f64(pStates + k * stride * 8, b.length).set(b));
      return stepCall(core, n, values, steps, (pVals, o, pStatus) => {
        x.anomaly_uv_step(n, steps, stride, pStates, pVals, o(0), o(1), o(2), o(3), pStatus);
        bufs.forEach((b, k) => b.set(core.f64(pStates + k * stride * 8, b.length)));
      });
    } finally {
      x.free(pStates);
    }
  });
}

/** Core memory the states of one ResidentDetectors may take (its default budget): 2 GiB, about 170,000 series at
 *  5-minute spacing. The 32-bit core has 4 GiB for everything; the series past the budget are host-held. */
export const RESIDENT_DETECTOR_BYTES = 2 ** 31;

interface ResidentMemory {
  core: Core;
  at: Map<string, number>;
  restarts: number;
}

/** Frees the states of a ResidentDetectors that was dropped without forgetting its series (a backtest's). */
const residentStates = new FinalizationRegistry<ResidentMemory>((m) => {
  if (m.core.restarts !== m.restarts) return;
  try {
    m.core.call((x) => {
      for (const p of m.at.values()) x.free(p);
    });
  } catch {
    // the core restarted: its memory, and these states with it, is gone
  }
  m.at.clear();
});

/**
 * Per-series detectors keyed by series, their states kept in the core's memory from one call to the next: a step
 * reads and writes the few hundred bytes of a state it touches, where scoreSeries copies each state (12.4 KB at
 * 5-minute spacing) into the core and back every call. What that costs: the states are the core's, so a restart of
 * the core (after a trap in any of its calls) loses them; has(key) is false from then on, and the caller feeds such a
 * series a warm-up again, as a new one (src/loop/engine-loop.ts). Series past the budget keep host-held states
 * (scoreSeries' path). One period (samples a day) for every series of an instance.
 */
export class ResidentDetectors {
  readonly core: Core;
  readonly period: number;
  readonly #budget: number;
  /** Doubles of one state. */
  readonly #len: number;
  /** Key -> address of its state in core memory, and core.restarts when they were made (a restart since makes them
   *  void). Apart from the instance, so that the registry can free them once the instance is collected. */
  readonly #mem: ResidentMemory;
  /** Series past the budget: host-held states. */
  #held = new Map<string, SeriesDetectorState>();

  constructor(core: Core, period: number, budgetBytes = RESIDENT_DETECTOR_BYTES) {
    this.core = core;
    this.period = Math.trunc(period);
    this.#budget = budgetBytes;
    this.#len = ex(core).anomaly_uv_state_len(this.period);
    this.#mem = { core, at: new Map(), restarts: core.restarts };
    residentStates.register(this, this.#mem);
  }

  get #at(): Map<string, number> {
    return this.#mem.at;
  }

  /** Forgets the addresses of a core that has restarted since they were made (its memory is gone). */
  #sync(): void {
    if (this.core.restarts === this.#mem.restarts) return;
    this.#mem.at.clear();
    this.#mem.restarts = this.core.restarts;
  }

  /** Whether `key` has a state (false before its first call, after forget, and after a core restart lost it). */
  has(key: string): boolean {
    this.#sync();
    return this.#at.has(key) || this.#held.has(key);
  }

  /** States held (in core memory and in host memory). */
  get size(): number {
    this.#sync();
    return this.#at.size + this.#held.size;
  }

  /** States held in the core's memory. */
  get resident(): number {
    this.#sync();
    return this.#at.size;
  }

  /** Frees the state of `key`. */
  forget(key: string): void {
    this.#sync();
    const p = this.#at.get(key);
    if (p !== undefined) {
      this.#at.delete(key);
      this.core.call((x) => x.free(p));
    }
    this.#held.delete(key);
  }

  /** Feeds values[k] to the detector of keys[k] (a new one for an unknown key) for every k; all value arrays must
   *  have the same length and the keys differ. Results in the order of the keys. */
  score(keys: readonly string[], values: readonly ArrayLike<number>[]): SeriesAnomalyResult[] {
    if (keys.length !== values.length) throw new ArgumentInvalidError('ResidentDetectors.score: one value array per key');
    if (keys.length === 0) return [];
    if (new Set(keys).size !== keys.length) throw new ArgumentInvalidError('ResidentDetectors.score: a key appears twice');
    const steps = stepsOf('ResidentDetectors.score', values);
    this.#sync();
    const core = this.core;
    const x = ex(core);
    // the series to run here, and those past the budget (host-held)
    const here: number[] = [];
    const held: number[] = [];
    let fresh = 0;
    for (let k = 0; k < keys.length; k++) {
      if (this.#at.has(keys[k])) here.push(k);
      else if (!this.#held.has(keys[k]) && (this.#at.size + ++fresh) * this.#len * 8 <= this.#budget) here.push(k);
      else held.push(k);
    }
    const out = new Array<SeriesAnomalyResult>(keys.length);
    if (held.length) {
      const states = held.map((k) => {
        let st = this.#held.get(keys[k]);
        if (!st) this.#held.set(keys[k], (st = new SeriesDetectorState(this.period)));
        return st;
      });
      scoreSeries(core, states, held.map((k) => values[k])).forEach((r, i) => (out[held[i]] = r));
    }
    if (here.length) {
      const n = here.length;
      const res = core.call(() => {
        const ptrs = new Uint32Array(n);
        for (let i = 0; i < n; i++) {
          const key = keys[here[i]];
          let p = this.#at.get(key);
          if (p === undefined) {
            p = x.alloc(this.#len * 8);
            const code = x.anomaly_uv_init(p, this.period);
            if (code !== Status.Ok) {
              x.free(p);
              throw new ArgumentInvalidError(`anomaly_uv_init failed: ${statusName(code)}`);
            }
            this.#at.set(key, p);
          }
          ptrs[i] = p;
        }
        const pPtrs = x.alloc(Math.max(8, n * 4));
        try {
          new Uint32Array(x.memory.buffer, pPtrs, n).set(ptrs);
          return stepCall(core, n, here.map((k) => values[k]), steps, (pVals, o, pStatus) => {
            x.anomaly_uv_step_at(n, steps, this.#len, pPtrs, pVals, o(0), o(1), o(2), o(3), pStatus);
          });
        } finally {
          x.free(pPtrs);
        }
      });
      res.forEach((r, i) => (out[here[i]] = r));
    }
    return out;
  }
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
