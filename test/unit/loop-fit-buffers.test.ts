// The loop lends the engine each fit batch's windows in buffers it reuses from batch to batch (a fresh week of float64
// per series was garbage the collector let pile up during a retrain of every series), with the store's values.
import { describe, expect, it } from 'vitest';
import { EngineLoop } from '../../src/loop/engine-loop.js';
import { FakeEngine, FakeSource, manualClock } from './loop-fakes.js';

/** Records, per fit call, the buffers it was lent and a copy of what they held during the call. */
class LendingEngine extends FakeEngine {
  readonly buffers = new Set<ArrayBufferLike>();
  readonly seen = new Map<string, number[]>();
  override fit(keys: readonly string[], h: readonly Float64Array[]): void {
    keys.forEach((k, i) => {
      this.buffers.add(h[i].buffer);
      this.seen.set(k, Array.from(h[i]));
    });
    super.fit(keys, h);
  }
}

describe('EngineLoop fit batches', () => {
  it('reuses one window buffer per series of a batch, each holding the store\'s window during its call', async () => {
    const tenants = Array.from({ length: 6 }, (_, i) => `t${i}`);
    const engine = new LendingEngine({ intervalS: 60 });
    const loop = new EngineLoop(
      { source: new FakeSource(tenants, ['cpu', 'memory']), engine, clock: manualClock(1_700_000_000) },
      { intervalS: 60, historyPoints: 1440, retrainEveryS: 3600, fitBatch: 4 },
    );
    await loop.runOnce();
    // 12 series in batches of 4: four buffers, not twelve
    expect(engine.seen.size).toBe(12);
    expect(engine.buffers.size).toBe(4);
    for (const [k, values] of engine.seen) expect(values).toEqual(Array.from(loop.store.window(k)!.values));
  });
});
