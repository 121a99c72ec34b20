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
const PHASES_03 = symmetricHalves(INTERPOLATOR[0]);
const PHASES_12 = symmetricHalves(INTERPOLATOR[1]);
const [P0, P1, P2, P3, P4, P5] = PHASES_03.sum;
const [M0, M1, M2, M3, M4, M5] = PHASES_03.diff;
const [Q0, Q1, Q2, Q3, Q4, Q5] = PHASES_12.sum;
const [N0, N1, N2, N3, N4, N5] = PHASES_12.diff;

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
 * Feed interleaved frames with `addFrames` (a chunk at a time: one tight loop per channel), or
 * one frame at a time with `add` for each channel then `endFrame`. Samples scaled to ±1.0 are
 * full scale.
 */
export class LoudnessMeter {
  readonly blockFrames: number;
  private readonly channels: number;
  private readonly weights: number[];
  /** K-weighting: the shelf's and the high-pass's coefficients. */
  private readonly shelf: Biquad;
  private readonly highPass: Biquad;
  /** Per channel: the two biquads' state (transposed direct form II: 2 values each). */
  private readonly state: Float64Array;
  /** Per channel: sum of squares of the K-weighted samples in the current block. */
  private readonly blockSum: Float64Array;
  private framesInBlock = 0;
  /** The last 30 blocks' mean squares, per channel (ring, newest at `ringHead - 1`). */
  private readonly ring: Float64Array;
  private ringHead = 0;
  private blocks = 0;
  /** True peak: 4, 2 (phases 0 and 2) or 1 (the samples); per channel the last TAPS − 1 samples, newest first. */
  private readonly oversampling: 1 | 2 | 4;
  private readonly history: Float64Array;
  /** False until the first frame is in (its samples prime the true-peak history). */
  private primed = false;
  private readonly windowPeak: Float64Array;
  private maxPeak = 0;
  private readonly integrated = new LoudnessHistogram();
  private readonly shortTerm = new LoudnessHistogram();
  private readonly tracking: boolean;
  /** The frame `add` fills and `endFrame` feeds. */
  private readonly frame: Float64Array;

  /** `summary`: keep the integrated loudness and range statistics too (a recording's). */
  constructor(sampleRate: number, channels: number, options: { summary?: boolean } = {}) {
    this.channels = channels;
    this.weights = channelWeights(channels);
    [this.shelf, this.highPass] = kWeighting(sampleRate);
    this.state = new Float64Array(channels * 4);
    this.blockSum = new Float64Array(channels);
    this.blockFrames = Math.max(1, Math.round(sampleRate / 10));
    this.ring = new Float64Array(channels * 30);
    this.oversampling = sampleRate >= 192_000 ? 1 : sampleRate >= 96_000 ? 2 : 4;
    this.history = new Float64Array(channels * (TAPS - 1));
    this.windowPeak = new Float64Array(channels);
    this.tracking = options.summary === true;
    this.frame = new Float64Array(channels);
  }

  /** One sample of the frame `endFrame` closes. */
  add(channel: number, x: number): void {
    this.frame[channel] = x;
  }

  endFrame(): void {
    this.addFrames(this.frame, 0, 1, 1);
  }

  /**
   * `frames` interleaved frames of `samples` from frame `first` on, each sample times `scale`
   * (e.g. integer PCM values and 1 / full scale).
   */
  addFrames(samples: Float32Array | Float64Array, first: number, frames: number, scale: number): void {
    if (frames <= 0) return;
    if (!this.primed) {
      // Before the first sample the signal is taken to have held that value, not to have been
      // silent: a capture (or a file) that starts mid-waveform would otherwise begin with a
      // step, which rings through the interpolator as a peak the audio does not have.
      for (let c = 0; c < this.channels; c++)
        this.history.fill(samples[first * this.channels + c]! * scale, c * (TAPS - 1), (c + 1) * (TAPS - 1));
      this.primed = true;
    }
    let frame = first;
    const end = first + frames;
    while (frame < end) {
      // Up to the end of the current 100 ms block.
      const count = Math.min(end - frame, this.blockFrames - this.framesInBlock);
      for (let c = 0; c < this.channels; c++) this.weightedAndTruePeak(samples, frame, count, scale, c);
      frame += count;
      this.framesInBlock += count;
      if (this.framesInBlock === this.blockFrames) this.endBlock();
    }
  }

