// A small Kubernetes REST client for the actuator: one request function with timeouts, typed errors and error metrics.
// Plain HTTPS instead of client-node's generated APIs so that every status code (403/409/5xx) and timeout is handled
// in one place, and merge patches are sent with the right content type (client-node 1.4 defaults to JSON patch).
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeForbiddenError, KubeUnavailableError } from '../errors.js';

/** Where a pod's ServiceAccount token and CA are mounted. */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How to reach the API server: URL, CA and either a bearer token (or token file) or a client certificate. */
export interface KubeConnection {
  server: string;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  token?: string;
  /** Re-read on every request (projected ServiceAccount tokens rotate). */
  tokenFile?: string;
  /** Fills in credentials per request (client-node's KubeConfig.applyToHTTPSOptions: rotating tokens, exec plugins). */
  authorize?: (opts: RequestOptions) => Promise<void>;
}

/** What a request does, for messages, permissions and metrics: `patch verticalpodautoscalers/status`. */
export interface KubeOp {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
}

export type MergePatch = Record<string, unknown>;

export interface RequestInit {
  method?: string;
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
}

/** An HTTP error other than 403 and 5xx (those become KubeForbiddenError and KubeUnavailableError). */
export class KubeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly op: KubeOp,
    message: string,
  ) {
    super(`${describeOp(op)}: HTTP ${status} ${reason}: ${message}`);
    this.name = 'KubeHttpError';
  }
}

export function describeOp(op: KubeOp): string {
  const where = op.namespace ? ` in namespace ${op.namespace}` : ' (cluster-wide)';
  return `${op.verb} ${op.resource}${op.name ? ` "${op.name}"` : ''}${where}`;
}

/** True for errors worth a retry later (5xx, timeouts, connection refused). */
export function isUnavailable(err: unknown): boolean {
  return (err as { code?: string } | undefined)?.code === 'FORESIGHT_ERR_KUBE_UNAVAILABLE';
}
/** True for errors after which no further write of this cycle can succeed: an unavailable API server, a Lease this
 *  replica no longer holds, or a shard fence that holds it off (every later write would be refused the same way). */
export function stopsCycle(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return isUnavailable(err) || code === 'FORESIGHT_ERR_LEADERSHIP_LOST' || code === 'FORESIGHT_ERR_SHARD_FENCED';
}
export function isForbidden(err: unknown): boolean {
  return (err as { code?: string } | undefined)?.code === 'FORESIGHT_ERR_KUBE_FORBIDDEN';
}
/**
 * A 403's cause in an operator's words: RBAC, or an admission check (a ResourceQuota, a LimitRange, Pod Security, a
 * webhook, a missing PriorityClass), always followed by the API server's own message.
 */
export function forbidden(op: KubeOp, message: string): Error {
  const why = /quota|must specify (limits|requests)/i.test(message)
    ? 'a ResourceQuota refused it'
    : /per (Container|Pod)|LimitRange/i.test(message)
      ? "the namespace's LimitRange refused it"
      : /violates PodSecurity/i.test(message)
        ? "Pod Security admission refused it (the namespace's pod-security.kubernetes.io labels)"
        : /admission webhook/i.test(message)
          ? 'an admission webhook refused it'
          : /PriorityClass/i.test(message)
            ? 'the PriorityClass it names is missing'
            : /cannot [a-z]+ resource/i.test(message) || !message
              ? 'the ServiceAccount lacks this permission'
              : 'it was refused';
  return new KubeForbiddenError(describeOp(op), message ? `${why}: ${message}` : why, { cause: new Error(message) });
}

export function httpStatus(err: unknown): number | undefined {
  return err instanceof KubeHttpError ? err.status : undefined;
}

export interface KubeApiHooks {
  /** Called with the operation and the status code class of every failed request ('403', '409', '5xx', 'timeout', 'network'). */
  onError?: (op: KubeOp, code: string) => void;
  /** Called before every request (tests inject faults here). */
  beforeRequest?: (op: KubeOp, method: string, path: string) => Promise<void> | void;
}

export class KubeApi {
  private readonly base: URL;

  constructor(
    readonly conn: KubeConnection,
    private readonly timeoutMs = 10_000,
    private readonly hooks: KubeApiHooks = {},
  ) {
    this.base = new URL(conn.server);
  }

