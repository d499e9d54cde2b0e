// Pure parts of the actuator: quantities, VPA recommendation shaping, safety gate, shadow planning, journal, options.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withQuotaReserve } from '../../src/actuator/actuator.js';
import { withRoom } from '../../src/actuator/quota-sizing.js';
import { actuatorOptions, defaultActuatorOptions, nodeSelector, reclaimConfig, validateActuatorOptions } from '../../src/actuator/config.js';
import { ActionJournal } from '../../src/actuator/journal.js';
import { knobFor } from '../../src/actuator/knobs.js';
import { forbidden } from '../../src/actuator/kube-api.js';
import { formatCpu, formatMemory, parseQuantity } from '../../src/actuator/quantity.js';
import { heldAsAnomalous, SafetyGate } from '../../src/actuator/safety.js';
import { placeholderSpecs, poolReserves, poolSlug, sameSize } from '../../src/actuator/shadow-plan.js';
import { changedBeyond, desiredForVpa, nextConditions, parseShares, toContainerRecommendations } from '../../src/actuator/vpa-logic.js';
import type { Vpa } from '../../src/actuator/vpa-types.js';
import { allocationConfig } from '../../src/logic/allocation.js';
import { DEFAULT_RECLAIM, mayReclaim, trackLowUsage } from '../../src/logic/reclaim.js';
import { snapshot, state } from '../helpers/kube-snapshot.js';
import { tempDir } from '../helpers/temp.js';

const GiB = 2 ** 30;

function vpa(over: Partial<Vpa['spec']> = {}, annotations: Record<string, string> = {}): Vpa {
  return {
    metadata: { name: 'web', namespace: 'team-a', annotations },
    spec: { targetRef: { kind: 'Deployment', name: 'web' }, recommenders: [{ name: 'foresight' }], ...over },
  };
}

describe('quantities', () => {
  it('parses decimal, binary and exponent suffixes to base units', () => {
    expect(parseQuantity('250m')).toBeCloseTo(0.25);
    expect(parseQuantity('2')).toBe(2);
    expect(parseQuantity('1.5Gi')).toBe(1.5 * GiB);
    expect(parseQuantity('128Mi')).toBe(128 * 2 ** 20);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('1k')).toBe(1000);
    expect(parseQuantity('nonsense')).toBeNaN();
  });
  it('formats cpu as millicores rounded up and memory as whole bytes', () => {
    expect(formatCpu(0.2501)).toBe('251m');
    expect(formatCpu(2)).toBe('2');
    expect(formatMemory(1.2)).toBe('2');
    expect(parseQuantity(formatCpu(1.234))).toBeCloseTo(1.234, 3);
  });
});

