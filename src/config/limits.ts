// Limits of resources Foresight cannot enforce per tenant (no Kubernetes knob, or an advisory one: disk I/O, file
// descriptors, threads, ...), exported as foresight_resource_limit{tenant,resource} for the alert
// ForesightResourceForecastExceedsLimit. YAML `limits.<signal>`: a number (the default per tenant, in the signal's base
// unit) or {default, tenants: {<tenant>: value}}; environment FORESIGHT_LIMIT_<SIGNAL> sets the default. Unset: not
// exported.
import { knobOfSignal } from '../model/resource-knob.js';
import { envName } from './schema.js';

export interface ResourceLimit {
  /** Limit of every tenant without an override, base unit; undefined = only the overrides are exported. */
  default?: number;
  /** Per-tenant overrides, base unit. */
  tenants: Readonly<Record<string, number>>;
}

export type ResourceLimits = Readonly<Record<string, ResourceLimit>>;

/** The limit of a tenant's resource, or undefined when none is configured. */
export function limitFor(limits: ResourceLimits | undefined, tenant: string, resource: string): number | undefined {
  const l = limits?.[resource];
  if (!l) return undefined;
  return l.tenants[tenant] ?? l.default;
}

const ENV_PREFIX = 'FORESIGHT_LIMIT_';

function positive(raw: unknown, where: string, problems: string[]): number | undefined {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  if (Number.isFinite(n) && n > 0) return n;
  problems.push(`${where}: expected a positive number in the signal's base unit, got ${JSON.stringify(raw)}`);
  return undefined;
}

/** Reads `limits` (YAML) and FORESIGHT_LIMIT_<SIGNAL> (environment) for the configured signals; problems are appended. */
export function parseLimits(yaml: unknown, env: Record<string, string | undefined>, signals: readonly string[], problems: string[]): ResourceLimits {
  const out: Record<string, ResourceLimit> = {};
  const y = (yaml ?? {}) as Record<string, unknown>;
  if (typeof y !== 'object' || Array.isArray(y)) {
    problems.push('config file: limits must be a mapping of signal names');
    return out;
  }
  const check = (signal: string, where: string): boolean => {
    if (!signals.includes(signal)) {
      problems.push(`${where}: "${signal}" is not one of the configured signals (${signals.join(', ')})`);
      return false;
    }
    const k = knobOfSignal(signal);
    if (k.enforcement === 'enforced') {
      problems.push(`${where}: ${signal} has a Kubernetes knob (${k.knobs.join('; ')}); limits are for resources Foresight does not enforce`);
      return false;
    }
    return true;
  };
  for (const [signal, v] of Object.entries(y)) {
    const where = `limits.${signal} (config file)`;
    if (!check(signal, where)) continue;
    const l: { default?: number; tenants: Record<string, number> } = { tenants: {} };
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const m = v as Record<string, unknown>;
      for (const k of Object.keys(m)) if (k !== 'default' && k !== 'tenants') problems.push(`config file: unknown key "limits.${signal}.${k}"`);
      if (m.default !== undefined) l.default = positive(m.default, `limits.${signal}.default (config file)`, problems);
      const t = m.tenants ?? {};
      if (typeof t !== 'object' || t === null || Array.isArray(t)) problems.push(`limits.${signal}.tenants (config file): expected a mapping tenant -> limit`);
      else {
        for (const [tenant, raw] of Object.entries(t as Record<string, unknown>)) {
          const n = positive(raw, `limits.${signal}.tenants.${tenant} (config file)`, problems);
          if (n !== undefined) l.tenants[tenant] = n;
        }
      }
    } else l.default = positive(v, where, problems);
    out[signal] = l;
  }
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const signal = signals.find((s) => envName(s, ENV_PREFIX) === name);
    if (!signal) {
      problems.push(`${name}: no configured signal is named ${name.slice(ENV_PREFIX.length).toLowerCase()} (${signals.join(', ')})`);
      continue;
    }
    if (!check(signal, name)) continue;
    const n = positive(raw, name, problems);
    if (n !== undefined) out[signal] = { tenants: out[signal]?.tenants ?? {}, default: n };
  }
  for (const l of Object.values(out)) Object.freeze(l.tenants);
  return Object.freeze(out);
}
