import { describe, expect, it } from 'vitest';
import { EngineLoop } from '../../src/loop/engine-loop.js';
import { MemoryCheck } from '../../src/loop/memory-check.js';
import type { Logger } from '../../src/loop/types.js';
import { memoryLimitOf, memoryNeed, REPLICA_BASE_BYTES, shardsWithin, STATE_BYTES_PER_SERIES } from '../../src/model/memory-need.js';
import { FakeEngine, FakeSource, manualClock } from './loop-fakes.js';

const MiB = 2 ** 20;

function recordingLogger(): Logger & { warnings: Array<{ obj: Record<string, unknown>; msg?: string }> } {
  const warnings: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
  return { warnings, info() {}, error() {}, debug() {}, warn: (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg }) };
}

describe('memory need', () => {
  it('matches the README rule: 15,000 series of a week at 5 minutes need about 1.1 GB with the exporter', () => {
    // the history store of the sidecar bench: 2,126 float32 slots a series (a week and a pull chunk); its engine-only
    // runs peaked at 953-1,054 MB, and the exporter holds 4.8 KB a series more (72 MB)
    const need = memoryNeed(15_000, 15_000 * 2_126 * 4);
    expect(need / 1e6).toBeGreaterThan(1_025);
    expect(need / 1e6).toBeLessThan(1_130);
    expect(memoryNeed(0, 0)).toBe(REPLICA_BASE_BYTES);
    expect(memoryNeed(2, 100) - memoryNeed(1, 100)).toBe(STATE_BYTES_PER_SERIES);
  });

  it('reads no limit from what Node reports without one', () => {
    expect(memoryLimitOf(undefined)).toBeUndefined();
    expect(memoryLimitOf(0)).toBeUndefined();
    expect(memoryLimitOf(2 ** 64)).toBeUndefined();
    expect(memoryLimitOf(9_223_372_036_854_771_712)).toBeUndefined(); // cgroup v1 "unlimited"
    expect(memoryLimitOf(NaN)).toBeUndefined();
    expect(memoryLimitOf(512 * MiB)).toBe(512 * MiB);
  });

  it('counts the shards whose replicas each fit the limit, never fewer than now', () => {
    // 60,000 series need 150 MiB + 60,000 x 62 KiB; each of k shards 150 MiB + a k-th of the rest
    const need = memoryNeed(60_000, 60_000 * 8 * 1024);
    const k = shardsWithin(need, 1024 * MiB, 1)!;
    expect(REPLICA_BASE_BYTES + (need - REPLICA_BASE_BYTES) / k).toBeLessThanOrEqual(1024 * MiB);
    expect(REPLICA_BASE_BYTES + (need - REPLICA_BASE_BYTES) / (k - 1)).toBeGreaterThan(1024 * MiB);
    expect(k).toBe(5);
    // already 2 shards, each needing `need`: 9 in all
    expect(shardsWithin(need, 1024 * MiB, 2)).toBe(9);
    expect(shardsWithin(memoryNeed(10, 0), 1024 * MiB, 3)).toBe(3);
    // a limit below what a replica takes before any series: no count fits
    expect(shardsWithin(need, 100 * MiB, 1)).toBeUndefined();
  });
});

describe('MemoryCheck', () => {
  it('warns once when the need crosses above the limit, with the limit and the shards that would hold it', () => {
    const logger = recordingLogger();
    let limit: number | undefined = 512 * MiB;
    const check = new MemoryCheck({ limitBytes: () => limit, totalShards: 1, logger });
    expect(check.observe(1_000, 1_000 * 8_504)).toBe(memoryNeed(1_000, 1_000 * 8_504));
    expect(logger.warnings).toHaveLength(0);
    const series = 10_000;
    check.observe(series, series * 8_504);
    check.observe(series, series * 8_504);
    expect(logger.warnings).toHaveLength(1);
    const w = logger.warnings[0];
    expect(w.obj).toMatchObject({ series, limitBytes: 512 * MiB, shardsNeeded: shardsWithin(memoryNeed(series, series * 8_504), 512 * MiB, 1) });
    expect(w.msg).toContain(`${series} series need about ${Math.ceil(memoryNeed(series, series * 8_504) / MiB)} MiB`);
    expect(w.msg).toContain('limit of 512 MiB');
    expect(w.msg).toMatch(/split the tenants over \d+ shards \(FORESIGHT_TOTAL_SHARDS, now 1/);
    // back under (series vanished, or the limit raised), then over again: warned again
    limit = 8 * 1024 * MiB;
    check.observe(series, series * 8_504);
    limit = 512 * MiB;
    check.observe(series, series * 8_504);
    expect(logger.warnings).toHaveLength(2);
    // no limit: nothing to warn about
    limit = undefined;
    check.observe(1e6, 0);
    expect(logger.warnings).toHaveLength(2);
  });

  it('says no shard count fits a limit below what a replica takes before any series', () => {
    const logger = recordingLogger();
    new MemoryCheck({ limitBytes: () => 64 * MiB, totalShards: 4, logger }).observe(10, 10 * 8_504);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0].obj.shardsNeeded).toBeUndefined();
    expect(logger.warnings[0].msg).toContain('no shard count fits this limit');
  });

  it('is checked by the loop after the pull, before the fit, and its need published in the snapshot', async () => {
    const logger = recordingLogger();
    const engine = new FakeEngine({ intervalS: 60 });
    let fitsAtWarning = -1;
    const check = new MemoryCheck({ limitBytes: () => 180 * MiB, totalShards: 1, logger });
    const observe = check.observe.bind(check);
    check.observe = (series, bytes) => {
      const need = observe(series, bytes);
      if (logger.warnings.length === 1 && fitsAtWarning < 0) fitsAtWarning = engine.fits;
      return need;
    };
    const tenants = Array.from({ length: 600 }, (_, i) => `t${i}`);
    const loop = new EngineLoop({ source: new FakeSource(tenants, ['cpu', 'memory']), engine, clock: manualClock(1_700_000_000), memoryCheck: check }, { intervalS: 60, historyPoints: 600 });
    await loop.runOnce();
    expect(logger.warnings).toHaveLength(1);
    expect(fitsAtWarning).toBe(0);
    expect(engine.fits).toBeGreaterThan(0);
    expect(loop.latest()?.memoryNeedBytes).toBe(memoryNeed(1_200, loop.store.bytes()));
    expect(loop.latest()!.memoryNeedBytes!).toBeGreaterThan(180 * MiB);
  });
});
