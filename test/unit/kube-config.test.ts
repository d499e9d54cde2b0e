// Where the actuator finds its cluster: a pod's ServiceAccount, $KUBECONFIG or ~/.kube/config, and a clear error when
// none is there (client-node would silently fall back to http://localhost:8080).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionFromKubeConfig } from '../../src/actuator/kube-api.js';

const home = mkdtempSync(join(tmpdir(), 'foresight-home-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('connectionFromKubeConfig', () => {
  it('says what is missing when there is no configuration at all', async () => {
    await expect(connectionFromKubeConfig({ HOME: home })).rejects.toMatchObject({
      code: 'FORESIGHT_ERR_KUBE_UNAVAILABLE',
      message: expect.stringMatching(new RegExp(`no Kubernetes configuration: not in a pod .*\\$KUBECONFIG unset and no ${home}/\\.kube/config; .*FORESIGHT_KUBERNETES`)),
    });
  });

  it('uses ~/.kube/config when there is one', async () => {
    mkdirSync(join(home, '.kube'));
    writeFileSync(
      join(home, '.kube', 'config'),
      ['apiVersion: v1', 'kind: Config', 'current-context: c', 'clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]', 'users: [{name: u, user: {token: t}}]', 'contexts: [{name: c, context: {cluster: k, user: u}}]', ''].join('\n'),
    );
    const prev = process.env.HOME;
    process.env.HOME = home; // client-node reads the process' own HOME
    try {
      expect((await connectionFromKubeConfig({ HOME: home })).server).toBe('https://127.0.0.1:6443');
    } finally {
      process.env.HOME = prev;
    }
  });
});
