// A VPA whose update mode applies a recommendation by evicting pods (Auto, Recreate, Initial, Off: anything but
// in-place) would have the updater evict its pods whenever the recommendation follows the forecast through the day:
// the updater evicts at once a pod whose request is outside [lowerBound, upperBound], and one older than 12 hours
// whose request is 10% off the target (vertical-pod-autoscaler pkg/updater/priority). For those VPAs the recommendation
// is the bound-by-bound largest of the last `windowS`, in hourly buckets: a pod is sized for the day's peak it will
// live through, raised at once when the forecast rises above it, and lowered only when a whole window asked for less.
import type { Recommendation } from '../model/snapshot.js';

const BUCKET_S = 3600;

/** Update modes in which the VPA updater resizes pods in place; every other mode evicts (or never acts). */
const IN_PLACE_MODES = new Set(['InPlaceOrRecreate']);

/**
 * The smallest decrease written for a held VPA: the updater's own minimum change (DefaultUpdateThreshold 0.1), below
 * which it would not act on a pod anyway. Smaller decreases, which a window sliding past the day's bursts makes every
 * hour or two, would add up to one that evicts.
 */
export const HELD_MIN_DECREASE = 0.1;

/** Whether a VPA of this update mode gets the held (trailing-window) recommendation. */
export function evictsToApply(updateMode: string | undefined): boolean {
  return !IN_PLACE_MODES.has(updateMode ?? 'Auto');
}

interface Bucket {
  hour: number;
  b: Recommendation;
}

export class RecommendationHold {
  readonly #windows = new Map<string, Bucket[]>();
  constructor(readonly windowS: number) {}

  /**
   * Adds `b` (one container resource of one VPA at `nowS`) and returns the largest of the window, bound by bound
   * (uncappedTarget too). `seed`, the recommendation in force, fills an empty window: after a restart a pod is not
   * shrunk before a whole window asked for less.
   */
  apply(key: string, nowS: number, b: Recommendation, seed?: Recommendation): Recommendation {
    if (!(this.windowS > 0)) return b;
    const hour = Math.floor(nowS / BUCKET_S);
    let w = this.#windows.get(key);
    if (!w) this.#windows.set(key, (w = seed ? [{ hour, b: { ...seed } }] : []));
    // a bucket leaves once its end has left the window: dropped by its start, a peak late in its hour was released up
    // to an hour before the window had passed it (a day's peak let go before the next day's, two evictions a day)
    while (w.length && (w[0].hour + 1) * BUCKET_S <= nowS - this.windowS) w.shift();
    const last = w.at(-1);
    if (last?.hour === hour) last.b = maxOf(last.b, b);
    else w.push({ hour, b: { ...b } });
    return w.reduce((m, x) => maxOf(m, x.b), b);
  }

  /** Forgets the windows whose key starts with `prefix` (a VPA that is gone). */
  forget(prefix: string): void {
    for (const k of this.#windows.keys()) if (k.startsWith(prefix)) this.#windows.delete(k);
  }
}

function maxOf(a: Recommendation, b: Recommendation): Recommendation {
  const m = (x: number, y: number) => (Number.isFinite(x) ? (Number.isFinite(y) ? Math.max(x, y) : x) : y);
  return { target: m(a.target, b.target), lowerBound: m(a.lowerBound, b.lowerBound), upperBound: m(a.upperBound, b.upperBound), uncappedTarget: m(a.uncappedTarget, b.uncappedTarget) };
}
