// The actuator's journal: every change it made or, in dry-run, would have made, as JSON lines and in memory (/api/v1/actions).
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type ActionKind = 'vpa' | 'placeholder' | 'quota';
export type ActionOutcome = 'planned' | 'applied' | 'exists' | 'failed';

export interface ActionEntry {
  /** ISO time the entry was written. */
  time: string;
  /** Snapshot cycle that drove the change. */
  cycle: number;
  kind: ActionKind;
  /** `update-recommendation`, `create`, `replace`, `delete`. */
  action: string;
  /** `namespace/name` of the object. */
  target: string;
  dryRun: boolean;
  /** `planned` in dry-run, else `applied`, `exists` (a create found the object already there: nothing was written) or `failed`. */
  outcome: ActionOutcome;
  /** Why (the bound that shaped the value, the error that stopped it). */
  reason?: string;
  before?: unknown;
  after?: unknown;
}

export interface JournalQuery {
  limit?: number;
  kind?: ActionKind;
  sinceCycle?: number;
}

export class ActionJournal {
  private readonly entries: ActionEntry[] = [];
  private total = 0;
  /** Appends to the file that failed (full disk, unwritable path); the entries stay in memory and the change itself
   *  stands: a journal that cannot be written never turns an applied change into a failed one. */
  fileErrors = 0;
  lastFileError: Error | undefined;

  /** `path` empty: memory only. `capacity`: entries kept in memory (oldest dropped first). */
  constructor(
    private readonly path = '',
    private readonly capacity = 1000,
  ) {
    if (path) mkdirSync(dirname(path), { recursive: true });
  }

  record(e: Omit<ActionEntry, 'time'>, now: Date = new Date()): ActionEntry {
    const entry: ActionEntry = { time: now.toISOString(), ...e };
    this.entries.push(entry);
    this.total++;
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
    if (this.path) {
      try {
        appendFileSync(this.path, `${JSON.stringify(entry)}\n`);
      } catch (err) {
        this.fileErrors++;
        this.lastFileError = err as Error;
      }
    }
    return entry;
  }

  /** Newest last. */
  list(q: JournalQuery = {}): ActionEntry[] {
    let out = this.entries.filter((e) => (q.kind === undefined || e.kind === q.kind) && (q.sinceCycle === undefined || e.cycle >= q.sinceCycle));
    if (q.limit !== undefined && q.limit >= 0) out = out.slice(Math.max(0, out.length - q.limit));
    return out;
  }

  /** Entries ever recorded (including those dropped from memory). */
  get recorded(): number {
    return this.total;
  }
}
