// When Foresight last wrote an object, from the record the API server keeps of it (metadata.managedFields): what a
// restarted or newly elected actuator seeds each target's change budget and cooldown from (SafetyGate.seed).
import type { SafetyGate } from './safety.js';

/** The field manager the actuator's writes of VPA status and of its quotas name: the managedFields entry they are
 *  recorded under. */
export const FIELD_MANAGER = 'foresight';

/** The parts of a metadata.managedFields entry read here. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  /** '' or absent for the main resource, 'status' for the status subresource. */
  subresource?: string;
  /** RFC 3339, to the second. */
  time?: string;
}

/**
 * When `manager` last changed a field it owns through `subresource` ('' for the main resource), UNIX seconds, or
 * undefined when the object has no such record. The API server moves an entry's time only when that manager's write
 * changes a value (a write of the same values leaves it, and so does another manager's write: checked against a real
 * kube-apiserver in test/integration/kube-actuator.test.ts). The time is kept to the second, truncated: the write
 * happened within the second after it, and the end of that second is returned so that a cooldown seeded from it is
 * never shorter than the real one.
 */
export function lastWriteS(entries: readonly ManagedFieldsEntry[] | undefined, manager = FIELD_MANAGER, subresource = ''): number | undefined {
  let last: number | undefined;
  for (const e of entries ?? []) {
    // Apply entries (server-side apply) are never ours: the recommender patches, which the server records as Update
    if (e.manager !== manager || e.operation !== 'Update' || (e.subresource ?? '') !== subresource || !e.time) continue;
    const ms = Date.parse(e.time);
    if (!Number.isFinite(ms)) continue;
    const s = ms / 1000 + 1;
    if (last === undefined || s > last) last = s;
  }
  return last;
}

/**
 * The objects a writer (the VPA recommender, the quota manager) has seeded its gate from in its current term as
 * leader: each once a term, newTerm starting another, since another replica may have written meanwhile; and whether
 * the term's first pass has said how much it seeded.
 */
export class TermSeeds {
  readonly #done = new Set<string>();
  #said = false;

  /** A new term as leader: every object is seeded again at its next pass. */
  newTerm(): void {
    this.#done.clear();
    this.#said = false;
  }

  /**
   * Once per term for `object`: seeds the gate's targets `keys()` (under `prefix`) from our last write that `entries`
   * record through `subresource`, and returns how many it seeded (0 when already seeded this term, or never written by
   * us: such targets start with a full bucket and no cooldown).
   */
  seed(object: string, entries: readonly ManagedFieldsEntry[] | undefined, subresource: string, keys: () => Iterable<string>, gate: Pick<SafetyGate, 'seed'>, prefix: string, nowS: number): number {
    if (this.#done.has(object)) return 0;
    this.#done.add(object);
    const at = lastWriteS(entries, FIELD_MANAGER, subresource);
    if (at === undefined) return 0;
    let n = 0;
    for (const k of keys()) {
      gate.seed(`${prefix}${k}`, at, nowS);
      n++;
    }
    return n;
  }

  /** An object that is gone. */
  forget(object: string): void {
    this.#done.delete(object);
  }

  /** Whether a pass that seeded `targets` targets says so: the term's first pass, and any that seeded some. */
  say(targets: number): boolean {
    const say = !this.#said || targets > 0;
    this.#said = true;
    return say;
  }
}
