// `foresight evaluate` end to end on a small synthetic trace: both files, the columns, the warm-up, clear errors.
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { run } from '../../src/commands/evaluate.js';
import { parseFlagDuration } from '../../src/config/load.js';
import { gaussian } from '../helpers/random.js';
import { tempDir } from '../helpers/temp.js';

function writeTrace(dir: string, days: number): string {
  const lines = ['timestamp,tenant,resource,value'];
  const n = Math.round((days * 86_400) / 300);
  for (const tenant of ['a', 'b']) {
    for (let i = 0; i < n; i++) {
      const v = 10 + 5 * Math.sin((2 * Math.PI * i) / 288) + (tenant === 'b' ? 3 : 0) + ((i * 7919) % 13) / 13;
      lines.push(`${i * 300},${tenant},cpu,${i === 5 ? '' : v.toFixed(4)}`);
      lines.push(`${i * 300},${tenant},memory,${(100 + i * 0.01).toFixed(3)}`);
    }
  }
  const file = join(dir, 'trace.csv');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

describe('foresight evaluate', () => {
  it('refuses a horizon no origin can be scored at, and leaves no file of headers behind', async () => {
    const dir = tempDir('foresight-eval-');
    const trace = writeTrace(dir, 2);
    const out = join(dir, 'out');
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      // two days of 5-minute samples, a third of them warm-up: 32 hours ahead of the first origin at most
      await expect(run(['--trace', trace, '--resource', 'cpu', '--horizons', '300,2d', '--out', out])).rejects.toMatchObject({
        code: 'FORESIGHT_ERR_ARGUMENT_INVALID',
        message: "no forecast could be scored at horizon(s) 300s, 172800s (forecasts made: none): 172800s reach beyond the 114900s the trace leaves ahead of an origin after each series' warm-up; use shorter --horizons or a longer trace",
      });
    } finally {
      err.mockRestore();
    }
    expect(existsSync(join(out, 'forecasts.csv.gz'))).toBe(false);
    expect(existsSync(join(out, 'summary.json'))).toBe(false);
  });

  it('refuses a trace with nothing to score as a trace problem, not a usage error about horizons', async () => {
    const dir = tempDir('foresight-eval-');
    const rows = (value: (i: number) => string) => ['timestamp,tenant,resource,value', ...Array.from({ length: 600 }, (_, i) => `${i * 300},a,cpu,${value(i)}`)].join('\n') + '\n';
    const empty = join(dir, 'all-missing.csv');
    writeFileSync(empty, rows(() => ''));
    const early = join(dir, 'warmup-only.csv');
    // 600 steps: a third (200) is warm-up; values in the first 100 only
    writeFileSync(early, rows((i) => (i < 100 ? '1' : 'NaN')));
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await expect(run(['--trace', empty, '--resource', 'cpu', '--out', join(dir, 'o1'), '--quiet'])).rejects.toMatchObject({
        code: 'FORESIGHT_ERR_TRACE_INVALID',
        message: `${empty}: every value of resource "cpu" is missing (empty, NaN or NA): there is nothing to forecast or score`,
      });
      await expect(run(['--trace', early, '--resource', 'cpu', '--out', join(dir, 'o2'), '--quiet'])).rejects.toMatchObject({
        code: 'FORESIGHT_ERR_TRACE_INVALID',
        message: `${early}: resource "cpu" has no value to score: its 100 known value(s) all fall in each series' warm-up (the first 7 days, or a third of a series shorter than that)`,
      });
    } finally {
      err.mockRestore();
    }
    for (const o of ['o1', 'o2']) expect(existsSync(join(dir, o))).toBe(false);
  });

  it('checks --out before reading the trace (a file there is a usage error) and refuses a horizon given twice', async () => {
    const dir = tempDir('foresight-eval-');
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    // the trace does not exist: the --out problem is found first
    await expect(run(['--trace', join(dir, 'missing.csv'), '--resource', 'cpu', '--out', file])).rejects.toMatchObject({
      code: 'FORESIGHT_ERR_ARGUMENT_INVALID',
      message: `--out ${file}: ${file} is a file, not a directory`,
    });
    await expect(run(['--trace', join(dir, 'missing.csv'), '--resource', 'cpu', '--out', join(file, 'sub')])).rejects.toThrow(`${file} is a file, not a directory`);
    const trace = writeTrace(dir, 3);
    await expect(run(['--trace', trace, '--resource', 'cpu', '--horizons', '5m,300', '--out', join(dir, 'o')])).rejects.toMatchObject({
      code: 'FORESIGHT_ERR_ARGUMENT_INVALID',
      message: '--horizons 5m,300: 300s is given twice (each horizon once)',
    });
    expect(existsSync(join(dir, 'o'))).toBe(false);
  });

  it('writes forecasts.csv.gz and summary.json after a warm-up of a third of a short series', async () => {
    const dir = tempDir('foresight-eval-');
    const trace = writeTrace(dir, 3);
    const out = join(dir, 'out');
    expect(await run(['--trace', trace, '--resource', 'cpu', '--every', '6', '--out', out])).toBe(0);
    const csv = gunzipSync(readFileSync(join(out, 'forecasts.csv.gz'))).toString('utf8').trim().split('\n');
    expect(csv[0]).toBe('origin,tenant,resource,horizon_s,actual,q50,q90,q95,q99,model');
    const rows = csv.slice(1).map((l) => l.split(','));
    expect(rows.length).toBeGreaterThan(0);
    // 3 days = 864 steps, warm-up a third = 288 steps: the first origin is sample 287 (t = 86100 s)
    expect(Math.min(...rows.map((r) => Number(r[0])))).toBe(287 * 300);
    expect(new Set(rows.map((r) => r[3]))).toEqual(new Set(['300', '900', '1800']));
    for (const r of rows) {
      const [q50, q90, q95, q99] = r.slice(5, 9).map(Number);
      expect(q50).toBeLessThanOrEqual(q90);
      expect(q90).toBeLessThanOrEqual(q95);
      expect(q95).toBeLessThanOrEqual(q99);
      expect(Number(r[0]) + Number(r[3])).toBeLessThanOrEqual(863 * 300);
    }
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.horizons).toHaveLength(3);
    expect(summary.horizons[0].foresight.n).toBeGreaterThan(100);
    expect(summary.horizons[0].foresight.coverage['0.95']).toBeGreaterThan(0.5);
    // no temp files left behind
    expect(readdirSync(out).sort()).toEqual(['forecasts.csv.gz', 'summary.json']);
  });

  it('fails clearly on bad input and writes nothing', async () => {
    const dir = tempDir('foresight-eval-');
    const trace = writeTrace(dir, 1);
    expect(await run(['--resource', 'cpu'])).toBe(2);
    await expect(run(['--trace', join(dir, 'missing.csv'), '--resource', 'cpu', '--out', join(dir, 'o1')])).rejects.toThrow(/no such file/);
    await expect(run(['--trace', trace, '--resource', 'gpu', '--out', join(dir, 'o2')])).rejects.toThrow(/unknown resource "gpu"/);
    await expect(run(['--trace', trace, '--resource', 'cpu', '--horizons', '7m', '--out', join(dir, 'o3')])).rejects.toThrow(/not a positive multiple/);
    await expect(run(['--trace', trace, '--resource', 'cpu', '--every', '0', '--out', join(dir, 'o4')])).rejects.toThrow(/--every/);
    for (const o of ['o1', 'o2', 'o3', 'o4']) expect(existsSync(join(dir, o, 'summary.json'))).toBe(false);
  });

  it('scores seasonal naive from samples up to the origin: on a random walk at 2 days it is no better than persistence', async () => {
    // hourly random walk (season: 24 steps), 30 days: any look-ahead past the origin would beat the last value
    const dir = tempDir('foresight-eval-');
    const rnd = gaussian(17);
    const lines = ['timestamp,tenant,resource,value'];
    let v = 1000;
    for (let i = 0; i < 30 * 24; i++) lines.push(`${i * 3600},rw,cpu,${(v += 10 * rnd()).toFixed(4)}`);
    const trace = join(dir, 'rw.csv');
    writeFileSync(trace, lines.join('\n') + '\n');
    const out = join(dir, 'out');
    expect(await run(['--trace', trace, '--resource', 'cpu', '--horizons', '1h,36h,2d', '--every', '2', '--out', out])).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    const [h1, h36, h48] = summary.horizons;
    expect(h48.horizonS).toBe(2 * 86_400);
    expect(h48.seasonalNaive.n).toBeGreaterThan(100);
    // two whole seasons back from the target is the origin itself: the same forecast as the last value
    expect(h48.seasonalNaive.mae).toBe(h48.persistence.mae);
    // 36 h: a day and a half ahead reads the value 12 h before the origin, worse than the last value on a random walk
    expect(h36.seasonalNaive.mae).toBeGreaterThan(h36.persistence.mae);
    expect(h1.seasonalNaive.mae).toBeGreaterThan(h1.persistence.mae);
  });

  it('on a 15-minute trace uses the default horizons rounded up (15m, 30m), says so, and quotes names with commas', async () => {
    const dir = tempDir('foresight-eval-');
    const lines = ['timestamp,tenant,resource,value'];
    for (let i = 0; i < 3 * 96; i++) lines.push(`${i * 900},"team,a",cpu,${(10 + 5 * Math.sin((2 * Math.PI * i) / 96)).toFixed(4)}`);
    const trace = join(dir, 'i900.csv');
    writeFileSync(trace, lines.join('\n') + '\n');
    const out = join(dir, 'out');
    const said: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((m: string) => void said.push(String(m)));
    try {
      expect(await run(['--trace', trace, '--resource', 'cpu', '--every', '4', '--out', out])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(said).toContain('evaluate: horizons 900s, 1800s (the defaults 5m, 15m, 30m rounded up to multiples of the trace interval 900s)');
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.horizons.map((h: { horizonS: number }) => h.horizonS)).toEqual([900, 1800]);
    const rows = gunzipSync(readFileSync(join(out, 'forecasts.csv.gz'))).toString('utf8').trim().split('\n').slice(1);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r).toMatch(/^\d+,"team,a",cpu,(900|1800),/);
    // --quiet: the results only (on stdout, as backtest's table), no reading, horizons or progress lines
    said.length = 0;
    const results: string[] = [];
    const quiet = vi.spyOn(console, 'error').mockImplementation((m: string) => void said.push(String(m)));
    const quietOut = vi.spyOn(console, 'log').mockImplementation((m: string) => void results.push(String(m)));
    try {
      expect(await run(['--trace', trace, '--resource', 'cpu', '--every', '4', '--out', join(dir, 'o-quiet'), '--quiet'])).toBe(0);
    } finally {
      quiet.mockRestore();
      quietOut.mockRestore();
    }
    expect(said.filter((l) => !/^evaluate: wrote /.test(l))).toEqual([]);
    expect(results).toHaveLength(2);
    for (const l of results) expect(l).toMatch(/^h=(900|1800)s MAE /);
    // --json: summary.json's content on stdout, one line, and no result lines
    said.length = 0;
    const out3 = join(dir, 'o-json');
    const err3 = vi.spyOn(console, 'error').mockImplementation((m: string) => void said.push(String(m)));
    const printed: string[] = [];
    const out3spy = vi.spyOn(process.stdout, 'write').mockImplementation((m: string | Uint8Array) => (printed.push(String(m)), true));
    try {
      expect(await run(['--trace', trace, '--resource', 'cpu', '--every', '4', '--out', out3, '--json', '--quiet'])).toBe(0);
    } finally {
      err3.mockRestore();
      out3spy.mockRestore();
    }
    expect(printed).toHaveLength(1);
    expect(JSON.parse(printed[0])).toEqual(JSON.parse(readFileSync(join(out3, 'summary.json'), 'utf8')));
    expect(printed.filter((l) => /^h=/.test(l))).toEqual([]);
    // given explicitly, the same horizons are refused with what would work
    await expect(run(['--trace', trace, '--resource', 'cpu', '--horizons', '5m,15m,30m', '--out', join(dir, 'o2')])).rejects.toThrow(
      'horizon 300s is not a positive multiple of the trace interval 900s: use 900s (e.g. --horizons 900,1800)',
    );
  });

  it('parses durations, naming the flag of one it cannot parse', () => {
    expect(parseFlagDuration('horizons', '5m')).toBe(300);
    expect(parseFlagDuration('horizons', '30s')).toBe(30);
    expect(parseFlagDuration('horizons', '1h')).toBe(3600);
    expect(parseFlagDuration('horizons', '900')).toBe(900);
    expect(() => parseFlagDuration('horizons', 'soon')).toThrow(/--horizons: cannot parse duration "soon"/);
  });
});
