/** A fleet tile's levels in words (its accessible name, fleet-model.ts levelsText). */
import { describe, expect, it } from 'vitest';
import { levelsText } from '../../controller/console/src/fleet-model.js';

describe('console fleet tile levels', () => {
  it('names each channel’s peak in whole dBFS with a true minus, silent under the floor', () => {
    expect(levelsText(new Float32Array([-12.4, -100, 0]), 3)).toBe('Levels: 1 −12 dBFS, 2 silent, 3 0 dBFS');
  });
  it('says so before a frame, and marks a channel without a value', () => {
    expect(levelsText(new Float32Array(2), 0)).toBe('No levels yet');
    expect(levelsText(new Float32Array([Number.NaN]), 1)).toBe('Levels: 1 —');
  });
});