describe('VPA recommendation', () => {
  const opts = actuatorOptions({ minCpuCores: 0, minMemoryBytes: 0 });
  const snap = snapshot(1, 1000, [
    state({ tenant: 'team-a', resource: 'cpu', usage: 1, quantiles: [[1, 2, 2.5, 3], [1, 3, 3.5, 4], [1, 2, 2.2, 2.4]] }),
    state({ tenant: 'team-a', resource: 'memory', usage: GiB, quantiles: [[GiB, 2 * GiB, 2 * GiB, 3 * GiB]] }),
  ]);

  it('targets the highest target-quantile over the horizons so it rises before demand', () => {
    const d = desiredForVpa(vpa({ resourcePolicy: { containerPolicies: [{ containerName: 'app' }] } }), snap, opts);
    expect(d.skipped).toBeUndefined();
    const cpu = d.containers[0].resources.cpu!;
    expect(cpu.target).toBe(3); // q90 at 15 minutes
    expect(cpu.lowerBound).toBe(1);
    expect(cpu.upperBound).toBe(4);
  });

  it('splits the tenant recommendation across containers by their usage share', () => {
    const withContainers = snapshot(1, 1000, [
      ...snap.resources.values(),
      state({ tenant: 'team-a/app', resource: 'cpu', usage: 0.75, quantiles: [[0, 0, 0, 0]] }),
      state({ tenant: 'team-a/sidecar', resource: 'cpu', usage: 0.25, quantiles: [[0, 0, 0, 0]] }),
    ]);
    const d = desiredForVpa(vpa(), withContainers, opts);
    const by = Object.fromEntries(d.containers.map((c) => [c.container, c.resources.cpu!.target]));
    expect(by.app).toBeCloseTo(2.25);
    expect(by.sidecar).toBeCloseTo(0.75);
  });

  it('recommends per pod: the tenant\'s forecast over its running pods, then split over the containers', () => {
    const fourPods = snapshot(1, 1000, [
      ...[...snap.resources.values()].filter((st) => st.resource !== 'pods'),
      state({ tenant: 'team-a', resource: 'pods', usage: 4, quantiles: [[4, 4, 5, 6]] }),
      state({ tenant: 'team-a/app', resource: 'cpu', usage: 0.75, quantiles: [[0, 0, 0, 0]] }),
      state({ tenant: 'team-a/sidecar', resource: 'cpu', usage: 0.25, quantiles: [[0, 0, 0, 0]] }),
    ]);
    const d = desiredForVpa(vpa(), fourPods, opts);
    const by = Object.fromEntries(d.containers.map((c) => [c.container, c]));
    // the tenant's 3 cores (q90 at 15 minutes) over 4 pods, 3/4 of each pod to app
    expect(by.app.resources.cpu!.target).toBeCloseTo((3 / 4) * 0.75, 12);
    expect(by.sidecar.resources.cpu!.upperBound).toBeCloseTo((4 / 4) * 0.25, 12);
    // the safety gate's floors and usage are per pod too
    expect(by.app.gate.cpu!.floor).toBeCloseTo((1 / 4) * 0.75, 12);
    expect(by.app.gate.cpu!.usage).toBeCloseTo((1 / 4) * 0.75, 12);
    // a tenant scaled to zero pods recommends its (near-zero) total for the next pod
    const zero = snapshot(1, 1000, [...fourPods.resources.values()].map((st) => (st.resource === 'pods' ? { ...st, usage: 0 } : st)));
    expect(desiredForVpa(vpa(), zero, opts).containers.find((c) => c.container === 'app')!.resources.cpu!.target).toBeCloseTo(3 * 0.75, 12);
  });

  it('sizes a VPA from its target workload\'s share of the tenant and its own pods when the snapshot knows them', () => {
    // team-a runs web (5 pods, a quarter of the cpu: app and an istio-proxy) and db (1 pod, the rest)
    const workloads = { web: { share: 0.25, pods: 5, containers: { app: 0.9, 'istio-proxy': 0.1 } }, db: { share: 0.75, pods: 1, containers: { postgres: 1 } } };
    const six = snapshot(1, 1000, [
      ...[...snap.resources.values()].filter((st) => st.resource !== 'pods'),
      state({ tenant: 'team-a', resource: 'pods', usage: 6, quantiles: [[6, 6, 6, 6]] }),
    ]);
    const known: typeof snap = { ...six, workloadUsage: new Map([['cpu', new Map([['team-a', workloads]])]]) };
    const web = desiredForVpa(vpa(), known, opts); // targetRef web
    const byWeb = Object.fromEntries(web.containers.map((c) => [c.container, c.resources.cpu!.target]));
    expect(byWeb.app).toBeCloseTo((3 * 0.25 * 0.9) / 5, 12); // the tenant's 3 cores: a quarter, over 5 pods, 90% to app
    expect(byWeb['istio-proxy']).toBeCloseTo((3 * 0.25 * 0.1) / 5, 12);
    expect(web.covered.cpu).toEqual(['app', 'istio-proxy']);
    const dbVpa = vpa({ targetRef: { kind: 'StatefulSet', name: 'db' } });
    expect(desiredForVpa(dbVpa, known, opts).containers.find((c) => c.container === 'postgres')!.resources.cpu!.target).toBeCloseTo(3 * 0.75, 12);
    // (the tenant's average pod would have given every pod 0.5 core, where db's one pod needs 2.25)
    // memory has no workload measurement here: the tenant's average pod over the named containers, as before
    const withMemory = desiredForVpa(vpa({ resourcePolicy: { containerPolicies: [{ containerName: 'app' }] } }), known, opts);
    expect(withMemory.containers.find((c) => c.container === 'app')!.resources.memory!.target).toBeCloseTo((2 * GiB) / 6, 0);
    // the shares annotation still decides the container split
    const annotated = desiredForVpa(vpa({}, { 'foresight.io/container-shares': 'app=1,istio-proxy=1' }), known, opts);
    for (const c of annotated.containers) expect(c.resources.cpu!.target).toBeCloseTo((3 * 0.25 * 0.5) / 5, 12);
    expect(annotated.containers.map((c) => c.container)).toEqual(['app', 'istio-proxy']);
    // a known workload needs no tenant pod count
    const noTenantPods: typeof snap = { ...snapshot(1, 1000, [...snap.resources.values()].filter((st) => st.resource !== 'pods'), [], false, false), workloadUsage: known.workloadUsage };
    expect(desiredForVpa(dbVpa, noTenantPods, opts).containers.find((c) => c.container === 'postgres')!.resources.cpu!.target).toBeCloseTo(3 * 0.75, 12);
  });

  it('recommends nothing without a running-pod count for the tenant, and says why', () => {
    const noPods = snapshot(1, 1000, [...snap.resources.values()].filter((st) => st.resource !== 'pods'), [], false, false);
    const d = desiredForVpa(vpa({ resourcePolicy: { containerPolicies: [{ containerName: 'app' }] } }), noPods, opts);
    expect(d.containers).toEqual([]);
    expect(d.skipped).toMatch(/no running-pod count for tenant team-a \(signal pods, from kube-state-metrics\) nor for the VPA's target workload: a VPA recommendation is per pod/);
    expect(d.skipReason).toBe('NoPodCount');
  });

  it('splits by the tenant\'s measured usage by container, narrowed to the containers the VPA names; an annotation wins', () => {
    const measured: typeof snap = { ...snap, containerShares: new Map([['cpu', new Map([['team-a', { app: 0.6, 'istio-proxy': 0.1, worker: 0.3 }]])]]) };
    // a VPA that names no container: every measured container of the tenant
    const all = desiredForVpa(vpa(), measured, opts);
    expect(Object.fromEntries(all.containers.map((c) => [c.container, c.resources.cpu!.target]))).toEqual({ app: 3 * 0.6, 'istio-proxy': 3 * 0.1, worker: 3 * 0.3 });
    expect(all.covered.cpu).toEqual(['app', 'istio-proxy', 'worker']);
    // a VPA whose resourcePolicy names app and istio-proxy (its pod's containers): the split among them
    const named = desiredForVpa(vpa({ resourcePolicy: { containerPolicies: [{ containerName: 'app' }, { containerName: 'istio-proxy' }] } }), measured, opts);
    const by = Object.fromEntries(named.containers.map((c) => [c.container, c.resources.cpu!.target]));
    expect(by.app).toBeCloseTo((3 * 6) / 7, 12);
    expect(by['istio-proxy']).toBeCloseTo(3 / 7, 12);
    // memory has no measured split: the equal split over named containers, as before
    expect(named.containers.map((c) => c.resources.memory!.target)).toEqual([GiB * 2 / 2, GiB * 2 / 2]);
    // the operator's annotation wins over the measurement
    const ann = desiredForVpa(vpa({}, { 'foresight.io/container-shares': 'app=1,istio-proxy=1' }), measured, opts);
    expect(ann.containers.map((c) => c.resources.cpu!.target)).toEqual([1.5, 1.5]);
  });

  it('splits by the shares annotation before the per-container usage series, as the README says', () => {
    const withContainers = snapshot(1, 1000, [
      ...snap.resources.values(),
      state({ tenant: 'team-a/app', resource: 'cpu', usage: 0.75, quantiles: [[0, 0, 0, 0]] }),
      state({ tenant: 'team-a/istio-proxy', resource: 'cpu', usage: 0.25, quantiles: [[0, 0, 0, 0]] }),
    ]);
    const d = desiredForVpa(vpa({}, { 'foresight.io/container-shares': 'app=1,istio-proxy=1' }), withContainers, opts);
    expect(Object.fromEntries(d.containers.map((c) => [c.container, c.resources.cpu!.target]))).toEqual({ app: 1.5, 'istio-proxy': 1.5 });
    // the annotation speaks for every container: none is missing data to carry over
    expect(d.covered.cpu).toBe('all');
    // an annotation that does not parse leaves the usage series to decide
    const bad = desiredForVpa(vpa({}, { 'foresight.io/container-shares': 'app=x' }), withContainers, opts);
    expect(bad.containers.find((c) => c.container === 'app')!.resources.cpu!.target).toBeCloseTo(2.25, 12);
  });

  it('uses the shares annotation when the snapshot has no per-container usage', () => {
    expect(parseShares('app=3, sidecar=1')).toEqual([{ container: 'app', share: 0.75 }, { container: 'sidecar', share: 0.25 }]);
    expect(parseShares('app=x')).toBeUndefined();
    const d = desiredForVpa(vpa({}, { 'foresight.io/container-shares': 'app=1,sidecar=1' }), snap, opts);
    expect(d.containers.map((c) => c.resources.cpu!.target)).toEqual([1.5, 1.5]);
  });

  it('honours mode Off, controlledResources and minAllowed/maxAllowed, keeping the uncapped target', () => {
    const v = vpa({
      resourcePolicy: {
        containerPolicies: [
          { containerName: 'app', controlledResources: ['cpu'], maxAllowed: { cpu: '500m' } },
          { containerName: 'batch', mode: 'Off' },
          { containerName: 'tiny', minAllowed: { cpu: '5' } },
        ],
      },
    });
    const d = desiredForVpa(v, snap, opts);
    const by = Object.fromEntries(d.containers.map((c) => [c.container, c]));
    expect(by.batch).toBeUndefined();
    expect(by.app.resources.memory).toBeUndefined();
    // three named containers share the tenant's 3 cores equally: 1 each, app capped at 0.5
    expect(by.app.resources.cpu!.target).toBe(0.5);
    expect(by.app.resources.cpu!.uncappedTarget).toBeCloseTo(1);
    expect(by.tiny.resources.cpu!.target).toBe(5);
  });

  it('takes a maxAllowed or minAllowed of 0 as a bound, and an absent or unparsable one as none', () => {
    const v = vpa({
      resourcePolicy: {
        containerPolicies: [
          { containerName: 'zero', maxAllowed: { cpu: '0', memory: 0 as unknown as string } },
          { containerName: 'junk', maxAllowed: { cpu: 'lots' }, minAllowed: { cpu: 'some' } },
          { containerName: 'floor0', minAllowed: { cpu: '0' } },
        ],
      },
    });
    const by = Object.fromEntries(desiredForVpa(v, snap, opts).containers.map((c) => [c.container, c]));
    // a maximum of 0 caps at 0 (it was taken as no maximum); the uncapped target still says what the forecast asked
    expect(by.zero.resources.cpu!.target).toBe(0);
    expect(by.zero.resources.cpu!.upperBound).toBe(0);
    expect(by.zero.resources.cpu!.uncappedTarget).toBeCloseTo(1, 12);
    expect(by.zero.resources.memory!.target).toBe(0);
    expect(by.zero.gate.cpu!.max).toBe(0);
    // three named containers share the tenant's 3 cores: 1 each, unbounded by what does not parse
    expect(by.junk.resources.cpu!.target).toBeCloseTo(1, 12);
    expect(by.junk.gate.cpu).toMatchObject({ min: 0, max: opts.maxCpuCores });
    expect(by.floor0.resources.cpu!.target).toBeCloseTo(1, 12);
  });

  it('applies global bounds from the configuration', () => {
    const d = desiredForVpa(vpa({ resourcePolicy: { containerPolicies: [{ containerName: 'app' }] } }), snap, actuatorOptions({ maxCpuCores: 1.5 }));
    expect(d.containers[0].resources.cpu!.target).toBe(1.5);
  });

  it('says why a VPA is skipped when no container names are known', () => {
    const d = desiredForVpa(vpa(), snap, opts);
    expect(d.containers).toHaveLength(0);
    expect(d.skipped).toMatch(/container-shares/);
  });

  it('marks short histories LowConfidence', () => {
    const short = snapshot(1, 1000, [state({ tenant: 'team-a', resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]], historyPoints: 10 })]);
    const d = desiredForVpa(vpa({ resourcePolicy: { containerPolicies: [{ containerName: 'app' }] } }), short, opts);
    expect(d.lowConfidence).toBe(true);
    const conds = nextConditions([{ type: 'Other', status: 'True' }], true, 'team-a', new Date(0));
    expect(conds.map((c) => `${c.type}=${c.status}`)).toEqual(['Other=True', 'RecommendationProvided=True', 'LowConfidence=True']);
  });

  it('rewrites on every target increase, and on a target decrease or a bound change beyond the tolerance', () => {
    const d = desiredForVpa(vpa({ resourcePolicy: { containerPolicies: [{ containerName: 'app' }] } }), snap, opts);
    const recs = toContainerRecommendations(d.containers);
    expect(parseQuantity(recs[0].target.cpu)).toBe(3);
    expect(changedBeyond(undefined, recs, 0.05)).toBe(true);
    expect(changedBeyond(recs, recs, 0.05)).toBe(false);
    const with_ = (k: 'target' | 'upperBound', cores: number) => {
      const n = structuredClone(recs);
      n[0][k]!.cpu = formatCpu(cores);
      return changedBeyond(recs, n, 0.05);
    };
    expect(with_('target', 3.03)).toBe(true); // an increase held back would be a shortage
    expect(with_('target', 2.9)).toBe(false);
    expect(with_('target', 2.8)).toBe(true);
    const up = parseQuantity(recs[0].upperBound!.cpu);
    expect(with_('upperBound', up * 1.03)).toBe(false);
    expect(with_('upperBound', up * 0.97)).toBe(false);
    expect(with_('upperBound', up * 1.1)).toBe(true);
  });
});

