// Kubernetes resource quantities: parse "250m", "1.5Gi", "2e3" to base units and format cores/bytes back.

const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** Base-unit value of a quantity (cores for cpu, bytes for memory); NaN when it is not one. */
export function parseQuantity(q: string | number | undefined): number {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return NaN;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(q.trim());
  if (!m) return NaN;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  return base * SUFFIX[m[3] ?? ''];
}

/** CPU cores as millicores, rounded up ("250m"); whole cores without a suffix. */
export function formatCpu(cores: number): string {
  const milli = Math.max(0, Math.ceil(cores * 1000 - 1e-6));
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Memory as whole bytes, rounded up. */
export function formatMemory(bytes: number): string {
  return String(Math.max(0, Math.ceil(bytes - 1e-6)));
}

export function formatResource(resource: 'cpu' | 'memory', v: number): string {
  return resource === 'cpu' ? formatCpu(v) : formatMemory(v);
}
