// VPAs in memory behind a KubeApi's request(): list, get, and status merge patches checked against resourceVersion, as
// the API server answers them. A patch that changes a value bumps the resourceVersion and moves the patching manager's
// managedFields time (subresource status) to `nowS`; a patch of the same values changes nothing, as on a real server
// (test/integration/kube-actuator.test.ts checks both there).
import { KubeHttpError, type KubeOp } from '../../src/actuator/kube-api.js';
import type { Vpa } from '../../src/actuator/vpa-types.js';

const iso = (s: number): string => new Date(s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

export class VpaServer {
  readonly vpas = new Map<string, Vpa>();
  /** Status patches accepted (changing or not). */
  patches = 0;
  /** The server's clock, UNIX seconds: the time a changing patch records in managedFields. */
  nowS = 0;
  private rv = 1;

  put(v: Vpa): void {
    v.metadata.resourceVersion = String(this.rv++);
    this.vpas.set(`${v.metadata.namespace}/${v.metadata.name}`, structuredClone(v));
  }

  readonly request = async <T>(op: KubeOp, _path: string, init: { body?: unknown; query?: Record<string, string> } = {}): Promise<T> => {
    if (op.verb === 'list') return { items: [...this.vpas.values()].map((v) => structuredClone(v)) } as T;
    const v = this.vpas.get(`${op.namespace}/${op.name}`)!;
    if (op.verb === 'get') return structuredClone(v) as T;
    if (op.verb !== 'patch') throw new Error(`unexpected ${op.verb}`);
    const body = init.body as { metadata?: { resourceVersion?: string }; status: Vpa['status'] };
    if (body.metadata?.resourceVersion !== v.metadata.resourceVersion) throw new KubeHttpError(409, 'Conflict', op, 'conflict');
    this.patches++;
    const next = { ...v.status, ...structuredClone(body.status) };
    if (JSON.stringify(next) === JSON.stringify(v.status)) return {} as T;
    v.status = next;
    const manager = init.query?.fieldManager ?? 'unknown';
    v.metadata.managedFields = [
      ...(v.metadata.managedFields ?? []).filter((e) => e.manager !== manager || e.subresource !== 'status'),
      { manager, operation: 'Update', subresource: 'status', time: iso(this.nowS) },
    ];
    v.metadata.resourceVersion = String(this.rv++);
    return {} as T;
  };
}
