import { describe, expect, it } from 'vitest';
import { catalogue } from '../../src/metrics/catalogue.js';
import { CHUNK_BYTES, TextBufferPool, TextGauge } from '../../src/metrics/text-gauge.js';

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

  it('writes its lines into buffers as they come, each piece newline-terminated, the same text as line by line', () => {
    const g = new TextGauge(catalogue.usage);
    const expected: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      // a multi-byte tenant name now and then: the pieces are UTF-8
      const tenant = i % 97 === 0 ? `tenant-ü-${i}` : `tenant-${i}`;
      g.setBytes(Buffer.from(`tenant="${tenant}",resource="cpu"`), i / 3);
      expected.push(`foresight_usage{tenant="${tenant}",resource="cpu"} ${i / 3}`);
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
