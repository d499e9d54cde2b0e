// The shard fence's latest word for the write guard: the verdict of the check asked for last (a cycle's at its start,
// or the renew timer's while the cycle runs). A write goes out only while that word allows it and is recent.
import type { FenceVerdict } from './shard-fence.js';

/** A check about to be made: its place among the others, and when it was asked for on this replica's clock. */
export interface FenceTicket {
  readonly seq: number;
  readonly atMs: number;
}

/**
 * Checks may overlap (the timer's during a cycle's), so a verdict is kept only if no check asked for after it has
 * answered first. They are ordered by when they were asked for, counted rather than read on the clock, which may step
 * back. A verdict's age runs from when its check was asked for: the Leases it judged were listed no earlier.
 *
 * A hold that the timer finds lasts until the next cycle's own check, even if a later check finds the other count
 * gone: that count may have written meanwhile, and the writers seed their gates again only at the start of a pass. A
 * failed list lasts until a check succeeds: it says nothing of what the other count did.
 */
export class FenceState {
  #asked = 0;
  #seq = 0;
  #atMs = 0;
  #verdict: FenceVerdict | undefined;
  /** A hold the timer found since the running cycle's own check (undefined: none). */
  #heldSince: string | undefined;

  /** `maxAgeMs`: how long a verdict that allows writes does so without a newer one (the renew deadline). */
  constructor(private readonly maxAgeMs: number) {}

  ask(nowMs: number): FenceTicket {
    return { seq: ++this.#asked, atMs: nowMs };
  }

  /**
   * Records the answer to `t` (undefined: the Leases could not be listed) from a cycle's own check or the timer's;
   * returns false, recording nothing, when a check asked for after it has answered first.
   */
  record(t: FenceTicket, v: FenceVerdict | undefined, from: 'cycle' | 'timer'): boolean {
    if (t.seq < this.#seq) return false;
    this.#seq = t.seq;
    this.#atMs = t.atMs;
    this.#verdict = v;
    if (from === 'cycle') this.#heldSince = undefined;
    else if (v && !v.act) this.#heldSince = holdReason(v);
    return true;
  }

  /** The verdict on record: undefined before the first check and after a failed list. */
  get verdict(): FenceVerdict | undefined {
    return this.#verdict;
  }

  /** Why a write at `nowMs` must not go out; undefined when it may. */
  refusal(nowMs: number): string | undefined {
    if (this.#seq === 0) return 'not checked yet';
    if (!this.#verdict) return 'its last check could not list the Leases of the installation';
    if (!this.#verdict.act) return holdReason(this.#verdict);
    if (this.#heldSince) return `${this.#heldSince} when checked during this cycle; the next cycle checks again`;
    const age = nowMs - this.#atMs;
    // a clock stepped back also refuses, until the next check (at most a third of the Lease away)
    if (!(age >= 0 && age < this.maxAgeMs)) return `its last check was ${(age / 1000).toFixed(1)} s ago, past the renew deadline (${this.maxAgeMs / 1000} s)`;
    return undefined;
  }
}

function holdReason(v: FenceVerdict): string {
  const d = v.decider;
  return `Lease ${d?.name ?? '?'} records ${d?.total ?? '?'} shards, and that count writes`;
}
