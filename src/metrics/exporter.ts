// The sidecar's /metrics: a private prom-client registry whose snapshot gauges are set in collect() from the latest
// immutable Snapshot (re-set only when the snapshot changes), loop counters and step timings, and cardinality limits
// whose drops are counted once per snapshot, in series, in foresight_series_dropped_total{reason}.
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { LoopMetrics, LoopStep } from '../loop/types.js';
import { type Shard, UNSHARDED } from '../model/shard.js';
import type { AnomalyState, Snapshot } from '../model/snapshot.js';
import { limitFor, type ResourceLimits } from '../config/limits.js';
import { catalogue, type MetricDef } from './catalogue.js';
import { counterOf, gaugeOf, histogramOf, horizonLabel } from './handles.js';
import { escapeLabelValue, TextBufferPool, TextGauge } from './text-gauge.js';
import { forEachSliced, TimeSlice } from '../loop/time-slice.js';
import { deflatePart, gzipBody, plainBody, type DeflatedPart } from './gzip-body.js';

export interface ExporterLimits {
  /** Tenants exposed per snapshot (sorted by name; the rest counted as dropped, reason tenant_limit). */
  maxTenants: number;
  /** foresight_forecast series per snapshot (the rest counted, reason series_limit). */
  maxForecastSeries: number;
  /** Quantile levels exposed (default: all the snapshot has). */
  quantiles?: readonly number[];
}

export const DEFAULT_EXPORTER_LIMITS: ExporterLimits = { maxTenants: 10_000, maxForecastSeries: 500_000 };

export const ERROR_STAGES = ['pull', 'store', 'profile', 'anomaly', 'train', 'update', 'forecast', 'decide', 'publish', 'accuracy', 'actuator'] as const;

export interface Exporter {
  registry: Registry;
  /** Hooks for the engine loop. */
  loop: LoopMetrics;
  /** The exposition and its content type; gzip-encoded (contentEncoding 'gzip') when `gzip` is set. */
  render(opts?: { gzip?: boolean }): Promise<{ body: Buffer; contentType: string; contentEncoding?: 'gzip' }>;
  /** SnapshotSink: builds the per-tenant text as soon as a snapshot is published (so that no scrape waits for it). */
  publish(s: Snapshot): Promise<void>;
}

export interface ExporterDeps {
  snapshot: () => Snapshot | undefined;
  limits?: Partial<ExporterLimits>;
  /** Restarts of the WASM core so far (Core.restarts). */
  coreRestarts?: () => number;
  /** Limits of resources without a Kubernetes knob (config resourceLimits): foresight_resource_limit per tracked tenant. */
  resourceLimits?: ResourceLimits;
  /** Optional labels applied to every metric (e.g. instance identity). */
  defaultLabels?: Record<string, string>;
  /** This replica's shard of the tenants (foresight_shard_info); unsharded by default. */
  shard?: Shard;
  /** The container's memory limit in bytes, undefined where there is none (foresight_memory_limit_bytes, 0 then). */
  memoryLimit?: () => number | undefined;
}

/** Counts the samples set on it and renders nothing: what a tenant past the tenant limit would have exported. */
class TallyGauge<L extends string> extends TextGauge<L> {
  #n = 0;
  override set(): void {
    this.#n++;
  }
  override setBytes(): void {
    this.#n++;
  }
  override reset(): void {
    this.#n = 0;
  }
  override get size(): number {
    return this.#n;
  }
}

/** The per-tenant gauges filled from each snapshot, built by `make` (text gauges, or tallies of the dropped). */
function snapshotGauges(make: <L extends string>(def: MetricDef<L>) => TextGauge<L>) {
  const c = catalogue;
  return {
    forecast: make(c.forecast),
    usage: make(c.usage),
    recommendation: make(c.recommendation),
    allocation: make(c.allocation),
    limit: make(c.resourceLimit),
    error: make(c.forecastError),
    coverage: make(c.forecastCoverage),
    chosen: make(c.modelChosen),
    level: make(c.profileLevel),
    volatility: make(c.profileVolatility),
    burstiness: make(c.profileBurstiness),
    seasonality: make(c.profileSeasonality),
    apiMix: make(c.profileApiMix),
    anomalyScore: make(c.anomalyScore),
    anomalyInfo: make(c.anomalyInfo),
    anomalousSince: make(c.anomalousSince),
    anomalous: make(c.anomalous),
  };
}

type SnapshotGauges = ReturnType<typeof snapshotGauges>;

