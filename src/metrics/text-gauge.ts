// A gauge family rendered straight to the Prometheus text format (0.0.4), for the per-tenant snapshot gauges: set
// once per snapshot, rendered once, served to every scrape. Same set/reset surface as prom-client's Gauge, none of
// its per-series label hashing (the bottleneck at 100k+ series).
import type { MetricDef } from './catalogue.js';

const NEEDS_ESCAPE = /[\\\n"]/;

/** Label value escaping of the text format: backslash, double quote and newline (most values need none). */
export function escapeLabelValue(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class TextGauge<L extends string = string> {
  readonly def: MetricDef<L>;
  #lines: string[] = [];
  #prefix: string;

  constructor(def: MetricDef<L>, defaultLabels?: Record<string, string>) {
    this.def = def;
    this.#prefix = Object.entries(defaultLabels ?? {})
      .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
      .join(',');
  }

  set(labels: Partial<Record<L, string | number>> | number, value?: number): void {
    if (typeof labels === 'number') {
      this.#lines.push(`${this.def.name}${this.#prefix ? `{${this.#prefix}}` : ''} ${formatValue(labels)}`);
      return;
    }
    let body = this.#prefix;
    for (const name of this.def.labels) {
      const v = labels[name];
      if (v === undefined) continue;
      body += `${body ? ',' : ''}${name}="${escapeLabelValue(String(v))}"`;
    }
    this.#lines.push(`${this.def.name}${body ? `{${body}}` : ''} ${formatValue(value ?? NaN)}`);
  }

  /** Adds a sample whose label text (`a="x",b="y"`, already escaped, in catalogue order) the caller built. */
  setRaw(labelText: string, value: number): void {
    const body = this.#prefix ? (labelText ? `${this.#prefix},${labelText}` : this.#prefix) : labelText;
    this.#lines.push(`${this.def.name}{${body}} ${formatValue(value)}`);
  }

  reset(): void {
    this.#lines = [];
  }

  get size(): number {
    return this.#lines.length;
  }

  /** HELP, TYPE and every sample line, newline-terminated. */
  render(): string {
    return [...this.renderChunks(Infinity)].join('');
  }

  /** The same text in pieces of at most `maxLines` samples (HELP and TYPE open the first), for sliced rendering. */
  *renderChunks(maxLines: number): Generator<string> {
    const help = this.def.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
    const head = `# HELP ${this.def.name} ${help}\n# TYPE ${this.def.name} gauge\n`;
    const lines = this.#lines;
    if (lines.length === 0) {
      yield head;
      return;
    }
    for (let i = 0; i < lines.length; i += maxLines) {
      const body = lines.slice(i, Math.min(lines.length, i + maxLines)).join('\n') + '\n';
      yield i === 0 ? head + body : body;
    }
  }
}
