import { describe, expect, it } from 'vitest';
import { wavHeader } from '../../agent/src/capture/wav-writer.js';
import { audioFacts } from '../../controller/src/modules/recordings/audio-facts.js';

/** A FLAC head: marker, STREAMINFO header, then its sample rate / channels / bits / total samples fields. */
function flacHead(rate: number, channels: number, bits: number, samples: number): Buffer {
  const head = Buffer.alloc(8 + 34);
  head.write('fLaC', 0, 'ascii');
  head[4] = 0x00; // STREAMINFO, not last
  head.writeUIntBE(34, 5, 3);
  const info = 8;
  head[info + 10] = (rate >> 12) & 0xff;
  head[info + 11] = (rate >> 4) & 0xff;
  head[info + 12] = ((rate & 0x0f) << 4) | ((channels - 1) << 1) | (((bits - 1) >> 4) & 0x01);
  head[info + 13] = (((bits - 1) & 0x0f) << 4) | Math.floor(samples / 2 ** 32);
  head.writeUInt32BE(samples % 2 ** 32, info + 14);
  return head;
}

describe('audio facts of an uploaded file', () => {
  it('reads a WAV header: rate, channels, bits per sample and duration (16 and 24 bits)', () => {
    for (const bits of [16, 24] as const) {
      const dataBytes = 48_000 * 2 * (bits / 8); // 1 s stereo
      const head = wavHeader(48_000, 2, dataBytes, bits);
      expect(audioFacts(head, head.length + dataBytes)).toEqual({
        container: 'wav',
        sampleRate: 48_000,
        channels: 2,
        bitDepth: bits,
        durationMs: 1000,
      });
    }
  });

  it('reads FLAC STREAMINFO: rate, channels, bits per sample and duration', () => {
    expect(audioFacts(flacHead(44_100, 1, 24, 88_200), 10_000)).toEqual({
      container: 'flac',
      sampleRate: 44_100,
      channels: 1,
      bitDepth: 24,
      durationMs: 2000,
    });
  });

  it('is null for anything else', () => {
    expect(audioFacts(Buffer.from('not audio at all'), 16)).toBeNull();
  });
});
