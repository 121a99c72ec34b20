// Recordings cut from the shared capture by wall-clock instants: on-time starts, back-to-back
// windows split at one frame (no gap, no overlap), channel selection in the file and header.
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaptureOptions } from '../../agent/src/capture/capture.js';
import { frameIndexAt, PcmTap } from '../../agent/src/capture/pcm-tap.js';
import type { SupervisorEvents } from '../../agent/src/capture/supervisor.js';
import { WAV_HEADER_BYTES } from '../../agent/src/capture/wav-writer.js';
import { Recording } from '../../agent/src/jobs/recording.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const RATE = 8000;
const T = 1_800_000_000_000;

/**
 * A capture whose every sample holds its frame number (mod 30) plus 1000 × its channel; at 24
 * bits, that value × 256 plus a low byte of 0x55 (so a lost low byte shows).
 */
class FakeSource extends EventEmitter<SupervisorEvents> {
  frame = 0;
  constructor(public format: CaptureOptions) {
    super();
  }
  /** `frames` frames, split at `splitAt` bytes (frames may break anywhere). */
  push(frames: number, splitAt?: number): void {
    const { channels, bitDepth = 16 } = this.format;
    const size = bitDepth / 8;
    const chunk = Buffer.alloc(frames * channels * size);
    for (let f = 0; f < frames; f++, this.frame++) {
      for (let c = 0; c < channels; c++) {
        const value = (this.frame % 30) + 1000 * c;
        const offset = (f * channels + c) * size;
        if (size === 2) chunk.writeInt16LE(value, offset);
        else chunk.writeIntLE(value * 256 + 0x55, offset, 3);
      }
    }
    if (splitAt === undefined) this.emit('data', chunk);
    else {
      this.emit('data', chunk.subarray(0, splitAt));
      this.emit('data', chunk.subarray(splitAt));
    }
  }
}

let dir: TempDir;
let now: number;
beforeEach(async () => {
  dir = await tempDir('agent-recording-window');
  now = T - 1000;
});
afterEach(async () => {
  await dir.cleanup();
});

/** Sample values of channel `c` in a WAV with `channels` channels. */
function channelOf(wav: Buffer, channels: number, c: number): number[] {
  const out: number[] = [];
  for (let o = WAV_HEADER_BYTES + c * 2; o < wav.length; o += channels * 2) out.push(wav.readInt16LE(o));
  return out;
}

describe('frameIndexAt', () => {
  it('finds the first frame captured at or after an instant', () => {
    // 80 frames (10 ms at 8 kHz) arriving at T: frames are at T-10 ms … T-0.125 ms.
    const block = { frames: 80, sampleRate: RATE, endMs: T };
    expect(frameIndexAt(block, T - 10)).toBe(0);
    expect(frameIndexAt(block, T - 20)).toBe(0);
    expect(frameIndexAt(block, T - 5)).toBe(40);
    expect(frameIndexAt(block, T)).toBe(80);
    expect(frameIndexAt(block, T + 1)).toBe(80);
  });
});

describe('PcmTap stamps', () => {
  it('follow the sample clock anchored to the least-delayed arrival, not each arrival', () => {
    const source = new FakeSource({ sampleRate: RATE, channels: 1 });
    const tap = new PcmTap(source, () => now);
    const stamps: number[] = [];
    tap.subscribe({ block: (block) => stamps.push(block.endMs), fault: () => {} });
    tap.start();
    // 40 ms blocks, each arriving 30 ms after its last frame plus a jitter of 0–25 ms.
    const jitter = [12, 0, 25, 7, 19, 3, 22, 0, 14, 9];
    for (let i = 0; i < jitter.length; i++) {
      now = T + 40 * (i + 1) + 30 + jitter[i]!;
      source.push(320);
    }
    // From the first on-time block on, stamps are exactly 40 ms apart, 30 ms after capture.
    expect(stamps.slice(1)).toEqual(jitter.slice(1).map((_, i) => T + 40 * (i + 2) + 30));
    tap.stop();
  });
});

