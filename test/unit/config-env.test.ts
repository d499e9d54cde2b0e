// FORESIGHT_* variables: a misspelt configuration variable fails start-up, while every variable the project itself
// reads (tools, tests, CI, benchmarks) and the service links Kubernetes injects are left alone.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig({ env, yamlText: '' });
    return '';
  } catch (err) {
    expect((err as { code?: string }).code).toBe('FORESIGHT_ERR_CONFIG_INVALID');
    return (err as Error).message;
  }
}

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'build') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.(ts|js|mjs|sh|ya?ml|json)$|^run$/.test(name)) yield p;
  }
}

describe('FORESIGHT_* environment variables', () => {
  it('rejects a misspelt configuration variable, naming the closest one', () => {
    const msg = problemsOf({ FORESIGHT_PROMETHEUS_ULR: 'http://prom:9090', FORESIGHT_port: '9000', FORESIGHT_ACTUATOR_DRYRUN: 'false', FORESIGHT_QUERY_CPUU: 'sum by ({{tenant}}) (x)', FORESIGHT_ENDPOINT: 'x' });
    expect(msg).toContain('FORESIGHT_PROMETHEUS_ULR: not a configuration variable (did you mean FORESIGHT_PROMETHEUS_URL?)');
    expect(msg).toContain('FORESIGHT_port: not a configuration variable (did you mean FORESIGHT_PORT?)');
    expect(msg).toContain('FORESIGHT_ACTUATOR_DRYRUN: not a configuration variable (did you mean FORESIGHT_ACTUATOR_DRY_RUN?)');
    expect(msg).toContain('FORESIGHT_QUERY_CPUU: no configured signal is named cpuu');
    expect(msg).toMatch(/FORESIGHT_ENDPOINT: not a configuration variable; `foresight start --help` lists them/);
  });

  it('accepts the query of a configured signal, and rejects one of a signal that is not configured', () => {
    expect(problemsOf({ FORESIGHT_SIGNALS: 'cpu,gpu', FORESIGHT_QUERY_GPU: 'sum by ({{tenant}}) (gpu)' })).toBe('');
    expect(problemsOf({ FORESIGHT_SIGNALS: 'cpu', FORESIGHT_QUERY_MEMORY: 'sum by ({{tenant}}) (m)' })).toContain('FORESIGHT_QUERY_MEMORY: no configured signal is named memory (cpu)');
  });

  it('leaves alone Kubernetes service links of Services named foresight-* and names that are not configuration keys', () => {
    expect(
      problemsOf({
        FORESIGHT_SHARD_SERVICE_HOST: '10.0.0.7',
        FORESIGHT_SHARD_SERVICE_PORT: '8080',
        FORESIGHT_SHARD_SERVICE_PORT_HTTP: '8080',
        FORESIGHT_SHARD_PORT: 'tcp://10.0.0.7:8080',
        FORESIGHT_SHARD_PORT_8080_TCP: 'tcp://10.0.0.7:8080',
        FORESIGHT_SHARD_PORT_8080_TCP_PROTO: 'tcp',
        FORESIGHT_SHARD_PORT_8080_TCP_PORT: '8080',
        FORESIGHT_SHARD_PORT_8080_TCP_ADDR: '10.0.0.7',
        FORESIGHT_SERVICE_HOST: '10.0.0.8',
        'FORESIGHT_some-thing': 'x',
      }),
    ).toBe('');
  });

  it('accepts every FORESIGHT_* variable named anywhere in the code, scripts, tests, CI, deployment and README', () => {
    const self = fileURLToPath(import.meta.url);
    const seen = new Map<string, string>();
    const sources = [...['src', 'scripts', 'test', 'bench', 'deploy', 'examples', '.ci'].flatMap((d) => [...files(join(root, d))]), join(root, 'README.md'), join(root, 'package.json')];
    for (const f of sources) {
      if (f === self) continue; // the misspelt names tested above
      for (const m of readFileSync(f, 'utf8').matchAll(/\bFORESIGHT_[A-Z0-9_]*[A-Z0-9]\b/g)) {
        if (!seen.has(m[0])) seen.set(m[0], relative(root, f));
      }
    }
    // error codes are not variables; the others are placeholders in comments, or deliberately invalid in tests
    const notVariables = (n: string) => n.startsWith('FORESIGHT_ERR_') || ['FORESIGHT_UPPER_SNAKE', 'FORESIGHT_LIMIT_GPU'].includes(n);
    const names = [...seen.keys()].filter((n) => !notVariables(n));
    expect(names).toEqual(expect.arrayContaining(['FORESIGHT_CONFIG', 'FORESIGHT_REQUIRE_INTEGRATION', 'FORESIGHT_CACHE', 'FORESIGHT_TRACES', 'FORESIGHT_DEBUG']));
    for (const name of names) {
      const msg = problemsOf({ [name]: '' });
      expect({ name, file: seen.get(name), rejected: /not a configuration variable|no configured signal/.test(msg) }).toEqual({ name, file: seen.get(name), rejected: false });
    }
  });
});
