// Small PromQL and artifact helpers for the consistency tests: metric names and matcher labels of an expression,
// Grafana variable substitution, the alert rules and the dashboards as files. Not a parser: enough for our own files.
import { readFileSync, readdirSync } from 'node:fs';
import { parse } from 'yaml';
import { catalogue, type MetricDef } from '../../src/metrics/catalogue.js';

export const ROOT = new URL('../../', import.meta.url);

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan']);

/** Removes string literals (replaced by ""), so that braces and words inside them are not read as PromQL. */
function stripStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
}

/** Metric names an expression selects (function names, keywords, labels and durations excluded). */
export function metricNames(expr: string): string[] {
  let s = stripStrings(expr.replace(/#[^\n]*/g, ' '));
  // before the matchers go: an offset may be a Grafana variable in braces (`offset ${horizon}s`)
  s = s.replace(/\boffset\s+(?:\$\{\w+\}|\$\w+|[\w.]+)+/g, ' ');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  const token = /(\d+(?:\.\d+)?(?:e[+-]?\d+)?)|([a-zA-Z_:][\w:]*)(\s*\()?/gi;
  for (let m = token.exec(s); m; m = token.exec(s)) {
    const [, num, ident, call] = m;
    if (num || !ident || call || KEYWORDS.has(ident.toLowerCase())) continue;
    names.add(ident);
  }
  return [...names];
}

/** Each `name{matchers}` selector of an expression with the label names of its matchers. */
export function selectorLabels(expr: string): Array<{ metric: string; labels: string[] }> {
  const s = stripStrings(expr);
  const out: Array<{ metric: string; labels: string[] }> = [];
  const sel = /([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g;
  for (let m = sel.exec(s); m; m = sel.exec(s)) {
    const labels = [...m[2].matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]);
    out.push({ metric: m[1], labels });
  }
  return out;
}

const byName = new Map<string, MetricDef>(Object.values(catalogue).map((d) => [d.name, d as MetricDef]));

/** The catalogue entry for a metric name, seeing through the _bucket/_sum/_count series of histograms. */
export function catalogueEntry(name: string): MetricDef | undefined {
  const direct = byName.get(name);
  if (direct) return direct;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  const base = m ? byName.get(m[1]) : undefined;
  return base?.type === 'histogram' ? base : undefined;
}

/**
 * Metrics outside the catalogue that may be queried: Prometheus' own `up`, the standard cAdvisor (container_*) and
 * kube-state-metrics (kube_*) families every Kubernetes cluster has, and the process and Node.js metrics that
 * prom-client's default collectors add to Foresight's own exposition (src/metrics/exporter.ts).
 */
export function isStandardMetric(name: string): boolean {
  return name === 'up' || /^(container|kube|process|nodejs)_[a-z_]+$/.test(name);
}

/** Labels a selector may use on a catalogue metric: its own, the target labels Prometheus adds, `le` for buckets. */
export function allowedLabels(name: string): Set<string> {
  const d = catalogueEntry(name);
  const s = new Set<string>(['job', 'instance', ...(d?.labels ?? [])]);
  if (name.endsWith('_bucket')) s.add('le');
  return s;
}

// ------------------------------------------------------------------ alerts

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export const RULES_FILE = 'alerts/foresight.rules.yaml';
export const RULES_TEST_FILE = 'alerts/foresight.rules.test.yaml';
export const RUNBOOK_FILE = 'alerts/runbook.md';

export function readText(rel: string): string {
  return readFileSync(new URL(rel, ROOT), 'utf8');
}

export function loadAlertRules(): AlertRule[] {
  const doc = parse(readText(RULES_FILE)) as { groups: Array<{ name: string; rules: Array<AlertRule & { record?: string }> }> };
  return doc.groups.flatMap((g) => g.rules.filter((r) => r.alert !== undefined));
}

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens. */
export function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');
}

export function runbookAnchors(): Set<string> {
  return new Set([...readText(RUNBOOK_FILE).matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => githubAnchor(m[1])));
}

// ------------------------------------------------------------------ dashboards

export interface GrafanaTarget {
  expr?: string;
  legendFormat?: string;
  refId?: string;
  datasource?: { type?: string; uid?: string };
}

export interface GrafanaPanel {
  id?: number;
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  fieldConfig?: {
    defaults?: {
      unit?: string;
      mappings?: { type: string; options: { from?: number | null; to?: number | null; result?: { text?: string; color?: string } } }[];
      thresholds?: { mode?: string; steps?: { value: number | null; color: string }[] };
    };
    overrides?: unknown[];
  };
  targets?: GrafanaTarget[];
  gridPos?: { x: number; y: number; w: number; h: number };
  panels?: GrafanaPanel[];
}

export interface GrafanaVariable {
  type: string;
  name: string;
  query?: string | { query?: string };
  datasource?: { type?: string; uid?: string };
}

export interface GrafanaDashboard {
  uid: string;
  title: string;
  panels: GrafanaPanel[];
  templating: { list: GrafanaVariable[] };
}

export function dashboardFiles(): string[] {
  return readdirSync(new URL('dashboards/', ROOT))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

export function loadDashboard(file: string): GrafanaDashboard {
  return JSON.parse(readText(`dashboards/${file}`)) as GrafanaDashboard;
}

/** Every panel, rows' nested panels included (rows themselves excluded). */
export function allPanels(d: GrafanaDashboard): GrafanaPanel[] {
  const out: GrafanaPanel[] = [];
  for (const p of d.panels) {
    if (p.type === 'row') out.push(...(p.panels ?? []));
    else out.push(p);
  }
  return out;
}

export function variableQuery(v: GrafanaVariable): string | undefined {
  return typeof v.query === 'string' ? v.query : v.query?.query;
}

/** Grafana's `label_values(selector, label)` split into its parts. */
export function parseLabelValues(q: string): { selector: string; label: string } | undefined {
  const m = /^\s*label_values\(\s*(.+)\s*,\s*([a-zA-Z_]\w*)\s*\)\s*$/s.exec(q);
  return m ? { selector: m[1], label: m[2] } : undefined;
}

/** Variables a query uses ($x, ${x}, ${x:fmt}, [[x]]), built-ins ($__...) excluded. */
export function usedVariables(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g)) {
    const n = m[1] ?? m[2] ?? m[3];
    if (!n.startsWith('__')) names.add(n);
  }
  return [...names];
}

/** Substitutes Grafana variables and built-in intervals as Grafana would for one chosen value each. */
export function substitute(text: string, values: Record<string, string>, builtins: Record<string, string>): string {
  return text.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a?: string, b?: string, c?: string) => {
    const n = (a ?? b ?? c)!;
    const v = n.startsWith('__') ? builtins[n] : values[n];
    if (v === undefined) throw new Error(`no value for variable ${whole}`);
    return v;
  });
}
