// A test exporter emitting cAdvisor-shaped container metrics and kube-state-metrics-shaped pod phases (plus an HTTP
// request counter and a DB query counter) for several tenants (namespaces) with daily/weekly patterns and bursts on an
// accelerated clock.
//
// Levels are real units per real second (cores, bytes, bytes/s, ops/s, requests/s): only the *phase* of the daily and
// weekly shapes runs faster, so `rate(counter[...])` in Prometheus returns the pattern's value directly.
import { createServer, type Server } from 'node:http';

export interface WorkloadTenant {
  /** Namespace name (may be hostile: it is escaped in the exposition). */
  namespace: string;
  /** Mean CPU, cores (default 0.5). */
  cpuCores?: number;
  /** Mean working set, bytes (default 256 MiB). */
  memoryBytes?: number;
  /** Mean HTTP requests per second (default 20). */
  requestsPerS?: number;
  /** Relative amplitude of the daily shape in [0, 1) (default 0.5). */
  dailyAmplitude?: number;
  /** Phase of the daily peak as a fraction of the day (default 0.5 = midday). */
  peakAt?: number;
  /** Probability that a 10-simulated-minute slot is a burst (default 0.05). */
  burstProbability?: number;
  /** Multiplier during a burst (default 2.5). */
  burstFactor?: number;
  /** Pods in the namespace (default 2). */
  pods?: number;
  /** Pods on the host's network (a node-exporter, a CNI agent): their sandbox's network series report the node's
   *  interfaces, whose traffic is not theirs (default false). */
  hostNetwork?: boolean;
  /** Each pod's filesystem I/O and usage on two devices, a quarter on its root disk (/dev/vda) and the rest on a
   *  volume (/dev/vdb), as a database with a persistent volume has (default false: one device). */
  twoDevices?: boolean;
  /** The working set rises to `factor` times its level for the first `forS` of every `everyS` real seconds: a
   *  spike between two points of a coarse query step (default none). */
  memorySpike?: { everyS: number; forS: number; factor: number };
}

/** The node's own traffic, bytes per second each way, that a host-network pod's sandbox reports. */
export const NODE_TRAFFIC_BPS = 50_000_000;

export interface WorkloadExporterOptions {
  tenants: WorkloadTenant[];
  /** Simulated seconds per real second (default 600: a day in 144 s). */
  speed?: number;
  /** Simulated UNIX time at start (default: a Monday 00:00 UTC). */
  simStartS?: number;
  port?: number;
  host?: string;
  /** Real clock in ms (tests may inject one). */
  now?: () => number;
  /** kube-state-metrics' series only on /metrics/kube-state-metrics, not on /metrics as well (default false). */
  kubeStateMetricsApart?: boolean;
}

interface PodState {
  pod: string;
  cpu: number;
  fsReadB: number;
  fsWriteB: number;
  fsReads: number;
  fsWrites: number;
  rxB: number;
  txB: number;
  requests: Map<string, number>;
  queries: Map<string, number>;
}

interface TenantState {
  cfg: Required<WorkloadTenant>;
  pods: PodState[];
}

const ROUTES: Array<{ method: string; route: string; share: number }> = [
  { method: 'GET', route: '/api/items', share: 0.55 },
  { method: 'GET', route: '/api/items/:id', share: 0.25 },
  { method: 'POST', route: '/api/orders', share: 0.15 },
  { method: 'DELETE', route: '/api/items/:id', share: 0.05 },
];
const QUERY_OPS: Array<{ op: string; share: number }> = [
  { op: 'select', share: 0.8 },
  { op: 'insert', share: 0.15 },
  { op: 'update', share: 0.05 },
];

const POD_PHASES = ['Pending', 'Succeeded', 'Failed', 'Unknown', 'Running'] as const;

