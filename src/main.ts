// Composition root of the sidecar: configuration -> source (Prometheus, or the embedded demo trace) -> engine,
// allocation and anomaly policies -> loop -> metrics, HTTP server and actuator. Only this file wires implementations.
import { isIPv6 } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino, type Logger as Pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { rateLimitConfig, reclaimConfig } from './actuator/config.js';
import { anomalyPolicyOf, type Config } from './config/load.js';
import { configWarnings } from './config/warnings.js';
import { ConfigInvalidError, LoopStuckError } from './errors.js';
import { allocatorTuning, createForecastEngine } from './core/engine.js';
import { sharedCore } from './core/wasm.js';
import { createAllocationDecider } from './loop/allocation-adapter.js';
import { createAnomalyScorer } from './loop/anomaly-adapter.js';
import type { AnomalyMode } from './logic/anomaly.js';
import { EngineLoop } from './loop/engine-loop.js';
import { MemoryCheck } from './loop/memory-check.js';
import { memoryLimitOf } from './model/memory-need.js';
import { ownsTenant, type Shard } from './model/shard.js';
import { acceleratedClock, systemClock, type Clock } from './loop/types.js';
import { createExporter } from './metrics/exporter.js';
import { buildServer } from './server/build.js';
import type { HistorySource } from './sources/history-source.js';
import { connectionOf } from './sources/prometheus-connection.js';
import { PrometheusSource, tenantFilter } from './sources/prometheus-source.js';
import { ShardedSource } from './sources/sharded-source.js';
import { readTrace } from './sources/trace-file.js';
import { TraceReplaySource } from './sources/trace-replay.js';

/** The trace shipped for the demo (src/main.ts and dist/main.js are both one level below the package root). */
export const DEMO_TRACE = fileURLToPath(new URL('../examples/demo-trace.csv.gz', import.meta.url));

export interface SidecarOverrides {
  source?: HistorySource;
  clock?: Clock;
  logger?: Pino;
  /** Do not listen (tests use app.inject); default false. */
  noListen?: boolean;
  /** Do not start the periodic loop (tests call runOnce); default false. */
  noSchedule?: boolean;
  /** The container's memory limit in bytes (default: the cgroup's, from process.constrainedMemory()). */
  memoryLimit?: () => number | undefined;
}

export interface Sidecar {
  config: Readonly<Config>;
  loop: EngineLoop;
  app: FastifyInstance;
  logger: Pino;
  demo: boolean;
  /** Base URL when listening. */
  url?: string;
  close(): Promise<void>;
}

/** /healthz's verdict: stuck when the cycle due longest ago has not finished within `timeoutS` (0: never). */
export function loopStuck(loop: { overdueS(): number }, timeoutS: number): Error | undefined {
  if (!(timeoutS > 0)) return undefined;
  const overdue = loop.overdueS();
  return overdue > timeoutS ? new LoopStuckError(Math.round(overdue), timeoutS) : undefined;
}

/** The base URL to log for a listening address: wildcards as localhost, IPv6 literals bracketed (RFC 3986, 6874). */
export function listenUrl(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '::') return `http://localhost:${port}`;
  return `http://${isIPv6(host) ? `[${host.replace('%', '%25')}]` : host}:${port}`;
}

interface Plan {
  source: HistorySource;
  clock: Clock;
  intervalS: number;
  historyPoints: number;
  cycleMs: number;
}

async function demoPlan(config: Readonly<Config>, logger: Pino): Promise<Plan> {
  const file = config.demoTrace || DEMO_TRACE;
  const all = await readTrace(file);
  // the tenant lists apply to the demo as to Prometheus (src/sources/prometheus-source.ts tenantFilter)
  const keep = tenantFilter(config);
  const set = { ...all, series: all.series.filter((s) => keep(s.tenant)) };
  if (set.series.length === 0) logger.warn({ trace: file, includeTenants: config.includeTenants, excludeTenants: config.excludeTenants }, 'demo: the tenant lists leave no tenant of the trace');
  const intervalS = set.intervalS;
  const historyPoints = Math.max(2, Math.round(config.history / intervalS));
  // Engine time starts one history window into the trace (so the first pull has a full week), aligned to a UTC day.
  const nowS = Math.floor(Date.now() / 1000);
  const startS = Math.floor(nowS / 86_400) * 86_400;
  const firstS = Math.min(...set.series.map((s) => s.startS));
  const source = new TraceReplaySource(set, { epochS: startS - historyPoints * intervalS });
  const clock = acceleratedClock(startS, config.demoSpeed);
  // One cycle every ~4 new samples of engine time, at least every 0.5 s real time.
  const cycleMs = Math.max(500, Math.round(((4 * intervalS) / config.demoSpeed) * 1000));
  logger.info(
    { trace: file, tenants: new Set(set.series.map((s) => s.tenant)).size, intervalS, speed: config.demoSpeed, cycleMs, traceStartS: firstS },
    `demo mode: no Prometheus configured (FORESIGHT_PROMETHEUS_URL), replaying the example trace on an accelerated clock; ${config.kubernetes ? 'actuator dry-run' : 'actuator off'}`,
  );
  return { source, clock, intervalS, historyPoints, cycleMs };
}