describe('Recording between wall-clock instants', () => {
  it('back-to-back windows split the stream at one frame: no gap, no overlap', async () => {
    const source = new FakeSource({ sampleRate: RATE, channels: 2 });
    const tap = new PcmTap(source, () => now);
    tap.start();
    const a = new Recording(tap, {
      path: join(dir.path, 'a.wav'),
      sampleRate: RATE,
      channels: 2,
      startAtMs: T,
      endAtMs: T + 1000,
      now: () => now,
    });
    const b = new Recording(tap, {
      path: join(dir.path, 'b.wav'),
      sampleRate: RATE,
      channels: 2,
      startAtMs: T + 1000,
      endAtMs: T + 2000,
      now: () => now,
    });
    // Both are prepared before their start, as the schedule runner does.
    await a.start();
    await b.start();
    // 37 ms chunks (296 frames) arriving every 37 ms, split mid-frame, across both windows.
    const startFrame = source.frame;
    for (let i = 0; i < 90; i++) {
      now += 37;
      source.push(296, 7);
    }
    const [ra, rb] = [await a.done, await b.done];
    expect(ra.endedBy).toBe('duration');
    expect(rb.endedBy).toBe('duration');
    const wavA = await readFile(ra.result.path);
    const wavB = await readFile(rb.result.path);
    const left = [...channelOf(wavA, 2, 0), ...channelOf(wavB, 2, 0)];
    // Contiguous: each sample is the previous one's frame + 1 (mod 30).
    for (let i = 1; i < left.length; i++) expect(left[i]).toBe((left[i - 1]! + 1) % 30);
    // Each window holds about a second of audio (the stamps are 37 ms apart).
    expect(Math.abs(ra.result.durationMs - 1000)).toBeLessThanOrEqual(1);
    expect(Math.abs(rb.result.durationMs - 1000)).toBeLessThanOrEqual(1);
    expect(source.frame - startFrame).toBeGreaterThan(RATE * 3);
    tap.stop();
  });

  it('starts at the first frame at or after its start and reports that frame time', async () => {
    const source = new FakeSource({ sampleRate: RATE, channels: 1 });
    const tap = new PcmTap(source, () => now);
    tap.start();
    let first: number | undefined;
    const recording = new Recording(tap, {
      path: join(dir.path, 'late.wav'),
      sampleRate: RATE,
      channels: 1,
      startAtMs: T,
      endAtMs: T + 100,
      onFirstFrame: (atMs) => {
        first = atMs;
      },
      now: () => now,
    });
    await recording.start();
    now = T + 25; // a 50 ms chunk arrives 25 ms after the start: half of it is before
    source.push(400);
    expect(first).toBe(T);
    now = T + 125;
    source.push(800);
    const { result } = await recording.done;
    expect(result.durationMs).toBe(100);
    tap.stop();
  });

  it('keeps only the selected channels, in the order asked, and says so in the header', async () => {
    const source = new FakeSource({ sampleRate: RATE, channels: 4 });
    const tap = new PcmTap(source, () => now);
    tap.start();
    const recording = new Recording(tap, {
      path: join(dir.path, 'selected.wav'),
      sampleRate: RATE,
      channels: 4,
      keepChannels: [2, 0], // 1-based 3 and 1
      durationMs: 100,
      now: () => now,
    });
    await recording.start();
    source.push(500, 3);
    source.push(500);
    const { result } = await recording.done;
    const wav = await readFile(result.path);
    expect(wav.readUInt16LE(22)).toBe(2);
    expect(wav.readUInt32LE(28)).toBe(RATE * 2 * 2);
    expect(wav.length).toBe(WAV_HEADER_BYTES + 800 * 2 * 2);
    expect(channelOf(wav, 2, 0).every((v) => v >= 2000 && v < 2030)).toBe(true);
    expect(channelOf(wav, 2, 1).every((v) => v >= 0 && v < 30)).toBe(true);
    tap.stop();
  });

  it('cuts a 24-bit capture into a 24-bit file, selected channels keeping all three bytes of each sample', async () => {
    const source = new FakeSource({ sampleRate: RATE, channels: 3, bitDepth: 24 });
    const tap = new PcmTap(source, () => now);
    tap.start();
    const recording = new Recording(tap, {
      path: join(dir.path, 'deep.wav'),
      sampleRate: RATE,
      channels: 3,
      bitDepth: 24,
      keepChannels: [2, 0],
      durationMs: 100,
      now: () => now,
    });
    await recording.start();
    source.push(500, 7); // splits a sample
    source.push(500, 4);
    const { result } = await recording.done;
    expect(result).toMatchObject({ bitDepth: 24, channels: 2, durationMs: 100 });
    const wav = await readFile(result.path);
    expect(wav.readUInt16LE(34)).toBe(24);
    expect(wav.readUInt16LE(32)).toBe(6);
    expect(wav.readUInt32LE(28)).toBe(RATE * 6);
    expect(wav.length).toBe(WAV_HEADER_BYTES + 800 * 6);
    const first = wav.readIntLE(WAV_HEADER_BYTES + 3, 3) >> 8;
    for (let frame = 0; frame < 800; frame++) {
      const at = WAV_HEADER_BYTES + frame * 6;
      const [third, firstChannel] = [wav.readIntLE(at, 3), wav.readIntLE(at + 3, 3)];
      expect(third & 0xff).toBe(0x55);
      expect(firstChannel & 0xff).toBe(0x55);
      expect(third >> 8).toBe(2000 + ((first + frame) % 30));
      expect(firstChannel >> 8).toBe((first + frame) % 30);
    }
    tap.stop();
  });

  it('ends a 16-bit recording when the capture restarts at 24 bits (the file cannot take it)', async () => {
    const source = new FakeSource({ sampleRate: RATE, channels: 1 });
    const tap = new PcmTap(source, () => now);
    tap.start();
    const recording = new Recording(tap, {
      path: join(dir.path, 'switched.wav'),
      sampleRate: RATE,
      channels: 1,
      now: () => now,
    });
    await recording.start();
    source.push(400);
    const deeper: CaptureOptions = { sampleRate: RATE, channels: 1, bitDepth: 24 };
    source.format = deeper;
    source.emit('restarted', deeper);
    source.push(400);
    const { result, endedBy } = await recording.done;
    expect(endedBy).toBe('capture-failed');
    expect(result).toMatchObject({ bitDepth: 16, durationMs: 50 });
    tap.stop();
  });
});
