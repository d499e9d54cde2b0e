// Where the shared real traces live: ../shared/traces beside the checkout (as in CI), or $FORESIGHT_TRACES.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export function repoPath(...parts: string[]): string {
  return resolve(repoRoot, ...parts);
}

/** The shared traces folder (canonical/, nab/, ...). */
export function tracesDir(...parts: string[]): string {
  return resolve(process.env.FORESIGHT_TRACES ?? resolve(repoRoot, '..', 'shared', 'traces'), ...parts);
}
