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

/** Significant digits of a sample value that is not an integer (see writeValue). */
export const VALUE_DIGITS = 7;
/** Bytes writeValue may write: a fallback's shortest text of a double is at most 24 characters (-1.2345678901234567e-100). */
const VALUE_MAX_BYTES = 25;
const POW10 = Float64Array.from({ length: 23 }, (_, i) => 10 ** i); // exact doubles up to 1e22
const INT_DIGITS = new Uint8Array(16);
/** The range of writeValue's 7-digit integer m. */
const M_HI = 10 ** VALUE_DIGITS;
const M_LO = M_HI / 10;
const SCRATCH = Buffer.alloc(VALUE_MAX_BYTES);

/**
 * Writes the text of sample value `v` into `buf` at `p` (ASCII) and returns the position after it. Integers below
 * 1e15 are written exactly; any other finite value rounded to 7 significant digits (a relative change of at most
 * 5e-7): forecasts and ratios carry nothing in their last ten digits but the arithmetic that made them, and writing the
 * digits here, without a string per value, costs less than `String(v)` did. Values below 1e-6 or from 1e15 up (in
 * magnitude) fall back to `String` of the rounded value.
 */
export function writeValue(buf: Uint8Array, p: number, v: number): number {
  if (v !== v) return writeAscii(buf, p, 'NaN');
  if (v === Infinity) return writeAscii(buf, p, '+Inf');
  if (v === -Infinity) return writeAscii(buf, p, '-Inf');
  if (v === 0) {
    buf[p] = 0x30; // -0 too, as String(-0)
    return p + 1;
  }
  let a = v;
  if (a < 0) {
    buf[p++] = 0x2d; // -
    a = -a;
  }
  if (a < 1e15 && Number.isInteger(a)) {
    let n = 0;
    for (; a > 0; n++) {
      const q = Math.floor(a / 10);
      INT_DIGITS[n] = a - 10 * q;
      a = q;
    }
    while (n > 0) buf[p++] = 0x30 + INT_DIGITS[--n];
    return p;
  }
  if (a < 1e-6 || a >= 1e15) return writeAscii(buf, p, String(Number(a.toPrecision(VALUE_DIGITS))));
  // m = a * 10^(6 - e) rounded, 7 digits: a = m * 10^(e - 6) with 10^e <= a < 10^(e + 1)
  let e = Math.floor(Math.log10(a));
  let m = scaled(a, VALUE_DIGITS - 1 - e);
  // a rounded up to 10^(e + 1), or log10 a hair below an exact power of ten; then the guard against one a hair above
  if (m >= M_HI) m = scaled(a, VALUE_DIGITS - 1 - ++e);
  else if (m < M_LO) m = scaled(a, VALUE_DIGITS - 1 - --e);
  // m's digits without its trailing zeros (m is below 2^31: integer division)
  let nd = VALUE_DIGITS;
  for (let q = (m / 10) | 0; m === q * 10; q = (m / 10) | 0) {
    m = q;
    nd--;
  }
  if (e < 0) {
    // 0.000ddd
    buf[p++] = 0x30;
    buf[p++] = 0x2e;
    for (let i = -1; i > e; i--) buf[p++] = 0x30;
    return writeDigits(buf, p, m, nd);
  }
  if (nd <= e + 1) {
    // ddd000
    p = writeDigits(buf, p, m, nd);
    for (let i = nd; i <= e; i++) buf[p++] = 0x30;
    return p;
  }
  // dd.ddd: e + 1 digits before the point
  const scale = POW10[nd - e - 1];
  const whole = (m / scale) | 0;
  p = writeDigits(buf, p, whole, e + 1);
  buf[p++] = 0x2e;
  return writeDigits(buf, p, m - whole * scale, nd - e - 1);
}

/** Writes the n last decimal digits of integer m (below 2^31; leading zeros included) at p; returns p + n. */
function writeDigits(buf: Uint8Array, p: number, m: number, n: number): number {
  for (let i = p + n - 1; i >= p; i--) {
    const q = (m / 10) | 0;
    buf[i] = 0x30 + m - q * 10;
    m = q;
  }
  return p + n;
}

/** a * 10^s rounded to an integer (10^|s| exact for |s| <= 22). */
function scaled(a: number, s: number): number {
  return Math.round(s >= 0 ? a * POW10[s] : a / POW10[-s]);
}

function writeAscii(buf: Uint8Array, p: number, text: string): number {
  for (let i = 0; i < text.length; i++) buf[p++] = text.charCodeAt(i);
  return p;
}

/** A value's shortest exact text (the text format's +Inf, -Inf and NaN). */
function exactText(v: number): string {
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
  /** Values written as they are (String), not to 7 significant digits: a timestamp's seconds (`*_timestamp_seconds`). */
  readonly #exact: boolean;
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
    this.#exact = def.name.endsWith('_timestamp_seconds');
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
      this.#push(`${this.def.name}${this.#prefix ? `{${this.#prefix}}` : ''} ${this.#format(labels)}`);
      return;
    }
    let body = this.#prefix;
    for (const name of this.def.labels) {
      const v = labels[name];
      if (v === undefined) continue;
      body += `${body ? ',' : ''}${name}="${escapeLabelValue(String(v))}"`;
    }
    this.#push(`${this.def.name}${body ? `{${body}}` : ''} ${this.#format(value ?? NaN)}`);
  }

  /**
   * Adds a sample whose label text is the bytes of `label` then those of `more` (UTF-8, already escaped, in catalogue
   * order: `a="x"` and `,b="y"`), copied as they are: the exporter encodes a series' labels once for all its lines,
   * so that a snapshot's million lines build no strings but their values.
   */
  setBytes(label: Uint8Array, value: number, more?: Uint8Array): void {
    this.#count++;
    const head = label.length === 0 && more === undefined ? this.#bare : this.#head;
    const buf = this.#room(head.length + label.length + (more?.length ?? 0) + VALUE_MAX_BYTES + 3);
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
    p = this.#write(buf, p, value);
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

  /** Writes the text of value v at p (exactly for a timestamp family, else writeValue's) and returns the end. */
  #write(buf: Uint8Array, p: number, v: number): number {
    return this.#exact ? writeAscii(buf, p, exactText(v)) : writeValue(buf, p, v);
  }

  /** #write's text as a string (the lines built as strings: set()). */
  #format(v: number): string {
    return SCRATCH.toString('latin1', 0, this.#write(SCRATCH, 0, v));
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
