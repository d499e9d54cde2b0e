// Typed prom-client handles built from catalogue definitions, always on an injected (private) registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { MetricDef } from './catalogue.js';

export type Labels<L extends string> = Partial<Record<L, string | number>>;

export function gaugeOf<L extends string>(def: MetricDef<L>, registry: Registry, collect?: (g: Gauge<L>) => void): Gauge<L> {
  if (def.type !== 'gauge') throw new TypeError(`${def.name} is a ${def.type}, not a gauge`);
  return new Gauge<L>({
    name: def.name,
    help: def.help,
    labelNames: def.labels,
    registers: [registry],
    collect: collect
      ? function (this: Gauge<L>) {
          collect(this);
        }
      : undefined,
  });
}

export function counterOf<L extends string>(def: MetricDef<L>, registry: Registry, collect?: (c: Counter<L>) => void): Counter<L> {
  if (def.type !== 'counter') throw new TypeError(`${def.name} is a ${def.type}, not a counter`);
  return new Counter<L>({
    name: def.name,
    help: def.help,
    labelNames: def.labels,
    registers: [registry],
    collect: collect
      ? function (this: Counter<L>) {
          collect(this);
        }
      : undefined,
  });
}

export function histogramOf<L extends string>(def: MetricDef<L>, registry: Registry): Histogram<L> {
  if (def.type !== 'histogram') throw new TypeError(`${def.name} is a ${def.type}, not a histogram`);
  return new Histogram<L>({ name: def.name, help: def.help, labelNames: def.labels, buckets: def.buckets ? [...def.buckets] : undefined, registers: [registry] });
}

/** Horizon label: "5m", "1h", "90s" (Prometheus duration style). */
export function horizonLabel(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