  /**
   * Channel `c`'s K-weighted energy (the two biquads in transposed direct form II) and true peak
   * in one pass. True peak: each sample, and (oversampled) between it and the one before, the
   * interpolator's phases over it and the 11 before it (kept in locals, newest first, and carried
   * over chunks in `history`). Only the largest magnitude is kept, so each phase pair is one sum
   * (above).
   */
  private weightedAndTruePeak(
    samples: Float32Array | Float64Array,
    first: number,
    frames: number,
    scale: number,
    c: number,
  ): void {
    const { b0, b1, b2, a1, a2 } = this.shelf;
    const { b0: h0, b1: h1, b2: h2, a1: g1, a2: g2 } = this.highPass;
    const st = this.state;
    const so = c * 4;
    let z1 = st[so]!;
    let z2 = st[so + 1]!;
    let z3 = st[so + 2]!;
    let z4 = st[so + 3]!;
    let sum = 0;
    const hist = this.history;
    const o = c * (TAPS - 1);
    let x1 = hist[o]!;
    let x2 = hist[o + 1]!;
    let x3 = hist[o + 2]!;
    let x4 = hist[o + 3]!;
    let x5 = hist[o + 4]!;
    let x6 = hist[o + 5]!;
    let x7 = hist[o + 6]!;
    let x8 = hist[o + 7]!;
    let x9 = hist[o + 8]!;
    let x10 = hist[o + 9]!;
    let x11 = hist[o + 10]!;
    let peak = this.windowPeak[c]!;
    const oversampled = this.oversampling > 1;
    const four = this.oversampling === 4;
    const stride = this.channels;
    for (let i = first * stride + c, end = (first + frames) * stride; i < end; i += stride) {
      const x0 = samples[i]! * scale;
      const y1 = b0 * x0 + z1;
      z1 = b1 * x0 - a1 * y1 + z2;
      z2 = b2 * x0 - a2 * y1;
      const y2 = h0 * y1 + z3;
      z3 = h1 * y1 - g1 * y2 + z4;
      z4 = h2 * y1 - g2 * y2;
      sum += y2 * y2;
      let m = Math.abs(x0);
      if (oversampled) {
        const s0 = x0 + x11;
        const d0 = x0 - x11;
        const s1 = x1 + x10;
        const d1 = x1 - x10;
        const s2 = x2 + x9;
        const d2 = x2 - x9;
        const s3 = x3 + x8;
        const d3 = x3 - x8;
        const s4 = x4 + x7;
        const d4 = x4 - x7;
        const s5 = x5 + x6;
        const d5 = x5 - x6;
        const sum03 = P0 * s0 + P1 * s1 + P2 * s2 + P3 * s3 + P4 * s4 + P5 * s5;
        const diff03 = M0 * d0 + M1 * d1 + M2 * d2 + M3 * d3 + M4 * d4 + M5 * d5;
        const sum12 = Q0 * s0 + Q1 * s1 + Q2 * s2 + Q3 * s3 + Q4 * s4 + Q5 * s5;
        const diff12 = N0 * d0 + N1 * d1 + N2 * d2 + N3 * d3 + N4 * d4 + N5 * d5;
        // 4×: max(|p0|, |p3|) and max(|p1|, |p2|); 2×: |p0| and |p2| only.
        const a = four ? Math.abs(sum03) + Math.abs(diff03) : Math.abs(sum03 + diff03);
        const b = four ? Math.abs(sum12) + Math.abs(diff12) : Math.abs(sum12 - diff12);
        if (a > m) m = a;
        if (b > m) m = b;
      }
      if (m > peak) peak = m;
      x11 = x10;
      x10 = x9;
      x9 = x8;
      x8 = x7;
      x7 = x6;
      x6 = x5;
      x5 = x4;
      x4 = x3;
      x3 = x2;
      x2 = x1;
      x1 = x0;
    }
    st[so] = z1;
    st[so + 1] = z2;
    st[so + 2] = z3;
    st[so + 3] = z4;
    this.blockSum[c]! += sum;
    this.windowPeak[c] = peak;
    hist[o] = x1;
    hist[o + 1] = x2;
    hist[o + 2] = x3;
    hist[o + 3] = x4;
    hist[o + 4] = x5;
    hist[o + 5] = x6;
    hist[o + 6] = x7;
    hist[o + 7] = x8;
    hist[o + 8] = x9;
    hist[o + 9] = x10;
    hist[o + 10] = x11;
  }

  /** A 100 ms block is complete. */
  private endBlock(): void {
    const slot = this.ringHead;
    for (let c = 0; c < this.channels; c++) {
      this.ring[c * 30 + slot] = this.blockSum[c]! / this.framesInBlock;
      this.blockSum[c] = 0;
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
    const channels = [];
    let programmePeak = 0;
    for (let c = 0; c < this.channels; c++) {
      const peak = this.windowPeak[c]!;
      if (peak > programmePeak) programmePeak = peak;
      if (peak > this.maxPeak) this.maxPeak = peak;
      this.windowPeak[c] = 0;
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

  /** Integrated loudness, loudness range and maximum true peak of everything fed so far. */
  summary(): LoudnessSummary {
    for (let c = 0; c < this.channels; c++)
      if (this.windowPeak[c]! > this.maxPeak) this.maxPeak = this.windowPeak[c]!;
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
