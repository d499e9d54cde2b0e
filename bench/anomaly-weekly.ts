// The anomaly verdicts of tenants with a weekly shape, with and without last week's values (src/logic/recurrence.ts),
// through the sidecar's scorer (createAnomalyScorer) fed one sample per cycle as the loop feeds it (JSON on stdout):
// - "weekly": tenants with a daily cycle and a weekend `--dip` lower (cpu with 5% noise, memory with 1%), a day's
//   warm-up ending on a Sunday, then `--weeks` weeks: tenants flagged per day and the share of flagged tenant-cycles;
// - "injected": the same tenants, one anomaly each at a random time in their third week (a single 2.5x cpu spike, cpu
//   1.6x for 4 hours, a runaway at 3x the usual peak, cpu at 1% for 2 hours, a memory leak of 2% an hour): the share
//   of each kind detected within an hour and within 6 hours of its start, and the share of flagged tenant-cycles
//   before it (false flags).
// Synthetic on purpose: the traces in ../shared/traces have no labelled weekly anomalies.
//   node --import tsx bench/anomaly-weekly.ts [--tenants 100] [--weeks 4] [--dip 0.3]
import { Core } from '../src/core/wasm.js';
import { weekAgoWithin } from '../src/logic/recurrence.js';
import { createAnomalyScorer } from '../src/loop/anomaly-adapter.js';
import type { AnomalySeriesInput } from '../src/loop/types.js';
import { numberArg as arg } from './args.js';

const TENANTS = arg('tenants', 100);
const WEEKS = Math.max(3, arg('weeks', 4));
const DIP = arg('dip', 0.3);
const STEP = 300;
const DAY = 288;
const WEEK = 7 * DAY;
const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const KINDS = ['spike', 'shift', 'runaway', 'drop', 'leak'] as const;

function lcg(seed: number) {
  let s = seed;
  const u = () => (s = (s * 16807) % 2147483647) / 2147483647;
  return { u, gauss: () => Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u()) };
}

/** cpu and memory of `tenants` tenants over `weeks` weeks from a Monday 00:00 (sample 0). */
function weeklyTenants(tenants: number, weeks: number, seed: number): Float64Array[][] {
  const r = lcg(seed);
  const level = (t: number, i: number) => (Math.floor((i % WEEK) / DAY) >= 5 ? 1 - DIP : 1) * (2 + Math.sin((2 * Math.PI * i) / DAY + t * 0.37));
  return Array.from({ length: tenants }, (_, t) => {
    const cpu = new Float64Array(weeks * WEEK), mem = new Float64Array(weeks * WEEK);
    for (let i = 0; i < cpu.length; i++) {
      cpu[i] = level(t, i) * (1 + 0.05 * r.gauss());
      mem[i] = 4e9 * (0.8 + (0.2 * level(t, i)) / 3) * (1 + 0.01 * r.gauss());
    }
    return [cpu, mem];
  });
}

/** Feeds every tenant a day's warm-up ending at sample `start` - 1, then one sample per cycle up to the end;
 *  `verdict(i, tenant, anomalous)` sees each cycle's verdicts. */
function replay(vals: Float64Array[][], withWeekAgo: boolean, start: number, verdict: (i: number, t: number, anomalous: boolean) => void): void {
  const scorer = createAnomalyScorer(new Core('release'), 'quarantine');
  const inputs = (from: number, n: number, evidenceFrom: number): AnomalySeriesInput[] =>
    vals.flatMap((pair, t) => pair.map((y, r) => {
      const weekAgo = withWeekAgo ? weekAgoWithin(y, from, n, STEP) : undefined;
      return { key: `t${t}\u0000${r}`, tenant: `t${t}`, resource: r ? 'memory' : 'cpu', startS: from * STEP, values: y.subarray(from, from + n), evidenceFrom, weekAgo };
    }));
  scorer.score(inputs(start - DAY, DAY, DAY - 1), STEP);
  const end = vals[0][0].length;
  for (let i = start; i < end; i++) {
    for (const [tenant, v] of scorer.score(inputs(i, 1, 0), STEP)) verdict(i, Number(tenant.slice(1)), v.anomalous);
    if ((i - start) % DAY === DAY - 1) process.stderr.write(`bench:anomaly-weekly ${withWeekAgo ? 'with' : 'without'} last week: day ${(i + 1 - start) / DAY} of ${(end - start) / DAY}\n`);
  }
}

function weekly(withWeekAgo: boolean) {
  const vals = weeklyTenants(TENANTS, WEEKS, 12345);
  const perDay = new Map<number, Set<number>>();
  let flagged = 0, cycles = 0;
  replay(vals, withWeekAgo, WEEK, (i, t, anomalous) => {
    cycles++;
    if (!anomalous) return;
    flagged++;
    const day = Math.floor(i / DAY);
    if (!perDay.has(day)) perDay.set(day, new Set());
    perDay.get(day)!.add(t);
  });
  const days: Record<string, number> = {};
  for (const [day, set] of [...perDay].sort((a, b) => a[0] - b[0])) days[`week ${Math.floor(day / 7)} ${DAY_NAMES[day % 7]}`] = set.size;
  return { flaggedTenantCycleShare: flagged / cycles, tenantsFlaggedByDay: days };
}

function injected(withWeekAgo: boolean) {
  const vals = weeklyTenants(TENANTS, 3, 777);
  const r = lcg(4242);
  const onset = vals.map(([cpu, mem], t) => {
    const o = 2 * WEEK + Math.floor(r.u() * (WEEK - 100));
    const kind = KINDS[t % KINDS.length];
    if (kind === 'spike') cpu[o] *= 2.5;
    if (kind === 'shift') for (let i = o; i < o + 48; i++) cpu[i] *= 1.6;
    if (kind === 'runaway') for (let i = o; i < cpu.length; i++) cpu[i] = 9 * (1 + 0.05 * r.gauss());
    if (kind === 'drop') for (let i = o; i < o + 24; i++) cpu[i] = 0.02;
    if (kind === 'leak') for (let i = o; i < mem.length; i++) mem[i] *= 1 + (0.02 * (i - o)) / 12;
    return o;
  });
  /** Per tenant, the cycles from its anomaly's onset to its first flag (Infinity: never flagged). */
  const delay = new Array<number>(TENANTS).fill(Infinity);
  let falseFlags = 0, clean = 0;
  replay(vals, withWeekAgo, WEEK + DAY, (i, t, anomalous) => {
    if (i < onset[t]) {
      clean++;
      if (anomalous) falseFlags++;
    } else if (anomalous && delay[t] === Infinity) delay[t] = i - onset[t];
  });
  const detectedWithinHour: Record<string, string> = {};
  const detectedWithin6Hours: Record<string, string> = {};
  for (const [k, kind] of KINDS.entries()) {
    const of = delay.filter((_, t) => t % KINDS.length === k);
    detectedWithinHour[kind] = `${of.filter((d) => d < 12).length}/${of.length}`;
    detectedWithin6Hours[kind] = `${of.filter((d) => d < 72).length}/${of.length}`;
  }
  return { detectedWithinHour, detectedWithin6Hours, falseFlagShare: falseFlags / clean };
}

const started = Date.now();
const out = {
  bench: 'anomaly-weekly',
  tenants: TENANTS,
  weeks: WEEKS,
  weekendDip: DIP,
  weekly: { withoutLastWeek: weekly(false), withLastWeek: weekly(true) },
  injected: { withoutLastWeek: injected(false), withLastWeek: injected(true) },
  seconds: (Date.now() - started) / 1000,
};
console.log(JSON.stringify(out, null, 2));
