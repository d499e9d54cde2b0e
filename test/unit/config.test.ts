import { describe, expect, it } from 'vitest';
import { loadConfig, parseDuration } from '../../src/config/load.js';
import { renderHelp } from '../../src/config/help.js';
import { limitFor } from '../../src/config/limits.js';
import { schema } from '../../src/config/schema.js';

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
        env: { FORESIGHT_PORT: '70000', FORESIGHT_TENANT_LABEL: 'name space', FORESIGHT_INTERVAL: 'soon', FORESIGHT_QUANTILES: '0.9,0.5' },
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

  it('parses durations', () => {
    expect(parseDuration('5m')).toBe(300);
    expect(parseDuration('1.5h')).toBe(5400);
    expect(parseDuration(42)).toBe(42);
    expect(parseDuration('soon')).toBeNaN();
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
});
