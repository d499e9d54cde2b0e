// HistorySource replaying a canonical trace (the embedded demo): the trace is mapped onto engine time by a fixed
// offset and repeats after its end, so that an accelerated clock can run through it indefinitely.
import { countByResource, type Series, type SeriesSet } from '../model/series.js';
import type { HistorySource, PullRange, PullResult, SignalSpec } from './history-source.js';

export interface TraceReplayOptions {
  /** Engine time (UNIX s) that corresponds to trace time `set.series[*].startS` of the earliest series. */
  epochS: number;
  units?: Record<string, string>;
}

export class TraceReplaySource implements HistorySource {
  readonly origin: string;
  readonly signals: readonly SignalSpec[];
  readonly #set: SeriesSet;
  readonly #t0: number;
  readonly #span: number;
  readonly #offset: number;

  constructor(set: SeriesSet, o: TraceReplayOptions) {
    if (set.series.length === 0) throw new RangeError(`${set.origin}: no series to replay`);
    this.origin = `replay of ${set.origin}`;
    this.#set = set;
    this.#t0 = Math.min(...set.series.map((s) => s.startS));
    const end = Math.max(...set.series.map((s) => s.startS + s.values.length * s.intervalS));
    this.#span = end - this.#t0;
    this.#offset = o.epochS - this.#t0;
    const resources = [...new Set(set.series.map((s) => s.resource))].sort();
    this.signals = resources.map((r) => ({ resource: r, unit: o.units?.[r] ?? set.units[r] ?? 'unit', query: `trace:${r}` }));
  }

  /** Length of the trace, seconds (it repeats after that). */
  get spanS(): number {
    return this.#span;
  }

  /** Trace time of engine time t (wrapping). */
  traceTime(t: number): number {
    const rel = (((t - this.#offset - this.#t0) % this.#span) + this.#span) % this.#span;
    return this.#t0 + rel;
  }

  async pull(range: PullRange): Promise<PullResult> {
    const n = Math.floor((range.endS - range.startS) / range.stepS) + 1;
    const series: Series[] = [];
    for (const s of this.#set.series) {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const tt = this.traceTime(range.startS + i * range.stepS);
        // Nearest earlier sample at the trace's own spacing (resampled when the loop's step differs).
        const idx = Math.floor((tt - s.startS) / s.intervalS);
        values[i] = idx >= 0 && idx < s.values.length ? s.values[idx] : NaN;
      }
      series.push({ tenant: s.tenant, resource: s.resource, startS: range.startS, intervalS: range.stepS, values });
    }
    const coverage = [...countByResource(series)].map(([resource, n]) => ({ resource, tenants: n }));
    return { set: { origin: this.origin, intervalS: range.stepS, series, units: this.#set.units }, breakdown: [], failures: [], coverage };
  }
}
