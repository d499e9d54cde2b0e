import { describe, expect, it } from 'vitest';
import { catalogue } from '../../src/metrics/catalogue.js';
import { CHUNK_BYTES, TextBufferPool, TextGauge, writeValue } from '../../src/metrics/text-gauge.js';
import { uniform } from '../helpers/random.js';

/** writeValue's text of v. */
function text(v: number): string {
  const buf = Buffer.alloc(32);
  return buf.toString('latin1', 0, writeValue(buf, 0, v));
}

describe('writeValue', () => {
  it('writes integers exactly and other values to 7 significant digits, in the text format', () => {
    // 2^53 - 1 is past 1e15: rounded
    expect([NaN, Infinity, -Infinity, 0, -0, 1, -1, 42, -987654321, 2 ** 53 - 1, 1e15 - 1].map(text)).toEqual([
      'NaN', '+Inf', '-Inf', '0', '0', '1', '-1', '42', '-987654321', '9007199000000000', '999999999999999',
    ]);
    expect(text(1e15)).toBe('1000000000000000'); // from 1e15 up: String of the rounded value
    expect(text(1 / 3)).toBe('0.3333333');
    expect(text(-2 / 3)).toBe('-0.6666667');
    expect(text(2.940837728517425)).toBe('2.940838');
    expect(text(1234567890.5)).toBe('1234568000');
    expect(text(0.000012345678)).toBe('0.00001234568');
    expect(text(2.5)).toBe('2.5');
    expect(text(9999999.6)).toBe('10000000'); // rounded up to the next power of ten
    expect(text(0.99999996)).toBe('1');
    expect(text(1.2345678e-7)).toBe('1.234568e-7');
    expect(text(-1.5e17 - 0.5)).toBe('-150000000000000000');
  });

  it('gives the value of toPrecision(7) for doubles of every magnitude, at and around the powers of ten', () => {
    const rand = uniform(12345);
    const values: number[] = [];
    for (let i = 0; i < 200_000; i++) values.push((rand() < 0.5 ? -1 : 1) * 10 ** (-8 + 25 * rand()));
    const f64 = new Float64Array(1);
    const u64 = new BigUint64Array(f64.buffer);
    for (let k = -7; k <= 16; k++) {
      for (const base of [10 ** k, 9.9999995 * 10 ** k, 9.9999994999 * 10 ** k, 1.0000005 * 10 ** k]) {
        f64[0] = base;
        for (const d of [-2n, -1n, 0n, 1n, 2n]) {
          const w = new Float64Array(new BigUint64Array([u64[0] + d]).buffer)[0];
          values.push(w, -w);
        }
      }
    }
    const wrong: string[] = [];
    let ties = 0;
    for (const v of values) {
      const t = text(v);
      const expected = Number.isInteger(v) && Math.abs(v) < 1e15 ? v : Number(v.toPrecision(7));
      // Prometheus' float syntax (Go's ParseFloat), at most 7 significant digits unless an integer
      const digits = t.replace(/e.*$/, '').replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '').length;
      if (!/^-?\d+(\.\d+)?(e[-+]?\d+)?$/.test(t) || (!Number.isInteger(v) && digits > 7)) wrong.push(`${v}: ${t}`);
      if (Number(t) === expected) continue;
      // v * 10^s is rounded once before it is rounded to an integer: a double within a few ulps of a decimal tie
      // (the neighbours of 9.9999995 above) may round to the other side of it, as near to v as toPrecision's
      if (Math.abs(Math.abs(Number(t) - v) - Math.abs(expected - v)) <= 4 * Number.EPSILON * Math.abs(v)) ties++;
      else wrong.push(`${v}: ${t}, not ${expected}`);
    }
    expect(wrong).toEqual([]);
    expect(ties).toBeLessThan(40);
  });
});

