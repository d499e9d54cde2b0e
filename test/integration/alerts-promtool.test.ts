// Runs the real promtool over the alert rules: `promtool check rules` (syntax, PromQL, templates) and
// `promtool test rules` (every firing and non-firing case in alerts/foresight.rules.test.yaml).
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeWithBinaries } from '../helpers/binaries.js';
import { loadAlertRules, ROOT, RULES_FILE, RULES_TEST_FILE } from '../artifacts/promql.js';

interface Run {
  code: number;
  out: string;
}

function run(bin: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(bin, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

const root = fileURLToPath(ROOT);

describeWithBinaries('alert rules under promtool', ['promtool'], (bins) => {
  const tmp = mkdtempSync(join(tmpdir(), 'foresight-promtool-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('passes `promtool check rules` with every alert found', async () => {
    const r = await run(bins.promtool, ['check', 'rules', RULES_FILE], root);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`SUCCESS: ${loadAlertRules().length} rules found`);
  });

  it('passes every case of `promtool test rules`', async () => {
    const r = await run(bins.promtool, ['test', 'rules', RULES_TEST_FILE], root);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
  });

  it('fails `promtool test rules` when an expectation is wrong (the cases can fail)', async () => {
    // Same rules, one expected annotation altered: promtool must report the mismatch and exit non-zero.
    copyFileSync(join(root, RULES_FILE), join(tmp, 'foresight.rules.yaml'));
    const original = readFileSync(join(root, RULES_TEST_FILE), 'utf8');
    const altered = original.replace('Tenant shop has used 150% of', 'Tenant shop has used 149% of');
    expect(altered).not.toBe(original);
    writeFileSync(join(tmp, 'altered.test.yaml'), altered);
    const r = await run(bins.promtool, ['test', 'rules', 'altered.test.yaml'], tmp);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('ForesightAllocationShortage fires when usage stays above the recommended target');
  });
});
