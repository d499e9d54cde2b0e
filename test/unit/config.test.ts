import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { run as runStart } from '../../src/commands/start.js';
import { anomalyPolicyOf, loadConfig, parseDuration } from '../../src/config/load.js';
import { DEFAULT_ANOMALY_POLICY } from '../../src/logic/anomaly.js';
import { renderHelp } from '../../src/config/help.js';
import { limitFor } from '../../src/config/limits.js';
import { schema } from '../../src/config/schema.js';
import { configWarnings } from '../../src/config/warnings.js';
import { renderQuery } from '../../src/sources/prometheus-source.js';


/** A Prometheus to pull from: the interval rules bind only then. */
const PROM = { FORESIGHT_PROMETHEUS_URL: 'http://prometheus:9090' };
describe('loadConfig', () => {
  it('gives the documented defaults with an empty environment', () => {
    const c = loadConfig({ env: {} });
    expect(c.port).toBe(8080);
    expect(c.tenantLabel).toBe('namespace');
    expect(c.retrainEvery).toBe(3600);
    expect(c.prometheusUrl).toBe('');
    expect(c.signalSpecs.length).toBe(c.signals.length);
    expect(c.actuator.dryRun).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('takes the horizons in any order and uses them ascending (the allocation reads the first as the next step)', () => {
    expect(loadConfig({ env: { FORESIGHT_HORIZONS: '1800,300,900' } }).horizons).toEqual([300, 900, 1800]);
  });

  it('lets environment variables override the YAML file, which overrides defaults', () => {
    const c = loadConfig({
      env: { FORESIGHT_PORT: '9999', FORESIGHT_RETRAIN_EVERY: '2h', FORESIGHT_EXCLUDE_TENANTS: 'a, b', FORESIGHT_ACTUATOR_DRY_RUN: 'false' },
      yamlText: 'port: 7000\ninterval: 1m\nhorizons: [300, 600]\nqueries:\n  cpu: sum by ({{tenant}}) (rate(my_cpu[{{window}}]))\nactuator:\n  tolerance: 0.1\n',
    });
    expect(c.port).toBe(9999);
    expect(c.interval).toBe(60);
    expect(c.retrainEvery).toBe(7200);
    expect(c.horizons).toEqual([300, 600]);
    expect(c.excludeTenants).toEqual(['a', 'b']);
    expect(c.signalSpecs.find((s) => s.resource === 'cpu')!.query).toContain('my_cpu');
    expect(c.actuator.tolerance).toBe(0.1);
    expect(c.actuator.dryRun).toBe(false);
  });

  it('fails at start-up naming every problem at once', () => {
    let msg = '';
    try {
      loadConfig({
        env: { ...PROM, FORESIGHT_PORT: '70000', FORESIGHT_TENANT_LABEL: 'name space', FORESIGHT_INTERVAL: 'soon', FORESIGHT_QUANTILES: '0.9,0.5' },
        yamlText: 'bogus: 1\nhorizons: [100]\nactuator:\n  targetQuantile: 2\n',
      });
    } catch (err) {
      expect((err as { code?: string }).code).toBe('FORESIGHT_ERR_CONFIG_INVALID');
      msg = (err as Error).message;
    }
    for (const want of ['FORESIGHT_PORT', 'tenantLabel', 'FORESIGHT_INTERVAL', 'quantiles', 'unknown key "bogus"', 'horizons: 100s', 'actuator.targetQuantile']) {
      expect(msg).toContain(want);
    }
  });

  it('rejects an overridden query that does not group by the tenant, and an unknown signal', () => {
    expect(() => loadConfig({ env: { FORESIGHT_QUERY_CPU: 'sum(rate(x[5m]))' } })).toThrow(/\{\{tenant\}\}/);
    expect(() => loadConfig({ env: { FORESIGHT_SIGNALS: 'cpu,gpu' } })).toThrow(/unknown signal "gpu"/);
  });

  it('reads limits of resources without a knob: YAML default and per-tenant overrides, FORESIGHT_LIMIT_<SIGNAL> env', () => {
    expect(loadConfig({ env: {} }).resourceLimits).toEqual({});
    const c = loadConfig({
      env: { FORESIGHT_LIMIT_THREADS: '2000' },
      yamlText: 'limits:\n  fds: 1024\n  disk_read:\n    tenants:\n      shop: 5e7\n  threads:\n    default: 500\n    tenants: { shop: 4000 }\n',
    });
    expect(c.resourceLimits.fds).toEqual({ default: 1024, tenants: {} });
    expect(c.resourceLimits.disk_read).toEqual({ tenants: { shop: 5e7 } });
    // the environment sets the default; the YAML overrides per tenant stay
    expect(c.resourceLimits.threads).toEqual({ default: 2000, tenants: { shop: 4000 } });
    expect(limitFor(c.resourceLimits, 'shop', 'threads')).toBe(4000);
    expect(limitFor(c.resourceLimits, 'web', 'threads')).toBe(2000);
    expect(limitFor(c.resourceLimits, 'web', 'disk_read')).toBeUndefined();
    expect(limitFor(c.resourceLimits, 'web', 'cpu')).toBeUndefined();
  });

  it('rejects limits of enforced resources, unknown signals and non-positive values', () => {
    let msg = '';
    try {
      loadConfig({ env: { FORESIGHT_LIMIT_GPU: '1', FORESIGHT_LIMIT_FDS: '-3' }, yamlText: 'limits:\n  cpu: 4\n  threads: { tenants: { a: zero } }\n' });
    } catch (err) {
      expect((err as { code?: string }).code).toBe('FORESIGHT_ERR_CONFIG_INVALID');
      msg = (err as Error).message;
    }
    for (const want of ['limits.cpu (config file): cpu has a Kubernetes knob', 'FORESIGHT_LIMIT_GPU', 'FORESIGHT_LIMIT_FDS: expected a positive number', 'limits.threads.tenants.a']) {
      expect(msg).toContain(want);
    }
  });

  it('rejects YAML sequences and mappings where a scalar is expected, and list items that are not strings', () => {
    const msg = problemsOf({
      env: {},
      yamlText: 'port: [18193]\ncycle: {s: 60}\nhost: ~\nkubernetes: [true]\nincludeTenants: {auth: 1}\nexcludeTenants: [kube-system, 010, [x]]\nhorizons: [[300]]\nactuator:\n  tolerance: [0.1]\n',
    });
    for (const want of [
      'port (config file): expected an integer, got [18193]',
      'cycle (config file): expected a duration',
      'host (config file): expected a string, got an empty value (null)',
      'kubernetes (config file): expected true or false, got [true]',
      'includeTenants (config file): expected a list (a YAML sequence or a comma-separated string), got {"auth":1}',
      'excludeTenants (config file): expected a list of strings, got the item 10',
      'horizons (config file): expected a list of numbers, got the item [300]',
      'actuator.tolerance (config file): expected a number, got [0.1]',
    ]) {
      expect(msg).toContain(want);
    }
    // the values YAML gives as scalars are still accepted
    const c = loadConfig({ env: {}, yamlText: 'port: "9000"\ncycle: 30\nincludeTenants: "a, b"\nhorizons: 300\nkubernetes: yes\n' });
    expect([c.port, c.cycle, c.includeTenants, c.horizons, c.kubernetes]).toEqual([9000, 30, ['a', 'b'], [300], true]);
  });

  it('flags queries.* keys that name no configured signal, queries that are not strings, and a queries that is not a mapping', () => {
    const msg = problemsOf({ env: {}, yamlText: 'signals: [cpu, memory]\nqueries:\n  cpu: 5\n  cpuu: sum by ({{tenant}}) (x)\n' });
    expect(msg).toContain('queries.cpu (config file): expected a PromQL string, got 5');
    expect(msg).toContain('queries.cpuu (config file): "cpuu" is not one of the configured signals (cpu, memory)');
    expect(problemsOf({ env: {}, yamlText: 'queries: [cpu]\n' })).toContain('queries (config file): expected a mapping, got ["cpu"]');
  });

  it('labels each problem with where its value came from: the YAML key or the variable', () => {
    const msg = problemsOf({ env: { ...PROM, FORESIGHT_MAX_TENANTS: '0', FORESIGHT_INTERVAL: '10m' }, yamlText: 'port: 70000\nhorizons: [300]\nactuator:\n  targetQuantile: 2\n' });
    expect(msg).toContain('port (config file) must be in [1, 65535]');
    expect(msg).not.toContain('FORESIGHT_PORT');
    expect(msg).toContain('maxTenants (FORESIGHT_MAX_TENANTS) must be in');
    expect(msg).toContain('horizons: 300s is not a multiple of interval 600s (horizons: config file, interval: FORESIGHT_INTERVAL)');
    expect(msg).toContain('actuator.targetQuantile (config file) must be');
    expect(problemsOf({ env: { FORESIGHT_ACTUATOR_TARGET_QUANTILE: '2' } })).toContain('actuator.targetQuantile (FORESIGHT_ACTUATOR_TARGET_QUANTILE) must be');
  });

  it('keeps retrainEvery, profileEvery and staleAfter within their documented range [interval, 7 days]', () => {
    const msg = problemsOf({ env: { ...PROM, FORESIGHT_RETRAIN_EVERY: '4m', FORESIGHT_STALE_AFTER: '299' }, yamlText: 'profileEvery: 60\n' });
    expect(msg).toContain('retrainEvery (240s) must be >= interval (300s) (retrainEvery: FORESIGHT_RETRAIN_EVERY, interval: default)');
    expect(msg).toContain('profileEvery (60s) must be >= interval (300s) (profileEvery: config file, interval: default)');
    expect(msg).toContain('staleAfter (299s) must be >= interval (300s)');
    // equal to the interval is within the range
    const c = loadConfig({ env: { FORESIGHT_INTERVAL: '1m', FORESIGHT_RETRAIN_EVERY: '60', FORESIGHT_PROFILE_EVERY: '1m', FORESIGHT_STALE_AFTER: '60s' } });
    expect([c.retrainEvery, c.profileEvery, c.staleAfter]).toEqual([60, 60, 60]);
  });

  it('refuses a rate window shorter than the interval or zero, and a horizon or signal named twice', () => {
    const msg = problemsOf({ env: { ...PROM, FORESIGHT_RATE_WINDOW: '1m', FORESIGHT_HORIZONS: '300,300,900', FORESIGHT_SIGNALS: 'cpu,cpu,memory' } });
    expect(msg).toContain('rateWindow (1m) must be >= interval (300s): rate() over a shorter window sees only part of each interval and misses the bursts between the points (rateWindow: FORESIGHT_RATE_WINDOW, interval: default)');
    expect(msg).toContain('horizons (FORESIGHT_HORIZONS) must be distinct positive seconds');
    expect(msg).toContain('signals (FORESIGHT_SIGNALS) must name each signal once');
    expect(problemsOf({ env: { FORESIGHT_RATE_WINDOW: '0s' } })).toContain('rateWindow (FORESIGHT_RATE_WINDOW) must be a positive PromQL duration like 5m');
    expect(loadConfig({ env: { FORESIGHT_INTERVAL: '10m', FORESIGHT_RATE_WINDOW: '10m', FORESIGHT_HORIZONS: '600,1800' } }).rateWindow).toBe('10m');
  });

  it('refuses an empty list of quantiles, export quantiles or horizons (an empty variable, an empty YAML sequence)', () => {
    const msg = problemsOf({ env: { FORESIGHT_QUANTILES: '', FORESIGHT_HORIZONS: ' , ' }, yamlText: 'exportQuantiles: []\n' });
    expect(msg).toContain('quantiles (FORESIGHT_QUANTILES) must list at least one level');
    expect(msg).toContain('exportQuantiles (config file) must list at least one level');
    expect(msg).toContain('horizons (FORESIGHT_HORIZONS) must be distinct positive seconds');
    expect(problemsOf({ env: { FORESIGHT_EXPORT_QUANTILES: '' } })).toContain('exportQuantiles (FORESIGHT_EXPORT_QUANTILES) must list at least one level');
  });

  it('checks the actuator\'s annotation and label keys and its resource names at start-up, with the other problems', () => {
    const msg = problemsOf({
      env: { FORESIGHT_PORT: '0', FORESIGHT_ACTUATOR_TENANT_ANNOTATION: 'not a key!', FORESIGHT_ACTUATOR_QUOTA_OPT_IN_LABEL: '%%', FORESIGHT_ACTUATOR_CPU_RESOURCE: 'cpuu' },
      yamlText: 'signals: [cpu, memory, pods]\nactuator:\n  containerSharesAnnotation: "-x/y"\n  shadowMemoryResource: mem\n',
    });
    for (const want of [
      'port (FORESIGHT_PORT) must be in [1, 65535]',
      'actuator.tenantAnnotation (FORESIGHT_ACTUATOR_TENANT_ANNOTATION) must be an annotation key, [prefix/]name',
      'got "not a key!"',
      'actuator.quotaOptInLabel (FORESIGHT_ACTUATOR_QUOTA_OPT_IN_LABEL) must be a label key',
      'actuator.containerSharesAnnotation (config file) must be an annotation key',
      'actuator.cpuResource (FORESIGHT_ACTUATOR_CPU_RESOURCE): "cpuu" is not one of the configured signals (cpu, memory, pods)',
      'actuator.shadowMemoryResource (config file): "mem" is not one of the configured signals (cpu, memory, pods)',
    ]) {
      expect(msg).toContain(want);
    }
    // defaults a configuration leaves unused (no ephemeral_storage signal) are no problem; a key with a prefix is fine
    const c = loadConfig({ env: { FORESIGHT_SIGNALS: 'cpu,memory,pods', FORESIGHT_ACTUATOR_TENANT_ANNOTATION: 'team.example.com/tenant', FORESIGHT_ACTUATOR_MEMORY_RESOURCE: 'memory' } });
    expect([c.actuator.tenantAnnotation, c.actuator.ephemeralStorageResource]).toEqual(['team.example.com/tenant', 'ephemeral_storage']);
  });

  it('takes the rate windows PromQL takes (1w, 1h30m), bare seconds as <n>s, and refuses what PromQL refuses', () => {
    const window = (w: string) => loadConfig({ env: { ...PROM, FORESIGHT_RATE_WINDOW: w } }).rateWindow;
    expect(window('1w')).toBe('1w');
    expect(window('1h30m')).toBe('1h30m');
    expect(window('300')).toBe('300s');
    expect(window('1y')).toBe('1y');
    expect(window('5m30s')).toBe('5m30s');
    for (const bad of ['30m1h', '1.5h', '5M', '5 m', '-5m', '0', '0h0m', 'm', '1.5']) {
      expect(problemsOf({ env: { FORESIGHT_RATE_WINDOW: bad } }), bad).toContain('rateWindow (FORESIGHT_RATE_WINDOW) must be a positive PromQL duration like 5m or 1h30m, or whole seconds');
    }
    // the interval rule reads the whole duration: 4m59s is shorter than 5 minutes
    expect(problemsOf({ env: { ...PROM, FORESIGHT_RATE_WINDOW: '4m59s' } })).toContain('rateWindow (4m59s) must be >= interval (300s)');
    // and the queries carry it as given
    const c = loadConfig({ env: { ...PROM, FORESIGHT_RATE_WINDOW: '1h30m' } });
    expect(renderQuery(c.signalSpecs.find((sg) => sg.resource === 'cpu')!.query, { ...c, rateWindow: c.rateWindow })).toContain('[1h30m]');
  });

  it('refuses an empty or blank host to listen on', () => {
    expect(problemsOf({ env: { FORESIGHT_HOST: '' } })).toContain('host (FORESIGHT_HOST) must not be empty (0.0.0.0: every IPv4 address, :: every address)');
    expect(problemsOf({ yamlText: 'host: " "\n' })).toContain('host (config file) must not be empty');
    expect(problemsOf({ env: { FORESIGHT_HOST: 'local host' } })).toContain('host (FORESIGHT_HOST) must not contain white space');
    expect(loadConfig({ env: { FORESIGHT_HOST: '::' } }).host).toBe('::');
  });

  it('leaves the interval rules to Prometheus: the embedded demo takes its trace\'s interval (main.ts checks the horizons)', () => {
    const c = loadConfig({ env: { FORESIGHT_INTERVAL: '600', FORESIGHT_RATE_WINDOW: '1m' } });
    expect([c.interval, c.horizons, c.rateWindow]).toEqual([600, [300, 900, 1800], '1m']);
    expect(problemsOf({ env: { ...PROM, FORESIGHT_INTERVAL: '600' } })).toContain('horizons: 300s is not a multiple of interval 600s');
  });

  it('refuses `foresight start --config` without a path instead of starting on the defaults', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await runStart(['--config'])).toBe(2);
      expect(await runStart(['-c', '--port'])).toBe(2);
      expect(err.mock.calls.map((c) => String(c[0]))).toEqual(['foresight start: --config needs a file path (see foresight start --help)', 'foresight start: -c needs a file path (see foresight start --help)']);
    } finally {
      err.mockRestore();
    }
  });

  it('reads the anomaly thresholds, keeps them in (0, 1) with exit <= enter, and gives the policy both', () => {
    const c = loadConfig({ env: { FORESIGHT_ANOMALY_ENTER_LIKELIHOOD: '0.99999' }, yamlText: 'anomalyExitLikelihood: 0.995\n' });
    expect(anomalyPolicyOf(c)).toEqual({ weekAgo: true, enterLikelihood: 0.99999, exitLikelihood: 0.995 });
    expect(anomalyPolicyOf(loadConfig({ env: {} }))).toEqual({ weekAgo: true, enterLikelihood: DEFAULT_ANOMALY_POLICY.enterLikelihood, exitLikelihood: DEFAULT_ANOMALY_POLICY.exitLikelihood });
    expect(problemsOf({ env: { FORESIGHT_ANOMALY_ENTER_LIKELIHOOD: '1' } })).toContain('anomalyEnterLikelihood (FORESIGHT_ANOMALY_ENTER_LIKELIHOOD) must be in (0, 1)');
    expect(problemsOf({ yamlText: 'anomalyExitLikelihood: 0\n' })).toContain('anomalyExitLikelihood (config file) must be in (0, 1)');
    expect(problemsOf({ env: { FORESIGHT_ANOMALY_ENTER_LIKELIHOOD: '0.95' } })).toContain(
      'anomalyExitLikelihood (0.99) must be <= anomalyEnterLikelihood (0.95) (anomalyExitLikelihood: default, anomalyEnterLikelihood: FORESIGHT_ANOMALY_ENTER_LIKELIHOOD)',
    );
  });

  it('parses durations', () => {
    expect(parseDuration('5m')).toBe(300);
    expect(parseDuration('1.5h')).toBe(5400);
    expect(parseDuration(42)).toBe(42);
    expect(parseDuration('soon')).toBeNaN();
    expect(parseDuration('.5')).toBe(0.5);
  });

  it('reads numbers as people write them (.5, 2e-2), and not hex or other literals Number() would take', () => {
    const c = loadConfig({ env: { FORESIGHT_QUANTILES: '.5,.9,.95,.99', FORESIGHT_EXPORT_QUANTILES: '.5,.9', FORESIGHT_TARGET_SHORTAGE: '2e-2' } });
    expect([c.quantiles, c.exportQuantiles, c.targetShortage]).toEqual([[0.5, 0.9, 0.95, 0.99], [0.5, 0.9], 0.02]);
    expect(problemsOf({ env: { FORESIGHT_PORT: '0x1F90' } })).toContain('port (FORESIGHT_PORT): expected an integer, got "0x1F90"');
    expect(problemsOf({ env: { FORESIGHT_DEMO_SPEED: '0b101' } })).toContain('demoSpeed (FORESIGHT_DEMO_SPEED): expected a number, got "0b101"');
  });
});