function prometheusPlan(config: Readonly<Config>, shard: Shard): Plan {
  const source = new PrometheusSource({
    url: config.prometheusUrl,
    signals: config.signalSpecs,
    tenantLabel: config.tenantLabel,
    rateWindow: config.rateWindow,
    includeTenants: config.includeTenants,
    excludeTenants: config.excludeTenants,
    timeoutMs: config.prometheusTimeout * 1000,
    connection: connectionOf(config),
    maxPointsPerRequest: config.maxPointsPerRequest,
    maxSamplesPerRequest: config.maxSamplesPerRequest,
    // a shard drops the other shards' series as each response is read, before any of them is stored
    keepTenant: shard.total > 1 ? (t) => ownsTenant(shard, t) : undefined,
  });
  return { source, clock: systemClock, intervalS: config.interval, historyPoints: Math.max(2, Math.round(config.history / config.interval)), cycleMs: config.cycle * 1000 };
}

/** Builds and starts the sidecar. */
export async function startSidecar(config: Readonly<Config>, o: SidecarOverrides = {}): Promise<Sidecar> {
  const logger = o.logger ?? pino({ level: config.logLevel, base: { service: 'foresight' } });
  // valid, but an alert or dashboard panels read nothing: said once, at start-up
  for (const w of configWarnings(config)) logger.warn({ [w.setting]: config[w.setting] }, w.message);
  const demo = !o.source && config.prometheusUrl === '';
  if (demo && config.kubernetes && !config.actuator.dryRun) {
    // the demo replays the bundled trace: a live actuator would size real VPAs, quotas and placeholders from it
    throw new ConfigInvalidError('  - actuator.dryRun is false but prometheusUrl is empty: the embedded demo would write recommendations, quotas and placeholder pods sized from the example trace to the cluster; set FORESIGHT_PROMETHEUS_URL, or keep FORESIGHT_ACTUATOR_DRY_RUN=true');
  }
  const shard: Shard = Object.freeze({ index: config.shard, total: config.totalShards });
  const plan = demo ? await demoPlan(config, logger) : prometheusPlan(config, shard);
  // sharded: only this replica's tenants go past the pull (store, engine, /metrics, actuator)
  const sharded = shard.total > 1 ? new ShardedSource(o.source ?? plan.source, shard, logger.child({ component: 'shard' })) : undefined;
  const source = sharded ?? o.source ?? plan.source;
  const clock = o.clock ?? plan.clock;
  // the demo's interval is its trace's, which the configured horizons were not checked against
  const horizons = config.horizons.filter((h) => h % plan.intervalS === 0);
  const dropped = config.horizons.filter((h) => !horizons.includes(h));
  if (horizons.length === 0) {
    throw new ConfigInvalidError(`  - horizons (${config.horizons.join(', ')} s): none is a multiple of the ${plan.intervalS} s interval of ${source.origin}; set FORESIGHT_HORIZONS to multiples of it`);
  }
  if (dropped.length) logger.warn({ dropped, intervalS: plan.intervalS, horizons }, `horizons ${dropped.join(', ')} s are not multiples of the ${plan.intervalS} s interval of ${source.origin}: not forecast`);
  // the backtest's tuning (a one-day error window), so that `foresight backtest` replays what runs here
  const engine = createForecastEngine({ intervalS: plan.intervalS, horizonsS: horizons, quantiles: config.quantiles, seasonsS: config.seasons }, sharedCore(), allocatorTuning(plan.intervalS));
  // one reclamation rule: the recommendations shrink under the same settings as the actuator's gate
  const decider = createAllocationDecider({ targetShortage: config.targetShortage, reclaim: reclaimConfig(config.actuator), rateLimit: rateLimitConfig(config.actuator) });
  const holder: { loop?: EngineLoop } = {};
  const memoryLimit = o.memoryLimit ?? (() => memoryLimitOf(process.constrainedMemory?.()));
  const exporter = createExporter({
    snapshot: () => holder.loop?.latest(),
    limits: { maxTenants: config.maxTenants, maxForecastSeries: config.maxForecastSeries, quantiles: config.exportQuantiles },
    coreRestarts: () => sharedCore().restarts,
    resourceLimits: config.resourceLimits,
    shard,
    memoryLimit,
  });
  // Request logs only at debug/trace: /metrics is scraped every few seconds.
  const loopLogger = logger.child({ component: 'loop' });
  const theLoop = new EngineLoop(
    {
      source,
      engine,
      clock,
      decide: decider.decide,
      anomaly: config.anomalyMode === 'off' ? undefined : createAnomalyScorer(sharedCore(), config.anomalyMode as AnomalyMode, anomalyPolicyOf(config)),
      logger: loopLogger,
      metrics: exporter.loop,
      onVanish: (key) => decider.forget(key),
      memoryCheck: new MemoryCheck({ limitBytes: memoryLimit, totalShards: shard.total, logger: loopLogger }),
    },
    {
      intervalS: plan.intervalS,
      historyPoints: plan.historyPoints,
      retrainEveryS: config.retrainEvery,
      fitBudgetS: config.firstFitBudget,
      accuracyEveryS: Math.min(config.profileEvery, 900),
      profileEveryS: config.profileEvery,
      apiMixMaxTypes: config.apiMixMaxTypes,
      staleAfterS: config.staleAfter,
      vanishAfterS: config.vanishAfter,
      pullDelayS: config.pullDelay,
      quarantine: config.anomalyMode === 'quarantine',
    },
  );
  holder.loop = theLoop;
  theLoop.addSink(exporter); // renders the per-tenant exposition once per snapshot, off the scrape path

  // Actuator (src/actuator): only with a Kubernetes API; dry-run unless actuator.dryRun is false. It subscribes to
  // the loop's snapshots and serves its journal at /api/v1/actions.
  let actuator: import('./actuator/actuator.js').Actuator | undefined;
  const plugins: NonNullable<Parameters<typeof buildServer>[0]['plugins']> = [];
  if (config.kubernetes) {
    const [{ Actuator }, { connectionFromKubeConfig }, { createActuatorMetrics }, { actionsRoute }] = await Promise.all([
      import('./actuator/actuator.js'),
      import('./actuator/kube-api.js'),
      import('./actuator/metrics.js'),
      import('./actuator/actions-route.js'),
    ]);
    const a = new Actuator({
      connection: await connectionFromKubeConfig(),
      options: config.actuator,
      metrics: createActuatorMetrics(exporter.registry),
      log: logger.child({ component: 'actuator' }),
      shard,
    });
    actuator = a;
    plugins.push({ plugin: actionsRoute as never, options: { journal: a.journal } });
    logger.info({ dryRun: a.options.dryRun, recommender: a.options.recommenderName }, 'actuator enabled');
    if (!source.signals.some((sg) => sg.resource === a.options.podsResource)) {
      logger.warn({ podsResource: a.options.podsResource, signals: source.signals.map((sg) => sg.resource) }, `the signal ${a.options.podsResource} is not pulled: VPA recommendations are per pod and need each tenant's running pods, so no VPA gets one (add it to FORESIGHT_SIGNALS, or set FORESIGHT_ACTUATOR_PODS_RESOURCE)`);
    }
  } else {
    logger.info({}, 'actuator off (FORESIGHT_KUBERNETES=false): recommendations are published on /metrics and /api/v1 only (dry-run)');
  }

  const app = await buildServer({ exporter, snapshot: () => theLoop.latest(), ready: () => theLoop.ready, stuck: () => loopStuck(theLoop, config.livenessTimeout), resourceLimits: config.resourceLimits, shard, plugins, loggerInstance: logger.child({ component: 'http' }, { level: logger.levelVal < 30 || logger.levelVal > 40 ? logger.level : 'warn' }) });

  let url: string | undefined;
  if (!o.noListen) {
    try {
      await app.listen({ port: config.port, host: config.host });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'EADDRINUSE' && code !== 'EACCES' && code !== 'EADDRNOTAVAIL') throw err;
      await Promise.allSettled([source.close?.(), app.close()]); // nothing else runs yet
      const why = code === 'EADDRINUSE' ? 'is in use by another process' : code === 'EACCES' ? 'needs privileges this process lacks' : 'names no address of this host';
      throw new ConfigInvalidError(`  - port ${config.port} on ${config.host} ${why} (${code}): set FORESIGHT_PORT${code === 'EADDRNOTAVAIL' ? ' or FORESIGHT_HOST' : ''}`);
    }
    url = listenUrl(config.host, config.port);
  }
  logger.info({ url, source: source.origin, signals: source.signals.map((s) => s.resource), intervalS: plan.intervalS, horizons }, 'foresight sidecar started');

  let announced = false;
  theLoop.onSnapshot((s) => {
    if (announced || s.stale) return;
    announced = true;
    const tenants = new Set([...s.resources.values()].map((r) => r.tenant));
    const forecasts = [...s.resources.values()].filter((r) => r.forecast).length;
    if (sharded) logger.info({ shard: shard.index, totalShards: shard.total, tenants: tenants.size }, `shard ${shard.index} of ${shard.total}: this replica owns ${tenants.size} tenants`);
    logger.info(
      { tenants: tenants.size, forecasts, metrics: url && `${url}/metrics`, api: url && `${url}/api/v1/tenants` },
      `first cycle done: forecasts for ${tenants.size} tenants; look at ${url ?? '(not listening)'}/metrics (foresight_forecast) and ${url ?? ''}/api/v1/tenants`,
    );
  });
  actuator?.start(theLoop.hub);
  if (!o.noSchedule) theLoop.start(plan.cycleMs);

  return {
    config,
    loop: theLoop,
    app,
    logger,
    demo,
    url,
    async close() {
      // the source first: a pull in flight is aborted, so the running cycle ends now rather than at its timeout
      const closing = source.close?.();
      await theLoop.stop();
      await actuator?.stop();
      await app.close();
      await closing;
    },
  };
}
