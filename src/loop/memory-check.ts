// Compares the memory a replica will need for the series it holds (src/model/memory-need.ts) with its container's
// memory limit, each cycle right after the pull, before the models are fitted: a replica given too many tenants for
// its limit is OOM-killed part-way through its first fit, minutes after it starts, and again after every restart.
// The warning says so, with the limit or the shard count that would hold them, before it happens.
import { memoryNeed, REPLICA_BASE_BYTES, shardsWithin } from '../model/memory-need.js';
import type { Logger } from './types.js';

export interface MemoryCheckDeps {
  /** The container's memory limit in bytes, undefined where there is none (read each cycle: limits can be resized). */
  limitBytes: () => number | undefined;
  /** Shards the tenants are split over now (FORESIGHT_TOTAL_SHARDS). */
  totalShards: number;
  logger: Logger;
}

const MiB = 1024 * 1024;

export class MemoryCheck {
  /** Over the limit at the last check: the warning is logged once per crossing, not every cycle. */
  #over = false;

  constructor(private readonly d: MemoryCheckDeps) {}

  /** The need for `series` series whose history takes `historyBytes`; warns when it crosses above the limit. */
  observe(series: number, historyBytes: number): number {
    const need = memoryNeed(series, historyBytes);
    const limit = this.d.limitBytes();
    const over = limit !== undefined && need > limit;
    if (over && !this.#over) {
      const shards = shardsWithin(need, limit, this.d.totalShards);
      const mib = (b: number) => Math.ceil(b / MiB);
      const fix = shards === undefined
        ? `raise the limit to at least ${mib(need)} MiB (a replica takes about ${mib(REPLICA_BASE_BYTES)} MiB before any series, so no shard count fits this limit)`
        : `raise the limit to at least ${mib(need)} MiB, or split the tenants over ${shards} shards (FORESIGHT_TOTAL_SHARDS, now ${this.d.totalShards}; README "Sharding tenants across replicas")`;
      this.d.logger.warn(
        { series, needBytes: need, limitBytes: limit, historyBytes, shardsNeeded: shards },
        `memory: ${series} series need about ${mib(need)} MiB at their peak, above this container's limit of ${mib(limit)} MiB: expect it to be OOM-killed while it fits them; ${fix}`,
      );
    }
    this.#over = over;
    return need;
  }
}
