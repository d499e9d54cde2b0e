// A real Kubernetes API for integration tests: openssl certificates, etcd on tmpfs and kube-apiserver on loopback with
// RBAC and ServiceAccount tokens, the real VPA CRDs from the autoscaler module, and the actuator's identity from deploy/.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseAllDocuments } from 'yaml';
import { KubeApi, type KubeConnection, httpStatus } from '../../src/actuator/kube-api.js';
import { toolCacheDir } from './binaries.js';
import { freePort, retryOnPortTaken } from './ports.js';
import { repoPath } from './paths.js';

export interface KubeEnvBinaries {
  'kube-apiserver': string;
  etcd: string;
  openssl: string;
}

export interface KubeEnv {
  server: string;
  ca: string;
  /** Client-certificate connection in system:masters (bypasses RBAC). */
  adminConnection: KubeConnection;
  admin: KubeApi;
  /** The actuator's ServiceAccount token connection (foresight-system/foresight, rules from deploy/base/rbac.yaml only). */
  actuatorConnection: KubeConnection;
  /** Creates a namespace with its `default` ServiceAccount (pods are rejected without one: no controller-manager). */
  createNamespace(name: string, labels?: Record<string, string>): Promise<void>;
  /** A token for a ServiceAccount (created if missing) in `namespace`. */
  tokenFor(namespace: string, serviceAccount: string): Promise<string>;
  /** Creates every object of a YAML file or text as admin. */
  apply(yamlText: string): Promise<void>;
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  /** Logs of the API server (for failure messages). */
  apiServerLog(): string;
  stop(): Promise<void>;
}

function certificates(openssl: string, dir: string): void {
  const run = (...args: string[]): void => void execFileSync(openssl, args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=foresight-test-ca');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  const leaf = (name: string, subj: string, ext: string): void => {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', ext);
  };
  leaf('apiserver', '/CN=kube-apiserver', 'server.ext');
  leaf('admin', '/O=system:masters/CN=foresight-test-admin', 'client.ext');
  run('genrsa', '-out', 'sa.key', '2048');
  run('rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
}

/** The VPA CRD file from the k8s.io/autoscaler/vertical-pod-autoscaler module (recorded by test/kubeenv/build.sh). */
export function vpaCrdPath(): string {
  const recorded = join(toolCacheDir(), 'kube', 'vpa-crd.path');
  if (existsSync(recorded)) {
    const p = readFileSync(recorded, 'utf8').trim();
    if (existsSync(p)) return p;
  }
  throw new Error(`VPA CRD not found: run test/kubeenv/build.sh (it records the path in ${recorded})`);
}

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** API path of a (namespaced or cluster-scoped) object of one of the kinds the tests create. */
export function collectionPath(obj: { apiVersion: string; kind: string; metadata: { namespace?: string } }): string {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const plural: Record<string, string> = {
    Namespace: 'namespaces', ServiceAccount: 'serviceaccounts', Pod: 'pods', Secret: 'secrets', ConfigMap: 'configmaps', ResourceQuota: 'resourcequotas',
    PriorityClass: 'priorityclasses', ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings', Role: 'roles', RoleBinding: 'rolebindings',
    CustomResourceDefinition: 'customresourcedefinitions', Deployment: 'deployments', StatefulSet: 'statefulsets', Service: 'services', VerticalPodAutoscaler: 'verticalpodautoscalers', Lease: 'leases',
    PodDisruptionBudget: 'poddisruptionbudgets',
  };
  const p = plural[obj.kind];
  if (!p) throw new Error(`kube-env: no path for kind ${obj.kind}`);
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  return obj.metadata.namespace ? `${base}/namespaces/${obj.metadata.namespace}/${p}` : `${base}/${p}`;
}

/** Starts etcd and kube-apiserver on free loopback ports, again on new ones when a port was taken first. */
export async function startKubeEnv(bins: KubeEnvBinaries): Promise<KubeEnv> {
  return retryOnPortTaken(() => startKubeEnvOnce(bins));
}

