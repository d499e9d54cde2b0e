// deploy/ builds and scrapes as the alerts and dashboards assume: both kustomizations build (here by resolving their
// `resources:` as kustomize does, cycle check included, and with `kubectl kustomize` where kubectl is found), a Service
// for the Deployment, a ServiceMonitor that gives both it and the shards' Service the job "foresight", nothing that
// needs a CRD where the kube-apiserver tests apply the manifests (test/helpers/kube-env.ts applies each file
// deploy/kustomization.yaml lists), and pods that meet the namespace's "restricted" Pod Security profile.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { actuatorOptions } from '../../src/actuator/config.js';
import { ActionJournal } from '../../src/actuator/journal.js';
import type { KubeApi } from '../../src/actuator/kube-api.js';
import { silentLog } from '../../src/actuator/log.js';
import { createActuatorMetrics } from '../../src/actuator/metrics.js';
import { ShadowPods } from '../../src/actuator/shadow-pods.js';
import { loadConfig } from '../../src/config/load.js';
import { describeWithBinaries } from '../helpers/binaries.js';
import { repoPath } from '../helpers/paths.js';
import { loadAlertRules } from './promql.js';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  rules?: Array<{ apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }>;
}

interface ServiceSpec {
  selector?: Record<string, string>;
  ports: Array<{ name?: string; port: number; targetPort?: string | number }>;
}

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
}

interface PodSpec {
  enableServiceLinks?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  volumes?: unknown[];
  securityContext?: SecurityContext;
  containers: Array<{ name: string; ports?: Array<{ name?: string; containerPort: number }>; securityContext?: SecurityContext }>;
}

interface PodTemplateSpec {
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}

interface ServiceMonitorSpec {
  jobLabel?: string;
  selector: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchNames?: string[]; any?: boolean };
  endpoints: Array<{ port?: string; relabelings?: Array<{ targetLabel?: string }> }>;
}

function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => !!o?.kind);
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/**
 * The objects a kustomization directory builds, resolving `resources:` recursively as kustomize does: a directory is
 * another kustomization, a file is YAML objects. Like kustomize it refuses a directory that contains (or is) one of
 * the roots that led to it ("cycle detected": an overlay cannot list a folder above itself), a file outside its
 * kustomization's root, and an object listed twice. Only `resources:` is understood: any other field fails here,
 * so that a new one is modelled (or the kubectl suite below relied on) rather than silently ignored.
 */
