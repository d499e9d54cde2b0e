// deploy/ scrapes as the alerts and dashboards assume: a Service for the Deployment, a ServiceMonitor that gives both
// it and the shards' Service the job "foresight", and nothing that needs a CRD where the kube-apiserver tests apply
// the manifests (test/helpers/kube-env.ts applies what deploy/kustomization.yaml lists).
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { loadAlertRules, readText } from './promql.js';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

interface ServiceSpec {
  selector?: Record<string, string>;
  ports: Array<{ name?: string; port: number; targetPort?: string | number }>;
}

interface PodTemplateSpec {
  template: { metadata: { labels: Record<string, string> }; spec: { enableServiceLinks?: boolean; containers: Array<{ ports?: Array<{ name?: string; containerPort: number }> }> } };
}

interface ServiceMonitorSpec {
  jobLabel?: string;
  selector: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchNames?: string[]; any?: boolean };
  endpoints: Array<{ port?: string; relabelings?: Array<{ targetLabel?: string }> }>;
}

function objects(rel: string): K8sObject[] {
  return parseAllDocuments(readText(rel))
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => !!o?.kind);
}

function one(rel: string, kind: string, name: string): K8sObject {
  const o = objects(rel).find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${rel} has no ${kind} ${name}`);
  return o;
}

function resources(rel: string): string[] {
  return (objects(rel)[0] as unknown as { resources: string[] }).resources;
}

/** A Service's (or ServiceMonitor's) equality selector against a set of labels. */
function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** API groups the test kube-apiserver serves without a CRD. */
const BUILT_IN = /^(v1|apps\/v1|rbac\.authorization\.k8s\.io\/v1|scheduling\.k8s\.io\/v1|coordination\.k8s\.io\/v1)$/;

const deployment = one('deploy/deployment.yaml', 'Deployment', 'foresight');
const statefulSet = one('deploy/sharded/statefulset.yaml', 'StatefulSet', 'foresight-shard');
const service = one('deploy/service.yaml', 'Service', 'foresight');
const shardService = one('deploy/sharded/service.yaml', 'Service', 'foresight-shard');
const monitor = one('deploy/monitoring/servicemonitor.yaml', 'ServiceMonitor', 'foresight');

/** The job label the Prometheus Operator gives a Service's targets: its `jobLabel` label, else the Service's name. */
function jobOf(svc: K8sObject): string {
  const sm = monitor.spec as unknown as ServiceMonitorSpec;
  for (const e of sm.endpoints) expect(e.relabelings?.some((r) => r.targetLabel === 'job') ?? false, 'job set by a relabeling: check it here').toBe(false);
  return (sm.jobLabel && svc.metadata.labels?.[sm.jobLabel]) || svc.metadata.name;
}

describe('deploy/', () => {
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

  it('keeps the kubelet\'s service-link variables out of the pods, where the Service foresight would set FORESIGHT_PORT', () => {
    // what the kubelet injects for a Service named foresight (FORESIGHT_PORT is also the sidecar's port setting)
    expect(() => loadConfig({ env: { FORESIGHT_PORT: 'tcp://10.0.0.7:8080', FORESIGHT_SERVICE_HOST: '10.0.0.7' } })).toThrow(/FORESIGHT_PORT/);
    for (const w of [deployment, statefulSet]) expect((w.spec as unknown as PodTemplateSpec).template.spec.enableServiceLinks, w.kind).toBe(false);
  });

  it('applies the Service with the base and only built-in kinds there; the ServiceMonitor stands apart', () => {
    expect(resources('deploy/kustomization.yaml')).toContain('service.yaml');
    for (const f of resources('deploy/kustomization.yaml')) for (const o of objects(`deploy/${f}`)) expect(o.apiVersion, `deploy/${f} ${o.kind}`).toMatch(BUILT_IN);
    for (const f of resources('deploy/sharded/kustomization.yaml').filter((x) => x.endsWith('.yaml'))) {
      for (const o of objects(`deploy/sharded/${f}`)) expect(o.apiVersion, `deploy/sharded/${f} ${o.kind}`).toMatch(BUILT_IN);
    }
    expect(resources('deploy/monitoring/kustomization.yaml')).toEqual(['servicemonitor.yaml']);
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
  });

  it('removes the base\'s Service with the Deployment in the sharded overlay', () => {
    const overlay = readText('deploy/sharded/kustomization.yaml');
    const deleted = [...overlay.matchAll(/\$patch: delete\s+apiVersion: (\S+)\s+kind: (\w+)\s+metadata:\s+name: (\S+)/g)].map((m) => `${m[2]}/${m[3]}`);
    expect(deleted.sort()).toEqual(['Deployment/foresight', 'Service/foresight']);
  });

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
