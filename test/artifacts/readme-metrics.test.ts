// The README's metrics table, read as a reader would (not regenerated), lists exactly the catalogue's metrics with their
// types and labels, and every metric the alerts and dashboards use appears in it or is a standard one.
// Expected format: a Markdown table under "## Metrics" whose header is `| metric | type | labels | help |` and whose
// rows are `` | `name` | gauge | `label1`, `label2` | help text | `` (labels cell empty when there are none).
import { describe, expect, it } from 'vitest';
import { catalogue } from '../../src/metrics/catalogue.js';
import { allPanels, dashboardFiles, isStandardMetric, loadAlertRules, loadDashboard, metricNames, readText } from './promql.js';

interface Row {
  name: string;
  type: string;
  labels: string[];
  help: string;
}

function readmeMetricsTable(): Row[] {
  const readme = readText('README.md');
  const section = /^## Metrics\s*$([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme);
  if (!section) throw new Error('README.md has no "## Metrics" section');
  const lines = section[1].split('\n').filter((l) => l.trim().startsWith('|'));
  const header = lines[0]?.split('|').slice(1, -1).map((c) => c.trim().toLowerCase());
  if (JSON.stringify(header) !== JSON.stringify(['metric', 'type', 'labels', 'help'])) {
    throw new Error(`README metrics table header must be "| metric | type | labels | help |", found ${lines[0] ?? 'no table'}`);
  }
  return lines.slice(2).map((l) => {
    const cells = l.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    const name = /^`([a-z_:][a-z0-9_:]*)`$/.exec(cells[0])?.[1];
    if (!name) throw new Error(`README metrics row without a metric name in backticks: ${l}`);
    const labels = cells[2] === '' ? [] : cells[2].split(',').map((x) => x.trim().replace(/^`|`$/g, ''));
    return { name, type: cells[1], labels, help: cells[3] };
  });
}

describe('README metrics table', () => {
  const rows = readmeMetricsTable();
  const byName = new Map(rows.map((r) => [r.name, r]));

  it('has one row per catalogue metric and nothing else', () => {
    expect(rows.map((r) => r.name).sort()).toEqual(Object.values(catalogue).map((d) => d.name).sort());
    expect(byName.size).toBe(rows.length);
  });

  it('gives each metric the catalogue type, labels and a help text', () => {
    for (const d of Object.values(catalogue)) {
      const r = byName.get(d.name)!;
      expect(r.type, d.name).toBe(d.type);
      expect(r.labels, d.name).toEqual([...d.labels]);
      expect(r.help.length, d.name).toBeGreaterThan(10);
    }
  });

  it('documents every Foresight metric the alerts and dashboards use', () => {
    const used = new Set<string>();
    for (const r of loadAlertRules()) for (const n of metricNames(r.expr)) used.add(n);
    for (const f of dashboardFiles()) for (const p of allPanels(loadDashboard(f))) for (const t of p.targets ?? []) for (const n of metricNames(t.expr ?? '')) used.add(n);
    for (const n of used) {
      if (isStandardMetric(n)) continue;
      const base = n.replace(/_(bucket|sum|count)$/, '');
      expect(byName.has(n) || byName.get(base)?.type === 'histogram', `${n} is used but not in the README table`).toBe(true);
    }
  });
});
