// The README's errors and metrics tables are generated from src/errors.ts and src/metrics/catalogue.ts and must be current.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generators, renderReadme } from '../../scripts/readme-tables.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README reference tables', () => {
  for (const name of Object.keys(generators)) {
    it(`has a generated ${name} table`, () => {
      expect(readme).toContain(`<!-- BEGIN ${name} -->`);
      expect(readme).toContain(`<!-- END ${name} -->`);
    });
  }

  it('matches the code (run `npx tsx scripts/readme-tables.ts` after changing errors or metrics)', () => {
    expect(renderReadme(readme)).toBe(readme);
  });
});