/** The problem list of an invalid configuration ('' when it loads). */
function problemsOf(opts: Parameters<typeof loadConfig>[0]): string {
  try {
    loadConfig(opts);
    return '';
  } catch (err) {
    expect((err as { code?: string }).code).toBe('FORESIGHT_ERR_CONFIG_INVALID');
    return (err as Error).message;
  }
}

describe('configWarnings', () => {
  it('says nothing of the default exported quantiles', () => {
    expect(configWarnings(loadConfig({ env: {} }))).toEqual([]);
  });

  it('warns, without refusing, when exportQuantiles leaves out 0.9 or 0.5, naming what stops working', () => {
    const c = loadConfig({ env: { FORESIGHT_EXPORT_QUANTILES: '0.95,0.99' } });
    const w = configWarnings(c);
    expect(w.map((x) => x.setting)).toEqual(['exportQuantiles', 'exportQuantiles']);
    expect(w[0].message).toMatch(/leaves out 0\.9.*ForesightResourceForecastExceedsLimit never fires.*p90.*FORESIGHT_EXPORT_QUANTILES/);
    expect(w[1].message).toMatch(/leaves out 0\.5.*p50 forecast lines/);
    expect(configWarnings(loadConfig({ env: { FORESIGHT_EXPORT_QUANTILES: '0.5,0.95' } })).map((x) => x.message)).toEqual([expect.stringMatching(/leaves out 0\.9/)]);
  });
});

describe('renderHelp', () => {
  it('lists every field with its variable, default, unit and range', () => {
    const h = renderHelp();
    for (const k of Object.keys(schema)) expect(h).toContain(`(${k})`);
    expect(h).toContain('FORESIGHT_PORT');
    expect(h).toContain('default 8080 | unit port | range [1, 65535]');
    expect(h).toContain('FORESIGHT_ACTUATOR_DRY_RUN');
  });

  it('says in the help of cycle that the ForesightStale alert assumes cycles well under 15 minutes', () => {
    // the alert's threshold, as the help quotes it
    const rules = readFileSync(new URL('../../alerts/foresight.rules.yaml', import.meta.url), 'utf8');
    const stale = rules.slice(rules.indexOf('alert: ForesightStale'), rules.indexOf('- alert:', rules.indexOf('alert: ForesightStale')));
    expect(stale).toMatch(/ > 900\b/);
    expect(renderHelp()).toContain("Real time between two cycles. alerts/foresight.rules.yaml's ForesightStale assumes cycles well under 15 minutes: it fires after 900 s without a successful cycle.");
  });
});
