import { ResidentDetectors } from './src/core/anomaly.ts';
import { sharedCore } from './src/core/wasm.ts';
import { gaussian } from './test/helpers/random.ts';
for (const warm of [288, 2016]) {
  const d = new ResidentDetectors(sharedCore(), 288);
  const days = 12, N = warm + days * 288;
  const rates: number[][] = Array.from({ length: days }, () => [0, 0, 0]);
  const S = 200;
  for (let k = 0; k < S; k++) {
    const g = gaussian(k + 1);
    const v = Float64Array.from({ length: N }, (_, i) => 10 * (1 + 0.3 * Math.sin((2 * Math.PI * i) / 288)) + 0.3 * g());
    const r = d.score([`s${warm}-${k}`], [v])[0];
    for (let i = warm; i < N; i++) {
      const day = Math.floor((i - warm) / 288);
      rates[day][0]++;
      if (r.likelihood[i] >= 0.999) rates[day][1]++;
      if (r.likelihood[i] >= 0.99) rates[day][2]++;
    }
  }
  console.log('warm', warm, rates.map(([n, a, b]) => `${(100 * a / n).toFixed(3)}%/${(100 * b / n).toFixed(2)}%`).join(' '));
}
