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

/** Bytes of a gauge's text buffers: each line is written into the current one as it is set (UTF-8), so that no
 *  line outlives its call: a snapshot's hundreds of thousands of lines kept as strings until rendering lived long
 *  enough to be promoted, and the old generation's collections were a third of a build's time. */
const CHUNK_BYTES = 64 * 1024;

export class TextGauge<L extends string = string> {
  readonly def: MetricDef<L>;
  #prefix: string;
  /** The text written so far: full buffers, then the one being written up to #pos; how many lines in all. */
  #chunks: Buffer[] = [];
  #buf: Buffer | undefined;
  #pos = 0;
  #count = 0;

  constructor(def: MetricDef<L>, defaultLabels?: Record<string, string>) {
    this.def = def;
    this.#prefix = Object.entries(defaultLabels ?? {})
      .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
      .join(',');
  }

  #push(line: string): void {
    this.#count++;
    // at most 3 UTF-8 bytes per UTF-16 unit, and the newline
    const max = 3 * line.length + 1;
    let buf = this.#buf;
    if (buf === undefined || this.#pos + max > buf.length) {
      if (buf !== undefined) this.#chunks.push(buf.subarray(0, this.#pos));
      buf = this.#buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, max));
      this.#pos = 0;
    }
    this.#pos += buf.write(line, this.#pos);
    buf[this.#pos++] = 0x0a;
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
    this.#chunks = [];
    this.#buf = undefined;
    this.#pos = 0;
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
    const help = this.def.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
    const head = Buffer.from(`# HELP ${this.def.name} ${help}\n# TYPE ${this.def.name} gauge\n`);
    return this.#buf !== undefined && this.#pos > 0 ? [head, ...this.#chunks, this.#buf.subarray(0, this.#pos)] : [head, ...this.#chunks];
  }
}
