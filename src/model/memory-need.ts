// A replica's memory need for the series it holds, by the rule bench/sidecar.ts measured (README "Sharding tenants
// across replicas": about 62 KB a series at a week of 5-minute history, plus 150 MB a replica), and the shard count
// that brings it within a memory limit. Pure: the limit comes from the caller (src/main.ts reads the container's).

/**
 * Peak bytes a series takes besides its history: the engine's and the anomaly detector's state, the loop's maps and
 * forecasts, the collector's slack over them, and the exporter's rendered exposition. bench:sidecar's engine-only runs
 * (no exporter) peaked at 953-1,054 MB for 15,000 series (one shard of 4 at 10,000 tenants x 6 signals, 2026-11-30):
 * 150 MB a replica and about 57 KB a series, of which the history store's week is about 8.3 KB (HistoryStore.bytes,
 * counted apart: a longer history holds more). The exporter holds 4.8 KB a series more at the default
 * exportQuantiles, builds or not: the text it serves, the buffers of the text before, which the next build is written
 * into (TextBufferPool), and the deflated copy (measured at 9,000 series after the collector had swept): 5 KB is
 * counted for it.
 */
export const STATE_BYTES_PER_SERIES = 54 * 1024;

/** What a replica takes before any series: Node.js and its heap, the WASM core and its memory, the server. */
export const REPLICA_BASE_BYTES = 150 * 1024 * 1024;

/** Bytes a replica needs at its peak (a first fit) for `series` series whose history store holds `historyBytes`. */
export function memoryNeed(series: number, historyBytes: number): number {
  return REPLICA_BASE_BYTES + historyBytes + Math.max(0, series) * STATE_BYTES_PER_SERIES;
}

/**
 * A memory limit as Node.js reports it (process.constrainedMemory(): the cgroup's memory.max, or memory.limit_in_bytes
 * with cgroup v1), or undefined where there is none: Node 20 reports "none" as 0, undefined or about 2^64, and cgroup
 * v1's unlimited is 2^63 less a page.
 */
export function memoryLimitOf(raw: number | undefined): number | undefined {
  return raw !== undefined && Number.isFinite(raw) && raw > 0 && raw < 2 ** 60 ? raw : undefined;
}

/**
 * How many shards of the same tenants bring each replica's need within `limit`, where `total` shards now need `need`
 * each (the series divide among the shards; each replica keeps its own base). Undefined when no count would: a limit
 * at or below the base.
 */
export function shardsWithin(need: number, limit: number, total: number): number | undefined {
  const room = limit - REPLICA_BASE_BYTES;
  if (!(room > 0)) return undefined;
  return Math.max(total, Math.ceil(((need - REPLICA_BASE_BYTES) * total) / room));
}
