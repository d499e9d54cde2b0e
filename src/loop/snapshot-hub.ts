// Holds the latest immutable Snapshot and fans each new one out to subscribers (metrics read `latest()`, the
// actuator subscribes). A failing subscriber never affects the others or the loop.
import type { Snapshot } from '../model/snapshot.js';
import type { SnapshotSink } from './types.js';

export class SnapshotHub {
  #latest?: Snapshot;
  #sinks = new Set<SnapshotSink>();
  /** Snapshots published after a successful cycle. */
  successes = 0;

  latest(): Snapshot | undefined {
    return this.#latest;
  }

  subscribe(sink: SnapshotSink): () => void {
    this.#sinks.add(sink);
    return () => this.#sinks.delete(sink);
  }

  get subscribers(): number {
    return this.#sinks.size;
  }

  /** @internal used by publishSnapshot */
  set(s: Snapshot, success: boolean): void {
    this.#latest = s;
    if (success) this.successes++;
  }

  sinks(): SnapshotSink[] {
    return [...this.#sinks];
  }
}

/** Freezes `s`, makes it the latest, and delivers it to every sink; returns the errors sinks threw. */
export async function publishSnapshot(hub: SnapshotHub, s: Snapshot, success: boolean): Promise<unknown[]> {
  Object.freeze(s);
  hub.set(s, success);
  const errors: unknown[] = [];
  await Promise.all(
    hub.sinks().map(async (sink) => {
      try {
        await sink.publish(s);
      } catch (err) {
        errors.push(err);
      }
    }),
  );
  return errors;
}
