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
    const pieces = [...g.renderChunks(5)];
    expect(pieces.length).toBe(3);
    expect(pieces.join('')).toBe(text);
    for (const p of pieces) expect(p.endsWith('\n')).toBe(true);
    g.reset();
    expect([...g.renderChunks(5)].join('')).toBe(`${lines[0]}\n${lines[1]}\n`);
  });
});
