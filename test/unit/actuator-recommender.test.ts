// The VPA recommender's cycles on an in-memory API: resourcePolicy after the gate, conditions, missing data, NaN bounds.
import { describe, expect, it } from 'vitest';
import { actuatorOptions, type ActuatorOptions } from '../../src/actuator/config.js';
import { ActionJournal } from '../../src/actuator/journal.js';
import type { KubeApi } from '../../src/actuator/kube-api.js';
import { silentLog } from '../../src/actuator/log.js';
import { noopActuatorMetrics, type ActuatorMetrics } from '../../src/actuator/metrics.js';
import { parseQuantity } from '../../src/actuator/quantity.js';
import { SafetyGate } from '../../src/actuator/safety.js';
import { VpaRecommender } from '../../src/actuator/vpa-recommender.js';
import type { ContainerResourcePolicy, RecommendedContainerResources, Vpa } from '../../src/actuator/vpa-types.js';
import type { ResourceState } from '../../src/model/snapshot.js';
import { snapshot, state } from '../helpers/kube-snapshot.js';
import { VpaServer } from '../helpers/vpa-server.js';

const GiB = 2 ** 30;

function setup(policy: ContainerResourcePolicy | ContainerResourcePolicy[] = { containerName: 'app' }, over: Partial<ActuatorOptions> = {}, metrics: ActuatorMetrics = noopActuatorMetrics) {
  const server = new VpaServer();
  server.put({
    metadata: { name: 'web', namespace: 'team-a' },
    spec: { recommenders: [{ name: 'foresight' }], resourcePolicy: { containerPolicies: Array.isArray(policy) ? policy : [policy] } },
  });
  const opts = actuatorOptions({ dryRun: false, ...over });
  const journal = new ActionJournal();
  const rec = new VpaRecommender(server as unknown as KubeApi, opts, new SafetyGate(opts), journal, metrics, silentLog);
  const vpa = (): Vpa => server.vpas.get('team-a/web')!;
  const recs = (): RecommendedContainerResources[] => vpa().status?.recommendation?.containerRecommendations ?? [];
  const setPolicy = (p: ContainerResourcePolicy): void => {
    const v = vpa();
    v.spec.resourcePolicy = { containerPolicies: [p] };
    server.put(v);
  };
  return { server, rec, journal, vpa, recs, setPolicy, opts };
}

const cpu = (usage: number, q: number[], more: Partial<Parameters<typeof state>[0]> = {}): ResourceState => state({ tenant: 'team-a', resource: 'cpu', usage, quantiles: [q], ...more });
const cores = (r: RecommendedContainerResources, k: 'target' | 'lowerBound' | 'upperBound'): number => parseQuantity(r[k]!.cpu);

describe('VPA recommender: resourcePolicy after the safety gate', () => {
  it('writes a lowered maxAllowed at once, though reclamation would hold the value in force', async () => {
    const { rec, recs, setPolicy } = setup({ containerName: 'app', controlledResources: ['cpu'] });
    await rec.reconcile(snapshot(1, 0, [cpu(3.5, [3, 4, 4, 4])]));
    expect(cores(recs()[0], 'target')).toBe(4);
    setPolicy({ containerName: 'app', controlledResources: ['cpu'], maxAllowed: { cpu: '1' } });
    // usage 3.5 of 4 is not low: the gate holds 4 (reclamation), yet maxAllowed is 1
    const r = await rec.reconcile(snapshot(2, 10_000, [cpu(3.5, [3, 4, 4, 4])]));
    expect(r.written).toBe(1);
    const c = recs()[0];
    expect([cores(c, 'lowerBound'), cores(c, 'target'), cores(c, 'upperBound')]).toEqual([1, 1, 1]);
  });

  it('writes a raised minAllowed beyond the maximum step while the gate holds the value (cooldown, unconfirmed anomaly)', async () => {
    const { rec, recs, setPolicy } = setup({ containerName: 'app', controlledResources: ['cpu'] });
    await rec.reconcile(snapshot(1, 0, [cpu(0.5, [0.5, 1, 1, 1])]));
    await rec.reconcile(snapshot(2, 1000, [cpu(0.5, [0.5, 2, 2, 2])])); // 1 -> 1.5 (max step): cooldown from t=1000
    expect(cores(recs()[0], 'target')).toBe(1.5);
    setPolicy({ containerName: 'app', controlledResources: ['cpu'], minAllowed: { cpu: '4' }, maxAllowed: { cpu: '8' } });
    // flagged demand: the gate holds 1.5 outright (not even the recent peak), yet minAllowed is 4
    await rec.reconcile(snapshot(3, 1100, [cpu(0.5, [0.5, 2, 2, 2], { anomalous: true })]));
    const c = recs()[0];
    expect(cores(c, 'target')).toBe(4);
    expect(cores(c, 'lowerBound')).toBe(4);
    expect(cores(c, 'upperBound')).toBeGreaterThanOrEqual(4);
    expect(cores(c, 'upperBound')).toBeLessThanOrEqual(8);
  });
});

