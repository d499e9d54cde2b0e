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

/** Sample lines a gauge keeps as strings before it joins them into one buffer of its text: few enough that the
 *  strings die young (a scavenge frees them), where a snapshot's hundreds of thousands of lines kept until rendering
 *  lived long enough to be promoted, and the old generation's collections were a third of a build's time. */
const FLUSH_LINES = 2048;

export class TextGauge<L extends string = string> {
  readonly def: MetricDef<L>;
  #prefix: string;
  /** Lines not yet joined, then the text joined so far (newline-terminated pieces), and how many lines in all. */
  #lines: string[] = [];
  #chunks: Buffer[] = [];
  #count = 0;

  constructor(def: MetricDef<L>, defaultLabels?: Record<string, string>) {
    this.def = def;
    this.#prefix = Object.entries(defaultLabels ?? {})
      .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
      .join(',');
  }

  #push(line: string): void {
    this.#lines.push(line);
    this.#count++;
    if (this.#lines.length >= FLUSH_LINES) this.#flush();
  }

  #flush(): void {
    if (this.#lines.length === 0) return;
    this.#chunks.push(Buffer.from(`${this.#lines.join('\n')}\n`));
    this.#lines = [];
  }

  set(labels: Partial<Record<L, string | number>> | number, value?: number): void {
    if (typeof labels === 'number') {
      this.#push(`${this.def.name}${this.#prefix ? `{${this.#prefix}}` : ''} ${formatValue(labels)}`);
      return;
    }
    let body = this.#prefix;
    for (const name of this.def.labels) {
      const v = labels[name];
      if (v === undefined) continue;
      body += `${body ? ',' : ''}${name}="${escapeLabelValue(String(v))}"`;
    }
    this.#push(`${this.def.name}${body ? `{${body}}` : ''} ${formatValue(value ?? NaN)}`);
  }

  /** Adds a sample whose label text (`a="x",b="y"`, already escaped, in catalogue order) the caller built. */
  setRaw(labelText: string, value: number): void {
    const body = this.#prefix ? (labelText ? `${this.#prefix},${labelText}` : this.#prefix) : labelText;
    this.#push(`${this.def.name}{${body}} ${formatValue(value)}`);
  }

  reset(): void {
    this.#lines = [];
    this.#chunks = [];
    this.#count = 0;
  }

  get size(): number {
    return this.#count;
  }

  /** HELP, TYPE and every sample line, newline-terminated. */
  render(): string {
    return Buffer.concat(this.renderBuffers()).toString();
  }

  /** The same text as UTF-8 pieces, HELP and TYPE first, each piece newline-terminated. */
  renderBuffers(): Buffer[] {
    this.#flush();
    const help = this.def.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
    return [Buffer.from(`# HELP ${this.def.name} ${help}\n# TYPE ${this.def.name} gauge\n`), ...this.#chunks];
  }
}
