// Generates the README's reference tables (errors, metrics, configuration, resource knobs) from the code, between <!-- BEGIN x --> / <!-- END x -->
// markers. `npx tsx scripts/readme-tables.ts` rewrites README.md; test/artifacts/readme-tables.test.ts checks it is current.
import { readFileSync, writeFileSync } from 'node:fs';
import * as errors from '../src/errors.js';
import { catalogue } from '../src/metrics/catalogue.js';
import { renderMarkdownTable as configTable } from '../src/config/help.js';
import { RESOURCE_KNOBS } from '../src/actuator/knobs.js';

type ErrorCtor = new (...args: unknown[]) => Error & { code: string; statusCode?: number };

export function errorsTable(): string {
  const rows: string[] = [];
  for (const value of Object.values(errors)) {
    if (typeof value !== 'function' || value === errors.createError) continue;
    const e = new (value as ErrorCtor)();
    const message = e.message.replace(/%s/g, '…').replace(/\n/g, ' ').replace(/\|/g, '\\|');
    rows.push(`| \`${e.code}\` | ${e.statusCode ?? ''} | ${message} |`);
  }
  for (const e of errors.FRAMEWORK_ERRORS) rows.push(`| \`${e.code}\` | ${e.statusCode} | ${e.message.replace(/\|/g, '\\|')} |`);
  rows.sort();
  return ['| code | HTTP status | message |', '| --- | --- | --- |', ...rows].join('\n');
}

export function metricsTable(): string {
  const rows = ['| metric | type | labels | help |', '| --- | --- | --- | --- |'];
  for (const m of Object.values(catalogue)) {
    rows.push(`| \`${m.name}\` | ${m.type} | ${m.labels.map((l) => `\`${l}\``).join(', ')} | ${m.help.replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n');
}

export function knobsTable(): string {
  const rows = ['| resource | Kubernetes knob | enforcement | what Foresight does |', '| --- | --- | --- | --- |'];
  for (const k of RESOURCE_KNOBS) {
    const knobs = k.knobs.length ? k.knobs.join('; ') : 'none';
    rows.push(`| \`${k.resource}\` | ${knobs.replace(/\|/g, '\\|')} | ${k.enforcement} | ${k.action.replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n');
}

export const generators: Record<string, () => string> = {
  errors: errorsTable,
  metrics: metricsTable,
  config: configTable,
  knobs: knobsTable,
};

/** Replaces every generated section of `text`; sections without a generator are left alone. */
export function renderReadme(text: string): string {
  return text.replace(/<!-- BEGIN (\w+) -->\n[\s\S]*?<!-- END \1 -->/g, (whole, name: string) => {
    const gen = generators[name];
    return gen ? `<!-- BEGIN ${name} -->\n${gen()}\n<!-- END ${name} -->` : whole;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = new URL('../README.md', import.meta.url);
  writeFileSync(path, renderReadme(readFileSync(path, 'utf8')));
  console.error('README.md tables regenerated');
}