describe('TextGauge', () => {
  it('renders the text format, escaping label values, and the same text in pieces', () => {
    const g = new TextGauge(catalogue.forecast, { instance: 'a"b' });
    for (let i = 0; i < 12; i++) g.set({ tenant: `t\\${i}\n`, resource: 'cpu', horizon: '5m', quantile: '0.9' }, i / 4);
    g.setBytes(Buffer.from('tenant="raw",resource="cpu"'), Infinity, Buffer.from(',horizon="5m",quantile="0.5"'));
    const text = g.render();
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^# HELP foresight_forecast /);
    expect(lines[1]).toBe('# TYPE foresight_forecast gauge');
    expect(lines[2]).toBe('foresight_forecast{instance="a\\"b",tenant="t\\\\0\\n",resource="cpu",horizon="5m",quantile="0.9"} 0');
    expect(lines.at(-1)).toBe('foresight_forecast{instance="a\\"b",tenant="raw",resource="cpu",horizon="5m",quantile="0.5"} +Inf');
    expect(lines.length).toBe(2 + 13);
    const pieces = g.renderBuffers();
    expect(Buffer.concat(pieces).toString()).toBe(text);
    g.reset();
    expect(g.size).toBe(0);
    expect(Buffer.concat(g.renderBuffers()).toString()).toBe(`${lines[0]}\n${lines[1]}\n`);
  });

  it('writes the values of a *_timestamp_seconds family exactly, every other family to 7 significant digits', () => {
    const since = new TextGauge(catalogue.anomalousSince);
    const level = new TextGauge(catalogue.profileLevel);
    for (const g of [since, level]) {
      g.setBytes(Buffer.from('tenant="a"'), 1_732_982_400.5);
      g.set({ tenant: 'b' }, 1_732_982_400.25);
    }
    expect(since.render().split('\n').slice(2, 4)).toEqual([
      'foresight_tenant_anomalous_since_timestamp_seconds{tenant="a"} 1732982400.5',
      'foresight_tenant_anomalous_since_timestamp_seconds{tenant="b"} 1732982400.25',
    ]);
    expect(level.render().split('\n').slice(2, 4)).toEqual(['foresight_profile_level{tenant="a"} 1732982000', 'foresight_profile_level{tenant="b"} 1732982000']);
  });

  it('writes its lines into buffers as they come, each piece newline-terminated, the same text as line by line', () => {
    const g = new TextGauge(catalogue.usage);
    const expected: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      // a multi-byte tenant name now and then: the pieces are UTF-8
      const tenant = i % 97 === 0 ? `tenant-ü-${i}` : `tenant-${i}`;
      g.setBytes(Buffer.from(`tenant="${tenant}",resource="cpu"`), i / 3);
      // 7 significant digits: 1/3 is 0.3333333, 3332/3 is 1110.667; integers exact
      expected.push(`foresight_usage{tenant="${tenant}",resource="cpu"} ${Number((i / 3).toPrecision(7))}`);
    }
    expect(g.size).toBe(5_000);
    const pieces = g.renderBuffers();
    expect(pieces.length).toBeGreaterThan(2);
    for (const p of pieces) expect(p.at(-1)).toBe(0x0a);
    const text = Buffer.concat(pieces).toString();
    expect(text.split('\n').slice(2, -1)).toEqual(expected);
  });

  it('writes labels given as bytes as set() writes them, from buffers of its pool', () => {
    const pool = new TextBufferPool();
    const byLabels = new TextGauge(catalogue.forecast, { instance: 'i' });
    const byBytes = new TextGauge(catalogue.forecast, { instance: 'i' }, pool);
    const horizon = Buffer.from(',horizon="5m",quantile="0.9"');
    for (let i = 0; i < 3_000; i++) {
      const tenant = i % 97 === 0 ? `tenant-ü-"${i}` : `tenant-${i}`;
      const v = i % 500 === 0 ? NaN : i / 7 - 100;
      byLabels.set({ tenant, resource: 'cpu', horizon: '5m', quantile: '0.9' }, v);
      byBytes.setBytes(Buffer.from(`tenant="${tenant.replace(/"/g, '\\"')}",resource="cpu"`), v, horizon);
    }
    expect(byBytes.render()).toBe(byLabels.render());
    // a sample without labels of its own: the default labels alone
    const bare = new TextGauge(catalogue.tenants, { instance: 'i' });
    bare.setBytes(Buffer.alloc(0), 3);
    expect(bare.render().split('\n')[2]).toBe('foresight_tenants{instance="i"} 3');
    // the pieces go back to the pool (at most `keep`), and the next text is written into them
    const pieces = byBytes.renderBuffers();
    const written = pieces.filter((p) => p.buffer.byteLength === CHUNK_BYTES);
    expect(written.length).toBeGreaterThan(2);
    byBytes.reset();
    const capped = new TextBufferPool();
    capped.give(pieces, 2);
    expect(capped.size).toBe(2);
    pool.give(pieces, 100);
    expect(pool.size).toBe(written.length);
    const reused = new Set(written.map((p) => p.buffer));
    byBytes.setBytes(Buffer.from('tenant="again",resource="cpu"'), 1, horizon);
    const again = byBytes.renderBuffers().at(-1)!;
    expect(reused.has(again.buffer)).toBe(true);
    expect(pool.size).toBe(written.length - 1);
  });
});