describe('VPA recommender: the demand of this time of day', () => {
  it('writes a forecast raise beyond the maximum step up to what the same hour held before, and no further', async () => {
    const targets = async (recurringPeak?: number): Promise<number> => {
      const { rec, recs } = setup({ containerName: 'app', controlledResources: ['cpu'] });
      await rec.reconcile(snapshot(1, 0, [cpu(0.5, [0.5, 1, 1, 1])]));
      // a daily batch job: the forecast asks for 8 cores; yesterday's same half hour peaked at recurringPeak
      await rec.reconcile(snapshot(2, 1000, [cpu(0.5, [4, 8, 8, 8], recurringPeak === undefined ? {} : { recurringPeak })]));
      return cores(recs()[0], 'target');
    };
    expect(await targets()).toBe(1.5); // the step limit alone: +50%
    expect(await targets(10)).toBe(8);
    expect(await targets(6)).toBe(6);
  });
});

describe('VPA recommender: the change budget', () => {
  it('holds the fourth raise within the hour, to the recent peak too, and counts the hold by reason', async () => {
    const held: string[] = [];
    const { rec, recs } = setup({ containerName: 'app', controlledResources: ['cpu'] }, {}, { ...noopActuatorMetrics, held: (kind, reason) => held.push(`${kind}:${reason}`) });
    // a first value, then three raises 5 minutes apart (the bucket of 3), then usage above the value in force
    const targets: number[] = [];
    for (let c = 0; c < 5; c++) {
      const q = [1, 1.2, 1.4, 1.6, 1.8][c];
      await rec.reconcile(snapshot(c + 1, c * 300, [cpu(c === 4 ? 3 : 0.5, [q, q, q, q])]));
      targets.push(cores(recs()[0], 'target'));
    }
    expect(targets.map((t) => Math.round(t * 1000) / 1000)).toEqual([1, 1.2, 1.4, 1.6, 1.6]);
    // the fifth wanted at least the recent peak (3 cores): the budget keeps 1.6 for now
    expect(held).toEqual(['vpa:budget']);
  });
});

