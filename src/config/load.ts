// Loads the configuration once: defaults <- optional YAML file <- environment variables; validates every field and
// cross-field rule, and fails naming every problem at once. The only module that reads process.env.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { actuatorOptionDocs, defaultActuatorOptions, validateActuatorOptions, type ActuatorOptions, type OptionDoc } from '../actuator/config.js';
import { ArgumentInvalidError, ConfigInvalidError } from '../errors.js';
import { DEFAULT_SIGNALS } from '../sources/default-signals.js';
import type { SignalSpec } from '../sources/history-source.js';
import { parseLimits, type ResourceLimits } from './limits.js';
import { envName, schema, type BaseConfig, type FieldDef, type FieldType, type SchemaKey } from './schema.js';

export interface Config extends BaseConfig {
  /** Signals with their (possibly overridden) PromQL. */
  signalSpecs: SignalSpec[];
  actuator: ActuatorOptions;
  /** Limits of resources without a Kubernetes knob (YAML limits.<signal>, FORESIGHT_LIMIT_<SIGNAL>), base units. */
  resourceLimits: ResourceLimits;
  /** Where the configuration came from, for the start-up log. */
  sources: string[];
}

export interface LoadOptions {
  /** Environment (default process.env). */
  env?: Record<string, string | undefined>;
  /** YAML file path (default: $FORESIGHT_CONFIG). */
  file?: string;
  /** YAML text (tests). */
  yamlText?: string;
}

const DURATION = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)?$/;
const UNIT_S: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** "5m" -> 300, "1.5h" -> 5400, 42 -> 42 (seconds); NaN when it is not a duration. */
export function parseDuration(v: unknown): number {
  if (typeof v === 'number') return v;
  const m = DURATION.exec(String(v).trim());
  if (!m) return NaN;
  return Number(m[1]) * UNIT_S[m[2] ?? 's'];
}

/** A command-line flag's duration in seconds (the configuration's syntax), or an error naming the flag. */
export function parseFlagDuration(flag: string, text: string): number {
  const s = parseDuration(text);
  if (Number.isNaN(s)) throw new ArgumentInvalidError(`--${flag}: cannot parse duration "${text}" (e.g. 300, 30s, 5m, 2h, 7d)`);
  return s;
}

function coerce(type: FieldType | 'bool', raw: unknown): { value?: unknown; problem?: string } {
  const list = (x: unknown): string[] => (Array.isArray(x) ? x.map(String) : String(x).split(',')).map((s) => s.trim()).filter((s) => s !== '');
  switch (type) {
    case 'int': {
      const n = typeof raw === 'number' ? raw : String(raw).trim() === '' ? NaN : Number(raw);
      return Number.isInteger(n) ? { value: n } : { problem: `expected an integer, got ${JSON.stringify(raw)}` };
    }
    case 'number': {
      const n = typeof raw === 'number' ? raw : String(raw).trim() === '' ? NaN : Number(raw);
      return Number.isFinite(n) ? { value: n } : { problem: `expected a number, got ${JSON.stringify(raw)}` };
    }
    case 'duration': {
      const n = parseDuration(raw);
      return Number.isFinite(n) ? { value: n } : { problem: `expected a duration (seconds or 30s, 5m, 1h, 7d), got ${JSON.stringify(raw)}` };
    }
    case 'bool': {
      if (typeof raw === 'boolean') return { value: raw };
      const s = String(raw).trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(s)) return { value: true };
      if (['0', 'false', 'no', 'off'].includes(s)) return { value: false };
      return { problem: `expected true or false, got ${JSON.stringify(raw)}` };
    }
    case 'string':
      return typeof raw === 'object' && raw !== null ? { problem: `expected a string, got ${JSON.stringify(raw)}` } : { value: String(raw) };
    case 'list':
      return { value: list(raw) };
    case 'numbers': {
      const parts = list(raw).map((s) => parseDuration(s));
      return parts.every(Number.isFinite) ? { value: parts } : { problem: `expected comma-separated numbers, got ${JSON.stringify(raw)}` };
    }
  }
}

function typeOfDoc(d: OptionDoc): FieldType | 'bool' {
  if (typeof d.default === 'boolean') return 'bool';
  if (typeof d.default === 'number') return d.unit === 's' ? 'duration' : 'number';
  if (Array.isArray(d.default)) return 'list';
  return 'string';
}

