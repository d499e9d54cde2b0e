// Loads the configuration once: defaults <- optional YAML file <- environment variables; validates every field and
// cross-field rule, and fails naming every problem at once. The only module that reads process.env.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { actuatorOptionDocs, defaultActuatorOptions, RESOURCE_OPTIONS, validateActuatorOptions, type ActuatorOptions, type OptionDoc } from '../actuator/config.js';
import { ArgumentInvalidError, ConfigInvalidError } from '../errors.js';
import type { AnomalyPolicy } from '../logic/anomaly.js';
import { DEFAULT_SIGNALS } from '../sources/default-signals.js';
import { connectionProblems } from '../sources/prometheus-connection.js';
import { promDurationSeconds } from '../sources/promql-duration.js';
import type { SignalSpec } from '../sources/history-source.js';
import { unknownVariables } from './env-names.js';
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

const DURATION = /^((?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+))(ms|s|m|h|d|w)?$/;
/** A decimal number as people write it (0.5, .5, 1e9, -3); not hex, octal or binary literals, which Number() takes. */
const DECIMAL = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?$/i;
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

const show = (x: unknown): string => (x === undefined ? 'nothing' : JSON.stringify(x));
const isScalar = (x: unknown): x is string | number | boolean => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean';

/**
 * One raw value (an environment string, or whatever YAML produced) as the field's type. A YAML sequence or mapping is
 * never stringified into a scalar (`port: [18193]` is not 18193), and list items must be strings (numbers for
 * `numbers`): YAML reads `010` as 10 and `[a: 1]` as a mapping, so a name that is not a string is a mistake to report.
 */
function coerce(type: FieldType | 'bool', raw: unknown): { value?: unknown; problem?: string } {
  if (type === 'list' || type === 'numbers') {
    if (!Array.isArray(raw) && typeof raw !== 'string' && !(type === 'numbers' && typeof raw === 'number')) {
      return { problem: `expected a list (a YAML sequence or a comma-separated string), got ${show(raw)}` };
    }
    const items = Array.isArray(raw) ? (raw as unknown[]) : String(raw).split(',');
    const i = items.findIndex((x) => typeof x !== 'string' && (type === 'list' || typeof x !== 'number'));
    if (i >= 0) {
      return { problem: type === 'list' ? `expected a list of strings, got the item ${show(items[i])} (quote names YAML reads as numbers or booleans)` : `expected a list of numbers, got the item ${show(items[i])}` };
    }
    const parts = items.map((x) => String(x).trim()).filter((x) => x !== '');
    if (type === 'list') return { value: parts };
    const n = parts.map((x) => parseDuration(x));
    return n.every(Number.isFinite) ? { value: n } : { problem: `expected comma-separated numbers, got ${show(raw)}` };
  }
  const kind = { int: 'an integer', number: 'a number', duration: 'a duration (seconds or 30s, 5m, 1h, 7d)', bool: 'true or false', string: 'a string' }[type];
  if (!isScalar(raw)) return { problem: `expected ${kind}, got ${raw === null ? 'an empty value (null)' : show(raw)}` };
  switch (type) {
    case 'int':
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && DECIMAL.test(raw.trim()) ? Number(raw) : NaN;
      return (type === 'int' ? Number.isInteger(n) : Number.isFinite(n)) ? { value: n } : { problem: `expected ${kind}, got ${show(raw)}` };
    }
    case 'duration': {
      const n = typeof raw === 'boolean' ? NaN : parseDuration(raw);
      return Number.isFinite(n) ? { value: n } : { problem: `expected ${kind}, got ${show(raw)}` };
    }
    case 'bool': {
      if (typeof raw === 'boolean') return { value: raw };
      const v = String(raw).trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return { value: true };
      if (['0', 'false', 'no', 'off'].includes(v)) return { value: false };
      return { problem: `expected ${kind}, got ${show(raw)}` };
    }
    case 'string':
      return { value: String(raw) };
  }
}

function typeOfDoc(d: OptionDoc): FieldType | 'bool' {
  if (typeof d.default === 'boolean') return 'bool';
  if (typeof d.default === 'number') return d.unit === 's' ? 'duration' : 'number';
  if (Array.isArray(d.default)) return 'list';
  return 'string';
}

