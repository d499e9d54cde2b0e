// `foresight backtest`: replays a trace (or a Prometheus range) through every policy and writes the comparison.
import { parseArgs } from 'node:util';
import { ArgumentInvalidError, TraceInvalidError } from '../errors.js';
import { checkOutDir } from './out-dir.js';
import type { SeriesSet } from '../model/series.js';
import { connectionOf, connectionProblems, urlProblem, type PrometheusConnection } from '../sources/prometheus-connection.js';
import { readTrace } from '../sources/trace-file.js';
import { buildGrid } from '../backtest/grid.js';
import { vpaUnitFactor } from '../backtest/policies/vpa.js';
import { POLICY_NAMES, type PolicyName } from '../backtest/policy.js';
import { createProgress } from '../backtest/progress.js';
import { runBacktest, warmupStepsOf } from '../backtest/run.js';
import { anomalyPolicyOf, loadConfig, parseFlagDuration } from '../config/load.js';
import { ANOMALY_MODES, type AnomalyMode } from '../logic/anomaly.js';
import { rateLimitConfig, reclaimConfig } from '../actuator/config.js';
import { buildSummary } from '../backtest/summary.js';
import { scorableSteps } from '../backtest/scoring.js';
import { renderReport } from '../backtest/report.js';
import { writeOutputs } from '../backtest/output.js';
import { groupByRegex, groupTenants, tenantQuotaGrid } from '../backtest/tenant-quota.js';

export const summary = 'replay a trace through Foresight, VPA, Autopilot and baselines; write allocations, summary and report';

const USAGE = `Usage: foresight backtest (--trace FILE | --prometheus URL --query PROMQL [--range 7d] [--step 5m] [--tenant-label namespace])
                          --resource NAME [--policies ${POLICY_NAMES.join(',')}]
                          [--config FILE] [--target-shortage R] [--retrain-every D] [--history D] [--no-actuation] [--update-mode in-place|recreate]
                          [--anomaly-mode off|alert-only|quarantine] [--unit U]
                          [--sweep] [--lead 5m] [--out DIR (default backtest-out)] [--json] [--capacity N] [--provisioning-delay 3m] [--quiet]
                          [--tenant-quota [--group-by REGEX]]   (score each tenant's total: the sum of its series;
                           REGEX maps a series' tenant to its quota tenant by capture group 1, e.g. '^(.{4})')
Foresight replays the sidecar's configuration (the YAML file of --config or $FORESIGHT_CONFIG, then FORESIGHT_*
variables, as \`foresight start\` reads them): --prometheus connects with its credentials, headers and TLS
(prometheusBearerTokenFile, prometheusHeaders, prometheusCaFile, ...); targetShortage, retrainEvery, history and the actuator's options
(its safety gate, change budget, write tolerance and reclamation), quantiles, seasons, anomalyMode, anomalyWeekAgo
and the anomaly likelihoods (anomalyEnterLikelihood, anomalyExitLikelihood). The engine's horizons follow --lead.
--target-shortage, --retrain-every, --history and --anomaly-mode override it; --no-actuation scores the
recommendations instead of what the actuator's safety gate and write rule would apply. --update-mode recreate scores
what a VPA whose update mode evicts pods (Auto, the default, Recreate, Initial) gets: the largest recommendation of the
last actuator.stableWindowS (a day); in-place (the default here) what an InPlaceOrRecreate VPA gets. The anomaly detectors score
the backtested resource alone (the sidecar also combines a tenant's other signals). --unit names the resource's unit
where the trace does not (a Prometheus range, a CSV without .meta.json): VPA's histograms and minimums are in cores
and bytes, so a memory resource is taken as bytes and a cpu one as cores unless --unit says otherwise; a multiple of
them (millicores, MiB, GB, ...) gets them converted.`;

/** The unit a resource without one is taken in: what cAdvisor's metrics give (memory in bytes, CPU in cores). */
export function assumedUnit(resource: string): string | undefined {
  if (/mem/i.test(resource)) return 'bytes';
  if (/cpu/i.test(resource)) return 'cores';
  return undefined;
}

