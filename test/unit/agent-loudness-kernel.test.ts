/**
 * The loudness meter's WebAssembly kernel (loudness-kernel.wat) against a plain one-channel-at-a-
 * time reference written here from the definitions: K-weighted block energy, true peak (the
 * 48-tap interpolator), sample peak, sum of squares and clips, for every channel count from 1 to
 * 9 (pairs and quads with unused lanes), each oversampling (4× at 48 kHz, 2× at 96 kHz, none at
 * 192 kHz), fed in chunks of odd sizes so the state carries across calls. And the assembled
 * module is the one its text source gives (`npm run build:wasm`).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { energyToLufs, INTERPOLATOR, kWeighting, LoudnessMeter } from '../../agent/src/capture/loudness.js';
import { generatedModule, wasmSources } from '../../scripts/build-wasm.js';

const FULL_SCALE = 32768;

/** Deterministic 16-bit PCM (a linear congruential generator), with a few samples at each end of the range. */
function pcm(frames: number, channels: number, seed: number): Float32Array {
  const out = new Float32Array(frames * channels);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const r = s / 2 ** 31;
    out[i] = r < 0.002 ? 32767 : r > 0.998 ? -32768 : Math.round((r - 0.5) * 40000 * Math.sin(i / 97));
  }
  return out;
}

/** One channel of `samples`, measured the plain way. */
function reference(samples: Float32Array, channels: number, c: number, rate: number, blockFrames: number) {
  const x = Array.from(
    { length: samples.length / channels },
    (_, n) => samples[n * channels + c]! / FULL_SCALE,
  );
  const [shelf, highPass] = kWeighting(rate);
  let [z1, z2, z3, z4] = [0, 0, 0, 0];
  const blocks: number[] = [];
  let sum = 0;
  const phases = rate >= 192_000 ? [] : rate >= 96_000 ? [0, 2] : [0, 1, 2, 3];
  const at = (n: number) => x[Math.max(0, n)]!; // history primed with the first sample
  let truePeak = 0;
  let peak = 0;
  let sumSquares = 0;
  let clips = 0;
  for (let n = 0; n < x.length; n++) {
    const x0 = x[n]!;
    const y1 = shelf.b0 * x0 + z1;
    z1 = shelf.b1 * x0 - shelf.a1 * y1 + z2;
    z2 = shelf.b2 * x0 - shelf.a2 * y1;
    const y2 = highPass.b0 * y1 + z3;
    z3 = highPass.b1 * y1 - highPass.a1 * y2 + z4;
    z4 = highPass.b2 * y1 - highPass.a2 * y2;
    sum += y2 * y2;
    if ((n + 1) % blockFrames === 0) {
      blocks.push(sum / blockFrames);
      sum = 0;
    }
    peak = Math.max(peak, Math.abs(x0));
    sumSquares += x0 * x0;
    if (samples[n * channels + c] === 32767 || samples[n * channels + c] === -32768) clips++;
    truePeak = Math.max(truePeak, Math.abs(x0));
    for (const p of phases) {
      let y = 0;
      for (let k = 0; k < 12; k++) y += INTERPOLATOR[p]![k]! * at(n - k);
      truePeak = Math.max(truePeak, Math.abs(y));
    }
  }
  const momentary = blocks.slice(-4).reduce((a, b) => a + b, 0) / Math.min(4, blocks.length);
  return { momentaryLufs: energyToLufs(momentary), truePeak, peak, sumSquares, clips };
}

describe('loudness kernel', () => {
  for (const rate of [48_000, 96_000, 192_000]) {
    it(`matches the plain measures for 1 to 9 channels at ${rate / 1000} kHz, fed in odd chunks`, () => {
      for (let channels = 1; channels <= 9; channels++) {
        const meter = new LoudnessMeter(rate, channels);
        const frames = meter.blockFrames * 5;
        const samples = pcm(frames, channels, 1000 + channels);
        for (let frame = 0, k = 0; frame < frames; k++) {
          const count = Math.min([1, 11, 12, 977, 4093][k % 5]!, frames - frame);
          meter.addFrames(samples, frame, count, 1 / FULL_SCALE);
          frame += count;
        }
        const reading = meter.reading();
        for (let c = 0; c < channels; c++) {
          const want = reference(samples, channels, c, rate, meter.blockFrames);
          const levels = meter.takeSampleLevels(c);
          const label = `${channels} ch, channel ${c}`;
          expect(reading.channels[c]!.momentaryLufs, label).toBeCloseTo(want.momentaryLufs, 9);
          // The true peak is interpolated in single precision: to well under 0.001 dB.
          expect(
            20 * Math.log10(10 ** (reading.channels[c]!.truePeakDbtp / 20) / want.truePeak),
            label,
          ).toBeCloseTo(0, 4);
          expect(levels.peak, label).toBe(want.peak);
          expect(levels.sumSquares / want.sumSquares, label).toBeCloseTo(1, 12);
          expect(levels.clips, label).toBe(want.clips);
          expect(want.clips, label).toBeGreaterThan(0);
          // Taken: the next take starts again from nothing.
          expect(meter.takeSampleLevels(c), label).toEqual({ peak: 0, sumSquares: 0, clips: 0 });
        }
      }
    });
  }

  it('is assembled from its text source (npm run build:wasm)', async () => {
    const sources = wasmSources();
    expect(sources.map((s) => basename(s.wat))).toContain('loudness-kernel.wat');
    for (const source of sources)
      expect(readFileSync(source.generated, 'utf8'), `${source.generated}: run npm run build:wasm`).toBe(
        await generatedModule(source.name, readFileSync(source.wat, 'utf8')),
      );
  });
});
