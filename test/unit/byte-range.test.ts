import { describe, expect, it } from 'vitest';
import { parseRange } from '../../controller/src/modules/recordings/byte-range.js';
import { wavDurationMs } from '../../controller/src/modules/recordings/file-store.js';

describe('parseRange', () => {
  const size = 1000;
  it.each([
    [undefined, { kind: 'full' }],
    ['bytes=0-99', { kind: 'partial', range: { start: 0, end: 99 } }],
    ['bytes=900-', { kind: 'partial', range: { start: 900, end: 999 } }],
    ['bytes=-100', { kind: 'partial', range: { start: 900, end: 999 } }],
    ['bytes=-5000', { kind: 'partial', range: { start: 0, end: 999 } }],
    ['bytes=10-5000', { kind: 'partial', range: { start: 10, end: 999 } }],
    ['bytes=999-999', { kind: 'partial', range: { start: 999, end: 999 } }],
  ])('%s', (header, expected) => expect(parseRange(header, size)).toEqual(expected));

  it.each(['bytes=1000-', 'bytes=5-4', 'bytes=-0', 'bytes=-', 'bytes=0-1,3-4', 'items=0-1', 'bytes=a-b', ''])(
    'rejects %j',
    (header) => expect(parseRange(header, size)).toEqual({ kind: 'unsatisfiable' }),
  );

  it('has nothing to serve from an empty file', () => {
    expect(parseRange('bytes=-1', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
  });
});

describe('wavDurationMs', () => {
  function header(dataSize: number, byteRate = 192_000): Buffer {
    const h = Buffer.alloc(44);
    h.write('RIFF', 0, 'ascii');
    h.write('WAVE', 8, 'ascii');
    h.write('fmt ', 12, 'ascii');
    h.writeUInt32LE(16, 16);
    h.writeUInt32LE(byteRate, 28);
    h.write('data', 36, 'ascii');
    h.writeUInt32LE(dataSize, 40);
    return h;
  }
  it('reads the data size and byte rate', () => expect(wavDurationMs(header(96_000), 44 + 96_000)).toBe(500));
  it('uses the file size when a streaming writer left the size open', () => {
    expect(wavDurationMs(header(0xffff_ffff), 44 + 192_000)).toBe(1000);
    expect(wavDurationMs(header(0), 44 + 192_000)).toBe(1000);
  });
  it('returns null for something that is not a WAV', () => {
    expect(wavDurationMs(Buffer.from('not a wav file at all, really'), 29)).toBeNull();
  });
});
