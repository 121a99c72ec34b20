/**
 * The meters' per-sample work as WebAssembly SIMD (loudness-kernel.wat, assembled by `npm run
 * build:wasm`): K-weighting, block energy and the samples' sum of squares for two channels at a
 * time in double precision; true peak, sample peak and clips for four at a time in single
 * precision (exact for 16- and 24-bit samples; a true peak to 1e-6 dB). One pass over a chunk
 * instead of a JavaScript loop per channel and measure: at 8 channels × 48 kHz, about a quarter
 * of the CPU (`npm run bench capture-cost`). This file owns the kernel's memory layout;
 * loudness.ts is its only user.
 */
import { LOUDNESS_KERNEL_WASM } from './loudness-kernel.wasm.js';

/** The kernel's text source says what each slot holds. */
const PAIR_SLOTS = { blockSum: 4, sumSquares: 5, count: 6 } as const;
const QUAD_SLOTS = { truePeak: 0, samplePeak: 1, clips: 2, count: 3 } as const;
const V128 = 16;
const HISTORY = 11;
const PAGE = 65_536;
const COEFFICIENTS = 10 + 24;

let compiled: WebAssembly.Module | undefined;
function kernelModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(LOUDNESS_KERNEL_WASM, 'base64'));
  return compiled;
}

interface KernelExports {
  memory: WebAssembly.Memory;
  run(
    coef: number,
    pairState: number,
    quadState: number,
    samples: number,
    scratch: number,
    frames: number,
    channels: number,
    scale: number,
    mode: number,
    clipHigh: number,
    clipLow: number,
  ): void;
}

export interface KernelCoefficients {
  /** b0 b1 b2 a1 a2 of the shelf, then of the high-pass. */
  biquads: number[];
  /** The interpolator's halves: P0..P5, M0..M5, Q0..Q5, N0..N5 (loudness.ts). */
  truePeak: number[];
}

/** A channel's sample levels since the last take: on the scale the samples were given on. */
export interface SampleLevels {
  peak: number;
  sumSquares: number;
  clips: number;
}

/** One channel set's state (one instance and memory of its own). */
export class LoudnessKernel {
  private readonly exports: KernelExports;
  private readonly channels: number;
  private readonly pairs: number;
  private readonly quads: number;
  /** Byte offsets: coefficients (0), per-pair and per-quad state, samples. */
  private readonly pairState: number;
  private readonly quadState: number;
  private readonly samples: number;
  private f64!: Float64Array;
  private f32!: Float32Array;
  private i32!: Int32Array;

  constructor(channels: number, coefficients: KernelCoefficients) {
    this.exports = new WebAssembly.Instance(kernelModule()).exports as unknown as KernelExports;
    this.channels = channels;
    this.pairs = Math.ceil(channels / 2);
    this.quads = Math.ceil(channels / 4);
    this.pairState = COEFFICIENTS * V128;
    this.quadState = this.pairState + PAIR_SLOTS.count * this.pairs * V128;
    this.samples = this.quadState + (QUAD_SLOTS.count + HISTORY) * this.quads * V128;
    this.views();
    if (coefficients.biquads.length !== 10 || coefficients.truePeak.length !== 24)
      throw new RangeError('the kernel takes 10 biquad and 24 true-peak coefficients');
    for (const [i, value] of coefficients.biquads.entries()) this.f64.fill(value, i * 2, i * 2 + 2);
    for (const [i, value] of coefficients.truePeak.entries())
      this.f32.fill(value, (10 + i) * 4, (11 + i) * 4);
  }

  private views(): void {
    const { buffer } = this.exports.memory;
    this.f64 = new Float64Array(buffer);
    this.f32 = new Float32Array(buffer);
    this.i32 = new Int32Array(buffer);
  }

  /** Index in the f64 view of channel `c`'s value in pair slot `slot`. */
  private pair(slot: number, c: number): number {
    return (this.pairState + slot * this.pairs * V128) / 8 + c;
  }

  /** Index in the f32/i32 views of channel `c`'s value in quad slot `slot`. */
  private quad(slot: number, c: number): number {
    return (this.quadState + slot * this.quads * V128) / 4 + c;
  }

  /** Sets channel `c`'s sample history (the true peak's last 11 samples) to `value`. */
  primeHistory(c: number, value: number): void {
    const quad = c >> 2;
    const first = this.quad(QUAD_SLOTS.count, 0) + quad * HISTORY * 4 + (c & 3);
    for (let k = 0; k < HISTORY; k++) this.f32[first + k * 4] = value;
  }

  /** Channel `c`'s sum of squares of K-weighted samples since the last call; resets it. */
  takeBlockSum(c: number): number {
    return this.take(this.f64, this.pair(PAIR_SLOTS.blockSum, c));
  }

  /** Channel `c`'s true peak (linear) since the last take. */
  peak(c: number): number {
    return this.f32[this.quad(QUAD_SLOTS.truePeak, c)]!;
  }

  takePeak(c: number): number {
    return this.take(this.f32, this.quad(QUAD_SLOTS.truePeak, c));
  }

  /** Channel `c`'s sample peak, sum of squares and clips since the last take; resets them. */
  takeSampleLevels(c: number): SampleLevels {
    return {
      peak: this.take(this.f32, this.quad(QUAD_SLOTS.samplePeak, c)),
      sumSquares: this.take(this.f64, this.pair(PAIR_SLOTS.sumSquares, c)),
      clips: this.take(this.i32, this.quad(QUAD_SLOTS.clips, c)),
    };
  }

  private take(view: Float64Array | Float32Array | Int32Array, index: number): number {
    const value = view[index]!;
    view[index] = 0;
    return value;
  }

  /**
   * Runs `frames` interleaved frames of `samples` from frame `first`, each sample times `scale`;
   * a scaled sample at or above `clipHigh` or at or below `clipLow` is a clip.
   */
  run(
    samples: Float32Array,
    first: number,
    frames: number,
    scale: number,
    oversampling: 1 | 2 | 4,
    clipHigh: number,
    clipLow: number,
  ): void {
    const count = frames * this.channels;
    // 4 samples more than the frames: the last pair or quad of an odd channel count reads them.
    const scratch = this.samples + Math.ceil((count + 4) / 4) * V128;
    this.ensure(scratch + (HISTORY + frames) * V128);
    const from = first * this.channels;
    const at = this.samples / 4;
    this.f32.set(samples.subarray(from, from + count), at);
    this.f32.fill(0, at + count, at + count + 4);
    this.exports.run(
      0,
      this.pairState,
      this.quadState,
      this.samples,
      scratch,
      frames,
      this.channels,
      scale,
      oversampling,
      clipHigh,
      clipLow,
    );
  }

  private ensure(bytes: number): void {
    const memory = this.exports.memory;
    if (memory.buffer.byteLength >= bytes) return;
    memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
    this.views();
  }
}
