// Default PromQL per signal, built on what every Kubernetes cluster already exposes (cAdvisor via the kubelet) plus a
// configurable request counter and DB query counter. Templates: {{tenant}} tenant label, {{window}} rate window,
// {{filter}} extra escaped matchers (", label!~\"...\"") or nothing.
import type { SignalSpec } from './history-source.js';

// container!="" drops the pod-level cgroup series cAdvisor also reports (it would double-count), container!="POD"
// the pause container. rate() handles counter resets (container restarts) and stale series for us.
export const DEFAULT_SIGNALS: readonly SignalSpec[] = [
  {
    resource: 'cpu',
    unit: 'cores',
    query: 'sum by ({{tenant}}) (rate(container_cpu_usage_seconds_total{container!="",container!="POD"{{filter}}}[{{window}}]))',
  },
  {
    resource: 'memory',
    unit: 'bytes',
    query: 'sum by ({{tenant}}) (container_memory_working_set_bytes{container!="",container!="POD"{{filter}}})',
  },
  {
    // kube-state-metrics: one series per pod and phase, 1 for the pod's current phase and 0 for the others, so the sum
    // over phase="Running" counts running pods (what count/pods must admit at the peak; Pending pods fail admission).
    resource: 'pods',
    unit: 'count',
    query: 'sum by ({{tenant}}) (kube_pod_status_phase{phase="Running"{{filter}}})',
  },
  {
    // cAdvisor's per-container filesystem usage (writable layer and logs on the node's filesystem): what
    // requests.ephemeral-storage bounds. Pod-cgroup and pause-container series excluded as for memory.
    resource: 'ephemeral_storage',
    unit: 'bytes',
    query: 'sum by ({{tenant}}) (container_fs_usage_bytes{container!="",container!="POD"{{filter}}})',
  },
  {
    resource: 'disk_read',
    unit: 'bytes_per_second',
    query: 'sum by ({{tenant}}) (rate(container_fs_reads_bytes_total{container!=""{{filter}}}[{{window}}]))',
  },
  {
    resource: 'disk_write',
    unit: 'bytes_per_second',
    query: 'sum by ({{tenant}}) (rate(container_fs_writes_bytes_total{container!=""{{filter}}}[{{window}}]))',
  },
  {
    // Network is accounted on the pod sandbox (container="" or "POD"), so no container filter here; lo is not traffic.
    resource: 'network_rx',
    unit: 'bytes_per_second',
    query: 'sum by ({{tenant}}) (rate(container_network_receive_bytes_total{interface!="lo"{{filter}}}[{{window}}]))',
  },
  {
    resource: 'network_tx',
    unit: 'bytes_per_second',
    query: 'sum by ({{tenant}}) (rate(container_network_transmit_bytes_total{interface!="lo"{{filter}}}[{{window}}]))',
  },
  {
    resource: 'threads',
    unit: 'threads',
    query: 'sum by ({{tenant}}) (container_threads{container!=""{{filter}}})',
  },
  {
    resource: 'fds',
    unit: 'file_descriptors',
    query: 'sum by ({{tenant}}) (container_file_descriptors{container!=""{{filter}}})',
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
    query:
      'sum by ({{tenant}}) (rate(container_fs_reads_total{container!=""{{filter}}}[{{window}}])) + sum by ({{tenant}}) (rate(container_fs_writes_total{container!=""{{filter}}}[{{window}}]))',
  },
  {
    resource: 'db_queries',
    unit: 'queries_per_second',
    query: 'sum by ({{tenant}}) (rate(db_queries_total{{{tenant}}!=""{{filter}}}[{{window}}]))',
  },
];
