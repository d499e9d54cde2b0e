// `npm run bench`: runs every benchmark in turn (each prints JSON) and prints one JSON object keyed by benchmark.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const benches = ['core', 'backtest', 'sidecar', 'nab', 'memory-breakdown', 'pull-memory', 'shard-pooling', 'anomaly-weekly', 'anomaly-calibration', 'anomaly-ramps', 'soak'];
const results: Record<string, unknown> = {};
for (const name of benches) {
  const file = new URL(`./${name}.ts`, import.meta.url);
  if (!existsSync(file)) {
    results[name] = { error: `bench/${name}.ts missing` };
    continue;
  }
  console.error(`bench: ${name} ...`);
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', file.pathname, ...process.argv.slice(2)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 256 * 1024 * 1024,
  });
  const seconds = (Date.now() - started) / 1000;
  try {
    results[name] = { seconds, exitCode: run.status, result: JSON.parse(run.stdout) };
  } catch {
    results[name] = { seconds, exitCode: run.status, error: 'output was not JSON', output: run.stdout.slice(0, 2000) };
  }
}
console.log(JSON.stringify(results, null, 2));
