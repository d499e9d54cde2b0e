// Compact per-series history: one Float32Array ring buffer per (tenant, resource) on a fixed grid, NaN = missing.
// 10,000 tenants x 6 signals x a week at 5 minutes is 121 M samples: 484 MB as float32 instead of 968 MB as float64.
import type { Series } from './series.js';

export interface StoredSeries {
  readonly key: string;
  readonly tenant: string;
  readonly resource: string;
  /** Ring buffer of the last `capacity` grid slots ending at `lastS`. */
  buf: Float32Array;
  /** Slots ever appended, less one (-1 before the first): the slot for `lastS` is buf[pos % capacity]. With `buf`,
   *  what an engine reads recent values from (SharedHistory). */
  pos: number;
  /** Number of slots filled (<= capacity). */
  count: number;
  /** Grid time of the newest slot, UNIX seconds (-Infinity before the first sample). */
  lastS: number;
  /** Time of the newest non-NaN sample. */
  lastSampleS: number;
  /** Latest non-NaN value. */
  lastValue: number;
  /** Time up to which the models were fed (the engine's last update). */
  fedUntilS: number;
}

export class HistoryStore {
  readonly intervalS: number;
  /** Slots kept per series. */
  readonly capacity: number;
  /** Slots a window returns by default (<= capacity): the history the models are fitted on and profiles read. A store
   *  may keep more than that for an engine that reads its recent values here (SharedHistory). */
  readonly windowPoints: number;
  #series = new Map<string, StoredSeries>();
  #version = 0;

  constructor(intervalS: number, capacity: number, windowPoints = capacity) {
    if (!(intervalS > 0) || !(capacity >= 2)) throw new RangeError(`bad history store ${intervalS}s x ${capacity}`);
    this.intervalS = intervalS;
    this.capacity = Math.floor(capacity);
    this.windowPoints = Math.max(1, Math.min(this.capacity, Math.floor(windowPoints)));
  }

