// The shard fence's latest word for the write guard: the verdict of the check asked for last, how long it allows
// writes, and a hold found during a cycle that lasts until the next cycle's own check.
import { describe, expect, it } from 'vitest';
import { FenceState } from '../../src/actuator/fence-state.js';
import type { FenceVerdict } from '../../src/actuator/shard-fence.js';

const act: FenceVerdict = { act: true, others: [], protectedShards: new Set() };
const hold: FenceVerdict = {
  act: false,
  others: [{ name: 'foresight-actuator-shard-0', holder: 'old-0', index: 0, total: 4 }],
  decider: { name: 'foresight-actuator-shard-0', holder: 'old-0', index: 0, total: 4 },
  protectedShards: new Set(['0']),
};

describe('FenceState', () => {
  it('refuses writes before any check, and allows them for less than the renew deadline after a check that allows them', () => {
    const f = new FenceState(10_000);
    expect(f.refusal(0)).toBe('not checked yet');
    f.record(f.ask(1_000), act, 'cycle');
    expect(f.refusal(10_999)).toBeUndefined();
    expect(f.refusal(11_000)).toBe('its last check was 10.0 s ago, past the renew deadline (10 s)');
    // a clock stepped back refuses too, until the next check
    expect(f.refusal(500)).toMatch(/^its last check was -0\.5 s ago/);
  });

  it('keeps the verdict of the check asked for last, whichever answers first, even with the clock stepped back', () => {
    const f = new FenceState(10_000);
    const first = f.ask(5_000);
    const second = f.ask(4_000); // asked for later, on a clock that stepped back
    expect(f.record(second, hold, 'timer')).toBe(true);
    expect(f.record(first, act, 'cycle')).toBe(false);
    expect(f.verdict).toBe(hold);
    expect(f.refusal(4_000)).toBe('Lease foresight-actuator-shard-0 records 4 shards, and that count writes');
  });

  it('keeps a hold the timer found until the next cycle\'s own check, and a failed list until any check succeeds', () => {
    const f = new FenceState(10_000);
    f.record(f.ask(0), act, 'cycle');
    f.record(f.ask(5_000), hold, 'timer');
    f.record(f.ask(10_000), act, 'timer');
    expect(f.refusal(10_000)).toMatch(/records 4 shards, and that count writes when checked during this cycle; the next cycle checks again$/);
    f.record(f.ask(12_000), act, 'cycle');
    expect(f.refusal(12_000)).toBeUndefined();
    f.record(f.ask(15_000), undefined, 'timer');
    expect(f.refusal(15_000)).toBe('its last check could not list the Leases of the installation');
    f.record(f.ask(20_000), act, 'timer');
    expect(f.refusal(20_000)).toBeUndefined();
  });
});
