// The API's per-resource `actuation` field (issue 7): which Kubernetes knob Foresight turns for a tenant's resource
// (src/actuator/knobs.ts), what it does when none exists, the configured limit of a resource it cannot enforce, and
// for network the bandwidth annotation value it recommends.
import type { Enforcement } from '../actuator/knobs.js';
import { limitFor, type ResourceLimits } from '../config/limits.js';
import type { ResourceState } from '../model/snapshot.js';
import { knobOfSignal } from '../model/resource-knob.js';

/** Network signals and the pod annotation (CNI bandwidth plugin) that bounds each direction. */
export const BANDWIDTH_ANNOTATION: Readonly<Record<string, string>> = {
  network_rx: 'kubernetes.io/ingress-bandwidth',
  network_tx: 'kubernetes.io/egress-bandwidth',
};

export interface ActuationBody {
  resource: string;
  enforcement: Enforcement;
  knobs: string[];
  action: string;
  limit: number | null;
  bandwidth: { annotation: string; value: string; bytesPerS: number } | null;
}

/**
 * The bandwidth recommendation of a network signal: the allocation the policy derived from its forecast (the
 * recommendation's target, bytes/s) as an annotation value in bits per second; null without a recommendation.
 */
export function bandwidthOf(r: ResourceState): ActuationBody['bandwidth'] {
  const annotation = BANDWIDTH_ANNOTATION[r.resource];
  const t = r.recommendation?.target;
  if (!annotation || t === undefined || !Number.isFinite(t) || t < 0) return null;
  return { annotation, value: String(Math.max(1, Math.ceil(t * 8))), bytesPerS: t };
}

export function actuationOf(r: ResourceState, limits?: ResourceLimits): ActuationBody {
  const k = knobOfSignal(r.resource);
  return {
    resource: k.resource,
    enforcement: k.enforcement,
    knobs: [...k.knobs],
    action: k.action,
    limit: limitFor(limits, r.tenant, r.resource) ?? null,
    bandwidth: bandwidthOf(r),
  };
}
