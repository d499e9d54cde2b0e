// The one configuration schema: every field with its environment variable, YAML key, default, unit, range and help.
// `foresight start --help` and the README's configuration table are generated from it.
import { FORECAST_LEVELS } from '../logic/allocation.js';
import { ANOMALY_MODES, DEFAULT_ANOMALY_POLICY } from '../logic/anomaly.js';
import { DEFAULT_SIGNALS } from '../sources/default-signals.js';
import { parseHeaders, urlProblem } from '../sources/prometheus-connection.js';
import { promWindow } from '../sources/promql-duration.js';

export type FieldType = 'int' | 'number' | 'string' | 'bool' | 'list' | 'numbers' | 'duration';

export interface FieldDef<T = unknown> {
  type: FieldType;
  default: T;
  unit: string;
  /** Human-readable range, shown in help and in error messages. */
  range: string;
  help: string;
  /** Returns a problem sentence, or undefined when the value is acceptable. */
  check?: (v: T) => string | undefined;
  /** Said after a value that is not of the field's type: where such a value usually comes from. */
  hint?: string;
  /** The value as the code uses it, once check has accepted it (rateWindow: bare seconds 300 -> 300s for PromQL). */
  normalize?: (v: T) => T;
}

const between = (lo: number, hi: number) => (v: number) => (v >= lo && v <= hi ? undefined : `must be in [${lo}, ${hi}]`);
// at least one level: `[].every` holds, and an empty list left the sidecar with no forecast to export or allocate from
const ratios = (v: number[]) => (v.length === 0 ? 'must list at least one level' : v.every((x) => x > 0 && x < 1) && v.every((x, i) => i === 0 || x > v[i - 1]) ? undefined : 'must be ascending values in (0, 1)');
const labelName = (v: string) => (/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(v) ? undefined : 'must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)');

function f<T>(d: FieldDef<T>): FieldDef<T> {
  return d;
}

export const SIGNAL_NAMES = DEFAULT_SIGNALS.map((s) => s.resource);

