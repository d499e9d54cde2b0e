// The actuator's options: every field with its default, unit and range (H5 folds this table into the config schema).
import { DEFAULT_RATE_LIMIT, type RateLimitConfig } from '../logic/rate-limit.js';
import { DEFAULT_RECLAIM, type ReclaimConfig } from '../logic/reclaim.js';

/** One option's documentation, in the form the config schema and README use. */
export interface OptionDoc {
  default: unknown;
  unit: string;
  range: string;
  help: string;
}

export interface ActuatorOptions {
  /** Write nothing; journal what would be done. */
  dryRun: boolean;
  /** The name VPAs list in `spec.recommenders` to be served by Foresight. */
  recommenderName: string;
  /** Namespaces whose VPAs are served; empty = cluster-wide. */
  namespaces: readonly string[];
  /** VPA annotation naming the tenant (otherwise the VPA's namespace is the tenant). */
  tenantAnnotation: string;
  /** VPA annotation with per-container shares, `app=0.7,sidecar=0.3`: when a VPA has a valid one it splits the
   *  recommendation, before any measured usage by container. */
  containerSharesAnnotation: string;
  /** Snapshot resource names mapped to the Kubernetes resources the VPA recommends (cpu in cores, memory in bytes). */
  cpuResource: string;
  memoryResource: string;
  /** Quantile level used for the target (the bounds use the lowest and highest levels of the snapshot). */
  targetQuantile: number;
  /** Relative change below which a recommendation is not rewritten (a target increase always is: writesTarget). */
  tolerance: number;
  /** Trailing window (s) whose largest recommendation a VPA gets when its update mode evicts pods (src/actuator/hold.ts). */
  stableWindowS: number;
  /** History shorter than this (samples) marks a recommendation LowConfidence. */
  lowConfidencePoints: number;
  /** Global bounds per container, base units. */
  minCpuCores: number;
  maxCpuCores: number;
  minMemoryBytes: number;
  maxMemoryBytes: number;
  /** Largest relative change of a target in one cycle (0.5 = at most +-50%); an increase still reaches the recent peak. */
  maxStepRatio: number;
  /** Seconds between two changes of the same target. */
  cooldownS: number;
  /** Long-run bound on the changes of one target per hour (a token bucket, src/logic/rate-limit.ts), for the
   *  recommendations and for what the actuator writes alike. */
  maxChangesPerHour: number;
  /** Shrink only after usage stayed below this share of the allocation for `reclaimAfterS`. */
  reclaimBelowRatio: number;
  reclaimAfterS: number;
  /** Shrink only when the new value is at least this fraction below the one in force (src/logic/reclaim.ts). */
  reclaimHysteresis: number;
  /** Demand flagged anomalous is acted upon only after it stayed flagged this long (0 = never act while flagged). */
  anomalyConfirmS: number;
  // Shadow capacity
  shadowEnabled: boolean;
  shadowNamespace: string;
  priorityClassName: string;
  pauseImage: string;
  /** nodeSelector of the placeholders, `key=value[,key=value]` (empty = none): the nodes whose room they hold. */
  shadowNodeSelector: string;
  /** Snapshot shadow resources that size placeholder pods. */
  shadowCpuResource: string;
  shadowMemoryResource: string;
  /** Largest single placeholder pod; bigger reserves are split over several pods. */
  maxPodCpuCores: number;
  maxPodMemoryBytes: number;
  /** Cap on the total shadow capacity across pools. */
  maxShadowCpuCores: number;
  maxShadowMemoryBytes: number;
  /** Relative size change below which placeholders are not replaced. */
  shadowTolerance: number;
  // Namespace quotas (issue 7)
  quotaEnabled: boolean;
  /** Namespace label that opts a tenant in (value "true"). */
  quotaOptInLabel: string;
  /** Name of Foresight's own ResourceQuota in each opted-in namespace. */
  quotaName: string;
  /** limits.cpu / limits.memory = the upper-bound forecast times this ratio. */
  quotaLimitsRatio: number;
  /** Room every quota keeps above what the namespace uses (status.used), as a share of it (count/pods: at least one
   *  pod), so that a rollout's surge pods and new pods are admitted. */
  quotaSurgeRatio: number;
  /** Snapshot resources behind requests.ephemeral-storage (bytes) and count/pods. */
  ephemeralStorageResource: string;
  podsResource: string;
  /** Pool whose placeholder reserve covers at least the quota headroom (sum of requests hard - used); empty = off. */
  quotaShadowPool: string;
  // Leader election
  leaseNamespace: string;
  leaseName: string;
  leaseDurationS: number;
  identity: string;
  // Journal and errors
  journalPath: string;
  journalMemoryEntries: number;
  /** Timeout of one Kubernetes request, ms. */
  requestTimeoutMs: number;
  conflictRetries: number;
  /** Back-off after 5xx or timeouts: doubles from min to max, seconds. */
  backoffMinS: number;
  backoffMaxS: number;
}