async function startKubeEnvOnce(bins: KubeEnvBinaries): Promise<KubeEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'foresight-kube-'));
  const dataDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'foresight-etcd-'));
  certificates(bins.openssl, dir);
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  const spawnLogged = (bin: string, args: string[], log: string): ChildProcess => {
    const fd = openSync(join(dir, log), 'a');
    const p = spawn(bin, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    children.push(p);
    return p;
  };
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const etcd = spawnLogged(
    bins.etcd,
    [
      '--name=default', `--data-dir=${dataDir}`, '--unsafe-no-fsync', '--log-level=warn',
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`, `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
    ],
    'etcd.log',
  );
  const apiArgs = [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`,
    `--tls-cert-file=${dir}/apiserver.crt`, `--tls-private-key-file=${dir}/apiserver.key`, `--client-ca-file=${dir}/ca.crt`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local', `--service-account-key-file=${dir}/sa.pub`,
    `--service-account-signing-key-file=${dir}/sa.key`, '--service-cluster-ip-range=10.0.0.0/24', '--authorization-mode=RBAC',
    '--enable-priority-and-fairness=false', '--profiling=false', '--v=1',
  ];
  let apiserver: ChildProcess | undefined;
  const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const server = `https://127.0.0.1:${apiPort}`;
  const adminConnection: KubeConnection = { server, ca, cert: readFileSync(join(dir, 'admin.crt')), key: readFileSync(join(dir, 'admin.key')) };
  const admin = new KubeApi(adminConnection, 10_000);
  const ready = async (): Promise<void> => {
    await until('kube-apiserver /readyz', 90_000, async () => {
      if (apiserver && apiserver.exitCode !== null) throw new Error(`kube-apiserver exited (${apiserver.exitCode}); log:\n${tail('apiserver.log')}`);
      await admin.request({ verb: 'get', resource: 'readyz' }, '/readyz');
      return true;
    }, 200);
  };
  const tail = (f: string): string => {
    try {
      return readFileSync(join(dir, f), 'utf8').split('\n').slice(-40).join('\n');
    } catch {
      return '';
    }
  };
  const startApiServer = async (): Promise<void> => {
    apiserver = spawnLogged(bins['kube-apiserver'], apiArgs, 'apiserver.log');
    await ready();
  };
  const stopApiServer = async (): Promise<void> => {
    const p = apiserver;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
      setTimeout(() => p.kill('SIGKILL'), 5000).unref();
    });
  };
  try {
    await until('etcd', 30_000, async () => {
      if (etcd.exitCode !== null) throw new Error(`etcd exited; log:\n${tail('etcd.log')}`);
      const r = await fetch(`http://127.0.0.1:${etcdPort}/health`).catch(() => undefined);
      return r?.ok ? true : undefined;
    });
    await startApiServer();
  } catch (err) {
    killAll();
    rmSync(dir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }

  const create = async (obj: Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): Promise<void> => {
    try {
      await admin.request({ verb: 'create', resource: obj.kind, namespace: obj.metadata.namespace }, collectionPath(obj), { method: 'POST', body: obj });
    } catch (err) {
      if (httpStatus(err) !== 409) throw err;
    }
  };
  const apply = async (text: string): Promise<void> => {
    for (const doc of parseAllDocuments(text)) {
      const obj = doc.toJS() as Parameters<typeof create>[0] | null;
      if (obj?.kind) await create(obj);
    }
  };
  const createNamespace = async (name: string, labels: Record<string, string> = {}): Promise<void> => {
    await create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } as { name: string } });
    await create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } });
  };
  const tokenFor = async (namespace: string, sa: string): Promise<string> => {
    await create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace } });
    const tr = await admin.request<{ status: { token: string } }>(
      { verb: 'create', resource: 'serviceaccounts/token', namespace, name: sa },
      `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`,
      { method: 'POST', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } } },
    );
    return tr.status.token;
  };

  try {
    // The real VPA CRDs, then the actuator's identity and rules exactly as deploy/ ships them.
    await apply(readFileSync(vpaCrdPath(), 'utf8'));
    for (const crd of ['verticalpodautoscalers', 'verticalpodautoscalercheckpoints']) {
      await until(`CRD ${crd} Established`, 30_000, async () => {
        const c = await admin.request<{ status?: { conditions?: { type: string; status: string }[] } }>(
          { verb: 'get', resource: 'customresourcedefinitions' },
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}.autoscaling.k8s.io`,
        );
        return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ? true : undefined;
      });
    }
    // Everything kustomization.yaml lists (the Deployment is stored but never runs: no controller-manager here).
    const kustomization = parseAllDocuments(readFileSync(repoPath('deploy', 'kustomization.yaml'), 'utf8'))[0].toJS() as { resources: string[] };
    for (const f of kustomization.resources) await apply(readFileSync(repoPath('deploy', f), 'utf8'));
    await create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'foresight-system' } });
  } catch (err) {
    killAll();
    throw err;
  }
  const token = await tokenFor('foresight-system', 'foresight');
  const actuatorConnection: KubeConnection = { server, ca, token };
  // RBAC reaches the authorizer through informers: wait until the actuator's rules are in force.
  const asActuator = new KubeApi(actuatorConnection, 5000);
  await until('actuator RBAC in force', 30_000, async () => {
    await asActuator.request({ verb: 'list', resource: 'verticalpodautoscalers' }, '/apis/autoscaling.k8s.io/v1/verticalpodautoscalers');
    await asActuator.request({ verb: 'list', resource: 'pods', namespace: 'foresight-system' }, '/api/v1/namespaces/foresight-system/pods');
    await asActuator.request({ verb: 'list', resource: 'leases', namespace: 'foresight-system' }, '/apis/coordination.k8s.io/v1/namespaces/foresight-system/leases');
    return true;
  });

  return {
    server,
    ca,
    adminConnection,
    admin,
    actuatorConnection,
    createNamespace,
    tokenFor,
    apply,
    stopApiServer,
    startApiServer,
    apiServerLog: () => tail('apiserver.log'),
    async stop() {
      await stopApiServer();
      for (const c of children) {
        if (c.exitCode === null && c.signalCode === null) {
          await new Promise<void>((resolve) => {
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 5000).unref();
          });
        }
      }
      process.removeListener('exit', killAll);
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
