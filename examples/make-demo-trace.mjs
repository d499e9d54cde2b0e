// Regenerates examples/demo-trace.csv.gz from the canonical Google 2011 jobs trace (see examples/README.md):
//   node examples/make-demo-trace.mjs ../shared/traces/canonical/google2011-jobs97.csv.gz
// Six jobs renamed like namespaces; CPU % scaled to cores (100 % = 8 cores), memory % to bytes (100 % = 32 GiB).
import { createReadStream, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip, gzipSync } from 'node:zlib';

const JOBS = {
  job_3418442: 'checkout',
  job_4047566818: 'search',
  job_4754140301: 'payments',
  job_4771700777: 'recommendations',
  job_5045115512: 'batch-etl',
  job_5850685286: 'auth',
};
const CPU_CORES_AT_100 = 8;
const MEM_BYTES_AT_100 = 32 * 2 ** 30;

const src = process.argv[2] ?? '../shared/traces/canonical/google2011-jobs97.csv.gz';
const out = ['timestamp,tenant,resource,value'];
const lines = createInterface({ input: createReadStream(src).pipe(createGunzip()) });
let first = true;
for await (const line of lines) {
  if (first) { first = false; continue; }
  const [t, job, res, v] = line.split(',');
  const ns = JOBS[job];
  if (!ns) continue;
  let value = '';
  if (v !== '') value = res === 'cpu' ? (Number(v) / 100 * CPU_CORES_AT_100).toFixed(4) : String(Math.round(Number(v) / 100 * MEM_BYTES_AT_100));
  out.push(`${t},${ns},${res},${value}`);
}
writeFileSync(new URL('./demo-trace.csv.gz', import.meta.url), gzipSync(out.join('\n') + '\n', { level: 9 }));
writeFileSync(new URL('./demo-trace.meta.json', import.meta.url), JSON.stringify({
  source: 'google2011-jobs97 (Google cluster-data 2011 via HiPro-IT), six jobs, see examples/README.md',
  license: 'CC BY 4.0 (Google cluster-data): https://creativecommons.org/licenses/by/4.0/',
  interval_s: 300,
  timestamp: 'seconds from trace start',
  units: { cpu: `cores (job CPU % x ${CPU_CORES_AT_100}/100)`, memory: `bytes (job memory % x 32 GiB/100)` },
  description: '6 Google 2011 jobs renamed like namespaces, CPU and memory, 10 days at 5 min',
  rows: out.length - 1,
  tenants: Object.keys(JOBS).length,
  resources: ['cpu', 'memory'],
}, null, 2) + '\n');
console.log(`wrote ${out.length - 1} rows`);