function kustomizeResources(dir: string, visited: readonly string[] = []): K8sObject[] {
  const root = resolve(dir);
  for (const v of visited) {
    if (v === root || v.startsWith(root + sep)) throw new Error(`cycle detected: candidate root '${root}' contains visited root '${v}'`);
  }
  const file = KUSTOMIZATION_FILES.map((f) => join(root, f)).find((f) => statSync(f, { throwIfNoEntry: false })?.isFile());
  if (!file) throw new Error(`${root}: no kustomization file`);
  const k = parseAllDocuments(readFileSync(file, 'utf8'))[0].toJS() as Record<string, unknown>;
  const unknown = Object.keys(k).filter((key) => !['apiVersion', 'kind', 'resources'].includes(key));
  if (unknown.length) throw new Error(`${file}: only resources: is modelled here, not ${unknown.join(', ')}`);
  const out: K8sObject[] = [];
  const ids = new Set<string>();
  for (const entry of (k.resources as string[] | undefined) ?? []) {
    const p = resolve(root, entry);
    const objs = statSync(p).isDirectory()
      ? kustomizeResources(p, [...visited, root])
      : (() => {
          if (relative(root, p).startsWith('..')) throw new Error(`security; file '${p}' is not in or below '${root}'`);
          return parseObjects(readFileSync(p, 'utf8'));
        })();
    for (const o of objs) {
      const id = `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      if (ids.has(id)) throw new Error(`${file}: ${id} listed twice`);
      ids.add(id);
      out.push(o);
    }
  }
  return out;
}

const unsharded = kustomizeResources(repoPath('deploy'));
const sharded = kustomizeResources(repoPath('deploy', 'sharded'));
const monitoring = kustomizeResources(repoPath('deploy', 'monitoring'));

function one(objs: K8sObject[], kind: string, name: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o;
}

const ids = (objs: K8sObject[]): string[] => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
const deployment = one(unsharded, 'Deployment', 'foresight');
const service = one(unsharded, 'Service', 'foresight');
const statefulSet = one(sharded, 'StatefulSet', 'foresight-shard');
const shardService = one(sharded, 'Service', 'foresight-shard');
const monitor = one(monitoring, 'ServiceMonitor', 'foresight');

function resources(rel: string): string[] {
  return (parseAllDocuments(readFileSync(repoPath(rel), 'utf8'))[0].toJS() as { resources: string[] }).resources;
}

/** What the two installs must build: the shared base, then one workload each. */
function expectInstalls(built: { unsharded: K8sObject[]; sharded: K8sObject[] }): void {
  const base = ids(kustomizeResources(repoPath('deploy', 'base')));
  expect(ids(built.unsharded)).toEqual([...base, 'Deployment/foresight', 'PodDisruptionBudget/foresight', 'Service/foresight'].sort());
  expect(ids(built.sharded)).toEqual([...base, 'PodDisruptionBudget/foresight-shard', 'Role/foresight-actuator-shards', 'RoleBinding/foresight-actuator-shards', 'Service/foresight-shard', 'StatefulSet/foresight-shard'].sort());
  for (const objs of [built.unsharded, built.sharded]) expect(ids(objs)).toContain('Namespace/foresight-system');
  // two actuators must never be installed together: the sharded build has no Deployment, the unsharded no shards
  expect(built.sharded.filter((o) => o.kind === 'Deployment' || (o.kind === 'Service' && o.metadata.name === 'foresight'))).toEqual([]);
  expect(built.unsharded.filter((o) => o.kind === 'StatefulSet')).toEqual([]);
}

/** A Service's (or ServiceMonitor's) equality selector against a set of labels. */
function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** API groups the test kube-apiserver serves without a CRD. */
const BUILT_IN = /^(v1|apps\/v1|policy\/v1|rbac\.authorization\.k8s\.io\/v1|scheduling\.k8s\.io\/v1|coordination\.k8s\.io\/v1)$/;

/** The job label the Prometheus Operator gives a Service's targets: its `jobLabel` label, else the Service's name. */
function jobOf(svc: K8sObject): string {
  const sm = monitor.spec as unknown as ServiceMonitorSpec;
  for (const e of sm.endpoints) expect(e.relabelings?.some((r) => r.targetLabel === 'job') ?? false, 'job set by a relabeling: check it here').toBe(false);
  return (sm.jobLabel && svc.metadata.labels?.[sm.jobLabel]) || svc.metadata.name;
}

/**
 * Where a pod breaks the Pod Security "restricted" profile, for the fields our pods set (no host namespaces,
 * volumes or ports here): non-root, no privilege escalation, every capability dropped, a RuntimeDefault or Localhost
 * seccomp profile; container settings override the pod's.
 */
function restrictedViolations(spec: PodSpec): string[] {
  const v: string[] = [];
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) v.push('host namespaces');
  if (spec.volumes?.length) v.push('volumes: check their types against the profile here');
  const pod = spec.securityContext ?? {};
  for (const c of spec.containers) {
    const sc = c.securityContext ?? {};
    const at = (what: string): string => `${c.name}: ${what}`;
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) v.push(at('runAsNonRoot is not true'));
    if ((sc.runAsUser ?? pod.runAsUser) === 0) v.push(at('runAsUser 0'));
    if (sc.privileged) v.push(at('privileged'));
    if (sc.allowPrivilegeEscalation !== false) v.push(at('allowPrivilegeEscalation is not false'));
    if (!sc.capabilities?.drop?.includes('ALL')) v.push(at('capabilities do not drop ALL'));
    if ((sc.capabilities?.add ?? []).some((a) => a !== 'NET_BIND_SERVICE')) v.push(at('adds capabilities'));
    if (!['RuntimeDefault', 'Localhost'].includes((sc.seccompProfile ?? pod.seccompProfile)?.type ?? '')) v.push(at('no RuntimeDefault seccomp profile'));
  }
  return v;
}

describe('deploy/ kustomizations', () => {
  it('build the unsharded install with a Deployment and the sharded one with a StatefulSet and no Deployment', () => {
    expectInstalls({ unsharded, sharded });
  });

  it('refuse an overlay that lists the folder above it, as kustomize does (the layout that once broke deploy/sharded/)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'foresight-kustomize-'));
    try {
      mkdirSync(join(dir, 'overlay'));
      writeFileSync(join(dir, 'kustomization.yaml'), 'resources: [cm.yaml]\n');
      writeFileSync(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n');
      writeFileSync(join(dir, 'overlay', 'kustomization.yaml'), 'resources: ["../"]\n');
      expect(kustomizeResources(dir).map((o) => o.metadata.name)).toEqual(['a']);
      expect(() => kustomizeResources(join(dir, 'overlay'))).toThrow(/cycle detected: candidate root .* contains visited root .*overlay/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists base/ file by file in deploy/kustomization.yaml, which the real-API tests apply, and nothing else shared', () => {
    // kube-env.ts reads each entry of deploy/kustomization.yaml as a file: a `base` folder entry would break it
    const base = resources('deploy/base/kustomization.yaml');
    expect(resources('deploy/kustomization.yaml')).toEqual([...base.map((f) => `base/${f}`), 'deployment.yaml', 'service.yaml', 'pdb.yaml']);
    expect(resources('deploy/sharded/kustomization.yaml')).toContain('../base');
  });

  it('has only built-in kinds in both installs; the ServiceMonitor stands apart', () => {
    for (const o of [...unsharded, ...sharded]) expect(o.apiVersion, `${o.kind} ${o.metadata.name}`).toMatch(BUILT_IN);
    expect(ids(monitoring)).toEqual(['ServiceMonitor/foresight']);
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
  });
});

describeWithBinaries('deploy/ built by kubectl kustomize', ['kubectl'], (bins) => {
  const build = (dir: string): K8sObject[] => parseObjects(execFileSync(bins.kubectl, ['kustomize', repoPath(dir)], { encoding: 'utf8', timeout: 60_000 }));

  it('builds deploy/ and deploy/sharded/ into the same objects as the resolver above', () => {
    const built = { unsharded: build('deploy'), sharded: build('deploy/sharded') };
    expectInstalls(built);
    expect(ids(built.unsharded)).toEqual(ids(unsharded));
    expect(ids(built.sharded)).toEqual(ids(sharded));
    expect(ids(build('deploy/monitoring'))).toEqual(ids(monitoring));
  });
});

describe('deploy/ pods', () => {
  it('has a Service foresight on port 8080 that selects the Deployment\'s pods and no shard pod', () => {
    const spec = service.spec as unknown as ServiceSpec;
    const pods = (deployment.spec as unknown as PodTemplateSpec).template;
    expect(service.metadata.namespace).toBe(deployment.metadata.namespace);
    expect(selects(spec.selector, pods.metadata.labels)).toBe(true);
    expect(selects(spec.selector, (statefulSet.spec as unknown as PodTemplateSpec).template.metadata.labels)).toBe(false);
    const port = spec.ports.find((p) => p.port === 8080);
    expect(port?.name).toBe('http');
    // the target port is the container's named port serving /metrics and the API
    const named = pods.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === port?.targetPort);
    expect(named?.containerPort).toBe(8080);
  });

  it('spreads each install\'s pods over nodes and lets a drain evict one at a time, selecting exactly its own pods', () => {
    const matches = (sel: Record<string, string>, labels: Record<string, string>): boolean => Object.entries(sel).every(([k, v]) => labels[k] === v);
    for (const [w, pdb, others] of [[deployment, one(unsharded, 'PodDisruptionBudget', 'foresight'), statefulSet], [statefulSet, one(sharded, 'PodDisruptionBudget', 'foresight-shard'), deployment]] as const) {
      const own = (w.spec as unknown as PodTemplateSpec).template.metadata.labels;
      const other = (others.spec as unknown as PodTemplateSpec).template.metadata.labels;
      const sel = (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      expect(matches(sel, own), `${pdb.metadata.name} selects ${w.kind}`).toBe(true);
      expect(matches(sel, other), `${pdb.metadata.name} leaves the other install alone`).toBe(false);
      const spread = ((w.spec as unknown as PodTemplateSpec).template.spec as { topologySpreadConstraints?: Array<{ topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }> }).topologySpreadConstraints ?? [];
      expect(spread.map((c) => c.topologyKey), w.kind).toEqual(['kubernetes.io/hostname']);
      expect(matches(spread[0].labelSelector.matchLabels, own) && !matches(spread[0].labelSelector.matchLabels, other), w.kind).toBe(true);
    }
    // the Lease holder is the pod's name and uid: a StatefulSet's replacement pod reuses the name, not the uid
    for (const w of [deployment, statefulSet]) {
      const env = ((w.spec as unknown as PodTemplateSpec).template.spec as unknown as { containers: Array<{ env: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }> }> }).containers[0].env;
      const by = new Map(env.map((e) => [e.name, e]));
      expect(by.get('FORESIGHT_ACTUATOR_IDENTITY')?.value, w.kind).toBe('$(POD_NAME)_$(POD_UID)');
      expect([by.get('POD_NAME')?.valueFrom?.fieldRef?.fieldPath, by.get('POD_UID')?.valueFrom?.fieldRef?.fieldPath], w.kind).toEqual(['metadata.name', 'metadata.uid']);
      // defined before the variable that refers to them, as the kubelet requires
      expect(env.findIndex((e) => e.name === 'POD_UID')).toBeLessThan(env.findIndex((e) => e.name === 'FORESIGHT_ACTUATOR_IDENTITY'));
    }
  });

  it('keeps the kubelet\'s service-link variables out of the pods, where the Service foresight would set FORESIGHT_PORT', () => {
    // what the kubelet injects for a Service named foresight (FORESIGHT_PORT is also the sidecar's port setting)
    expect(() => loadConfig({ env: { FORESIGHT_PORT: 'tcp://10.0.0.7:8080', FORESIGHT_SERVICE_HOST: '10.0.0.7' } })).toThrow(/FORESIGHT_PORT/);
    for (const w of [deployment, statefulSet]) expect((w.spec as unknown as PodTemplateSpec).template.spec.enableServiceLinks, w.kind).toBe(false);
  });

  it('enforces the restricted Pod Security profile in its namespace, which Foresight\'s pods and its placeholders meet', () => {
    const ns = one(unsharded, 'Namespace', 'foresight-system');
    for (const mode of ['enforce', 'audit', 'warn']) expect(ns.metadata.labels?.[`pod-security.kubernetes.io/${mode}`], mode).toBe('restricted');
    for (const w of [deployment, statefulSet]) expect(restrictedViolations((w.spec as unknown as PodTemplateSpec).template.spec), w.kind).toEqual([]);
    const opts = actuatorOptions({});
    expect(opts.shadowNamespace).toBe(ns.metadata.name);
    const shadow = new ShadowPods({} as KubeApi, opts, new ActionJournal(), createActuatorMetrics(new Registry()), silentLog);
    const placeholder = shadow.podManifest({ name: 'foresight-shadow-a-0', pool: 'a', cpu: '1', memory: '1Gi' }) as { spec: PodSpec };
    expect(restrictedViolations(placeholder.spec)).toEqual([]);
    // the check itself: a pod without any security settings breaks it
    expect(restrictedViolations({ containers: [{ name: 'c' }] })).toHaveLength(4);
  });

  it('lets the actuator get, patch and delete only the quota named by the default actuator.quotaName, and list namespaces', () => {
    const role = one(unsharded, 'ClusterRole', 'foresight-quotas');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['namespaces'], verbs: ['list'] },
      { apiGroups: [''], resources: ['resourcequotas'], verbs: ['create'] },
      { apiGroups: [''], resources: ['resourcequotas'], resourceNames: [actuatorOptions({}).quotaName], verbs: ['get', 'patch', 'delete'] },
    ]);
  });
});

describe('deploy/monitoring/', () => {
  it('scrapes the Deployment\'s and the shards\' Service as the job every alert selects', () => {
    const sm = monitor.spec as unknown as ServiceMonitorSpec;
    const jobs = new Set(loadAlertRules().flatMap((r) => [...r.expr.matchAll(/\bjob="([^"]*)"/g)].map((m) => m[1])));
    expect([...jobs]).toEqual(['foresight']);
    for (const svc of [service, shardService]) {
      const what = `Service ${svc.metadata.name}`;
      expect(selects(sm.selector.matchLabels, svc.metadata.labels), what).toBe(true);
      const ns = sm.namespaceSelector?.any ? [svc.metadata.namespace] : (sm.namespaceSelector?.matchNames ?? [monitor.metadata.namespace]);
      expect(ns, what).toContain(svc.metadata.namespace);
      const ports = new Set((svc.spec as unknown as ServiceSpec).ports.map((p) => p.name));
      for (const e of sm.endpoints) expect(ports.has(e.port), `${what} port ${e.port}`).toBe(true);
      expect(jobOf(svc), what).toBe('foresight');
    }
  });
});
