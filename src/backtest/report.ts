// Renders report.html: one self-contained page (no network), charts drawn as inline SVG by an inline script.
import type { Grid } from './grid.js';
import type { PolicyResult } from './run.js';
import type { Summary } from './summary.js';

export interface ReportOptions {
  /** Tenants picked by usage volume, plus the worst for the reference policy. */
  chosen: number;
  worst: number;
  /** Points per plotted series (max-pooled). */
  maxPoints: number;
}

const DEFAULTS: ReportOptions = { chosen: 3, worst: 3, maxPoints: 600 };

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Max-pools a series into at most n points (NaN-aware): allocations and peaks stay visible when downsampled. */
function pool(v: Float64Array, from: number, n: number): Array<number | null> {
  const len = v.length - from;
  const b = Math.max(1, Math.ceil(len / n));
  const out: Array<number | null> = [];
  for (let i = from; i < v.length; i += b) {
    let m = NaN;
    for (let j = i; j < Math.min(v.length, i + b); j++) if (v[j] === v[j] && !(v[j] <= m)) m = v[j];
    out.push(m === m ? Number(m.toPrecision(5)) : null);
  }
  return out;
}

/** A warm-up span in words: "day" for 86,400 s, else hours ("16 h"). */
function warmupText(s: number): string {
  return s === 86_400 ? 'day' : `${+(s / 3600).toFixed(1)} h`;
}

/** Descending order that also ranks infinite slack (an allocation held over zero usage) first, and ties as ties. */
const desc = (a: number, b: number): number => (a === b ? 0 : b > a ? 1 : -1);

/** Which tenants get a chart: the largest by usage, then the worst by shortage volume of the reference policy. */
export function pickTenants(grid: Grid, results: readonly PolicyResult[], o: ReportOptions = DEFAULTS): Array<{ k: number; why: string }> {
  const vol = grid.usage.map((u) => u.reduce((s, x) => (x === x ? s + x : s), 0));
  const byVol = [...vol.keys()].sort((a, b) => vol[b] - vol[a]).slice(0, o.chosen);
  const ref = results.find((r) => r.main && r.name === 'foresight') ?? results.find((r) => r.main && r.name !== 'oracle');
  const picked = byVol.map((k) => ({ k, why: 'largest usage' }));
  if (ref) {
    const worst = [...ref.score.perTenant.keys()]
      .filter((k) => !byVol.includes(k))
      .sort((a, b) => desc(ref.score.perTenant[a].shortage_volume, ref.score.perTenant[b].shortage_volume) || desc(ref.score.perTenant[a].slack, ref.score.perTenant[b].slack))
      .slice(0, o.worst);
    for (const k of worst) picked.push({ k, why: `worst for ${ref.label}` });
  }
  return picked;
}

