// Renders the configuration schema as text (`foresight start --help`) and as a Markdown table (README).
import { actuatorOptionDocs, type OptionDoc } from '../actuator/config.js';
import { envName, schema, type FieldDef } from './schema.js';

interface Row {
  env: string;
  yaml: string;
  def: string;
  unit: string;
  range: string;
  help: string;
}

function show(v: unknown): string {
  if (Array.isArray(v)) return v.length ? v.join(',') : '""';
  if (v === '') return '""';
  return String(v);
}

export function configRows(): Row[] {
  const rows: Row[] = [];
  for (const [k, d] of Object.entries(schema) as Array<[string, FieldDef<unknown>]>) {
    rows.push({ env: envName(k), yaml: k, def: show(d.default), unit: d.unit, range: d.range, help: d.help });
  }
  rows.push({
    env: 'FORESIGHT_LIMIT_<SIGNAL>',
    yaml: 'limits.<signal>',
    def: 'unset',
    unit: "signal's base unit",
    range: '> 0',
    help: 'Limit per tenant of a signal Foresight cannot enforce (disk I/O, fds, threads, ...), exported as foresight_resource_limit for every tracked tenant that has the signal; in YAML a number or {default, tenants: {<tenant>: value}} for per-tenant overrides. Unset: not exported.',
  });
  for (const [k, d] of Object.entries(actuatorOptionDocs) as Array<[string, OptionDoc]>) {
    rows.push({ env: envName(k, 'FORESIGHT_ACTUATOR_'), yaml: `actuator.${k}`, def: show(d.default), unit: d.unit, range: d.range, help: d.help });
  }
  return rows;
}

export function renderHelp(): string {
  const lines = [
    'Usage: foresight start [--config FILE]',
    '',
    'Runs the sidecar: pulls tenant histories from Prometheus (or replays the demo trace when FORESIGHT_PROMETHEUS_URL',
    'is empty), forecasts, and serves /metrics, /healthz, /readyz and /api/v1 (OpenAPI document at /openapi.json).',
    '',
    'Configuration: defaults <- YAML file (--config or FORESIGHT_CONFIG) <- environment variables.',
    'Durations accept seconds or 30s, 5m, 1h, 7d. Lists are comma-separated.',
    'PromQL of a signal: FORESIGHT_QUERY_<SIGNAL> or queries.<signal> (placeholders {{tenant}}, {{window}}, {{filter}}).',
    '',
  ];
  for (const r of configRows()) {
    lines.push(`  ${r.env}  (${r.yaml})`);
    lines.push(`      ${r.help}`);
    lines.push(`      default ${r.def} | unit ${r.unit} | range ${r.range}`);
  }
  return lines.join('\n');
}

export function renderMarkdownTable(): string {
  const out = ['| Environment variable | YAML key | Default | Unit | Range | Meaning |', '| --- | --- | --- | --- | --- | --- |'];
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  for (const r of configRows()) out.push(`| \`${r.env}\` | \`${r.yaml}\` | \`${cell(r.def)}\` | ${cell(r.unit)} | ${cell(r.range)} | ${cell(r.help)} |`);
  return out.join('\n');
}
