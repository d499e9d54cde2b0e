// Reads a trace in the canonical long CSV format (timestamp,tenant,resource,value; .csv or .csv.gz) into regular series.
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { createInterface } from 'node:readline';
import { TraceInvalidError } from '../errors.js';
import type { Series, SeriesSet } from '../model/series.js';

export interface ReadTraceOptions {
  /** Keep only these resources (all when omitted). Naming one the trace lacks is an error. */
  resources?: readonly string[];
  /** Keep only these tenants. */
  tenants?: readonly string[];
  /** Sample spacing in seconds; default: the meta file's interval_s, else the smallest step seen. */
  intervalS?: number;
}

interface Meta {
  interval_s?: number;
  units?: Record<string, string>;
}

interface Raw {
  tenant: string;
  resource: string;
  t: number[];
  v: number[];
  /** The line of each sample (for errors that name both lines of a repeated timestamp). */
  line: number[];
  /** A sample came before an earlier line's: sorted by time once read (the format does not promise the order). */
  unordered: boolean;
}

function metaPathFor(file: string): string {
  return file.replace(/\.csv(\.gz)?$/, '.meta.json');
}

function readMeta(file: string): Meta {
  const path = metaPathFor(file);
  if (path === file || !existsSync(path)) return {};
  let meta: unknown;
  try {
    meta = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TraceInvalidError(`${path}: unreadable meta file`, { cause: err });
  }
  // the fields read here (FORMAT.md names others, which are for people): a null or a negative interval had crashed
  // the reader with a TypeError or a RangeError that named no file
  const bad = (why: string) => new TraceInvalidError(`${path}: ${why}`);
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw bad(`expected a JSON object, found ${JSON.stringify(meta).slice(0, 40)}`);
  const { interval_s: interval, units } = meta as Record<string, unknown>;
  if (interval !== undefined && !(typeof interval === 'number' && Number.isFinite(interval) && interval > 0)) {
    throw bad(`interval_s must be a positive number of seconds, found ${JSON.stringify(interval).slice(0, 40)}`);
  }
  if (units !== undefined && (units === null || typeof units !== 'object' || Array.isArray(units) || !Object.values(units).every((u) => typeof u === 'string'))) {
    throw bad(`units must map each resource to its unit as text ({"cpu": "cores"}), found ${JSON.stringify(units).slice(0, 60)}`);
  }
  return { interval_s: interval as number | undefined, units: units as Record<string, string> | undefined };
}

/** A name as one CSV field of the canonical format: quoted by RFC 4180 when it holds a comma, a quote or a line
 *  break, as splitQuoted reads it back (what evaluate and backtest write). */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Reads and validates a canonical trace. Errors name the file, the line and the problem. */
