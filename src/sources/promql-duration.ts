// PromQL durations (a range selector's [5m], the signal queries' {{window}}) as Prometheus parses them.

/**
 * Prometheus' duration syntax (prometheus/common model.ParseDuration): one or more integer-and-unit parts, each unit at
 * most once and in the order y, w, d, h, m, s, ms (`1h30m`, `1w`, `90s`; not `30m1h`, `1.5h` or `5M`).
 */
const PROM_DURATION = /^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$/;
/** Seconds per unit, in the order of the pattern's groups: a year is 365 days in Prometheus. */
const UNIT_S = [365 * 86_400, 7 * 86_400, 86_400, 3600, 60, 1, 0.001];

/** Seconds of a PromQL duration (`1h30m` -> 5400), or NaN when Prometheus would refuse the text. */
export function promDurationSeconds(text: string): number {
  const m = PROM_DURATION.exec(text);
  if (!m || text === '') return NaN;
  return UNIT_S.reduce((s, u, i) => s + (m[i + 1] === undefined ? 0 : Number(m[i + 1]) * u), 0);
}

/**
 * A window as PromQL takes it: a PromQL duration as is, bare whole seconds (`300`) as `300s`; undefined when it is
 * neither, or not positive.
 */
export function promWindow(text: string): string | undefined {
  const t = text.trim();
  const w = /^[0-9]+$/.test(t) ? `${Number(t)}s` : t;
  return promDurationSeconds(w) > 0 ? w : undefined;
}
