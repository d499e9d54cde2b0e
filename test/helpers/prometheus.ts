// Runs a real Prometheus (Debian's binary) for integration tests: own config and temp data dir, free loopback port,
// reload and restart on the same port, killed on teardown even when a test forgets to stop it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { freePort, retryOnPortTaken } from './ports.js';

export { freePort };

export interface ScrapeTarget {
  job: string;
  /** host:port of the target (loopback). */
  address: string;
  /** Path of the metrics endpoint (default /metrics). */
  metricsPath?: string;
  /** Per-job override of the scrape interval, seconds. */
  scrapeIntervalS?: number;
  /** Target labels (without honor_labels, a target's label wins and the scraped one becomes exported_<name>). */
  labels?: Record<string, string>;
}

export interface StartPrometheusOptions {
  /** Binary path (default: findBinary('prometheus')). */
  binary?: string;
  targets?: ScrapeTarget[];
  /** Global scrape and evaluation interval, seconds (default 1). */
  scrapeIntervalS?: number;
  /** Rule files (absolute paths) loaded by Prometheus. */
  ruleFiles?: string[];
  /** Port to listen on (default: a free one). */
  port?: number;
  /** Extra command-line flags. */
  extraArgs?: string[];
  /** Milliseconds to wait for /-/ready (default 30 s). */
  readyTimeoutMs?: number;
  /** Its own web configuration (--web.config.file: TLS, client certificates, basic auth): `url` is https:// when
   *  `tls`, and `ready(url)` tells when /-/ready answers, with the credentials it takes. */
  web?: { configFile: string; tls: boolean; ready: (url: string) => Promise<boolean> };
}

export interface PromVectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function yamlString(s: string): string {
  return JSON.stringify(s);
}

/** A running Prometheus. Call `stop()` in afterAll; `start()` restarts it on the same port and data dir. */
export class PrometheusInstance {
  readonly binary: string;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly configPath: string;
  readonly dataDir: string;
  readonly logs: string[] = [];
  #child?: ChildProcess;
  #opts: StartPrometheusOptions;
  #targets: ScrapeTarget[];

