// Per-series state of the engine, all in host memory: model states, recent values, every model's forecasts by
// origin, their matured errors (the rolling-origin backtest) and the conformal shifts. `advance` (and
// `advanceBatch`, many series per WASM call) is the one step that both the initial backtest (fit) and the online
// update run, so both see exactly the same arithmetic; the arithmetic itself is the core's
// (assembly/forecast/ensemble.ts, export fc_ens_advance_batch). This file owns the arrays: every series' small state
// is one Float64Array block (the public fields are views into it) copied into the core per call with the slots of the
// float32 value ring the step can read; the large error rings stay here and the core returns the errors it writes as
// a journal of (index, value) pairs. The recent values are the state's own ring, or, in the sidecar, read in place
// from the history store's week of the series (SharedHistory): the same values, held once. An UndoLog keeps what an
// engine call overwrites in its states, so that a call that fails half-way can be undone (engine.ts update).
import { ArgumentInvalidError } from '../errors.js';
import { ACI_GAMMA, ACI_MAX_SHIFT } from './conformal.js';
import { fx } from './forecast-exports.js';
import { mapPacked } from './packed.js';
import { MIN_WEIGHT, WEIGHT_ETA } from './select.js';
import { checkStatus } from './status.js';
import type { SharedHistory } from './types.js';
import { Core, sharedCore } from './wasm.js';

export type { SharedHistory };

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
  /** Keep every model's quantile tracking (error ring, issued quantiles, conformal shifts, live hits: what
   *  per-model quantile forecasts read) or the ensemble's alone ('ensemble': the allocator's choice, an eighth of the
   *  error memory; weights, losses and live MAE stay per model). Default 'all'. */
  quantileModels?: 'all' | 'ensemble';
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

/** Block layout and kernel config shared by every state of one shape (assembly/forecast/ensemble.ts CFG_*). */
export interface StateLayout {
  key: string;
  cfg: Float64Array;
  stride: number;
  oFc: number;
  oFcOrigin: number;
  oErrN: number;
  oLoss: number;
  oWeights: number;
  oIssuedQ: number;
  oIssuedOrigin: number;
  oIssuedModels: number;
  oShift: number;
  oLiveHits: number;
  oLiveCount: number;
  oLiveAbs: number;
  oLiveAct: number;
  oLiveQN: number;
  oRing: number;
  ringLen: number;
  /** First model with quantile tracking (0 or nM) and the number tracked, nM + 1 - q0. */
  q0: number;
  mq: number;
  /** Offset in a state's `err` of the ensemble's error rings (they come last: E values per horizon). */
  ensErrAt: number;
  season: number;
  /** Smallest and largest horizon within a season (the seasonal members' lags), -1 when none. */
  hMin: number;
  hMax: number;
}

const CFG_HEADER = 32;
const B_N = 0, B_LAST = 1, B_MIN = 2, B_MAXABS = 3, B_SURPRISED_AT = 4;
const layouts = new Map<string, StateLayout>();

function layoutFor(shape: StateShape): StateLayout {
  const nM = shape.models.length, K = shape.hs.length, L = shape.levels.length;
  const P = Math.max(...shape.hs) + 1;
  const M1 = nM + 1;
  const q0 = shape.quantileModels === 'ensemble' ? nM : 0;
  const MQ = M1 - q0;
  const E = shape.errWindow;
  const ringLen = Math.max(MEDIAN_WINDOW, shape.season * SEASONAL_MEDIAN_DEPTH + 1, shape.keep ?? 0);
  const lam = 1 - Math.pow(0.5, 1 / Math.max(1, shape.lossHalfLife));
  const eta = shape.eta ?? WEIGHT_ETA;
  const disabled = shape.models.map((_, m) => (shape.disabled?.[m] ? 1 : 0));
  const key = JSON.stringify([nM, shape.hs, shape.levels, E, shape.season, ringLen, lam, eta, disabled, q0]);
  const hit = layouts.get(key);
  if (hit) return hit;
  let o = 5; // n, lastFinite, minSeen, maxAbs, surprisedAt
  const take = (len: number): number => {
    const at = o;
    o += len;
    return at;
  };
  // what the core writes, then what it only reads (issued quantiles, kept by the engine), then the recent values
  const oFc = take(M1 * K * P), oFcOrigin = take(P), oErrN = take(M1 * K), oLoss = take(M1 * K);
  const oWeights = take(K * nM), oIssuedOrigin = take(P);
  const oShift = take(MQ * K * L), oLiveHits = take(MQ * K * L), oLiveCount = take(M1 * K), oLiveAbs = take(M1 * K);
  const oLiveAct = take(M1 * K), oLiveQN = take(MQ * K), oSurprised = take(MQ * K);
  const oIssuedQ = take(P * MQ * K * L), oIssuedModels = take(P * MQ);
  const oRing = take(ringLen);
  const cfg = new Float64Array(CFG_HEADER + K + L + nM);
  cfg.set([K, P, nM, L, E, shape.season, ringLen, lam, eta, ACI_GAMMA, ACI_MAX_SHIFT, MIN_WEIGHT, MEDIAN_WINDOW, SEASONAL_MEDIAN_DEPTH, o]);
  cfg.set([oFc, oFcOrigin, oErrN, oLoss, oWeights, oIssuedQ, oIssuedOrigin, oIssuedModels, oShift, oLiveHits, oLiveCount, oLiveAbs, oRing, oLiveAct, q0, oLiveQN, oSurprised], 15);
  cfg.set(shape.hs, CFG_HEADER);
  cfg.set(shape.levels, CFG_HEADER + K);
  cfg.set(disabled, CFG_HEADER + K + L);
  const lay: StateLayout = {
    key, cfg, stride: o, oFc, oFcOrigin, oErrN, oLoss, oWeights, oIssuedQ, oIssuedOrigin, oIssuedModels, oShift,
    oLiveHits, oLiveCount, oLiveAbs, oLiveAct, oLiveQN, oRing, ringLen, q0, mq: MQ, ensErrAt: (nM - q0) * K * E, season: shape.season,
    hMin: shape.season > 0 ? Math.min(...shape.hs.filter((h) => h <= shape.season), Infinity) : -1,
    hMax: shape.season > 0 ? Math.max(...shape.hs.filter((h) => h <= shape.season), -1) : -1,
  };
  if (!Number.isFinite(lay.hMin)) lay.hMin = -1;
  layouts.set(key, lay);
  return lay;
}

