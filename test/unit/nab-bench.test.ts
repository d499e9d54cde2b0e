// bench:nab on a small corpus in NAB's layout: default profiles, --out in NAB's results layout, and a round trip
// through the scorer giving the same scores.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectFile, runNabBench } from '../../bench/nab.js';
import { NAB_PROFILES, readNabCorpus, readResultScores, type NabFile } from '../../bench/nab/corpus.js';
import { Core } from '../../src/core/wasm.js';
import { scoreDetector } from '../../bench/nab/scorer.js';

function stamp(i: number): string {
  return new Date(Date.UTC(2024, 0, 1) + i * 300_000).toISOString().replace('T', ' ').slice(0, 19);
}

/** Writes a corpus of three 5-minute series: a spike, a level shift, and a clean one. */
function writeCorpus(dir: string): void {
  let seed = 7;
  const noise = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296 - 0.5;
  };
  const n = 1500;
  const series: Record<string, { values: number[]; windows: Array<[number, number]> }> = {};
  const base = () => Array.from({ length: n }, (_, i) => 10 + 3 * Math.sin((2 * Math.PI * i) / 288) + 0.3 * noise());
  const spike = base();
  spike[1100] += 8;
  series['synthA/spike.csv'] = { values: spike, windows: [[1070, 1130]] };
  const shift = base();
  for (let i = 1200; i < n; i++) shift[i] += 4;
  series['synthB/shift.csv'] = { values: shift, windows: [[1170, 1230]] };
  series['synthB/clean.csv'] = { values: base(), windows: [] };
  const labels: Record<string, string[][]> = {};
  for (const [name, s] of Object.entries(series)) {
    mkdirSync(join(dir, 'data', name.split('/')[0]), { recursive: true });
    const rows = ['timestamp,value', ...s.values.map((v, i) => `${stamp(i)},${v}`)];
    writeFileSync(join(dir, 'data', name), `${rows.join('\n')}\n`);
    labels[name] = s.windows.map(([a, b]) => [`${stamp(a)}.000000`, `${stamp(b)}.000000`]);
  }
  mkdirSync(join(dir, 'labels'));
  writeFileSync(join(dir, 'labels', 'combined_windows.json'), JSON.stringify(labels));
}

describe('bench:nab on a corpus in NAB layout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nab-corpus-'));
  // NAB's results layout is RESULTS/<detector>/<category>/<detector>_<file>.csv: --out is the <detector> folder.
  const results = mkdtempSync(join(tmpdir(), 'nab-results-'));
  const out = join(results, 'foresight');
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(results, { recursive: true, force: true });
  });
  writeCorpus(dir);

  it('scores every profile, writes NAB result files, and the files score the same when read back', () => {
    const report = runNabBench(['--data', dir, '--out', out, '--no-peers']) as {
      scores: Record<string, number>;
      files: number;
      windows: number;
    };
    expect(report.files).toBe(3);
    expect(report.windows).toBe(2);
    expect(Object.keys(report.scores).sort()).toEqual(Object.keys(NAB_PROFILES).sort());
    // Both planted anomalies are obvious: the detector must beat the null detector by far.
    expect(report.scores.standard).toBeGreaterThan(50);

    const written = readFileSync(join(out, 'synthA', 'foresight_spike.csv'), 'utf8').trim().split('\n');
    expect(written[0]).toBe('timestamp,value,anomaly_score');
    expect(written).toHaveLength(1501);

    const corpus = readNabCorpus(dir);
    const again = scoreDetector(corpus.files, corpus.files.map((f) => readResultScores(results, 'foresight', f)), NAB_PROFILES);
    for (const [k, v] of Object.entries(again.profiles)) expect(v.score).toBeCloseTo(report.scores[k], 1);
  });
});

describe('bench:nab --week-ago', () => {
  it('zeroes the score of a point within what the series did a week earlier, and only there', () => {
    // two weeks and a day at 5 minutes: the same spike in the first and second week, a new one in the second only
    const week = 2016;
    const n = 2 * week + 288;
    const values = Float64Array.from({ length: n }, (_, i) => 10 + Math.sin((2 * Math.PI * i) / 288) + 0.05 * Math.sin(i * 12.9898));
    const timesMs = Float64Array.from({ length: n }, (_, i) => i * 300_000);
    values[500] = values[500 + week] = 30;
    values[1500 + week] = 30;
    const f: NabFile = { name: 'x/y.csv', category: 'x', stamps: [], timesMs, values, windows: [] };
    const core = new Core('debug');
    const plain = detectFile(core, f);
    const masked = detectFile(core, f, true);
    expect(plain[500 + week]).toBeGreaterThan(0.5);
    expect(masked[500 + week]).toBe(0);
    expect(masked[1500 + week]).toBe(plain[1500 + week]);
    expect(plain[1500 + week]).toBeGreaterThan(0.5);
  });
});

describe('bench:nab --week-ago on irregular timestamps', () => {
  it('finds the week-ago window by time, not by row count', () => {
    // 5-minute rows with 300 rows missing between the two spikes: a week back is 1,716 rows there, not 2,016
    const week = 2016;
    const times: number[] = [];
    for (let k = 0; k < 2 * week + 288; k++) if (k < 1000 || k >= 1300) times.push(k);
    const n = times.length;
    const timesMs = Float64Array.from(times, (k) => k * 300_000);
    const values = Float64Array.from(times, (k) => 10 + Math.sin((2 * Math.PI * k) / 288) + 0.05 * Math.sin(k * 12.9898));
    const row = (k: number) => times.indexOf(k);
    values[row(900)] = values[row(900 + week)] = 30;
    const f: NabFile = { name: 'x/gap.csv', category: 'x', stamps: [], timesMs, values, windows: [] };
    const core = new Core('debug');
    expect(detectFile(core, f)[row(900 + week)]).toBeGreaterThan(0.5);
    expect(detectFile(core, f, true)[row(900 + week)]).toBe(0);
    expect(n).toBe(2 * week + 288 - 300);
  });
});
