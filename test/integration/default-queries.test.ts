// Every default signal query against a real Prometheus that scrapes the same pods as a cluster often does: cAdvisor,
// the kubelet's /metrics/resource (each container's cpu and memory a second time) and two kube-state-metrics
// replicas scraped without honor_labels, with a node-exporter-like tenant on the host's network. Each tenant's pulled
// value must be what its pods use: a container scraped twice counts once, a pod counts in its own namespace, and a
// host-network pod is not charged the node's traffic. A database tenant reads and writes on two devices (its root disk
// and a volume), and its working set spikes between the query's points: both count whole.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithBinaries } from '../helpers/binaries.js';
import { startPrometheus, type PrometheusInstance } from '../helpers/prometheus.js';
import { WorkloadExporter, type WorkloadTenant } from '../helpers/workload-exporter.js';
import { DEFAULT_SIGNALS } from '../../src/sources/default-signals.js';
import { PrometheusSource } from '../../src/sources/prometheus-source.js';

const MiB = 1024 * 1024;
// Flat demand (no daily shape, no bursts, a Monday at 1x speed): every signal has a constant true value.
const flat = { dailyAmplitude: 0, burstProbability: 0 };
const TENANTS: WorkloadTenant[] = [
  { namespace: 'shop', cpuCores: 0.5, memoryBytes: 256 * MiB, requestsPerS: 20, pods: 2, ...flat },
  { namespace: 'search', cpuCores: 2, memoryBytes: 1024 * MiB, requestsPerS: 50, pods: 4, ...flat },
  { namespace: 'monitoring', cpuCores: 0.1, memoryBytes: 64 * MiB, requestsPerS: 1, pods: 1, hostNetwork: true, ...flat },
  // 3 times its working set for 2 s of every 4 s: a step of 2 s reads the spike at one point in two at best
  { namespace: 'db', cpuCores: 1, memoryBytes: 512 * MiB, requestsPerS: 10, pods: 1, twoDevices: true, memorySpike: { everyS: 4, forS: 2, factor: 3 }, ...flat },
];

/** What each signal of a tenant truly is, from the exporter's model (test/helpers/workload-exporter.ts). */
function truth(t: WorkloadTenant): Record<string, number | undefined> {
  const rps = t.requestsPerS!;
  return {
    cpu: t.cpuCores,
    memory: t.memoryBytes! * (t.memorySpike?.factor ?? 1), // the peak over the window
    pods: t.pods,
    ephemeral_storage: t.pods! * 64 * MiB + 0.25 * t.memoryBytes!, // over both devices
    disk_read: rps * 2 * 16_384,
    disk_write: rps * 0.5 * 8_192,
    // a host-network pod's sandbox reports the node's traffic, which is not the tenant's: no value rather than that
    network_rx: t.hostNetwork ? undefined : rps * 2_048,
    network_tx: t.hostNetwork ? undefined : rps * 8_192,
    threads: t.pods! * Math.round(20 + (rps / t.pods!) * 0.5),
    fds: t.pods! * Math.round(40 + (rps / t.pods!) * 2),
    api_calls: rps,
    file_ops: rps * 2.5,
    db_queries: rps * 3,
  };
}

describeWithBinaries('the default signal queries against a real Prometheus scraping duplicated endpoints', ['prometheus'], (bins) => {
  let exporter: WorkloadExporter;
  let prom: PrometheusInstance;

  beforeAll(async () => {
    exporter = new WorkloadExporter({ speed: 1, tenants: TENANTS, kubeStateMetricsApart: true });
    await exporter.start();
    prom = await startPrometheus({
      binary: bins.prometheus,
      scrapeIntervalS: 1,
      targets: [
        { job: 'kubelet-cadvisor', address: exporter.address },
        { job: 'kubelet-resource', address: exporter.address, metricsPath: '/metrics/resource' },
        // two kube-state-metrics replicas scraped without honor_labels, as a hand-written pod scrape job does: the
        // target's namespace (where kube-state-metrics runs) wins, and each pod's arrives as exported_namespace
        { job: 'kube-state-metrics-a', address: exporter.address, metricsPath: '/metrics/kube-state-metrics', labels: { namespace: 'kube-system', pod: 'kube-state-metrics-0' } },
        { job: 'kube-state-metrics-b', address: `localhost:${exporter.port}`, metricsPath: '/metrics/kube-state-metrics', labels: { namespace: 'monitoring', pod: 'kube-state-metrics-1' } },
      ],
    });
    await prom.waitForTargetsUp();
    // every job really does expose the duplicates the queries must see through
    await prom.waitFor('count(container_memory_working_set_bytes{namespace="shop",container="app"}) == 4 and count(kube_pod_status_phase{exported_namespace="shop",phase="Running"}) == 4', (r) => r.length > 0, 20_000);
    await new Promise((r) => setTimeout(r, 6_000)); // rate() over 4 s windows needs a few scrapes
  }, 60_000);

  afterAll(async () => {
    await prom?.destroy();
    await exporter?.stop();
  });

  it('gives each tenant what its pods use, signal by signal', async () => {
    const src = new PrometheusSource({ url: prom.url, signals: DEFAULT_SIGNALS, tenantLabel: 'namespace', rateWindow: '4s', timeoutMs: 10_000 });
    const endS = Math.floor(Date.now() / 1000) - 1;
    const pulled = await src.pull({ startS: endS - 4, endS, stepS: 2 });
    const got = new Map(pulled.set.series.map((s) => [`${s.tenant}/${s.resource}`, s.values.filter(Number.isFinite).at(-1)]));
    const rows: string[] = [];
    for (const t of TENANTS) {
      for (const [signal, want] of Object.entries(truth(t))) {
        const v = got.get(`${t.namespace}/${signal}`);
        const ok = want === undefined ? v === undefined : v !== undefined && Math.abs(v - want) <= 0.05 * want;
        if (!ok) rows.push(`${t.namespace} ${signal}: got ${v}, want ${want}`);
      }
    }
    expect(rows).toEqual([]);
    expect(pulled.coverage?.find((c) => c.resource === 'cpu')?.tenants).toBe(TENANTS.length);
  }, 30_000);

  it('splits usage by container and workload once, with each workload\'s pods counted once', async () => {
    const src = new PrometheusSource({ url: prom.url, signals: DEFAULT_SIGNALS, tenantLabel: 'namespace', rateWindow: '4s', timeoutMs: 10_000 });
    const split = await src.usageSplit(['cpu', 'memory'], Math.floor(Date.now() / 1000));
    const search = split.get('memory')?.workloads.get('search');
    expect(search?.app).toMatchObject({ share: 1, pods: 4 });
    expect(split.get('cpu')?.containers.get('search')).toEqual({ app: 1 });
  });
});
