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
export const CHUNK_BYTES = 64 * 1024;

/**
 * Text buffers handed back once the text written into them is no longer served, for the next snapshot's text to be
 * written into. Allocating a snapshot's text afresh (112 MB at 60,000 series) counted as that much new external
 * memory each time, twice over with the text joined, which made V8 mark the whole heap once per build: 1.1-2.3 s of
 * its workers' CPU at that size (a synthetic snapshot), more than the build's own work.
 */
export class TextBufferPool {
  #free: Buffer[] = [];

  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
  }

  /** Takes back the buffers under `pieces` (views of buffers from take(); others are left to the collector), keeping
   *  at most `keep` in all: what the next text is expected to need. */
  give(pieces: readonly Uint8Array[], keep: number): void {
    for (const p of pieces) {
      if (this.#free.length >= keep) break;
      if (p.byteOffset === 0 && p.buffer.byteLength === CHUNK_BYTES) this.#free.push(Buffer.from(p.buffer, 0, CHUNK_BYTES));
    }
    if (this.#free.length > keep) this.#free.length = keep;
  }

  get size(): number {
    return this.#free.length;
  }
}

export class TextGauge<L extends string = string> {
  readonly def: MetricDef<L>;
  #prefix: string;
  /** `name{` and the default labels, with the comma that separates them from a sample's own (UTF-8): what every
   *  line of setBytes starts with; #bare without that comma, for a sample without labels of its own. */
  #head: Buffer;
  #bare: Buffer;
  /** The text written so far: full buffers, then the one being written up to #pos; how many lines in all. */
  #chunks: Buffer[] = [];
  #buf: Buffer | undefined;
  #pos = 0;
  #count = 0;

  readonly #pool: TextBufferPool | undefined;

  /** `pool`: where its text buffers come from (new buffers without one). */
  constructor(def: MetricDef<L>, defaultLabels?: Record<string, string>, pool?: TextBufferPool) {
    this.def = def;
    this.#pool = pool;
    this.#prefix = Object.entries(defaultLabels ?? {})
      .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
      .join(',');
    this.#bare = Buffer.from(`${def.name}{${this.#prefix}`);
    this.#head = Buffer.from(`${def.name}{${this.#prefix}${this.#prefix ? ',' : ''}`);
  }

  /** The current buffer, with room for `max` more bytes at #pos (the full one put by, a new one started). */
  #room(max: number): Buffer {
    let buf = this.#buf;
    if (buf === undefined || this.#pos + max > buf.length) {
      if (buf !== undefined) this.#chunks.push(buf.subarray(0, this.#pos));
      buf = this.#buf = max > CHUNK_BYTES ? Buffer.allocUnsafe(max) : (this.#pool?.take() ?? Buffer.allocUnsafe(CHUNK_BYTES));
      this.#pos = 0;
    }
    return buf;
  }

  #push(line: string): void {
    this.#count++;
    // at most 3 UTF-8 bytes per UTF-16 unit, and the newline
    const buf = this.#room(3 * line.length + 1);
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

  /**
   * Adds a sample whose label text is the bytes of `label` then those of `more` (UTF-8, already escaped, in catalogue
   * order: `a="x"` and `,b="y"`), copied as they are: the exporter encodes a series' labels once for all its lines,
   * so that a snapshot's million lines build no strings but their values.
   */
  setBytes(label: Uint8Array, value: number, more?: Uint8Array): void {
    this.#count++;
    const v = formatValue(value);
    const head = label.length === 0 && more === undefined ? this.#bare : this.#head;
    const buf = this.#room(head.length + label.length + (more?.length ?? 0) + v.length + 3);
    let p = this.#pos;
    buf.set(head, p);
    p += head.length;
    buf.set(label, p);
    p += label.length;
    if (more !== undefined) {
      buf.set(more, p);
      p += more.length;
    }
    buf[p++] = 0x7d; // }
    buf[p++] = 0x20;
    // a number's text is ASCII
    for (let i = 0; i < v.length; i++) buf[p++] = v.charCodeAt(i);
    buf[p++] = 0x0a;
    this.#pos = p;
  }

  /** Starts the text afresh (the pieces renderBuffers gave stay as they are: a pool's owner gives them back). */
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
