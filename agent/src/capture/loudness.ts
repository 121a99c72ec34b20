/**
 * Loudness and true peak, as ITU-R BS.1770-4 and EBU R128 define them, computed sample by
 * sample as the capture arrives (no second pass, constant memory):
 *
 * - K-weighting: the two BS.1770 biquads (a high shelf, then the RLB high-pass), their
 *   coefficients derived for the capture's sample rate (the published 48 kHz ones are these
 *   formulas at 48 kHz);
 * - mean square per channel over 100 ms blocks; momentary loudness over the last 4 blocks
 *   (400 ms), short-term over the last 30 (3 s): −0.691 + 10·log10(Σ Gᵢ·zᵢ), Gᵢ = 1, except
 *   1.41 for the surround channels of a 5.0/5.1 layout (L R C LFE Ls Rs: LFE not counted);
 * - true peak: 4× oversampling with the 48-tap interpolator of BS.1770-4 Annex 2 (2× at 96 kHz
 *   and above, none at 192 kHz and above, where the samples are already that dense);
 * - integrated loudness (EBU R128: 400 ms blocks every 100 ms, absolute gate −70 LUFS, relative
 *   gate −10 LU) and loudness range (EBU Tech 3342: short-term values every 100 ms, gates −70
 *   LUFS and −20 LU, 95th minus 10th percentile), kept as histograms of 0.01 LU bins.
 */

import { LoudnessHistogram } from './loudness-histogram.js';
import { LoudnessKernel, type SampleLevels } from './loudness-kernel.js';

export const LUFS_FLOOR = -120;

/** BS.1770-4 Annex 2: phase p interpolates p/4 of a sample period; taps newest first. */
export const INTERPOLATOR = [
  [
    0.001708984375, 0.010986328125, -0.0196533203125, 0.033203125, -0.0594482421875, 0.1373291015625,
    0.97216796875, -0.102294921875, 0.047607421875, -0.026611328125, 0.014892578125, -0.00830078125,
  ],
  [
    -0.0291748046875, 0.029296875, -0.0517578125, 0.089111328125, -0.16650390625, 0.465087890625,
    0.77978515625, -0.2003173828125, 0.1015625, -0.0582275390625, 0.0330810546875, -0.0189208984375,
  ],
  [
    -0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625, -0.2003173828125, 0.77978515625,
    0.465087890625, -0.16650390625, 0.089111328125, -0.0517578125, 0.029296875, -0.0291748046875,
  ],
  [
    -0.00830078125, 0.014892578125, -0.026611328125, 0.047607421875, -0.102294921875, 0.97216796875,
    0.1373291015625, -0.0594482421875, 0.033203125, -0.0196533203125, 0.010986328125, 0.001708984375,
  ],
] as const;
const TAPS = 12;
/**
 * Phase 3 is phase 0 with its taps reversed, and phase 2 phase 1's. So with Sₖ = xₖ + x₁₁₋ₖ and
 * Dₖ = xₖ − x₁₁₋ₖ (k < 6): p0 + p3 = Σ (Aₖ + A₁₁₋ₖ)·Sₖ and p0 − p3 = Σ (Aₖ − A₁₁₋ₖ)·Dₖ, and the
 * larger of |p0| and |p3| is half of |p0 + p3| + |p0 − p3| (max(|a + b|, |a − b|) = |a| + |b|):
 * 24 multiplications a sample for the 4 phases instead of 48. Halved here once.
 */
type Six = [number, number, number, number, number, number];
function symmetricHalves(taps: readonly number[]): { sum: Six; diff: Six } {
  const half = (sign: 1 | -1) =>
    [0, 1, 2, 3, 4, 5].map((k) => (taps[k]! + sign * taps[TAPS - 1 - k]!) / 2) as Six;
  return { sum: half(1), diff: half(-1) };
}
/** The true peak's coefficients in the order the kernel takes them: P, M (phases 0 and 3), Q, N (1 and 2). */
const TRUE_PEAK_HALVES = [INTERPOLATOR[0], INTERPOLATOR[1]].flatMap((taps) => {
  const { sum, diff } = symmetricHalves(taps);
  return [...sum, ...diff];
});

interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

/** The two K-weighting stages for `rate` (BS.1770-4; the same derivation as libebur128's). */
export function kWeighting(rate: number): [Biquad, Biquad] {
  let f0 = 1681.974450955533;
  const gainDb = 3.999843853973347;
  let q = 0.7071752369554196;
  let k = Math.tan((Math.PI * f0) / rate);
  const vh = 10 ** (gainDb / 20);
  const vb = vh ** 0.4996667741545416;
  let a0 = 1 + k / q + k * k;
  const shelf: Biquad = {
    b0: (vh + (vb * k) / q + k * k) / a0,
    b1: (2 * (k * k - vh)) / a0,
    b2: (vh - (vb * k) / q + k * k) / a0,
    a1: (2 * (k * k - 1)) / a0,
    a2: (1 - k / q + k * k) / a0,
  };
  f0 = 38.13547087602444;
  q = 0.5003270373238773;
  k = Math.tan((Math.PI * f0) / rate);
  a0 = 1 + k / q + k * k;
  const highPass: Biquad = { b0: 1, b1: -2, b2: 1, a1: (2 * (k * k - 1)) / a0, a2: (1 - k / q + k * k) / a0 };
  return [shelf, highPass];
}