describe('safety gate', () => {
  const o = { maxStepRatio: 0.5, cooldownS: 300, maxChangesPerHour: 1.2, reclaimBelowRatio: 0.75, reclaimAfterS: 1800, reclaimHysteresis: 0.1, anomalyConfirmS: 900 };
  const ctx = { nowS: 0, floor: 0, usage: 1, anomalous: false, stale: false };

  it('passes a first value but never below the recent peak', () => {
    const g = new SafetyGate(o);
    expect(g.shape('k', 2, undefined, ctx)).toEqual({ value: 2, reason: '' });
    expect(g.shape('k2', 1, undefined, { ...ctx, floor: 1.5 }).value).toBe(1.5);
  });

  it('limits an increase to the maximum step and then waits out the cooldown', () => {
    const g = new SafetyGate(o);
    const r = g.shape('k', 10, 2, ctx);
    expect(r).toEqual({ value: 3, reason: 'max step' });
    g.committed('k', 0);
    expect(g.shape('k', 10, 3, { ...ctx, nowS: 100 })).toEqual({ value: 3, reason: 'cooldown', hold: 'cooldown' });
    expect(g.shape('k', 10, 3, { ...ctx, nowS: 300 }).value).toBe(4.5);
  });

  it('caps what the forecast adds, never the recent peak: an increase reaches at least the observed peak', () => {
    const g = new SafetyGate(o);
    // 2 in force, the forecast wants 10, usage peaked at 5: the step limit (2 x 1.5 = 3) would keep it short
    expect(g.shape('k', 10, 2, { ...ctx, floor: 5 })).toEqual({ value: 5, reason: 'max step' });
    expect(g.shape('k2', 4, 2, { ...ctx, floor: 5 })).toEqual({ value: 5, reason: 'recent peak' });
  });

  it('lets a raise through the step limit and the cooldown up to the demand of this time of day, and no further', () => {
    const g = new SafetyGate(o);
    // a daily burst: 0.1 in force, the forecast wants 80, the same hour yesterday peaked at 100 (or at 50)
    expect(g.shape('k', 80, 0.1, { ...ctx, recurring: 100 })).toEqual({ value: 80, reason: '' });
    expect(g.shape('k2', 80, 0.1, { ...ctx, recurring: 50 })).toEqual({ value: 50, reason: 'max step' });
    // it only lifts the cap: the forecast asking for less, or nothing seen at this hour, changes nothing
    expect(g.shape('k3', 0.12, 0.1, { ...ctx, recurring: 100 }).value).toBe(0.12);
    expect(g.shape('k4', 80, 0.1, { ...ctx, recurring: NaN })).toEqual({ value: 0.15000000000000002, reason: 'max step' });
    // in a cooldown, the forecast's raise still reaches the demand seen at this hour
    g.committed('k3', 0);
    expect(g.shape('k3', 80, 0.12, { ...ctx, nowS: 60, recurring: 100 })).toEqual({ value: 80, reason: 'cooldown, raised to the demand of this time of day', hold: 'cooldown' });
    expect(g.shape('k3', 80, 0.12, { ...ctx, nowS: 60 })).toEqual({ value: 0.12, reason: 'cooldown', hold: 'cooldown' });
  });

  it('spends a change budget on every write, the recent peak\'s included: bursts of 3, then 1.2 an hour, a decrease leaving a token', () => {
    const g = new SafetyGate({ ...o, reclaimAfterS: 0, reclaimHysteresis: 0 });
    let cur = 2;
    // three increases, one per cooldown: the bucket (3 tokens) is spent
    for (let i = 0; i < 3; i++) {
      const r = g.shape('k', cur * 1.2, cur, { ...ctx, nowS: 300 * i });
      expect(r.value).toBeCloseTo(cur * 1.2);
      g.committed('k', 300 * i);
      cur = r.value;
    }
    // (tokens: 3 - 1 at t = 0, + 0.1 - 1 at 300, + 0.1 - 1 at 600: 0.2 left, refilled at 1.2 an hour)
    // usage now peaks above the value in force: even the floor waits for a token (0.6 by 1800 s)
    expect(g.shape('k', cur, cur, { ...ctx, nowS: 1800, floor: cur * 1.1 })).toEqual({ value: cur, reason: 'change budget: 1.2 changes an hour', hold: 'budget' });
    // the token is whole 2,400 s after the last change
    expect(g.shape('k', cur, cur, { ...ctx, nowS: 2999, floor: cur * 1.1 }).value).toBe(cur);
    expect(g.shape('k', cur, cur, { ...ctx, nowS: 3000, floor: cur * 1.1 }).value).toBeCloseTo(cur * 1.1);
    g.committed('k', 3000);
    cur *= 1.1;
    // a decrease needs two tokens: 100 minutes from an empty bucket
    expect(g.shape('k', cur * 0.8, cur, { ...ctx, nowS: 3000 + 5999, usage: 0.1 }).value).toBe(cur);
    expect(g.shape('k', cur * 0.8, cur, { ...ctx, nowS: 3000 + 6000, usage: 0.1 }).value).toBeCloseTo(cur * 0.8);
    // keys have budgets of their own
    expect(g.shape('other', 3, 2, { ...ctx, nowS: 1800 }).value).toBe(3);
  });

  it('charges no token for a first value, and leaves no debt after writes it did not pass', () => {
    const g = new SafetyGate(o);
    // a first value, then three raises in a burst: the bucket is whole after the first value
    expect(g.shape('k', 10, undefined, ctx).value).toBe(10);
    g.committed('k', 0);
    let cur = 10;
    for (let i = 1; i <= 3; i++) {
      const r = g.shape('k', cur + 1, cur, { ...ctx, nowS: 300 * i });
      expect(r.value).toBe(cur + 1);
      g.committed('k', 300 * i);
      cur = r.value;
    }
    expect(g.shape('k', cur + 1, cur, { ...ctx, nowS: 1200 }).reason).toMatch(/change budget/);
    // writes forced past the gate (a quota raised to status.used, a VPA's minAllowed) empty the bucket, no further
    for (let t = 1200; t <= 2400; t += 300) g.committed('k', t);
    // one token 3,000 s after the last of them (from 0, not from a debt of -4)
    expect(g.shape('k', cur + 1, cur, { ...ctx, nowS: 5399 }).value).toBe(cur);
    expect(g.shape('k', cur + 1, cur, { ...ctx, nowS: 5400 }).value).toBe(cur + 1);
  });

  it('never shrinks on stale data', () => {
    const g = new SafetyGate({ ...o, reclaimAfterS: 0 });
    expect(g.shape('k', 1, 4, { ...ctx, usage: 0.1, stale: true })).toEqual({ value: 4, reason: 'stale data: never shrink', hold: 'stale' });
  });

  it('shrinks only after usage stayed below 75% of the allocation for the reclaim time, by at most one step', () => {
    const g = new SafetyGate(o);
    expect(g.shape('k', 1, 4, { ...ctx, nowS: 0, usage: 2 }).value).toBe(4);
    expect(g.shape('k', 1, 4, { ...ctx, nowS: 1000, usage: 2.9 })).toMatchObject({ value: 4, hold: 'reclaim' }); // low since 0 but only 1000 s
    expect(g.shape('k2', 1, 4, { ...ctx, nowS: 1000, usage: NaN })).toMatchObject({ value: 4, hold: 'no_usage' });
    expect(g.shape('k', 1, 4, { ...ctx, nowS: 1500, usage: 3.5 }).value).toBe(4); // back above 75%: timer resets
    expect(g.shape('k', 1, 4, { ...ctx, nowS: 2000, usage: 1 }).value).toBe(4);
    expect(g.shape('k', 1, 4, { ...ctx, nowS: 3800, usage: 1 })).toEqual({ value: 2, reason: 'max step' });
  });

  it('times the low-usage run from its first sample, as the policy does: three 5-minute samples are 15 minutes', () => {
    const g = new SafetyGate({ ...o, reclaimAfterS: 900 });
    // each cycle sees the sample of the 5 minutes before it
    const at = (j: number) => g.shape('k', 2, 4, { ...ctx, nowS: j * 300 + 300, usage: 1, usageS: j * 300 });
    expect(at(0)).toMatchObject({ hold: 'reclaim' });
    expect(at(1)).toMatchObject({ hold: 'reclaim' });
    expect(at(2).value).toBe(2); // its first sample from 0, the third's to 900: 15 minutes low
    // and a change restarts the run, a raise too (its run was against the old value)
    g.committed('k', 1200);
    expect(g.shape('k', 2, 4, { ...ctx, nowS: 1600, usage: 1, usageS: 1300 })).toMatchObject({ hold: 'reclaim' });
  });

  it('does not shrink within the reclamation hysteresis band of src/logic/reclaim.ts', () => {
    const g = new SafetyGate({ ...o, reclaimAfterS: 0 });
    expect(g.shape('k', 3.8, 4, { ...ctx, usage: 1 }).value).toBe(4);
    expect(g.shape('k', 3.5, 4, { ...ctx, usage: 1 }).value).toBe(3.5);
  });

  it('shrinks under the allocation policy\'s reclamation rule: its defaults, and the same settings when configured', () => {
    // the defaults are the policy's (what the backtest replays); src/main.ts gives the recommendations reclaimConfig too
    expect(reclaimConfig(defaultActuatorOptions)).toEqual(DEFAULT_RECLAIM);
    const opts = { ...o, reclaimBelowRatio: 0.6, reclaimAfterS: 1200 };
    const policy = allocationConfig({ reclaim: reclaimConfig(opts) }).reclaim;
    const g = new SafetyGate(opts);
    let low = NaN;
    const seen = new Set<boolean>();
    // 2.6 of 4 is low under the default 75% but not under 60%
    [2.6, 2.6, 2, 2, 2, 2, 2, 2].forEach((usage, i) => {
      const t = i * 300;
      low = trackLowUsage(low, t, usage, 4, policy);
      const policyShrinks = mayReclaim(4, 2.5, low, t, policy);
      expect(g.shape('k', 2.5, 4, { ...ctx, nowS: t, usage }).value < 4).toBe(policyShrinks);
      seen.add(policyShrinks);
    });
    expect([...seen].sort()).toEqual([false, true]);
  });

  it('never shrinks on missing usage', () => {
    const g = new SafetyGate({ ...o, reclaimAfterS: 0 });
    expect(g.shape('k', 1, 4, { ...ctx, usage: NaN }).value).toBe(4);
  });

  it('holds a scale-up on anomalous demand until it has persisted for the confirmation time', () => {
    const g = new SafetyGate(o);
    expect(g.shape('k', 10, 2, { ...ctx, nowS: 0, anomalous: true })).toEqual({ value: 2, reason: 'anomalous demand not yet confirmed', hold: 'anomaly' });
    expect(g.shape('k', 10, 2, { ...ctx, nowS: 600, anomalous: true }).value).toBe(2);
    expect(g.shape('k', 10, 2, { ...ctx, nowS: 900, anomalous: true }).value).toBe(3);
    const never = new SafetyGate({ ...o, anomalyConfirmS: 0 });
    expect(never.shape('k', 10, 2, { ...ctx, nowS: 1e6, anomalous: true }).value).toBe(2);
  });

  it('holds a shrink on anomalous demand until confirmed, and for good with anomalyConfirmS 0', () => {
    const flagged = (nowS: number) => ({ ...ctx, nowS, floor: 0.1, usage: 0.1, anomalous: true });
    const never = new SafetyGate({ ...o, reclaimAfterS: 0, anomalyConfirmS: 0 });
    for (const t of [0, 300, 900, 1e6]) expect(never.shape('k', 0.2, 4, flagged(t))).toEqual({ value: 4, reason: 'anomalous demand not yet confirmed', hold: 'anomaly' });
    const g = new SafetyGate({ ...o, reclaimAfterS: 0 });
    expect(g.shape('k', 0.2, 4, flagged(0)).value).toBe(4);
    expect(g.shape('k', 0.2, 4, flagged(900)).value).toBe(2); // confirmed: reclaimed by one step
  });

  it('holds the targets of a quarantined tenant, not of one an alert-only mode only reports', () => {
    expect(heldAsAnomalous({ anomalous: true, quarantined: true })).toBe(true);
    expect(heldAsAnomalous({ anomalous: true, quarantined: false })).toBe(false); // alert-only
    expect(heldAsAnomalous({ anomalous: true })).toBe(true); // a producer that does not say
    expect(heldAsAnomalous({ anomalous: false })).toBe(false);
    expect(heldAsAnomalous(undefined)).toBe(false);
    // what the gate is told for a VPA's container: held only when quarantined
    const vpa: Vpa = { apiVersion: 'autoscaling.k8s.io/v1', kind: 'VerticalPodAutoscaler', metadata: { name: 'web', namespace: 'shop' }, spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, recommenders: [{ name: 'foresight' }], resourcePolicy: { containerPolicies: [{ containerName: 'app', controlledResources: ['cpu'] }] } } };
    const flagged = (quarantined: boolean) => snapshot(2, 600, [{ ...state({ tenant: 'shop', resource: 'cpu', usage: 1, quantiles: [[3, 3, 3, 3]] }), anomaly: { score: 0.9, kind: 'spike' as const, anomalous: true, quarantined } }]);
    expect(desiredForVpa(vpa, flagged(false), actuatorOptions({})).containers[0].gate.cpu?.anomalous).toBe(false);
    expect(desiredForVpa(vpa, flagged(true), actuatorOptions({})).containers[0].gate.cpu?.anomalous).toBe(true);
  });

  it('raises a flagged tenant to the demand it already has (the recent peak), never to what the forecast adds', () => {
    const g = new SafetyGate(o);
    // a genuine surge flagged at first: usage 6 against 2 in force, the forecast asking for 10
    const surge = (nowS: number) => ({ ...ctx, nowS, floor: 6, usage: 6, anomalous: true });
    expect(g.shape('k', 10, 2, surge(300))).toEqual({ value: 6, reason: 'anomalous demand not yet confirmed: raised to the recent peak only', hold: 'anomaly' });
    g.committed('k', 300);
    expect(g.shape('k', 10, 6, surge(600))).toEqual({ value: 6, reason: 'anomalous demand not yet confirmed', hold: 'anomaly' });
    // an empty change budget holds that raise too, as it holds the floor elsewhere
    const spent = new SafetyGate({ ...o, maxChangesPerHour: 0.01 });
    for (const [t, cur] of [[0, 1], [600, 1.5], [1200, 2], [1800, 3]] as const) {
      spent.shape('s', cur, cur === 1 ? undefined : cur - 0.5, { ...ctx, nowS: t, floor: cur });
      spent.committed('s', t);
    }
    expect(spent.shape('s', 10, 3, { ...surge(2400) }).hold).toBe('budget');
  });

  it('still raises to the recent peak during a cooldown, holding only what the forecast adds', () => {
    const g = new SafetyGate(o);
    expect(g.shape('k', 1.2, 1, { ...ctx, floor: 1 }).value).toBe(1.2);
    g.committed('k', 0);
    expect(g.shape('k', 2, 1.2, { ...ctx, nowS: 120, floor: 3, usage: 3 })).toEqual({ value: 3, reason: 'cooldown, raised to the recent peak', hold: 'cooldown' });
    expect(g.shape('k', 2, 1.2, { ...ctx, nowS: 120, floor: 1, usage: 1 })).toEqual({ value: 1.2, reason: 'cooldown', hold: 'cooldown' });
  });
});

