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

export const LUFS_FLOOR = -120;

/** BS.1770-4 Annex 2: phase p interpolates p/4 of a sample period; taps newest first. */
const INTERPOLATOR = [
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
const [A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11] = INTERPOLATOR[0];
const [B0, B1, B2, B3, B4, B5, B6, B7, B8, B9, B10, B11] = INTERPOLATOR[1];

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

/** Loudness values in 0.01 LU bins from −70 LUFS up: the gated statistics without keeping every value. */
class LoudnessHistogram {
  private static readonly MIN = -70;
  private static readonly STEP = 0.01;
  private readonly counts = new Float64Array(9000); // −70 … +20 LUFS
  private readonly energies = new Float64Array(9000);
  private total = 0;

  /** Adds a value that passed the absolute gate (≥ −70 LUFS). */
  add(lufs: number, energy: number): void {
    const bin = Math.min(
      this.counts.length - 1,
      Math.floor((lufs - LoudnessHistogram.MIN) / LoudnessHistogram.STEP),
    );
    if (bin < 0) return;
    this.counts[bin]!++;
    this.energies[bin]! += energy;
    this.total++;
  }

  get size(): number {
    return this.total;
  }

  /** The bin a value falls in. */
  private binOf(lufs: number): number {
    return Math.max(0, Math.floor((lufs - LoudnessHistogram.MIN) / LoudnessHistogram.STEP));
  }

  /** Mean energy of the values at or above `fromLufs`, and how many there are. */
  meanEnergy(fromLufs = LoudnessHistogram.MIN): { energy: number; count: number } {
    let energy = 0;
    let count = 0;
    for (let b = this.binOf(fromLufs); b < this.counts.length; b++) {
      energy += this.energies[b]!;
      count += this.counts[b]!;
    }
    return { energy: count > 0 ? energy / count : 0, count };
  }

  /** The `p`-th percentile (0…1) of the values at or above `fromLufs` (bin centres). */
  percentile(p: number, fromLufs: number): number | undefined {
    const first = this.binOf(fromLufs);
    let count = 0;
    for (let b = first; b < this.counts.length; b++) count += this.counts[b]!;
    if (count === 0) return undefined;
    const rank = p * (count - 1);
    let seen = 0;
    for (let b = first; b < this.counts.length; b++) {
      seen += this.counts[b]!;
      if (seen > rank) return LoudnessHistogram.MIN + (b + 0.5) * LoudnessHistogram.STEP;
    }
    return undefined;
  }
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

/** Feed samples with `add` (full scale ±1.0), one frame at a time closed by `endFrame`. */
export class LoudnessMeter {
  readonly blockFrames: number;
  private readonly channels: number;
  private readonly weights: number[];
  private readonly stages: [Biquad, Biquad];
  /** Per channel: the two biquads' state (transposed direct form II: 2 values each). */
  private readonly state: Float64Array;
  /** Per channel: sum of squares of the K-weighted samples in the current block. */
  private readonly blockSum: Float64Array;
  private framesInBlock = 0;
  /** The last 30 blocks' mean squares, per channel (ring, newest at `ringHead - 1`). */
  private readonly ring: Float64Array;
  private ringHead = 0;
  private blocks = 0;
  /** True peak: 4, 2 (phases 0 and 2) or 1 (the samples), the last TAPS samples per channel, running maxima. */
  private readonly oversampling: 1 | 2 | 4;
  private readonly history: Float64Array;
  private historyHead = 0;
  /** False until the first frame is in (its samples prime the true-peak history). */
  private primed = false;
  private readonly windowPeak: Float64Array;
  private maxPeak = 0;
  private readonly integrated = new LoudnessHistogram();
  private readonly shortTerm = new LoudnessHistogram();
  private readonly tracking: boolean;

  /** `summary`: keep the integrated loudness and range statistics too (a recording's). */
  constructor(sampleRate: number, channels: number, options: { summary?: boolean } = {}) {
    this.channels = channels;
    this.weights = channelWeights(channels);
    this.stages = kWeighting(sampleRate);
    this.state = new Float64Array(channels * 4);
    this.blockSum = new Float64Array(channels);
    this.blockFrames = Math.max(1, Math.round(sampleRate / 10));
    this.ring = new Float64Array(channels * 30);
    this.oversampling = sampleRate >= 192_000 ? 1 : sampleRate >= 96_000 ? 2 : 4;
    this.history = new Float64Array(channels * TAPS * 2);
    this.windowPeak = new Float64Array(channels);
    this.tracking = options.summary === true;
  }

  add(channel: number, x: number): void {
    // K-weighting, two biquads in transposed direct form II.
    const [s, h] = this.stages;
    const st = this.state;
    const o = channel * 4;
    const y1 = s.b0 * x + st[o]!;
    st[o] = s.b1 * x - s.a1 * y1 + st[o + 1]!;
    st[o + 1] = s.b2 * x - s.a2 * y1;
    const y2 = h.b0 * y1 + st[o + 2]!;
    st[o + 2] = h.b1 * y1 - h.a1 * y2 + st[o + 3]!;
    st[o + 3] = h.b2 * y1 - h.a2 * y2;
    this.blockSum[channel]! += y2 * y2;

    // True peak: interpolate between this sample and the 11 before it. The history is written
    // twice (at i and i + 12) so the last 12 samples are always contiguous; taps unrolled.
    const hist = this.history;
    const base = channel * TAPS * 2;
    // Before the first sample the signal is taken to have held that value, not to have been
    // silent: a capture (or a file) that starts mid-waveform would otherwise begin with a step,
    // which rings through the interpolator as a peak the audio does not have.
    if (!this.primed) hist.fill(x, base, base + TAPS * 2);
    hist[base + this.historyHead] = x;
    hist[base + this.historyHead + TAPS] = x;
    let peak = this.windowPeak[channel]!;
    const m0 = x < 0 ? -x : x;
    if (m0 > peak) peak = m0;
    if (this.oversampling > 1) {
      const a = base + this.historyHead + TAPS; // newest
      const x0 = hist[a]!;
      const x1 = hist[a - 1]!;
      const x2 = hist[a - 2]!;
      const x3 = hist[a - 3]!;
      const x4 = hist[a - 4]!;
      const x5 = hist[a - 5]!;
      const x6 = hist[a - 6]!;
      const x7 = hist[a - 7]!;
      const x8 = hist[a - 8]!;
      const x9 = hist[a - 9]!;
      const x10 = hist[a - 10]!;
      const x11 = hist[a - 11]!;
      // Phases 0 and 3, and 1 and 2, are each other's taps reversed.
      const p0 =
        A0 * x0 +
        A1 * x1 +
        A2 * x2 +
        A3 * x3 +
        A4 * x4 +
        A5 * x5 +
        A6 * x6 +
        A7 * x7 +
        A8 * x8 +
        A9 * x9 +
        A10 * x10 +
        A11 * x11;
      const p2 =
        B11 * x0 +
        B10 * x1 +
        B9 * x2 +
        B8 * x3 +
        B7 * x4 +
        B6 * x5 +
        B5 * x6 +
        B4 * x7 +
        B3 * x8 +
        B2 * x9 +
        B1 * x10 +
        B0 * x11;
      let m = p0 < 0 ? -p0 : p0;
      if (m > peak) peak = m;
      m = p2 < 0 ? -p2 : p2;
      if (m > peak) peak = m;
      if (this.oversampling === 4) {
        const p1 =
          B0 * x0 +
          B1 * x1 +
          B2 * x2 +
          B3 * x3 +
          B4 * x4 +
          B5 * x5 +
          B6 * x6 +
          B7 * x7 +
          B8 * x8 +
          B9 * x9 +
          B10 * x10 +
          B11 * x11;
        const p3 =
          A11 * x0 +
          A10 * x1 +
          A9 * x2 +
          A8 * x3 +
          A7 * x4 +
          A6 * x5 +
          A5 * x6 +
          A4 * x7 +
          A3 * x8 +
          A2 * x9 +
          A1 * x10 +
          A0 * x11;
        m = p1 < 0 ? -p1 : p1;
        if (m > peak) peak = m;
        m = p3 < 0 ? -p3 : p3;
        if (m > peak) peak = m;
      }
    }
    this.windowPeak[channel] = peak;
  }

  endFrame(): void {
    this.primed = true;
    this.historyHead = this.historyHead === TAPS - 1 ? 0 : this.historyHead + 1;
    if (++this.framesInBlock < this.blockFrames) return;
    // A 100 ms block is complete.
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
