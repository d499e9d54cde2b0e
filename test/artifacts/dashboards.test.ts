// The Grafana dashboards are current with their TypeScript definitions and follow the conventions: stable uids, a
// Prometheus datasource variable used by every query, a unit on every panel, catalogue metrics with their own labels.
import { describe, expect, it } from 'vitest';
import { DASHBOARDS, renderDashboard } from '../../scripts/dashboards/build.js';
import { RESOURCE_UNITS } from '../../scripts/dashboards/common.js';
import { RESOURCE_GROUPS } from '../../scripts/dashboards/tenant.js';
import { DEFAULT_SIGNALS } from '../../src/sources/default-signals.js';
import {
  allowedLabels,
  allPanels,
  catalogueEntry,
  dashboardFiles,
  isStandardMetric,
  loadDashboard,
  metricNames,
  parseLabelValues,
  readText,
  RULES_FILE,
  selectorLabels,
  usedVariables,
  variableQuery,
} from './promql.js';

/** Published uids: links and provisioning depend on them, so they never change. */
const STABLE_UIDS: Record<string, string> = {
  'foresight-overview.json': 'foresight-overview',
  'foresight-tenant.json': 'foresight-tenant',
};

describe('dashboards', () => {
  it('are exactly the files scripts/dashboards/build.ts writes (run `npx tsx scripts/dashboards/build.ts`)', () => {
    expect(dashboardFiles()).toEqual(Object.keys(DASHBOARDS).sort());
    for (const [file, build] of Object.entries(DASHBOARDS)) expect(readText(`dashboards/${file}`), file).toBe(renderDashboard(build()));
  });

  it('give every default signal a unit and a panel on the tenant dashboard', () => {
    const signals = DEFAULT_SIGNALS.map((x) => x.resource).sort();
    expect(Object.keys(RESOURCE_UNITS).sort()).toEqual(signals);
    const charted = RESOURCE_GROUPS.flatMap((g) => g.resources.split('|')).sort();
    expect(charted).toEqual(signals);
    for (const g of RESOURCE_GROUPS) for (const r of g.resources.split('|')) expect(RESOURCE_UNITS[r], `${g.title}: ${r}`).toBe(g.unit);
  });

  it('include a tenant drill-down with a tenant variable', () => {
    const d = loadDashboard('foresight-tenant.json');
    expect(d.templating.list.some((v) => v.name === 'tenant' && v.type === 'query')).toBe(true);
  });

  it('show a replica that has not finished a cycle as "no cycle yet", and an age past ForesightStale\'s in red', () => {
    // foresight_last_successful_cycle_timestamp_seconds is 0 until the first cycle, so the stat's time() - min(...) is
    // the epoch's age (decades); it read as "56 years" before the mapping.
    const p = allPanels(loadDashboard('foresight-overview.json')).find((x) => x.title === 'Since last successful cycle');
    const defaults = p?.fieldConfig?.defaults;
    const neverCycled = Date.now() / 1000;
    const aWeekOld = 7 * 86_400;
    const mapped = (age: number) =>
      (defaults?.mappings ?? []).find((m) => m.type === 'range' && (m.options.from ?? -Infinity) <= age && age <= (m.options.to ?? Infinity))?.options.result?.text;
    expect(mapped(neverCycled)).toBe('no cycle yet');
    expect(mapped(aWeekOld)).toBeUndefined();
    const stale = /\(time\(\) - foresight_last_successful_cycle_timestamp_seconds\) > (\d+)/.exec(readText(RULES_FILE))?.[1];
    expect(stale).toBeDefined();
    const red = (defaults?.thresholds?.steps ?? []).filter((s) => s.color === 'red').map((s) => s.value);
    expect(red).toEqual([Number(stale)]);
  });

  for (const file of dashboardFiles()) {
    describe(file, () => {
      const d = loadDashboard(file);
      const panels = allPanels(d);
      const vars = d.templating.list;

      it('has its stable uid', () => {
        expect(d.uid).toBe(STABLE_UIDS[file]);
        expect(d.uid.length).toBeLessThanOrEqual(40);
      });

      it('has a Prometheus datasource variable that every panel, query and variable uses', () => {
        const ds = vars.find((v) => v.type === 'datasource');
        expect(ds?.name).toBe('datasource');
        expect(ds?.query).toBe('prometheus');
        for (const p of panels) {
          expect(p.datasource?.uid, p.title).toBe('${datasource}');
          for (const t of p.targets ?? []) expect(t.datasource?.uid, `${p.title} ${t.refId}`).toBe('${datasource}');
        }
        for (const v of vars.filter((x) => x.type === 'query')) expect(v.datasource?.uid, v.name).toBe('${datasource}');
      });

      it('gives every panel a unit and at least one query with a unique refId', () => {
        expect(panels.length).toBeGreaterThan(5);
        for (const p of panels) {
          expect(p.fieldConfig?.defaults?.unit, p.title).toMatch(/\S/);
          const refs = (p.targets ?? []).map((t) => t.refId);
          expect(refs.length, p.title).toBeGreaterThan(0);
          expect(new Set(refs).size, p.title).toBe(refs.length);
          for (const t of p.targets ?? []) expect(t.expr, `${p.title} ${t.refId}`).toMatch(/\S/);
        }
      });

      it('numbers panels uniquely and lays them out within 24 columns', () => {
        const ids = d.panels.flatMap((p) => [p.id, ...(p.panels ?? []).map((x) => x.id)]);
        expect(ids.every((i) => typeof i === 'number')).toBe(true);
        expect(new Set(ids).size).toBe(ids.length);
        for (const p of d.panels) expect(p.gridPos!.x + p.gridPos!.w, p.title).toBeLessThanOrEqual(24);
      });

      it('uses only variables it defines', () => {
        const defined = new Set(vars.map((v) => v.name));
        const texts = [...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')), ...vars.map((v) => variableQuery(v) ?? '')];
        for (const t of texts) for (const n of usedVariables(t)) expect(defined.has(n), `$${n} in ${t}`).toBe(true);
      });

      it('does not call foresight_allocation the allocation in force (it is the policy\'s target, the actuator may hold another)', () => {
        for (const p of panels) {
          for (const t of p.targets ?? []) {
            if (t.expr?.includes('foresight_allocation')) expect(t.legendFormat ?? '', `${p.title}: ${t.expr}`).not.toMatch(/in force/);
          }
        }
      });

      it('names the replica in the legend of a query that keeps one series per replica (a bare selector)', () => {
        for (const p of panels) {
          for (const t of p.targets ?? []) {
            if (/^\s*[a-z_:][\w:]*\{[^}]*\}\s*$/.test(t.expr ?? '')) expect(t.legendFormat ?? '', `${p.title}: ${t.expr}`).toContain('{{pod}}');
          }
        }
      });

      it('queries only catalogue metrics (or standard ones) with their own labels', () => {
        const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr!));
        for (const v of vars.filter((x) => x.type === 'query')) {
          const lv = parseLabelValues(variableQuery(v) ?? '');
          expect(lv, `variable ${v.name} uses label_values(selector, label)`).toBeDefined();
          exprs.push(lv!.selector);
          for (const { metric } of selectorLabels(lv!.selector)) expect(allowedLabels(metric).has(lv!.label), `${metric} has no label ${lv!.label}`).toBe(true);
        }
        for (const e of exprs) {
          const names = metricNames(e);
          expect(names.length, e).toBeGreaterThan(0);
          for (const n of names) expect(catalogueEntry(n) !== undefined || isStandardMetric(n), `unknown metric ${n} in ${e}`).toBe(true);
          for (const { metric, labels } of selectorLabels(e)) {
            if (!catalogueEntry(metric)) continue;
            const ok = allowedLabels(metric);
            for (const l of labels) expect(ok.has(l), `${metric} has no label ${l} (${e})`).toBe(true);
          }
        }
      });
    });
  }
});
