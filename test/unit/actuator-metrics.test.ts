// The actuator's metrics on their own registry and on the exporter's (which owns foresight_shadow_capacity).
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Actuator } from '../../src/actuator/actuator.js';
import { silentLog } from '../../src/actuator/log.js';
import { createActuatorMetrics } from '../../src/actuator/metrics.js';
import { createExporter } from '../../src/metrics/exporter.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { snapshot } from '../helpers/kube-snapshot.js';

describe('actuator metrics', () => {
  it('counts a failed step of the cycle in the exporter\'s foresight_errors_total{stage="actuator"}', async () => {
    const exporter = createExporter({ snapshot: () => undefined });
    const a = new Actuator({ connection: { server: 'https://127.0.0.1:1' }, options: { dryRun: true, identity: 'me' }, log: silentLog, metrics: createActuatorMetrics(exporter.registry) });
    const count = async (): Promise<string | undefined> => /^foresight_errors_total\{stage="actuator"\} (\S+)$/m.exec((await exporter.render()).body.toString())?.[1];
    expect(await count()).toBe('0');
    // nothing listens on port 1: the leader election fails, and the cycle reports, logs and counts it
    const report = await a.runOnce(snapshot(1, 1000, []));
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatch(/^leader election: /);
    expect(await count()).toBe('1');
    await a.stop();
  });

  it('counts Kubernetes errors and actions and sets the leader and shadow gauges on a private registry', async () => {
    const r = new Registry();
    const m = createActuatorMetrics(r);
    m.kubeError('patch verticalpodautoscalers/status', '409');
    m.kubeError('patch verticalpodautoscalers/status', '409');
    m.action('vpa', 'applied');
    m.leader(true);
    m.shadow('pool-a', 'cpu', 'reserved', 1.5);
    const text = await r.metrics();
    expect(text).toMatch(/foresight_kube_errors_total\{operation="patch verticalpodautoscalers\/status",code="409"\} 2/);
    expect(text).toMatch(/foresight_actions_total\{kind="vpa",outcome="applied"\} 1/);
    expect(text).toMatch(/foresight_leader 1/);
    expect(text).toMatch(/foresight_shadow_capacity\{pool="pool-a",resource="cpu",state="reserved"\} 1.5/);
  });

  it('keeps its reserved shadow capacity on the exporter registry across the exporter\'s per-snapshot resets', async () => {
    let snap: Snapshot | undefined = snapshot(1, 1000, [], [{ pool: 'pool-a', resource: 'cpu', size: 2 }]);
    const exporter = createExporter({ snapshot: () => snap });
    const m = createActuatorMetrics(exporter.registry);
    m.shadow('pool-a', 'cpu', 'desired', 99); // ignored: the exporter publishes the desired reserve
    m.shadow('pool-a', 'cpu', 'reserved', 1.5);
    let body = (await exporter.render()).body.toString();
    expect(body).toMatch(/foresight_shadow_capacity\{pool="pool-a",resource="cpu",state="desired"\} 2\n/);
    expect(body).toMatch(/foresight_shadow_capacity\{pool="pool-a",resource="cpu",state="reserved"\} 1.5/);
    snap = snapshot(2, 1300, [], [{ pool: 'pool-a', resource: 'cpu', size: 3 }]);
    body = (await exporter.render()).body.toString();
    expect(body).toMatch(/state="desired"\} 3\n/);
    expect(body).toMatch(/state="reserved"\} 1.5/);
  });

  it('drops reserved series that a reconcile no longer reports, on its own registry and across the exporter\'s resets', async () => {
    const own = new Registry();
    const m1 = createActuatorMetrics(own);
    m1.reservedShadow([{ pool: 'a', resource: 'cpu', value: 1 }, { pool: 'b', resource: 'cpu', value: 2 }]);
    m1.reservedShadow([{ pool: 'b', resource: 'cpu', value: 3 }]);
    const text = await own.metrics();
    expect(text).not.toMatch(/pool="a"/);
    expect(text).toMatch(/pool="b",resource="cpu",state="reserved"\} 3/);

    let snap: Snapshot | undefined = snapshot(1, 1000, [], [{ pool: 'a', resource: 'cpu', size: 2 }]);
    const exporter = createExporter({ snapshot: () => snap });
    const m = createActuatorMetrics(exporter.registry);
    m.reservedShadow([{ pool: 'a', resource: 'cpu', value: 1 }, { pool: 'gone', resource: 'cpu', value: 1 }]);
    expect((await exporter.render()).body.toString()).toMatch(/pool="gone",resource="cpu",state="reserved"/);
    m.reservedShadow([{ pool: 'a', resource: 'cpu', value: 1 }]);
    snap = snapshot(2, 1300, [], [{ pool: 'a', resource: 'cpu', size: 3 }]);
    const body = (await exporter.render()).body.toString();
    expect(body).not.toMatch(/pool="gone"/);
    expect(body).toMatch(/pool="a",resource="cpu",state="reserved"\} 1/);
  });
});
