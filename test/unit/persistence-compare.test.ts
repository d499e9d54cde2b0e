// bench/backtest.ts's "ahead of persistence": interpolation within persistence's sweep, dominance outside it.
import { describe, expect, it } from 'vitest';
import { comparePersistence, slackAt } from '../../bench/persistence-compare.js';

// google2011-jobs97 `memory`'s persistence sweep in the README's run (shortage_steps, slack), out of order as the bench
// lists it (p = 0.95 first, then the sweep)
const sweep = [[0.0151, 0.043], [0.207, 0.012], [0.1049, 0.018], [0.0653, 0.023], [0.0305, 0.032], [0.0061, 0.077], [0.0033, 0.132], [0.0019, 0.185], [0.0011, 0.232]]
  .map(([shortage_steps, slack]) => ({ shortage_steps, slack }));

describe('comparePersistence', () => {
  it('interpolates the sweep at Foresight\'s shortage rate', () => {
    // halfway between (0.0011, 0.232) and (0.0019, 0.185)
    expect(slackAt(sweep, 0.0015)).toBeCloseTo(0.2085, 6);
    const c = comparePersistence(sweep, { shortage_steps: 0.0015, slack: 0.2 })!;
    expect(c).toMatchObject({ ahead: true, how: 'interpolated' });
    expect(c.ratio).toBeCloseTo(0.2 / 0.2085, 9);
    expect(comparePersistence(sweep, { shortage_steps: 0.0015, slack: 0.21 })!.ahead).toBe(false);
  });

  it('counts Foresight ahead below the sweep only when it also holds no more slack than the least-short point', () => {
    // the README's 0.3 x row: short less often than any p, and less slack than p = 0.999's
    const c = comparePersistence(sweep, { shortage_steps: 0.00108, slack: 0.1955 })!;
    expect(c).toMatchObject({ ahead: true, how: 'dominates' });
    expect(c.ratio).toBeCloseTo(0.1955 / 0.232, 9);
    // less shortage but more slack: a different trade-off, not ahead
    expect(comparePersistence(sweep, { shortage_steps: 0.0005, slack: 0.3 })).toMatchObject({ ahead: false, how: 'outside' });
  });

  it('never counts Foresight ahead above the sweep, and says when the sweep\'s end dominates it', () => {
    expect(comparePersistence(sweep, { shortage_steps: 0.3, slack: 0.02 })).toMatchObject({ ahead: false, how: 'dominated' });
    expect(comparePersistence(sweep, { shortage_steps: 0.3, slack: 0.005 })).toMatchObject({ ahead: false, how: 'outside' });
    expect(comparePersistence([], { shortage_steps: 0.01, slack: 0.1 })).toBeUndefined();
  });
});