/** The label text after a sample's first label, as UTF-8 (TextGauge.setBytes), kept for pairs of label values that
 *  recur in every tenant's lines (a signal and its kind or season): built once, not per line. Cleared past 4,096. */
function suffixCache(render: (a: string, b: string) => string): (a: string, b: string) => Buffer {
  const byFirst = new Map<string, Map<string, Buffer>>();
  let n = 0;
  return (a, b) => {
    let inner = byFirst.get(a);
    if (inner === undefined) {
      if (n > 4096) {
        byFirst.clear();
        n = 0;
      }
      byFirst.set(a, (inner = new Map()));
    }
    let text = inner.get(b);
    if (text === undefined) {
      inner.set(b, (text = Buffer.from(render(a, b))));
      n++;
    }
    return text;
  };
}

/**
 * The label text of a series (`tenant="..",resource=".."`) and of a tenant (`tenant=".."`) as UTF-8, kept from one
 * build to the next (they change only with the tenants): encoding them anew cost a string and a Buffer per series
 * and build. What a build did not use is dropped after it (`sweep`).
 */
function labelCache() {
  const bySeries = new Map<string, { text: Buffer; build: number }>();
  const byTenant = new Map<string, { text: Buffer; build: number }>();
  let build = 0;
  const get = (texts: typeof bySeries, key: string, render: () => string): Buffer => {
    let e = texts.get(key);
    if (e === undefined) texts.set(key, (e = { text: Buffer.from(render()), build }));
    else e.build = build;
    return e.text;
  };
  return {
    series: (key: string, tenant: string, resource: string) => get(bySeries, key, () => `tenant="${escapeLabelValue(tenant)}",resource="${escapeLabelValue(resource)}"`),
    tenant: (tenant: string) => get(byTenant, tenant, () => `tenant="${escapeLabelValue(tenant)}"`),
    sweep(): void {
      for (const texts of [bySeries, byTenant]) for (const [k, e] of texts) if (e.build !== build) texts.delete(k);
      build++;
    },
  };
}

const BOUND = { target: Buffer.from(',bound="target"'), lower: Buffer.from(',bound="lower"'), upper: Buffer.from(',bound="upper"') };