  /** Index in a buffer of slot number `pos` (any integer, -1 included). */
  #slot(pos: number): number {
    const i = pos % this.capacity;
    return i < 0 ? i + this.capacity : i;
  }

  get size(): number {
    return this.#series.size;
  }

  /** Changes whenever a series is added or deleted (not when one is written): what a grouping of the series by
   *  tenant, kept between cycles, is checked against. */
  get version(): number {
    return this.#version;
  }

  keys(): IterableIterator<string> {
    return this.#series.keys();
  }

  values(): IterableIterator<StoredSeries> {
    return this.#series.values();
  }

  get(key: string): StoredSeries | undefined {
    return this.#series.get(key);
  }

  delete(key: string): boolean {
    if (!this.#series.delete(key)) return false;
    this.#version++;
    return true;
  }

  #create(key: string, tenant: string, resource: string): StoredSeries {
    const s: StoredSeries = {
      key,
      tenant,
      resource,
      buf: new Float32Array(this.capacity).fill(NaN),
      pos: -1,
      count: 0,
      lastS: -Infinity,
      lastSampleS: -Infinity,
      lastValue: NaN,
      fedUntilS: -Infinity,
    };
    this.#series.set(key, s);
    this.#version++;
    return s;
  }

  /**
   * Writes `values` (grid at this.intervalS from `startS`) into the series `key`. Slots after the newest advance the
   * ring (gaps become NaN); slots already present are overwritten by non-NaN values (late or revised samples).
   * Returns the number of new slots appended.
   */
  write(key: string, tenant: string, resource: string, startS: number, values: ArrayLike<number>): number {
    const step = this.intervalS;
    let s = this.#series.get(key);
    let appended = 0;
    let i0 = 0;
    if (s && s.count > 0 && startS <= s.lastS + step && startS + (values.length - 1) * step > s.lastS) {
      // Fast path (every incremental pull): overwrite the overlap, then append the rest without per-slot rounding.
      const overlap = Math.round((s.lastS - startS) / step) + 1;
      for (let i = 0; i < overlap; i++) {
        const v = values[i];
        const back = overlap - 1 - i;
        if (back < s.count && !Number.isNaN(v)) s.buf[this.#slot(s.pos - back)] = v;
      }
      const cap = this.capacity;
      let head = this.#slot(s.pos);
      const buf = s.buf;
      for (let i = overlap; i < values.length; i++) {
        head = head + 1 === cap ? 0 : head + 1;
        buf[head] = values[i];
      }
      const added = values.length - overlap;
      s.pos += added;
      s.count = Math.min(cap, s.count + added);
      s.lastS = startS + (values.length - 1) * step;
      appended = added;
      for (let i = values.length - 1; i >= 0; i--) {
        if (!Number.isNaN(values[i])) {
          const t = startS + i * step;
          if (t >= s.lastSampleS) {
            s.lastSampleS = t;
            s.lastValue = values[i];
          }
          break;
        }
      }
      i0 = values.length;
    }
    for (let i = i0; i < values.length; i++) {
      const v = values[i];
      const t = startS + i * step;
      if (!s) {
        if (Number.isNaN(v)) continue; // a series starts at its first real sample
        s = this.#create(key, tenant, resource);
      }
      if (s.count === 0 || t > s.lastS) {
        const adv = s.count === 0 ? 1 : Math.round((t - s.lastS) / step);
        const fill = Math.min(adv - 1, this.capacity);
        for (let k = 0; k < fill; k++) s.buf[this.#slot(++s.pos)] = NaN;
        s.buf[this.#slot(++s.pos)] = v;
        s.count = Math.min(this.capacity, s.count + adv);
        s.lastS = t;
        appended += adv;
      } else {
        const back = Math.round((s.lastS - t) / step);
        if (back >= s.count || Number.isNaN(v)) continue;
        s.buf[this.#slot(s.pos - back)] = v;
      }
      if (!Number.isNaN(v) && t >= s.lastSampleS) {
        s.lastSampleS = t;
        s.lastValue = v;
      }
    }
    return appended;
  }

  /** Writes a whole Series (its grid must match this store's interval). */
  writeSeries(key: string, series: Series): number {
    if (series.intervalS !== this.intervalS) throw new RangeError(`series ${series.tenant}/${series.resource} at ${series.intervalS}s, store at ${this.intervalS}s`);
    return this.write(key, series.tenant, series.resource, series.startS, series.values);
  }

  /**
   * Oldest-first copy of the last `n` slots (windowPoints when omitted) as float64; `startS` is the time of element 0. With
   * `into` (large enough), the values are written to its start and returned as a view of it: no allocation, for
   * callers that read a window and drop it (the profiles).
   */
  window(key: string, n?: number, into?: Float64Array): { startS: number; values: Float64Array } | undefined {
    const s = this.#series.get(key);
    if (!s || s.count === 0) return undefined;
    const len = Math.min(s.count, n ?? this.windowPoints);
    const out = into && into.length >= len ? into.subarray(0, len) : new Float64Array(len);
    let idx = this.#slot(s.pos - len + 1);
    for (let i = 0; i < len; i++) {
      out[i] = s.buf[idx];
      idx = idx + 1 === this.capacity ? 0 : idx + 1;
    }
    return { startS: s.lastS - (len - 1) * this.intervalS, values: out };
  }

  /** Slot number of time `startS` on `s`'s grid (s.pos is the slot number of s.lastS). */
  #posAt(s: StoredSeries, startS: number): number {
    return s.pos - Math.round((s.lastS - startS) / this.intervalS);
  }

  /** Largest value of `s` among the `n` slot numbers from `first` on that it holds, ignoring gaps (NaN: none). */
  #peakFrom(s: StoredSeries, first: number, n: number): number {
    let m = NaN;
    for (let p = Math.max(first, s.pos - s.count + 1), to = Math.min(first + n - 1, s.pos); p <= to; p++) {
      const v = s.buf[this.#slot(p)];
      if (!Number.isNaN(v) && !(v <= m)) m = v;
    }
    return m;
  }

  /** Largest value among the last `n` slots, ignoring gaps; NaN when they are all gaps or the series is unknown. */
  peak(key: string, n: number): number {
    const s = this.#series.get(key);
    return s ? this.#peakFrom(s, s.pos - n + 1, n) : NaN;
  }

  /** Largest value among the `n` slots from time `startS` on, ignoring gaps and slots the store does not hold (NaN when
   *  none): `slots` without the copy, for a peak read every cycle (the demand of this time of day, engine-loop.ts). */
  peakAt(key: string, startS: number, n: number): number {
    const s = this.#series.get(key);
    return s ? this.#peakFrom(s, this.#posAt(s, startS), n) : NaN;
  }

  /** The `n` slots from time `startS` on (on this store's grid), NaN for those it does not hold (older than its
   *  capacity, newer than its last, or an unknown series). */
  slots(key: string, startS: number, n: number): Float64Array {
    const out = new Float64Array(n).fill(NaN);
    const s = this.#series.get(key);
    if (!s) return out;
    const first = this.#posAt(s, startS);
    for (let p = Math.max(first, s.pos - s.count + 1), to = Math.min(first + n - 1, s.pos); p <= to; p++) out[p - first] = s.buf[this.#slot(p)];
    return out;
  }

  /** Slots with time in (afterS, lastS], oldest first (what the models have not seen yet). */
  since(key: string, afterS: number): { startS: number; values: Float64Array } | undefined {
    const s = this.#series.get(key);
    if (!s || s.count === 0) return undefined;
    const n = afterS === -Infinity ? Math.min(s.count, this.windowPoints) : Math.max(0, Math.min(s.count, Math.round((s.lastS - afterS) / this.intervalS)));
    return this.window(key, n);
  }

  /** Forgets the slots before time `startS` (the series then starts there, as a new one starts at its first sample):
   *  a series back after a gap longer than the store holds is fitted again from its first sample after it, not on a
   *  window of gaps that would read as a week of history. */
  startAt(key: string, startS: number): void {
    const s = this.#series.get(key);
    if (!s || startS > s.lastS) return;
    s.count = Math.min(s.count, Math.round((s.lastS - startS) / this.intervalS) + 1);
  }

  /** Approximate bytes held by the buffers. */
  bytes(): number {
    return this.#series.size * this.capacity * 4;
  }
}
