// Writes the backtest's files atomically: each to a temporary name, renamed into place only when all are written.
import { createWriteStream, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { finished } from 'node:stream/promises';
import { csvField } from '../sources/trace-file.js';
import type { Grid } from './grid.js';
import type { PolicyResult } from './run.js';

function fmt(x: number): string {
  if (x !== x) return '';
  if (x === 0) return '0';
  const a = Math.abs(x);
  // Six significant digits, without exponent noise for ordinary magnitudes.
  return a >= 1e-4 && a < 1e15 ? String(Number(x.toPrecision(6))) : x.toPrecision(6);
}

/** Streams allocations.csv.gz: timestamp,tenant,resource,policy,usage,allocation, one row per step, tenant and policy. */
export async function writeAllocationsCsv(path: string, grid: Grid, results: readonly PolicyResult[]): Promise<void> {
  const gz = createGzip({ level: 6 });
  const file = createWriteStream(path);
  gz.pipe(file);
  const write = (s: string): Promise<void> | void => {
    if (!gz.write(s)) return new Promise((r) => gz.once('drain', () => r()));
  };
  await write('timestamp,tenant,resource,policy,usage,allocation\n');
  const main = results.filter((r) => r.main);
  const res = csvField(grid.resource);
  const tenants = grid.tenants.map(csvField);
  const chunk: string[] = [];
  for (let i = 0; i < grid.nSteps; i++) {
    const ts = grid.startS + i * grid.intervalS;
    for (let k = 0; k < grid.tenants.length; k++) {
      const u = fmt(grid.usage[k][i]);
      for (const r of main) chunk.push(`${ts},${tenants[k]},${res},${r.label},${u},${fmt(r.allocations[k][i])}\n`);
    }
    if (chunk.length > 20_000) {
      const p = write(chunk.join(''));
      chunk.length = 0;
      if (p) await p;
    }
  }
  await write(chunk.join(''));
  gz.end();
  await finished(file);
}

export interface OutputFiles {
  summary: unknown;
  html: string;
}

/**
 * Writes allocations.csv.gz, summary.json and report.html into `dir` (created if needed). Every file is first
 * written under a temporary name in the same directory; only when all three are complete are they renamed into
 * place, so an error leaves no half-written file (and the temporaries are removed).
 */
export async function writeOutputs(dir: string, grid: Grid, results: readonly PolicyResult[], files: OutputFiles): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const tag = `.tmp-${process.pid}-${Date.now()}`;
  const names = ['allocations.csv.gz', 'summary.json', 'report.html'];
  const tmp = names.map((n) => join(dir, `.${n}${tag}`));
  try {
    await writeAllocationsCsv(tmp[0], grid, results);
    writeFileSync(tmp[1], `${JSON.stringify(files.summary, null, 2)}\n`);
    writeFileSync(tmp[2], files.html);
    names.forEach((n, j) => renameSync(tmp[j], join(dir, n)));
  } catch (err) {
    for (const t of tmp) rmSync(t, { force: true });
    throw err;
  }
  return names.map((n) => join(dir, n));
}
