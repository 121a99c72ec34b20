/**
 * Waveform peaks: the lowest and highest sample (over all channels) in each of a fixed number
 * of equal spans of a recording, computed from its decoded samples as they stream past (memory
 * bounded by the bucket count, never by the file), then folded down to what a client asks for.
 * Pure: the decoding (sox) and the cache are in peaks.service.ts.
 */

/** Spans computed once per recording (and cached); every answer is folded from these. */
export const PEAK_BUCKETS = 8192;
/** Most points one answer gives (a wide screen's pixels, twice over). */
export const MAX_PEAK_POINTS = PEAK_BUCKETS;
export const DEFAULT_PEAK_POINTS = 1000;

/** Lowest and highest sample per span, as signed 16-bit values. */
export interface PeakTable {
  min: number[];
  max: number[];
}

/**
 * Folds interleaved signed 16-bit little-endian frames into `buckets` spans of a recording of
 * `totalFrames` frames. Frames past `totalFrames` fall in the last span; spans nothing reached
 * stay 0/0. Chunks may split a sample or a frame anywhere.
 */
export class PeakAccumulator {
  private readonly min: Int16Array;
  private readonly max: Int16Array;
  private readonly frameBytes: number;
  private carry: Buffer = Buffer.alloc(0);
  private frame = 0;
  private bucket = 0;
  private nextEdge: number;
  private touched = false;

  constructor(
    private readonly totalFrames: number,
    private readonly channels: number,
    readonly buckets: number,
  ) {
    if (totalFrames < 1 || channels < 1 || buckets < 1)
      throw new Error('peaks need frames, channels and buckets');
    this.min = new Int16Array(buckets);
    this.max = new Int16Array(buckets);
    this.frameBytes = 2 * channels;
    this.nextEdge = this.edge(0);
  }

  /** The first frame after span `bucket`. */
  private edge(bucket: number): number {
    return bucket >= this.buckets - 1
      ? Number.POSITIVE_INFINITY
      : Math.ceil(((bucket + 1) * this.totalFrames) / this.buckets);
  }

  push(chunk: Buffer): void {
    const joined = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const usable = joined.length - (joined.length % this.frameBytes);
    this.carry = Buffer.from(joined.subarray(usable));
    if (usable === 0) return;
    // A copy: Int16Array needs an even byte offset, which a piped Buffer does not promise.
    const samples = new Int16Array(usable / 2);
    Buffer.from(samples.buffer).set(joined.subarray(0, usable));
    this.fold(samples);
  }

  private fold(samples: Int16Array): void {
    const { channels, min, max } = this;
    let { frame, bucket, nextEdge, touched } = this;
    let lo = touched ? min[bucket]! : 32767;
    let hi = touched ? max[bucket]! : -32768;
    for (let i = 0; i < samples.length; i += channels) {
      if (frame >= nextEdge) {
        min[bucket] = lo;
        max[bucket] = hi;
        while (frame >= nextEdge) {
          bucket += 1;
          nextEdge = this.edge(bucket);
        }
        lo = 32767;
        hi = -32768;
      }
      for (let c = 0; c < channels; c++) {
        const v = samples[i + c]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      frame += 1;
      touched = true;
    }
    if (touched) {
      min[bucket] = lo;
      max[bucket] = hi;
    }
    Object.assign(this, { frame, bucket, nextEdge, touched });
  }

  /** Frames seen so far. */
  get frames(): number {
    return this.frame;
  }

  table(): PeakTable {
    return { min: Array.from(this.min), max: Array.from(this.max) };
  }
}

/**
 * `points` spans folded from a table's (each the extremes of the table spans it covers), as
 * fractions of full scale (−1…1, 4 decimals). Never more points than the table has spans.
 */
export function foldPeaks(table: PeakTable, points: number): { min: number[]; max: number[] } {
  const spans = table.min.length;
  const n = Math.max(1, Math.min(points, spans));
  const min: number[] = new Array(n);
  const max: number[] = new Array(n);
  for (let p = 0; p < n; p++) {
    const from = Math.floor((p * spans) / n);
    const to = Math.max(from + 1, Math.floor(((p + 1) * spans) / n));
    let lo = 32767;
    let hi = -32768;
    for (let s = from; s < to; s++) {
      if (table.min[s]! < lo) lo = table.min[s]!;
      if (table.max[s]! > hi) hi = table.max[s]!;
    }
    min[p] = fraction(lo);
    max[p] = fraction(hi);
  }
  return { min, max };
}

const fraction = (sample: number) => Math.round((sample / 32768) * 10_000) / 10_000 || 0; // never -0