/** Recent values a state of this shape keeps (its ring), the least a SharedHistory must hold. */
export function recentPointsOf(shape: StateShape): number {
  return layoutFor(shape).ringLen;
}

/** The ring of every state that reads a shared history: one empty array for all (an array each is ~180 bytes). */
const NO_RING = new Float32Array(0);
/** The model states of a state not fitted yet, the same way. */
const NO_MODEL = new Float64Array(0);

/** What a checkpoint of one state keeps (UndoLog): its small arrays are copied into the log's arena at `at`. */
interface UndoEntry {
  st: SeriesState;
  /** Place in the log's entries (what its logged writes name) and offset of its copies in the arena. */
  id: number;
  at: number;
  status: string;
  ring: Float32Array;
  shared: SharedHistory | undefined;
  sharedPos: number;
  masked: Uint8Array | undefined;
  /** The whole ring, copied at its first bulk write (pairs logged before it are undone after it is put back). */
  ringCopy: Float32Array | undefined;
  /** The same for the error rings; `errTouched`: a write was logged (the sorted errors are rebuilt on rollback). */
  errCopy: Float32Array | undefined;
  errTouched: boolean;
}

const LOG_RING = 0, LOG_ERR = 1;

/**
 * What one engine call changed in many states, so that a call that fails half-way (a core trap in a later wave or
 * batch, a status error) can be undone and its retry start from the states before it (engine.ts update). One log
 * per engine, its buffers reused from call to call: a checkpoint copies a state's block and its Holt-Winters, Holt
 * and histogram states into the arena (memcpy, no allocation in the steady state), and each advance logs the ring
 * and error slots it overwrites, O(new points).
 */
export class UndoLog {
  #arena = new Float64Array(4096);
  #top = 0;
  #entries: UndoEntry[] = [];
  /** Overwritten slots: (entry * 2 + kind, index, old value) triples. */
  #log = new Float64Array(4096);
  #logTop = 0;

  /** Starts a call: forgets the previous one. */
  begin(): void {
    this.release();
  }

