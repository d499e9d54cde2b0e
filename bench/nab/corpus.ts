// Reads a corpus in the Numenta Anomaly Benchmark's layout (data CSVs, combined windows, profiles) and NAB result files.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** NAB cost matrix (config/profiles.json). */
export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
  tnWeight?: number;
}

export type Profiles = Record<string, CostMatrix>;

/** The three profiles of NAB's config/profiles.json (v1.1), used when a corpus ships none. */
export const NAB_PROFILES: Profiles = {
  standard: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.11, tnWeight: 1.0 },
  reward_low_FP_rate: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.22, tnWeight: 1.0 },
  reward_low_FN_rate: { tpWeight: 1.0, fnWeight: 2.0, fpWeight: 0.11, tnWeight: 1.0 },
};

/** One labelled series of the corpus. */
export interface NabFile {
  /** "<category>/<file>.csv", the key of labels/combined_windows.json. */
  name: string;
  category: string;
  /** Timestamps as written in the CSV ("YYYY-MM-DD HH:MM:SS"). */
  stamps: string[];
  /** Timestamps in epoch milliseconds (UTC; NAB timestamps carry no zone). */
  timesMs: Float64Array;
  values: Float64Array;
  /** Anomaly windows as inclusive row-index ranges [start, end], in label-file order. */
  windows: Array<[number, number]>;
}

export interface NabCorpus {
  dir: string;
  files: NabFile[];
  /** Total number of labelled windows (the perfect detector's TP count). */
  windowCount: number;
}

const STAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?/;

/** Parses NAB's "YYYY-MM-DD HH:MM:SS[.ffffff]" as UTC milliseconds; NaN when malformed. */
export function parseStamp(s: string): number {
  const m = STAMP.exec(s.trim());
  if (!m) return NaN;
  const frac = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) + frac;
}

function splitLines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.length > 0);
}

/** Reads a `timestamp,value` CSV. */
export function readDataCsv(path: string): { stamps: string[]; timesMs: Float64Array; values: Float64Array } {
  const lines = splitLines(readFileSync(path, 'utf8'));
  const header = lines[0].replace(/^\uFEFF/, '').split(',');
  const ti = header.indexOf('timestamp');
  const vi = header.indexOf('value');
  if (ti < 0 || vi < 0) throw new Error(`${path}: expected columns timestamp,value; found ${lines[0]}`);
  const n = lines.length - 1;
  const stamps = new Array<string>(n);
  const timesMs = new Float64Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const f = lines[i + 1].split(',');
    stamps[i] = f[ti];
    timesMs[i] = parseStamp(f[ti]);
    values[i] = Number(f[vi]);
  }
  return { stamps, timesMs, values };
}

/**
 * Maps label windows [start, end] (timestamps) to row indices. NAB requires both limits to be timestamps of the file
 * (sweeper.py looks them up with `timestamps.index`); for other corpora a limit between rows is snapped inwards
 * (first row >= start, last row <= end), as NAB's older scorer.py Window class did. Empty windows are dropped.
 */
export function windowIndices(timesMs: Float64Array, limits: Array<[string, string]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [a, b] of limits) {
    const t1 = parseStamp(a);
    const t2 = parseStamp(b);
    let s = -1;
    let e = -1;
    for (let i = 0; i < timesMs.length; i++) {
      if (s < 0 && timesMs[i] >= t1) s = i;
      if (timesMs[i] <= t2) e = i;
    }
    if (s >= 0 && e >= s) out.push([s, e]);
  }
  return out;
}

/** Reads `DIR/data/<category>/<file>.csv` for every file named in `DIR/labels/combined_windows.json`. */
export function readNabCorpus(dir: string, labelsPath = join(dir, 'labels', 'combined_windows.json')): NabCorpus {
  const labels = JSON.parse(readFileSync(labelsPath, 'utf8')) as Record<string, Array<[string, string]>>;
  const files: NabFile[] = [];
  let windowCount = 0;
  for (const name of Object.keys(labels).sort()) {
    const path = join(dir, 'data', name);
    if (!existsSync(path)) throw new Error(`${labelsPath} names ${name}, but ${path} does not exist`);
    const { stamps, timesMs, values } = readDataCsv(path);
    const windows = windowIndices(timesMs, labels[name]);
    windowCount += windows.length;
    files.push({ name, category: name.split('/')[0], stamps, timesMs, values, windows });
  }
  return { dir, files, windowCount };
}

/** Reads profiles in NAB's config/profiles.json shape ({name: {CostMatrix: {...}}}). */
export function readProfiles(path: string): Profiles {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, { CostMatrix: CostMatrix }>;
  const out: Profiles = {};
  for (const [k, v] of Object.entries(raw)) out[k] = v.CostMatrix;
  return out;
}

/**
 * Reads the anomaly_score column of one detector's result for `file` from NAB's results layout:
 * `RESULTS/<detector>/<category>/<detector>_<file>.csv` (or `.csv.gz`).
 */
export function readResultScores(resultsDir: string, detector: string, file: NabFile): Float64Array {
  const base = file.name.split('/').pop() as string;
  const stem = join(resultsDir, detector, file.category, `${detector}_${base}`);
  const path = existsSync(stem) ? stem : `${stem}.gz`;
  const buf = readFileSync(path);
  const text = path.endsWith('.gz') ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
  const lines = splitLines(text);
  const ci = lines[0].split(',').indexOf('anomaly_score');
  if (ci < 0) throw new Error(`${path}: no anomaly_score column`);
  const n = lines.length - 1;
  if (n !== file.values.length) throw new Error(`${path}: ${n} rows, data file has ${file.values.length}`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // Column index counted on the raw line: result files hold no quoted commas.
    let start = 0;
    const line = lines[i + 1];
    for (let c = 0; c < ci; c++) start = line.indexOf(',', start) + 1;
    const end = line.indexOf(',', start);
    out[i] = Number(end < 0 ? line.slice(start) : line.slice(start, end));
  }
  return out;
}

/** Lists the detectors in a results directory (sub-directories). */
export function listDetectors(resultsDir: string): string[] {
  return readdirSync(resultsDir).filter((d) => statSync(join(resultsDir, d)).isDirectory());
}
