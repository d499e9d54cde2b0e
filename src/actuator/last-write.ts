// When Foresight last wrote an object, from the record the API server keeps of it (metadata.managedFields): what a
// restarted or newly elected actuator seeds each target's change budget and cooldown from (SafetyGate.seed).

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