export const actuatorOptionDocs: { readonly [K in keyof ActuatorOptions]: OptionDoc } = {
  dryRun: { default: true, unit: 'bool', range: 'true|false', help: 'Journal intended changes and write nothing (default until enabled).' },
  recommenderName: { default: 'foresight', unit: 'name', range: 'DNS label', help: 'Recommender name VPAs list in spec.recommenders.' },
  namespaces: { default: [], unit: 'names', range: 'empty = cluster-wide', help: 'Namespaces whose VPAs are served.' },
  tenantAnnotation: { default: 'foresight.io/tenant', unit: 'key', range: 'annotation key', help: 'VPA annotation naming the tenant; default tenant is the namespace.' },
  containerSharesAnnotation: { default: 'foresight.io/container-shares', unit: 'key', range: 'annotation key', help: 'VPA annotation `c1=0.7,c2=0.3` splitting the tenant recommendation.' },
  cpuResource: { default: 'cpu', unit: 'name', range: 'one of signals', help: 'Snapshot resource (cores) behind VPA cpu.' },
  memoryResource: { default: 'memory', unit: 'name', range: 'one of signals', help: 'Snapshot resource (bytes) behind VPA memory.' },
  targetQuantile: { default: 0.9, unit: 'ratio', range: '(0, 1)', help: 'Forecast quantile used as the target.' },
  tolerance: { default: 0.05, unit: 'ratio', range: '[0, 1)', help: 'Relative change below which a recommendation is left as is (a target increase is always written).' },
  stableWindowS: {
    default: 86_400,
    unit: 's',
    range: '[0, 7 days]',
    help: 'A VPA whose updateMode applies recommendations by evicting pods (Auto, Recreate, Initial, Off: all but InPlaceOrRecreate) gets the largest recommendation of this trailing window, bound by bound: raised at once, lowered only when a whole window asked for less, so that the VPA updater does not evict pods as the forecast follows the day. InPlaceOrRecreate VPAs follow the forecast. 0: every VPA follows the forecast.',
  },
  lowConfidencePoints: { default: 2016, unit: 'samples', range: '>= 0', help: 'History shorter than this is LowConfidence (a week at 5 min).' },
  minCpuCores: { default: 0.01, unit: 'cores', range: '>= 0', help: 'Global minimum per container.' },
  maxCpuCores: { default: 64, unit: 'cores', range: '> minCpuCores', help: 'Global maximum per container.' },
  minMemoryBytes: { default: 16 * 2 ** 20, unit: 'bytes', range: '>= 0', help: 'Global minimum per container.' },
  maxMemoryBytes: { default: 256 * 2 ** 30, unit: 'bytes', range: '> minMemoryBytes', help: 'Global maximum per container.' },
  maxStepRatio: { default: 0.5, unit: 'ratio', range: '(0, 10]', help: 'Largest relative change of a target per cycle (an increase still reaches the recent peak, and the demand of this time of day a day or a week before).' },
  cooldownS: { default: 300, unit: 's', range: '>= 0', help: 'Minimum time between two changes of one target.' },
  maxChangesPerHour: { default: DEFAULT_RATE_LIMIT.maxChangesPerHour, unit: 'changes/h', range: '(0, 60]', help: `Long-run bound on the changes of one target per hour, in bursts of at most ${DEFAULT_RATE_LIMIT.burst} (a decrease leaves a token for an increase), for the recommendations and the actuator's writes alike.` },
  // Reclamation is the allocation policy's rule (src/logic/reclaim.ts): these settings drive the recommendations and
  // this gate alike (src/main.ts), and their defaults are the policy's, which the backtest replays.
  reclaimBelowRatio: { default: DEFAULT_RECLAIM.utilisation, unit: 'ratio', range: '(0, 1]', help: 'Shrink only while usage stays below this share of the allocation (recommendations and actuator).' },
  reclaimAfterS: { default: DEFAULT_RECLAIM.afterS, unit: 's', range: '>= 0', help: 'How long usage must stay low before shrinking (recommendations and actuator).' },
  reclaimHysteresis: { default: DEFAULT_RECLAIM.hysteresis, unit: 'ratio', range: '[0, 1)', help: 'Shrink only when the new value is at least this fraction lower (recommendations and actuator).' },
  anomalyConfirmS: { default: 900, unit: 's', range: '>= 0', help: 'Act on anomalous demand only after it persisted this long (0 = never).' },
  shadowEnabled: { default: true, unit: 'bool', range: 'true|false', help: 'Keep shadow capacity as placeholder pods.' },
  shadowNamespace: { default: 'foresight-system', unit: 'name', range: 'namespace', help: 'Namespace of the placeholder pods (the actuator may create pods only there).' },
  priorityClassName: { default: 'foresight-shadow', unit: 'name', range: 'PriorityClass', help: 'PriorityClass of placeholders (value -10 in deploy/).' },
  pauseImage: { default: 'registry.k8s.io/pause:3.10', unit: 'image', range: 'image ref', help: 'Image of the placeholder pods.' },
  shadowNodeSelector: { default: '', unit: 'labels', range: 'key=value[,key=value] or empty', help: 'nodeSelector of the placeholder pods, e.g. cloud.google.com/gke-nodepool=default-pool: the nodes whose room they hold (empty = any node).' },
  shadowCpuResource: { default: 'cpu', unit: 'name', range: 'one of signals', help: 'ShadowPlan resource (cores) sizing placeholder cpu.' },
  shadowMemoryResource: { default: 'memory', unit: 'name', range: 'one of signals', help: 'ShadowPlan resource (bytes) sizing placeholder memory.' },
  maxPodCpuCores: { default: 4, unit: 'cores', range: '> 0', help: 'Largest placeholder pod (cpu).' },
  maxPodMemoryBytes: { default: 16 * 2 ** 30, unit: 'bytes', range: '> 0', help: 'Largest placeholder pod (memory).' },
  maxShadowCpuCores: { default: 32, unit: 'cores', range: '>= 0', help: 'Cap on total shadow cpu.' },
  maxShadowMemoryBytes: { default: 128 * 2 ** 30, unit: 'bytes', range: '>= 0', help: 'Cap on total shadow memory.' },
  shadowTolerance: { default: 0.1, unit: 'ratio', range: '[0, 1)', help: 'Relative size change below which placeholders are kept.' },
  quotaEnabled: { default: true, unit: 'bool', range: 'true|false', help: 'Manage a ResourceQuota in namespaces that opt in.' },
  quotaOptInLabel: { default: 'foresight.io/quota', unit: 'key', range: 'label key', help: 'Namespace label (value "true") opting a tenant in to managed quotas.' },
  quotaName: { default: 'foresight', unit: 'name', range: 'DNS name', help: "Name of Foresight's ResourceQuota (labelled as Foresight's; any other quota is never touched)." },
  quotaLimitsRatio: { default: 1.5, unit: 'ratio', range: '[1, 10]', help: 'limits.cpu/memory = upper-bound forecast x this ratio.' },
  quotaSurgeRatio: { default: 0.25, unit: 'ratio', range: '[0, 10]', help: 'Every hard limit of the quota stays at least this share above what the namespace uses (count/pods: at least one pod more), so that a rollout\'s surge pods (maxSurge defaults to 25%) and new pods are admitted. 0: a quota can fall to what is used, and the API server then refuses every new pod.' },
  ephemeralStorageResource: { default: 'ephemeral_storage', unit: 'name', range: 'one of signals', help: 'Snapshot resource (bytes) behind requests.ephemeral-storage.' },
  podsResource: { default: 'pods', unit: 'name', range: 'one of signals', help: 'Snapshot resource (count) behind count/pods.' },
  quotaShadowPool: { default: 'default', unit: 'name', range: 'pool name or empty', help: 'Pool whose placeholders reserve at least the quotas\' unused requests (so raised quotas can be scheduled; "default" is the pool the loop plans); empty = off.' },
  leaseNamespace: { default: 'foresight-system', unit: 'name', range: 'namespace', help: 'Namespace of the leader Lease.' },
  leaseName: { default: 'foresight-actuator', unit: 'name', range: 'DNS name', help: 'Name of the leader Lease.' },
  leaseDurationS: { default: 15, unit: 's', range: '[2, 300]', help: 'Lease duration; the holder renews every cycle and at a third of it.' },
  identity: { default: '', unit: 'name', range: 'any', help: 'Holder identity (default: hostname-pid).' },
  journalPath: { default: '', unit: 'path', range: 'file', help: 'JSON-lines journal of every intended or applied change (empty = memory only).' },
  journalMemoryEntries: { default: 1000, unit: 'entries', range: '[1, 100000]', help: 'Entries /api/v1/actions keeps in memory.' },
  requestTimeoutMs: { default: 10_000, unit: 'ms', range: '[100, 120000]', help: 'Timeout of one Kubernetes request.' },
  conflictRetries: { default: 3, unit: 'count', range: '[0, 10]', help: 'Retries with a fresh object after a 409.' },
  backoffMinS: { default: 1, unit: 's', range: '> 0', help: 'First back-off after 5xx or a timeout.' },
  backoffMaxS: { default: 60, unit: 's', range: '>= backoffMinS', help: 'Largest back-off.' },
};

