/**
 * Peak / RMS / clip meters over interleaved 16- or 24-bit PCM, one MeterFrame per window of
 * samples, with loudness (momentary, short-term, true peak: loudness.ts) per channel and for
 * the programme. Pure: no I/O, the clock is injected. Levels follow sox's convention
 * (full scale = 32768 at 16 bits): a full-scale sine reads 0 dBFS peak and -3.01 dBFS RMS.
 * A clip is a sample at either end of the range.
 */
import { DBFS_FLOOR, METER_FRAME_VERSION, type MeterFrame } from '../../../shared/src/mqtt.js';
import { LoudnessMeter, roundedLoudness } from './loudness.js';
import { type BitDepth, bytesPerSample, DEFAULT_BIT_DEPTH, decodeSamples, fullScale } from './pcm-format.js';

export interface MeterAccumulatorOptions {
  sampleRate: number;
  channels: number;
  /** Bits per sample; default 16. */
  bitDepth?: BitDepth;
  /** Window length; frames are cut by sample count, not by wall clock. Default 100. */
  windowMs?: number;
  /** Wall clock for `capturedAtMs`; default Date.now. */
  now?: () => number;
}

export function toDbfs(ratio: number): number {
  if (ratio <= 0) return DBFS_FLOOR;
  return Math.max(DBFS_FLOOR, 20 * Math.log10(ratio));
}

export class MeterAccumulator {
  readonly windowMs: number;
  readonly windowFrames: number;
  private readonly sampleRate: number;
  private readonly channels: number;
  private readonly frameBytes: number;
  private readonly sampleBytes: number;
  private readonly bitDepth: BitDepth;
  private readonly fullScale: number;
  private readonly now: () => number;
  /** Loudness, and the samples' own levels measured in the same pass. */
  private loudness: LoudnessMeter;
  /** Bytes of an incomplete frame left over from the previous chunk. */
  private carry: Buffer = Buffer.alloc(0);
  /** A chunk's samples, decoded once for the level meters and loudness (grown as needed). */
  private samples = new Float32Array(0);
  private framesInWindow = 0;
  private seq = 0;

  constructor(options: MeterAccumulatorOptions) {
    const windowMs = options.windowMs ?? 100;
    if (!Number.isInteger(windowMs) || windowMs < 1 || windowMs > 10_000) {
      throw new RangeError('windowMs must be an integer in 1..10000');
    }
    if (!Number.isInteger(options.channels) || options.channels < 1)
      throw new RangeError('channels must be >= 1');
    if (!Number.isInteger(options.sampleRate) || options.sampleRate < 1)
      throw new RangeError('bad sampleRate');
    this.windowMs = windowMs;
    this.sampleRate = options.sampleRate;
    this.channels = options.channels;
    this.windowFrames = Math.max(1, Math.round((options.sampleRate * windowMs) / 1000));
    this.bitDepth = options.bitDepth ?? DEFAULT_BIT_DEPTH;
    this.sampleBytes = bytesPerSample(this.bitDepth);
    this.frameBytes = options.channels * this.sampleBytes;
    this.fullScale = fullScale(this.bitDepth);
    this.now = options.now ?? Date.now;
    this.loudness = new LoudnessMeter(options.sampleRate, options.channels);
  }

  /** Feeds a chunk; returns the frames whose windows it completed (often none). */
  push(chunk: Buffer): MeterFrame[] {
    const arrivedAtMs = this.now();
    const wholeFrames = this.decode(chunk);
    const frames: MeterFrame[] = [];
    for (let frame = 0; frame < wholeFrames; ) {
      // Up to the end of the current window.
      const count = Math.min(wholeFrames - frame, this.windowFrames - this.framesInWindow);
      this.loudness.addFrames(this.samples, frame, count, 1 / this.fullScale);
      frame += count;
      this.framesInWindow += count;
      if (this.framesInWindow === this.windowFrames) {
        // The chunk's last sample arrived now; this window ended that many frames earlier.
        frames.push(this.emitFrame(arrivedAtMs - ((wholeFrames - frame) * 1000) / this.sampleRate));
      }
    }
    return frames;
  }

  /** Decodes the carried bytes and the chunk's whole frames into `samples`; keeps the rest. Returns the frames. */
  private decode(chunk: Buffer): number {
    const { frameBytes, carry } = this;
    const head = carry.length > 0 ? Math.min(chunk.length, frameBytes - carry.length) : 0;
    const wholeFrames = Math.floor((carry.length + chunk.length) / frameBytes);
    const samples = wholeFrames * this.channels;
    if (this.samples.length < samples) this.samples = new Float32Array(samples);
    let from = 0;
    let decoded = 0;
    if (carry.length > 0) {
      if (wholeFrames === 0) {
        this.carry = Buffer.concat([carry, chunk]);
        return 0;
      }
      // The frame split between the last chunk and this one.
      decodeSamples(
        Buffer.concat([carry, chunk.subarray(0, head)]),
        0,
        this.channels,
        this.bitDepth,
        this.samples,
      );
      from = head;
      decoded = this.channels;
    }
    const rest = samples - decoded;
    decodeSamples(chunk, from, rest, this.bitDepth, this.samples, decoded);
    // Copy: the caller's buffer may be reused once we return.
    this.carry = Buffer.from(chunk.subarray(from + rest * this.sampleBytes));
    return wholeFrames;
  }

  /** Drops the partial window, any carried bytes and the loudness history (e.g. after a capture restart). */
  reset(): void {
    this.carry = Buffer.alloc(0);
    this.framesInWindow = 0;
    this.loudness = new LoudnessMeter(this.sampleRate, this.channels);
  }

  private emitFrame(capturedAtMs: number): MeterFrame {
    const loudness = this.loudness.reading();
    const channels = loudness.channels.map((channelLoudness, ch) => {
      const { peak, sumSquares, clips } = this.loudness.takeSampleLevels(ch);
      return {
        peakDbfs: toDbfs(peak),
        rmsDbfs: toDbfs(Math.sqrt(sumSquares / this.framesInWindow)),
        clipCount: clips,
        ...roundedLoudness(channelLoudness),
      };
    });
    const frame: MeterFrame = {
      v: METER_FRAME_VERSION,
      programme: roundedLoudness(loudness.programme),
      seq: this.seq++,
      capturedAtMs: Math.max(0, Math.round(capturedAtMs)),
      windowMs: this.windowMs,
      sampleRate: this.sampleRate,
      channels,
    };
    this.framesInWindow = 0;
    return frame;
  }
}
