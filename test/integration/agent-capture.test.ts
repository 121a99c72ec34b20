// One real capture (sox ← PulseAudio null sink playing a -20 dBFS 1 kHz sine) feeding
// the meters and the WAV writer at once; the WAV is then checked with `sox -n stats`.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Capture, type CaptureError } from '../../agent/src/capture/capture.js';
import { MeterAccumulator } from '../../agent/src/capture/meter.js';
import { WavWriter } from '../../agent/src/capture/wav-writer.js';
import type { MeterFrame } from '../../shared/src/mqtt.js';
import { hasPulse, type PulseSink, startPulseSink, useSinkEnv } from '../support/pulse.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const run = promisify(execFile);
const RATE = 48_000;
const CHANNELS = 2;
const TONE_DBFS = -20;

/** `sox FILE -n stats`: the Overall column of one row (e.g. 'Pk lev dB'). */
async function soxStat(path: string, row: string): Promise<number> {
  const { stderr } = await run('sox', [path, '-n', 'stats']);
  const line = stderr.split('\n').find((l) => l.startsWith(row));
  if (!line) throw new Error(`no "${row}" in sox stats:\n${stderr}`);
  return Number(line.slice(row.length).trim().split(/\s+/)[0]);
}

describe.skipIf(!(await hasPulse()))('agent capture from a PulseAudio null sink', () => {
  let sink: PulseSink;
  let dir: TempDir;
  let restoreEnv = () => {};

  beforeAll(async () => {
    dir = await tempDir('capture');
    sink = await startPulseSink({ peakDbfs: TONE_DBFS, hz: 1000, sampleRate: RATE, channels: CHANNELS });
    restoreEnv = useSinkEnv(sink);
  });

  afterAll(async () => {
    restoreEnv();
    await sink?.stop();
    await dir?.cleanup();
  });

  it('meters and records the same capture: -20 dBFS peak, -23.01 dB RMS', async () => {
    const capture = new Capture({ device: sink.monitor, sampleRate: RATE, channels: CHANNELS });
    const meter = new MeterAccumulator({ sampleRate: RATE, channels: CHANNELS });
    const writer = new WavWriter({
      path: join(dir.path, 'take.wav'),
      sampleRate: RATE,
      channels: CHANNELS,
      maxDurationMs: 2000,
    });
    await writer.open();
    const frames: MeterFrame[] = [];
    const errors: CaptureError[] = [];

    const full = new Promise<void>((resolve, reject) => {
      capture.on('data', (chunk) => frames.push(...meter.push(chunk)));
      capture.on('data', (chunk) => {
        writer.write(chunk);
        if (writer.isFull) resolve();
      });
      capture.on('error', (error) => {
        errors.push(error);
        reject(error);
      });
    });
    capture.start();
    await full;
    await capture.stop();
    const result = await writer.finish();

    expect(errors).toEqual([]);
    // 2 s of samples: 20 windows of 100 ms at least (the meter may have seen a bit more).
    expect(frames.length).toBeGreaterThanOrEqual(20);
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
    for (const ch of [0, 1]) {
      const peaks = frames.map((f) => f.channels[ch]!.peakDbfs);
      const rms = frames.map((f) => f.channels[ch]!.rmsDbfs);
      // The tone plays continuously (measured: -19.999 / -23.010 in every window). On a loaded
      // machine PulseAudio can under-run and slip a little silence into a window, so the level
      // is judged on the median window, and nearly every window must carry it.
      expect(Math.abs(median(peaks) - TONE_DBFS)).toBeLessThan(0.1);
      expect(Math.abs(median(rms) - (TONE_DBFS - 3.01))).toBeLessThan(0.1);
      expect(peaks.filter((p) => Math.abs(p - TONE_DBFS) < 0.5).length).toBeGreaterThanOrEqual(
        Math.ceil(peaks.length * 0.9),
      );
      expect(rms.filter((r) => Math.abs(r - (TONE_DBFS - 3.01)) < 0.5).length).toBeGreaterThanOrEqual(
        Math.ceil(rms.length * 0.9),
      );
      expect(frames.every((f) => f.channels[ch]!.clipCount === 0)).toBe(true);
    }

    expect(result).toMatchObject({ durationMs: 2000, sampleRate: RATE, channels: CHANNELS });
    expect(result.sizeBytes).toBe(44 + 2 * RATE * CHANNELS * 2);
    const bytes = await readFile(result.path);
    expect(result.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(Math.abs((await soxStat(result.path, 'Pk lev dB')) - TONE_DBFS)).toBeLessThan(0.1);
    expect(Math.abs((await soxStat(result.path, 'RMS lev dB')) - (TONE_DBFS - 3.01))).toBeLessThan(0.5);
  });

  it('reports a capture device that does not exist as an error event', async () => {
    const capture = new Capture({ device: 'no_such_sink.monitor', sampleRate: RATE, channels: CHANNELS });
    const error = new Promise<CaptureError>((resolve) => capture.once('error', resolve));
    capture.start();
    const failure = await error;
    expect(failure.code).toBe('device-failed');
    expect(failure.message).toMatch(/can't open input .*no_such_sink\.monitor/);
    expect(capture.running).toBe(false);
  });
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
