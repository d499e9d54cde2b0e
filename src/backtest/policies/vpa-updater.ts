// `vpa-updater`: `vpa` with the VPA updater's second rule, which replaces a request that has stayed in bounds too long.
//
// From k8s.io/autoscaler vertical-pod-autoscaler/pkg/updater:
//   priority/update_priority_calculator.go AddPod  a pod whose request is within [lower, upper] is still updated once
//                          it has run PodLifetimeUpdateThreshold and its ResourceDiff is at least MinChangePriority.
//   priority/priority_processor.go GetUpdatePriority  ResourceDiff = |request - target| / request (summed over
//                          resources, the request floored at 1 milli-unit; here one container and one resource, and a
//                          request of 0, possible in units without a minimum, differs from any positive target).
//   config/config.go       --in-recommendation-bounds-eviction-lifetime-threshold 12 h, --pod-update-threshold
//                          (DefaultUpdateThreshold) 0.1.
// An update evicts the pod and the admission controller sets the target on its replacement, so the pod's start, which
// the 12 hours count from, is reset at every change (also by the outside-bounds rule). Example: request 1.0, bounds
// [0.8, 1.5], target 1.2: `vpa` keeps 1.0 for good; here it becomes 1.2 once the pod is 12 h old, as the diff is 0.2.
// Left out, as in `vpa`: the quick-OOM rule (traces record no OOM kills) and eviction rate limits (one pod per tenant).
import type { PolicyContext } from '../policy.js';
import { VpaPolicy, type VpaOptions, type VpaRecommendation } from './vpa.js';

export interface UpdaterRule {
  /** Age, seconds, after which a pod whose request is within bounds may be updated (12 h). */
  podLifetimeS: number;
  /** Smallest |request - target| / request that updates such a pod (0.1). */
  minChange: number;
}

export const VPA_UPDATER_DEFAULTS: Readonly<UpdaterRule> = Object.freeze({ podLifetimeS: 12 * 3600, minChange: 0.1 });

/** The updater's ResourceDiff for one resource of one container. Example: request 1.0, target 1.2 -> 0.2. */
export function resourceDiff(request: number, target: number): number {
  const r = Math.max(request, 1e-12);
  return Math.abs(r - target) / r;
}

export class VpaUpdaterPolicy extends VpaPolicy {
  override readonly name = 'vpa-updater' as const;
  readonly #rule: UpdaterRule;
  /** Time the tenant's pod started: its last update (NaN before the first). */
  readonly #podStartS: Float64Array;

  constructor(ctx: PolicyContext, opts: Partial<VpaOptions & UpdaterRule> = {}, label?: string) {
    const { podLifetimeS, minChange, ...vpa } = opts;
    super(ctx, vpa, label ?? 'vpa-updater');
    this.#rule = { podLifetimeS: podLifetimeS ?? VPA_UPDATER_DEFAULTS.podLifetimeS, minChange: minChange ?? VPA_UPDATER_DEFAULTS.minChange };
    this.#podStartS = new Float64Array(ctx.tenants.length).fill(NaN);
  }

  protected override updates(k: number, nowS: number, current: number, r: VpaRecommendation, scoringStarts: boolean): boolean {
    const update =
      super.updates(k, nowS, current, r, scoringStarts) || (nowS - this.#podStartS[k] >= this.#rule.podLifetimeS && resourceDiff(current, r.target) >= this.#rule.minChange);
    if (update) this.#podStartS[k] = nowS;
    return update;
  }
}
