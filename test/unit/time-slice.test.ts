import { describe, expect, it } from 'vitest';
import { forEachSliced, TimeSlice } from '../../src/loop/time-slice.js';

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // synchronous work, as a per-series step is
  }
}

describe('time slices', () => {
  it('runs every item once, in order, and lets timers run between slices', async () => {
    const items = Array.from({ length: 400 }, (_, i) => i);
    const seen: number[] = [];
    let ticks = 0;
    let longest = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      ticks++;
    }, 1);
    await forEachSliced(new TimeSlice(2), items, (i) => {
      seen.push(i);
      busy(0.25);
    });
    clearInterval(timer);
    expect(seen).toEqual(items);
    // 100 ms of work in 2 ms slices: the timer ran in between, never kept waiting for the whole run
    expect(ticks).toBeGreaterThan(2);
    expect(longest).toBeLessThan(60);
  });

  it('reads the clock every checkEvery items: 1 keeps millisecond items within the budget, 16 runs 16 of them', async () => {
    class Counted extends TimeSlice {
      yields = 0;
      override async yield(): Promise<void> {
        this.yields++;
        await super.yield();
      }
    }
    const runs = async (checkEvery?: number): Promise<number[]> => {
      const slice = new Counted(2);
      const perSlice: number[] = [];
      await forEachSliced(slice, Array.from({ length: 32 }, (_, i) => i), () => {
        perSlice[slice.yields] = (perSlice[slice.yields] ?? 0) + 1;
        busy(1);
      }, checkEvery);
      return perSlice;
    };
    const each = await runs(1);
    expect(Math.max(...each)).toBeLessThanOrEqual(3); // a 2 ms budget, 1 ms items
    expect(each.reduce((a, b) => a + b, 0)).toBe(32);
    expect(await runs()).toEqual([16, 16]);
  });

  it('is due only once its budget is spent, and starts a new slice after a yield', async () => {
    const slice = new TimeSlice(5);
    expect(slice.due).toBe(false);
    busy(6);
    expect(slice.due).toBe(true);
    await slice.yield();
    expect(slice.due).toBe(false);
  });
});
