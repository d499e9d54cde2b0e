// `reactive`: threshold scaling in the HPA style (target utilisation, tolerance, scale-down stabilisation; no prediction).
import { lastFinite, type Policy, type PolicyContext } from '../policy.js';

export interface ReactiveOptions {
  /** Target utilisation of the allocation (usage / allocation). HPA has no default; 0.7 is the common example value. */
  targetUtilisation: number;
  /** HPA's --horizontal-pod-autoscaler-tolerance default: no change while |ratio - 1| <= 0.1. */
  tolerance: number;
  /** HPA's default scale-down stabilisation window (behavior.scaleDown.stabilizationWindowSeconds = 300 s). */
  downStabilisationS: number;
}

export const REACTIVE_DEFAULTS: Readonly<ReactiveOptions> = Object.freeze({ targetUtilisation: 0.7, tolerance: 0.1, downStabilisationS: 300 });

/**
 * HPA's rule (k8s.io/kubernetes pkg/controller/podautoscaler: desired = current * currentMetric / target, skipped
 * within the tolerance) applied vertically: desired = lastUsage / targetUtilisation. Scale-up is immediate; a
 * scale-down takes the highest desired value over the stabilisation window, as the HPA's default behaviour does.
 */
export class ReactivePolicy implements Policy {
  readonly name = 'reactive' as const;
  readonly label: string;
  readonly knob: { name: string; value: number };
  readonly #o: ReactiveOptions;
  readonly #alloc: Float64Array;
  readonly #desired: number[][];
  readonly #window: number;

  constructor(ctx: PolicyContext, opts: Partial<ReactiveOptions> = {}, label?: string) {
    this.#o = { ...REACTIVE_DEFAULTS, ...opts };
    this.label = label ?? 'reactive';
    this.knob = { name: 'target_utilisation', value: this.#o.targetUtilisation };
    this.#alloc = new Float64Array(ctx.tenants.length).fill(NaN);
    this.#desired = ctx.tenants.map(() => []);
    // The HPA keeps the recommendations of the last downStabilisationS, made every 15 s as it syncs: at 5-minute
    // samples, those of the newest sample and of the one before (made from it until the newest arrived). So the window
    // holds floor(S / interval) + 1 samples: 2 at 5 minutes, 6 at 1 minute, the newest alone at an hour.
    this.#window = Math.floor(this.#o.downStabilisationS / ctx.intervalS + 1e-9) + 1;
  }

  step(_i: number, visible: readonly Float64Array[], out: Float64Array): void {
    for (let k = 0; k < visible.length; k++) {
      const u = lastFinite(visible[k]);
      const cur = this.#alloc[k];
      if (u === u) {
        const desired = u / this.#o.targetUtilisation;
        const hist = this.#desired[k];
        hist.push(desired);
        if (hist.length > this.#window) hist.shift();
        if (cur !== cur) this.#alloc[k] = desired;
        else if (Math.abs(u / cur / this.#o.targetUtilisation - 1) > this.#o.tolerance) {
          this.#alloc[k] = desired > cur ? desired : Math.min(cur, Math.max(...hist));
        }
      }
      out[k] = this.#alloc[k];
    }
  }
}
