import { describe, expect, it } from 'vitest';
import { catalogue } from '../../src/metrics/catalogue.js';
import { TextGauge } from '../../src/metrics/text-gauge.js';

describe('TextGauge', () => {
  it('renders the text format, escaping label values, and the same text in pieces', () => {
    const g = new TextGauge(catalogue.forecast, { instance: 'a"b' });
    for (let i = 0; i < 12; i++) g.set({ tenant: `t\\${i}\n`, resource: 'cpu', horizon: '5m', quantile: '0.9' }, i / 4);
    g.setRaw('tenant="raw",resource="cpu",horizon="5m",quantile="0.5"', Infinity);
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
      g.setRaw(`tenant="${tenant}",resource="cpu"`, i / 3);
      expected.push(`foresight_usage{tenant="${tenant}",resource="cpu"} ${i / 3}`);
    }
    expect(g.size).toBe(5_000);
    const pieces = g.renderBuffers();
    expect(pieces.length).toBeGreaterThan(2);
    for (const p of pieces) expect(p.at(-1)).toBe(0x0a);
    const text = Buffer.concat(pieces).toString();
    expect(text.split('\n').slice(2, -1)).toEqual(expected);
  });
});
