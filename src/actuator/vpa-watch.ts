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

  /** Waits `ms`, or less when the watcher stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.abort.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
  }

  private async loop(ns: string | undefined): Promise<void> {
    let rv: string | undefined;
    // consecutive failures back off as the actuator's requests do (backoffMinS doubling up to backoffMaxS), and only
    // the first of a run is a warning: an API server that stays away is not logged every second
    let failures = 0;
    while (!this.stopped) {
      try {
        if (rv === undefined) {
          const list = await this.api.request<{ metadata: { resourceVersion: string }; items: VpaWithGen[] }>({ verb: 'list', resource: 'verticalpodautoscalers', namespace: ns }, this.path(ns));
          for (const v of list.items) this.seen(v);
          rv = list.metadata.resourceVersion;
          if (failures) this.log.info({ namespace: ns, failures }, 'VPA watch: listing works again');
          failures = 0;
        }
        await this.api.watch({ verb: 'watch', resource: 'verticalpodautoscalers', namespace: ns }, this.path(ns), { resourceVersion: rv, allowWatchBookmarks: true }, (e) => {
          failures = 0;
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
        const delayS = Math.min(this.opts.backoffMaxS, this.opts.backoffMinS * 2 ** failures);
        failures++;
        if (failures === 1) this.log.warn({ err, namespace: ns, delayS }, 'VPA watch failed; retrying with back-off (foresight_kube_errors_total counts every failure)');
        await this.pause(delayS * 1000);
      }
    }
  }
}
