// The VPA decaying histogram against values worked out by hand from the VPA definition (histogram_options.go,
// histogram.go, decaying_histogram.go in k8s.io/autoscaler vertical-pod-autoscaler/pkg/recommender/util).
import { describe, expect, it } from 'vitest';
import { DecayingHistograms, VPA_CPU_HISTOGRAM, VPA_MEMORY_HISTOGRAM } from '../../src/core/histogram.js';
import { Core } from '../../src/core/wasm.js';

const core = new Core('debug');
const DAY = 86_400;
const T0 = 1_700_006_400; // a multiple of a day since Go's zero time (and since the Unix epoch)

describe('DecayingHistograms (VPA semantics)', () => {
  it('has the number of buckets NewExponentialHistogramOptions gives for the VPA defaults', () => {
    // ceil(log_1.05(1000 * 0.05 / 0.01 + 1)) + 1 = ceil(ln 5001 / ln 1.05) + 1 = ceil(174.57) + 1 = 176
    expect(new DecayingHistograms(VPA_CPU_HISTOGRAM, core).numBuckets).toBe(176);
    // memory: 1e12 * 0.05 / 1e7 + 1 = 5001 as well
    expect(new DecayingHistograms(VPA_MEMORY_HISTOGRAM, core).numBuckets).toBe(176);
    // recent VPA CPU first bucket 0.001: ceil(ln 50001 / ln 1.05) + 1 = ceil(221.76) + 1 = 223
    expect(new DecayingHistograms({ ...VPA_CPU_HISTOGRAM, firstBucket: 0.001 }, core).numBuckets).toBe(223);
  });

  it('puts bucket boundaries at first * (1.05^n - 1) / 0.05', () => {
    const h = new DecayingHistograms(VPA_CPU_HISTOGRAM, core);
    expect(h.bucketStart(0)).toBe(0);
    expect(h.bucketStart(1)).toBeCloseTo(0.01, 12);
    expect(h.bucketStart(2)).toBeCloseTo(0.0205, 12);
    expect(h.bucketStart(3)).toBeCloseTo(0.031525, 12);
  });

  it('returns the end of the bucket holding the percentile', () => {
    const h = new DecayingHistograms(VPA_CPU_HISTOGRAM, core);
    // 0.02 is in bucket 1 = [0.01, 0.0205): every percentile is that bucket's end, 0.0205
    h.add('a', 0.02, T0);
    expect(h.percentile('a', 0.5)).toBeCloseTo(0.0205, 12);
    expect(h.percentile('a', 1)).toBeCloseTo(0.0205, 12);
    // add 0.005 (bucket 0 = [0, 0.01)) with weight 3: cumulative 3 of 4 covers p <= 0.75 -> end of bucket 0 = 0.01
    h.add('a', 0.005, T0, 3);
    expect(h.percentile('a', 0.5)).toBeCloseTo(0.01, 12);
    expect(h.percentile('a', 0.75)).toBeCloseTo(0.01, 12);
    expect(h.percentile('a', 0.76)).toBeCloseTo(0.0205, 12);
  });

  it('gives a sample one half-life newer twice the weight', () => {
    const h = new DecayingHistograms(VPA_CPU_HISTOGRAM, core);
    // 0.005 at T0 (weight 1 * 2^0), then 0.02 one day later (weight 1 * 2^1): total 3, bucket 0 holds 1/3
    h.add('b', 0.005, T0);
    h.add('b', 0.02, T0 + DAY);
    expect(h.totalWeight('b')).toBeCloseTo(3, 12);
    expect(h.percentile('b', 0.33)).toBeCloseTo(0.01, 12);
    expect(h.percentile('b', 0.34)).toBeCloseTo(0.0205, 12);
  });

  it('shifts the reference time after 100 half-lives without changing percentiles', () => {
    const h = new DecayingHistograms(VPA_CPU_HISTOGRAM, core);
    h.add('c', 0.005, T0);
    h.add('c', 0.02, T0 + 101 * DAY); // would need 2^101: reference moves to T0 + 101 d, old weight 2^-101
    const s = h.state('c')!;
    expect(s[0]).toBe(T0 + 101 * DAY);
    // bucket 0 weight 2^-101 < epsilon: empty; minBucket moved to bucket 1
    expect(s[2]).toBe(1);
    expect(h.percentile('c', 0.01)).toBeCloseTo(0.0205, 12);
  });

  it('clamps values above maxValue into the last bucket and returns its start', () => {
    const h = new DecayingHistograms(VPA_CPU_HISTOGRAM, core);
    h.add('d', 5e6, T0);
    expect(h.percentile('d', 0.5)).toBeCloseTo(h.bucketStart(175), 9);
    expect(h.percentile('d', 0.5)).toBeGreaterThanOrEqual(1000);
  });

  it('returns 0 for an empty or unknown histogram', () => {
    const h = new DecayingHistograms(VPA_MEMORY_HISTOGRAM, core);
    expect(h.percentile('none', 0.9)).toBe(0);
    h.add('e', NaN, T0);
    expect(h.lastStatus).toBe('non-finite');
    expect(h.percentile('e', 0.9)).toBe(0);
  });

  it('skips bad samples with a status and never aborts', () => {
    const h = new DecayingHistograms(VPA_MEMORY_HISTOGRAM, core);
    expect(h.addMany([
      { key: 'f', value: Infinity, timeS: T0 },
      { key: 'f', value: 2e7, timeS: NaN },
      { key: 'f', value: 2e7, timeS: T0, weight: -1 },
    ])).toBe('non-finite');
    expect(h.add('f', -5, T0)).toBe('negative');
    // the negative sample sits in bucket 0 = [0, 1e7): percentile = 1e7
    expect(h.percentile('f', 0.5)).toBeCloseTo(1e7, 3);
    expect(core.restarts).toBe(0);
  });

  it('handles many histograms in one call', () => {
    const h = new DecayingHistograms(VPA_MEMORY_HISTOGRAM, core);
    const samples = [];
    for (let i = 0; i < 50; i++) for (let j = 0; j < 20; j++) samples.push({ key: `k${i}`, value: (i + 1) * 1e8, timeS: T0 + j * 60 });
    expect(h.addMany(samples)).toBe('ok');
    const out = h.percentiles(['k0', 'k49'], [0.5, 0.95]);
    // 1e8 lies in bucket floor(log_1.05(1e8*0.05/1e7 + 1)) = floor(log_1.05 1.5) = 8; its end = start of bucket 9
    expect(out[0]).toBeCloseTo(h.bucketStart(9), 3);
    expect(out[2]).toBeGreaterThanOrEqual(5e9);
    expect(out[2]).toBeLessThan(5e9 * 1.05);
  });
});