export function createExporter(deps: ExporterDeps): Exporter {
  const limits: ExporterLimits = { ...DEFAULT_EXPORTER_LIMITS, ...(deps.limits ?? {}) };
  // `registry` (prom-client, private): live counters, histograms and small gauges set in collect(); others may add
  // metrics to it (the actuator). The per-tenant gauges (tens of thousands of series) are TextGauges: filled once per
  // snapshot and rendered to text once, then reused by every scrape of that snapshot. prom-client took seconds per
  // scrape for 134k series with the loop running (bench/sidecar.ts); see text-gauge.ts.
  const registry = new Registry();
  if (deps.defaultLabels) registry.setDefaultLabels(deps.defaultLabels);
  // The snapshot text's buffers: a build writes into those of the text before, given back once it was deflated.
  const pool = new TextBufferPool();
  const textGauge = <L extends string>(def: MetricDef<L>): TextGauge<L> => new TextGauge<L>(def, deps.defaultLabels, pool);
  const c = catalogue;

  const dropped = counterOf(c.seriesDropped, registry);
  for (const reason of ['tenant_limit', 'series_limit']) dropped.inc({ reason }, 0);
  const errors = counterOf(c.errors, registry);
  for (const stage of ERROR_STAGES) errors.inc({ stage }, 0);
  const cycles = counterOf(c.cycles, registry);
  for (const outcome of ['success', 'failure']) cycles.inc({ outcome }, 0);
  const steps = histogramOf(c.loopStepDuration, registry);
  // Cumulative per pool in the snapshot; exported as the increase since the last snapshot, 0 from a pool's first one.
  const shadowExhausted = counterOf(c.shadowExhausted, registry);
  const exhaustedSeen = new Map<string, number>();
  const exhausted = (pool: string, total: number): void => {
    const prev = exhaustedSeen.get(pool);
    if (prev === undefined) shadowExhausted.inc({ pool }, 0);
    if (total > (prev ?? 0)) shadowExhausted.inc({ pool }, total - (prev ?? 0));
    exhaustedSeen.set(pool, Math.max(total, prev ?? 0));
  };
  const shard = deps.shard ?? UNSHARDED;
  gaugeOf(c.shard, registry).set({ shard: String(shard.index), total_shards: String(shard.total) }, 1);
  gaugeOf(c.shardCount, registry).set(shard.total);
  // the process' memory and CPU (process_resident_memory_bytes, process_cpu_seconds_total, ...) and Node.js' heap,
  // event-loop lag and collections, read at scrape time; beside them, the limit and what the series need
  collectDefaultMetrics({ register: registry });
  gaugeOf(c.memoryLimit, registry, (gg) => gg.set(deps.memoryLimit?.() ?? 0));
  gaugeOf(c.memoryNeed, registry, (gg) => gg.set(deps.snapshot()?.memoryNeedBytes ?? 0));
  let lastSuccessS = NaN;
  let restartsSeen = 0;
  counterOf(c.coreRestarts, registry, (ctr) => {
    const r = deps.coreRestarts?.() ?? 0;
    if (r > restartsSeen) ctr.inc(r - restartsSeen);
    restartsSeen = Math.max(restartsSeen, r);
  });

  // Snapshot gauges: filled by one time-sliced build per snapshot (scrapes are answered between slices), rendered
  // to text once, then served to every scrape of that snapshot. Builds run one at a time.
  interface Rendered {
    snap: Snapshot | undefined;
    /** The text, deflated once: what gzip scrapes get (Prometheus asks for gzip), inflated for the others. The
     *  plain text is not kept: its buffers go back to the pool as soon as it is deflated (about 2 KB a series). */
    deflated: DeflatedPart;
  }
  let rendered: Rendered | undefined;
  /** The newest snapshot queued for a build, until that build ends. */
  let pending: { snap: Snapshot | undefined } | undefined;
  let queue: Promise<void> = Promise.resolve();
  const g = snapshotGauges(textGauge);
  // What a tenant past maxTenants would have exported, counted (not rendered) into foresight_series_dropped_total.
  const tally = snapshotGauges(<L extends string>(def: MetricDef<L>) => new TallyGauge<L>(def));
  // small gauges, set when a build is swapped in (so that they always match the text served with them)
  const small = {
    stale: gaugeOf(c.forecastStale, registry),
    shadow: gaugeOf(c.shadowCapacity, registry),
    shadowScale: gaugeOf(c.shadowReserveScale, registry),
    tenants: gaugeOf(c.tenants, registry),
    pendingFit: gaugeOf(c.pendingFit, registry),
    staleSeries: gaugeOf(c.staleSeries, registry),
    signalTenants: gaugeOf(c.signalTenants, registry),
  };
  const labels = labelCache();
  const signalKind = suffixCache((signal, kind) => `,signal="${escapeLabelValue(signal)}",kind="${escapeLabelValue(kind)}"`);
  const signalSeason = suffixCache((signal, season) => `,signal="${escapeLabelValue(signal)}"${season ? `,season="${season}"` : ''}`);
  gaugeOf(c.lastSuccess, registry, (gg) => {
    if (Number.isFinite(lastSuccessS)) gg.set(lastSuccessS);
  });

  /** Builds the text of snapshot `s` in slices, then swaps it in with the small gauges and the drop counters. */
  async function build(s: Snapshot | undefined): Promise<void> {
    if (rendered && rendered.snap === s) return;
    // a newer snapshot was published while this one waited: build that one instead
    if (rendered && s !== deps.snapshot()) return;
    const slice = new TimeSlice();
    for (const gauge of Object.values(g)) gauge.reset();
    let droppedTenantSeries = 0;
    let droppedBySeriesLimit = 0;
    let tenantCount = 0;
    let staleSeries = 0;
    if (s) {
      const hl = s.horizonsS.map(horizonLabel);
      const ql = s.quantiles.map(String);
      const nq = s.quantiles.length;
      const qIdx = s.quantiles.map((_q, i) => i).filter((i) => !limits.quantiles || limits.quantiles.includes(s.quantiles[i]));

      // every tenant, with the forecast series it would export (its live series' forecasts), in one pass
      const perSeries = hl.length * qIdx.length;
      /** `,horizon="5m",quantile="0.9"` of each exported forecast, horizon-major, and where its value is. */
      const forecastLabels = hl.flatMap((h, hi) => qIdx.map((q) => ({ text: Buffer.from(`,horizon="${h}",quantile="${ql[q]}"`), at: hi * nq + q })));
      const forecastsOf = new Map<string, number>();
      /** Tenants with at least one series that is not stale. */
      const fresh = new Set<string>();
      for (const r of s.resources.values()) {
        forecastsOf.set(r.tenant, (forecastsOf.get(r.tenant) ?? 0) + (r.forecast && !r.stale ? perSeries : 0));
        if (!r.stale) fresh.add(r.tenant);
      }
      const tenants = [...forecastsOf.keys()].sort();
      tenantCount = tenants.length;
      const allowed = new Set(tenants.slice(0, limits.maxTenants));
      // The forecast series limit takes whole tenants in name order, as the tenant limit does: never a tenant's cpu
      // without its memory, and the same tenants from one snapshot to the next whatever order their series arrived in.
      const forecastAllowed = new Set<string>();
      let forecastSeries = 0;
      for (const t of tenants) {
        const n = forecastsOf.get(t) ?? 0;
        if (!allowed.has(t) || forecastSeries + n > limits.maxForecastSeries) continue;
        forecastSeries += n;
        forecastAllowed.add(t);
      }
      // Anomaly verdicts of tenants with at least one live series. A tenant all of whose series are stale is treated
      // like them: the loop updates a verdict only when points arrive, so its last flag (and its profile) would
      // otherwise stay on /metrics, and ForesightTenantAnomalous keep firing, for as long as vanishAfter.
      const anomalies = new Map<string, AnomalyState>();
      /** The gauges a tenant's series go to: the exposition, or the tally of what the tenant limit dropped. */
      const outOf = (tenant: string): SnapshotGauges => (allowed.has(tenant) ? g : tally);
      await forEachSliced(slice, [...s.resources.keys()], (key) => {
        const r = s.resources.get(key)!;
        // No sample for staleAfter while Prometheus answers (a tenant gone, its metrics no longer scraped): its frozen
        // usage, forecasts and recommendation would keep alerts and dashboard sums going for as long as vanishAfter.
        // Counted instead; the API still shows the series, marked stale. (A failed pull is the snapshot's staleness:
        // the last forecasts are served then, marked by foresight_forecast_stale.)
        if (r.stale) {
          staleSeries++;
          return;
        }
        if (r.anomaly) anomalies.set(r.tenant, r.anomaly);
        const out = outOf(r.tenant);
        // Label text encoded once per series: the families below are the bulk of the exposition.
        const base = labels.series(key, r.tenant, r.resource);
        if (Number.isFinite(r.usage)) out.usage.setBytes(base, r.usage);
        const lim = limitFor(deps.resourceLimits, r.tenant, r.resource);
        if (lim !== undefined) out.limit.setBytes(base, lim);
        const f = r.forecast;
        if (f) {
          // the forecast series limit applies to the tenants exposed; a dropped tenant's are counted as tenant_limit
          if (out === g && !forecastAllowed.has(r.tenant)) droppedBySeriesLimit += perSeries;
          else {
            for (const fl of forecastLabels) {
              const v = f.quantiles[fl.at];
              if (Number.isFinite(v)) out.forecast.setBytes(base, v, fl.text);
            }
          }
        }
        const rec = r.recommendation;
        if (rec) {
          if (Number.isFinite(rec.target)) {
            out.recommendation.setBytes(base, rec.target, BOUND.target);
            out.allocation.setBytes(base, rec.target);
          }
          if (Number.isFinite(rec.lowerBound)) out.recommendation.setBytes(base, rec.lowerBound, BOUND.lower);
          if (Number.isFinite(rec.upperBound)) out.recommendation.setBytes(base, rec.upperBound, BOUND.upper);
        }
      });
      await forEachSliced(slice, tenants, (t) => {
        // every series of the tenant stale: no anomaly families and no profile either (see `anomalies` above)
        if (!fresh.has(t)) return;
        const out = outOf(t);
        const tl = labels.tenant(t);
        const a = anomalies.get(t);
        if (a) {
          // one series per signal (resources, and "behaviour" for the multivariate score): tenants x (signals + 1)
          for (const sa of a.signals ?? []) if (Number.isFinite(sa.score)) out.anomalyScore.setBytes(tl, sa.score, signalKind(sa.signal, sa.kind));
          out.anomalous.setBytes(tl, a.anomalous ? 1 : 0);
          if (a.anomalous && a.signal !== undefined) {
            out.anomalyInfo.setBytes(tl, 1, signalKind(a.signal, a.kind));
            if (Number.isFinite(a.sinceS)) out.anomalousSince.setBytes(tl, a.sinceS!);
          }
        }
        const p = s.profiles?.get(t);
        if (!p) return;
        for (const sp of Object.values(p.signals)) {
          const l = signalSeason(sp.resource, '');
          if (Number.isFinite(sp.level)) out.level.setBytes(tl, sp.level, l);
          out.volatility.setBytes(tl, sp.volatility, l);
          out.burstiness.setBytes(tl, sp.burstiness, l);
          // NaN while the window is too short to tell (weekly: under two weeks): absent rather than 0
          if (Number.isFinite(sp.dailySeasonality)) out.seasonality.setBytes(tl, sp.dailySeasonality, signalSeason(sp.resource, 'daily'));
          if (Number.isFinite(sp.weeklySeasonality)) out.seasonality.setBytes(tl, sp.weeklySeasonality, signalSeason(sp.resource, 'weekly'));
        }
        for (const [type, share] of Object.entries(p.apiMix)) out.apiMix.set({ tenant: t, type }, share);
      });
      labels.sweep();
      for (const gauge of Object.values(tally)) {
        droppedTenantSeries += gauge.size;
        gauge.reset();
      }
      for (const a of s.accuracy ?? []) {
        const h = horizonLabel(a.horizonS);
        if (Number.isFinite(a.relMae)) g.error.set({ model: a.model, horizon: h }, a.relMae);
        a.coverage.forEach((cv, i) => {
          if (qIdx.includes(i) && Number.isFinite(cv)) g.coverage.set({ model: a.model, horizon: h, quantile: ql[i] }, cv);
        });
      }
      for (const [k, n] of s.modelsChosen ?? []) {
        const [model, hs] = k.split('\u0000');
        g.chosen.set({ model, horizon: horizonLabel(Number(hs)) }, n);
      }
    }
    // each gauge wrote its lines into buffers as they were set (TextGauge): the pieces, in family order, are the text
    const parts: Buffer[] = [];
    for (const t of Object.values(g)) {
      parts.push(...t.renderBuffers());
      t.reset();
      if (slice.due) await slice.yield();
    }
    // swap: the deflated text, then what is small enough to set in one go; the plain text goes back to the pool (no
    // scrape reads it), to be written over by the next build
    const deflated = await deflatePart(parts, slice);
    pool.give(parts, parts.length);
    rendered = { snap: s, deflated };
    for (const gauge of Object.values(small)) gauge.reset();
    if (s) {
      small.stale.set(s.stale ? 1 : 0);
      small.tenants.set(tenantCount);
      small.pendingFit.set(s.pendingFit ?? 0);
      small.staleSeries.set(staleSeries);
      for (const [signal, n] of s.signalTenants ?? []) small.signalTenants.set({ signal }, n);
      for (const sh of s.shadow) {
        small.shadow.set({ pool: sh.pool, resource: sh.resource, state: 'desired' }, sh.size);
        small.shadowScale.set({ pool: sh.pool, resource: sh.resource }, sh.scale ?? 1);
      }
      for (const [pool, n] of s.shadowExhausted ?? []) exhausted(pool, n);
      for (const sh of s.shadow) exhausted(sh.pool, exhaustedSeen.get(sh.pool) ?? 0);
    }
    if (droppedTenantSeries) dropped.inc({ reason: 'tenant_limit' }, droppedTenantSeries);
    if (droppedBySeriesLimit) dropped.inc({ reason: 'series_limit' }, droppedBySeriesLimit);
  }

  /** Queues a build of `s` (builds run one at a time); resolves when it has been swapped in or skipped. */
  function ensure(s: Snapshot | undefined): Promise<void> {
    if (rendered && rendered.snap === s) return Promise.resolve();
    if (pending && pending.snap === s) return queue;
    const p = { snap: s };
    pending = p;
    queue = queue.then(() => build(s)).finally(() => {
      if (pending === p) pending = undefined;
    });
    return queue;
  }

  const loop: LoopMetrics = {
    stepDuration: (step: LoopStep, seconds: number) => steps.observe({ step }, seconds),
    error: (stage: string, n = 1) => errors.inc({ stage }, n),
    cycle: (outcome) => {
      cycles.inc({ outcome });
      if (outcome === 'success') lastSuccessS = Date.now() / 1000;
    },
  };

  return {
    registry,
    loop,
    async render(opts = {}) {
      const s = deps.snapshot();
      // While the newest snapshot is being built, scrapes get the previous one (whole and consistent) instead of
      // waiting; with nothing rendered yet, or no build under way (no sink wired), the scrape waits for the build.
      if (!rendered || (rendered.snap !== s && !(pending && pending.snap === s))) await ensure(s);
      const r = rendered!;
      const live = Buffer.from(await registry.metrics());
      if (opts.gzip) return { body: gzipBody(r.deflated, live), contentType: registry.contentType, contentEncoding: 'gzip' };
      return { body: await plainBody(r.deflated, live), contentType: registry.contentType };
    },
    publish(s: Snapshot) {
      return ensure(s);
    },
  };
}
