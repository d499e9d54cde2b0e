// Leader election judged on this replica's clock (client-go's rule), writes refused past the renew deadline, and a
// journal whose file cannot be written that never turns an applied change into a failed one.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guardWrite } from '../../src/actuator/actuator.js';
import { ActionJournal } from '../../src/actuator/journal.js';
import { KubeHttpError, type KubeApi } from '../../src/actuator/kube-api.js';
import { LeaderElector } from '../../src/actuator/leader.js';

/** One Lease in memory with resourceVersion checks (409 on a stale update, 404 before it exists). */
function fakeLeaseApi() {
  let lease: { metadata: Record<string, unknown>; spec: Record<string, unknown> } | undefined;
  let rv = 0;
  const err = (status: number) => new KubeHttpError(status, '', { verb: 'get', resource: 'leases' }, `HTTP ${status}`);
  const api = {
    async request(op: { verb: string }, _path: string, init: { body?: { metadata: Record<string, unknown>; spec: Record<string, unknown> } } = {}) {
      if (op.verb === 'get') {
        if (!lease) throw err(404);
        return structuredClone(lease);
      }
      if (op.verb === 'create') {
        if (lease) throw err(409);
        lease = { metadata: { ...init.body!.metadata, resourceVersion: String(++rv) }, spec: init.body!.spec };
        return lease;
      }
      if (op.verb === 'update') {
        if (!lease || init.body!.metadata.resourceVersion !== lease.metadata.resourceVersion) throw err(409);
        lease = { metadata: { ...init.body!.metadata, resourceVersion: String(++rv) }, spec: init.body!.spec };
        return lease;
      }
      throw new Error(`unexpected ${op.verb}`);
    },
  };
  return { api: api as unknown as KubeApi, holder: () => lease?.spec.holderIdentity };
}

describe('LeaderElector', () => {
  it('does not take a live Lease from a holder whose clock is behind, and takes it once the record stops changing', async () => {
    const { api, holder } = fakeLeaseApi();
    let t = 1_000_000;
    const a = new LeaderElector(api, 'ns', 'l', 'a', 15, () => t);
    const b = new LeaderElector(api, 'ns', 'l', 'b', 15, () => t + 20_000); // b's clock is 20 s ahead
    expect(await a.tryAcquireOrRenew()).toBe(true);
    for (let i = 0; i < 6; i++) {
      t += 5_000;
      expect(await a.tryAcquireOrRenew()).toBe(true);
      expect(await b.tryAcquireOrRenew()).toBe(false);
      expect(holder()).toBe('a');
    }
    // a stops renewing: b takes over once the record has been still for a Lease duration on b's clock
    t += 10_000;
    expect(await b.tryAcquireOrRenew()).toBe(false);
    t += 6_000;
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(holder()).toBe('b');
    expect(await a.tryAcquireOrRenew()).toBe(false);
  });

  it('may write only within the renew deadline (two thirds of the Lease duration) after its last renew', async () => {
    const { api } = fakeLeaseApi();
    let t = 0;
    const a = new LeaderElector(api, 'ns', 'l', 'a', 15, () => t);
    expect(a.holds()).toBe(false);
    await a.tryAcquireOrRenew();
    t += 9_000;
    expect(a.holds()).toBe(true);
    t += 2_000;
    expect(a.isLeader).toBe(true);
    expect(a.holds()).toBe(false);
    await a.tryAcquireOrRenew();
    expect(a.holds()).toBe(true);
  });

  it('serialises concurrent renewals instead of failing one of them with a 409', async () => {
    const { api } = fakeLeaseApi();
    const a = new LeaderElector(api, 'ns', 'l', 'a', 15, () => 0);
    expect(await Promise.all([a.tryAcquireOrRenew(), a.tryAcquireOrRenew(), a.tryAcquireOrRenew()])).toEqual([true, true, true]);
    expect(a.isLeader).toBe(true);
  });
});

describe('guardWrite', () => {
  const op = (verb: string, resource: string) => ({ verb, resource, namespace: 'foresight-system', name: 'p' });
  it('refuses writes past the renew deadline, naming them, and lets reads and the Lease itself through', () => {
    expect(() => guardWrite(op('create', 'pods'), () => false)).toThrow(/FORESIGHT_ERR_LEADERSHIP_LOST|Not writing create pods foresight-system\/p/);
    expect(() => guardWrite(op('patch', 'verticalpodautoscalers'), () => false)).toThrow(/renew deadline/);
    expect(() => guardWrite(op('get', 'pods'), () => false)).not.toThrow();
    expect(() => guardWrite(op('update', 'leases'), () => false)).not.toThrow();
    expect(() => guardWrite(op('create', 'pods'), () => true)).not.toThrow();
  });
});

describe('ActionJournal', () => {
  it('keeps an entry and counts the failure when its file cannot be written, without throwing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const j = new ActionJournal(dir, 10); // a directory: appendFileSync fails with EISDIR
    const e = j.record({ cycle: 1, kind: 'shadow', action: 'create', target: 'foresight-system/p', outcome: 'applied' } as never);
    expect(j.list()).toEqual([e]);
    expect(j.fileErrors).toBe(1);
    expect(j.lastFileError?.message).toMatch(/EISDIR/);
  });
});
