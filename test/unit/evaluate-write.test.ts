// The evaluate command's atomic writers: nothing under the final name until close, and nothing left behind by abort.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { AtomicGzipCsv } from '../../src/evaluate/write.js';

const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'foresight-write-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('AtomicGzipCsv', () => {
  it('appears under its name only once closed', async () => {
    const d = dir();
    const csv = new AtomicGzipCsv(join(d, 'f.csv.gz'), 'a,b');
    csv.line('1,2');
    expect(readdirSync(d)).not.toContain('f.csv.gz');
    await csv.close();
    expect(readdirSync(d)).toEqual(['f.csv.gz']);
    expect(gunzipSync(readFileSync(join(d, 'f.csv.gz'))).toString()).toBe('a,b\n1,2\n');
  });

  it('leaves no file behind when aborted, also at once after it was made', async () => {
    const d = dir();
    new AtomicGzipCsv(join(d, 'f.csv.gz'), 'a,b').abort();
    const later = new AtomicGzipCsv(join(d, 'g.csv.gz'), 'a,b');
    later.line('1,2');
    later.abort();
    // the stream's own open and close run in the background: give them their turns
    await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync(d)).toEqual([]);
  });

  it('removes the directories it made when aborted, and no directory that was there or holds something else', async () => {
    const d = dir();
    new AtomicGzipCsv(join(d, 'new', 'sub', 'f.csv.gz'), 'a,b').abort();
    expect(readdirSync(d)).toEqual([]);
    // made by it, but something else was written there meanwhile: kept, with what it holds
    const other = new AtomicGzipCsv(join(d, 'out', 'f.csv.gz'), 'a,b');
    writeFileSync(join(d, 'out', 'keep.json'), '{}');
    other.abort();
    expect(readdirSync(join(d, 'out'))).toEqual(['keep.json']);
    // there before: kept even when empty
    mkdirSync(join(d, 'there'));
    new AtomicGzipCsv(join(d, 'there', 'f.csv.gz'), 'a,b').abort();
    await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync(d).sort()).toEqual(['out', 'there']);
    expect(readdirSync(join(d, 'there'))).toEqual([]);
  });
});
