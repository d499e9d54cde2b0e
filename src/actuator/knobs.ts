// Which Kubernetes knob (if any) Foresight turns for each forecast resource, and what it does when none exists.
// The README table and the API's per-resource field are rendered from this list (issue 7).

export type Enforcement = 'enforced' | 'advisory' | 'none';

export interface ResourceKnob {
  /** Resource name as in traces and snapshots (trace FORMAT.md). */
  resource: string;
  /** The Kubernetes mechanisms Foresight drives for it (empty when none exists). */
  knobs: readonly string[];
  enforcement: Enforcement;
  /** What Foresight does for this resource, plainly. */
  action: string;
}

export const RESOURCE_KNOBS: readonly ResourceKnob[] = Object.freeze([
  { resource: 'cpu', knobs: ['VPA status.recommendation (cpu)', 'ResourceQuota requests.cpu / limits.cpu'], enforcement: 'enforced', action: 'Recommends container requests through its VPA recommender and sizes the opted-in namespace quota ahead of demand; shadow placeholder pods reserve the pooled increase.' },
  { resource: 'memory', knobs: ['VPA status.recommendation (memory)', 'ResourceQuota requests.memory / limits.memory'], enforcement: 'enforced', action: 'As cpu.' },
  { resource: 'ephemeral_storage', knobs: ['ResourceQuota requests.ephemeral-storage'], enforcement: 'enforced', action: 'Sizes the opted-in namespace quota; the VPA does not recommend ephemeral storage.' },
  { resource: 'pods', knobs: ['ResourceQuota count/pods'], enforcement: 'enforced', action: 'Sizes the opted-in namespace quota from the upper forecast of the pod count.' },
  { resource: 'network', knobs: ['pod annotations kubernetes.io/ingress-bandwidth, kubernetes.io/egress-bandwidth'], enforcement: 'advisory', action: 'Publishes a bandwidth recommendation (API and metrics); tenants\' pods get the annotations only through the operator\'s admission policy (honoured by the CNI bandwidth plugin). It is a limit, not a reservation: the scheduler counts no bandwidth, so no placeholder holds any.' },
  { resource: 'disk_io', knobs: [], enforcement: 'none', action: 'No per-tenant Kubernetes knob exists: Foresight forecasts it and alerts when the forecast exceeds the configured limit; it enforces nothing.' },
  { resource: 'fds', knobs: [], enforcement: 'none', action: 'No per-tenant Kubernetes knob exists: forecast and alert against the configured limit only.' },
  { resource: 'threads', knobs: [], enforcement: 'none', action: 'No per-tenant Kubernetes knob exists (pid limits are per node/pod, not per tenant): forecast and alert against the configured limit only.' },
]);

const UNKNOWN: Omit<ResourceKnob, 'resource'> = { knobs: [], enforcement: 'none', action: 'Forecast only: no actuation is configured for this resource.' };

/** The knob entry of a resource (`cpu_peak` and other variants map to their base resource). */
export function knobFor(resource: string): ResourceKnob {
  const base = resource.replace(/_(peak|max|avg)$/, '');
  return RESOURCE_KNOBS.find((k) => k.resource === base) ?? { resource, ...UNKNOWN };
}
