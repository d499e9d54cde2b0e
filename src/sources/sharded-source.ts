// A history source narrowed to this replica's shard of tenants: what another shard owns never reaches the store, the
// engine or /metrics. The pull itself still asks for every tenant (PromQL cannot hash a label); the Prometheus source
// also drops other shards' series while it parses (its keepTenant option), so this is the guarantee for any source.
import { ownsTenant, shardOfTenant, type Shard } from '../model/shard.js';
import { countByResource } from '../model/series.js';
import type { HistorySource, PullRange, PullResult, UsageSplit } from './history-source.js';

/** Where a shard says what an operator should know (pino's warn). */
export interface ShardNotices {
  warn(obj: object, msg?: string): void;
}

export class ShardedSource implements HistorySource {
  readonly origin: string;
  /** Said once: tenant names with a '/' that are not per-container series. */
  #slashWarned = false;

  constructor(
    private readonly inner: HistorySource,
    readonly shard: Shard,
    private readonly notices?: ShardNotices,
  ) {
    this.origin = `${inner.origin} (shard ${shard.index} of ${shard.total})`;
  }

  get signals(): HistorySource['signals'] {
    return this.inner.signals;
  }

  async pull(range: PullRange): Promise<PullResult> {
    const r = await this.inner.pull(range);
    // FNV-1a of a short name: ~0.1 us, 6 ms for 60,000 series
    const series = r.set.series.filter((s) => ownsTenant(this.shard, s.tenant));
    const breakdown = r.breakdown.filter((b) => ownsTenant(this.shard, b.tenant));
    if (!this.#slashWarned) this.#noteSlashTenants(series);
    if (!r.coverage) return { ...r, set: { ...r.set, series }, breakdown };
    const kept = countByResource(series);
    const coverage = r.coverage.map((c) => {
      const n = kept.get(c.resource) ?? 0;
      if (n > 0 || c.tenants === 0) return { ...c, tenants: n };
      return { resource: c.resource, tenants: 0, why: `the source has ${c.tenants} tenant${c.tenants === 1 ? '' : 's'} with it, none of shard ${this.shard.index} of ${this.shard.total}` };
    });
    return { ...r, set: { ...r.set, series }, breakdown, coverage };
  }

  /**
   * Warns once when a tenant name holds a '/' but what precedes it is not a tenant: shardOfTenant places such a name by
   * that prefix, as a per-container series `<tenant>/<container>`, so every tenant of one prefix (a tenant label whose
   * values are "payments/team-1", "payments/team-2", ...) lands on one shard. The name and its prefix are always on the
   * same shard, so this shard's own series tell whether the prefix is a tenant.
   */
  #noteSlashTenants(series: PullResult['set']['series']): void {
    const slashed = series.filter((s) => s.tenant.includes('/'));
    if (slashed.length === 0) return;
    const tenants = new Set(series.map((s) => s.tenant));
    const orphans = [...new Set(slashed.map((s) => s.tenant))].filter((t) => !tenants.has(t.slice(0, t.indexOf('/'))));
    if (orphans.length === 0) return;
    this.#slashWarned = true;
    const prefixes = [...new Set(orphans.map((t) => t.slice(0, t.indexOf('/'))))];
    const { index, total } = this.shard;
    this.notices?.warn(
      { shard: index, totalShards: total, tenants: orphans.length, examples: orphans.slice(0, 3), prefixes: prefixes.slice(0, 10) },
      `${orphans.length} tenant names hold a '/' and what precedes it is not a tenant (e.g. ${JSON.stringify(orphans[0])}): shards place a name by what precedes its first '/', as a per-container series <tenant>/<container>, so every tenant named ${JSON.stringify(`${prefixes[0]}/...`)} is on shard ${shardOfTenant(orphans[0], total)} of ${total}; to spread them, use a tenant label whose values have no '/' (README: Sharding tenants across replicas)`,
    );
  }

  async usageSplit(resources: readonly string[], atS: number): Promise<Map<string, UsageSplit>> {
    const all = (await this.inner.usageSplit?.(resources, atS)) ?? new Map<string, UsageSplit>();
    const mine = <V>(m: Map<string, V>): Map<string, V> => new Map([...m].filter(([tenant]) => ownsTenant(this.shard, tenant)));
    return new Map([...all].map(([resource, u]) => [resource, { containers: mine(u.containers), workloads: mine(u.workloads) }]));
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}
