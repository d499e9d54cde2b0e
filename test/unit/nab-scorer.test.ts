// The NAB scorer reproduces NAB's published scores from the detector outputs NAB ships, and NAB's rules on small cases.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NAB_PROFILES, readNabCorpus, readProfiles, readResultScores, type NabFile } from '../../bench/nab/corpus.js';
import { tracesDir } from '../helpers/paths.js';
import { optimiseThreshold, prepareRuns, rawScoresByFile, scaledSigmoid, scoreDetector } from '../../bench/nab/scorer.js';

const NAB = `${tracesDir('nab')}/`;
const haveNab = existsSync(`${NAB}results/final_results.json`);
if (!haveNab) console.warn(`nab-scorer: ${NAB} not found, skipping the reproduction of NAB's scoreboard`);

function synthetic(n: number, windows: Array<[number, number]>): NabFile {
  const timesMs = new Float64Array(n).map((_, i) => i * 300_000);
  return { name: 'synthetic/s.csv', category: 'synthetic', stamps: [], timesMs, values: new Float64Array(n), windows };
}

describe('NAB scaled sigmoid', () => {
  it('matches the worked values of NAB sweeper.py', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.84828, 5);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(1)).toBeCloseTo(-0.98661, 5);
    expect(scaledSigmoid(3.01)).toBe(-1);
  });
});

describe('NAB sweep on a synthetic file', () => {
  // Eight rows, one window over rows 2..4, no probation: the expected score is written from NAB's definitions with
  // S(y) = -tanh(2.5 y) (identical to 2 sigmoid(-5 y) - 1), independently of the implementation.
  const cost = { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 };
  const curve = (x: number) => -Math.tanh(2.5 * x);
  const cases = [[], [0], [2], [3], [4], [5], [7], [2, 3, 4], [0, 2, 7]];
  for (const active of cases) {
    it(`scores detections at rows [${active.join(',')}] as NAB does`, () => {
      const scores = new Float64Array(8).map((_, i) => (active.includes(i) ? 1 : 0));
      const runs = prepareRuns([synthetic(8, [[2, 4]])], [scores], 0);
      let expected = -1;
      for (const i of active) if (i >= 2 && i <= 4) expected = Math.max(expected, curve(-(5 - i) / 3) / curve(-1));
      for (const i of active) {
        if (i < 2) expected -= 0.11;
        else if (i > 4) expected += 0.11 * curve((i - 4) / 2);
      }
      const raw = rawScoresByFile(runs, cost, 0.5)[0];
      expect(raw).toBeCloseTo(expected, 12);
    });
  }

  it('ignores detections inside the probationary period', () => {
    // 100 rows: probation is floor(0.15 * 100) = 15 rows; a detection at row 3 costs nothing.
    const scores = new Float64Array(100);
    scores[3] = 1;
    const runs = prepareRuns([synthetic(100, [[50, 59]])], [scores]);
    expect(rawScoresByFile(runs, cost, 0.5)[0]).toBe(-1);
    scores[20] = 1;
    const runs2 = prepareRuns([synthetic(100, [[50, 59]])], [scores]);
    expect(rawScoresByFile(runs2, cost, 0.5)[0]).toBeCloseTo(-1.11, 12);
  });

  it('picks the threshold that maximises the corpus score', () => {
    const scores = new Float64Array(100);
    scores[55] = 0.9; // inside the window: a late but positive detection
    scores[30] = 0.95; // false positive before the window, above it
    const res = optimiseThreshold(prepareRuns([synthetic(100, [[50, 59]])], [scores]), cost);
    expect(res.threshold).toBe(0.9);
    expect(res.raw).toBeCloseTo(-0.11 + curve(-(60 - 55) / 10) / curve(-1), 12);
    expect(res.tp).toBe(1);
    expect(res.fp).toBe(1);
  });
});

describe.runIf(haveNab)('NAB scorer against the published scoreboard', () => {
  const published = JSON.parse(readFileSync(`${NAB}results/final_results.json`, 'utf8')) as Record<string, Record<string, number>>;
  const corpus = readNabCorpus(NAB);
  const profiles = readProfiles(`${NAB}config/profiles.json`);

  it('reads the 58 files and 116 windows of NAB v1.1 and its three profiles', () => {
    expect(corpus.files).toHaveLength(58);
    expect(corpus.windowCount).toBe(116);
    expect(profiles).toEqual(NAB_PROFILES);
  });

  for (const detector of ['numenta', 'windowedGaussian', 'ARTime', 'null']) {
    it(`reproduces ${detector} within 0.5 points on all three profiles`, () => {
      const scores = corpus.files.map((f) => readResultScores(`${NAB}results`, detector, f));
      const res = scoreDetector(corpus.files, scores, profiles).profiles;
      for (const profile of ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']) {
        expect(Math.abs(res[profile].score - published[detector][profile]), `${detector} ${profile}`).toBeLessThan(0.5);
      }
    });
  }

  it("gives numenta's published raw score at NAB's published low-FP threshold (config/thresholds.json)", () => {
    // NAB's optimiser stopped at 0.5751955 for this profile; the exhaustive sweep finds a slightly better threshold,
    // so this pins the per-row rules at NAB's own threshold.
    const thresholds = JSON.parse(readFileSync(`${NAB}config/thresholds.json`, 'utf8')) as Record<
      string,
      Record<string, { score: number; threshold: number }>
    >;
    const scores = corpus.files.map((f) => readResultScores(`${NAB}results`, 'numenta', f));
    const runs = prepareRuns(corpus.files, scores);
    for (const profile of ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']) {
      const t = thresholds.numenta[profile];
      const raw = rawScoresByFile(runs, profiles[profile], t.threshold).reduce((a, b) => a + b, 0);
      expect(raw, profile).toBeCloseTo(t.score, 6);
    }
  });
});
