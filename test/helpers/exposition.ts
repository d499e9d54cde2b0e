// Prometheus text exposition for tests: the process and Node.js families (prom-client's default metrics) change from
// one scrape to the next (heap sizes, CPU time), so comparisons of two scrapes leave them out.

/** The exposition without its process_* and nodejs_* families (samples, HELP and TYPE lines). */
export function withoutProcessMetrics(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^(# (HELP|TYPE) )?(process|nodejs)_/.test(l))
    .join('\n');
}