/** A stable UUID-shaped uid for a pod name (kube-state-metrics labels pods with their uid). */
function podUid(pod: string): string {
  const hex = Array.from({ length: 4 }, (_, i) => (Math.floor(hash01(pod, i) * 4294967296) >>> 0).toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** 2024-01-01 (a Monday) 00:00 UTC. */
const MONDAY_S = 1_704_067_200;

/** Deterministic hash of a string and an integer to [0, 1). */
function hash01(s: string, n: number): number {
  let h = 2166136261 ^ n;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  h = Math.imul(h ^ (h >>> 15), 2246822507);
  h = Math.imul(h ^ (h >>> 13), 3266489909);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** Escapes a label value for the Prometheus text format. */
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function withDefaults(t: WorkloadTenant): Required<WorkloadTenant> {
  return {
    namespace: t.namespace,
    cpuCores: t.cpuCores ?? 0.5,
    memoryBytes: t.memoryBytes ?? 256 * 1024 * 1024,
    requestsPerS: t.requestsPerS ?? 20,
    dailyAmplitude: t.dailyAmplitude ?? 0.5,
    peakAt: t.peakAt ?? 0.5,
    burstProbability: t.burstProbability ?? 0.05,
    burstFactor: t.burstFactor ?? 2.5,
    pods: t.pods ?? 2,
    hostNetwork: t.hostNetwork ?? false,
    twoDevices: t.twoDevices ?? false,
    memorySpike: t.memorySpike ?? { everyS: 1, forS: 0, factor: 1 },
  };
}

function newPod(pod: string): PodState {
  return { pod, cpu: 0, fsReadB: 0, fsWriteB: 0, fsReads: 0, fsWrites: 0, rxB: 0, txB: 0, requests: new Map(), queries: new Map() };
}

/** The exporter. `start()` listens; `url` and `address` tell Prometheus where to scrape. */
export class WorkloadExporter {
  readonly speed: number;
  readonly simStartS: number;
  #now: () => number;
  #t0: number;
  #last: number;
  #tenants = new Map<string, TenantState>();
  #server?: Server;
  #port: number;
  #host: string;
  scrapes = 0;
  readonly #ksmApart: boolean;

  constructor(opts: WorkloadExporterOptions) {
    this.speed = opts.speed ?? 600;
    this.simStartS = opts.simStartS ?? MONDAY_S;
    this.#now = opts.now ?? Date.now;
    this.#t0 = this.#now();
    this.#last = this.#t0;
    this.#port = opts.port ?? 0;
    this.#host = opts.host ?? '127.0.0.1';
    this.#ksmApart = opts.kubeStateMetricsApart ?? false;
    for (const t of opts.tenants) this.addTenant(t);
  }

  /** Simulated UNIX seconds now. */
  simNowS(): number {
    return this.simStartS + ((this.#now() - this.#t0) / 1000) * this.speed;
  }

  /** Demand multiplier of a tenant at simulated time `simS`: daily shape x weekday factor x burst. */
  factor(namespace: string, simS: number): number {
    const st = this.#tenants.get(namespace);
    if (!st) return 0;
    const c = st.cfg;
    const dayFrac = (((simS % 86_400) + 86_400) % 86_400) / 86_400;
    const daily = 1 + c.dailyAmplitude * Math.cos(2 * Math.PI * (dayFrac - c.peakAt));
    const weekday = Math.floor(((simS - MONDAY_S) % 604_800) / 86_400);
    const weekly = weekday >= 5 ? 0.6 : 1;
    const slot = Math.floor(simS / 600);
    const burst = hash01(namespace, slot) < c.burstProbability ? c.burstFactor : 1;
    return Math.max(0, daily * weekly * burst);
  }

  /** Expected CPU of a tenant (sum over pods), cores, at simulated time `simS`. */
  expectedCpuCores(namespace: string, simS: number): number {
    const st = this.#tenants.get(namespace);
    return st ? st.cfg.cpuCores * this.factor(namespace, simS) : 0;
  }

  addTenant(t: WorkloadTenant): void {
    const cfg = withDefaults(t);
    const pods: PodState[] = [];
    for (let i = 0; i < cfg.pods; i++) pods.push(newPod(`${cfg.namespace.replace(/[^a-z0-9-]/gi, 'x').slice(0, 40)}-app-${i}`));
    this.#tenants.set(cfg.namespace, { cfg, pods });
  }

  /** Makes a tenant vanish (its series stop being exposed and go stale in Prometheus). */
  removeTenant(namespace: string): void {
    this.#tenants.delete(namespace);
  }

  /** Simulates container restarts in a tenant: every counter drops back to zero. */
  resetCounters(namespace: string): void {
    const st = this.#tenants.get(namespace);
    if (st) st.pods = st.pods.map((p) => newPod(p.pod));
  }

  get tenants(): string[] {
    return [...this.#tenants.keys()];
  }

  /** Integrates counters from the last update to now in steps of at most 1 real second. */
  #advance(): void {
    const now = this.#now();
    let t = this.#last;
    while (t < now) {
      const dtMs = Math.min(1000, now - t);
      const mid = t + dtMs / 2;
      const simS = this.simStartS + ((mid - this.#t0) / 1000) * this.speed;
      const dt = dtMs / 1000;
      for (const [ns, st] of this.#tenants) {
        const f = this.factor(ns, simS);
        const n = st.pods.length;
        for (const p of st.pods) {
          const c = st.cfg;
          p.cpu += ((c.cpuCores * f) / n) * dt;
          const rps = (c.requestsPerS * f) / n;
          for (const r of ROUTES) {
            const k = `${r.method} ${r.route}`;
            p.requests.set(k, (p.requests.get(k) ?? 0) + rps * r.share * dt);
          }
          const qps = rps * 3;
          for (const q of QUERY_OPS) p.queries.set(q.op, (p.queries.get(q.op) ?? 0) + qps * q.share * dt);
          p.fsReads += rps * 2 * dt;
          p.fsWrites += rps * 0.5 * dt;
          p.fsReadB += rps * 2 * 16_384 * dt;
          p.fsWriteB += rps * 0.5 * 8_192 * dt;
          p.rxB += rps * 2_048 * dt;
          p.txB += rps * 8_192 * dt;
        }
      }
      t += dtMs;
    }
    this.#last = now;
  }

  /** The exposition (Prometheus text format 0.0.4). */
  render(): string {
    this.#advance();
    const simS = this.simNowS();
    const out: string[] = [];
    const fam = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    const each = this.#eachPod;
    fam('container_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed in seconds.');
    each((_ns, _st, p, l) => {
      out.push(`container_cpu_usage_seconds_total{${l},container="app",cpu="total"} ${p.cpu}`);
      // cAdvisor also reports the pod cgroup (container="") which a correct query must exclude.
      out.push(`container_cpu_usage_seconds_total{${l},container="",cpu="total"} ${p.cpu * 1.02}`);
    });
    fam('container_memory_working_set_bytes', 'gauge', 'Current working set in bytes.');
    each((ns, st, p, l) => {
      const mem = this.#podMemory(ns, st, simS);
      out.push(`container_memory_working_set_bytes{${l},container="app"} ${Math.round(mem)}`);
      out.push(`container_memory_working_set_bytes{${l},container=""} ${Math.round(mem * 1.05)}`);
    });
    fam('container_fs_usage_bytes', 'gauge', 'Number of bytes that are consumed by the container on this filesystem.');
    each((ns, st, _p, l) => {
      // Writable layer plus logs: a base that follows demand more gently than memory does.
      const f = this.factor(ns, simS);
      const fsB = (64 * 1024 * 1024 + (0.25 * st.cfg.memoryBytes) / st.pods.length) * (0.8 + 0.2 * Math.min(f, 2));
      for (const [d, v] of WorkloadExporter.#devices(st, '/dev/vda1', fsB)) out.push(`container_fs_usage_bytes{${l},container="app",device="${d}"} ${Math.round(v)}`);
      // The pause container's few KiB, which a correct query must exclude.
      out.push(`container_fs_usage_bytes{${l},container="POD",device="/dev/vda1"} 40960`);
    });
    const counters: Array<[string, string, (p: PodState) => number]> = [
      ['container_fs_reads_bytes_total', 'Cumulative count of bytes read', (p) => p.fsReadB],
      ['container_fs_writes_bytes_total', 'Cumulative count of bytes written', (p) => p.fsWriteB],
      ['container_fs_reads_total', 'Cumulative count of reads completed', (p) => p.fsReads],
      ['container_fs_writes_total', 'Cumulative count of writes completed', (p) => p.fsWrites],
    ];
    for (const [name, help, get] of counters) {
      fam(name, 'counter', help);
      each((_ns, st, p, l) => {
        for (const [d, v] of WorkloadExporter.#devices(st, '/dev/vda', get(p))) out.push(`${name}{${l},container="app",device="${d}"} ${v}`);
      });
    }
    const net: Array<[string, string, (p: PodState) => number]> = [
      ['container_network_receive_bytes_total', 'Cumulative count of bytes received', (p) => p.rxB],
      ['container_network_transmit_bytes_total', 'Cumulative count of bytes transmitted', (p) => p.txB],
    ];
    const nodeB = (NODE_TRAFFIC_BPS * (this.#last - this.#t0)) / 1000;
    for (const [name, help, get] of net) {
      fam(name, 'counter', help);
      each((_ns, st, p, l) => out.push(`${name}{${l},container="",interface="eth0"} ${st.cfg.hostNetwork ? nodeB : get(p)}`));
    }
    fam('container_threads', 'gauge', 'Number of threads running inside the container.');
    each((ns, st, _p, l) => {
      const f = this.factor(ns, simS);
      out.push(`container_threads{${l},container="app"} ${Math.round(20 + (st.cfg.requestsPerS / st.pods.length) * f * 0.5)}`);
    });
    fam('container_file_descriptors', 'gauge', 'Number of open file descriptors for the container.');
    each((ns, st, _p, l) => {
      const f = this.factor(ns, simS);
      out.push(`container_file_descriptors{${l},container="app"} ${Math.round(40 + (st.cfg.requestsPerS / st.pods.length) * f * 2)}`);
    });
    if (!this.#ksmApart) this.#kubeStateMetrics(out, fam);
    fam('http_requests_total', 'counter', 'HTTP requests served, by method and route.');
    each((_ns, _st, p, l) => {
      for (const r of ROUTES) {
        const v = p.requests.get(`${r.method} ${r.route}`) ?? 0;
        out.push(`http_requests_total{${l},method="${r.method}",route="${esc(r.route)}",code="200"} ${v}`);
      }
    });
    fam('db_queries_total', 'counter', 'Database queries issued, by operation.');
    each((_ns, _st, p, l) => {
      for (const q of QUERY_OPS) out.push(`db_queries_total{${l},operation="${q.op}"} ${p.queries.get(q.op) ?? 0}`);
    });
    fam('workload_simulated_time_seconds', 'gauge', 'Simulated UNIX time of the workload exporter clock.');
    out.push(`workload_simulated_time_seconds ${simS}`);
    return out.join('\n') + '\n';
  }

  /** Calls `fn` for every pod with its namespace and pod labels. */
  #eachPod = (fn: (ns: string, st: TenantState, p: PodState, labels: string) => void): void => {
    for (const [ns, st] of this.#tenants) for (const p of st.pods) fn(ns, st, p, `namespace="${esc(ns)}",pod="${esc(p.pod)}"`);
  };

  /** A pod's working set: the tenant's memory over its pods, following demand gently. */
  #podMemory(ns: string, st: TenantState, simS: number): number {
    const spike = st.cfg.memorySpike;
    const up = spike && (this.#last / 1000) % spike.everyS < spike.forS ? spike.factor : 1;
    return (st.cfg.memoryBytes / st.pods.length) * (0.7 + 0.3 * Math.min(this.factor(ns, simS), 2)) * up;
  }

  /** A pod's filesystem series, `value` split over its devices (twoDevices: a quarter on the root disk). */
  static #devices(st: TenantState, device: string, value: number): Array<[string, number]> {
    return st.cfg.twoDevices ? [[device, 0.25 * value], ['/dev/vdb', 0.75 * value]] : [[device, value]];
  }

  /** kube-state-metrics' pod series: phases, owners and info. */
  #kubeStateMetrics(out: string[], fam: (name: string, type: string, help: string) => void): void {
    const each = this.#eachPod;
    // one series per pod and phase, 1 for the current phase (every simulated pod runs)
    fam('kube_pod_status_phase', 'gauge', 'The pods current phase.');
    each((_ns, _st, p, l) => {
      for (const phase of POD_PHASES) out.push(`kube_pod_status_phase{${l},uid="${podUid(p.pod)}",phase="${phase}"} ${phase === 'Running' ? 1 : 0}`);
    });
    // each pod's owner (every simulated pod belongs to the ReplicaSet of a Deployment "app")
    fam('kube_pod_owner', 'gauge', 'Information about the Pod\'s owner.');
    each((_ns, _st, p, l) => out.push(`kube_pod_owner{${l},uid="${podUid(p.pod)}",owner_kind="ReplicaSet",owner_name="app-7c9b5d8f4d",owner_is_controller="true"} 1`));
    fam('kube_pod_info', 'gauge', 'Information about pod.');
    each((_ns, st, p, l) => out.push(`kube_pod_info{${l},uid="${podUid(p.pod)}",host_network="${st.cfg.hostNetwork}",node="node-1",created_by_kind="ReplicaSet"} 1`));
  }

  /**
   * The same pods as other endpoints expose them: `resource`, the kubelet's /metrics/resource (each container's cpu
   * and working set again, as cAdvisor gives them); `kube-state-metrics`, a second kube-state-metrics replica.
   */
  renderAlso(what: 'resource' | 'kube-state-metrics'): string {
    this.#advance();
    const out: string[] = [];
    const fam = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    const each = this.#eachPod;
    if (what === 'kube-state-metrics') this.#kubeStateMetrics(out, fam);
    else {
      const simS = this.simNowS();
      fam('container_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed by the container in core-seconds');
      each((_ns, _st, p, l) => out.push(`container_cpu_usage_seconds_total{${l},container="app"} ${p.cpu}`));
      fam('container_memory_working_set_bytes', 'gauge', 'Current working set of the container in bytes');
      each((ns, st, _p, l) => out.push(`container_memory_working_set_bytes{${l},container="app"} ${Math.round(this.#podMemory(ns, st, simS))}`));
    }
    return out.join('\n') + '\n';
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      if (req.url === '/metrics' || req.url?.startsWith('/metrics?')) {
        this.scrapes++;
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(this.render());
        return;
      }
      if (req.url === '/metrics/resource' || req.url === '/metrics/kube-state-metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(this.renderAlso(req.url === '/metrics/resource' ? 'resource' : 'kube-state-metrics'));
        return;
      }
      res.writeHead(404).end('not found\n');
    });
    await new Promise<void>((resolve, reject) => {
      this.#server!.once('error', reject);
      this.#server!.listen(this.#port, this.#host, () => resolve());
    });
    const addr = this.#server.address();
    if (typeof addr === 'object' && addr) this.#port = addr.port;
  }

  get port(): number {
    return this.#port;
  }

  /** host:port, for a Prometheus static target. */
  get address(): string {
    return `${this.#host}:${this.#port}`;
  }

  get url(): string {
    return `http://${this.address}/metrics`;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    this.#server = undefined;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

/** Starts an exporter with `n` ordinary tenants named like namespaces (shop, payments, ...). */
export async function startWorkloadExporter(opts: Partial<WorkloadExporterOptions> & { tenantCount?: number } = {}): Promise<WorkloadExporter> {
  const names = ['shop', 'payments', 'search', 'batch-etl', 'auth', 'media', 'reports', 'ml-train'];
  const tenants =
    opts.tenants ??
    Array.from({ length: opts.tenantCount ?? 4 }, (_, i) => ({
      namespace: i < names.length ? names[i] : `tenant-${i}`,
      cpuCores: 0.25 * (i + 1),
      memoryBytes: (128 + 64 * i) * 1024 * 1024,
      requestsPerS: 10 * (i + 1),
      peakAt: (0.4 + 0.1 * i) % 1,
    }));
  const e = new WorkloadExporter({ ...opts, tenants });
  await e.start();
  return e;
}
