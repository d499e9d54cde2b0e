// The fake history source of the sidecar benchmarks (bench/sidecar.ts, bench/soak.ts): N tenants x 6 signals of
// deterministic synthetic usage on a 5-minute grid, optionally with tenants that come and go (churn), and what both
// benches measure the loop with (a manual clock, live bytes, peak RSS).
import type { CycleReport } from '../src/loop/engine-loop.js';
import type { Clock } from '../src/loop/types.js';
import type { Series } from '../src/model/series.js';
import { ownsTenant, type Shard, UNSHARDED } from '../src/model/shard.js';
import type { HistorySource, PullRange, PullResult } from '../src/sources/history-source.js';

export const STEP = 300;
export const WEEK = 2016;
export const SIGNALS = ['cpu', 'memory', 'disk_read', 'network_rx', 'threads', 'fds'];
/** The first cycle's time: a week after 2024-01-01 (the first pull reads that week). */
export const START = 1_704_067_200 + WEEK * STEP;

export function tenantName(t: number): string {
  return `tenant-${String(t).padStart(5, '0')}`;
}

/** The index of a tenant named by tenantName. */
export function tenantIndex(name: string): number {
  return Number(name.slice('tenant-'.length));
}

/** Tenants that come and go: from `fromS` on, `perHour` tenants a hour leave (the oldest first) and as many new ones
 *  arrive, so that `tenants` are alive at any time. Before `fromS` the first `tenants` are. */
export interface Churn {
  perHour: number;
  fromS: number;
}

/** Deterministic synthetic usage: level per tenant x daily shape x weekday factor + hash noise + rare bursts. */
export class FakeSource implements HistorySource {
  readonly origin = 'fake';
  readonly signals = SIGNALS.map((r) => ({ resource: r, unit: 'unit', query: r }));
  constructor(
    readonly tenants: number,
    readonly shard: Shard = UNSHARDED,
    readonly churn?: Churn,
  ) {}

  /** Index of the first tenant alive at time `ts` (tenants first .. first + tenants - 1 are). */
  firstAlive(ts: number): number {
    const c = this.churn;
    return c && ts > c.fromS ? Math.floor(((ts - c.fromS) / 3600) * c.perHour) : 0;
  }

  /** When tenant `t` starts sending (-Infinity for the first `tenants`, there from the start). */
  arrivalS(t: number): number {
    const c = this.churn;
    return c && t >= this.tenants && c.perHour > 0 ? c.fromS + ((t - this.tenants + 1) / c.perHour) * 3600 : -Infinity;
  }

  value(t: number, s: number, ts: number): number {
    const first = this.firstAlive(ts);
    if (t < first || t >= first + this.tenants) return NaN;
    const level = 1 + ((t * 7919 + s * 104_729) % 97) / 10;
    const day = (ts % 86_400) / 86_400;
    const daily = 1 + 0.4 * Math.cos(2 * Math.PI * (day - 0.5 - (t % 7) / 28));
    const weekday = Math.floor(ts / 86_400 + 3) % 7 >= 5 ? 0.7 : 1;
    let h = Math.imul((t + 1) * 2654435761 ^ (s + 1) * 40503 ^ Math.floor(ts / STEP), 2246822507);
    h ^= h >>> 13;
    const u = ((h >>> 0) % 10_000) / 10_000;
    const burst = u > 0.995 ? 2.5 : 1;
    return level * daily * weekday * burst * (0.9 + 0.2 * u);
  }

  async pull(r: PullRange): Promise<PullResult> {
    const n = Math.floor((r.endS - r.startS) / r.stepS) + 1;
    const series: Series[] = [];
    // every tenant alive at some time of the range (a tenant's series has NaN where it is not)
    for (let t = this.firstAlive(r.startS), to = this.firstAlive(r.endS) + this.tenants; t < to; t++) {
      const tenant = tenantName(t);
      if (!ownsTenant(this.shard, tenant)) continue;
      for (let s = 0; s < SIGNALS.length; s++) {
        const values = new Float64Array(n);
        for (let i = 0; i < n; i++) values[i] = this.value(t, s, r.startS + i * r.stepS);
        series.push({ tenant, resource: SIGNALS[s], startS: r.startS, intervalS: r.stepS, values });
      }
    }
    return { set: { origin: 'fake', intervalS: r.stepS, series, units: {} }, breakdown: [], failures: [] };
  }
}

export function manualClock(t: number): Clock & { t: number } {
  const c = { t, nowS: () => c.t };
  return c;
}

export const rssMB = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

/** Live bytes after a full collection (JS heap plus buffers outside it: typed arrays, the WASM memory): what the
 *  process holds, apart from the pages a collector keeps around. Needs --expose-gc (the npm scripts pass it). */
export const liveBytes = (): number => {
  // twice: the buffers of arrays the first collection found dead are only freed as it sweeps (memory-breakdown.ts)
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

export const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

/** A cycle's time summed over its steps but `exclude` (the pull: the fake source's is not a real one's), wall time or
 *  process CPU. */
export const cycleTime = (r: CycleReport, exclude: string[] = ['pull'], which: 'durationsS' | 'cpuS' = 'durationsS'): number =>
  Object.entries(r[which]).reduce((a, [k, v]) => (exclude.includes(k) ? a : a + (v ?? 0)), 0);

/** A cycle's process CPU seconds, pull excluded. */
export const cycleCpu = (r: CycleReport): number => cycleTime(r, ['pull'], 'cpuS');