describe('VPA recommender: the write tolerance per resource', () => {
  it('keeps a decrease within the tolerance out of a write that another resource causes', async () => {
    // no hysteresis (a shrink of any size may pass the gate once usage is low): the default band (10%) is wider than
    // the tolerance (5%), so that only a larger shrink ever passes
    const { rec, recs } = setup({ containerName: 'app' }, { reclaimAfterS: 0, reclaimHysteresis: 0 });
    const mem = (q: number, recentPeak: number) => state({ tenant: 'team-a', resource: 'memory', usage: GiB, recentPeak, quantiles: [[q, q, q, q]] });
    await rec.reconcile(snapshot(1, 0, [cpu(1, [2, 2, 2, 2]), mem(4 * GiB, GiB)]));
    const memBefore = recs()[0].target.memory;
    expect(parseQuantity(memBefore!)).toBe(4 * GiB);
    // memory may shrink (usage low), the recent peak lifts it to 2% below the value in force: within the 5% tolerance,
    // which alone is not written; cpu rises (always written) at the same time
    expect(await rec.reconcile(snapshot(2, 300, [cpu(1, [3, 3, 3, 3]), mem(2 * GiB, 0.98 * 4 * GiB)]))).toMatchObject({ written: 1 });
    expect(cores(recs()[0], 'target')).toBe(3);
    expect(recs()[0].target.memory).toBe(memBefore);
  });
});

describe('VPA recommender: conditions', () => {
  it('clears LowConfidence once the history is long enough, though the recommendation stays within the tolerance', async () => {
    const { server, rec, vpa, journal } = setup();
    const snap = (cycle: number, t: number, historyPoints: number) => snapshot(cycle, t, [cpu(1, [1, 2, 2.5, 3], { historyPoints })]);
    const low = () => vpa().status!.conditions!.find((c) => c.type === 'LowConfidence')!.status;
    await rec.reconcile(snap(1, 1000, 100));
    expect(low()).toBe('True');
    expect(await rec.reconcile(snap(2, 2000, 5000))).toMatchObject({ written: 1, unchanged: 0 });
    expect(low()).toBe('False');
    expect(journal.list().at(-1)!.reason).toMatch(/LowConfidence: True -> False/);
    // and nothing more to write while neither moves
    const patches = server.patches;
    expect(await rec.reconcile(snap(3, 3000, 5001))).toMatchObject({ written: 0, unchanged: 1 });
    expect(server.patches).toBe(patches);
  });

  it('in dry-run plans a condition flip once, against what it planned', async () => {
    const { rec } = setup({ containerName: 'app' }, { dryRun: true });
    const snap = (cycle: number, t: number, historyPoints: number) => snapshot(cycle, t, [cpu(1, [1, 2, 2.5, 3], { historyPoints })]);
    expect(await rec.reconcile(snap(1, 1000, 100))).toMatchObject({ planned: 1 });
    expect(await rec.reconcile(snap(2, 2000, 100))).toMatchObject({ planned: 0, unchanged: 1 });
    expect(await rec.reconcile(snap(3, 3000, 5000))).toMatchObject({ planned: 1 });
    expect(await rec.reconcile(snap(4, 4000, 5000))).toMatchObject({ planned: 0, unchanged: 1 });
  });
});

