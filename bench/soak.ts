// Soak benchmark (JSON on stdout): the sidecar as src/main.ts wires it (engine, allocation decider, anomaly scorer,
// exporter and API, the configuration's defaults or FORESIGHT_* from the environment: hourly retrain and profiles, a
// day before a silent series vanishes)
// run over many hours of simulated time on the fake source of bench/sidecar.ts, with tenants that come and go.
// What it shows: whether what the process holds stays flat once the tenants that left have vanished, or grows
// with the hours (a leak: a map keyed by series or tenant that is never cleared, core memory that is never reused).
//   npm run bench:soak -- [--tenants 300] [--hours 72] [--churn-per-hour 5] [--vanish-after-h 24]
// Each hour of simulated time is 12 cycles at 5 minutes (the retrain and the profiles fall due once an hour), then a
// scrape of /metrics (gzip and plain) and the live bytes after a full collection. The first fit pulls a week; every
// tenant that arrives later starts with no history. Tenants leave oldest first: --churn-per-hour leave and as many
// arrive each hour, so --tenants are sending at any time, and a tenant that left is dropped --vanish-after-h later
// (the sidecar's vanishAfter). `growth` is the Theil-Sen slope of the live bytes over the hours past the first vanish
// (the population of held series is steady from then on): about 0 when nothing accumulates. It also counts the
// tenant-cycles flagged anomalous (`flaggedAnomalous`) and the shadow reserve's plans exhausted, with the scale its
// calibration reached (`shadow`, and per hour).
import pino from 'pino';
import { loadConfig } from '../src/config/load.js';
import { sharedCore } from '../src/core/wasm.js';
import { startSidecar } from '../src/main.js';
import { numberArg as arg } from './args.js';
import { cycleCpu, FakeSource, liveBytes, manualClock, round, rssMB, START, STEP, tenantIndex } from './fake-source.js';

const TENANTS = arg('tenants', 300);
const HOURS = arg('hours', 72);
const CHURN = arg('churn-per-hour', 5);
const VANISH_H = arg('vanish-after-h', 24);
const CYCLES_PER_HOUR = 3600 / STEP;

for (const [name, v, min] of [['tenants', TENANTS, 1], ['hours', HOURS, 2], ['churn-per-hour', CHURN, 0], ['vanish-after-h', VANISH_H, 1]] as const) {
  if (!Number.isInteger(v) || v < min) {
    console.error(`bench:soak: --${name} must be an integer >= ${min} (got ${v})`);
    process.exit(2);
  }
}

const MB = 2 ** 20;

/** Theil-Sen slope of ys over xs: the median of the slopes between every two points (one hour's transient, such as
 *  a pool of buffers not yet given back, does not tilt it as it would a least-squares line). */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const all: number[] = [];
  for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++) if (xs[j] !== xs[i]) all.push((ys[j] - ys[i]) / (xs[j] - xs[i]));
  all.sort((a, b) => a - b);
  const m = all.length >> 1;
  return all.length === 0 ? 0 : all.length % 2 ? all[m] : (all[m - 1] + all[m]) / 2;
}

/** Tenants named in the `foresight_forecast` lines of an exposition. */
function exportedTenants(text: string): number {
  const names = new Set<string>();
  for (const m of text.matchAll(/^foresight_forecast\{[^}]*tenant="([^"]*)"/gm)) names.add(m[1]);
  return names.size;
}