  /** Keeps `st` as it is now (SeriesState.checkpoint calls this). */
  add(st: SeriesState, shared: SharedHistory | undefined, sharedPos: number, masked: Uint8Array | undefined): UndoEntry {
    // the step writes the block up to the issued quantiles (copyOut), which only forecasts write
    const nb = st.layout.oIssuedQ, nw = st.hw.length, nh = st.holt.length;
    const need = nb + nw + nh + st.hist.length;
    if (this.#top + need > this.#arena.length) {
      const grown = new Float64Array(Math.max(2 * this.#arena.length, this.#top + need));
      grown.set(this.#arena.subarray(0, this.#top));
      this.#arena = grown;
    }
    const at = this.#top;
    const A = this.#arena;
    A.set(st.block.subarray(0, nb), at);
    A.set(st.hw, at + nb);
    A.set(st.holt, at + nb + nw);
    A.set(st.hist, at + nb + nw + nh);
    this.#top = at + need;
    const e: UndoEntry = {
      st, id: this.#entries.length, at, status: st.status, ring: st.ring, shared, sharedPos, masked: masked?.slice(),
      ringCopy: undefined, errCopy: undefined, errTouched: false,
    };
    this.#entries.push(e);
    return e;
  }

  /** Logs the ring slots n0 % R .. (n0 + n - 1) % R of the entry's state before the step writes them (n < R). */
  ring(e: UndoEntry, ring: Float32Array, n0: number, n: number): void {
    if (e.ringCopy) return;
    const L = this.#room(3 * n), R = ring.length, tag = e.id * 2 + LOG_RING;
    let j = this.#logTop;
    for (let t = 0, p = n0 % R; t < n; t++) {
      L[j++] = tag;
      L[j++] = p;
      L[j++] = ring[p];
      if (++p === R) p = 0;
    }
    this.#logTop = j;
  }

  /** Logs the error-ring indices of a step's journal (cnt (index, value) pairs at V[jAt..]) before they are written. */
  err(e: UndoEntry, err: Float32Array, V: Float64Array, jAt: number, cnt: number): void {
    if (cnt > 0) e.errTouched = true;
    if (e.errCopy) return;
    const L = this.#room(3 * cnt), tag = e.id * 2 + LOG_ERR;
    let j = this.#logTop;
    for (let t = 0; t < cnt; t++) {
      const i = V[jAt + 2 * t] | 0;
      L[j++] = tag;
      L[j++] = i;
      L[j++] = err[i];
    }
    this.#logTop = j;
  }

  /** The log with room for `more` values after its top. */
  #room(more: number): Float64Array {
    if (this.#logTop + more > this.#log.length) {
      const grown = new Float64Array(Math.max(2 * this.#log.length, this.#logTop + more));
      grown.set(this.#log.subarray(0, this.#logTop));
      this.#log = grown;
    }
    return this.#log;
  }

  /** Puts every state back as it was at its checkpoint (bit for bit; sorted errors rebuilt from the rings). */
  rollback(): void {
    const es = this.#entries;
    const A = this.#arena;
    for (const e of es) {
      const st = e.st;
      let o = e.at;
      for (const a of [st.block.subarray(0, st.layout.oIssuedQ), st.hw, st.holt, st.hist]) {
        a.set(A.subarray(o, o + a.length));
        o += a.length;
      }
      st.status = e.status;
      if (e.ringCopy && st.ring === e.ring) st.ring.set(e.ringCopy);
      if (e.errCopy) st.err.set(e.errCopy);
    }
    const L = this.#log;
    for (let j = this.#logTop - 3; j >= 0; j -= 3) {
      const e = es[L[j] >> 1];
      if ((L[j] & 1) === LOG_ERR) e.st.err[L[j + 1]] = L[j + 2];
      else if (e.st.ring === e.ring) e.ring[L[j + 1]] = L[j + 2];
    }
    for (const e of es) {
      e.st.restoreCheckpoint(e.ring, e.shared, e.sharedPos, e.masked);
      if (e.errCopy || e.errTouched) e.st.rebuildSorted();
    }
    this.release();
  }

  /** Keeps every change since the checkpoints. */
  release(): void {
    for (const e of this.#entries) e.st.restoreCheckpoint(undefined);
    this.#entries = [];
    this.#top = 0;
    this.#logTop = 0;
  }
}

/** The model states a fitted series starts with, kept in the state's own buffer: its Holt-Winters and Holt states
 *  (copied) and the length of its decaying histogram (zeroed). */
export interface ModelStates {
  hw: Float64Array;
  holt: Float64Array;
  histLen: number;
}

export class SeriesState {
  readonly shape: StateShape;
  readonly nM: number; // base models
  readonly K: number;
  readonly P: number; // origin slots (max horizon + 1)
  status = 'ok';
  /** Holt-Winters, Holt and decaying-histogram states (empty until a fit gives them; see ModelStates). */
  hw: Float64Array<ArrayBufferLike> = NO_MODEL;
  holt: Float64Array<ArrayBufferLike> = NO_MODEL;
  hist: Float64Array<ArrayBufferLike> = NO_MODEL;
  histFirst = 1;
  histNb = 0;
  /** Scalars and every small array below, one block (copied into the core per step; the core's copy of a block
   *  ends with the ring, which the host keeps apart). */
  readonly block: Float64Array;
  /** The recent values (a week of a daily season for the seasonal median), float32 as the core stores them: half
   *  the memory of the largest part of the block, and the members that read it (seasonal naive, the medians) see
   *  values to 7 significant digits, far below any series' noise. Empty while the state reads a shared history. */
  ring: Float32Array;
  /** The shared history the recent values are read from (undefined: the state's own ring). */
  #shared: SharedHistory | undefined;
  /** Slot count (SharedHistory.pos) of the last point consumed from the shared history. Time t of the state (points
   *  consumed before it) is at slot count sharedPos - (n - 1 - t). */
  #sharedPos = -1;
  /** Shared slots where the state consumed a gap but the history holds a value (a point the caller fed as missing,
   *  e.g. a quarantined tenant's): they read as missing, as the state's own ring would. A bitset by slot, allocated
   *  at the first such point. */
  #masked: Uint8Array | undefined;
  /** Open checkpoint (checkpoint() .. the log's release() or rollback()), undefined outside one. */
  #undo: { log: UndoLog; entry: UndoEntry } | undefined;
  /** Finite values consumed since the last fit or refit, and their range: what the status says (engine.ts consumedStatus,
   *  the rule of the Holt-Winters fit kernel). */
  finiteSeen = 0;
  loSeen = Infinity;
  hiSeen = -Infinity;
  /** The rolling-origin errors of the tracked models (m >= q0), float32 (half the memory of the largest
   *  per-series array; errors only feed quantiles and scores, where 7 significant digits are plenty):
   *  [((m - q0)*K + k)*E + i], NaN where never written. */
  readonly err: Float32Array;
  /** The ensemble's errors of each horizon, kept sorted as they are written, as slots of its error ring: the j-th
   *  smallest at horizon k is err[ensErrAt + k*E + sorted[k*E + j]], j < sortedN[k] (NaN never inserted). The
   *  forecast reads its quantiles here in O(1) instead of selecting them from 3 x 1,008 errors every cycle; slots
   *  (2 bytes while E <= 65,536) instead of copies of the float32 values: 1.7 KB a series less at a day of 5-minute
   *  origins. */
  readonly sorted: Uint16Array | Uint32Array;
  readonly sortedN: Int32Array;
  readonly issuedModels: Uint8Array; // tracked: [slot*mq + m - q0] 1 when issued
  /** @internal layout shared with the core */
  readonly layout: StateLayout;

  /**
   * With `history` (at least as many slots as the ring), the state reads its recent values there instead of keeping
   * its own ring. Every advance must then end with the value at the history's newest slot; one that does not
   * (checked in advanceBatch) turns the state back to an own ring first.
   */
  constructor(shape: StateShape, history?: SharedHistory, models?: ModelStates) {
    this.shape = shape;
    this.nM = shape.models.length;
    this.K = shape.hs.length;
    this.P = Math.max(...shape.hs) + 1;
    const M1 = this.nM + 1;
    const lay = layoutFor(shape);
    this.layout = lay;
    const MQ = lay.mq;
    // the block, the model states (a fit's) and the arrays below in one buffer: one backing store a series instead of
    // eight (each ArrayBuffer costs a heap object and a native allocation of its own, about 300 bytes, besides its
    // data); doubles first, then the narrower types, each at its alignment
    const E = shape.errWindow, nErr = MQ * this.K * E, nSorted = this.K * E, wide = E > 0x10000;
    const nHw = models?.hw.length ?? 0, nHolt = models?.holt.length ?? 0, nHist = models?.histLen ?? 0;
    const oHw = lay.oRing * 8, oHolt = oHw + nHw * 8, oHist = oHolt + nHolt * 8;
    const oErr = oHist + nHist * 8, oSortedN = oErr + nErr * 4, oSorted = oSortedN + this.K * 4;
    const oIssued = oSorted + nSorted * (wide ? 4 : 2);
    const buf = new ArrayBuffer(oIssued + this.P * MQ);
    const b = new Float64Array(buf, 0, lay.oRing);
    this.block = b;
    if (models) {
      this.hw = new Float64Array(buf, oHw, nHw);
      this.hw.set(models.hw);
      this.holt = new Float64Array(buf, oHolt, nHolt);
      this.holt.set(models.holt);
      this.hist = new Float64Array(buf, oHist, nHist);
    }
    b[B_N] = 0;
    b[B_LAST] = NaN;
    b[B_MIN] = Infinity;
    b[B_MAXABS] = 0;
    b[B_SURPRISED_AT] = -Infinity;
    if (history && history.buf.length >= lay.ringLen) {
      this.ring = NO_RING;
      this.#shared = history;
      this.#sharedPos = history.pos;
    } else this.ring = new Float32Array(lay.ringLen).fill(NaN);
    b.fill(NaN, lay.oFc, lay.oFcOrigin);
    b.fill(-1, lay.oFcOrigin, lay.oFcOrigin + this.P);
    this.err = new Float32Array(buf, oErr, nErr).fill(NaN);
    this.sorted = wide ? new Uint32Array(buf, oSorted, nSorted) : new Uint16Array(buf, oSorted, nSorted);
    this.sortedN = new Int32Array(buf, oSortedN, this.K);
    b.fill(NaN, lay.oLoss, lay.oLoss + M1 * this.K);
    b.fill(1 / this.nM, lay.oWeights, lay.oWeights + this.K * this.nM);
    b.fill(-1, lay.oIssuedOrigin, lay.oIssuedOrigin + this.P);
    this.issuedModels = new Uint8Array(buf, oIssued, this.P * MQ);
  }

  /** A refit's Holt-Winters and Holt states: written over the current ones where they are as long (in the state's
   *  buffer), else taken as they are (a refit that keeps a season the fit had dropped, or drops one). */
  setModels(hw: Float64Array, holt: Float64Array): void {
    if (hw.length === this.hw.length) this.hw.set(hw);
    else this.hw = hw;
    if (holt.length === this.holt.length) this.holt.set(holt);
    else this.holt = holt;
  }

  // The small arrays of the block, as views made on each read (a view kept per array would cost ~100 bytes each,
  // 1.3 KB a series for these 13): callers on hot paths read the block at the layout's offsets instead.
  #view(at: number, len: number): Float64Array {
    return this.block.subarray(at, at + len);
  }
  /** Every model's forecasts by origin slot: [(m*K + k)*P + slot], m in 0..nM (nM = ensemble). */
  get fc(): Float64Array {
    return this.#view(this.layout.oFc, (this.nM + 1) * this.K * this.P);
  }
  get fcOrigin(): Float64Array {
    return this.#view(this.layout.oFcOrigin, this.P);
  }
  /** Total errors pushed per (m,k). */
  get errN(): Float64Array {
    return this.#view(this.layout.oErrN, (this.nM + 1) * this.K);
  }
  /** EW mean absolute error per (m,k). */
  get loss(): Float64Array {
    return this.#view(this.layout.oLoss, (this.nM + 1) * this.K);
  }
  /** [k*nM + m] */
  get weights(): Float64Array {
    return this.#view(this.layout.oWeights, this.K * this.nM);
  }
  /** Tracked: [((slot*mq + m - q0)*K + k)*L + l]. */
  get issuedQ(): Float64Array {
    return this.#view(this.layout.oIssuedQ, this.P * this.mq * this.K * this.shape.levels.length);
  }
  get issuedOrigin(): Float64Array {
    return this.#view(this.layout.oIssuedOrigin, this.P);
  }
  /** Tracked: [((m - q0)*K + k)*L + l]. */
  get shift(): Float64Array {
    return this.#view(this.layout.oShift, this.mq * this.K * this.shape.levels.length);
  }
  /** Live scoring, as they mature, of the forecasts made at origins where the engine issued forecasts: count and
   *  absolute error of every model's point forecast (its issued median when its quantiles were issued), and, for the
   *  quantiles issued, hits per level and the number of outcomes they were scored on (coverage = hits / liveQN).
   *  Tracked: [((m - q0)*K + k)*L + l]. */
  get liveHits(): Float64Array {
    return this.#view(this.layout.oLiveHits, this.mq * this.K * this.shape.levels.length);
  }
  /** [m*K + k] */
  get liveCount(): Float64Array {
    return this.#view(this.layout.oLiveCount, (this.nM + 1) * this.K);
  }
  /** [m*K + k] */
  get liveAbs(): Float64Array {
    return this.#view(this.layout.oLiveAbs, (this.nM + 1) * this.K);
  }
  /** Sum of |actual| over the same outcomes (scale of liveAbs: liveAbs / liveAct is unit-free). [m*K + k] */
  get liveAct(): Float64Array {
    return this.#view(this.layout.oLiveAct, (this.nM + 1) * this.K);
  }
  /** Tracked: [(m - q0)*K + k]. */
  get liveQN(): Float64Array {
    return this.#view(this.layout.oLiveQN, this.mq * this.K);
  }

  /** Points consumed. */
  get n(): number {
    return this.block[B_N];
  }
  set n(v: number) {
    this.block[B_N] = v;
  }
  get lastFinite(): number {
    return this.block[B_LAST];
  }
  set lastFinite(v: number) {
    this.block[B_LAST] = v;
  }
  get minSeen(): number {
    return this.block[B_MIN];
  }
  set minSeen(v: number) {
    this.block[B_MIN] = v;
  }
  get maxAbs(): number {
    return this.block[B_MAXABS];
  }
  set maxAbs(v: number) {
    this.block[B_MAXABS] = v;
  }

  /** The last `len` values (oldest first; NaN where not kept). */
  tail(len: number): Float64Array {
    const out = new Float64Array(len);
    for (let i = 0; i < len; i++) out[i] = this.recent(len - 1 - i);
    return out;
  }

  /** Value `back` steps before the last consumed point (0 = last), NaN when not kept. */
  recent(back: number): number {
    if (back < 0 || back >= this.layout.ringLen || back >= this.n) return NaN;
    if (this.#shared) return this.#sharedValue(this.#sharedPos - back);
    return this.ring[(this.n - 1 - back) % this.ring.length];
  }

  /** Goes back to an own ring holding what the shared history still has of this state's recent values. */
  unshare(): void {
    if (!this.#shared) return;
    const R = this.layout.ringLen;
    const ring = new Float32Array(R).fill(NaN);
    for (let b = 0; b < Math.min(this.n, R); b++) ring[(this.n - 1 - b) % R] = this.recent(b);
    this.#shared = undefined;
    this.#masked = undefined;
    this.ring = ring;
  }

  /** The history this state reads its recent values from, if any. */
  get shared(): SharedHistory | undefined {
    return this.#shared;
  }

  /** Value of shared slot count `c` (NaN when overwritten since, never written, or masked). */
  #sharedValue(c: number): number {
    const h = this.#shared!;
    const cap = h.buf.length;
    if (c < 0 || c <= h.pos - cap) return NaN;
    const slot = c % cap;
    if (this.#isMasked(slot)) return NaN;
    return h.buf[slot];
  }

  /** Whether shared slot `slot` was consumed as a gap over a stored value (#mask). */
  #isMasked(slot: number): boolean {
    return this.#masked !== undefined && (this.#masked[slot >> 3] & (1 << (slot & 7))) !== 0;
  }

  /** @internal H[at + t % R] = the value at time t (n0 - 1 being the last point consumed), for t in [a, b). */
  copySharedInto(H: Float64Array, at: number, R: number, a: number, b: number): void {
    // time t is at slot count sharedPos - (n0 - 1 - t)
    const c0 = this.#sharedPos - (this.block[B_N] - 1);
    // #sharedValue written out: called per value, it returned each one as a new heap number (some 700 bytes of
    // garbage a series and cycle)
    const h = this.#shared!, buf = h.buf, cap = buf.length, oldest = h.pos - cap, masked = this.#masked;
    // the slot of count c is c % cap, stepped along with c (c below 0 is never read)
    let c = c0 + a;
    let slot = c >= 0 ? c % cap : 0;
    for (let t = a, p = a % R; t < b; t++, c++) {
      let v = NaN;
      if (c >= 0 && c > oldest && (masked === undefined || (masked[slot >> 3] & (1 << (slot & 7))) === 0)) v = buf[slot];
      H[at + p] = v;
      if (++p === R) p = 0;
      if (c >= 0 && ++slot === cap) slot = 0;
    }
  }

  /**
   * `h` (a history ending at the last point this state consumed), or a copy of it with NaN where the state consumed a
   * gap and `h` holds a value (as far back as the state keeps its recent values): points fed as missing (a
   * quarantine) stay unlearnt when a refit reads the history again.
   */
  withoutMasked(h: Float64Array): Float64Array {
    const n = h.length;
    let out = h;
    const s = this.#shared;
    if (!s) {
      // an own ring holds NaN where it was fed as missing
      const R = this.ring.length;
      for (let b = 0, end = Math.min(n, R, this.n); b < end; b++) {
        const j = n - 1 - b;
        const kept = this.ring[(this.n - 1 - b) % R];
        if (h[j] !== h[j] || kept === kept) continue;
        if (out === h) out = h.slice();
        out[j] = NaN;
      }
      return out;
    }
    if (!this.#masked) return h;
    const cap = s.buf.length;
    for (let j = Math.max(0, n - cap); j < n; j++) {
      const c = this.#sharedPos - (n - 1 - j);
      if (c < 0 || c <= s.pos - cap || !this.#isMasked(c % cap)) continue;
      if (out === h) out = h.slice();
      out[j] = NaN;
    }
    return out;
  }

  /** @internal after consuming the points y from the shared history (the last at its current pos): a gap consumed
   *  where the history holds a value is masked, every other slot consumed unmasked. */
  consumedShared(y: ArrayLike<number>): void {
    const h = this.#shared!;
    const cap = h.buf.length;
    const n = y.length;
    for (let j = Math.max(0, n - cap); j < n; j++) {
      const a = h.pos - (n - 1 - j);
      if (a < 0) continue;
      const slot = a % cap;
      const v = y[j];
      this.#mask(slot, v !== v && h.buf[slot] === h.buf[slot]);
    }
    this.#sharedPos = h.pos;
  }

  /** @internal true when consuming y now would end at the shared history's newest slot (as far as values tell: the
   *  same float32 value, or a gap the caller fed over a value). */
  alignedWith(y: ArrayLike<number>): boolean {
    const h = this.#shared!;
    if (y.length === 0) return true;
    if (h.pos < 0) return false;
    const last = y[y.length - 1];
    const there = h.buf[h.pos % h.buf.length];
    return last !== last || Math.fround(last) === there;
  }

  #mask(slot: number, on: boolean): void {
    if (on) (this.#masked ??= new Uint8Array((this.#shared!.buf.length + 7) >> 3))[slot >> 3] |= 1 << (slot & 7);
    else if (this.#masked) this.#masked[slot >> 3] &= ~(1 << (slot & 7));
  }

  /** First model with quantile tracking (0: all; nM: the ensemble alone): the arrays marked "tracked" hold models
   *  q0..nM, at m - q0. */
  get q0(): number {
    return this.layout.q0;
  }

  /** Models with quantile tracking, nM + 1 - q0. */
  get mq(): number {
    return this.layout.mq;
  }

  /** True when model m's errors and quantiles are tracked (m >= q0). */
  tracks(m: number): boolean {
    return m >= this.q0;
  }

  /** Errors of model m at horizon index k, most recent window (a copy; empty for an untracked model). */
  errors(m: number, k: number): Float64Array {
    if (m < this.q0) return new Float64Array(0);
    const E = this.shape.errWindow;
    const cnt = Math.min(E, this.block[this.layout.oErrN + m * this.K + k]);
    const base = ((m - this.q0) * this.K + k) * E;
    return Float64Array.from(this.err.subarray(base, base + cnt));
  }

  /** Offset in `err` of the ensemble's error rings (they come last: E values per horizon). */
  get ensErrAt(): number {
    return this.layout.ensErrAt;
  }

  /** Type-7 quantile (R's default, as assembly/stats/quickselect.ts) of the ensemble's errors at horizon index k;
   *  0 when there are none. Bit-identical to selecting it from errors(nM, k). */
  ensembleErrorQuantile(k: number, p: number): number {
    const out = [0];
    this.ensembleErrorQuantiles(k, [p], 0, 1, out, 0);
    return out[0];
  }

  /** out[at + l] = ensembleErrorQuantile(k, ps[from + l]) for l < count: one call per horizon on the forecast's
   *  path (with a call per level, reading the values through their ring slots made forecast() 10-20% slower). */
  ensembleErrorQuantiles(k: number, ps: ArrayLike<number>, from: number, count: number, out: { [i: number]: number }, at: number): void {
    const n = this.sortedN[k];
    const a = this.sorted, v = this.err;
    const s0 = k * this.shape.errWindow, ring = this.layout.ensErrAt + s0;
    for (let l = 0; l < count; l++) {
      if (n === 0) {
        out[at + l] = 0;
        continue;
      }
      const p = ps[from + l];
      const q = p < 0 ? 0 : p > 1 ? 1 : Number.isNaN(p) ? 0.5 : p;
      const pos = q * (n - 1);
      const i = Math.floor(pos);
      const lo = v[ring + a[s0 + i]];
      const frac = pos - i;
      out[at + l] = frac > 0 && i + 1 < n ? lo + frac * (v[ring + a[s0 + i + 1]] - lo) : lo;
    }
  }

  /** Ring slot `slot` of horizon k's ensemble errors goes from `old` (NaN: not in the order) to `value` (both as
   *  stored: float32; call it before writing `value` to the ring): moves the slot in the sorted order. */
  replaceSorted(k: number, slot: number, old: number, value: number): void {
    const a = this.sorted, v = this.err;
    const from = k * this.shape.errWindow, ring = this.ensErrAt + from;
    let n = this.sortedN[k];
    if (old === old) {
      // the slot is within the run of values equal to old (-0 and +0 compare equal, as in lowerBound)
      let at = lowerBound(a, v, ring, from, from + n, old);
      while (at < from + n && a[at] !== slot && v[ring + a[at]] === old) at++;
      if (at < from + n && a[at] === slot) {
        a.copyWithin(at, at + 1, from + n);
        n--;
      }
    }
    if (value === value) {
      const at = lowerBound(a, v, ring, from, from + n, value);
      a.copyWithin(at + 1, at, from + n);
      a[at] = slot;
      n++;
    }
    this.sortedN[k] = n;
  }

  /** Rebuilds the sorted ensemble errors from the rings (after a bulk write): the order Float32Array.sort gives the
   *  values (ascending, -0 before +0), by one numeric sort of keys (the value's order as an unsigned integer, then
   *  its slot) rather than a sort with a comparator (a callback per comparison). */
  rebuildSorted(): void {
    const E = this.shape.errWindow;
    const keyed = E <= KEYED_SORT_MAX_E;
    if (keyed && sortKeys.length < E) sortKeys = new Float64Array(E);
    for (let k = 0; k < this.K; k++) {
      const ring = this.ensErrAt + k * E;
      const out = this.sorted.subarray(k * E, (k + 1) * E);
      let n = 0;
      for (let i = 0; i < E; i++) {
        const x = this.err[ring + i];
        if (x !== x) continue;
        if (keyed) sortKeys[n++] = floatOrder(x) * E + i;
        else out[n++] = i;
      }
      if (keyed) {
        sortKeys.subarray(0, n).sort();
        for (let j = 0; j < n; j++) out[j] = sortKeys[j] % E;
      } else {
        out.subarray(0, n).sort((i, j) => floatOrder(this.err[ring + i]) - floatOrder(this.err[ring + j]) || i - j);
      }
      this.sortedN[k] = n;
    }
  }

  /** Latest forecast of model m (nM = ensemble) at horizon index k, made at the last origin. */
  lastForecast(m: number, k: number): number {
    return this.n > 0 ? this.block[this.layout.oFc + (m * this.K + k) * this.P + ((this.n - 1) % this.P)] : NaN;
  }

  /** Counts the finite values of y and their range into finiteSeen / loSeen / hiSeen (`reset`: start afresh). */
  noteConsumed(y: ArrayLike<number>, reset = false): void {
    if (reset) {
      this.finiteSeen = 0;
      this.loSeen = Infinity;
      this.hiSeen = -Infinity;
    }
    for (let i = 0; i < y.length; i++) {
      const v = y[i];
      if (!Number.isFinite(v)) continue;
      this.finiteSeen++;
      if (v < this.loSeen) this.loSeen = v;
      if (v > this.hiSeen) this.hiSeen = v;
    }
  }

  /**
   * Keeps this state as it is now in `log` (until its release or rollback): everything an engine update changes
   * (block, ring or shared-history position, error rings, Holt-Winters, Holt and histogram states, status) is put
   * back by log.rollback(). Holt-Winters, Holt and histogram states are restored in place: keep their arrays.
   */
  checkpoint(log: UndoLog): void {
    this.#undo = { log, entry: log.add(this, this.#shared, this.#sharedPos, this.#masked) };
  }

  /** @internal (UndoLog) ends the checkpoint; with `ring`, puts back the recent values' source as it was. */
  restoreCheckpoint(ring: Float32Array | undefined, shared?: SharedHistory, sharedPos = -1, masked?: Uint8Array): void {
    this.#undo = undefined;
    if (!ring) return;
    this.ring = ring;
    this.#shared = shared;
    this.#sharedPos = sharedPos;
    this.#masked = masked;
  }

  /** @internal the open checkpoint (copyOut logs what it overwrites through it), undefined outside one. */
  get undo(): { log: UndoLog; entry: UndoEntry } | undefined {
    return this.#undo;
  }

  /** Consumes points y[0..len) with the WASM models' per-origin forecasts (one core call). */
  advance(y: ArrayLike<number>, inp: StepInputs, core: Core = sharedCore()): void {
    advanceBatch([this], [y], [inp], core);
  }
}

/** Bytes of core memory one call may use (blocks, points, inputs, journal): larger batches are split. */
const CALL_BUDGET_BYTES = 16 << 20;
/** Below this many new points per series (relative to the error window) the errors come back as a journal. */
const JOURNAL_MAX_FRACTION = 0.5;

/**
 * Advances many series by their new points in as few core calls as memory allows: states[i] consumes ys[i] with
 * inps[i] (the same arithmetic as calling `advance` on each in turn). A state may appear only once per call.
 */
export function advanceBatch(
  states: readonly SeriesState[], ys: readonly ArrayLike<number>[], inps: readonly StepInputs[], core: Core = sharedCore(),
): void {
  if (states.length !== ys.length || states.length !== inps.length) {
    throw new ArgumentInvalidError(`advanceBatch: ${states.length} states, ${ys.length} point arrays, ${inps.length} inputs`);
  }
  if (new Set(states).size !== states.length) throw new ArgumentInvalidError('advanceBatch: a state appears twice');
  // a state whose points do not end at its shared history's newest slot reads its own ring from here on
  states.forEach((st, i) => {
    if (st.shared && !st.alignedWith(ys[i])) st.unshare();
  });
  // states of one shape share a layout; group (keeping order within a group) and split by the memory budget
  const groups = new Map<StateLayout, number[]>();
  states.forEach((st, i) => {
    const g = groups.get(st.layout);
    if (g) g.push(i);
    else groups.set(st.layout, [i]);
  });
  for (const [lay, idx] of groups) {
    const nM = lay.cfg[2], K = lay.cfg[0], E = lay.cfg[4];
    const MQK = lay.mq * K;
    let chunk: number[] = [];
    let bytes = 0;
    for (const i of idx) {
      const n = ys[i].length;
      const cost = 8 * (lay.stride + n * (1 + nM * K) + Math.min(2 * n * MQK, MQK * E));
      if (chunk.length && bytes + cost > CALL_BUDGET_BYTES) {
        advanceChunk(lay, mapPacked(chunk, (c) => states[c]), mapPacked(chunk, (c) => ys[c]), mapPacked(chunk, (c) => inps[c]), core);
        chunk = [];
        bytes = 0;
      }
      chunk.push(i);
      bytes += cost;
    }
    if (chunk.length) advanceChunk(lay, mapPacked(chunk, (c) => states[c]), mapPacked(chunk, (c) => ys[c]), mapPacked(chunk, (c) => inps[c]), core);
  }
}

/**
 * Copies into the core's copy of a ring (at H[at..]) the slots the step can read while consuming n new points
 * (assembly/forecast/ensemble.ts reads only recent(b) for b < MEDIAN_WINDOW and recent(d*season - h) for d in
 * 1..SEASONAL_MEDIAN_DEPTH and h <= season): a few dozen values instead of the whole ring (days of points). Slots the
 * call itself writes first are not copied. The debug core gets NaN in every other slot, so a read outside this set
 * shows in the tests (test/core/ensemble.test.ts) instead of silently reading a stale copy.
 */
function copyRingReads(lay: StateLayout, st: SeriesState, H: Float64Array, at: number, n: number, poison: boolean): void {
  const R = lay.ringLen;
  const n0 = st.block[B_N];
  const depth = lay.hMin >= 0 ? SEASONAL_MEDIAN_DEPTH : 0;
  const span = MEDIAN_WINDOW + n + depth * (lay.hMax - lay.hMin + n);
  const lo = Math.max(0, n0 - R + 1);
  if (span >= R) {
    if (st.shared) copySlots(H, at, st, R, lo, n0);
    else H.set(st.ring, at);
    return;
  }
  if (poison) H.fill(NaN, at, at + R);
  copySlots(H, at, st, R, Math.max(lo, n0 - MEDIAN_WINDOW + 1), n0);
  for (let d = 1; d <= depth; d++) {
    copySlots(H, at, st, R, Math.max(lo, n0 + lay.hMin - d * lay.season), Math.min(n0, n0 + n + lay.hMax - d * lay.season));
  }
}

/** First index in a[from..to) (ring slots, ascending by their values vals[ring + slot]) whose value is >= v. */
function lowerBound(a: Uint16Array | Uint32Array, vals: Float32Array, ring: number, from: number, to: number, v: number): number {
  let lo = from, hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (vals[ring + a[mid]] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Largest error window whose rebuild sorts numeric keys (order of the float32 bits, 32 bits, times E plus a slot:
 *  exact in a double while 2^32 * E <= 2^53). */
const KEYED_SORT_MAX_E = 2 ** 21;
/** Keys of rebuildSorted, reused (one series at a time). */
let sortKeys = new Float64Array(0);
const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);

/** The float32 value x (not NaN) as an unsigned integer of the same order: -0 just below +0, as Float32Array.sort
 *  puts them (the sign bit set flips every bit; clear, sets the sign bit). */
function floatOrder(x: number): number {
  f32Bits[0] = x;
  const u = u32Bits[0];
  return u >= 0x80000000 ? ~u >>> 0 : u + 0x80000000;
}

/** H[at + t % R] = the state's value at time t (points consumed before it), for the times t in [a, b). */
function copySlots(H: Float64Array, at: number, st: SeriesState, R: number, a: number, b: number): void {
  if (a >= b) return;
  if (st.shared) {
    st.copySharedInto(H, at, R, a, b);
    return;
  }
  const ring = st.ring;
  for (let t = a, p = a % R; t < b; t++) {
    H[at + p] = ring[p];
    if (++p === R) p = 0;
  }
}

/** Copies one series' state, points and host-side member forecasts into the core (small, so it stays optimised). */
function copyIn(
  lay: StateLayout, st: SeriesState, y: ArrayLike<number>, inp: StepInputs, H: Float64Array, b: number, yAt: number,
  xinAt: number, errAt: number, poison: boolean,
): void {
  const K = lay.cfg[0], nM = lay.cfg[2];
  H.set(st.block, b);
  copyRingReads(lay, st, H, b + lay.oRing, y.length, poison);
  H.set(st.issuedModels, b + lay.oIssuedModels);
  H.set(y, yAt);
  if (errAt >= 0) H.set(st.err, errAt);
  // inputs of the members computed on the host: hw (0), histogram (1), holt (4), extra (>= 7, e.g. the GRU);
  // columns 2, 3, 5, 6 are the core's own members (not read); columns >= 7 are NaN unless given
  const n = y.length;
  const w = nM * K;
  if (nM > 7) H.fill(NaN, xinAt, xinAt + n * w);
  const hw = inp.hw, hist = inp.hist, holt = inp.holt;
  for (let j = 0; j < n; j++) {
    const row = xinAt + j * w;
    const hj = hist[j];
    for (let k = 0; k < K; k++) {
      H[row + k] = hw[j * K + k];
      if (nM > 1) H[row + K + k] = hj;
      if (nM > 4) H[row + 4 * K + k] = holt[j * K + k];
    }
  }
  if (inp.extra) {
    for (const [m, a] of inp.extra) {
      if (m < 7 || m >= nM) continue;
      for (let j = 0; j < n; j++) for (let k = 0; k < K; k++) H[xinAt + j * w + m * K + k] = a[j * K + k];
    }
  }
}

/** Copies back what the core wrote for one series: the state before the issued quantiles, new ring slots, errors. */
function copyOut(
  lay: StateLayout, st: SeriesState, n0: number, y: ArrayLike<number>, V: Float64Array, b: number, jAt: number, cnt: number, errAt: number,
): void {
  const n = y.length;
  const R = lay.ringLen;
  // an open checkpoint (SeriesState.checkpoint) logs the ring and error slots overwritten (it copied the block)
  const undo = st.undo;
  st.block.set(V.subarray(b, b + lay.oIssuedQ));
  const ring = st.ring;
  const r0 = b + lay.oRing;
  if (st.shared) st.consumedShared(y);
  else if (n >= R) {
    if (undo && !undo.entry.ringCopy) undo.entry.ringCopy = ring.slice();
    ring.set(V.subarray(r0, r0 + R));
  } else {
    if (undo) undo.log.ring(undo.entry, ring, n0, n);
    for (let t = 0, p = n0 % R; t < n; t++) {
      ring[p] = V[r0 + p];
      if (++p === R) p = 0;
    }
  }
  const err = st.err;
  if (jAt >= 0) {
    const E = lay.cfg[4];
    const ens = lay.ensErrAt; // the ensemble's rings come last
    if (undo) undo.log.err(undo.entry, err, V, jAt, cnt);
    for (let t = 0; t < cnt; t++) {
      const i = V[jAt + 2 * t] | 0;
      const v = V[jAt + 2 * t + 1];
      if (i >= ens) {
        const k = Math.floor((i - ens) / E);
        st.replaceSorted(k, i - ens - k * E, err[i], Math.fround(v));
      }
      err[i] = v;
    }
  } else {
    if (undo && !undo.entry.errCopy) undo.entry.errCopy = err.slice();
    err.set(V.subarray(errAt, errAt + err.length));
    st.rebuildSorted();
  }
}

function advanceChunk(lay: StateLayout, sts: SeriesState[], ys: ArrayLike<number>[], inps: StepInputs[], core: Core): void {
  const count = sts.length;
  const K = lay.cfg[0], nM = lay.cfg[2], E = lay.cfg[4];
  const MQK = lay.mq * K;
  const S = lay.stride;
  const off = new Float64Array(count + 1);
  let maxN = 0;
  for (let i = 0; i < count; i++) {
    off[i + 1] = off[i] + ys[i].length;
    maxN = Math.max(maxN, ys[i].length);
  }
  const total = off[count];
  if (total === 0) return;
  const journal = maxN <= JOURNAL_MAX_FRACTION * E;
  const n0s = mapPacked(sts, (st) => st.n);
  const poison = core.flavour === 'debug';
  core.call((x) => {
    const cfgP = x.alloc(lay.cfg.length * 8);
    const blkP = x.alloc(count * S * 8);
    const yP = x.alloc(total * 8);
    const offP = x.alloc((count + 1) * 8);
    const xinP = x.alloc(Math.max(8, total * nM * K * 8));
    const errP = journal ? 0 : x.alloc(count * MQK * E * 8);
    const jrnP = journal ? x.alloc(Math.max(8, total * MQK * 16)) : 0;
    const jcntP = journal ? x.alloc(count * 8) : 0;
    try {
      const H = new Float64Array(x.memory.buffer);
      H.set(lay.cfg, cfgP / 8);
      H.set(off, offP / 8);
      for (let i = 0; i < count; i++) {
        copyIn(lay, sts[i], ys[i], inps[i], H, blkP / 8 + i * S, yP / 8 + off[i], xinP / 8 + off[i] * nM * K, journal ? -1 : errP / 8 + i * MQK * E, poison);
      }
      checkStatus(fx(x).fc_ens_advance_batch(cfgP, blkP, count, yP, offP, xinP, errP, jrnP, jcntP), 'ensemble step: state shape');
      const V = new Float64Array(x.memory.buffer); // the call may have grown memory
      for (let i = 0; i < count; i++) {
        copyOut(
          lay, sts[i], n0s[i], ys[i], V, blkP / 8 + i * S,
          journal ? jrnP / 8 + off[i] * MQK * 2 : -1, journal ? V[jcntP / 8 + i] : 0, journal ? -1 : errP / 8 + i * MQK * E,
        );
      }
    } finally {
      for (const p of [cfgP, blkP, yP, offP, xinP, errP, jrnP, jcntP]) if (p) x.free(p);
    }
  });
}