describe('VPA recommender: missing data', () => {
  const mem = state({ tenant: 'team-a', resource: 'memory', usage: 3 * GiB, quantiles: [[3 * GiB, 4 * GiB, 4 * GiB, 5 * GiB]] });

  it('keeps a resource\'s recommendation unchanged while its series is missing from the snapshot', async () => {
    const { rec, recs } = setup();
    await rec.reconcile(snapshot(1, 0, [cpu(1, [1, 2, 2.5, 3]), mem]));
    const before = structuredClone(recs());
    expect(before[0].target.memory).toBeDefined();
    await rec.reconcile(snapshot(2, 60, [cpu(1, [1, 2, 2.5, 3])]));
    expect(recs()).toEqual(before);
    // cpu still moves while memory is missing, and memory stays as it was
    await rec.reconcile(snapshot(3, 1000, [cpu(2, [2, 4, 4.5, 5])]));
    expect(cores(recs()[0], 'target')).toBeGreaterThan(2);
    for (const k of ['target', 'lowerBound', 'upperBound', 'uncappedTarget'] as const) expect(recs()[0][k]!.memory).toBe(before[0][k]!.memory);
  });

  it('keeps a container\'s recommendation while its usage series is missing, and drops what resourcePolicy excludes', async () => {
    const { rec, recs, setPolicy } = setup({ containerName: '*' });
    const split = (app: number, sidecar?: number): ResourceState[] => [
      cpu(app + (sidecar ?? 0), [2, 4, 4, 4]),
      cpu(app, [0, 0, 0, 0], { tenant: 'team-a/app' }),
      ...(sidecar === undefined ? [] : [cpu(sidecar, [0, 0, 0, 0], { tenant: 'team-a/sidecar' })]),
    ];
    await rec.reconcile(snapshot(1, 0, split(1, 1)));
    expect(recs().map((c) => [c.containerName, c.target.cpu])).toEqual([['app', '2'], ['sidecar', '2']]);
    const sidecar = structuredClone(recs()[1]);
    await rec.reconcile(snapshot(2, 1000, split(2)));
    expect(recs().map((c) => c.containerName)).toEqual(['app', 'sidecar']);
    expect(recs()[1]).toEqual(sidecar);
    // the VPA now leaves cpu uncontrolled: nothing of it is Foresight's to keep
    setPolicy({ containerName: '*', controlledResources: ['memory'] });
    const memSplit = ['app', 'sidecar'].map((c) => state({ tenant: `team-a/${c}`, resource: 'memory', usage: GiB, quantiles: [[0, 0, 0, 0]] }));
    expect(await rec.reconcile(snapshot(3, 2000, [...split(2), mem, ...memSplit]))).toMatchObject({ written: 1 });
    expect(recs().map((c) => c.containerName)).toEqual(['app', 'sidecar']);
    expect(recs().every((c) => c.target.cpu === undefined)).toBe(true);
  });
});

describe('VPA recommender: forecast-quantile bounds', () => {
  it('leaves out a bound whose quantiles are not finite instead of writing NaN', async () => {
    const { rec, recs } = setup();
    const nanLow = state({ tenant: 'team-a', resource: 'memory', usage: GiB, quantiles: [[NaN, 2 * GiB, 2 * GiB, 3 * GiB]] });
    const nanTop = state({ tenant: 'team-a', resource: 'cpu', usage: 1, quantiles: [[1, 2, 2, 3], [1, 2, 2, NaN], [1, 2, 2, 3]] });
    await rec.reconcile(snapshot(1, 0, [nanLow, nanTop]));
    const c = recs()[0];
    expect(JSON.stringify(c)).not.toMatch(/NaN/);
    expect(c.lowerBound!.memory).toBeUndefined();
    expect(parseQuantity(c.target.memory)).toBe(2 * GiB);
    expect(cores(c, 'upperBound')).toBe(3); // the finite horizons still give the cpu upper bound
  });
});

