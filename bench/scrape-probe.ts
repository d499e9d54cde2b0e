// A Prometheus-like scraper for bench/sidecar.ts, run in its own process: `connections` loops of back-to-back GETs of
// one URL, each body read to the end but not decoded (as Prometheus reads a gzip scrape), latency from request to last
// byte. Prints JSON: requests, p50/p99/max in ms, bytes per request, and the responses that were not 2xx or failed
// (counted apart, never in the latencies: a fast 503 is not a scrape).
//   node --import tsx bench/scrape-probe.ts URL SECONDS CONNECTIONS [ENCODING]
import http from 'node:http';

const [url, secondsArg, connArg, encoding = 'gzip'] = process.argv.slice(2);
const until = performance.now() + Number(secondsArg) * 1000;
const agent = new http.Agent({ keepAlive: true });
const times: number[] = [];
let bytes = 0;
let non2xx = 0;
let errors = 0;

function scrape(): Promise<void> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { 'accept-encoding': encoding } }, (res) => {
        const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
        res.on('data', (c: Buffer) => {
          if (ok) bytes += c.length;
        });
        res.on('end', () => {
          if (ok) times.push(performance.now() - t0);
          else non2xx++;
          resolve();
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function worker(): Promise<void> {
  while (performance.now() < until) {
    try {
      await scrape();
    } catch {
      errors++;
    }
  }
}

await Promise.all(Array.from({ length: Number(connArg) }, worker));
agent.destroy();
times.sort((a, b) => a - b);
const at = (p: number) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? NaN);
console.log(JSON.stringify({ requests: times.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: Math.round(times.at(-1) ?? NaN), bytesPerRequest: Math.round(bytes / Math.max(1, times.length)), non2xx, errors }));
