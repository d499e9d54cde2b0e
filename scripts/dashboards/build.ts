// Writes Foresight's Grafana dashboards to dashboards/*.json from their TypeScript definitions:
// `npx tsx scripts/dashboards/build.ts`. test/artifacts/dashboards.test.ts fails when the JSON is not current.
import { writeFileSync } from 'node:fs';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { overviewDashboard } from './overview.js';
import { tenantDashboard } from './tenant.js';

/** File name under dashboards/ -> its definition. */
export const DASHBOARDS: Readonly<Record<string, () => Dashboard>> = {
  'foresight-overview.json': overviewDashboard,
  'foresight-tenant.json': tenantDashboard,
};

/** The exact text written for a dashboard (stable key order from the builders, two-space indent, final newline). */
export function renderDashboard(d: Dashboard): string {
  return JSON.stringify(d, null, 2) + '\n';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [file, build] of Object.entries(DASHBOARDS)) {
    writeFileSync(new URL(`../../dashboards/${file}`, import.meta.url), renderDashboard(build()));
    console.error(`dashboards/${file} written`);
  }
}