describe('VPA recommender: a VPA it cannot serve', () => {
  it('says why once, not every cycle, says when it serves the VPA again, and journals how a pod\'s share was found', async () => {
    const server = new VpaServer();
    // in place: the recommendation follows the forecast (an evicting update mode would hold the larger one of the day)
    server.put({ metadata: { name: 'web', namespace: 'team-a' }, spec: { recommenders: [{ name: 'foresight' }], resourcePolicy: { containerPolicies: [{ containerName: 'app' }] }, updatePolicy: { updateMode: 'InPlaceOrRecreate' } } });
    const opts = actuatorOptions({ dryRun: false });
    const said: Array<{ level: string; msg?: string }> = [];
    const log = { info: (_o: object, msg?: string) => void said.push({ level: 'info', msg }), warn: (_o: object, msg?: string) => void said.push({ level: 'warn', msg }), error: (_o: object, msg?: string) => void said.push({ level: 'error', msg }) };
    const journal = new ActionJournal();
    const rec = new VpaRecommender(server as unknown as KubeApi, opts, new SafetyGate(opts), journal, noopActuatorMetrics, log);
    // three cycles without a pod count for the tenant: skipped each time, warned once
    for (let c = 1; c <= 3; c++) expect((await rec.reconcile(snapshot(c, c * 300, [cpu(1, [1, 2, 2, 2])], [], false, false))).skipped).toBe(1);
    expect(said.filter((s) => s.level === 'warn' && /VPA skipped/.test(s.msg ?? ''))).toHaveLength(1);
    // the pod count arrives: served, and said so once; the journal says how one pod's share was found
    expect((await rec.reconcile(snapshot(4, 1200, [cpu(1, [1, 2, 2, 2])]))).written).toBe(1);
    expect(journal.list().at(-1)!.reason).toMatch(/cpu: tenant team-a over its 1 pod running/);
    const byWorkload = { ...snapshot(6, 1800, [cpu(1, [1, 4, 4, 4])]), workloadUsage: new Map([['cpu', new Map([['team-a', { web: { share: 0.5, pods: 2, containers: { app: 1 } } }]])]]) };
    server.vpas.get('team-a/web')!.spec.targetRef = { kind: 'Deployment', name: 'web' };
    await rec.reconcile(snapshot(5, 1500, [cpu(1, [1, 2, 2, 2])]));
    expect(said.filter((s) => s.msg === 'VPA served again')).toHaveLength(1);
    await rec.reconcile(byWorkload);
    expect(journal.list().at(-1)!.reason).toMatch(/cpu: workload web, 50% of tenant team-a, over 2 pods/);
  });
});

