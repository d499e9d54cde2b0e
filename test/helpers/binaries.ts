// Finds the real binaries integration suites need, and skips a suite loudly when one is missing
// (or fails it, when FORESIGHT_REQUIRE_INTEGRATION=1 as in .ci/run).
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { describe, it } from 'vitest';

/** Where scripts/fetch-tools.sh and test/kubeenv/build.sh put binaries. */
export function toolCacheDir(): string {
  return resolve(process.env.FORESIGHT_CACHE ?? join(homedir(), '.cache', 'foresight'));
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of `name`: $FORESIGHT_BIN_<NAME>, the tool cache's bin folders, then PATH. */
export function findBinary(name: string): string | undefined {
  const envName = `FORESIGHT_BIN_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
  const fromEnv = process.env[envName];
  if (fromEnv && isExecutable(fromEnv)) return fromEnv;
  const cache = toolCacheDir();
  const dirs = [join(cache, 'bin'), join(cache, 'root', 'usr', 'bin'), ...(process.env.PATH ?? '').split(delimiter)];
  for (const d of dirs) {
    const p = join(d, name);
    if (d && isExecutable(p)) return p;
  }
  return undefined;
}

export const integrationRequired = process.env.FORESIGHT_REQUIRE_INTEGRATION === '1';

/**
 * `describe` that runs only when every binary is found. Missing binaries skip the suite with a loud warning,
 * or, when FORESIGHT_REQUIRE_INTEGRATION=1, fail it.
 */
export function describeWithBinaries(title: string, names: readonly string[], fn: (bins: Record<string, string>) => void): void {
  const bins: Record<string, string> = {};
  const missing: string[] = [];
  for (const n of names) {
    const p = findBinary(n);
    if (p) bins[n] = p;
    else missing.push(n);
  }
  if (missing.length === 0) {
    describe(title, () => fn(bins));
    return;
  }
  const why = `missing binaries: ${missing.join(', ')} (run scripts/fetch-tools.sh, or set FORESIGHT_BIN_<NAME>)`;
  if (integrationRequired) {
    describe(title, () => {
      it(`has its binaries (${why})`, () => {
        throw new Error(`FORESIGHT_REQUIRE_INTEGRATION=1 and ${why}`);
      });
    });
    return;
  }
  console.warn(`\n!!! SKIPPING integration suite "${title}": ${why}\n`);
  describe.skip(title, () => fn(bins));
}