  constructor(binary: string, port: number, opts: StartPrometheusOptions) {
    this.binary = binary;
    this.port = port;
    this.url = `${opts.web?.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    this.dir = mkdtempSync(join(tmpdir(), 'foresight-prom-'));
    this.configPath = join(this.dir, 'prometheus.yml');
    this.dataDir = join(this.dir, 'data');
    this.#opts = opts;
    this.#targets = [...(opts.targets ?? [])];
    this.#writeConfig();
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get targets(): readonly ScrapeTarget[] {
    return this.#targets;
  }

  #writeConfig(): void {
    const iv = this.#opts.scrapeIntervalS ?? 1;
    const lines = ['global:', `  scrape_interval: ${iv}s`, `  evaluation_interval: ${iv}s`];
    if (this.#opts.ruleFiles?.length) {
      lines.push('rule_files:');
      for (const f of this.#opts.ruleFiles) lines.push(`  - ${yamlString(f)}`);
    }
    lines.push('scrape_configs:');
    if (this.#targets.length === 0) lines.push('  []');
    for (const t of this.#targets) {
      lines.push(`  - job_name: ${yamlString(t.job)}`);
      if (t.scrapeIntervalS) lines.push(`    scrape_interval: ${t.scrapeIntervalS}s`);
      lines.push(`    metrics_path: ${yamlString(t.metricsPath ?? '/metrics')}`);
      lines.push('    static_configs:', `      - targets: [${yamlString(t.address)}]`);
      if (t.labels) lines.push(`        labels: {${Object.entries(t.labels).map(([k, v]) => `${k}: ${yamlString(v)}`).join(', ')}}`);
    }
    writeFileSync(this.configPath, lines.join('\n') + '\n');
  }

  /** Starts the process (again) and waits until /-/ready answers 200. */
  async start(): Promise<void> {
    if (this.running) return;
    const args = [
      `--config.file=${this.configPath}`,
      `--storage.tsdb.path=${this.dataDir}`,
      `--web.listen-address=127.0.0.1:${this.port}`,
      '--web.enable-lifecycle',
      '--web.enable-admin-api',
      '--storage.tsdb.retention.time=2d',
      '--log.level=warn',
      ...(this.#opts.web ? [`--web.config.file=${this.#opts.web.configFile}`] : []),
      ...(this.#opts.extraArgs ?? []),
    ];
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    live.add(child);
    const keep = (b: Buffer) => {
      this.logs.push(b.toString());
      if (this.logs.length > 200) this.logs.splice(0, this.logs.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', () => live.delete(child));
    await this.#waitReady(this.#opts.readyTimeoutMs ?? 30_000);
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`prometheus exited during start-up:\n${this.logs.join('').slice(-2000)}`);
      try {
        if (this.#opts.web ? await this.#opts.web.ready(this.url) : (await fetch(`${this.url}/-/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`prometheus not ready after ${timeoutMs} ms:\n${this.logs.join('').slice(-2000)}`);
  }

  /** Replaces the scrape targets and reloads the configuration. */
  async setTargets(targets: ScrapeTarget[]): Promise<void> {
    this.#targets = [...targets];
    this.#writeConfig();
    if (this.running) await this.reload();
  }

  async addTarget(target: ScrapeTarget): Promise<void> {
    await this.setTargets([...this.#targets.filter((t) => t.job !== target.job), target]);
  }

  /** Asks Prometheus to reload its configuration (POST /-/reload). */
  async reload(): Promise<void> {
    const res = await fetch(`${this.url}/-/reload`, { method: 'POST' });
    if (!res.ok) throw new Error(`prometheus reload failed: ${res.status} ${await res.text()}`);
  }

  /** Stops the process (SIGTERM, SIGKILL after 5 s); keeps the data dir so that `start()` resumes. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the process and deletes its directory. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Instant query; throws on a Prometheus error. */
  async query(expr: string, timeS?: number): Promise<PromVectorSample[]> {
    const params = new URLSearchParams({ query: expr });
    if (timeS !== undefined) params.set('time', String(timeS));
    const res = await fetch(`${this.url}/api/v1/query`, { method: 'POST', body: params });
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
    if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error ?? res.status}`);
    const data = body.data!;
    if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
    if (data.resultType !== 'vector') throw new Error(`query ${expr}: ${data.resultType} result, expected vector`);
    return data.result as PromVectorSample[];
  }

  /** Polls an instant query until `accept` returns true for its result, or throws with the last result. */
  async waitFor(
    expr: string,
    accept: (r: PromVectorSample[]) => boolean = (r) => r.length > 0,
    timeoutMs = 30_000,
  ): Promise<PromVectorSample[]> {
    const deadline = Date.now() + timeoutMs;
    let last: PromVectorSample[] = [];
    let lastErr: unknown;
    while (Date.now() < deadline) {
      try {
        last = await this.query(expr);
        if (accept(last)) return last;
      } catch (err) {
        lastErr = err;
      }
      await sleep(250);
    }
    throw new Error(`waitFor(${expr}) timed out after ${timeoutMs} ms; last result ${JSON.stringify(last).slice(0, 500)}${lastErr ? `; last error ${String(lastErr)}` : ''}`);
  }

  /** Waits until every configured target has been scraped successfully at least once. */
  async waitForTargetsUp(timeoutMs = 30_000): Promise<void> {
    const jobs = this.#targets.map((t) => t.job);
    await this.waitFor('up', (r) => jobs.every((j) => r.some((s) => s.metric.job === j && s.value[1] === '1')), timeoutMs);
  }
}

/**
 * Starts Prometheus and waits until it is ready. Throws if the binary is missing. Without a given port it takes a
 * free one, and a new one when that was taken first (retryOnPortTaken).
 */
export async function startPrometheus(opts: StartPrometheusOptions = {}): Promise<PrometheusInstance> {
  const binary = opts.binary ?? findBinary('prometheus');
  if (!binary) throw new Error('prometheus binary not found (run scripts/fetch-tools.sh or set FORESIGHT_BIN_PROMETHEUS)');
  const startOn = async (port: number): Promise<PrometheusInstance> => {
    const p = new PrometheusInstance(binary, port, opts);
    try {
      await p.start();
      return p;
    } catch (err) {
      await p.destroy();
      throw err;
    }
  };
  return opts.port !== undefined ? startOn(opts.port) : retryOnPortTaken(async () => startOn(await freePort()));
}
