// The alert rules follow the project's conventions: severity, summary, description, a runbook anchor that exists,
// metrics and labels from the catalogue, and promtool tests with a firing and a non-firing case per alert.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allocatorTuning, createForecastEngine } from '../../src/core/engine.js';
import { DEFAULT_HORIZONS_S, DEFAULT_QUANTILES } from '../../src/core/types.js';
import { horizonLabel } from '../../src/metrics/handles.js';
import { DEFAULT_SIGNALS } from '../../src/sources/default-signals.js';
import {
  allowedLabels,
  catalogueEntry,
  isStandardMetric,
  loadAlertRules,
  metricNames,
  readText,
  RULES_TEST_FILE,
  runbookAnchors,
  selectorLabels,
} from './promql.js';

/** The alerts issues 6 and 7 ask for, and those on the actuator itself. */
const REQUIRED = [
  'ForesightTenantAnomalous',
  'ForesightForecastErrorHigh',
  'ForesightAllocationShortage',
  'ForesightShadowCapacityExhausted',
  'ForesightStale',
  'ForesightDown',
  'ForesightResourceForecastExceedsLimit',
  'ForesightActuatorForbidden',
  'ForesightActuatorLeaderMissing',
];

interface PromtoolCase {
  name: string;
  input_series?: Array<{ series: string; values: string }>;
  alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>;
}

/** `name{a="x", b="y"}` of a promtool input series. */
function parseSeries(s: string): { metric: string; labels: Record<string, string> } {
  const m = /^\s*([a-zA-Z_:][\w:]*)\s*(?:\{(.*)\})?\s*$/s.exec(s);
  if (!m) throw new Error(`not a series: ${s}`);
  return { metric: m[1], labels: Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]])) };
}

const rules = loadAlertRules();
const anchors = runbookAnchors();
const cases = (parse(readText(RULES_TEST_FILE)) as { tests: PromtoolCase[] }).tests;

describe('alert rules', () => {
  it('define every alert the issues ask for, each once', () => {
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const n of REQUIRED) expect(names).toContain(n);
  });

  for (const r of rules) {
    describe(r.alert, () => {
      it('has a severity of critical, warning or info', () => {
        expect(['critical', 'warning', 'info']).toContain(r.labels?.severity);
      });

      it('has a summary and a description', () => {
        expect(r.annotations?.summary?.trim().length ?? 0).toBeGreaterThan(10);
        expect(r.annotations?.description?.trim().length ?? 0).toBeGreaterThan(20);
      });

      it('links to an existing section of alerts/runbook.md', () => {
        const url = r.annotations?.runbook_url ?? '';
        const m = /(?:^|\/)runbook\.md#([\w-]+)$/.exec(url);
        expect(m, `runbook_url "${url}" must end in runbook.md#<anchor>`).not.toBeNull();
        expect(anchors.has(m![1]), `anchor #${m![1]} missing from runbook.md`).toBe(true);
        expect(m![1]).toBe(r.alert.toLowerCase());
      });

      it('selects only catalogue metrics (or standard ones) with their own labels', () => {
        const names = metricNames(r.expr);
        expect(names.length).toBeGreaterThan(0);
        for (const n of names) expect(catalogueEntry(n) !== undefined || isStandardMetric(n), `unknown metric ${n}`).toBe(true);
        for (const { metric, labels } of selectorLabels(r.expr)) {
          if (!catalogueEntry(metric)) continue;
          const ok = allowedLabels(metric);
          for (const l of labels) expect(ok.has(l), `${metric} has no label ${l}`).toBe(true);
        }
      });

      it('has promtool tests named "<Alert> fires when ..." and a case where it must not fire', () => {
        const mine = cases.filter((c) => c.alert_rule_test?.some((t) => t.alertname === r.alert));
        const firing = mine.filter((c) => c.name.startsWith(`${r.alert} fires when `) && c.alert_rule_test!.some((t) => t.alertname === r.alert && (t.exp_alerts?.length ?? 0) > 0));
        const silent = mine.filter((c) => c.alert_rule_test!.some((t) => t.alertname === r.alert && (t.exp_alerts?.length ?? 0) === 0));
        expect(firing.length, 'firing cases').toBeGreaterThan(0);
        expect(silent.length, 'non-firing cases').toBeGreaterThan(0);
      });
    });
  }

  it('are tested with the label values the exporter writes', () => {
    // what src/metrics/exporter.ts writes: horizons through horizonLabel, quantiles through String(), the engine's
    // model names, the bounds of a recommendation, the default signals' resources; coverage only for the models whose
    // quantiles the sidecar issues (allocatorTuning: the ensemble alone); model_chosen only for models with series
    const models = createForecastEngine({ intervalS: 300 }, undefined, { gru: true }).modelNames;
    const allowed: Record<string, readonly string[]> = {
      horizon: DEFAULT_HORIZONS_S.map(horizonLabel),
      quantile: DEFAULT_QUANTILES.map(String),
      model: models,
      bound: ['target', 'lower', 'upper'],
      resource: DEFAULT_SIGNALS.map((x) => x.resource),
      // desired: the exporter's (uncapped forecast); target and reserved: the actuator's (src/actuator/metrics.ts)
      state: ['desired', 'target', 'reserved'],
    };
    const issued = allocatorTuning(300).perModelQuantiles === false ? ['ensemble'] : models;
    let checked = 0;
    for (const c of cases) {
      for (const input of c.input_series ?? []) {
        const { metric, labels } = parseSeries(input.series);
        if (!catalogueEntry(metric)) continue;
        for (const [l, v] of Object.entries(labels)) {
          if (!allowed[l]) continue;
          expect(allowed[l], `${c.name}: ${input.series}`).toContain(v);
          checked++;
        }
        if (metric === 'foresight_forecast_coverage_ratio') expect(issued, `${c.name}: ${input.series}`).toContain(labels.model);
        if (metric === 'foresight_model_chosen') expect(input.values, `${c.name}: ${input.series} (the exporter leaves zero counts out)`).not.toMatch(/(^|\s)0(x|\s|$)/);
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('reads PromQL the way the checks above assume', () => {
    // guards the helper: a check built on a reader that finds nothing could never fail
    const e = 'sum without (outcome) (increase(foresight_cycles_total{outcome="success"}[15m])) == 0 or absent(up{job="foresight"}) and on (job) x_y offset 5m + z offset ${h}s';
    expect(metricNames(e).sort()).toEqual(['foresight_cycles_total', 'up', 'x_y', 'z']);
    expect(selectorLabels(e)).toEqual([
      { metric: 'foresight_cycles_total', labels: ['outcome'] },
      { metric: 'up', labels: ['job'] },
    ]);
    expect(metricNames('label_replace(vector(0.5), "quantile", "0.5", "", "") > 1e10')).toEqual([]);
  });
});
