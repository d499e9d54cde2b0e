// Default PromQL per signal, built on what every Kubernetes cluster already exposes (cAdvisor via the kubelet) plus a
// configurable request counter and DB query counter. Templates: {{tenant}} tenant label, {{window}} rate window,
// {{filter}} extra escaped matchers (", label!~\"...\"") or nothing.
import type { SignalSpec } from './history-source.js';

// container!="" drops the pod-level cgroup series cAdvisor also reports (it would double-count), container!="POD"
// the pause container of dockershim and cri-dockerd. rate() handles counter resets (container restarts) and stale
// series for us.
//
// Each pod's series are first reduced to one per container (per interface for network, per device for the
// filesystem) with `max`: the same container is often scraped twice, and a sum would count it twice. The kubelet's
// /metrics/resource endpoint exposes container_cpu_usage_seconds_total and container_memory_working_set_bytes as
// /metrics/cadvisor does (kube-prometheus-stack can scrape both), kube-state-metrics runs in pairs for availability,
// and a Thanos querier without deduplication returns each Prometheus replica's copy.
//
// Gauges (memory, ephemeral storage, threads, descriptors) are read as their peak over the window, as counters are
// read as their rate over it: a bare selector gives the one scrape at each step, and a 5-minute step would miss a
// working set that rose for a minute between two points.

/**
 * A cAdvisor metric's series of named containers (not the pod cgroup, not the pause container), through `over` (a
 * rate, an average over time; the bare selector when absent), reduced to one value per pod and container (and per
 * value of each label of `per`) whatever scraped them.
 */
export function perContainer(metric: string, over: (selector: string) => string = (sel) => sel, per: readonly string[] = []): string {
  return `max by (${['{{tenant}}', 'namespace', 'pod', 'container', ...per].join(', ')}) (${over(`${metric}{container!="",container!="POD"{{filter}}}`)})`;
}

/** rate() over the configured window. */
const RATE = (selector: string): string => `rate(${selector}[{{window}}])`;
/** A gauge's largest value over the configured window: what the step's points would miss between them (a burst of
 *  memory, threads or descriptors), and what an allocation must hold. */
const PEAK = (selector: string): string => `max_over_time(${selector}[{{window}}])`;

/** A tenant's total of a cAdvisor metric over its containers (perContainer). */
const containerSum = (metric: string, over?: (selector: string) => string, per?: readonly string[]): string => `sum by ({{tenant}}) (${perContainer(metric, over, per)})`;
/** The same for cAdvisor's filesystem metrics: one series per device, of which a container with a volume has two. */
const fsSum = (metric: string, over?: (selector: string) => string): string => containerSum(metric, over, ['device']);

/**
 * A kube-state-metrics selector whose namespace, pod (and tenant label) are the pod's own also when Prometheus scrapes
 * kube-state-metrics without `honor_labels`: the target's labels then win (a pod-role scrape job sets namespace and
 * pod), and the pod's arrive as exported_namespace and exported_pod, which label_replace puts back (a series without
 * them is left as it is). No {{filter}}: a kube-state-metrics in kube-system, which the default exclusions name,
 * would lose every series before the relabel; the source keeps only the configured tenants while reading the response.
 */
export const kubeStateMetrics = (selector: string): string =>
  ['namespace', 'pod', '{{tenant}}'].reduce((e, l) => `label_replace(${e}, "${l}", "$1", "exported_${l}", "(.+)")`, selector);

/**
 * Network of each pod's interfaces (cAdvisor reports it on the pod sandbox: container="" or "POD"), without the pods
 * on the host's network: their sandbox reports every interface of the node, so a node-exporter or CNI pod would be
 * charged the whole node's traffic. kube-state-metrics' kube_pod_info names them; without it nothing is left out.
 */
const podNetwork = (metric: string) =>
  `sum by ({{tenant}}) (max by ({{tenant}}, namespace, pod, interface) (${RATE(`${metric}{interface!="lo"{{filter}}}`)}) unless on (namespace, pod) ${kubeStateMetrics('kube_pod_info{host_network="true"}')})`;

export const DEFAULT_SIGNALS: readonly SignalSpec[] = [
  {
    resource: 'cpu',
    unit: 'cores',
    query: containerSum('container_cpu_usage_seconds_total', RATE),
  },
  {
    resource: 'memory',
    unit: 'bytes',
    query: containerSum('container_memory_working_set_bytes', PEAK),
  },
  {
    // kube-state-metrics: one series per pod and phase, 1 for the pod's current phase and 0 for the others, so the sum
    // over phase="Running" counts running pods (what count/pods must admit at the peak; Pending pods fail admission).
    // One per pod: two kube-state-metrics replicas would double the count and halve each pod's recommendation.
    resource: 'pods',
    unit: 'count',
    query: `sum by ({{tenant}}) (max by ({{tenant}}, namespace, pod) (${kubeStateMetrics('kube_pod_status_phase{phase="Running"}')}))`,
  },
  {
    // cAdvisor's per-container filesystem usage (writable layer and logs on the node's filesystem): what
    // requests.ephemeral-storage bounds. Pod-cgroup and pause-container series excluded as for memory. cAdvisor
    // reports it under Docker and CRI-O; under containerd it has no per-container series, and the signal finds none.
    resource: 'ephemeral_storage',
    unit: 'bytes',
    query: fsSum('container_fs_usage_bytes', PEAK),
  },
  {
    resource: 'disk_read',
    unit: 'bytes_per_second',
    query: fsSum('container_fs_reads_bytes_total', RATE),
  },
  {
    resource: 'disk_write',
    unit: 'bytes_per_second',
    query: fsSum('container_fs_writes_bytes_total', RATE),
  },
  { resource: 'network_rx', unit: 'bytes_per_second', query: podNetwork('container_network_receive_bytes_total') },
  { resource: 'network_tx', unit: 'bytes_per_second', query: podNetwork('container_network_transmit_bytes_total') },
  {
    resource: 'threads',
    unit: 'threads',
    query: containerSum('container_threads', PEAK),
  },
  {
    resource: 'fds',
    unit: 'file_descriptors',
    query: containerSum('container_file_descriptors', PEAK),
  },
  {
    // API calls by type: the breakdown gives the profile's call mix; the per-tenant total is forecast.
    resource: 'api_calls',
    unit: 'requests_per_second',
    query: 'sum by ({{tenant}}, method, route) (rate(http_requests_total{{{tenant}}!=""{{filter}}}[{{window}}]))',
    breakdownBy: ['method', 'route'],
  },
  {
    resource: 'file_ops',
    unit: 'operations_per_second',
    // Two sums, not rate({__name__=~"reads|writes"}): rate() drops the name, and Prometheus rejects the resulting
    // duplicate label sets ("vector cannot contain metrics with the same labelset").
    query: `${fsSum('container_fs_reads_total', RATE)} + ${fsSum('container_fs_writes_total', RATE)}`,
  },
  {
    resource: 'db_queries',
    unit: 'queries_per_second',
    query: 'sum by ({{tenant}}) (rate(db_queries_total{{{tenant}}!=""{{filter}}}[{{window}}]))',
  },
];
