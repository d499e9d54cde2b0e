// The trailing window of an evicting VPA (src/actuator/hold.ts): a value is held for at least the whole window.
import { describe, expect, it } from 'vitest';
import { RecommendationHold } from '../../src/actuator/hold.js';

const rec = (v: number) => ({ target: v, lowerBound: v, upperBound: v, uncappedTarget: v });

/** How long a 2-core request at 10:55 is held while 1 core is asked every 5 minutes after it, seconds. */
function heldFor(windowS: number): number {
  const hold = new RecommendationHold(windowS);
  const peakS = 10 * 3600 + 55 * 60;
  for (let t = peakS; t <= peakS + 2 * 86_400; t += 300) if (hold.apply('team-a/web/app/cpu', t, rec(t === peakS ? 2 : 1)).target < 2) return t - peakS;
  return Infinity;
}

describe('recommendation hold', () => {
  it.each([1800, 3600, 7200, 86_400])('holds a peak late in its hour for the whole window of %i s, and at most an hour more', (windowS) => {
    const held = heldFor(windowS);
    expect(held).toBeGreaterThanOrEqual(windowS);
    expect(held).toBeLessThanOrEqual(windowS + 3600);
  });

  it('keeps a daily peak through to the next day\'s peak at the same time', () => {
    const hold = new RecommendationHold(86_400);
    const peakS = 10 * 3600 + 40 * 60;
    const out: number[] = [];
    for (let t = 0; t <= 3 * 86_400; t += 300) {
      const s = t % 86_400;
      const v = hold.apply('k', t, rec(s >= peakS && s < peakS + 300 ? 2 : 1)).target;
      if (t > peakS) out.push(v);
    }
    // once the first peak is seen, 2 cores stay in force: the window never lets it go before the next one comes
    expect(Math.min(...out)).toBe(2);
  });
});
