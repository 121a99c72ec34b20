// A segment hand-over through the PCM tap's history (the next recording opens after the previous
// one ended, and still starts at the frame after its last), and a stop with a post-roll: exactly
// that much more audio.
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaptureOptions } from '../../agent/src/capture/capture.js';
import { PcmTap } from '../../agent/src/capture/pcm-tap.js';
import type { SupervisorEvents } from '../../agent/src/capture/supervisor.js';
import { WAV_HEADER_BYTES } from '../../agent/src/capture/wav-writer.js';
import { Recording } from '../../agent/src/jobs/recording.js';
import { segmentLengthMs } from '../../agent/src/jobs/segments.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const RATE = 8000;

/** A mono capture whose every sample holds its frame number (mod 30000). */
class FakeSource extends EventEmitter<SupervisorEvents> {
  frame = 0;
  readonly format: CaptureOptions = { sampleRate: RATE, channels: 1 };
  push(frames: number): void {
    const chunk = Buffer.alloc(frames * 2);
    for (let f = 0; f < frames; f++, this.frame++) chunk.writeInt16LE(this.frame % 30_000, f * 2);
    this.emit('data', chunk);
  }
}

async function samples(path: string): Promise<number[]> {
  const wav = await readFile(path);
  const out: number[] = [];
  for (let o = WAV_HEADER_BYTES; o < wav.length; o += 2) out.push(wav.readInt16LE(o));
  return out;
}

let dir: TempDir;
let now: number;
beforeEach(async () => {
  dir = await tempDir('agent-recording-segments');
  now = 1_800_000_000_000;
});
afterEach(async () => dir.cleanup());

describe('segments', () => {
  it('take the profile length, or the test override only when the profile sets one', () => {
    expect(segmentLengthMs({ segmentSeconds: 600 })).toBe(600_000);
    expect(segmentLengthMs({ segmentSeconds: 600 }, 0.8)).toBe(800);
    expect(segmentLengthMs({ segmentSeconds: null }, 0.8)).toBeUndefined();
    expect(segmentLengthMs(null)).toBeUndefined();
  });

  it('the next segment opened late starts at the frame after the last one: no gap, no overlap', async () => {
    const source = new FakeSource();
    const tap = new PcmTap(source, () => now);
    tap.start();
    const first = new Recording(tap, {
      path: join(dir.path, 'a.wav'),
      sampleRate: RATE,
      channels: 1,
      durationMs: 100,
    });
    await first.start();
    for (let i = 0; i < 5; i++) {
      now += 30;
      source.push(240); // 30 ms blocks: the 100 ms segment ends inside the fourth
    }
    const ended = await first.ended;
    expect(ended.next?.frame).toBe(800);
    // The next segment opens after two more blocks went by: the tap replays them.
    const second = new Recording(tap, {
      path: join(dir.path, 'b.wav'),
      sampleRate: RATE,
      channels: 1,
      durationMs: 100,
      startAtFrame: ended.next!.frame,
    });
    await second.start();
    for (let i = 0; i < 3; i++) {
      now += 30;
      source.push(240);
    }
    const [a, b] = [await first.done, await second.done];
    const frames = [...(await samples(a.result.path)), ...(await samples(b.result.path))];
    expect(frames).toEqual(Array.from({ length: 1600 }, (_, i) => i));
    tap.stop();
  });
});

describe('a stop with a post-roll', () => {
  it('keeps exactly the post-roll of audio after the stop, then ends', async () => {
    const source = new FakeSource();
    const tap = new PcmTap(source, () => now);
    tap.start();
    const recording = new Recording(tap, { path: join(dir.path, 'p.wav'), sampleRate: RATE, channels: 1 });
    await recording.start();
    source.push(333);
    recording.stopAfter(50); // 400 frames more
    recording.stopAfter(5000); // a repeated request changes nothing
    source.push(300);
    let ended = false;
    void recording.ended.then(() => {
      ended = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(false);
    source.push(300);
    const outcome = await recording.done;
    expect(outcome.endedBy).toBe('stopped');
    expect(await samples(outcome.result.path)).toEqual(Array.from({ length: 733 }, (_, i) => i));
    tap.stop();
  });
});
