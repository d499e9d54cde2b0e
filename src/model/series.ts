// Plain domain types for usage histories: one regular series per (tenant, resource), NaN marking a missing sample.

/** A regular time series of one tenant's usage of one resource. */
export interface Series {
  tenant: string;
  resource: string;
  /** Timestamp of values[0], integer seconds. */
  startS: number;
  /** Spacing between samples, seconds. */
  intervalS: number;
  /** Samples in the resource's base unit; NaN = missing (not zero). */
  values: Float64Array;
}

/** A set of series read from one source (a trace file or a Prometheus range). */
export interface SeriesSet {
  /** Where the data came from (file path or PromQL), for messages. */
  origin: string;
  intervalS: number;
  series: Series[];
  /** Units per resource when the source knows them. */
  units: Record<string, string>;
  /** What the reader changed in the data that a user should hear of (samples moved onto the grid, replaced). */
  warnings?: readonly string[];
}

/** The key the engine uses for a series. */
export function seriesKey(tenant: string, resource: string): string {
  return `${tenant}\u0000${resource}`;
}

/** Timestamp of sample `i` of a series. */
export function timeAt(s: Series, i: number): number {
  return s.startS + i * s.intervalS;
}

/** Series per resource (one series per tenant and resource: the tenants each resource has). */
export function countByResource(series: readonly Series[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const s of series) n.set(s.resource, (n.get(s.resource) ?? 0) + 1);
  return n;
}