export function renderReport(grid: Grid, results: readonly PolicyResult[], summary: Summary, opts: Partial<ReportOptions> = {}): string {
  const o = { ...DEFAULTS, ...opts };
  const main = results.filter((r) => r.main);
  const from = Math.min(grid.nSteps - 1, Math.max(0, summary.warmup_steps));
  const tenants = pickTenants(grid, results, o).map(({ k, why }) => ({
    tenant: grid.tenants[k],
    why,
    usage: pool(grid.usage[k], from, o.maxPoints),
    allocations: main.map((r) => ({ label: r.label, values: pool(r.allocations[k], from, o.maxPoints) })),
  }));
  // A slack that is not finite (an allocation held over usage that was all zero) has no place on the chart (JSON
  // would carry it as null, drawn at 0, the best spot): such policies are named under it instead.
  const drawable = (slack: number, shortage: number): boolean => Number.isFinite(slack) && Number.isFinite(shortage);
  const offChart = main.filter((r) => !drawable(r.score.total.slack, r.score.total.shortage_steps)).map((r) => r.label);
  const data = {
    points: main.filter((r) => drawable(r.score.total.slack, r.score.total.shortage_steps)).map((r) => ({ label: r.label, policy: r.name, slack: r.score.total.slack, shortage: r.score.total.shortage_steps })),
    curves: [...new Set(summary.sweep.map((p) => p.policy))]
      .map((policy) => ({ policy, points: summary.sweep.filter((p) => p.policy === policy && drawable(p.slack, p.shortage_steps)).map((p) => ({ slack: p.slack, shortage: p.shortage_steps, value: p.value })).sort((a, b) => a.shortage - b.shortage) }))
      .filter((c) => c.points.length > 1),
    tenants,
    startS: grid.startS + from * grid.intervalS,
    stepS: grid.intervalS * Math.max(1, Math.ceil((grid.nSteps - from) / o.maxPoints)),
  };
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const rows = main
    .map((r) => {
      const t = r.score.total;
      return `<tr><td>${esc(r.label)}</td><td>${t.slack.toFixed(4)}</td><td>${t.shortage_steps.toFixed(4)}</td><td>${t.shortage_volume.toFixed(5)}</td><td>${t.changes_per_step.toFixed(4)}</td></tr>`;
    })
    .join('\n');
  const sh = summary.shadow;
  const shadowHtml = sh
    ? `<h2>Shadow capacity (Foresight, provisioning delay ${sh.provisioningDelayS} s, capacity ${sh.capacity.toPrecision(6)})</h2>
<table><tr><th></th><th>tenant-minutes short</th><th>share of time short</th><th>average reserve</th><th>reserve / usage</th><th>exhaustions (steps)</th></tr>
<tr><td>with pooled reserve</td><td>${sh.with.short_tenant_minutes.toFixed(0)}</td><td>${sh.with.short_time_share.toExponential(3)}</td><td>${sh.with.reserve_avg.toPrecision(4)}</td><td>${sh.with.reserve_avg_share_of_usage.toFixed(4)}</td><td>${sh.with.exhausted_steps}</td></tr>
<tr><td>without</td><td>${sh.without.short_tenant_minutes.toFixed(0)}</td><td>${sh.without.short_time_share.toExponential(3)}</td><td>0</td><td>0</td><td>-</td></tr></table>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Foresight backtest: ${esc(summary.resource)} on ${esc(summary.trace)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}
svg{background:#fafafa;border:1px solid #ddd;margin:4px 0}.legend span{display:inline-block;margin-right:1em}
</style></head><body>
<h1>Foresight backtest</h1>
<p>Trace <code>${esc(summary.trace)}</code>, resource <b>${esc(summary.resource)}</b>${summary.unit ? ` (${esc(summary.unit)})` : ''}, ${summary.tenants} tenants, ${summary.steps} steps of ${summary.interval_s} s, lead ${summary.lead_s} s, target shortage ${summary.target_shortage}. Scores exclude each series' first ${warmupText(summary.warmup_steps * summary.interval_s)} (warm-up).</p>
<h2>Summary</h2>
<table id="summary"><tr><th>policy</th><th>slack</th><th>shortage_steps</th><th>shortage_volume</th><th>changes_per_step</th></tr>
${rows}
</table>
${shadowHtml}
<h2>Slack against shortage</h2>
<div id="tradeoff"></div>
${offChart.length ? `<p id="off-chart">Not drawn, their slack being infinite (an allocation held over usage that was all zero): ${offChart.map(esc).join(', ')}.</p>\n` : ''}<h2>Usage and allocations per tenant</h2>
<div id="tenants"></div>
<script type="application/json" id="data">${json}</script>
<script>
(function () {
  var NS = 'http://www.w3.org/2000/svg';
  var data = JSON.parse(document.getElementById('data').textContent);
  var palette = ['#1f77b4','#d62728','#2ca02c','#ff7f0e','#9467bd','#8c564b','#e377c2','#7f7f7f','#17becf'];
  var colour = {};
  data.points.forEach(function (p, i) { colour[p.policy] = palette[i % palette.length]; });
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, anchor) { var t = el('text', { x: x, y: y, 'font-size': 11, 'text-anchor': anchor || 'start' }, parent); t.textContent = s; return t; }
  function axes(svg, W, H, m, xmax, ymax, xl, yl) {
    el('line', { x1: m, y1: H - m, x2: W - 10, y2: H - m, stroke: '#333' }, svg);
    el('line', { x1: m, y1: 10, x2: m, y2: H - m, stroke: '#333' }, svg);
    for (var i = 0; i <= 4; i++) {
      text(svg, m + (i / 4) * (W - m - 10), H - m + 14, (xmax * i / 4).toPrecision(3), 'middle');
      text(svg, m - 4, H - m - (i / 4) * (H - m - 10) + 4, (ymax * i / 4).toPrecision(3), 'end');
    }
    text(svg, (W + m) / 2, H - 4, xl, 'middle');
    var t = text(svg, 12, (H - m) / 2, yl, 'middle'); t.setAttribute('transform', 'rotate(-90 12 ' + (H - m) / 2 + ')');
  }
  // Slack against shortage: one point per policy, one curve per swept policy.
  (function () {
    var W = 720, H = 420, m = 56;
    var all = data.points.map(function (p) { return p; });
    data.curves.forEach(function (c) { c.points.forEach(function (p) { all.push(p); }); });
    var xmax = Math.max.apply(null, all.map(function (p) { return p.shortage; }).concat([1e-6])) * 1.1;
    var ymax = Math.max.apply(null, all.map(function (p) { return p.slack; }).concat([1e-6])) * 1.1;
    var svg = el('svg', { width: W, height: H, id: 'tradeoff-chart' }, document.getElementById('tradeoff'));
    axes(svg, W, H, m, xmax, ymax, 'shortage_steps', 'slack');
    function X(v) { return m + (v / xmax) * (W - m - 10); }
    function Y(v) { return H - m - (v / ymax) * (H - m - 10); }
    data.curves.forEach(function (c) {
      var d = c.points.map(function (p, i) { return (i ? 'L' : 'M') + X(p.shortage).toFixed(1) + ',' + Y(p.slack).toFixed(1); }).join('');
      el('path', { d: d, fill: 'none', stroke: colour[c.policy] || '#999', 'stroke-dasharray': '4 3', class: 'mark curve', 'data-policy': c.policy }, svg);
    });
    data.points.forEach(function (p) {
      el('circle', { cx: X(p.shortage), cy: Y(p.slack), r: 5, fill: colour[p.policy], class: 'mark point', 'data-policy': p.label }, svg);
      text(svg, X(p.shortage) + 7, Y(p.slack) - 6, p.label);
    });
  })();
  // Per tenant: usage against each policy's allocation.
  data.tenants.forEach(function (t) {
    var box = document.createElement('div');
    var h = document.createElement('h3'); h.textContent = t.tenant + ' (' + t.why + ')'; box.appendChild(h);
    document.getElementById('tenants').appendChild(box);
    var W = 1000, H = 260, m = 56;
    var n = t.usage.length;
    var ymax = 1e-9;
    [t.usage].concat(t.allocations.map(function (a) { return a.values; })).forEach(function (s) { s.forEach(function (v) { if (v !== null && v > ymax) ymax = v; }); });
    ymax *= 1.05;
    var svg = el('svg', { width: W, height: H, class: 'tenant-chart' }, box);
    axes(svg, W, H, m, n * data.stepS / 3600, ymax, 'hours after warm-up', 'usage');
    function X(i) { return m + (i / Math.max(1, n - 1)) * (W - m - 10); }
    function Y(v) { return H - m - (v / ymax) * (H - m - 10); }
    function line(vals, stroke, width, cls, label) {
      var d = '', pen = false;
      vals.forEach(function (v, i) { if (v === null) { pen = false; return; } d += (pen ? 'L' : 'M') + X(i).toFixed(1) + ',' + Y(v).toFixed(1); pen = true; });
      el('path', { d: d, fill: 'none', stroke: stroke, 'stroke-width': width, class: cls, 'data-series': label }, svg);
    }
    t.allocations.forEach(function (a, i) { line(a.values, palette[i % palette.length], 1.2, 'mark line allocation', a.label); });
    line(t.usage, '#000', 1, 'mark line usage', 'usage');
    var legend = document.createElement('div'); legend.className = 'legend';
    legend.innerHTML = '<span style="color:#000">&#9632; usage</span>' + t.allocations.map(function (a, i) { return '<span style="color:' + palette[i % palette.length] + '">&#9632; ' + a.label.replace(/[<&]/g, '') + '</span>'; }).join('');
    box.appendChild(legend);
  });
  document.body.setAttribute('data-rendered', String(document.querySelectorAll('.mark').length));
})();
</script>
</body></html>
`;
}