async function main(): Promise<void> {
  const clock = manualClock(START);
  // churn starts with the first incremental cycle: the first fit sees --tenants with a week each
  const source = new FakeSource(TENANTS, undefined, { perHour: CHURN, fromS: START });
  const config = loadConfig({
    env: {
      // FORESIGHT_* settings from the environment apply (e.g. FORESIGHT_ANOMALY_MODE), but for these
      ...process.env,
      // not read: the fake source replaces Prometheus (a URL keeps the sidecar out of its demo mode)
      FORESIGHT_PROMETHEUS_URL: 'http://127.0.0.1:9',
      FORESIGHT_KUBERNETES: 'false',
      FORESIGHT_VANISH_AFTER: String(VANISH_H * 3600),
      FORESIGHT_PULL_DELAY: '0',
    },
  });
  const sidecar = await startSidecar(config, { source, clock, noListen: true, noSchedule: true, logger: pino({ level: 'silent' }), memoryLimit: () => undefined });
  const loop = sidecar.loop;
  const core = sharedCore();
  const t0 = performance.now();
  const first = await loop.runOnce();
  console.error(`bench:soak: first fit of ${loop.store.size} series in ${round((performance.now() - t0) / 1000, 1)} s; ${HOURS} hours of cycles to go`);
  const hours: Record<string, number>[] = [];
  let failed = first.failedSeries;
  for (let h = 1; h <= HOURS; h++) {
    const cpu: number[] = [];
    // tenant-cycles (sending tenants) and those flagged anomalous: of the tenants there from the start, of those that
    // arrived since and are under a day old, and of those that arrived and are older
    const cycles = { first: 0, young: 0, arrived: 0 };
    const flagged = { first: 0, young: 0, arrived: 0 };
    for (let c = 0; c < CYCLES_PER_HOUR; c++) {
      clock.t += STEP;
      const r = await loop.runOnce();
      if (!r.ok) throw new Error(`cycle at hour ${h} failed: ${r.error ?? 'see the report'}`);
      failed += r.failedSeries;
      cpu.push(cycleCpu(r));
      const anomalous = new Map<string, boolean>();
      for (const x of loop.latest()?.resources.values() ?? []) if (!x.stale) anomalous.set(x.tenant, (anomalous.get(x.tenant) ?? false) || (x.anomaly?.anomalous ?? false));
      for (const [t, on] of anomalous) {
        const born = source.arrivalS(tenantIndex(t));
        const group = born === -Infinity ? 'first' : clock.t - born < 86_400 ? 'young' : 'arrived';
        cycles[group]++;
        if (on) flagged[group]++;
      }
    }
    const gz = await sidecar.app.inject({ method: 'GET', url: '/metrics', headers: { 'accept-encoding': 'gzip' } });
    const plain = await sidecar.app.inject({ method: 'GET', url: '/metrics' });
    if (gz.statusCode !== 200 || plain.statusCode !== 200) throw new Error(`/metrics answered ${gz.statusCode}, ${plain.statusCode} at hour ${h}`);
    const live = liveBytes();
    const m = process.memoryUsage();
    const tenantsHeld = new Set([...loop.store.values()].map((s) => s.tenant)).size;
    const snap = loop.latest();
    const scale = (resource: string) => snap?.shadow.find((p) => p.resource === resource)?.scale ?? NaN;
    hours.push({
      hour: h,
      tenantsHeld,
      seriesHeld: loop.store.size,
      tenantsExported: exportedTenants(plain.body),
      liveMB: round(live / MB, 1),
      heapUsedMB: round(m.heapUsed / MB, 1),
      externalMB: round(m.external / MB, 1),
      coreMemoryMB: round(core.exports.memory.buffer.byteLength / MB, 1),
      rssMB: round(m.rss / MB, 1),
      ...Object.fromEntries((['first', 'young', 'arrived'] as const).flatMap((g) => [[`tenantCycles.${g}`, cycles[g]], [`flagged.${g}`, flagged[g]]])),
      cycleCpuMaxS: round(Math.max(...cpu)),
      cycleCpuMedianS: round([...cpu].sort((a, b) => a - b)[cpu.length >> 1]),
      metricsGzipKB: round(gz.rawPayload.length / 1024, 1),
      // the shadow reserve's calibration (foresight_shadow_reserve_scale) and the plans exhausted so far
      'shadowScale.cpu': round(scale('cpu'), 3),
      'shadowScale.memory': round(scale('memory'), 3),
      shadowExhausted: snap?.shadowExhausted?.get('default') ?? 0,
    });
    if (h % 6 === 0 || h === HOURS) console.error(`bench:soak: hour ${h}: ${tenantsHeld} tenants held, live ${round(live / MB, 1)} MB, rss ${round(m.rss / MB)} MB`);
  }
  await sidecar.close();
  // steady from the first vanish on (a tenant that left in the first hour is dropped VANISH_H hours later)
  const steady = hours.filter((r) => r.hour > Math.max(1, CHURN > 0 ? VANISH_H + 1 : 1));
  const xs = steady.map((r) => r.hour);
  const growth = steady.length >= 2
    ? {
        fromHour: xs[0],
        hours: steady.length,
        liveMBPerHour: round(slope(xs, steady.map((r) => r.liveMB))),
        heapUsedMBPerHour: round(slope(xs, steady.map((r) => r.heapUsedMB))),
        externalMBPerHour: round(slope(xs, steady.map((r) => r.externalMB))),
        coreMemoryMBPerHour: round(slope(xs, steady.map((r) => r.coreMemoryMB))),
        seriesHeldPerHour: round(slope(xs, steady.map((r) => r.seriesHeld))),
        liveMBFirst: steady[0].liveMB,
        liveMBLast: steady[steady.length - 1].liveMB,
      }
    : { note: `no steady hours: run more than ${VANISH_H + 2} hours (--hours) to fit a growth` };
  // the share of tenant-cycles flagged over the run, by group
  const share = (g: string) => {
    const n = hours.reduce((a, r) => a + (r[`tenantCycles.${g}`] ?? 0), 0);
    return { tenantCycles: n, flagged: n ? round(hours.reduce((a, r) => a + (r[`flagged.${g}`] ?? 0), 0) / n, 4) : null };
  };
  const report = {
    bench: 'soak',
    node: process.version,
    tenants: TENANTS,
    churnPerHour: CHURN,
    vanishAfterH: VANISH_H,
    hoursSimulated: HOURS,
    cycles: HOURS * CYCLES_PER_HOUR,
    tenantsSeen: source.firstAlive(clock.t) + TENANTS,
    failedSeries: failed,
    peakRssMB: rssMB(),
    growth,
    // first: the tenants there from the start (a week of history each); young: those that arrived, in their first
    // day; arrived: those that arrived, after their first day
    flaggedAnomalous: { first: share('first'), young: share('young'), arrived: share('arrived') },
    // a plan per cycle for each shadow resource (cpu and memory by default), each checked a cycle later: the share
    // exhausted, which the reserve's calibration steers to 1 - its level (1%), and the scale it reached
    shadow: {
      exhaustedPerPlan: round((hours[hours.length - 1]?.shadowExhausted ?? 0) / (loop.options.shadowResources.length * HOURS * CYCLES_PER_HOUR), 4),
      scaleLast: { cpu: hours[hours.length - 1]?.['shadowScale.cpu'], memory: hours[hours.length - 1]?.['shadowScale.memory'] },
    },
    hours,
  };
  console.log(JSON.stringify(report, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
