// Watches VPAs (cluster-wide or per namespace) so that a new VPA, or a changed spec, gets a recommendation at once
// instead of at the next snapshot. Status writes (ours included) do not bump metadata.generation and are ignored.
import { type Shard, UNSHARDED } from '../model/shard.js';
import type { ActuatorOptions } from './config.js';
import { type KubeApi, httpStatus } from './kube-api.js';
import type { ActuatorLog } from './log.js';
import { servedHere } from './vpa-logic.js';
import { VPA_GROUP, VPA_VERSION, type Vpa } from './vpa-types.js';

type VpaWithGen = Vpa & { metadata: Vpa['metadata'] & { generation?: number } };

export class VpaWatcher {
  private readonly generations = new Map<string, number>();
  private abort = new AbortController();
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly api: KubeApi,
    private readonly opts: ActuatorOptions,
    /** Called (debounced by the caller) when a served VPA appeared or its spec changed. */
    private readonly onChange: () => void,
    private readonly log: ActuatorLog,
    private readonly shard: Shard = UNSHARDED,
    private readonly retryMs = 1000,
  ) {}

  start(): void {
    const scopes = this.opts.namespaces.length ? this.opts.namespaces : [undefined];
    this.loops = scopes.map((ns) => this.loop(ns));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await Promise.all(this.loops);
  }

  private path(ns: string | undefined): string {
    return ns ? `/apis/${VPA_GROUP}/${VPA_VERSION}/namespaces/${ns}/verticalpodautoscalers` : `/apis/${VPA_GROUP}/${VPA_VERSION}/verticalpodautoscalers`;
  }

  private seen(v: VpaWithGen): boolean {
    const k = `${v.metadata.namespace}/${v.metadata.name}`;
    const gen = v.metadata.generation ?? 0;
    const changed = this.generations.get(k) !== gen;
    this.generations.set(k, gen);
    return changed;
  }

  private async loop(ns: string | undefined): Promise<void> {
    let rv: string | undefined;
    while (!this.stopped) {
      try {
        if (rv === undefined) {
          const list = await this.api.request<{ metadata: { resourceVersion: string }; items: VpaWithGen[] }>({ verb: 'list', resource: 'verticalpodautoscalers', namespace: ns }, this.path(ns));
          for (const v of list.items) this.seen(v);
          rv = list.metadata.resourceVersion;
        }
        await this.api.watch({ verb: 'watch', resource: 'verticalpodautoscalers', namespace: ns }, this.path(ns), { resourceVersion: rv, allowWatchBookmarks: true }, (e) => {
          const obj = e.object as VpaWithGen & { code?: number };
          if (e.type === 'ERROR') {
            rv = undefined; // 410 Gone and friends: relist
            return;
          }
          if (obj.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
          if (e.type === 'DELETED') {
            this.generations.delete(`${obj.metadata.namespace}/${obj.metadata.name}`);
            return;
          }
          if ((e.type === 'ADDED' || e.type === 'MODIFIED') && this.seen(obj) && servedHere(obj, this.opts, this.shard)) this.onChange();
        }, this.abort.signal);
      } catch (err) {
        if (this.stopped) return;
        if (httpStatus(err) === 410) rv = undefined;
        this.log.warn({ err, namespace: ns }, 'VPA watch failed; retrying');
        await new Promise((r) => setTimeout(r, this.retryMs));
      }
    }
  }
}
