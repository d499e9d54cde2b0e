// How Foresight reaches a Prometheus that is not open on the pod network: a bearer token or basic auth read from files
// (re-read when they change: a projected ServiceAccount token rotates), extra headers (a Mimir or Cortex tenant's
// X-Scope-OrgID), and TLS with a private CA and an optional client certificate. Secrets are only ever read from files,
// never taken from the environment or the config file, and never logged.
import { readFileSync, statSync } from 'node:fs';
import { Agent } from 'node:https';
import type { InternalAxiosRequestConfig } from 'axios';
import { PromQueryError } from '../errors.js';

export interface PrometheusConnection {
  /** Base URL, e.g. http://prometheus:9090 or https://thanos-querier.openshift-monitoring.svc:9091 */
  url: string;
  /** Per-request timeout, ms (default 10 s). */
  timeoutMs?: number;
  /** File holding a token sent as `Authorization: Bearer <token>`. */
  bearerTokenFile?: string;
  /** Basic auth: the user, and a file holding the password. */
  basicAuth?: { user: string; passwordFile: string };
  /** Headers sent with every request (never Authorization: see bearerTokenFile and basicAuth). */
  headers?: Record<string, string>;
  /** TLS of an https URL: PEM files of the CA that signed the server's certificate and of a client certificate. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string; insecureSkipVerify?: boolean };
  /** Aborts every request in flight, and fails every later one at once (the source's close(), at shutdown). */
  signal?: AbortSignal;
}

/** The configuration's Prometheus connection settings (`prometheus*` fields of the schema). */
export interface ConnectionSettings {
  prometheusUrl: string;
  prometheusTimeout: number;
  prometheusBearerTokenFile: string;
  prometheusBasicAuthUser: string;
  prometheusBasicAuthPasswordFile: string;
  prometheusHeaders: readonly string[];
  prometheusCaFile: string;
  prometheusCertFile: string;
  prometheusKeyFile: string;
  prometheusInsecureSkipVerify: boolean;
}