export async function readTrace(file: string, opts: ReadTraceOptions = {}): Promise<SeriesSet> {
  if (!existsSync(file)) throw new TraceInvalidError(`${file}: no such file`);
  const meta = readMeta(file);
  const wantRes = opts.resources ? new Set(opts.resources) : undefined;
  const wantTen = opts.tenants ? new Set(opts.tenants) : undefined;
  const seenResources = new Set<string>();
  const groups = new Map<string, Raw>();

  let input: NodeJS.ReadableStream = createReadStream(file);
  if (file.endsWith('.gz')) {
    const gunzip = createGunzip();
    input.on('error', (e) => gunzip.destroy(e));
    input = input.pipe(gunzip);
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (lineNo === 1) {
        const bare = line.trim().replace(/^\uFEFF/, '');
        // A writer that quotes every field (Python's csv.QUOTE_ALL) quotes the header too.
        const quoted = bare.includes('"') ? splitQuoted(bare) : undefined;
        const header = Array.isArray(quoted) ? quoted.join(',') : bare;
        if (header !== 'timestamp,tenant,resource,value') {
          throw new TraceInvalidError(`${file}:1: expected header "timestamp,tenant,resource,value", found "${header.slice(0, 80)}"`);
        }
        continue;
      }
      if (line.length === 0) continue;
      // Lines without a double quote (all of the large traces) keep the indexOf fast path; only the rest are split
      // by RFC 4180, as Python's csv module and pandas quote a field holding a comma or a quote.
      let q: string[] | undefined;
      let c1 = 0, c2 = 0, c3 = 0;
      if (line.includes('"')) {
        const split = splitQuoted(line);
        if (typeof split === 'string') throw new TraceInvalidError(`${file}:${lineNo}: ${split}`);
        if (split.length !== 4) throw new TraceInvalidError(`${file}:${lineNo}: expected 4 comma-separated fields, found ${split.length}`);
        q = split;
      } else {
        c1 = line.indexOf(',');
        c3 = line.lastIndexOf(',');
        c2 = c1 < 0 ? -1 : line.indexOf(',', c1 + 1);
        if (c1 < 0 || c2 < 0 || c3 !== line.indexOf(',', c2 + 1)) {
          throw new TraceInvalidError(`${file}:${lineNo}: expected 4 comma-separated fields`);
        }
      }
      const resource = q ? q[2] : line.slice(c2 + 1, c3);
      seenResources.add(resource);
      if (wantRes && !wantRes.has(resource)) continue;
      const tenant = q ? q[1] : line.slice(c1 + 1, c2);
      if (wantTen && !wantTen.has(tenant)) continue;
      const tsText = q ? q[0] : line.slice(0, c1);
      const t = Number(tsText);
      if (tsText === '' || !Number.isInteger(t)) {
        throw new TraceInvalidError(`${file}:${lineNo}: unparsable timestamp "${tsText.slice(0, 40)}" (integer seconds expected)`);
      }
      // UNIX seconds reach 1e11 in the year 5138; a 13-digit timestamp is an export in milliseconds
      if (Math.abs(t) >= MAX_SECONDS) throw new TraceInvalidError(`${file}:${lineNo}: timestamp ${tsText.slice(0, 40)} is not in seconds (milliseconds?): the format takes integer seconds`);
      const valText = (q ? q[3] : line.slice(c3 + 1)).trim();
      let v = NaN;
      if (valText !== '') {
        v = Number(valText);
        if (!(Number.isFinite(v) && v >= 0)) {
          if (!MISSING.test(valText)) {
            throw new TraceInvalidError(`${file}:${lineNo}: unparsable value "${valText.slice(0, 40)}" (expected a non-negative number; empty, NaN or NA mean missing)`);
          }
          v = NaN;
        }
      }
      const key = `${tenant}\u0000${resource}`;
      let g = groups.get(key);
      if (!g) {
        g = { tenant, resource, t: [], v: [], line: [], unordered: false };
        groups.set(key, g);
      }
      const last = g.t.length - 1;
      if (last >= 0 && t <= g.t[last]) {
        if (t === g.t[last]) throw repeated(file, g, lineNo, g.line[last], t);
        g.unordered = true;
      }
      g.t.push(t);
      g.v.push(v);
      g.line.push(lineNo);
    }
  } catch (err) {
    if (err instanceof TraceInvalidError) throw err;
    throw new TraceInvalidError(`${file}:${lineNo}: cannot read (${(err as Error).message})`, { cause: err });
  }

  if (lineNo === 0) throw new TraceInvalidError(`${file}: empty file (no header, no rows)`);
  if (seenResources.size === 0) throw new TraceInvalidError(`${file}: no rows (only a header)`);
  for (const r of opts.resources ?? []) {
    if (!seenResources.has(r)) {
      throw new TraceInvalidError(`${file}: unknown resource "${r}" (the trace has: ${[...seenResources].sort().join(', ') || 'none'})`);
    }
  }
  if (groups.size === 0) throw new TraceInvalidError(`${file}: no rows${opts.resources ? ` for ${opts.resources.join(', ')}` : ''}`);

  for (const g of groups.values()) if (g.unordered) sortByTime(g, file);
  const inferred = (opts.intervalS ?? meta.interval_s) !== undefined ? undefined : inferInterval(groups);
  const intervalS = opts.intervalS ?? meta.interval_s ?? inferred!.intervalS;
  const series: Series[] = [];
  const moved = { off: 0, replaced: 0, firstLine: 0 };
  for (const g of groups.values()) series.push(toRegular(g, intervalS, file, moved));
  series.sort((a, b) => (a.tenant === b.tenant ? a.resource.localeCompare(b.resource) : a.tenant.localeCompare(b.tenant)));
  const warnings = moved.off === 0 ? [] : [
    `${file}: ${moved.off} sample(s) not on their series' ${intervalS}s grid (the first at line ${moved.firstLine}) were moved to the nearest slot` +
      (moved.replaced ? `; ${moved.replaced} of them fell on a slot another sample held, and the later one was kept` : ''),
  ];
  if (inferred?.shorter) warnings.unshift(`${file}: no interval_s in a .meta.json: the interval is taken as ${intervalS}s, the most common gap between samples (${inferred.shorter} gap(s) were shorter)`);
  return { origin: file, intervalS, series, units: meta.units ?? {}, ...(warnings.length ? { warnings } : {}) };
}