/** A YAML mapping under `key`, or {} with a problem when it is something else. */
function mappingAt(yaml: Record<string, unknown>, key: string, problems: string[]): Record<string, unknown> {
  const v = yaml[key];
  if (v === undefined || v === null) return {};
  if (typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  problems.push(`${key} (config file): expected a mapping, got ${show(v)}`);
  return {};
}

/** The anomaly policy's settings of a configuration (all but the mode, which the caller passes apart): the sidecar's
 *  scorer and the backtest's take the same. */
export function anomalyPolicyOf(c: Pick<BaseConfig, 'anomalyWeekAgo' | 'anomalyEnterLikelihood' | 'anomalyExitLikelihood'>): Omit<AnomalyPolicy, 'mode' | 'holdCycles'> {
  return { weekAgo: c.anomalyWeekAgo, enterLikelihood: c.anomalyEnterLikelihood, exitLikelihood: c.anomalyExitLikelihood };
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

  // Where each value came from (the variable, or the config file; absent: the default), so that every problem names
  // the place to fix: a YAML value is never reported under the name of the variable that did not set it.
  const from: Record<string, string> = {};
  const origins = (...keys: string[]) => ` (${keys.map((k) => `${k}: ${from[k] ?? 'default'}`).join(', ')})`;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields) as SchemaKey[]) {
    const def = fields[key];
    let value: unknown = Array.isArray(def.default) ? [...def.default] : def.default;
    const e = envName(key);
    const tryRaw = (raw: unknown, where: string) => {
      const c = coerce(def.type, raw);
      if (c.problem) problems.push(`${key} (${where}): ${c.problem}${def.hint ? `: ${def.hint}` : ''}`);
      else [value, from[key]] = [c.value, where];
    };
    if (key in yaml) tryRaw(yaml[key], 'config file');
    if (env[e] !== undefined) tryRaw(env[e], e);
    const why = def.check?.(value as never);
    if (why) problems.push(`${key} (${from[key] ?? 'default'}) ${why} [${def.unit}, range ${def.range}], got ${JSON.stringify(value)}`);
    else if (def.normalize) value = def.normalize(value as never);
    out[key] = value;
  }
  const known = new Set((Object.keys(fields) as string[]).map((k) => envName(k)));
  if (sources.length === 1 && Object.keys(env).some((k) => known.has(k))) sources.push('environment');

  // Actuator options (schema owned by src/actuator/config.ts): YAML `actuator:` mapping, env FORESIGHT_ACTUATOR_*.
  const act: Record<string, unknown> = { ...defaultActuatorOptions };
  const actFrom: Record<string, string> = {};
  const yAct = mappingAt(yaml, 'actuator', problems);
  for (const k of Object.keys(yAct)) if (!(k in actuatorOptionDocs)) problems.push(`config file: unknown key "actuator.${k}"`);
  for (const [k, d] of Object.entries(actuatorOptionDocs) as Array<[string, OptionDoc]>) {
    const e = envName(k, 'FORESIGHT_ACTUATOR_');
    known.add(e);
    for (const [raw, where] of [[yAct[k], 'config file'], [env[e], e]] as Array<[unknown, string]>) {
      if (raw === undefined) continue;
      const c = coerce(typeOfDoc(d), raw);
      if (c.problem) problems.push(`actuator.${k} (${where}): ${c.problem}`);
      else [act[k], actFrom[k]] = [c.value, where];
    }
  }
  // validateActuatorOptions names the option (actuator.<key>); add where its value came from
  for (const p of validateActuatorOptions(act as unknown as ActuatorOptions)) problems.push(p.replace(/^actuator\.(\w+)/, (m, k: string) => `${m} (${actFrom[k] ?? 'default'})`));

  // Signals and their PromQL overrides (queries.<signal> in YAML, FORESIGHT_QUERY_<SIGNAL> in the environment).
  const signals = out.signals as string[];
  const queries = mappingAt(yaml, 'queries', problems);
  for (const [k, v] of Object.entries(queries)) {
    if (!signals.includes(k)) problems.push(`queries.${k} (config file): "${k}" is not one of the configured signals (${signals.join(', ')})`);
    else if (typeof v !== 'string') problems.push(`queries.${k} (config file): expected a PromQL string, got ${show(v)}`);
  }
  const signalSpecs: SignalSpec[] = [];
  for (const name of signals) {
    const base = DEFAULT_SIGNALS.find((s) => s.resource === name);
    const e = envName(name, 'FORESIGHT_QUERY_');
    known.add(e);
    const q = env[e] ?? (typeof queries[name] === 'string' ? (queries[name] as string) : undefined);
    if (!base && !q) {
      problems.push(`signals (${from.signals ?? 'default'}): unknown signal "${name}" without a query (known: ${DEFAULT_SIGNALS.map((s) => s.resource).join(', ')}; or set ${e} or queries.${name})`);
      continue;
    }
    if (q !== undefined && !q.includes('{{tenant}}')) problems.push(`query of signal "${name}" (${env[e] !== undefined ? e : `queries.${name} in the config file`}) must group by the tenant label ({{tenant}} placeholder)`);
    signalSpecs.push({ ...(base ?? { resource: name, unit: 'unit' }), query: q ?? base!.query });
  }

  // an actuator option naming a resource names a signal; a default one a configuration leaves out is simply unused
  // (main.ts warns about podsResource), but one set to a name no signal has (cpuu) is a mistake
  for (const k of RESOURCE_OPTIONS) {
    const v = (act as Record<string, unknown>)[k];
    if (actFrom[k] && !signals.includes(v as string)) problems.push(`actuator.${k} (${actFrom[k]}): ${JSON.stringify(v)} is not one of the configured signals (${signals.join(', ')})`);
  }
  const resourceLimits = parseLimits(yaml.limits, env, signals, problems);
  problems.push(...unknownVariables(env, known, signals));

  // Cross-field rules.
  const c = out as unknown as BaseConfig;
  // The interval is Prometheus's step: the embedded demo takes its trace's instead (main.ts checks the horizons
  // against it), so these rules bind only with a Prometheus to pull from.
  const interval = c.prometheusUrl ? c.interval : 0;
  for (const h of c.horizons) if (interval && h % interval !== 0) problems.push(`horizons: ${h}s is not a multiple of interval ${c.interval}s${origins('horizons', 'interval')}`);
  if (c.history < 2 * interval) problems.push(`history (${c.history}s) must hold at least two intervals (${c.interval}s)${origins('history', 'interval')}`);
  // the documented ranges "[interval, 7 days]": a period shorter than the series' spacing has no sample to act on
  for (const k of ['retrainEvery', 'profileEvery', 'staleAfter'] as const) {
    if (c[k] < interval) problems.push(`${k} (${c[k]}s) must be >= interval (${c.interval}s)${origins(k, 'interval')}`);
  }
  const windowS = promDurationSeconds(c.rateWindow);
  if (windowS < interval) problems.push(`rateWindow (${c.rateWindow}) must be >= interval (${c.interval}s): rate() over a shorter window sees only part of each interval and misses the bursts between the points${origins('rateWindow', 'interval')}`);
  if (c.vanishAfter < c.staleAfter) problems.push(`vanishAfter (${c.vanishAfter}s) must be >= staleAfter (${c.staleAfter}s)${origins('vanishAfter', 'staleAfter')}`);
  if (c.anomalyExitLikelihood > c.anomalyEnterLikelihood) problems.push(`anomalyExitLikelihood (${c.anomalyExitLikelihood}) must be <= anomalyEnterLikelihood (${c.anomalyEnterLikelihood})${origins('anomalyExitLikelihood', 'anomalyEnterLikelihood')}`);
  if (c.shard >= c.totalShards) problems.push(`shard (${c.shard}) must be below totalShards (${c.totalShards})${origins('shard', 'totalShards')}`);
  for (const p of connectionProblems(c)) problems.push(p.replace(/^(prometheus\w+):/, (m, k: string) => `${k} (${from[k] ?? 'default'}):`));
  for (const q of c.exportQuantiles) if (!c.quantiles.includes(q)) problems.push(`exportQuantiles: ${q} is not one of quantiles (${c.quantiles.join(', ')})${origins('exportQuantiles', 'quantiles')}`);

  if (problems.length) throw new ConfigInvalidError(problems.map((p) => `  - ${p}`).join('\n'));
  return Object.freeze({ ...c, signalSpecs, resourceLimits, actuator: Object.freeze(act as unknown as ActuatorOptions), sources });
}
