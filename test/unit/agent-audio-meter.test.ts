import { describe, expect, it } from 'vitest';
import { MeterAccumulator } from '../../agent/src/capture/meter.js';
import { DBFS_FLOOR, decodePayload } from '../../shared/src/mqtt.js';

const RATE = 48_000;

/** Interleaved s16le sine; every channel carries the same signal. */
function sine(opts: { amplitude: number; frames: number; channels?: number; hz?: number }): Buffer {
  const { amplitude, frames, channels = 1, hz = 1000 } = opts;
  const buf = Buffer.alloc(frames * channels * 2);
  for (let i = 0; i < frames; i++) {
    const value = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / RATE));
    const clamped = Math.max(-32768, Math.min(32767, value));
    for (let ch = 0; ch < channels; ch++) buf.writeInt16LE(clamped, (i * channels + ch) * 2);
  }
  return buf;
}

const fixedClock = () => 1_700_000_000_000;

describe('MeterAccumulator', () => {
  it('reads a -20 dBFS sine as -20 dBFS peak and -23.01 dBFS RMS', () => {
    const meter = new MeterAccumulator({ sampleRate: RATE, channels: 2, now: fixedClock });
    const frames = meter.push(sine({ amplitude: 32768 * 10 ** (-20 / 20), frames: RATE, channels: 2 }));
    expect(frames).toHaveLength(10);
    for (const frame of frames) {
      for (const ch of frame.channels) {
        expect(ch.peakDbfs).toBeCloseTo(-20, 2);
        expect(Math.abs(ch.rmsDbfs - -23.01)).toBeLessThan(0.01);
        expect(ch.clipCount).toBe(0);
      }
    }
  });

  it('reads a full-scale sine as 0 dBFS peak and -3.01 dBFS RMS, counting clipped samples', () => {
    const meter = new MeterAccumulator({ sampleRate: RATE, channels: 1, now: fixedClock });
    // Amplitude 32767: the crest of each 48-sample period lands exactly on +32767 (a clip
    // sample); the trough on -32767, which is not a clip.
    const [frame] = meter.push(sine({ amplitude: 32767, frames: 4800 }));
    const ch = frame!.channels[0]!;
    expect(Math.abs(ch.peakDbfs)).toBeLessThan(0.01);
    expect(Math.abs(ch.rmsDbfs - -3.01)).toBeLessThan(0.01);
    expect(ch.clipCount).toBe(100);
  });

  it('counts samples at -32768 and +32767 per channel and reads -32768 as 0 dBFS', () => {
    const meter = new MeterAccumulator({ sampleRate: 1000, channels: 2, windowMs: 10, now: fixedClock });
    const buf = Buffer.alloc(10 * 2 * 2);
    buf.writeInt16LE(-32768, 0); // ch0
    buf.writeInt16LE(32767, 4); // ch0
    buf.writeInt16LE(32767, 6); // ch1
    buf.writeInt16LE(32766, 10); // ch1, not a clip
    const [frame] = meter.push(buf);
    expect(frame!.channels.map((c) => c.clipCount)).toEqual([2, 1]);
    expect(frame!.channels[0]!.peakDbfs).toBe(0);
  });

  it('reads 24-bit PCM against its own full scale, counting clips at its ends', () => {
    const meter = new MeterAccumulator({
      sampleRate: 1000,
      channels: 2,
      bitDepth: 24,
      windowMs: 10,
      now: fixedClock,
    });
    const buf = Buffer.alloc(10 * 2 * 3);
    buf.writeIntLE(-(2 ** 23), 0, 3); // ch0: full scale, a clip
    buf.writeIntLE(2 ** 23 - 1, 6, 3); // ch0: a clip
    buf.writeIntLE(2 ** 20, 3, 3); // ch1: 1/8 of full scale = -18.06 dBFS, not a clip
    buf.writeIntLE(32767, 9, 3); // ch1: a 16-bit clip value is quiet at 24 bits
    const [frame] = meter.push(buf);
    expect(frame!.channels.map((c) => c.clipCount)).toEqual([2, 0]);
    expect(frame!.channels[0]!.peakDbfs).toBe(0);
    expect(frame!.channels[1]!.peakDbfs).toBeCloseTo(-18.06, 2);
  });

  it('gives the same levels for a sine at 16 and at 24 bits, whatever the chunk boundaries', () => {
    const amplitude = 10 ** (-12 / 20);
    const frames = 4800;
    const deep = Buffer.alloc(frames * 3);
    for (let i = 0; i < frames; i++)
      deep.writeIntLE(Math.round(amplitude * 2 ** 23 * Math.sin((2 * Math.PI * 1000 * i) / RATE)), i * 3, 3);
    const meter = new MeterAccumulator({ sampleRate: RATE, channels: 1, bitDepth: 24, now: fixedClock });
    const out = [...meter.push(deep.subarray(0, 1001)), ...meter.push(deep.subarray(1001))];
    const [shallow] = new MeterAccumulator({ sampleRate: RATE, channels: 1, now: fixedClock }).push(
      sine({ amplitude: 32768 * amplitude, frames }),
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.channels[0]!.peakDbfs).toBeCloseTo(-12, 2);
    expect(out[0]!.channels[0]!.rmsDbfs).toBeCloseTo(shallow!.channels[0]!.rmsDbfs, 2);
  });

  it('reads silence as the floor', () => {
    const meter = new MeterAccumulator({ sampleRate: RATE, channels: 2, now: fixedClock });
    const [frame] = meter.push(Buffer.alloc(4800 * 4));
    const floor = { momentaryLufs: DBFS_FLOOR, shortTermLufs: DBFS_FLOOR, truePeakDbtp: DBFS_FLOOR };
    expect(frame!.channels).toEqual([
      { peakDbfs: DBFS_FLOOR, rmsDbfs: DBFS_FLOOR, clipCount: 0, ...floor },
      { peakDbfs: DBFS_FLOOR, rmsDbfs: DBFS_FLOOR, clipCount: 0, ...floor },
    ]);
    expect(frame!.programme).toEqual(floor);
  });

  it('frames carry loudness (schema version 2): a −23 dBFS stereo 1 kHz sine reads −23 LUFS, −23 dBTP', () => {
    const meter = new MeterAccumulator({ sampleRate: RATE, channels: 2, now: fixedClock });
    const frames = meter.push(sine({ amplitude: 32768 * 10 ** (-23 / 20), frames: 4 * RATE, channels: 2 }));
    const last = frames.at(-1)!;
    expect(last.v).toBe(2);
    expect(last.programme!.momentaryLufs).toBeCloseTo(-23, 1);
    expect(last.programme!.shortTermLufs).toBeCloseTo(-23, 1);
    expect(last.programme!.truePeakDbtp).toBeCloseTo(-23, 1);
    // Each channel alone is half the programme's energy: 3 dB lower.
    expect(last.channels[0]!.momentaryLufs).toBeCloseTo(-26.01, 1);
    expect(decodePayload('meters', Buffer.from(JSON.stringify(last))).ok).toBe(true);
  });

  it('a version 1 frame (an older agent: no version, no loudness) is still valid', () => {
    const v1 = {
      seq: 1,
      capturedAtMs: 1,
      windowMs: 100,
      sampleRate: 48_000,
      channels: [{ peakDbfs: -6, rmsDbfs: -9, clipCount: 0 }],
    };
    expect(decodePayload('meters', Buffer.from(JSON.stringify(v1))).ok).toBe(true);
  });

  it('gives identical frames whatever the chunk boundaries', () => {
    const pcm = Buffer.concat([
      sine({ amplitude: 5000, frames: 7000, channels: 3, hz: 440 }),
      sine({ amplitude: 32767, frames: 3000, channels: 3, hz: 997 }),
    ]);
    const whole = new MeterAccumulator({ sampleRate: RATE, channels: 3, now: fixedClock }).push(pcm);
    expect(whole).toHaveLength(2);

    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const maxChunk of [1, 3, 7, 1000]) {
      const meter = new MeterAccumulator({ sampleRate: RATE, channels: 3, now: fixedClock });
      const frames = [];
      for (let offset = 0; offset < pcm.length; ) {
        const size = 1 + Math.floor(random() * maxChunk);
        frames.push(...meter.push(pcm.subarray(offset, offset + size)));
        offset += size;
      }
      // capturedAtMs depends on when the window's last sample arrived, so only it may differ.
      const levels = (list: typeof whole) => list.map(({ capturedAtMs: _, ...rest }) => rest);
      expect(levels(frames)).toEqual(levels(whole));
    }
  });

  it('cuts windows by sample count, increments seq and emits valid MeterFrame payloads', () => {
    const meter = new MeterAccumulator({ sampleRate: 8000, channels: 1, windowMs: 50, now: () => 10_000 });
    expect(meter.windowFrames).toBe(400);
    expect(meter.push(Buffer.alloc(399 * 2))).toEqual([]);
    const frames = meter.push(Buffer.alloc(800 * 2));
    expect(frames.map((f) => f.seq)).toEqual([0, 1]);
    // The chunk's last sample arrived at 10 000 ms; the windows ended on its 1st and 401st
    // frames, 799 and 399 frames (99.9 and 49.9 ms) before its last.
    expect(frames.map((f) => f.capturedAtMs)).toEqual([9900, 9950]);
    for (const frame of frames) {
      expect(decodePayload('meters', JSON.stringify(frame)).ok).toBe(true);
      expect(frame).toMatchObject({ windowMs: 50, sampleRate: 8000 });
    }
    expect(meter.push(Buffer.alloc(2))[0]?.seq).toBe(2);
  });

  it('rejects window lengths the MeterFrame contract cannot carry', () => {
    expect(() => new MeterAccumulator({ sampleRate: RATE, channels: 1, windowMs: 0 })).toThrow(RangeError);
    expect(() => new MeterAccumulator({ sampleRate: RATE, channels: 1, windowMs: 10_001 })).toThrow(
      RangeError,
    );
  });
});
