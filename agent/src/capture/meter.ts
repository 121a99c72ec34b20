/**
 * Peak / RMS / clip meters over interleaved 16- or 24-bit PCM, one MeterFrame per window of
 * samples, with loudness (momentary, short-term, true peak: loudness.ts) per channel and for
 * the programme. Pure: no I/O, the clock is injected. Levels follow sox's convention
 * (full scale = 32768 at 16 bits): a full-scale sine reads 0 dBFS peak and -3.01 dBFS RMS.
 * A clip is a sample at either end of the range.
 */
import { DBFS_FLOOR, METER_FRAME_VERSION, type MeterFrame } from '../../../shared/src/mqtt.js';
import { LoudnessMeter, roundedLoudness } from './loudness.js';
import { type BitDepth, bytesPerSample, fullScale, sampleReader } from './pcm-format.js';

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
  private readonly fullScale: number;
  private readonly readSample: (data: Buffer, offset: number) => number;
  private readonly now: () => number;
  private readonly peak: number[];
  private readonly sumSquares: number[];
  private readonly clips: number[];
  private loudness: LoudnessMeter;
  /** Bytes of an incomplete frame left over from the previous chunk. */
  private carry: Buffer = Buffer.alloc(0);
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
    this.sampleBytes = bytesPerSample(options.bitDepth);
    this.frameBytes = options.channels * this.sampleBytes;
    this.fullScale = fullScale(options.bitDepth);
    this.readSample = sampleReader(options.bitDepth);
    this.now = options.now ?? Date.now;
    this.peak = new Array<number>(options.channels).fill(0);
    this.sumSquares = new Array<number>(options.channels).fill(0);
    this.clips = new Array<number>(options.channels).fill(0);
    this.loudness = new LoudnessMeter(options.sampleRate, options.channels);
  }

  /** Feeds a chunk; returns the frames whose windows it completed (often none). */
  push(chunk: Buffer): MeterFrame[] {
    const arrivedAtMs = this.now();
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const wholeFrames = Math.floor(data.length / this.frameBytes);
    const usableBytes = wholeFrames * this.frameBytes;
    // Copy: the caller's buffer may be reused once we return.
    this.carry = Buffer.from(data.subarray(usableBytes));

    const frames: MeterFrame[] = [];
    const { readSample, sampleBytes, loudness } = this;
    const max = this.fullScale - 1;
    const min = -this.fullScale;
    const scale = 1 / this.fullScale;
    for (let offset = 0, frameIndex = 0; offset < usableBytes; frameIndex++) {
      for (let ch = 0; ch < this.channels; ch++, offset += sampleBytes) {
        const sample = readSample(data, offset);
        const magnitude = sample < 0 ? -sample : sample;
        if (magnitude > this.peak[ch]!) this.peak[ch] = magnitude;
        this.sumSquares[ch]! += sample * sample;
        if (sample === max || sample === min) this.clips[ch]!++;
        loudness.add(ch, sample * scale);
      }
      loudness.endFrame();
      if (++this.framesInWindow === this.windowFrames) {
        // The chunk's last sample arrived now; this window ended that many frames earlier.
        const framesAfter = wholeFrames - frameIndex - 1;
        frames.push(this.emitFrame(arrivedAtMs - (framesAfter * 1000) / this.sampleRate));
      }
    }
    return frames;
  }

  /** Drops the partial window, any carried bytes and the loudness history (e.g. after a capture restart). */
  reset(): void {
    this.carry = Buffer.alloc(0);
    this.clearWindow();
    this.loudness = new LoudnessMeter(this.sampleRate, this.channels);
  }

  private emitFrame(capturedAtMs: number): MeterFrame {
    const loudness = this.loudness.reading();
    const channels = this.peak.map((peak, ch) => ({
      peakDbfs: toDbfs(peak / this.fullScale),
      rmsDbfs: toDbfs(Math.sqrt(this.sumSquares[ch]! / this.framesInWindow) / this.fullScale),
      clipCount: this.clips[ch]!,
      ...roundedLoudness(loudness.channels[ch]!),
    }));
    const frame: MeterFrame = {
      v: METER_FRAME_VERSION,
      programme: roundedLoudness(loudness.programme),
      seq: this.seq++,
      capturedAtMs: Math.max(0, Math.round(capturedAtMs)),
      windowMs: this.windowMs,
      sampleRate: this.sampleRate,
      channels,
    };
    this.clearWindow();
    return frame;
  }

  private clearWindow(): void {
    this.framesInWindow = 0;
    this.peak.fill(0);
    this.sumSquares.fill(0);
    this.clips.fill(0);
  }
}