describe('VPA recommender: a VPA whose update mode evicts pods keeps the last day\'s largest recommendation', () => {
  /** A day of demand at 2 cores, then low demand (1.4) for 26 hours, a cycle every 10 minutes: the written targets. */
  async function lowDay(updateMode: string | undefined, over: Partial<ActuatorOptions> = {}, low = 1.4) {
    const { server, rec, recs, journal } = setup({ containerName: 'app', controlledResources: ['cpu'] }, over);
    const v = server.vpas.get('team-a/web')!;
    v.spec.updatePolicy = updateMode ? { updateMode } : undefined;
    server.put(v);
    await rec.reconcile(snapshot(1, 0, [cpu(1.8, [1.5, 2, 2, 2])]));
    const targets: Array<[number, number]> = [[0, cores(recs()[0], 'target')]];
    for (let i = 1; i <= 26 * 6; i++) {
      await rec.reconcile(snapshot(i + 1, i * 600, [cpu(1, [1.2, low, low, low])]));
      const t = Math.round(cores(recs()[0], 'target') * 1000) / 1000; // quantities in millicores
      if (t !== targets.at(-1)![1]) targets.push([i * 600, t]);
    }
    return { targets, recs, journal };
  }

  it('InPlaceOrRecreate follows the forecast down within the hour (the updater resizes in place)', async () => {
    const { targets } = await lowDay('InPlaceOrRecreate');
    expect(targets[0]).toEqual([0, 2]);
    expect(targets.at(-1)![1]).toBe(1.4);
    expect(targets.at(-1)![0]).toBeLessThanOrEqual(3600);
  });

  it.each([undefined, 'Auto', 'Recreate', 'Initial'])('updateMode %s holds 2 cores for a day, then lowers once', async (mode) => {
    const { targets, recs } = await lowDay(mode);
    // one change, after the window: the updater would otherwise evict every pod as the forecast falls and rises
    expect(targets).toHaveLength(2);
    expect(targets[1][0]).toBeGreaterThanOrEqual(86_400);
    expect(targets[1][1]).toBe(1.4);
    // bounds of the window too: a pod sized at 1.4 is inside [lowerBound, upperBound]
    expect(cores(recs()[0], 'lowerBound')).toBeLessThanOrEqual(1.4);
    expect(cores(recs()[0], 'upperBound')).toBeGreaterThanOrEqual(1.4);
  });

  it('writes no decrease under the updater\'s own 10% minimum change (which would add up to one that evicts)', async () => {
    // 2 -> 1.86 is 7%: beyond the tolerance (5%) and a reclamation hysteresis of 2%, so an in-place VPA follows; an
    // evicting one keeps 2 after the window too
    const lax = { reclaimHysteresis: 0.02 };
    expect((await lowDay('InPlaceOrRecreate', lax, 1.86)).targets.at(-1)![1]).toBe(1.86);
    expect((await lowDay('Recreate', lax, 1.86)).targets).toEqual([[0, 2]]);
  });

  it('raises at once above the window, says why it holds in the journal, and follows the forecast with the window off', async () => {
    const { server, rec, recs, journal } = setup({ containerName: 'app' });
    await rec.reconcile(snapshot(1, 0, [cpu(1.8, [1.5, 2, 2, 2])]));
    await rec.reconcile(snapshot(2, 600, [cpu(2.9, [2.5, 3, 3, 3])]));
    expect(cores(recs()[0], 'target')).toBe(3);
    // low demand long enough for the gate to let the target shrink (reclamation), which the window holds
    for (let t = 1200; t < 7200; t += 600) await rec.reconcile(snapshot(t / 600 + 1, t, [cpu(1, [1.2, 1.4, 1.4, 1.4])]));
    expect(cores(recs()[0], 'target')).toBe(3);
    expect(server.patches).toBe(2);
    // a new memory series makes a write, whose journal entry says why cpu stays at 3 although the forecast says 1.4
    await rec.reconcile(snapshot(13, 7200, [cpu(1, [1.2, 1.4, 1.4, 1.4]), state({ tenant: 'team-a', resource: 'memory', usage: GiB, quantiles: [[GiB, GiB, GiB, GiB]] })]));
    expect(cores(recs()[0], 'target')).toBe(3);
    expect(journal.list().at(-1)!.reason).toMatch(/app\/cpu: .*held at the last 24 h's largest \(updateMode Auto evicts pods to apply a change\)/);
    expect(server.patches).toBe(3);
    const off = await lowDay(undefined, { stableWindowS: 0 });
    expect(off.targets.at(-1)).toEqual([expect.any(Number), 1.4]);
    expect(off.targets.at(-1)![0]).toBeLessThanOrEqual(3600);
  });

  it('after a restart, does not shrink below the recommendation in force before a window asked for less', async () => {
    // a gate that would shrink at once (no reclamation delay, no step limit): only the window keeps 3
    const { server, rec, recs } = setup({ containerName: 'app', controlledResources: ['cpu'] }, { reclaimAfterS: 0, maxStepRatio: 10, cooldownS: 0 });
    const v = server.vpas.get('team-a/web')!;
    v.status = { recommendation: { containerRecommendations: [{ containerName: 'app', target: { cpu: '3' }, lowerBound: { cpu: '2' }, upperBound: { cpu: '4' } }] } };
    server.put(v);
    await rec.reconcile(snapshot(1, 100_000, [cpu(1, [1.2, 1.4, 1.4, 1.4])]));
    expect(cores(recs()[0], 'target')).toBe(3);
    await rec.reconcile(snapshot(2, 100_000 + 90_000, [cpu(1, [1.2, 1.4, 1.4, 1.4])]));
    expect(cores(recs()[0], 'target')).toBeLessThan(3);
  });

  it('clamps what the window held into a resourcePolicy narrowed since', async () => {
    const { rec, recs, setPolicy } = setup({ containerName: 'app', controlledResources: ['cpu'] });
    await rec.reconcile(snapshot(1, 0, [cpu(2.9, [2.5, 3, 3, 3])]));
    setPolicy({ containerName: 'app', controlledResources: ['cpu'], maxAllowed: { cpu: '2' } });
    await rec.reconcile(snapshot(2, 600, [cpu(1, [1.2, 1.4, 1.4, 1.4])]));
    const c = recs()[0];
    expect([cores(c, 'target'), cores(c, 'upperBound')]).toEqual([2, 2]);
  });
});
