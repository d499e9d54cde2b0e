// Bad input to `foresight backtest`: a non-zero exit, a message naming the file, line and problem, and no output files.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { uniform } from '../helpers/random.js';
import { tempDir } from '../helpers/temp.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'src/cli.ts');

function runCli(args: string[], env: Record<string, string> = {}): { code: number | null; stderr: string; stdout: string } {
  // without the caller's FORESIGHT_* variables: the backtest reads the sidecar's configuration
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FORESIGHT_')));
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, 'backtest', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...base, ...env } });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

function traceFile(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
}

const header = 'timestamp,tenant,resource,value\n';
const good = Array.from({ length: 30 }, (_, i) => `${i * 300},a,cpu,${1 + (i % 4)}`).join('\n');

describe('backtest CLI bad input', () => {
  const dir = tempDir('bt-bad-');
  const cases: Array<{ name: string; body: string; args?: string[]; expect: RegExp }> = [
    { name: 'unknown resource', body: `${header}${good}\n`, args: ['--resource', 'gpu'], expect: /unknown resource "gpu" \(the trace has: cpu\)/ },
    { name: 'unparsable value', body: `${header}0,a,cpu,1\n300,a,cpu,abc\n`, expect: /:3: unparsable value "abc"/ },
    { name: 'no rows', body: header, expect: /no rows/ },
    { name: 'repeated timestamps', body: `${header}0,a,cpu,1\n600,a,cpu,2\n0,a,cpu,3\n`, expect: /:4: timestamp 0 repeats line 2 in series a\/cpu/ },
  ];
  for (const c of cases) {
    it(`exits non-zero naming the problem and writes nothing: ${c.name}`, () => {
      const file = traceFile(dir, `${c.name.replace(/ /g, '-')}.csv`, c.body);
      const out = join(dir, `out-${c.name.replace(/ /g, '-')}`);
      const r = runCli(['--trace', file, '--resource', 'cpu', '--out', out, '--quiet', ...(c.args ?? [])]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toMatch(c.expect);
      expect(r.stderr).toContain('FORESIGHT_ERR_TRACE_INVALID');
      expect(existsSync(out)).toBe(false);
    });
  }

  it('rejects an unknown policy and a bad target before reading anything', () => {
    const file = traceFile(dir, 'ok.csv', `${header}${good}\n`);
    const out = join(dir, 'out-args');
    let r = runCli(['--trace', file, '--resource', 'cpu', '--policies', 'vpa,magic', '--out', out]);
    expect(r.code).toBe(2); // a usage error
    expect(r.stderr).toMatch(/unknown policy "magic"/);
    // the configuration's range: 0.9 is no target shortage an operator means
    r = runCli(['--trace', file, '--resource', 'cpu', '--target-shortage', '0.9', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--target-shortage: "0.9" is not a share in \(0, 0.5\]/);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an --out that cannot be a directory, and a lead longer than the warm-up, before the replay', () => {
    const file = traceFile(dir, 'ok2.csv', `${header}${good}\n`);
    const notDir = traceFile(dir, 'not-a-dir', 'x');
    let r = runCli(['--trace', file, '--resource', 'cpu', '--policies', 'static', '--out', join(notDir, 'sub')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--out ${join(notDir, 'sub')}: ${notDir} is a file, not a directory`);
    // a runtime failure exits 1, and Node's code is said once
    const missing = runCli(['--trace', join(dir, 'no-such.csv'), '--resource', 'cpu', '--policies', 'static', '--out', join(dir, 'o')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).not.toMatch(/ENOENT: ENOENT/);
    expect(r.stderr).not.toMatch(/100%/);
    const out = join(dir, 'out-lead');
    // 30 steps of 5 minutes: the warm-up is a third, 3000 s
    r = runCli(['--trace', file, '--resource', 'cpu', '--policies', 'static', '--lead', '1h', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--lead 1h is longer than the warm-up the scores leave out \(3000s\): the first 3600s of every series have no allocation from any policy/);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a malformed --prometheus URL as a usage error (exit 2) before connecting or writing', () => {
    const out = join(dir, 'out-prom-url');
    for (const [url, why] of [['http://[', 'is not a URL'], ['http://localhost:99999', 'has port 99999, above 65535']]) {
      const r = runCli(['--prometheus', url, '--query', 'sum by (namespace) (x)', '--resource', 'cpu', '--out', out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--prometheus "${url}" must be an http(s) URL: it ${why}`);
    }
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a trace with nothing to score as a trace problem (exit 1) saying why, instead of n/a for every policy', () => {
    const empty = traceFile(dir, 'all-missing.csv', `${header}${Array.from({ length: 30 }, (_, i) => `${i * 300},a,cpu,`).join('\n')}\n`);
    const out = join(dir, 'out-nothing');
    let r = runCli(['--trace', empty, '--resource', 'cpu', '--policies', 'static', '--out', out, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`FORESIGHT_ERR_TRACE_INVALID: ${empty}: every value of resource "cpu" is missing (empty, NaN or NA): there is no usage to replay or score`);
    // 30 steps: the warm-up is a third (10 steps); values in the first 5 only
    const early = traceFile(dir, 'warmup-only.csv', `${header}${Array.from({ length: 30 }, (_, i) => `${i * 300},a,cpu,${i < 5 ? 1 : ''}`).join('\n')}\n`);
    r = runCli(['--trace', early, '--resource', 'cpu', '--policies', 'static', '--out', out, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${early}: resource "cpu" has no step to score: its 5 known value(s) all fall in the warm-up the scores leave out (the first 3000s after each tenant's first sample)`);
    expect(existsSync(out)).toBe(false);
  });

  it('rejects a retrain period of zero, a history shorter than two steps and an unknown anomaly mode, naming the flag, before writing', () => {
    const file = traceFile(dir, 'ok-train.csv', `${header}${good}\n`);
    const out = join(dir, 'out-train');
    let r = runCli(['--trace', file, '--resource', 'cpu', '--retrain-every', '0', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--retrain-every 0 must be > 0/);
    r = runCli(['--trace', file, '--resource', 'cpu', '--history', '5m', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--history 5m is shorter than two of the trace's 300s steps/);
    r = runCli(['--trace', file, '--resource', 'cpu', '--retrain-every', 'hourly', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--retrain-every: cannot parse duration "hourly"/);
    r = runCli(['--trace', file, '--resource', 'cpu', '--anomaly-mode', 'strict', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--anomaly-mode: "strict" is not one of off, alert-only, quarantine/);
    expect(existsSync(out)).toBe(false);
  });

  it('records Foresight\'s training schedule and whether the actuator was replayed in summary.json', () => {
    const body = Array.from({ length: 600 }, (_, i) => `${i * 300},a,cpu,${2 + Math.sin(i / 20)}`).join('\n');
    const file = traceFile(dir, 'train.csv', `${header}${body}\n`);
    let n = 0;
    const summaryOf = (extra: string[], env: Record<string, string> = {}, trace = file) => {
      const out = join(dir, `out-engine-${n++}`);
      const r = runCli(['--trace', trace, '--resource', 'cpu', '--policies', 'foresight', '--out', out, '--json', '--quiet', ...extra], env);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { target_shortage: number; engine: { retrainEveryS: number; historyPoints: number; actuation: boolean; stableWindowS: number; levels: number[]; anomaly: { mode: string; scored: number; anomalous: number }; anomalyWeekAgo: boolean; anomalyEnterLikelihood: number; anomalyExitLikelihood: number } };
    };
    // the sidecar's defaults
    let sum = summaryOf([]);
    expect(sum.target_shortage).toBe(0.02);
    expect(sum.engine).toMatchObject({ retrainEveryS: 3600, historyPoints: 2016, actuation: true, stableWindowS: 0, anomaly: { mode: 'quarantine' }, anomalyWeekAgo: true, anomalyEnterLikelihood: 0.9999, anomalyExitLikelihood: 0.99 });
    // the update mode of the VPAs replayed: recreate holds the configuration's window
    expect(summaryOf(['--update-mode', 'recreate'], { FORESIGHT_ACTUATOR_STABLE_WINDOW_S: '43200' }).engine).toMatchObject({ actuation: true, stableWindowS: 43_200 });
    expect(sum.engine.anomaly.scored).toBeGreaterThan(0);
    // the configuration's anomaly thresholds reach the backtest's scorer: a lax one flags more tenant-steps (three
    // days of noise with a bump every 50 points from the second day: a series gives evidence from its 289th point on)
    const noise = uniform(7);
    const noisy = traceFile(dir, 'noisy.csv', `${header}${Array.from({ length: 900 }, (_, i) => `${i * 300},a,cpu,${2 + Math.sin(i / 20) + 0.5 * noise() + (i > 300 && i % 50 === 25 ? 2 : 0)}`).join('\n')}\n`);
    const strict = summaryOf(['--anomaly-mode', 'alert-only'], {}, noisy);
    const lax = summaryOf(['--anomaly-mode', 'alert-only'], { FORESIGHT_ANOMALY_ENTER_LIKELIHOOD: '0.9', FORESIGHT_ANOMALY_EXIT_LIKELIHOOD: '0.8' }, noisy);
    expect(lax.engine).toMatchObject({ anomalyEnterLikelihood: 0.9, anomalyExitLikelihood: 0.8 });
    expect(lax.engine.anomaly.anomalous).toBeGreaterThan(strict.engine.anomaly.anomalous);
    // its configuration, from the environment and from a YAML file, as `foresight start` reads them
    const yaml = join(dir, 'foresight.yaml');
    writeFileSync(yaml, 'retrainEvery: 30m\nhistory: 2d\nquantiles: [0.5, 0.8, 0.9, 0.95, 0.99]\nanomalyMode: alert-only\n');
    sum = summaryOf(['--config', yaml], { FORESIGHT_TARGET_SHORTAGE: '0.1', FORESIGHT_ANOMALY_WEEK_AGO: 'false' });
    expect(sum.target_shortage).toBe(0.1);
    expect(sum.engine).toMatchObject({ retrainEveryS: 1800, historyPoints: 576, actuation: true, levels: [0.5, 0.8, 0.9, 0.95, 0.99], anomaly: { mode: 'alert-only' }, anomalyWeekAgo: false });
    // flags override it
    sum = summaryOf(['--target-shortage', '0.05', '--retrain-every', '2h', '--history', '1d', '--no-actuation', '--anomaly-mode', 'off'], { FORESIGHT_TARGET_SHORTAGE: '0.1', FORESIGHT_ANOMALY_MODE: 'alert-only' });
    expect(sum.target_shortage).toBe(0.05);
    expect(sum.engine).toMatchObject({ retrainEveryS: 7200, historyPoints: 288, actuation: false, anomaly: { mode: 'off', scored: 0 } });
  }, 120_000);

  it('bounds the writes by the configuration\'s actuator.maxChangesPerHour, for the policy and the actuator alike', () => {
    // bursty: a base load with random bursts of up to 4x, so the allocation wants to move often
    let seed = 11;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const body = Array.from({ length: 600 }, (_, i) => `${i * 300},a,cpu,${(2 + Math.sin(i / 20)) * (rnd() < 0.2 ? 1 + 3 * rnd() : 1)}`).join('\n');
    const file = traceFile(dir, 'bursty.csv', `${header}${body}\n`);
    const holds: Array<Record<string, number>> = [];
    const changes = (env: Record<string, string>) => {
      const r = runCli(['--trace', file, '--resource', 'cpu', '--policies', 'foresight', '--out', join(dir, `out-budget-${Object.keys(env).length}`), '--json', '--quiet'], env);
      expect(r.code, r.stderr).toBe(0);
      const sum = JSON.parse(r.stdout) as { policies: Record<string, { changes_per_step: number }>; engine: { gateHolds: Record<string, number> } };
      holds.push(sum.engine.gateHolds);
      return sum.policies.foresight.changes_per_step;
    };
    const byDefault = changes({});
    const slow = changes({ FORESIGHT_ACTUATOR_MAX_CHANGES_PER_HOUR: '0.3' });
    // and summary.json counts what the gate's budget held
    expect(holds[1].budget).toBeGreaterThan(holds[0].budget ?? 0);
    // 50 hours: at most 3 + 0.3 x 50 = 18 changes in the whole run, over 312 scored steps at most 0.058
    expect(slow).toBeLessThanOrEqual(18 / 312);
    expect(byDefault).toBeGreaterThan(1.5 * slow);
    expect(byDefault).toBeLessThanOrEqual((3 + 1.2 * 50) / 312);
  }, 120_000);

  it('takes memory without a declared unit as bytes (VPA\'s histogram), says so, and --unit overrides it', () => {
    // about 4 GB of working set: VPA's generic histogram (unknown unit) tops out at 1e9 and would run short throughout
    const body = Array.from({ length: 900 }, (_, i) => `${i * 300},a,memory,${4e9 + 1e8 * Math.sin(i / 30)}`).join('\n');
    const file = traceFile(dir, 'mem-nounit.csv', `${header}${body}\n`);
    const vpa = (extra: string[]) => {
      const r = runCli(['--trace', file, '--resource', 'memory', '--policies', 'vpa', '--out', join(dir, `out-unit-${extra.join('')}`), '--json', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return { stderr: r.stderr, vpa: (JSON.parse(r.stdout) as { policies: Record<string, { shortage_steps: number }> }).policies.vpa };
    };
    const assumed = vpa([]);
    expect(assumed.stderr).toMatch(/gives no unit for "memory"; taking it as bytes \(--unit sets it\)/);
    expect(assumed.vpa.shortage_steps).toBeLessThan(0.05);
    const generic = vpa(['--unit', 'percent']);
    expect(generic.stderr).not.toMatch(/gives no unit/);
    expect(generic.vpa.shortage_steps).toBeGreaterThan(0.9);
  }, 60_000);

  it('refuses an invalid configuration naming every problem, before reading the trace', () => {
    const out = join(dir, 'out-config');
    const r = runCli(['--trace', join(dir, 'missing.csv'), '--resource', 'cpu', '--out', out], { FORESIGHT_TARGET_SHORTAGE: '2', FORESIGHT_ACTUATOR_MAX_STEP_RATIO: '0' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('FORESIGHT_ERR_CONFIG_INVALID');
    expect(r.stderr).toMatch(/targetShortage|TARGET_SHORTAGE/);
    expect(r.stderr).toMatch(/maxStepRatio|MAX_STEP_RATIO/);
    expect(r.stderr).not.toContain('missing.csv');
    expect(existsSync(out)).toBe(false);
  });

  it('writes exactly the three files (no temporaries left) on good input', () => {
    const file = traceFile(dir, 'good.csv', `${header}${good}\n`);
    const out = join(dir, 'out-good');
    const r = runCli(['--trace', file, '--resource', 'cpu', '--policies', 'vpa,persistence,static,oracle', '--out', out, '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['allocations.csv.gz', 'report.html', 'summary.json']);
    const summary = JSON.parse(r.stdout) as { policies: Record<string, { slack: number }> };
    expect(Object.keys(summary.policies).sort()).toEqual(['oracle', 'persistence', 'static', 'vpa']);
  });

  it('gives a tenant without a scored step null scores, not zeros that read as perfect', () => {
    const ghost = Array.from({ length: 30 }, (_, i) => `${i * 300},ghost,cpu,NA`).join('\n');
    const file = traceFile(dir, 'ghost.csv', `${header}${good}\n${ghost}\n`);
    const r = runCli(['--trace', file, '--resource', 'cpu', '--policies', 'static', '--out', join(dir, 'out-ghost'), '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const per = (JSON.parse(r.stdout) as { policies: { static: { per_tenant: Record<string, Record<string, number | null>> } } }).policies.static.per_tenant;
    expect(per.ghost).toEqual({ slack: null, shortage_steps: null, shortage_volume: null, changes_per_step: null, scored_steps: 0 });
    expect(per.a.scored_steps).toBeGreaterThan(0);
    expect(per.a.shortage_steps).not.toBeNull();
  });

  it('reads a tenant name quoted by RFC 4180 and writes it back quoted in allocations.csv.gz', () => {
    const quoted = good.split('\n').map((l) => l.replace(',a,', ',"team,a ""x""",')).join('\n');
    const file = traceFile(dir, 'quoted.csv', `${header}${quoted}\n`);
    const out = join(dir, 'out-quoted');
    const r = runCli(['--trace', file, '--resource', 'cpu', '--policies', 'vpa,static', '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const rows = gunzipSync(readFileSync(join(out, 'allocations.csv.gz'))).toString().trim().split('\n').slice(1);
    expect(rows.length).toBe(30 * 2);
    for (const row of rows) expect(row).toMatch(/^\d+,"team,a ""x""",cpu,(vpa|static),[^,]*,[^,]*$/);
  });
  it('says on stderr when samples off the grid were moved to it', () => {
    const jittered = good.split('\n').map((l, i) => (i % 5 === 2 ? l.replace(/^(\d+),/, (_, t) => `${Number(t) + 7},`) : l)).join('\n');
    const file = traceFile(dir, 'jittered.csv', `${header}${jittered}\n`);
    writeFileSync(join(dir, 'jittered.meta.json'), JSON.stringify({ interval_s: 300 }));
    const r = runCli(['--trace', file, '--resource', 'cpu', '--policies', 'static', '--out', join(dir, 'out-jittered'), '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/backtest: warning: .*jittered\.csv: 6 sample\(s\) not on their series' 300s grid \(the first at line 4\) were moved to the nearest slot\n/);
  });
});
