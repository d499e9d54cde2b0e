// Peak memory and time of the first pull (a week at 5 minutes) of one signal for every tenant, through the real
// PrometheusSource (prometheus-query over HTTP), with the default sample budget per request and without one, against a
// local server that answers /api/v1/query_range like Prometheus for N tenants. Each pull runs in its own process, so
// its peak RSS is its own; the sharded row keeps one of six shards' tenants. JSON on stdout.
//   node --import tsx bench/pull-memory.ts [--tenants 2000] [--budgets 500000,100000000] [--total-shards 6]
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ownsTenant } from '../src/model/shard.js';
import { MAX_SAMPLES_PER_REQUEST } from '../src/sources/prometheus-range.js';
import { PrometheusSource } from '../src/sources/prometheus-source.js';

const STEP = 300;
const WEEK = 2016;
const START = 1_704_067_200;
const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};

async function child(url: string, budget: number, total: number): Promise<void> {
  const shard = { index: 0, total };
  const src = new PrometheusSource({
    url,
    signals: [{ resource: 'cpu', unit: 'cores', query: 'usage{{filter}}' }],
    tenantLabel: 'namespace',
    rateWindow: '5m',
    timeoutMs: 600_000,
    maxSamplesPerRequest: budget,
    keepTenant: total > 1 ? (t) => ownsTenant(shard, t) : undefined,
  });
  const t0 = performance.now();
  const r = await src.pull({ startS: START, endS: START + (WEEK - 1) * STEP, stepS: STEP });
  const seconds = (performance.now() - t0) / 1000;
  let samples = 0;
  for (const s of r.set.series) for (const v of s.values) if (!Number.isNaN(v)) samples++;
  console.log(JSON.stringify({ seriesKept: r.set.series.length, samplesKept: samples, seconds: Math.round(seconds * 100) / 100, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) }));
}

/** Prometheus' query_range answer for `tenants` series, written tenant by tenant (never one string for all). */
function serve(tenants: number) {
  let requests = 0;
  let maxSamples = 0;
  const server = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const c of req) body += c;
    const u = new URL(req.url ?? '/', 'http://x');
    const p = req.method === 'POST' ? new URLSearchParams(body) : u.searchParams;
    const start = Number(p.get('start')), end = Number(p.get('end')), step = Number(p.get('step'));
    requests++;
    const points = Math.floor((end - start) / step) + 1;
    maxSamples = Math.max(maxSamples, points * tenants);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"status":"success","data":{"resultType":"matrix","result":[');
    for (let i = 0; i < tenants; i++) {
      const vals: string[] = [];
      for (let k = 0; k < points; k++) {
        const t = start + k * step;
        vals.push(`[${t},"${((i % 97) + ((t % 86_400) / 86_400)).toFixed(4)}"]`);
      }
      const ok = res.write(`${i ? ',' : ''}{"metric":{"namespace":"tenant-${String(i).padStart(5, '0')}"},"values":[${vals.join(',')}]}`);
      if (!ok) await new Promise((r) => res.once('drain', r));
    }
    res.end(']}}');
  });
  return {
    server,
    take: () => {
      const out = { requests, maxSamplesPerResponse: maxSamples };
      requests = 0;
      maxSamples = 0;
      return out;
    },
  };
}

function run(url: string, budget: number, total: number): Promise<Record<string, number>> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', self, '--child', url, String(budget), String(total)], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout) as Record<string, number>);
    });
  });
}

async function main(): Promise<void> {
  if (args[0] === '--child') return child(args[1], Number(args[2]), Number(args[3]));
  const tenants = Number(opt('tenants', '2000'));
  const budgets = opt('budgets', `${MAX_SAMPLES_PER_REQUEST},100000000`).split(',').map(Number);
  const total = Number(opt('total-shards', '6'));
  const { server, take } = serve(tenants);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const rows: unknown[] = [];
  try {
    for (const budget of budgets) {
      for (const shards of total > 1 ? [1, total] : [1]) {
        console.error(`pull-memory: ${tenants} tenants, budget ${budget}, ${shards === 1 ? 'unsharded' : `shard 0 of ${shards}`} ...`);
        // a pull that fails (a response too large to hold) is a result too: its error is reported
        const r = await run(url, budget, shards).catch((e: Error) => ({ error: e.message.split('\n').find((l) => /FATAL ERROR|Error:/.test(l)) ?? e.message.slice(0, 300) }));
        rows.push({ maxSamplesPerRequest: budget, shards, ...r, ...take() });
      }
    }
  } finally {
    server.close();
  }
  console.log(JSON.stringify({ bench: 'pull-memory', node: process.version, tenants, pointsPerSeries: WEEK, rows }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