/** Loads, validates and freezes the configuration; throws FORESIGHT_ERR_CONFIG_INVALID listing every problem. */
export function loadConfig(opts: LoadOptions = {}): Readonly<Config> {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  const sources = ['defaults'];
  const fields = schema as unknown as Record<SchemaKey, FieldDef<unknown>>;

  let yaml: Record<string, unknown> = {};
  const file = opts.file ?? env.FORESIGHT_CONFIG;
  let text = opts.yamlText;
  if (text === undefined && file) {
    try {
      text = readFileSync(file, 'utf8');
      sources.push(file);
    } catch (err) {
      problems.push(`config file ${file}: cannot read (${(err as Error).message})`);
    }
  }
  if (text !== undefined) {
    try {
      const parsed: unknown = parseYaml(text);
      if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) problems.push('config file: top level must be a mapping');
      else yaml = (parsed ?? {}) as Record<string, unknown>;
    } catch (err) {
      problems.push(`config file: invalid YAML (${(err as Error).message})`);
    }
  }
  for (const k of Object.keys(yaml)) {
    if (!(k in fields) && k !== 'queries' && k !== 'actuator' && k !== 'limits') problems.push(`config file: unknown key "${k}"`);
  }

  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields) as SchemaKey[]) {
    const def = fields[key];
    let value: unknown = Array.isArray(def.default) ? [...def.default] : def.default;
    const e = envName(key);
    const tryRaw = (raw: unknown, where: string) => {
      const c = coerce(def.type, raw);
      if (c.problem) problems.push(`${where}: ${c.problem}`);
      else value = c.value;
    };
    if (key in yaml) tryRaw(yaml[key], `${key} (config file)`);
    if (env[e] !== undefined) tryRaw(env[e], `${e}`);
    const why = def.check?.(value as never);
    if (why) problems.push(`${key} (${e}) ${why} [${def.unit}, range ${def.range}], got ${JSON.stringify(value)}`);
    out[key] = value;
  }
  if (sources.length === 1 && Object.keys(env).some((k) => k.startsWith('FORESIGHT_') && (Object.keys(fields) as string[]).some((f) => envName(f) === k))) sources.push('environment');

  // Actuator options (schema owned by src/actuator/config.ts): YAML `actuator:` mapping, env FORESIGHT_ACTUATOR_*.
  const act: Record<string, unknown> = { ...defaultActuatorOptions };
  const yAct = (yaml.actuator ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(yAct)) if (!(k in actuatorOptionDocs)) problems.push(`config file: unknown key "actuator.${k}"`);
  for (const [k, d] of Object.entries(actuatorOptionDocs) as Array<[string, OptionDoc]>) {
    const e = envName(k, 'FORESIGHT_ACTUATOR_');
    for (const [raw, where] of [[yAct[k], `actuator.${k} (config file)`], [env[e], e]] as Array<[unknown, string]>) {
      if (raw === undefined) continue;
      const c = coerce(typeOfDoc(d), raw);
      if (c.problem) problems.push(`${where}: ${c.problem}`);
      else act[k] = c.value;
    }
  }
  problems.push(...validateActuatorOptions(act as unknown as ActuatorOptions));

  // Signals and their PromQL overrides (queries.<signal> in YAML, FORESIGHT_QUERY_<SIGNAL> in the environment).
  const queries = (yaml.queries ?? {}) as Record<string, unknown>;
  const signalSpecs: SignalSpec[] = [];
  for (const name of out.signals as string[]) {
    const base = DEFAULT_SIGNALS.find((s) => s.resource === name);
    const q = env[envName(name, 'FORESIGHT_QUERY_')] ?? (typeof queries[name] === 'string' ? (queries[name] as string) : undefined);
    if (!base && !q) {
      problems.push(`signals: unknown signal "${name}" without a query (known: ${DEFAULT_SIGNALS.map((s) => s.resource).join(', ')}; or set FORESIGHT_QUERY_${name.toUpperCase()})`);
      continue;
    }
    if (q !== undefined && !q.includes('{{tenant}}')) problems.push(`query of signal "${name}" must group by the tenant label ({{tenant}} placeholder)`);
    signalSpecs.push({ ...(base ?? { resource: name, unit: 'unit' }), query: q ?? base!.query });
  }

  const resourceLimits = parseLimits(yaml.limits, env, out.signals as string[], problems);

  // Cross-field rules.
  const c = out as unknown as BaseConfig;
  for (const h of c.horizons) if (h % c.interval !== 0) problems.push(`horizons: ${h}s is not a multiple of interval ${c.interval}s`);
  if (c.history < 2 * c.interval) problems.push(`history (${c.history}s) must hold at least two intervals (${c.interval}s)`);
  if (c.vanishAfter < c.staleAfter) problems.push(`vanishAfter (${c.vanishAfter}s) must be >= staleAfter (${c.staleAfter}s)`);
  if (c.shard >= c.totalShards) problems.push(`shard (${c.shard}) must be below totalShards (${c.totalShards})`);
  for (const q of c.exportQuantiles) if (!c.quantiles.includes(q)) problems.push(`exportQuantiles: ${q} is not one of quantiles (${c.quantiles.join(', ')})`);

  if (problems.length) throw new ConfigInvalidError(problems.map((p) => `  - ${p}`).join('\n'));
  return Object.freeze({ ...c, signalSpecs, resourceLimits, actuator: Object.freeze(act as unknown as ActuatorOptions), sources });
}
