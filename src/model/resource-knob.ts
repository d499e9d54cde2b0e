// The knob entry (src/actuator/knobs.ts) of a forecast signal: the default signals name directions and operations
// (disk_read, network_rx, ...), the knob list names the resource they belong to (disk_io, network).
import { knobFor, type ResourceKnob } from '../actuator/knobs.js';

const SIGNAL_RESOURCE: Readonly<Record<string, string>> = {
  disk_read: 'disk_io',
  disk_write: 'disk_io',
  network_rx: 'network',
  network_tx: 'network',
};

/** knobFor() of the resource a signal measures (`cpu_peak` -> cpu, `disk_read` -> disk_io, `network_tx` -> network). */
export function knobOfSignal(signal: string): ResourceKnob {
  const base = signal.replace(/_(peak|max|avg)$/, '');
  return knobFor(SIGNAL_RESOURCE[base] ?? base);
}