/** Missing-value words other writers use instead of an empty field: pandas and numpy write NaN, R writes NA. */
const MISSING = /^(nan|na)$/i;

/**
 * Splits one line by RFC 4180: a field may be quoted, and `""` inside quotes is one quote. A quote only opens a field
 * at its start (as Python's csv module reads `a"b` as the text a"b). Returns the fields, or why the line cannot be
 * read: a quoted field not closed on its line (a field spanning lines is not supported), or text after a closing quote.
 */
export function splitQuoted(line: string): string[] | string {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) !== 34 /* " */) {
      const c = line.indexOf(',', i);
      fields.push(line.slice(i, c < 0 ? line.length : c));
      if (c < 0) return fields;
      i = c + 1;
      continue;
    }
    let text = '';
    let j = i + 1;
    for (;;) {
      const close = line.indexOf('"', j);
      if (close < 0) return `quoted field ${fields.length + 1} is not closed on its line (a field spanning lines is not supported)`;
      text += line.slice(j, close);
      if (line.charCodeAt(close + 1) !== 34) {
        i = close + 1;
        break;
      }
      text += '"';
      j = close + 2;
    }
    fields.push(text);
    if (i === line.length) return fields;
    if (line.charCodeAt(i) !== 44 /* , */) {
      return `unexpected text "${line.slice(i, i + 20)}" after the closing quote of field ${fields.length} (a quote inside a quoted field is written "")`;
    }
    i++;
  }
}

function repeated(file: string, g: Raw, lineNo: number, otherLine: number, t: number): Error {
  return new TraceInvalidError(`${file}:${lineNo}: timestamp ${t} repeats line ${otherLine} in series ${g.tenant}/${g.resource}`);
}

/** Puts a series' samples in time order; a timestamp given twice is an error naming both lines. */
function sortByTime(g: Raw, file: string): void {
  const order = Array.from(g.t, (_, i) => i).sort((a, b) => g.t[a] - g.t[b] || g.line[a] - g.line[b]);
  const t = order.map((i) => g.t[i]), v = order.map((i) => g.v[i]), line = order.map((i) => g.line[i]);
  for (let i = 1; i < t.length; i++) if (t[i] === t[i - 1]) throw repeated(file, g, line[i], line[i - 1], t[i]);
  Object.assign(g, { t, v, line, unordered: false });
}

/** Timestamps at or above this are not seconds. */
const MAX_SECONDS = 1e11;

/**
 * The interval of a trace without a meta file: the most common gap between a series' consecutive samples (the smallest
 * of equally common ones), not the smallest gap, which one stray or jittered sample would set (1 s in a 5-minute
 * trace: 300 times the steps, and scores of made-up slots). `shorter` counts the gaps below it.
 */
function inferInterval(groups: Map<string, Raw>): { intervalS: number; shorter: number } {
  const counts = new Map<number, number>();
  for (const g of groups.values()) {
    for (let i = 1; i < g.t.length; i++) {
      const d = g.t[i] - g.t[i - 1];
      counts.set(d, (counts.get(d) ?? 0) + 1);
    }
  }
  let intervalS = 60;
  let most = 0;
  for (const [d, n] of counts) if (n > most || (n === most && d < intervalS)) [intervalS, most] = [d, n];
  let shorter = 0;
  for (const [d, n] of counts) if (d < intervalS) shorter += n;
  return { intervalS, shorter };
}

/** Places samples on a regular grid at `intervalS` from the first timestamp; missing slots are NaN. A sample off the
 *  grid goes to the nearest slot, the later of two in one slot wins; `moved` counts both (the first line too). */
function toRegular(g: Raw, intervalS: number, file: string, moved: { off: number; replaced: number; firstLine: number }): Series {
  const start = g.t[0];
  const n = Math.round((g.t[g.t.length - 1] - start) / intervalS) + 1;
  if (n > 50_000_000) throw new TraceInvalidError(`${file}: series ${g.tenant}/${g.resource} spans ${n} steps of ${intervalS}s`);
  const values = new Float64Array(n).fill(NaN);
  let prev = -1;
  for (let i = 0; i < g.t.length; i++) {
    const at = (g.t[i] - start) / intervalS;
    const idx = Math.round(at);
    if (Math.abs(at - idx) > 1e-9 && (moved.off++ === 0 || g.line[i] < moved.firstLine)) moved.firstLine = g.line[i];
    // distinct times in one slot: at least one of the two was off the grid
    if (idx === prev) moved.replaced++;
    values[idx] = g.v[i];
    prev = idx;
  }
  return { tenant: g.tenant, resource: g.resource, startS: start, intervalS, values };
}
