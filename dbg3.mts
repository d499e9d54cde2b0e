import { Core } from './src/core/wasm.ts';
import { createAnomalyScorer } from './src/loop/anomaly-adapter.ts';
import { gaussian } from './test/helpers/random.ts';
const STEP = 300, T = 100, WARM = 288, DAYS = 10;
const scorer = createAnomalyScorer(new Core(), 'alert-only');
const g = Array.from({ length: T }, (_, t) => [gaussian(2 * t + 1), gaussian(2 * t + 2)]);
const val = (t: number, r: number, i: number) => (r === 0 ? 2 : 4e9) * (1 + 0.3 * Math.sin((2 * Math.PI * i) / 288 + t)) * (1 + 0.05 * g[t][r]());
const inputs = (i: number, n: number, ev?: number) => Array.from({ length: T }, (_, t) => ['cpu', 'memory'].map((resource, r) => ({ key: `t${t}\u0000${resource}`, tenant: `t${t}`, resource, startS: i * STEP, values: Float64Array.from({ length: n }, (_, k) => val(t, r, i + k)), evidenceFrom: ev }))).flat();
scorer.score(inputs(0, WARM, WARM - 1), STEP);
const was = new Map<string, boolean>();
const starts = new Array(DAYS).fill(0), flagged = new Array(DAYS).fill(0);
for (let i = WARM; i < WARM + DAYS * 288; i++) {
  const out = scorer.score(inputs(i, 1), STEP);
  const day = Math.floor((i - WARM) / 288);
  for (const [t, v] of out) {
    if (v.anomalous) flagged[day]++;
    if (v.anomalous && !was.get(t)) starts[day]++;
    was.set(t, v.anomalous);
  }
}
console.log('episode starts by day', starts.join(' '), ' flagged tenant-cycles by day', flagged.join(' '));
