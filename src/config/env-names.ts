// Which FORESIGHT_* environment variables are mistakes: a variable that looks like a configuration key but configures
// nothing (a typo would leave a default silently in place). Tool, test and benchmark variables and the variables the
// kubelet injects for Services named foresight-* are not configuration and are left alone.

/** FORESIGHT_* variables that configure no field: read by the CLI, scripts, tests, CI and benchmarks. */
const OTHER_VARIABLES = new Set(['FORESIGHT_CONFIG', 'FORESIGHT_DEBUG', 'FORESIGHT_CACHE', 'FORESIGHT_REQUIRE_INTEGRATION', 'FORESIGHT_TRACES', 'FORESIGHT_VPA_VERSION']);
/** FORESIGHT_BIN_<TOOL> and FORESIGHT_BENCH_* (tests, benchmarks); FORESIGHT_LIMIT_<SIGNAL> is checked by parseLimits. */
const OTHER_PREFIXES = ['FORESIGHT_BIN_', 'FORESIGHT_BENCH_', 'FORESIGHT_LIMIT_'];

/**
 * Variables the kubelet injects for a Service named foresight-* in the pod's namespace (service links):
 * <NAME>_SERVICE_HOST, <NAME>_SERVICE_PORT[_<PORT NAME>], <NAME>_PORT_<n>_<PROTO>[_ADDR|_PORT|_PROTO], <NAME>_PORT=tcp://...
 */
function isServiceLink(name: string, value: string): boolean {
  return /_SERVICE_(HOST|PORT)(_[A-Z0-9_]+)?$/.test(name) || /_PORT_[0-9]+_(TCP|UDP|SCTP)(_(ADDR|PORT|PROTO))?$/.test(name) || (name.endsWith('_PORT') && /^(tcp|udp|sctp):\/\//.test(value));
}

/** Levenshtein distance, for the "did you mean" of a misspelt variable. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * FORESIGHT_* variables that look like configuration but configure nothing (a typo would otherwise leave a default
 * silently in place). Names that are not upper-snake configuration keys, tool variables and service links are left alone.
 */
export function unknownVariables(env: Record<string, string | undefined>, known: ReadonlySet<string>, signals: readonly string[]): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.startsWith('FORESIGHT_') || known.has(name) || OTHER_VARIABLES.has(name)) continue;
    if (OTHER_PREFIXES.some((p) => name.startsWith(p)) || isServiceLink(name, value)) continue;
    const upper = name.toUpperCase();
    if (!/^FORESIGHT_[A-Z0-9_]+$/.test(name) && !known.has(upper)) continue;
    if (upper.startsWith('FORESIGHT_QUERY_') && name === upper) {
      problems.push(`${name}: no configured signal is named ${name.slice('FORESIGHT_QUERY_'.length).toLowerCase()} (${signals.join(', ')})`);
      continue;
    }
    let near: string | undefined;
    let best = 4; // a suggestion only within three edits
    for (const k of known) {
      const d = distance(upper, k);
      if (d < best) [near, best] = [k, d];
    }
    problems.push(`${name}: not a configuration variable${near ? ` (did you mean ${near}?)` : ''}; \`foresight start --help\` lists them`);
  }
  return problems;
}