/** Header names Foresight sets itself or that would break the request. */
const RESERVED_HEADERS = new Set(['authorization', 'host', 'content-length', 'content-type', 'accept-encoding', 'connection', 'transfer-encoding']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** `Name=value` items as headers, or the problems (one sentence each) of the items that are not. */
export function parseHeaders(items: readonly string[]): { headers: Record<string, string>; problems: string[] } {
  const headers: Record<string, string> = {};
  const problems: string[] = [];
  for (const item of items) {
    const eq = item.indexOf('=');
    const name = eq > 0 ? item.slice(0, eq).trim() : '';
    const value = eq > 0 ? item.slice(eq + 1).trim() : '';
    if (!HEADER_NAME.test(name)) problems.push(`"${item}" is not Name=value with a header name`);
    else if (RESERVED_HEADERS.has(name.toLowerCase())) {
      problems.push(name.toLowerCase() === 'authorization' ? `"${name}" is not set this way: use prometheusBearerTokenFile or prometheusBasicAuthUser and prometheusBasicAuthPasswordFile (secrets are read from files)` : `"${name}" is set by Foresight and cannot be overridden`);
    } else if (/[\r\n]/.test(value)) problems.push(`the value of "${name}" has a line break`);
    else headers[name] = value;
  }
  return { headers, problems };
}

/**
 * Why `text` cannot be the base URL of a Prometheus (undefined when it can): what `new URL()` parses, http or https,
 * a port in [1, 65535], no white space, query or fragment (the API path is appended to it; a path prefix such as
 * /prometheus is fine). A pattern check had let `http://[` and `http://localhost:99999` through to fail every cycle.
 */
export function urlProblem(text: string): string | undefined {
  if (/\s/.test(text)) return 'has white space';
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    const port = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*:([0-9]+)(?:[/?#]|$)/i.exec(text)?.[1];
    return port !== undefined && Number(port) > 65_535 ? `has port ${port}, above 65535` : 'is not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `has the scheme ${u.protocol.slice(0, -1)}, not http or https`;
  if (u.port === '0') return 'has port 0';
  if (/[?#]/.test(text)) return 'has a query or a fragment (a path prefix such as /prometheus is fine)';
  return undefined;
}

/** Cross-field rules of the connection settings and the files they name, as problem sentences (empty when usable).
 *  Without a URL (the demo, or `foresight backtest --prometheus URL` checking its own) the scheme is not checked. */
export function connectionProblems(c: ConnectionSettings, readable: (path: string) => string | undefined = fileProblem): string[] {
  const problems: string[] = [];
  const origin = c.prometheusUrl;
  const https = origin.startsWith('https://');
  if (c.prometheusBearerTokenFile && (c.prometheusBasicAuthUser || c.prometheusBasicAuthPasswordFile)) {
    problems.push('prometheusBearerTokenFile and prometheusBasicAuthUser/prometheusBasicAuthPasswordFile both set: Prometheus takes one Authorization header, choose one');
  }
  if (!c.prometheusBasicAuthUser !== !c.prometheusBasicAuthPasswordFile) problems.push('prometheusBasicAuthUser and prometheusBasicAuthPasswordFile go together: set both or neither');
  if (!c.prometheusCertFile !== !c.prometheusKeyFile) problems.push('prometheusCertFile and prometheusKeyFile go together: set both or neither');
  const tlsSet = ['prometheusCaFile', 'prometheusCertFile', 'prometheusKeyFile'].filter((k) => c[k as keyof ConnectionSettings]);
  if (c.prometheusInsecureSkipVerify) tlsSet.push('prometheusInsecureSkipVerify');
  if (tlsSet.length && origin && !https) problems.push(`${tlsSet.join(', ')} set but prometheusUrl is not https:// (${origin})`);
  for (const k of ['prometheusBearerTokenFile', 'prometheusBasicAuthPasswordFile', 'prometheusCaFile', 'prometheusCertFile', 'prometheusKeyFile'] as const) {
    const path = c[k];
    const why = path ? readable(path) : undefined;
    if (why) problems.push(`${k}: ${why}`);
  }
  return problems;
}

/** Why a secret or PEM file cannot be used now (unreadable or empty), or undefined. */
function fileProblem(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() === '' ? `${path} is empty` : undefined;
  } catch (err) {
    return `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
}

/** The connection of validated settings. */
export function connectionOf(c: ConnectionSettings): PrometheusConnection {
  const tls = { caFile: c.prometheusCaFile || undefined, certFile: c.prometheusCertFile || undefined, keyFile: c.prometheusKeyFile || undefined, insecureSkipVerify: c.prometheusInsecureSkipVerify || undefined };
  return {
    url: c.prometheusUrl,
    timeoutMs: c.prometheusTimeout * 1000,
    bearerTokenFile: c.prometheusBearerTokenFile || undefined,
    basicAuth: c.prometheusBasicAuthUser ? { user: c.prometheusBasicAuthUser, passwordFile: c.prometheusBasicAuthPasswordFile } : undefined,
    headers: c.prometheusHeaders.length ? parseHeaders(c.prometheusHeaders).headers : undefined,
    tls: Object.values(tls).some(Boolean) ? tls : undefined,
  };
}

/**
 * A file read again only when it changed (path, inode, size or modification time): a kubelet-projected token or a
 * cert-manager Secret is replaced by swapping a symlink, which `stat` follows.
 */
export class WatchedFile {
  #stamp = '';
  #text = '';
  constructor(readonly path: string) {}

  /** The file's text (trimmed); throws FORESIGHT_ERR_PROM_QUERY naming the file when it cannot be read. */
  read(): string {
    try {
      const s = statSync(this.path);
      const stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
      if (stamp !== this.#stamp) [this.#text, this.#stamp] = [readFileSync(this.path, 'utf8').trim(), stamp];
      return this.#text;
    } catch (err) {
      throw new PromQueryError(`cannot read ${this.path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
    }
  }

  /** Whether the file changed since the last read (it is read again then). */
  changed(): boolean {
    const before = this.#stamp;
    this.read();
    return this.#stamp !== before;
  }
}

/**
 * Sets each request's Authorization header and TLS agent from the connection's files, as they are now, and its abort
 * signal. The agent is made again when a PEM file changes, so a renewed client certificate or CA is used without a
 * restart.
 */
export function connectionInterceptor(conn: PrometheusConnection): ((cfg: InternalAxiosRequestConfig) => InternalAxiosRequestConfig) | undefined {
  const token = conn.bearerTokenFile ? new WatchedFile(conn.bearerTokenFile) : undefined;
  const password = conn.basicAuth ? new WatchedFile(conn.basicAuth.passwordFile) : undefined;
  const tls = conn.tls;
  const pem = tls ? [tls.caFile, tls.certFile, tls.keyFile].map((p) => (p ? new WatchedFile(p) : undefined)) : [];
  if (!token && !password && !tls && !conn.signal) return undefined;
  let agent: Agent | undefined;
  return (cfg) => {
    if (conn.signal) cfg.signal = conn.signal;
    if (token) cfg.headers.set('Authorization', `Bearer ${token.read()}`);
    if (password) cfg.headers.set('Authorization', `Basic ${Buffer.from(`${conn.basicAuth!.user}:${password.read()}`).toString('base64')}`);
    if (tls) {
      // changed() reads every file (no short circuit), so a failure names the file whichever changed
      const changes = pem.map((f) => f?.changed() ?? false);
      if (!agent || changes.some(Boolean)) {
        agent?.destroy();
        const [ca, cert, key] = pem.map((f) => f?.read());
        agent = new Agent({ ca, cert, key, rejectUnauthorized: !tls.insecureSkipVerify, keepAlive: true });
      }
      cfg.httpsAgent = agent;
    }
    return cfg;
  };
}