export const defaultActuatorOptions: Readonly<ActuatorOptions> = Object.freeze(
  Object.fromEntries(Object.entries(actuatorOptionDocs).map(([k, d]) => [k, d.default])) as unknown as ActuatorOptions,
);

/** The reclamation rule these options set, for the allocation policy and the safety gate alike. */
export function reclaimConfig(o: Pick<ActuatorOptions, 'reclaimBelowRatio' | 'reclaimAfterS' | 'reclaimHysteresis'>): ReclaimConfig {
  return { utilisation: o.reclaimBelowRatio, afterS: o.reclaimAfterS, hysteresis: o.reclaimHysteresis };
}

/** The change budget these options set, for the allocation policy and the safety gate alike. */
export function rateLimitConfig(o: Pick<ActuatorOptions, 'maxChangesPerHour'>): RateLimitConfig {
  return { ...DEFAULT_RATE_LIMIT, maxChangesPerHour: o.maxChangesPerHour };
}

/** Options naming a snapshot resource, i.e. one of the configured signals (checked by loadConfig, which knows them). */
export const RESOURCE_OPTIONS = ['cpuResource', 'memoryResource', 'ephemeralStorageResource', 'podsResource', 'shadowCpuResource', 'shadowMemoryResource'] as const;

/** Problems with the options, one sentence each (empty when valid). */
export function validateActuatorOptions(o: ActuatorOptions): string[] {
  const p: string[] = [];
  const num = (k: keyof ActuatorOptions, ok: (v: number) => boolean): void => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) p.push(`actuator.${k} must be ${actuatorOptionDocs[k].range} (got ${String(v)})`);
  };
  num('targetQuantile', (v) => v > 0 && v < 1);
  num('tolerance', (v) => v >= 0 && v < 1);
  num('shadowTolerance', (v) => v >= 0 && v < 1);
  num('lowConfidencePoints', (v) => v >= 0);
  num('minCpuCores', (v) => v >= 0);
  num('maxCpuCores', (v) => v > o.minCpuCores);
  num('minMemoryBytes', (v) => v >= 0);
  num('maxMemoryBytes', (v) => v > o.minMemoryBytes);
  num('maxStepRatio', (v) => v > 0 && v <= 10);
  num('cooldownS', (v) => v >= 0);
  num('stableWindowS', (v) => v >= 0 && v <= 7 * 86_400);
  num('maxChangesPerHour', (v) => v > 0 && v <= 60);
  num('reclaimBelowRatio', (v) => v > 0 && v <= 1);
  num('reclaimAfterS', (v) => v >= 0);
  num('reclaimHysteresis', (v) => v >= 0 && v < 1);
  num('anomalyConfirmS', (v) => v >= 0);
  num('maxPodCpuCores', (v) => v > 0);
  num('maxPodMemoryBytes', (v) => v > 0);
  num('maxShadowCpuCores', (v) => v >= 0);
  num('maxShadowMemoryBytes', (v) => v >= 0);
  num('leaseDurationS', (v) => v >= 2 && v <= 300);
  num('quotaLimitsRatio', (v) => v >= 1 && v <= 10);
  num('quotaSurgeRatio', (v) => v >= 0 && v <= 10);
  num('journalMemoryEntries', (v) => Number.isInteger(v) && v >= 1 && v <= 100_000);
  num('requestTimeoutMs', (v) => v >= 100 && v <= 120_000);
  num('conflictRetries', (v) => Number.isInteger(v) && v >= 0 && v <= 10);
  num('backoffMinS', (v) => v > 0);
  num('backoffMaxS', (v) => v >= o.backoffMinS);
  const dns = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
  for (const k of ['recommenderName', 'shadowNamespace', 'priorityClassName', 'leaseNamespace', 'leaseName', 'quotaName'] as const) {
    if (!dns.test(o[k]) || o[k].length > 253) p.push(`actuator.${k} must be a DNS name (got ${JSON.stringify(o[k])})`);
  }
  for (const ns of o.namespaces) if (!dns.test(ns)) p.push(`actuator.namespaces: ${JSON.stringify(ns)} is not a namespace name`);
  if (!o.pauseImage) p.push('actuator.pauseImage must be set');
  // written into VPA and namespace lookups (an annotation read, a labelSelector): a key the API server refuses would
  // fail every cycle, or match nothing, long after start-up
  for (const k of ['tenantAnnotation', 'containerSharesAnnotation', 'quotaOptInLabel'] as const) {
    if (!isQualifiedKey(o[k])) p.push(`actuator.${k} must be ${k === 'quotaOptInLabel' ? 'a label' : 'an annotation'} key, [prefix/]name: the prefix a DNS subdomain, the name 1-63 characters of A-Z a-z 0-9 - _ . that start and end with a letter or digit (got ${JSON.stringify(o[k])})`);
  }
  try {
    nodeSelector(o.shadowNodeSelector);
  } catch (err) {
    p.push(`actuator.shadowNodeSelector ${(err as Error).message}`);
  }
  return p;
}

/** Defaults overlaid with `partial`. */
export function actuatorOptions(partial: Partial<ActuatorOptions> = {}): ActuatorOptions {
  return { ...defaultActuatorOptions, ...partial };
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Whether `key` is a Kubernetes label or annotation key: [prefix/]name, the prefix a DNS subdomain (at most 253). */
export function isQualifiedKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  return LABEL_KEY.test(key) && slash <= 253;
}

/** The placeholders' nodeSelector from `key=value[,key=value]` (empty: none); throws naming what is wrong. */
export function nodeSelector(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((t) => t.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? '' : part.slice(0, eq).trim(), value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (eq < 0 || !isQualifiedKey(key) || !LABEL_VALUE.test(value)) {
      throw new Error(`must be key=value[,key=value] with label keys and values (got ${JSON.stringify(part)})`);
    }
    out[key] = value;
  }
  return out;
}
