// `foresight backtest --prometheus`: pulls a range from a real Prometheus (scraping a cAdvisor-shaped exporter) and
// writes the three files, one series per namespace.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithBinaries } from '../helpers/binaries.js';
import { startPrometheus, type PrometheusInstance } from '../helpers/prometheus.js';
import { WorkloadExporter } from '../helpers/workload-exporter.js';
import { tempDir } from '../helpers/temp.js';

const root = resolve(import.meta.dirname, '../..');

describeWithBinaries('backtest from a real Prometheus range', ['prometheus'], (bins) => {
  let prom: PrometheusInstance;
  let exporter: WorkloadExporter;

  beforeAll(async () => {
    exporter = new WorkloadExporter({ speed: 1440, tenants: ['shop', 'payments'].map((namespace, i) => ({ namespace, cpuCores: 0.5 * (i + 1), requestsPerS: 5, burstProbability: 0 })) });
    await exporter.start();
    prom = await startPrometheus({ binary: bins.prometheus, scrapeIntervalS: 1, targets: [{ job: 'workload', address: exporter.address }] });
    await prom.waitForTargetsUp();
    await new Promise((r) => setTimeout(r, 25_000));
  }, 90_000);

  afterAll(async () => {
    await prom?.destroy();
    await exporter?.stop();
  });

  it('writes allocations, summary and report for every namespace of the query', () => {
    const out = join(tempDir('bt-prom-'), 'out');
    const query = 'sum by (namespace) (rate(container_cpu_usage_seconds_total{container!=""}[4s]))';
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/cli.ts'), 'backtest', '--prometheus', prom.url, '--query', query, '--range', '20s', '--step', '1s', '--lead', '1s', '--resource', 'cpu', '--policies', 'vpa,persistence,static,oracle', '--out', out, '--json', '--quiet'],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['allocations.csv.gz', 'report.html', 'summary.json']);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { tenants: number; interval_s: number; trace: string; policies: Record<string, unknown> };
    expect(summary.tenants).toBe(2);
    expect(summary.interval_s).toBe(1);
    expect(summary.trace).toContain(query.slice(0, 20));
    expect(Object.keys(summary.policies).sort()).toEqual(['oracle', 'persistence', 'static', 'vpa']);
  }, 90_000);
});