export const schema = {
  port: f({ type: 'int', default: 8080, unit: 'port', range: '[1, 65535]', help: 'HTTP port of /metrics, the probes and the API.', check: between(1, 65535) }),
  host: f({
    type: 'string',
    default: '0.0.0.0',
    unit: 'address',
    range: 'IP or hostname',
    help: 'Address to listen on.',
    // an empty one had passed, to listen where Node picks
    check: (v: string) => (v.trim() === '' ? 'must not be empty (0.0.0.0: every IPv4 address, :: every address)' : /\s/.test(v) ? 'must not contain white space' : undefined),
  }),
  logLevel: f({
    type: 'string',
    default: 'info',
    unit: 'level',
    range: 'fatal|error|warn|info|debug|trace|silent',
    help: 'pino log level.',
    check: (v: string) => (['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(v) ? undefined : 'must be one of fatal, error, warn, info, debug, trace, silent'),
  }),
  prometheusUrl: f({
    type: 'string',
    default: '',
    unit: 'URL',
    range: 'http(s) URL or empty',
    help: 'Prometheus to pull tenant histories from. Empty: run the embedded demo on the example trace.',
    check: (v: string) => {
      const why = v === '' ? undefined : urlProblem(v);
      return why ? `must be an http(s) URL or empty: it ${why}` : undefined;
    },
  }),
  prometheusTimeout: f({ type: 'duration', default: 10, unit: 's', range: '[0.1, 300]', help: 'Timeout of one PromQL request.', check: between(0.1, 300) }),
  prometheusBearerTokenFile: f({ type: 'string', default: '', unit: 'path', range: 'file or empty', help: 'File with a token sent to Prometheus as Authorization: Bearer, read again when it changes (a projected ServiceAccount token rotates): OpenShift\'s thanos-querier, a kube-rbac-proxy in front of Prometheus.' }),
  prometheusBasicAuthUser: f({ type: 'string', default: '', unit: 'name', range: 'user or empty', help: 'Basic auth user for Prometheus (with prometheusBasicAuthPasswordFile).' }),
  prometheusBasicAuthPasswordFile: f({ type: 'string', default: '', unit: 'path', range: 'file or empty', help: 'File with the basic auth password, read again when it changes.' }),
  prometheusHeaders: f({ type: 'list', default: [] as string[], unit: 'Name=value', range: 'comma-separated', help: 'Headers sent with every PromQL request, e.g. X-Scope-OrgID=team-a for Mimir, Cortex or a Thanos tenancy proxy. Not Authorization: secrets are read from files (prometheusBearerTokenFile, prometheusBasicAuthPasswordFile).', check: (v: string[]) => parseHeaders(v).problems.join('; ') || undefined }),
  prometheusCaFile: f({ type: 'string', default: '', unit: 'path', range: 'PEM file or empty', help: 'CA certificates (PEM) that sign an https Prometheus\' certificate, instead of the system\'s; read again when the file changes.' }),
  prometheusCertFile: f({ type: 'string', default: '', unit: 'path', range: 'PEM file or empty', help: 'Client certificate (PEM) for an https Prometheus that asks for one (with prometheusKeyFile); read again when it changes.' }),
  prometheusKeyFile: f({ type: 'string', default: '', unit: 'path', range: 'PEM file or empty', help: 'Private key (PEM) of prometheusCertFile.' }),
  prometheusInsecureSkipVerify: f({ type: 'bool', default: false, unit: 'bool', range: 'true|false', help: 'Do not verify an https Prometheus\' certificate (tests only: anyone on the path can read and change the histories).' }),
  maxPointsPerRequest: f({ type: 'int', default: 11_000, unit: 'points', range: '[100, 11000]', help: 'Points per series per range request (Prometheus refuses more than 11,000).', check: between(100, 11_000) }),
  maxSamplesPerRequest: f({ type: 'int', default: 500_000, unit: 'samples', range: '[1000, 100000000]', help: 'Samples (series x points) per range request at most: parsing a response takes about 320 bytes a sample, so this bounds the memory of a pull (a week of 10,000 tenants takes about 40 requests per signal).', check: between(1000, 100_000_000) }),
  tenantLabel: f({ type: 'string', default: 'namespace', unit: 'label', range: 'label name', help: 'Label that names a tenant in the signal queries. Its values should hold no \'/\' when sharded (totalShards > 1): a shard places a name by what precedes its first \'/\' (so that a tenant\'s per-container series, named tenant/container, goes with it), and tenants "a/x" and "a/y" then share a\'s shard.', check: labelName }),
  includeTenants: f({ type: 'list', default: [] as string[], unit: 'names', range: 'comma-separated', help: 'Only these tenants (empty: all).' }),
  excludeTenants: f({ type: 'list', default: ['kube-system', 'kube-public', 'kube-node-lease'], unit: 'names', range: 'comma-separated', help: 'Tenants left out.' }),
  signals: f({
    type: 'list',
    default: [...SIGNAL_NAMES],
    unit: 'names',
    range: SIGNAL_NAMES.join(','),
    help: 'Signals pulled per tenant; each PromQL can be overridden with FORESIGHT_QUERY_<SIGNAL> or queries.<signal> in YAML.',
    check: (v: string[]) => (v.length === 0 ? 'must name at least one signal' : new Set(v).size < v.length ? 'must name each signal once' : undefined),
  }),
  rateWindow: f({
    type: 'string',
    default: '5m',
    unit: 'duration',
    range: 'PromQL duration (5m, 1h30m, 1w) or whole seconds',
    help: 'Window of rate() in the signal queries: at least interval, or rate() sees only part of each interval and misses the bursts between the points.',
    check: (v: string) => (promWindow(v) ? undefined : 'must be a positive PromQL duration like 5m or 1h30m, or whole seconds'),
    normalize: (v: string) => promWindow(v) ?? v,
  }),
  interval: f({ type: 'duration', default: 300, unit: 's', range: '[1, 3600]', help: 'Spacing of the series the models see.', check: between(1, 3600) }),
  cycle: f({ type: 'duration', default: 60, unit: 's', range: '[0.1, 3600]', help: 'Real time between two cycles. alerts/foresight.rules.yaml\'s ForesightStale assumes cycles well under 15 minutes: it fires after 900 s without a successful cycle.', check: between(0.1, 3600) }),
  pullDelay: f({ type: 'duration', default: 30, unit: 's', range: '[0, 1 hour]', help: 'A slot is pulled once this long has passed since its time, so that its samples are all in Prometheus: a scrape is stamped when it starts and visible when it ends, and a remote-write backend (Mimir, Thanos Receive, Cortex) lags further (set 1-2 minutes there). The models and detectors learn the newest slot when it is first pulled; a later pull mends only the stored history.', check: between(0, 3600) }),
  livenessTimeout: f({ type: 'duration', default: 1800, unit: 's', range: '[0, 1 day]', help: '/healthz answers 503 (and the liveness probe restarts the pod) when a cycle has not finished this long after it was due: it awaits something that never settles. A failed pull ends its cycle, so Prometheus being away does not count; the first cycle (a week\'s pull, the detectors\' warm-up, firstFitBudget) must fit in it. 0: never.', check: between(0, 86_400) }),
  firstFitBudget: f({ type: 'duration', default: 60, unit: 's', range: '[0, 3600]', help: 'Longest one cycle spends fitting series that have no model yet (0: no limit). The rest are fitted by the next cycles, which follow at once, tenant by tenant: at 10,000 tenants x 6 signals the first forecasts came after 118 s with the default (the first pull and the detectors\' warm-up, then this budget) instead of after the whole first fit (about 9 minutes on one core).', check: between(0, 3600) }),
  history: f({ type: 'duration', default: 604_800, unit: 's', range: '[2 intervals, 90 days]', help: 'History kept per series (one week).', check: between(2, 90 * 86_400) }),
  retrainEvery: f({ type: 'duration', default: 3600, unit: 's', range: '[interval, 7 days]', help: 'Retraining period (engine time): every series\' model parameters are re-estimated, warm-started from the current ones (model choice is updated online every cycle).', check: between(1, 7 * 86_400) }),
  profileEvery: f({ type: 'duration', default: 3600, unit: 's', range: '[interval, 7 days]', help: 'Behavioural profile refresh period (engine time).', check: between(1, 7 * 86_400) }),
  apiMixMaxTypes: f({ type: 'int', default: 20, unit: 'types', range: '[1, 1000]', help: 'API call types (method and route) a tenant\'s profile keeps apart, its busiest; the others are summed as one type, "(other)". Bounds the memory and the foresight_profile_api_call_ratio series of a tenant with many routes (un-templated paths such as /items/123).', check: between(1, 1000) }),
  staleAfter: f({ type: 'duration', default: 900, unit: 's', range: '[interval, 7 days]', help: 'A series with no sample for this long is marked stale in the API and left out of the forecast families on /metrics (counted in foresight_series_stale).', check: between(1, 7 * 86_400) }),
  vanishAfter: f({ type: 'duration', default: 86_400, unit: 's', range: '[staleAfter, 30 days]', help: 'A series with no sample for this long is dropped, with its models and history; counted to where its signal was last pulled, so an outage or a failing pull drops nothing.', check: between(1, 30 * 86_400) }),
  horizons: f({
    type: 'numbers',
    default: [300, 900, 1800],
    unit: 's',
    range: 'multiples of interval',
    help: 'Forecast horizons, in any order (used in ascending order: the first is the next step the allocation covers).',
    check: (v: number[]) => (v.length > 0 && v.every((x) => x > 0) && new Set(v).size === v.length ? undefined : 'must be distinct positive seconds'),
    // the allocation reads the first horizon as the next step: 1800,300,900 had sized it on the 30-minute forecast
    normalize: (v: number[]) => [...v].sort((a, b) => a - b),
  }),
  quantiles: f({ type: 'numbers', default: [...FORECAST_LEVELS], unit: 'ratio', range: 'one or more, ascending in (0, 1)', help: 'Quantile levels the engine forecasts (the allocation policy chooses among them).', check: ratios }),
  exportQuantiles: f({ type: 'numbers', default: [0.5, 0.9, 0.95, 0.99], unit: 'ratio', range: 'non-empty subset of quantiles', help: 'Quantile levels exposed on /metrics (bounds cardinality).', check: ratios }),
  seasons: f({ type: 'numbers', default: [86_400, 604_800], unit: 's', range: '> 0', help: 'Candidate seasonal periods.', check: (v: number[]) => (v.every((x) => x > 0) ? undefined : 'must be positive seconds') }),
  totalShards: f({ type: 'int', default: 1, unit: 'replicas', range: '[1, 1000]', help: 'Replicas the tenants are split over (1: unsharded). Each owns the tenants whose FNV-1a hash mod totalShards is its shard; see "Sharding" in the README.', check: between(1, 1000) }),
  shard: f({ type: 'int', default: 0, unit: 'index', range: '[0, totalShards)', help: 'This replica\'s shard (e.g. the ordinal of a StatefulSet pod).', check: between(0, 999), hint: 'deploy/sharded/ takes it from the pod label apps.kubernetes.io/pod-index, which Kubernetes sets from 1.28 on; on an older cluster set it per pod' }),
  maxTenants: f({ type: 'int', default: 10_000, unit: 'tenants', range: '[1, 1000000]', help: 'Tenants exposed on /metrics; the rest are counted in foresight_series_dropped_total.', check: between(1, 1_000_000) }),
  maxForecastSeries: f({ type: 'int', default: 500_000, unit: 'series', range: '[1, 10000000]', help: 'foresight_forecast series exposed at most: whole tenants in name order (the rest counted in foresight_series_dropped_total{reason="series_limit"}).', check: between(1, 10_000_000) }),
  targetShortage: f({ type: 'number', default: 0.02, unit: 'ratio', range: '(0, 0.5]', help: 'Target share of intervals where usage exceeds the allocation.', check: (v: number) => (v > 0 && v <= 0.5 ? undefined : 'must be in (0, 0.5]') }),
  anomalyMode: f({
    type: 'string',
    default: 'quarantine',
    unit: 'mode',
    range: 'off|alert-only|quarantine',
    help: 'Anomalous tenants: ignore, alert only, or alert and quarantine (no proactive scale-up, no training).',
    check: (v: string) => ((ANOMALY_MODES as readonly string[]).includes(v) ? undefined : 'must be off, alert-only or quarantine'),
  }),
  anomalyWeekAgo: f({ type: 'bool', default: true, unit: 'bool', range: 'true|false', help: 'A sample within what its series did a week earlier at that time (+-30 min) is no evidence of an anomaly: weekly shapes are not flagged (needs a week and 30 minutes of each series in the history store: from the first cycle with the default history). false also flags in-range changes of pattern.' }),
  anomalyEnterLikelihood: f({
    type: 'number',
    default: DEFAULT_ANOMALY_POLICY.enterLikelihood,
    unit: 'probability',
    range: '(0, 1)',
    help: 'A tenant is flagged anomalous when the likelihood of its strongest new evidence reaches this (each signal calibrated on its own recent scores, the tenant\'s signals combined by Bonferroni). Higher flags less: the default flags a stationary tenant about once a month with light-tailed noise, once per two weeks with heavy tails (npm run bench:calibration); at 0.99999 the bench saw 2 false episodes in 300,000 tenant-cycles with Gaussian noise (30 at the default) and 19-21 with heavy tails (69-76), one per ~50-55 days a tenant.',
    check: (v: number) => (v > 0 && v < 1 ? undefined : 'must be in (0, 1)'),
  }),
  anomalyExitLikelihood: f({
    type: 'number',
    default: DEFAULT_ANOMALY_POLICY.exitLikelihood,
    unit: 'probability',
    range: '(0, anomalyEnterLikelihood]',
    help: 'An anomalous tenant starts to recover once its likelihood stays below this (then after 3 calm cycles it is cleared).',
    check: (v: number) => (v > 0 && v < 1 ? undefined : 'must be in (0, 1)'),
  }),
  kubernetes: f({ type: 'bool', default: false, unit: 'bool', range: 'true|false', help: 'Run the actuator against the Kubernetes API (in-cluster ServiceAccount or kubeconfig); it stays dry-run unless actuator.dryRun is false.' }),
  demoTrace: f({ type: 'string', default: '', unit: 'path', range: 'canonical trace (.csv/.csv.gz)', help: 'Trace replayed by the demo (default: examples/demo-trace.csv.gz).' }),
  demoSpeed: f({ type: 'number', default: 600, unit: 'x', range: '[1, 100000]', help: 'Demo clock speed: engine seconds per real second.', check: between(1, 100_000) }),
};

export type SchemaKey = keyof typeof schema;
type ValueOf<K extends SchemaKey> = (typeof schema)[K]['default'];

/** The validated configuration (frozen). Durations are seconds. */
export type BaseConfig = { -readonly [K in SchemaKey]: ValueOf<K> extends readonly string[] ? string[] : ValueOf<K> extends readonly number[] ? number[] : ValueOf<K> };

/** camelCase key -> FORESIGHT_UPPER_SNAKE. */
export function envName(key: string, prefix = 'FORESIGHT_'): string {
  return prefix + key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}
