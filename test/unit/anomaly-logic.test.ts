// Tenant anomaly policy: aggregation, kind, hysteresis and the three modes.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ANOMALY_POLICY,
  decideTenantAnomaly,
  validateAnomalyPolicy,
  type AnomalyMemory,
  type AnomalyPolicy,
  type SignalAnomaly,
} from '../../src/logic/anomaly.js';

const quiet: SignalAnomaly[] = [
  { signal: 'cpu', score: 0.1, likelihood: 0.5, kind: 'none' },
  { signal: 'memory', score: 0.05, likelihood: 0.3, kind: 'none' },
];
const spiking: SignalAnomaly[] = [
  { signal: 'cpu', score: 0.95, likelihood: 0.99999, kind: 'spike' },
  { signal: 'memory', score: 0.1, likelihood: 0.4, kind: 'none' },
];
const policy = (mode: AnomalyPolicy['mode'], more: Partial<AnomalyPolicy> = {}): AnomalyPolicy => ({ ...DEFAULT_ANOMALY_POLICY, mode, ...more });

describe('decideTenantAnomaly', () => {
  it('leaves a quiet tenant alone in every mode', () => {
    for (const mode of ['off', 'alert-only', 'quarantine'] as const) {
      const d = decideTenantAnomaly(quiet, policy(mode));
      expect(d.state).toEqual({ score: 0.1, kind: 'none', anomalous: false });
      expect(d.quarantined).toBe(false);
      expect(d.excludeFromTraining).toBe(false);
    }
  });

  it('flags a spiking tenant with the kind of the strongest signal', () => {
    const d = decideTenantAnomaly(spiking, policy('alert-only'));
    expect(d.state).toEqual({ score: 0.95, kind: 'spike', anomalous: true });
    expect(d.signal).toBe('cpu');
    expect(d.alert).toBe(true);
  });

  it('quarantines and excludes from training only in quarantine mode', () => {
    expect(decideTenantAnomaly(spiking, policy('alert-only')).quarantined).toBe(false);
    expect(decideTenantAnomaly(spiking, policy('alert-only')).excludeFromTraining).toBe(false);
    const q = decideTenantAnomaly(spiking, policy('quarantine'));
    expect(q.quarantined).toBe(true);
    expect(q.excludeFromTraining).toBe(true);
  });

  it('flags a ramp but does not quarantine it; quarantine follows the other evidence with its own hold', () => {
    const ramping: SignalAnomaly[] = [
      { signal: 'cpu', score: 0.1, likelihood: 0.4, kind: 'none' },
      { signal: 'memory', score: 0.2, likelihood: 0.999999, kind: 'ramp' },
    ];
    const q = policy('quarantine');
    const r = decideTenantAnomaly(ramping, q);
    expect(r.state).toMatchObject({ anomalous: true, kind: 'ramp' });
    expect(r.quarantined).toBe(false);
    expect(r.excludeFromTraining).toBe(false);
    // a spike during the ramp quarantines, and its hold outlasts the spike as the alert's does
    const both = decideTenantAnomaly([{ ...spiking[0] }, ramping[1]], q, r.memory);
    expect(both.quarantined).toBe(true);
    let m = both.memory;
    for (let i = 0; i < q.holdCycles; i++) {
      const d = decideTenantAnomaly(ramping, q, m);
      expect(d.quarantined).toBe(true);
      m = d.memory;
    }
    const after = decideTenantAnomaly(ramping, q, m);
    expect(after.state.anomalous).toBe(true);
    expect(after.quarantined).toBe(false);
  });

  it('never flags in off mode', () => {
    const d = decideTenantAnomaly(spiking, policy('off'));
    expect(d.state.anomalous).toBe(false);
    expect(d.alert).toBe(false);
    expect(d.quarantined).toBe(false);
  });

  it('Bonferroni-corrects the tenant likelihood by the number of signals', () => {
    // p = 1 - 0.9995 = 5e-4 on one of two signals: the tenant p is 1e-3, exactly at a 0.999 entry threshold.
    const two: SignalAnomaly[] = [
      { signal: 'cpu', score: 0.9, likelihood: 0.9995, kind: 'spike' },
      { signal: 'memory', score: 0.1, likelihood: 0.1, kind: 'none' },
    ];
    expect(decideTenantAnomaly(two, policy('alert-only')).likelihood).toBeCloseTo(0.999, 12);
    const five = [...two, ...['a', 'b', 'c'].map((signal) => ({ signal, score: 0, likelihood: 0, kind: 'none' as const }))];
    expect(decideTenantAnomaly(two, policy('alert-only', { enterLikelihood: 0.999 })).state.anomalous).toBe(true);
    const d = decideTenantAnomaly(five, policy('alert-only', { enterLikelihood: 0.999 }));
    expect(d.likelihood).toBeCloseTo(0.9975, 12);
    expect(d.state.anomalous).toBe(false);
  });

  it('stays anomalous through the hold period, then recovers', () => {
    const p = policy('quarantine', { holdCycles: 2 });
    let mem: AnomalyMemory | undefined = decideTenantAnomaly(spiking, p).memory;
    const seen: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const d = decideTenantAnomaly(quiet, p, mem);
      seen.push(d.quarantined);
      mem = d.memory;
    }
    expect(seen).toEqual([true, true, false, false]);
  });

  it('keeps the episode anomalous while the likelihood sits between the exit and entry thresholds', () => {
    const p = policy('alert-only', { holdCycles: 0 });
    const mem = decideTenantAnomaly(spiking, p).memory;
    const between = [{ signal: 'cpu', score: 0.6, likelihood: 0.995, kind: 'spike' as const }];
    const d = decideTenantAnomaly(between, p, mem);
    expect(d.state.anomalous).toBe(true);
    expect(decideTenantAnomaly(quiet, p, d.memory).state.anomalous).toBe(false);
  });

  it('keeps the kind that opened the episode', () => {
    const p = policy('alert-only');
    const shift = [{ signal: 'cpu', score: 0.9, likelihood: 0.99999, kind: 'level-shift' as const }];
    const mem = decideTenantAnomaly(shift, p).memory;
    expect(decideTenantAnomaly(spiking, p, mem).state.kind).toBe('level-shift');
  });

  it('prefers behaviour change over spike at equal likelihood', () => {
    const tie: SignalAnomaly[] = [
      { signal: 'cpu', score: 0.9, likelihood: 0.99999, kind: 'spike' },
      { signal: 'behaviour', score: 0.8, likelihood: 0.99999, kind: 'behaviour-change' },
    ];
    const d = decideTenantAnomaly(tie, policy('alert-only'));
    expect(d.state.kind).toBe('behaviour-change');
    expect(d.signal).toBe('behaviour');
  });

  it('ignores non-finite signals and never returns NaN', () => {
    const bad: SignalAnomaly[] = [
      { signal: 'cpu', score: NaN, likelihood: 0.99999, kind: 'spike' },
      { signal: 'memory', score: Infinity, likelihood: Infinity, kind: 'spike' },
    ];
    const d = decideTenantAnomaly(bad, policy('quarantine'));
    expect(d.state).toEqual({ score: 0, kind: 'none', anomalous: false });
    expect(d.likelihood).toBe(0);
    const none = decideTenantAnomaly([], policy('quarantine'));
    expect(none.state.anomalous).toBe(false);
    expect(Number.isNaN(none.state.score)).toBe(false);
  });

  it('clamps scores outside [0, 1]', () => {
    const d = decideTenantAnomaly([{ signal: 'cpu', score: 7, likelihood: 1.5, kind: 'spike' }], policy('alert-only'));
    expect(d.state.score).toBe(1);
    expect(d.likelihood).toBe(1);
  });
});

describe('validateAnomalyPolicy', () => {
  it('accepts the defaults', () => {
    expect(validateAnomalyPolicy(DEFAULT_ANOMALY_POLICY)).toEqual([]);
  });
  it('lists every problem of a bad policy', () => {
    const problems = validateAnomalyPolicy({ mode: 'loud' as never, enterLikelihood: 1, exitLikelihood: 2, holdCycles: -1, weekAgo: 'yes' as never });
    expect(problems).toHaveLength(5);
  });
});
