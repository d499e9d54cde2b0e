// `foresight evaluate` horizons on a coarse trace: the defaults are rounded up to the interval, given ones are checked.
import { describe, expect, it } from 'vitest';
import { checkHorizons, roundUpHorizons } from '../../src/commands/evaluate.js';
import { csvField } from '../../src/sources/trace-file.js';

describe('evaluate horizons', () => {
  it('rounds the default horizons up to multiples of a coarser interval, dropping repeats', () => {
    expect(roundUpHorizons([300, 900, 1800], 900)).toEqual([900, 1800]);
    expect(roundUpHorizons([300, 900, 1800], 3600)).toEqual([3600]);
    expect(roundUpHorizons([300, 900, 1800], 600)).toEqual([600, 1200, 1800]);
  });

  it('keeps horizons that are already multiples of the interval', () => {
    expect(roundUpHorizons([300, 900, 1800], 300)).toEqual([300, 900, 1800]);
    expect(roundUpHorizons([300, 900, 1800], 60)).toEqual([300, 900, 1800]);
  });

  it('accepts given horizons that are positive multiples of the interval', () => {
    expect(() => checkHorizons([900, 1800, 86_400], 900)).not.toThrow();
  });

  it('refuses a given horizon that is not a multiple, naming the nearest multiples and a list that would work', () => {
    expect(() => checkHorizons([300, 900, 1800], 900)).toThrow(
      'horizon 300s is not a positive multiple of the trace interval 900s: use 900s (e.g. --horizons 900,1800)',
    );
    expect(() => checkHorizons([420], 300)).toThrow('horizon 420s is not a positive multiple of the trace interval 300s: use 300s or 600s (e.g. --horizons 600)');
    expect(() => checkHorizons([0], 300)).toThrow(/horizon 0s is not a positive multiple of the trace interval 300s: use 300s$/);
  });

  it('quotes a tenant or resource holding a comma or a quote as one CSV field, and leaves plain names alone', () => {
    expect(csvField('vm_1')).toBe('vm_1');
    expect(csvField('team,a 1')).toBe('"team,a 1"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
  });
});