describe('shadow planning', () => {
  const opts = actuatorOptions({ maxPodCpuCores: 2, maxPodMemoryBytes: 4 * GiB, maxShadowCpuCores: 6, maxShadowMemoryBytes: 100 * GiB });
  it('splits each pool reserve over as few pods as the per-pod maximum allows', () => {
    const { pools } = poolReserves([{ pool: 'pool-a', resource: 'cpu', size: 3 }, { pool: 'pool-a', resource: 'memory', size: 2 * GiB }], opts);
    const specs = placeholderSpecs(pools, opts);
    expect(specs.map((s) => [s.name, s.cpu, s.memory])).toEqual([
      ['foresight-shadow-pool-a-0', '1500m', String(GiB)],
      ['foresight-shadow-pool-a-1', '1500m', String(GiB)],
    ]);
  });
  it('reads the placeholders\' node selector, and refuses one that is not key=value label pairs', () => {
    expect(nodeSelector('cloud.google.com/gke-nodepool=default-pool, kubernetes.io/arch=amd64')).toEqual({ 'cloud.google.com/gke-nodepool': 'default-pool', 'kubernetes.io/arch': 'amd64' });
    expect(nodeSelector('')).toEqual({});
    expect(validateActuatorOptions(actuatorOptions({ shadowNodeSelector: 'pool' }))).toEqual([expect.stringMatching(/^actuator.shadowNodeSelector must be key=value\[,key=value\] .*"pool"/)]);
    expect(validateActuatorOptions(actuatorOptions({ shadowNodeSelector: 'a=b c' }))).toHaveLength(1);
  });
  it('scales every pool down together under the total cap', () => {
    const { pools, capped } = poolReserves([{ pool: 'a', resource: 'cpu', size: 8 }, { pool: 'b', resource: 'cpu', size: 4 }], opts);
    expect(capped).toBe(true);
    expect(pools.map((p) => p.cpuCores)).toEqual([4, 2]);
  });
  it('ignores empty and unknown reserves and names pools safely', () => {
    expect(poolReserves([{ pool: 'x', resource: 'cpu', size: 0 }, { pool: 'y', resource: 'gpu', size: 1 }], opts).pools).toEqual([]);
    expect(poolSlug('Pool_A/../x')).toBe('pool-a-x-84322933');
    expect(sameSize({ cpu: '1500m', memory: String(GiB) }, { name: 'n', pool: 'p', cpu: '1550m', memory: String(GiB) }, 0.1)).toBe(true);
    expect(sameSize({ cpu: '1', memory: String(GiB) }, { name: 'n', pool: 'p', cpu: '2', memory: String(GiB) }, 0.1)).toBe(false);
  });
});

