// The Dockerfile against what it builds and what deploy/ runs. No container engine runs here, so the image is not
// built; this checks what can be checked without one: every file the build stage copies exists and is enough for
// `npm run build` (the scripts it runs name nothing else), .dockerignore keeps none of them out, and the runtime stage
// runs the package's own CLI as the user the manifests name.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { repoPath } from '../helpers/paths.js';

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

function instructions(): Instruction[] {
  const text = readFileSync(repoPath('Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  let stage = -1;
  const out: Instruction[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    const [op, ...rest] = line.split(/\s+/);
    if (op.toUpperCase() === 'FROM') stage++;
    out.push({ op: op.toUpperCase(), args: rest.join(' '), stage });
  }
  return out;
}

/** Sources of the COPY instructions of a stage that copy from the build context. */
function contextSources(stage: number): string[] {
  return instructions()
    .filter((i) => i.stage === stage && i.op === 'COPY' && !i.args.startsWith('--from'))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
}

describe('Dockerfile', () => {
  const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };

  it('copies into the build stage every file `npm run build` reads, and each exists', () => {
    const copied = contextSources(0);
    for (const src of copied) expect(existsSync(repoPath(src)), src).toBe(true);
    // what the build scripts name: asc's entry and config, tsc's projects, the post-build script
    const build = ['build', 'asbuild', 'asbuild:release', 'asbuild:debug', 'prepare'].map((k) => pkg.scripts[k] ?? '').join(' ');
    expect(build).toMatch(/asc assembly\/index\.ts/);
    expect(build).toMatch(/tsc -p tsconfig\.build\.json/);
    const read = ['package.json', 'package-lock.json', 'asconfig.json', 'tsconfig.json', 'tsconfig.build.json', 'assembly', 'src', ...[...build.matchAll(/node (\S+\.m?js)/g)].map((m) => m[1])];
    for (const f of read) expect(copied.some((c) => f === c || f.startsWith(`${c}/`)), f).toBe(true);
    // tsconfig.build.json compiles src alone
    expect(JSON.parse(readFileSync(repoPath('tsconfig.build.json'), 'utf8')).include).toEqual(['src']);
  });

  it('keeps none of what it copies out of the build context', () => {
    const ignored = readFileSync(repoPath('.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const src of [...contextSources(0), ...contextSources(1)]) {
      expect(ignored.some((i) => src === i || src.startsWith(`${i}/`)), src).toBe(false);
    }
  });

  it('runs the package\'s CLI with the demo trace beside it, as the user deploy/ runs it', () => {
    const run = instructions().filter((i) => i.stage === 1);
    const entry = JSON.parse(run.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
    expect(entry).toEqual(['node', `/app/${pkg.bin.foresight}`]);
    expect(JSON.parse(run.find((i) => i.op === 'CMD')!.args)).toEqual(['start']);
    // from the build stage: the host, the WASM core and the runtime dependencies
    const fromBuild = run.filter((i) => i.op === 'COPY' && i.args.startsWith('--from=build')).map((i) => i.args.split(/\s+/)[1]);
    expect(fromBuild.sort()).toEqual(['/src/build', '/src/dist', '/src/node_modules', '/src/package.json']);
    expect(contextSources(1)).toEqual(['examples']);
    const uid = run.find((i) => i.op === 'USER')!.args.split(':')[0];
    for (const file of ['deploy/deployment.yaml', 'deploy/sharded/statefulset.yaml']) {
      const docs = parseAllDocuments(readFileSync(repoPath(file), 'utf8')).map((d) => d.toJS() as { kind: string; spec?: { template?: { spec?: { securityContext?: { runAsUser?: number } } } } });
      const workload = docs.find((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet')!;
      expect(String(workload.spec?.template?.spec?.securityContext?.runAsUser), file).toBe(uid);
    }
  });
});
