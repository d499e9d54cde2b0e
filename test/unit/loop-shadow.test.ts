// foresight_shadow_exhausted_total: a shadow plan is checked against the usage seen at the step it covered, and the
// outcome calibrates the next plans (foresight_shadow_reserve_scale).
import { describe, expect, it } from 'vitest';
import { EngineLoop } from '../../src/loop/engine-loop.js';
import { createExporter } from '../../src/metrics/exporter.js';
import type { DecideFn } from '../../src/loop/types.js';
import { FakeEngine, FakeSource, manualClock } from './loop-fakes.js';

const T0 = 1_700_000_000;
const END0 = Math.floor(T0 / 60) * 60;

/** One tenant at 10 cores until the first cycle's last slot, then `after`; allocation = usage (so the reserve is the
 *  tail of the fake forecast above it: about 0.99 core at the 0.99 level). */
async function scripted(after: number, headroom = 0) {
  // horizons 60 s: the plan of cycle 1 covers the next slot, seen by cycle 2
  const engine = new FakeEngine({ intervalS: 60, horizonsS: [60, 300] });
  const source = new FakeSource(['a'], ['cpu'], (_t, _r, t) => (t > END0 ? after : 10));
  const clock = manualClock(T0);
  const a = (i: { usage: number }) => i.usage + headroom;
  const decide: DecideFn = (i) => ({ target: a(i), lowerBound: a(i), upperBound: a(i), uncappedTarget: a(i) });
  const loop = new EngineLoop({ source, engine, clock, decide }, { intervalS: 60, historyPoints: 120 });
  const ex = createExporter({ snapshot: () => loop.latest() });
  await loop.runOnce();
  const planned = loop.latest()!.shadow.find((p) => p.resource === 'cpu')!.size;
  const first = (await ex.render()).body.toString();
  clock.advance(60);
  await loop.runOnce();
  const second = (await ex.render()).body.toString();
  return { planned, first, second, loop };
}

describe('shadow reserve exhaustion', () => {
  it('counts a jump above the planned reserve, not one within it, and exports the counter from 0', async () => {
    const within = await scripted(10.5);
    // the planned reserve covers an excess of 0.5 core but not 5
    expect(within.planned).toBeGreaterThan(0.5);
    expect(within.planned).toBeLessThan(5);
    expect(within.first).toContain('foresight_shadow_exhausted_total{pool="default"} 0');
    expect(within.loop.latest()!.shadowExhausted!.get('default')).toBe(0);
    expect(within.second).toContain('foresight_shadow_exhausted_total{pool="default"} 0');

    const above = await scripted(15);
    expect(above.planned).toBeCloseTo(within.planned, 9);
    expect(above.first).toContain('foresight_shadow_exhausted_total{pool="default"} 0');
    expect(above.loop.latest()!.shadowExhausted!.get('default')).toBe(1);
    expect(above.second).toContain('foresight_shadow_exhausted_total{pool="default"} 1');
  });

  it('scales the next plan by the outcome of the one checked: up about 10% after an exhaustion, down 0.1% after a hold', async () => {
    const within = await scripted(10.5);
    expect(within.first).toContain('foresight_shadow_reserve_scale{pool="default",resource="cpu"} 1');
    const held = within.loop.latest()!.shadow.find((p) => p.resource === 'cpu')!;
    expect(held.scale).toBeCloseTo(Math.exp(-0.1 * 0.01), 12);
    expect(within.second).toContain(`foresight_shadow_reserve_scale{pool="default",resource="cpu"} ${held.scale}`);
    const above = await scripted(15);
    const raised = above.loop.latest()!.shadow.find((p) => p.resource === 'cpu')!;
    expect(raised.scale).toBeCloseTo(Math.exp(0.1 * 0.99), 12);
    // the size is the Monte Carlo's times the scale
    expect(raised.size / raised.scale!).toBeGreaterThan(0.5);
    expect(raised.size).toBeGreaterThan(1.05 * above.planned);
  });

  it('leaves the scale alone after a plan of size 0, which no scale could have changed', async () => {
    // allocations 5 cores above usage: no forecast reaches past them, so the reserve is 0; a jump of 20 exceeds it
    const zero = await scripted(30, 5);
    expect(zero.planned).toBe(0);
    expect(zero.loop.latest()!.shadowExhausted!.get('default')).toBe(1);
    expect(zero.loop.latest()!.shadow.find((p) => p.resource === 'cpu')!.scale).toBe(1);
  });
});