/** Channel weights: 1, but 1.41 for Ls/Rs and 0 for the LFE of a 5.1 (L R C LFE Ls Rs) or 5.0 layout. */
export function channelWeights(channels: number): number[] {
  if (channels === 6) return [1, 1, 1, 0, 1.41, 1.41];
  if (channels === 5) return [1, 1, 1, 1.41, 1.41];
  return new Array<number>(channels).fill(1);
}

export function energyToLufs(energy: number): number {
  if (!(energy > 0)) return LUFS_FLOOR;
  return Math.max(LUFS_FLOOR, -0.691 + 10 * Math.log10(energy));
}

export function toDbtp(linear: number): number {
  return linear > 0 ? Math.max(LUFS_FLOOR, 20 * Math.log10(linear)) : LUFS_FLOOR;
}

/**
 * Loudness and peak values to 0.01 LU/dB (null stays null), as meter frames and recordings
 * carry them: more digits say nothing.
 */
export function roundedLoudness<T extends { [K in keyof T]: number | null }>(values: T): T {
  const rounded = { ...values };
  for (const key in rounded) {
    const value = rounded[key];
    if (value !== null) rounded[key] = (Math.round(value * 100) / 100) as T[typeof key];
  }
  return rounded;
}

export interface LoudnessReading {
  /** Per channel, alone (weight 1). */
  channels: { momentaryLufs: number; shortTermLufs: number; truePeakDbtp: number }[];
  /** All channels with their weights. */
  programme: { momentaryLufs: number; shortTermLufs: number; truePeakDbtp: number };
}

export interface LoudnessSummary {
  /** Gated integrated loudness (EBU R128); null when nothing passed the gates. */
  integratedLufs: number | null;
  /** Loudness range (EBU Tech 3342); null with fewer than two gated short-term values. */
  loudnessRangeLu: number | null;
  /** Largest true peak over the whole input. */
  truePeakDbtp: number;
}

/**
 * Feed interleaved frames of integer PCM with `addFrames` (a chunk at a time), or one frame at a
 * time with `add` for each channel then `endFrame`. Samples scaled to ±1.0 are full scale. The
 * samples' own levels (peak, sum of squares, clips) come out of the same pass: `takeSampleLevels`.
 */
export class LoudnessMeter {
  readonly blockFrames: number;
  private readonly channels: number;
  private readonly weights: number[];
  /**
   * Per channel, in WebAssembly (loudness-kernel.ts): the K-weighting biquads' state, the sum of
   * squares of the K-weighted samples in the current block, the true peak's sample history, the
   * window's true peak and the samples' own levels.
   */
  private readonly kernel: LoudnessKernel;
  private framesInBlock = 0;
  /** The last 30 blocks' mean squares, per channel (ring, newest at `ringHead - 1`). */
  private readonly ring: Float64Array;
  private ringHead = 0;
  private blocks = 0;
  /** True peak: 4, 2 (phases 0 and 2) or 1 (the samples). */
  private readonly oversampling: 1 | 2 | 4;
  /** False until the first frame is in (its samples prime the true-peak history). */
  private primed = false;
  private maxPeak = 0;
  private readonly integrated = new LoudnessHistogram();
  private readonly shortTerm = new LoudnessHistogram();
  private readonly tracking: boolean;
  /** Frames `add` and `endFrame` have filled, fed a block at a time (or before any reading). */
  private readonly pending: Float32Array;
  private pendingFrames = 0;

  /** `summary`: keep the integrated loudness and range statistics too (a recording's). */
  constructor(sampleRate: number, channels: number, options: { summary?: boolean } = {}) {
    this.channels = channels;
    this.weights = channelWeights(channels);
    const biquads = kWeighting(sampleRate).flatMap(({ b0, b1, b2, a1, a2 }) => [b0, b1, b2, a1, a2]);
    this.kernel = new LoudnessKernel(channels, { biquads, truePeak: TRUE_PEAK_HALVES });
    this.blockFrames = Math.max(1, Math.round(sampleRate / 10));
    this.ring = new Float64Array(channels * 30);
    this.oversampling = sampleRate >= 192_000 ? 1 : sampleRate >= 96_000 ? 2 : 4;
    this.tracking = options.summary === true;
    this.pending = new Float32Array(channels * this.blockFrames);
  }

  /** One sample of the frame `endFrame` closes. */
  add(channel: number, x: number): void {
    this.pending[this.pendingFrames * this.channels + channel] = x;
  }

  /** Closes the frame `add` filled (its samples as single-precision floats; no clips counted). */
  endFrame(): void {
    if (++this.pendingFrames === this.blockFrames) this.flush();
  }

