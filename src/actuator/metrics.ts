// The actuator's metrics, built from the catalogue on an injected prom-client Registry (never the global one).
import { Counter, Gauge, type Registry } from 'prom-client';
import { catalogue } from '../metrics/catalogue.js';

export interface ActuatorMetrics {
  kubeError(operation: string, code: string): void;
  action(kind: string, outcome: string): void;
  leader(isLeader: boolean): void;
  shadow(pool: string, resource: string, state: 'desired' | 'reserved', value: number): void;
}

/** Metrics that go nowhere (tests that do not look at them). */
export const noopActuatorMetrics: ActuatorMetrics = { kubeError() {}, action() {}, leader() {}, shadow() {} };

/**
 * Registers foresight_kube_errors_total, foresight_actions_total, foresight_leader and foresight_shadow_capacity on
 * `registry`. If the exporter already registered a metric of the same name, that one is reused.
 */
export function createActuatorMetrics(registry: Registry): ActuatorMetrics {
  const counter = <L extends string>(d: { name: string; help: string; labels: readonly L[] }): Counter<L> =>
    (registry.getSingleMetric(d.name) as Counter<L> | undefined) ??
    new Counter({ name: d.name, help: d.help, labelNames: d.labels, registers: [registry] });
  const gauge = <L extends string>(d: { name: string; help: string; labels: readonly L[] }): Gauge<L> =>
    (registry.getSingleMetric(d.name) as Gauge<L> | undefined) ??
    new Gauge({ name: d.name, help: d.help, labelNames: d.labels, registers: [registry] });
  const kubeErrors = counter(catalogue.kubeErrors);
  const actions = counter(catalogue.actions);
  const leader = gauge(catalogue.leader);
  // The exporter (src/metrics/exporter.ts) owns foresight_shadow_capacity when it runs: it sets state="desired" from
  // the snapshot and resets the gauge whenever the snapshot changes. The actuator then adds only state="reserved",
  // kept here and re-applied after each of the exporter's resets.
  const sharedShadow = registry.getSingleMetric(catalogue.shadowCapacity.name) as Gauge<string> | undefined;
  const shadow = sharedShadow ?? gauge(catalogue.shadowCapacity);
  const reserved = new Map<string, { pool: string; resource: string; value: number }>();
  if (sharedShadow) {
    const reset = sharedShadow.reset.bind(sharedShadow);
    sharedShadow.reset = () => {
      reset();
      for (const r of reserved.values()) sharedShadow.set({ pool: r.pool, resource: r.resource, state: 'reserved' }, r.value);
    };
  }
  return {
    kubeError: (operation, code) => kubeErrors.inc({ operation, code }),
    action: (kind, outcome) => actions.inc({ kind, outcome }),
    leader: (v) => leader.set(v ? 1 : 0),
    shadow: (pool, resource, state, value) => {
      if (state === 'reserved') reserved.set(`${pool}\u0000${resource}`, { pool, resource, value });
      else if (sharedShadow) return; // the exporter publishes the desired reserve from the snapshot
      shadow.set({ pool, resource, state }, value);
    },
  };
}
