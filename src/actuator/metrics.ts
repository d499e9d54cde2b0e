// The actuator's metrics, built from the catalogue on an injected prom-client Registry (never the global one).
import { Counter, Gauge, type Registry } from 'prom-client';
import { catalogue } from '../metrics/catalogue.js';

export interface ReservedShadow {
  pool: string;
  resource: string;
  value: number;
}

export interface ActuatorMetrics {
  kubeError(operation: string, code: string): void;
  /** A step of the cycle failed (foresight_errors_total{stage}; the actuator's stage is "actuator"). */
  error(stage: string): void;
  action(kind: string, outcome: string): void;
  /** The safety gate kept a target's value in force (src/actuator/safety.ts GateHold). */
  held(kind: string, reason: string): void;
  leader(isLeader: boolean): void;
  /** The leader holds off because another shard count writes (src/actuator/shard-fence.ts). */
  fenced(on: boolean): void;
  shadow(pool: string, resource: string, state: 'desired' | 'reserved', value: number): void;
  /** The whole state="reserved" set after a reconcile: series of pools and resources not in `values` are removed. */
  reservedShadow(values: readonly ReservedShadow[]): void;
  /**
   * The whole state="target" set after a reconcile: what the placeholders are sized to hold (the desired reserve, raised
   * to the quotas' headroom, scaled under the caps); series not in `values` are removed.
   */
  targetShadow(values: readonly ReservedShadow[]): void;
}

/** Metrics that go nowhere (tests that do not look at them). */
export const noopActuatorMetrics: ActuatorMetrics = { kubeError() {}, error() {}, action() {}, held() {}, leader() {}, fenced() {}, shadow() {}, reservedShadow() {}, targetShadow() {} };

/**
 * Registers foresight_kube_errors_total, foresight_errors_total, foresight_actions_total,
 * foresight_actuator_holds_total, foresight_leader, foresight_actuator_fenced and foresight_shadow_capacity on `registry`. If the exporter already registered a metric of
 * the same name, that one is reused.
 */
export function createActuatorMetrics(registry: Registry): ActuatorMetrics {
  const counter = <L extends string>(d: { name: string; help: string; labels: readonly L[] }): Counter<L> =>
    (registry.getSingleMetric(d.name) as Counter<L> | undefined) ??
    new Counter({ name: d.name, help: d.help, labelNames: d.labels, registers: [registry] });
  const gauge = <L extends string>(d: { name: string; help: string; labels: readonly L[] }): Gauge<L> =>
    (registry.getSingleMetric(d.name) as Gauge<L> | undefined) ??
    new Gauge({ name: d.name, help: d.help, labelNames: d.labels, registers: [registry] });
  const kubeErrors = counter(catalogue.kubeErrors);
  // the exporter's own counter when it runs (it pre-creates every stage at 0, "actuator" among them)
  const errors = counter(catalogue.errors);
  const actions = counter(catalogue.actions);
  const holds = counter(catalogue.gateHolds);
  const leader = gauge(catalogue.leader);
  const fenced = gauge(catalogue.actuatorFenced);
  // The exporter (src/metrics/exporter.ts) owns foresight_shadow_capacity when it runs: it sets state="desired" from
  // the snapshot and resets the gauge whenever the snapshot changes. The actuator then adds only state="reserved" and
  // state="target", kept here and re-applied after each of the exporter's resets.
  const sharedShadow = registry.getSingleMetric(catalogue.shadowCapacity.name) as Gauge<string> | undefined;
  const shadow = sharedShadow ?? gauge(catalogue.shadowCapacity);
  const reserved = new Map<string, ReservedShadow>();
  const target = new Map<string, ReservedShadow>();
  const reservedKey = (pool: string, resource: string): string => `${pool}\u0000${resource}`;
  if (sharedShadow) {
    const reset = sharedShadow.reset.bind(sharedShadow);
    sharedShadow.reset = () => {
      reset();
      for (const r of reserved.values()) sharedShadow.set({ pool: r.pool, resource: r.resource, state: 'reserved' }, r.value);
      for (const r of target.values()) sharedShadow.set({ pool: r.pool, resource: r.resource, state: 'target' }, r.value);
    };
  }
  /** Replaces the series of one state with `values` (a pool that is gone stops exporting its last value). */
  const replace = (state: 'reserved' | 'target', kept: Map<string, ReservedShadow>, values: readonly ReservedShadow[]): void => {
    const next = new Map(values.map((v) => [reservedKey(v.pool, v.resource), v]));
    for (const [k, r] of kept) if (!next.has(k)) shadow.remove({ pool: r.pool, resource: r.resource, state });
    kept.clear();
    for (const [k, r] of next) {
      kept.set(k, r);
      shadow.set({ pool: r.pool, resource: r.resource, state }, r.value);
    }
  };
  return {
    kubeError: (operation, code) => kubeErrors.inc({ operation, code }),
    error: (stage) => errors.inc({ stage }),
    action: (kind, outcome) => actions.inc({ kind, outcome }),
    held: (kind, reason) => holds.inc({ kind, reason }),
    leader: (v) => leader.set(v ? 1 : 0),
    fenced: (v) => fenced.set(v ? 1 : 0),
    shadow: (pool, resource, state, value) => {
      if (state === 'reserved') reserved.set(reservedKey(pool, resource), { pool, resource, value });
      else if (sharedShadow) return; // the exporter publishes the desired reserve from the snapshot
      shadow.set({ pool, resource, state }, value);
    },
    // a pool whose placeholders are gone (deleted, shadow disabled) must stop exporting its last value
    reservedShadow: (values) => replace('reserved', reserved, values),
    targetShadow: (values) => replace('target', target, values),
  };
}