  private flush(): void {
    const frames = this.pendingFrames;
    this.pendingFrames = 0;
    this.feed(this.pending, 0, frames, 1, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
  }

  /**
   * `frames` interleaved frames of `samples` from frame `first` on: integer PCM values, and
   * 1 / full scale as `scale`. A sample at either end of the range is a clip.
   */
  addFrames(samples: Float32Array, first: number, frames: number, scale: number): void {
    this.flush();
    this.feed(samples, first, frames, scale, 1 - scale, -1);
  }

  /** Samples that, scaled, are at or above `clipHigh` or at or below `clipLow` are clips. */
  private feed(
    samples: Float32Array,
    first: number,
    frames: number,
    scale: number,
    clipHigh: number,
    clipLow: number,
  ): void {
    if (frames <= 0) return;
    if (!this.primed) {
      // Before the first sample the signal is taken to have held that value, not to have been
      // silent: a capture (or a file) that starts mid-waveform would otherwise begin with a
      // step, which rings through the interpolator as a peak the audio does not have.
      for (let c = 0; c < this.channels; c++)
        this.kernel.primeHistory(c, samples[first * this.channels + c]! * scale);
      this.primed = true;
    }
    let frame = first;
    const end = first + frames;
    while (frame < end) {
      // Up to the end of the current 100 ms block.
      const count = Math.min(end - frame, this.blockFrames - this.framesInBlock);
      this.kernel.run(samples, frame, count, scale, this.oversampling, clipHigh, clipLow);
      frame += count;
      this.framesInBlock += count;
      if (this.framesInBlock === this.blockFrames) this.endBlock();
    }
  }

  /** A 100 ms block is complete. */
  private endBlock(): void {
    const slot = this.ringHead;
    for (let c = 0; c < this.channels; c++) {
      this.ring[c * 30 + slot] = this.kernel.takeBlockSum(c) / this.framesInBlock;
    }
    this.ringHead = (slot + 1) % 30;
    this.blocks++;
    this.framesInBlock = 0;
    if (!this.tracking) return;
    if (this.blocks >= 4) {
      const energy = this.weighted(4);
      const lufs = energyToLufs(energy);
      if (lufs >= -70) this.integrated.add(lufs, energy);
    }
    if (this.blocks >= 30) {
      const energy = this.weighted(30);
      const lufs = energyToLufs(energy);
      if (lufs >= -70) this.shortTerm.add(lufs, energy);
    }
  }

  /** Momentary and short-term loudness now, and each channel's true peak since the last reading. */
  reading(): LoudnessReading {
    this.flush();
    const channels = [];
    let programmePeak = 0;
    for (let c = 0; c < this.channels; c++) {
      const peak = this.kernel.takePeak(c);
      if (peak > programmePeak) programmePeak = peak;
      if (peak > this.maxPeak) this.maxPeak = peak;
      channels.push({
        momentaryLufs: energyToLufs(this.channelMean(c, 4)),
        shortTermLufs: energyToLufs(this.channelMean(c, 30)),
        truePeakDbtp: toDbtp(peak),
      });
    }
    return {
      channels,
      programme: {
        momentaryLufs: energyToLufs(this.weighted(4)),
        shortTermLufs: energyToLufs(this.weighted(30)),
        truePeakDbtp: toDbtp(programmePeak),
      },
    };
  }

  /** Channel `c`'s sample peak, sum of squares (both scaled) and clips since the last take; resets them. */
  takeSampleLevels(c: number): SampleLevels {
    this.flush();
    return this.kernel.takeSampleLevels(c);
  }

  /** Integrated loudness, loudness range and maximum true peak of everything fed so far. */
  summary(): LoudnessSummary {
    this.flush();
    for (let c = 0; c < this.channels; c++) this.maxPeak = Math.max(this.maxPeak, this.kernel.peak(c));
    const absolute = this.integrated.meanEnergy();
    let integratedLufs: number | null = null;
    if (absolute.count > 0) {
      const gated = this.integrated.meanEnergy(energyToLufs(absolute.energy) - 10);
      integratedLufs = gated.count > 0 ? energyToLufs(gated.energy) : null;
    }
    let loudnessRangeLu: number | null = null;
    const st = this.shortTerm.meanEnergy();
    if (st.count > 1) {
      const gate = energyToLufs(st.energy) - 20;
      const low = this.shortTerm.percentile(0.1, gate);
      const high = this.shortTerm.percentile(0.95, gate);
      if (low !== undefined && high !== undefined) loudnessRangeLu = high - low;
    }
    return { integratedLufs, loudnessRangeLu, truePeakDbtp: toDbtp(this.maxPeak) };
  }

  /** Mean square of channel `c` over the last `n` blocks (fewer at the start). */
  private channelMean(c: number, n: number): number {
    const have = Math.min(n, this.blocks);
    if (have === 0) return 0;
    let sum = 0;
    for (let i = 1; i <= have; i++) sum += this.ring[c * 30 + ((this.ringHead - i + 30) % 30)]!;
    return sum / have;
  }

  /** Σ Gᵢ · mean square of channel i over the last `n` blocks. */
  private weighted(n: number): number {
    let sum = 0;
    for (let c = 0; c < this.channels; c++) sum += this.weights[c]! * this.channelMean(c, n);
    return sum;
  }
}