describe('a 403 in an operator\'s words', () => {
  const op = { verb: 'create', resource: 'pods', namespace: 'foresight-system', name: 'foresight-shadow-default-0' };
  it.each([
    ['pods "x" is forbidden: User "system:serviceaccount:foresight-system:foresight" cannot create resource "pods" in API group "" in the namespace "foresight-system"', /\(403\): the ServiceAccount lacks this permission: pods "x" is forbidden: User/],
    ['pods "x" is forbidden: exceeded quota: compute, requested: requests.cpu=4, used: requests.cpu=8, limited: requests.cpu=10', /\(403\): a ResourceQuota refused it: .*exceeded quota/],
    ['pods "x" is forbidden: maximum cpu usage per Container is 2, but limit is 4', /\(403\): the namespace's LimitRange refused it: .*per Container is 2/],
    ['pods "x" is forbidden: no PriorityClass with name foresight-shadow was found', /\(403\): the PriorityClass it names is missing: .*foresight-shadow/],
    ['pods "x" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true', /\(403\): Pod Security admission refused it .*: .*violates PodSecurity/],
    ['admission webhook "policy.example.com" denied the request: no', /\(403\): an admission webhook refused it: admission webhook "policy/],
    ['pods "x" is forbidden: node affinity refused', /\(403\): it was refused: pods "x" is forbidden: node affinity/],
  ])('%s', (message, want) => {
    expect(forbidden(op, message).message).toMatch(want);
  });
});

describe('shadow and quotas agree', () => {
  it('reserves at least the quota headroom in the configured pool, keeping the larger plan', () => {
    const o = actuatorOptions({ quotaShadowPool: 'q' });
    const snap = snapshot(1, 0, [], [{ pool: 'q', resource: 'cpu', size: 5 }, { pool: 'other', resource: 'cpu', size: 1 }]);
    const quota = { headroom: { cpu: 3, memory: GiB }, namespaces: 1, created: 0, patched: 0, deleted: 0, planned: 0, unchanged: 1, skipped: 0, failed: 0 };
    expect(withQuotaReserve(snap, quota, o).shadow).toEqual([
      { pool: 'q', resource: 'cpu', size: 5 },
      { pool: 'other', resource: 'cpu', size: 1 },
      { pool: 'q', resource: 'memory', size: GiB },
    ]);
    expect(withQuotaReserve(snap, { ...quota, headroom: { cpu: 8, memory: 0 } }, o).shadow[0].size).toBe(8);
    expect(withQuotaReserve(snap, quota, actuatorOptions({ quotaShadowPool: '' })).shadow).toBe(snap.shadow);
    // By default the quotas' headroom goes to the pool the loop plans ("default").
    expect(withQuotaReserve(snap, quota, actuatorOptions()).shadow).toContainEqual({ pool: 'default', resource: 'cpu', size: 3 });
  });
});

describe('resource knobs', () => {
  it('names the knob of every forecast resource and says plainly where none exists', () => {
    expect(knobFor('cpu').enforcement).toBe('enforced');
    expect(knobFor('cpu_peak').resource).toBe('cpu');
    expect(knobFor('network').knobs.join()).toMatch(/ingress-bandwidth/);
    for (const r of ['disk_io', 'fds', 'threads']) {
      expect(knobFor(r).enforcement).toBe('none');
      expect(knobFor(r).action).toMatch(/No per-tenant Kubernetes knob/);
    }
    expect(knobFor('requests')).toMatchObject({ enforcement: 'none', knobs: [] });
  });
});

describe('journal and options', () => {
  it('writes JSON lines and keeps the newest entries in memory', () => {
    const path = join(tempDir('journal-'), 'actions.jsonl');
    const j = new ActionJournal(path, 2);
    for (let i = 0; i < 3; i++) j.record({ cycle: i, kind: 'vpa', action: 'update-recommendation', target: `ns/v${i}`, dryRun: true, outcome: 'planned' });
    expect(j.list().map((e) => e.cycle)).toEqual([1, 2]);
    expect(j.recorded).toBe(3);
    expect(readFileSync(path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { target: string }).target)).toEqual(['ns/v0', 'ns/v1', 'ns/v2']);
    expect(j.list({ kind: 'placeholder' })).toEqual([]);
  });
  it('defaults to dry-run and validates every field', () => {
    expect(defaultActuatorOptions.dryRun).toBe(true);
    expect(validateActuatorOptions(actuatorOptions())).toEqual([]);
    const bad = validateActuatorOptions(actuatorOptions({ targetQuantile: 1.5, recommenderName: 'Bad Name', leaseDurationS: 1, maxCpuCores: 0 }));
    expect(bad).toHaveLength(4);
    expect(bad.join('\n')).toMatch(/targetQuantile/);
  });
});

describe('quota room for a rollout', () => {
  it('keeps every hard limit a share above what is used, and count/pods at least one pod above', () => {
    expect(withRoom('requests.cpu', 2.4, 0.25)).toBeCloseTo(3, 12);
    expect(withRoom('limits.memory', 8 * GiB, 0.25)).toBe(10 * GiB);
    expect(withRoom('count/pods', 3, 0.25)).toBe(4); // ceil(0.75) = 1
    expect(withRoom('count/pods', 10, 0.25)).toBe(13); // ceil(2.5) = 3
    expect(withRoom('count/pods', 0, 0.25)).toBe(1); // a namespace without pods can start one
    // 0 turns the room off: a quota may fall to what is used
    expect(withRoom('requests.cpu', 2.4, 0)).toBe(2.4);
    expect(withRoom('count/pods', 3, 0)).toBe(3);
    expect(defaultActuatorOptions.quotaSurgeRatio).toBe(0.25);
    expect(validateActuatorOptions(actuatorOptions({ quotaSurgeRatio: -0.1 })).join()).toMatch(/quotaSurgeRatio/);
  });
});
