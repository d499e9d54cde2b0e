// The canonical trace reader: regular series with NaN gaps, and errors that name the file, the line and the problem.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readTrace } from '../../src/sources/trace-file.js';
import { tempDir } from '../helpers/temp.js';

const dir = tempDir('foresight-trace-');

function write(name: string, text: string, gz = false): string {
  const p = join(dir, name);
  writeFileSync(p, gz ? gzipSync(text) : text);
  return p;
}

describe('readTrace', () => {
  it('places samples on a regular grid and marks empty values and missing rows as NaN', async () => {
    const p = write('a.csv', 'timestamp,tenant,resource,value\n0,t1,cpu,1\n60,t1,cpu,\n180,t1,cpu,4\n0,t2,cpu,2\n60,t2,cpu,3\n');
    const set = await readTrace(p);
    expect(set.intervalS).toBe(60);
    const t1 = set.series.find((s) => s.tenant === 't1')!;
    expect(Array.from(t1.values)).toEqual([1, NaN, NaN, 4]);
    expect(set.series.map((s) => s.tenant)).toEqual(['t1', 't2']);
  });

  it('moves samples off the grid to the nearest slot and says how many, and how many replaced another', async () => {
    const grid = await readTrace(write('on-grid.csv', 'timestamp,tenant,resource,value\n0,t1,cpu,1\n60,t1,cpu,2\n120,t1,cpu,3\n'));
    expect(grid.warnings).toBeUndefined();
    // 62 and 118 are moved to 60 and 120; 100 lands on 120 too, and 118 (later) replaces it
    const p = write('jitter.csv', 'timestamp,tenant,resource,value\n0,t1,cpu,1\n62,t1,cpu,2\n100,t1,cpu,7\n118,t1,cpu,3\n180,t1,cpu,4\n');
    writeFileSync(join(dir, 'jitter.meta.json'), JSON.stringify({ interval_s: 60 }));
    const set = await readTrace(p);
    expect(Array.from(set.series[0].values)).toEqual([1, 2, 3, 4]);
    expect(set.warnings).toEqual([`${p}: 3 sample(s) not on their series' 60s grid (the first at line 3) were moved to the nearest slot; 1 of them fell on a slot another sample held, and the later one was kept`]);
  });

  it('takes the most common gap as the interval without a meta file, not the smallest, and says so', async () => {
    // 5-minute samples with one stray sample a second after another: the smallest gap would make the interval 1 s
    const rows = Array.from({ length: 12 }, (_, i) => `${i * 300},t1,cpu,${i}`);
    rows.splice(4, 0, '901,t1,cpu,9');
    const p = write('stray.csv', `timestamp,tenant,resource,value\n${rows.join('\n')}\n`);
    const set = await readTrace(p);
    expect(set.intervalS).toBe(300);
    expect(set.series[0].values).toHaveLength(12);
    expect(set.warnings?.[0]).toBe(`${p}: no interval_s in a .meta.json: the interval is taken as 300s, the most common gap between samples (2 gap(s) were shorter)`);
  });

  it('refuses timestamps in milliseconds', async () => {
    const p = write('ms.csv', 'timestamp,tenant,resource,value\n1700000000000,t1,cpu,1\n1700000300000,t1,cpu,2\n');
    await expect(readTrace(p)).rejects.toThrow(`${p}:2: timestamp 1700000000000 is not in seconds (milliseconds?): the format takes integer seconds`);
  });

  it('reads gzip files and takes the interval from the meta file beside them', async () => {
    const p = write('b.csv.gz', 'timestamp,tenant,resource,value\n0,t1,memory,5\n600,t1,memory,6\n', true);
    writeFileSync(join(dir, 'b.meta.json'), JSON.stringify({ interval_s: 300, units: { memory: 'percent' } }));
    const set = await readTrace(p, { resources: ['memory'] });
    expect(set.intervalS).toBe(300);
    expect(Array.from(set.series[0].values)).toEqual([5, NaN, 6]);
    expect(set.units.memory).toBe('percent');
  });

  it('refuses a meta file that is not an object with a positive interval_s and text units, naming the meta file', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['null', 'null', /expected a JSON object, found null/],
      ['string', '"abc"', /expected a JSON object, found "abc"/],
      ['zero', '0', /expected a JSON object, found 0/],
      ['array', '[300]', /expected a JSON object, found \[300\]/],
      ['negative', '{"interval_s":-300}', /interval_s must be a positive number of seconds, found -300/],
      ['zero-interval', '{"interval_s":0}', /interval_s must be a positive number of seconds, found 0/],
      ['text-interval', '{"interval_s":"abc"}', /interval_s must be a positive number of seconds, found "abc"/],
      ['text-units', '{"interval_s":300,"units":"cores"}', /units must map each resource to its unit as text/],
    ];
    for (const [name, meta, want] of cases) {
      const p = write(`meta-${name}.csv`, 'timestamp,tenant,resource,value\n0,t1,cpu,1\n300,t1,cpu,2\n');
      writeFileSync(join(dir, `meta-${name}.meta.json`), meta);
      const err = await readTrace(p).then(() => undefined, (e: unknown) => e as Error & { code?: string });
      expect(err?.code, name).toBe('FORESIGHT_ERR_TRACE_INVALID');
      expect(err?.message, name).toContain(join(dir, `meta-${name}.meta.json`));
      expect(err?.message, name).toMatch(want);
    }
    // the other fields FORMAT.md names are left alone, and interval_s may be absent (then it is inferred)
    const ok = write('meta-ok.csv', 'timestamp,tenant,resource,value\n0,t1,cpu,1\n300,t1,cpu,2\n');
    writeFileSync(join(dir, 'meta-ok.meta.json'), JSON.stringify({ source: 'x', rows: 2, units: { cpu: 'cores' } }));
    expect((await readTrace(ok)).intervalS).toBe(300);
  });

  it('accepts series interleaved with each other', async () => {
    const p = write('c.csv', 'timestamp,tenant,resource,value\n0,a,cpu,1\n0,b,cpu,2\n60,a,cpu,3\n60,b,cpu,4\n');
    const set = await readTrace(p);
    expect(set.series.map((s) => Array.from(s.values))).toEqual([[1, 3], [2, 4]]);
  });

  it('names the file and line of an unparsable value', async () => {
    const p = write('d.csv', 'timestamp,tenant,resource,value\n0,a,cpu,1\n60,a,cpu,abc\n');
    await expect(readTrace(p)).rejects.toThrow(`${p}:3: unparsable value "abc"`);
  });

  it('rejects negative values and non-integer timestamps', async () => {
    await expect(readTrace(write('e.csv', 'timestamp,tenant,resource,value\n0,a,cpu,-1\n'))).rejects.toThrow(/:2: unparsable value "-1"/);
    await expect(readTrace(write('f.csv', 'timestamp,tenant,resource,value\n0.5,a,cpu,1\n'))).rejects.toThrow(/:2: unparsable timestamp/);
  });

  it('reads rows out of time order in time order (the format does not promise the order)', async () => {
    const p = write('g.csv', 'timestamp,tenant,resource,value\n120,a,cpu,3\n0,b,cpu,1\n0,a,cpu,1\n60,a,cpu,\n');
    const set = await readTrace(p, { intervalS: 60 });
    const a = set.series.find((s) => s.tenant === 'a')!;
    expect(a.startS).toBe(0);
    expect(Array.from(a.values)).toEqual([1, NaN, 3]);
  });

  it('names both lines of a timestamp given twice in a series, in order or not', async () => {
    const p = write('g2.csv', 'timestamp,tenant,resource,value\n60,a,cpu,1\n0,b,cpu,1\n60,a,cpu,2\n');
    await expect(readTrace(p)).rejects.toThrow(`${p}:4: timestamp 60 repeats line 2 in series a/cpu`);
    const q = write('g3.csv', 'timestamp,tenant,resource,value\n60,a,cpu,1\n120,a,cpu,2\n60,a,cpu,3\n');
    await expect(readTrace(q)).rejects.toThrow(`${q}:4: timestamp 60 repeats line 2 in series a/cpu`);
  });

  it('lists the resources the trace has when asked for an unknown one', async () => {
    const p = write('h.csv', 'timestamp,tenant,resource,value\n0,a,cpu,1\n');
    await expect(readTrace(p, { resources: ['gpu'] })).rejects.toThrow('unknown resource "gpu" (the trace has: cpu)');
  });

  it('rejects a file without rows, without header, or missing', async () => {
    await expect(readTrace(write('i.csv', 'timestamp,tenant,resource,value\n'))).rejects.toThrow(/no rows/);
    await expect(readTrace(write('j.csv', 'time,value\n1,2\n'))).rejects.toThrow(/:1: expected header/);
    await expect(readTrace(write('k.csv', ''))).rejects.toThrow(/empty file/);
    await expect(readTrace(join(dir, 'missing.csv'))).rejects.toThrow(/no such file/);
  });

  it('reads RFC 4180 quoted fields (a comma or "" inside quotes) in any of the four columns', async () => {
    const p = write('q.csv', [
      '"timestamp","tenant","resource","value"',
      '0,"team,a 1",cpu,4.2',
      '300,"team,a 1",cpu,"5"',
      '"0","say ""hi""","cpu,peak",1',
      '300,"say ""hi""","cpu,peak",""',
      '600,"say ""hi""","cpu,peak",3',
      '0,plain,cpu,7',
    ].join('\n') + '\n');
    const set = await readTrace(p);
    expect(set.series.map((s) => [s.tenant, s.resource, Array.from(s.values)])).toEqual([
      ['plain', 'cpu', [7]],
      ['say "hi"', 'cpu,peak', [1, NaN, 3]],
      ['team,a 1', 'cpu', [4.2, 5]],
    ]);
    expect((await readTrace(p, { tenants: ['team,a 1'] })).series).toHaveLength(1);
  });

  it('names the file and line of a quoted field not closed on its line, or text after a closing quote', async () => {
    const open = write('q2.csv', 'timestamp,tenant,resource,value\n0,a,cpu,1\n300,"team\na",cpu,1\n');
    await expect(readTrace(open)).rejects.toThrow(`${open}:3: quoted field 2 is not closed on its line`);
    const after = write('q3.csv', 'timestamp,tenant,resource,value\n0,"team"a,cpu,1\n');
    await expect(readTrace(after)).rejects.toThrow(`${after}:2: unexpected text "a,cpu,1" after the closing quote of field 2`);
    const five = write('q4.csv', 'timestamp,tenant,resource,value\n0,"team,a",x,cpu,1\n');
    await expect(readTrace(five)).rejects.toThrow(`${five}:2: expected 4 comma-separated fields, found 5`);
    const three = write('q5.csv', 'timestamp,tenant,resource,value\n0,"team,a",cpu\n');
    await expect(readTrace(three)).rejects.toThrow(`${three}:2: expected 4 comma-separated fields, found 3`);
  });

  it('reads NaN, nan and NA values (what pandas and R write for missing) as missing, like an empty value', async () => {
    const p = write('n.csv', 'timestamp,tenant,resource,value\n0,a,cpu,1\n60,a,cpu,NaN\n120,a,cpu,nan\n180,a,cpu,NA\n240,a,cpu,na\n300,a,cpu,2\n');
    expect(Array.from((await readTrace(p)).series[0].values)).toEqual([1, NaN, NaN, NaN, NaN, 2]);
    await expect(readTrace(write('n2.csv', 'timestamp,tenant,resource,value\n0,a,cpu,inf\n'))).rejects.toThrow(/:2: unparsable value "inf"/);
    await expect(readTrace(write('n3.csv', 'timestamp,tenant,resource,value\n0,a,cpu,nana\n'))).rejects.toThrow(/:2: unparsable value "nana"/);
  });

  it('reads CRLF line endings and a UTF-8 byte order mark before the header', async () => {
    const p = write('crlf.csv', '\uFEFFtimestamp,tenant,resource,value\r\n0,a,cpu,1\r\n60,"b,c",cpu,2\r\n60,a,cpu,3\r\n');
    const set = await readTrace(p);
    expect(set.series.map((s) => [s.tenant, Array.from(s.values)])).toEqual([['a', [1, 3]], ['b,c', [2]]]);
  });

  it('reports a corrupt gzip stream as a trace error', async () => {
    const p = write('l.csv.gz', 'not gzip at all');
    await expect(readTrace(p)).rejects.toMatchObject({ code: 'FORESIGHT_ERR_TRACE_INVALID' });
  });
});
