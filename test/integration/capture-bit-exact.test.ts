/**
 * Bit-exact capture on a real device (a PulseAudio null sink): a known signal (pseudo-random
 * 16-bit samples, so no stretch of it repeats) played into the sink comes back from the agent's
 * capture sample for sample, mono and stereo. The player may underrun on a busy machine (the
 * sink then plays digital silence, and the signal resumes a little later): so each unbroken run
 * of captured audio must be an exact stretch of the signal, and together they must cover most
 * of it. A dithered or converted capture moves samples by ±1 LSB and fails.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Capture } from '../../agent/src/capture/capture.js';
import { hasPulse, type PulseSink, startPulseSink, useSinkEnv } from '../support/pulse.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const run = promisify(execFile);
const RATE = 48_000;
const SECONDS = 2;
/** A run shorter than this is not checked (too short to place in the signal for sure). */
const MIN_RUN_FRAMES = 64;

/** Interleaved s16le frames of a fixed pseudo-random sequence, never 0 (0 is the sink's silence). */
function knownSignal(frames: number, channels: number): Buffer {
  const out = Buffer.alloc(frames * channels * 2);
  let x = 12_345;
  for (let i = 0; i < frames * channels; i++) {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    const v = ((x >> 8) % 20_000) - 10_000;
    out.writeInt16LE(v === 0 ? 1 : v, i * 2);
  }
  return out;
}

/** Runs of frames that are not all-zero, as [first, end) frame indexes. */
function audibleRuns(pcm: Buffer, frameBytes: number): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  const frames = Math.floor(pcm.length / frameBytes);
  for (let f = 0; f <= frames; f++) {
    const silent = f === frames || pcm.subarray(f * frameBytes, (f + 1) * frameBytes).every((b) => b === 0);
    if (!silent && start < 0) start = f;
    if (silent && start >= 0) {
      runs.push([start, f]);
      start = -1;
    }
  }
  return runs;
}

describe.skipIf(!(await hasPulse()))('bit-exact capture from a PulseAudio sink', () => {
  let dir: TempDir;
  beforeAll(async () => {
    dir = await tempDir('bit-exact');
  });
  afterAll(async () => dir?.cleanup());

  for (const channels of [1, 2]) {
    it(`${channels === 1 ? 'mono' : 'stereo'}: every captured run of the signal is sample-identical to it`, async () => {
      const sink: PulseSink = await startPulseSink({
        sampleRate: RATE,
        channels,
        sinkName: `exact${channels}`,
      });
      try {
        await sink.play(null);
        const frameBytes = channels * 2;
        const signal = knownSignal(RATE * SECONDS, channels);
        const wav = join(dir.path, `signal-${channels}.wav`);
        await writeFile(join(dir.path, 'signal.raw'), signal);
        await run('sox', [
          ...['-t', 'raw', '-r', `${RATE}`, '-c', `${channels}`, '-e', 'signed-integer', '-b', '16'],
          join(dir.path, 'signal.raw'),
          wav,
        ]);
        const capture = new Capture({ device: sink.monitor, sampleRate: RATE, channels });
        const chunks: Buffer[] = [];
        const failures: string[] = [];
        capture.on('data', (chunk) => chunks.push(Buffer.from(chunk)));
        capture.on('error', (error) => failures.push(error.message));
        const restoreEnv = useSinkEnv(sink); // sox copies the environment when it starts
        try {
          capture.start();
        } finally {
          restoreEnv();
        }
        // Capturing before the signal starts: wait for the first (silent) bytes.
        while (chunks.length === 0 && failures.length === 0) await new Promise((r) => setTimeout(r, 20));
        await run('paplay', ['--latency-msec=300', '-d', sink.sinkName, wav], {
          env: { ...process.env, ...sink.env },
        });
        await capture.stop();
        expect(failures).toEqual([]);

        const pcm = Buffer.concat(chunks);
        let matched = 0;
        for (const [first, end] of audibleRuns(pcm, frameBytes)) {
          if (end - first < MIN_RUN_FRAMES) continue;
          const taken = pcm.subarray(first * frameBytes, end * frameBytes);
          const at = signal.indexOf(taken.subarray(0, 16 * frameBytes));
          expect(at % frameBytes, `run at frame ${first} is not in the signal`).toBe(0);
          // The signal's stretch from there, as long as the run (a run may end with the signal).
          const stretch = signal.subarray(at, at + taken.length);
          expect(Buffer.compare(taken.subarray(0, stretch.length), stretch), `run at frame ${first}`).toBe(0);
          matched += stretch.length / frameBytes;
        }
        expect(matched).toBeGreaterThan(0.9 * RATE * SECONDS);
      } finally {
        await sink.stop();
      }
    });
  }
});