  async request<T>(op: KubeOp, path: string, init: RequestInit = {}): Promise<T> {
    const method = init.method ?? 'GET';
    await this.hooks.beforeRequest?.(op, method, path);
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const body = init.body === undefined ? undefined : Buffer.from(JSON.stringify(init.body));
    const headers: Record<string, string> = { Accept: 'application/json' };
    const token = this.conn.tokenFile ? readFileSync(this.conn.tokenFile, 'utf8').trim() : this.conn.token;
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body) {
      headers['Content-Type'] = init.contentType ?? 'application/json';
      headers['Content-Length'] = String(body.length);
    }
    let status: number;
    let text: string;
    try {
      const opts: RequestOptions = { headers: {} };
      await this.conn.authorize?.(opts);
      Object.assign(headers, opts.headers);
      ({ status, text } = await this.send(url, method, headers, body, opts));
    } catch (err) {
      const code = (err as Error).name === 'TimeoutError' ? 'timeout' : 'network';
      this.hooks.onError?.(op, code);
      throw new KubeUnavailableError(describeOp(op), (err as Error).message, { cause: err });
    }
    if (status >= 200 && status < 300) {
      try {
        return (text ? JSON.parse(text) : {}) as T;
      } catch {
        return text as T; // /readyz and friends answer plain text
      }
    }
    let reason = '';
    let message = text.slice(0, 500);
    try {
      const st = JSON.parse(text) as { reason?: string; message?: string };
      reason = st.reason ?? '';
      message = st.message ?? message;
    } catch {
      // not a Status object; keep the raw text
    }
    this.hooks.onError?.(op, status >= 500 ? '5xx' : String(status));
    if (status === 403) throw forbidden(op, message);
    if (status >= 500 || status === 429) throw new KubeUnavailableError(describeOp(op), `HTTP ${status} ${message}`);
    throw new KubeHttpError(status, reason, op, message);
  }

  /**
   * Streams a watch (`?watch=1`): calls `onEvent` for every event line until the server ends the stream, `signal`
   * aborts it, or no byte arrives for `idleMs`. Resolves on a normal end; rejects like `request` on HTTP errors.
   */
  async watch(op: KubeOp, path: string, query: Record<string, string | number | boolean | undefined>, onEvent: (e: { type: string; object: unknown }) => void, signal: AbortSignal, idleMs = 90_000): Promise<void> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries({ ...query, watch: 1 })) if (v !== undefined) url.searchParams.set(k, String(v));
    const opts: RequestOptions = { headers: {} };
    await this.conn.authorize?.(opts);
    const token = this.conn.tokenFile ? readFileSync(this.conn.tokenFile, 'utf8').trim() : this.conn.token;
    const headers: Record<string, string> = { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(opts.headers as Record<string, string>) };
    await new Promise<void>((resolve, reject) => {
      const req = httpsRequest(
        { protocol: url.protocol, hostname: url.hostname, port: url.port, path: url.pathname + url.search, method: 'GET', headers, ca: opts.ca ?? this.conn.ca, cert: opts.cert ?? this.conn.cert, key: opts.key ?? this.conn.key, rejectUnauthorized: opts.rejectUnauthorized, agent: false, signal, timeout: idleMs },
        (res) => {
          if ((res.statusCode ?? 0) >= 300) {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const code = res.statusCode ?? 0;
              this.hooks.onError?.(op, code >= 500 ? '5xx' : String(code));
              const text = Buffer.concat(chunks).toString('utf8').slice(0, 500);
              if (code === 403) reject(forbidden(op, text));
              else if (code >= 500) reject(new KubeUnavailableError(describeOp(op), `HTTP ${code} ${text}`));
              else reject(new KubeHttpError(code, '', op, text));
            });
            return;
          }
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (line) onEvent(JSON.parse(line) as { type: string; object: unknown });
            }
          });
          res.on('end', () => resolve());
          res.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
        },
      );
      req.on('timeout', () => req.destroy()); // idle: end quietly, the caller re-watches
      req.on('close', () => resolve());
      req.on('error', (e) => (signal.aborted || e.name === 'AbortError' ? resolve() : reject(new KubeUnavailableError(describeOp(op), e.message, { cause: e }))));
      req.end();
    });
  }

  private send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    auth: RequestOptions,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method,
          headers,
          ca: auth.ca ?? this.conn.ca,
          cert: auth.cert ?? this.conn.cert,
          key: auth.key ?? this.conn.key,
          rejectUnauthorized: auth.rejectUnauthorized,
          agent: false,
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => {
        const e = new Error(`no answer within ${this.timeoutMs} ms`);
        e.name = 'TimeoutError';
        req.destroy(e);
      });
      req.on('error', reject);
      if (body) req.write(body);
      req.end();
    });
  }
}

/**
 * Connection from the environment through client-node's KubeConfig: the in-cluster ServiceAccount in a pod, else
 * $KUBECONFIG / ~/.kube/config. Credentials are applied per request so rotated tokens are picked up. Only main.ts calls this.
 */
export async function connectionFromKubeConfig(env: NodeJS.ProcessEnv = process.env): Promise<KubeConnection> {
  // client-node falls back to http://localhost:8080 when it finds no configuration at all, which then fails every
  // request with words about TLS: say what is missing instead
  const home = env.HOME ?? env.USERPROFILE;
  const inCluster = !!env.KUBERNETES_SERVICE_HOST && existsSync(`${SERVICE_ACCOUNT_DIR}/token`);
  if (!inCluster && !env.KUBECONFIG && !(home && existsSync(join(home, '.kube', 'config')))) {
    throw new KubeUnavailableError('load kubeconfig', `no Kubernetes configuration: not in a pod (KUBERNETES_SERVICE_HOST unset or no ServiceAccount token in ${SERVICE_ACCOUNT_DIR}), $KUBECONFIG unset and no ${home ? join(home, '.kube', 'config') : '~/.kube/config'}; run in a cluster, set KUBECONFIG, or start without FORESIGHT_KUBERNETES`);
  }
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeUnavailableError('load kubeconfig', 'no current cluster');
  return { server: cluster.server, authorize: (opts) => kc.applyToHTTPSOptions(opts) };
}