const share = (n: number, of: number): string => (of > 0 ? `${((100 * n) / of).toFixed(2)}%` : 'n/a');

function parseNumber(flag: string, text: string, ok: (x: number) => boolean, what: string): number {
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x) || !ok(x)) throw new ArgumentInvalidError(`--${flag}: "${text}" is not ${what}`);
  return x;
}

async function loadPrometheus(conn: PrometheusConnection, query: string, resource: string, rangeS: number, stepS: number, tenantLabel: string): Promise<SeriesSet> {
  const { createPrometheusDriver, queryRangeSeries } = await import('../sources/prometheus-range.js');
  const url = conn.url;
  const endS = Math.floor(Date.now() / 1000 / stepS) * stepS;
  const res = await queryRangeSeries(createPrometheusDriver(conn), { query, startS: endS - rangeS, endS, stepS, resource, tenantLabel });
  if (res.set.series.length === 0) throw new TraceInvalidError(`${url}: the query returned no series with a "${tenantLabel}" label (query: ${query.slice(0, 200)})`);
  return res.set;
}

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        trace: { type: 'string' },
        prometheus: { type: 'string' },
        query: { type: 'string' },
        range: { type: 'string', default: '7d' },
        step: { type: 'string', default: '5m' },
        'tenant-label': { type: 'string', default: 'namespace' },
        resource: { type: 'string' },
        policies: { type: 'string', default: POLICY_NAMES.join(',') },
        config: { type: 'string', short: 'c' },
        'target-shortage': { type: 'string' },
        sweep: { type: 'boolean', default: false },
        lead: { type: 'string', default: '5m' },
        out: { type: 'string', default: 'backtest-out' },
        json: { type: 'boolean', default: false },
        capacity: { type: 'string' },
        'provisioning-delay': { type: 'string', default: '3m' },
        quiet: { type: 'boolean', default: false },
        'tenant-quota': { type: 'boolean', default: false },
        'group-by': { type: 'string' },
        'retrain-every': { type: 'string' },
        history: { type: 'string' },
        'no-actuation': { type: 'boolean', default: false },
        'update-mode': { type: 'string', default: 'in-place' },
        'anomaly-mode': { type: 'string' },
        unit: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    throw new ArgumentInvalidError(`${(err as Error).message}\n${USAGE}`, { cause: err });
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  // Every argument is checked before anything is read or written.
  if (!args.resource) throw new ArgumentInvalidError(`--resource is required\n${USAGE}`);
  if (!args.trace === !args.prometheus) throw new ArgumentInvalidError(`give exactly one of --trace FILE or --prometheus URL\n${USAGE}`);
  if (args.prometheus && !args.query) throw new ArgumentInvalidError('--prometheus needs --query PROMQL');
  const urlWhy = args.prometheus !== undefined ? urlProblem(args.prometheus) : undefined;
  if (urlWhy) throw new ArgumentInvalidError(`--prometheus ${JSON.stringify(args.prometheus)} must be an http(s) URL: it ${urlWhy}`);
  const policies = args.policies.split(',').map((p) => p.trim()).filter(Boolean);
  const unknown = policies.filter((p) => !(POLICY_NAMES as readonly string[]).includes(p));
  if (unknown.length || policies.length === 0) throw new ArgumentInvalidError(`--policies: unknown policy ${unknown.map((u) => `"${u}"`).join(', ') || '(none given)'} (known: ${POLICY_NAMES.join(', ')})`);
  // the sidecar's configuration (every problem named at once), which the flags below override
  const config = loadConfig({ file: args.config });
  // the configuration's range (src/config/schema.ts targetShortage)
  const targetShortage = args['target-shortage'] !== undefined ? parseNumber('target-shortage', args['target-shortage'], (x) => x > 0 && x <= 0.5, 'a share in (0, 0.5]') : config.targetShortage;
  const leadS = parseFlagDuration('lead', args.lead);
  const provisioningDelayS = parseFlagDuration('provisioning-delay', args['provisioning-delay']);
  const capacity = args.capacity !== undefined ? parseNumber('capacity', args.capacity, (x) => x > 0, 'a positive number') : undefined;
  if (args['group-by'] !== undefined && !args['tenant-quota']) throw new ArgumentInvalidError('--group-by needs --tenant-quota');
  const groupRule = args['group-by'] !== undefined ? groupByRegex(args['group-by']) : undefined;
  const retrainEveryS = args['retrain-every'] !== undefined ? parseFlagDuration('retrain-every', args['retrain-every']) : config.retrainEvery;
  const historyS = args.history !== undefined ? parseFlagDuration('history', args.history) : config.history;
  if (!(retrainEveryS > 0)) throw new ArgumentInvalidError(`--retrain-every ${args['retrain-every']} must be > 0`);
  const updateMode = args['update-mode'];
  if (updateMode !== 'in-place' && updateMode !== 'recreate') throw new ArgumentInvalidError(`--update-mode: "${updateMode}" is not in-place or recreate`);
  if (updateMode === 'recreate' && args['no-actuation']) throw new ArgumentInvalidError('--update-mode recreate scores what the actuator writes: it cannot go with --no-actuation');
  const anomalyMode = (args['anomaly-mode'] ?? config.anomalyMode) as AnomalyMode;
  if (!(ANOMALY_MODES as readonly string[]).includes(anomalyMode)) throw new ArgumentInvalidError(`--anomaly-mode: "${anomalyMode}" is not one of ${ANOMALY_MODES.join(', ')}`);
  await checkOutDir(args.out);
  const rangeS = parseFlagDuration('range', args.range);
  const stepS = parseFlagDuration('step', args.step);
  if (!(stepS > 0) || !(rangeS > stepS)) throw new ArgumentInvalidError(`--range ${args.range} must be longer than --step ${args.step} (> 0)`);

  // the sidecar's credentials, headers and TLS (FORESIGHT_PROMETHEUS_*), for the URL given here; files checked by loadConfig
  const promSettings = args.prometheus ? { ...config, prometheusUrl: args.prometheus, prometheusTimeout: 30 } : undefined;
  const promProblems = promSettings ? connectionProblems(promSettings, () => undefined) : [];
  if (promProblems.length) throw new ArgumentInvalidError(`--prometheus: ${promProblems.join('; ')}`);

  const set = promSettings
    ? await loadPrometheus(connectionOf(promSettings), args.query!, args.resource, rangeS, stepS, args['tenant-label'])
    : await readTrace(args.trace!, { resources: [args.resource] });
  for (const w of set.warnings ?? []) process.stderr.write(`backtest: warning: ${w}\n`);
  const built = buildGrid(set, args.resource);
  const unit = args.unit ?? built.unit ?? assumedUnit(args.resource);
  if (args.unit === undefined && built.unit === undefined && !args.quiet) {
    process.stderr.write(`backtest: ${set.origin} gives no unit for "${args.resource}"; ${unit ? `taking it as ${unit}` : 'VPA uses a generic histogram'} (--unit sets it)\n`);
  } else if (unit !== undefined && /mem|cpu/i.test(args.resource) && vpaUnitFactor(args.resource, unit) === undefined && !args.quiet) {
    const [base, multiples] = /mem/i.test(args.resource) ? ['bytes', 'KiB, MiB, GB, ...'] : ['cores', 'millicores'];
    process.stderr.write(`backtest: "${unit}" is not ${base} or a multiple of them (${multiples}): VPA uses a generic histogram, without its minimum\n`);
  }
  const seriesGrid = { ...built, unit };
  const groups = args['tenant-quota'] ? groupTenants(seriesGrid.tenants, groupRule) : undefined;
  const grid = groups ? tenantQuotaGrid(seriesGrid, groups) : seriesGrid;
  if (grid.nSteps < 3) throw new TraceInvalidError(`${set.origin}: resource "${args.resource}" has only ${grid.nSteps} step(s); a backtest needs a history`);
  // a trace with nothing to score: an error, not a summary of n/a for every policy
  const { scorable, present } = scorableSteps(grid, warmupStepsOf(grid));
  if (scorable === 0) {
    throw new TraceInvalidError(
      present === 0
        ? `${set.origin}: every value of resource "${args.resource}" is missing (empty, NaN or NA): there is no usage to replay or score`
        : `${set.origin}: resource "${args.resource}" has no step to score: its ${present} known value(s) all fall in the warm-up the scores leave out (the first ${warmupStepsOf(grid) * grid.intervalS}s after each tenant's first sample)`,
    );
  }
  if (leadS < 0 || leadS >= grid.nSteps * grid.intervalS) throw new ArgumentInvalidError(`--lead ${args.lead} is outside the trace's span`);
  // no policy has an allocation in a step less than the lead after the start: scored, those would be shortages
  const warmupS = warmupStepsOf(grid) * grid.intervalS;
  if (leadS > warmupS) throw new ArgumentInvalidError(`--lead ${args.lead} is longer than the warm-up the scores leave out (${warmupS}s): the first ${leadS}s of every series have no allocation from any policy`);
  if (historyS < 2 * grid.intervalS) throw new ArgumentInvalidError(`--history ${args.history ?? `${historyS}s (the configuration's)`} is shorter than two of the trace's ${grid.intervalS}s steps`);

  const progress = createProgress(`backtest ${args.resource}`, process.stderr, !args.quiet);
  const result = runBacktest(grid, {
    policies: policies as PolicyName[],
    targetShortage,
    leadS,
    sweep: args.sweep,
    capacity,
    provisioningDelayS,
    retrainEveryS,
    historyS,
    // in-place: the recommendation follows the forecast; recreate: the VPA's of an evicting update mode (Auto, the
    // default), held at the largest of the last actuator.stableWindowS (src/actuator/hold.ts)
    actuation: args['no-actuation'] ? false : { ...config.actuator, stableWindowS: updateMode === 'recreate' ? config.actuator.stableWindowS : 0 },
    // one reclamation rule for the recommendations and the gate, as the sidecar wires them (src/main.ts)
    allocation: { reclaim: reclaimConfig(config.actuator), rateLimit: rateLimitConfig(config.actuator) },
    levels: config.quantiles,
    seasonsS: config.seasons,
    anomalyMode,
    anomalyPolicy: anomalyPolicyOf(config),
    onProgress: (d, t) => progress.update(d, t),
  });
  progress.done();
  const mode = groups
    ? { mode: 'tenant-quota' as const, groupBy: args['group-by'], members: Object.fromEntries(groups.tenants.map((t, j) => [t, groups.members[j].map((k) => seriesGrid.tenants[k])])) }
    : undefined;
  const sum = buildSummary(grid, result, targetShortage, mode);
  const html = renderReport(grid, result.results, sum);
  const files = await writeOutputs(args.out, grid, result.results, { summary: sum, html });
  if (args.json) process.stdout.write(`${JSON.stringify(sum)}\n`);
  else {
    // null: no scored step (or, for slack, usage all zero), as summary.json has it
    const f = (x: number | null, d: number): string => (x === null ? 'n/a' : x.toFixed(d));
    const lines = Object.entries(sum.policies).map(([label, p]) => `  ${label.padEnd(14)} slack ${f(p.slack, 4)}  shortage_steps ${f(p.shortage_steps, 4)}  shortage_volume ${f(p.shortage_volume, 5)}  changes_per_step ${f(p.changes_per_step, 4)}`);
    const a = result.engine?.anomaly;
    const anomalyLine = a && a.mode !== 'off' ? [`  anomaly mode ${a.mode}: ${share(a.anomalous, a.scored)} of tenant-steps flagged, ${share(a.quarantined, a.scored)} quarantined`] : [];
    console.log([`backtest of ${args.resource} on ${set.origin}: ${grid.tenants.length} ${groups ? `quota tenants (tenant totals of ${seriesGrid.tenants.length} series)` : 'tenants'}, ${grid.nSteps} steps`, ...lines, ...anomalyLine, `wrote ${files.join(', ')}`].join('\n'));
  }
  return 0;
}
