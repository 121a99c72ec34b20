/**
 * The recorder's view of the shared capture: whole frames, each block stamped once with the
 * wall-clock time just after its last frame. Every recording cuts its start and end from the
 * same stamps with the same arithmetic (`frameIndexAt`), so one recording ending at T and the
 * next starting at T split the stream at the same frame: back-to-back files with no gap and
 * no overlap.
 *
 * The stamps follow the sample clock, not each block's arrival: blocks arrive late by the
 * capture's latency plus a jitter of tens of milliseconds, so the frame count since the
 * capture started is anchored to the earliest arrival seen over the last STAMP_WINDOW_MS (the
 * least-delayed one). Frame times are then steady to well under a millisecond, and a start
 * lands on the first frame captured at or after it rather than up to a jitter later.
 *
 * Each block also carries its first frame's index since the capture (re)started, and the tap
 * keeps the last few seconds of blocks (HISTORY_MS, at most HISTORY_MAX_BYTES): a subscriber
 * that asks for a frame index gets the blocks holding it replayed first, so the next segment of
 * a long recording starts at exactly the frame after the previous one ended, however long it
 * took to open its file.
 */
import type { EventEmitter } from 'node:events';
import type { CaptureError, CaptureOptions } from './capture.js';
import { type BitDepth, bytesPerSample, DEFAULT_BIT_DEPTH } from './pcm-format.js';
import type { SupervisorEvents } from './supervisor.js';

export type PcmSource = Pick<EventEmitter<SupervisorEvents>, 'on' | 'off'> & {
  readonly format: CaptureOptions;
};

export interface PcmBlock {
  /** Whole interleaved frames of signed little-endian samples (pcm-format.ts). */
  data: Buffer;
  frames: number;
  sampleRate: number;
  channels: number;
  bitDepth: BitDepth;
  /** Wall-clock time just after the block's last frame (when it arrived). */
  endMs: number;
  /** Index of the block's first frame since the capture (re)started. */
  index: number;
}

export interface PcmListener {
  block(block: PcmBlock): void;
  fault(error: CaptureError): void;
}

/** Arrivals older than this no longer anchor the stamps (lets the anchor follow clock drift). */
export const STAMP_WINDOW_MS = 5000;
/** How much recent audio the tap keeps for late subscribers (segment hand-over)… */
export const HISTORY_MS = 5000;
/** …and at most this many bytes of it (a wide, fast capture keeps less time). */
export const HISTORY_MAX_BYTES = 32 * 1024 * 1024;

/**
 * The index of the first frame of `block` captured at or after `atMs` (0…frames): frame i
 * is taken to have been captured at endMs − (frames − i) / sampleRate.
 */
export function frameIndexAt(block: Pick<PcmBlock, 'frames' | 'sampleRate' | 'endMs'>, atMs: number): number {
  const index = Math.ceil(block.frames - ((block.endMs - atMs) * block.sampleRate) / 1000);
  return Math.min(block.frames, Math.max(0, index));
}

/** Wall-clock time of frame `index` of `block`. */
export function frameTimeMs(block: Pick<PcmBlock, 'frames' | 'sampleRate' | 'endMs'>, index: number): number {
  return block.endMs - ((block.frames - index) * 1000) / block.sampleRate;
}

/**
 * Start it before the capture (like the meters): frames are counted from the capture's first
 * byte, so a recording that subscribes later still gets whole frames.
 */
export class PcmTap {
  private readonly listeners = new Set<PcmListener>();
  private format: CaptureOptions;
  private carry: Buffer = Buffer.alloc(0);
  /** Frames since the capture (re)started. */
  private framesSeen = 0;
  /** Candidate anchors (arrival, implied time of frame 0), increasing: the first is the earliest. */
  private anchors: { atMs: number; originMs: number }[] = [];
  /** Recent blocks, oldest first (HISTORY_MS, HISTORY_MAX_BYTES). */
  private history: PcmBlock[] = [];
  private historyBytes = 0;

  private readonly onData = (chunk: Buffer): void => {
    const arrivedMs = this.now();
    const bitDepth = this.format.bitDepth ?? DEFAULT_BIT_DEPTH;
    const frameBytes = this.format.channels * bytesPerSample(bitDepth);
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const frames = Math.floor(data.length / frameBytes);
    // Copies: the capture may reuse its buffer once we return.
    this.carry = Buffer.from(data.subarray(frames * frameBytes));
    if (frames === 0) return;
    const index = this.framesSeen;
    const endMs = this.stamp(arrivedMs, frames);
    const block: PcmBlock = {
      data: Buffer.from(data.subarray(0, frames * frameBytes)),
      frames,
      sampleRate: this.format.sampleRate,
      channels: this.format.channels,
      bitDepth,
      endMs,
      index,
    };
    this.remember(block);
    for (const listener of [...this.listeners]) listener.block(block);
  };

  private readonly onRestarted = (format: CaptureOptions): void => {
    this.format = format;
    this.reset();
  };

  private readonly onFault = (error: CaptureError): void => {
    this.reset();
    for (const listener of [...this.listeners]) listener.fault(error);
  };

  constructor(
    private readonly source: PcmSource,
    private readonly now: () => number = Date.now,
  ) {
    this.format = source.format;
  }

  /** The capture format blocks come in now. */
  /** The index the next frame will have (frames since the capture (re)started). */
  get nextFrame(): number {
    return this.framesSeen;
  }

  get captureFormat(): CaptureOptions {
    return { ...this.format };
  }

  start(): void {
    this.format = this.source.format;
    this.reset();
    this.source.on('restarted', this.onRestarted);
    this.source.on('data', this.onData);
    this.source.on('fault', this.onFault);
  }

  stop(): void {
    this.source.off('restarted', this.onRestarted);
    this.source.off('data', this.onData);
    this.source.off('fault', this.onFault);
  }

  /** The wall-clock time just after the last of `frames` new frames that arrived at `arrivedMs`. */
  private stamp(arrivedMs: number, frames: number): number {
    this.framesSeen += frames;
    const sinceStartMs = (this.framesSeen * 1000) / this.format.sampleRate;
    const originMs = arrivedMs - sinceStartMs;
    while (this.anchors.length > 0 && this.anchors[this.anchors.length - 1]!.originMs >= originMs)
      this.anchors.pop();
    this.anchors.push({ atMs: arrivedMs, originMs });
    while (this.anchors[0]!.atMs < arrivedMs - STAMP_WINDOW_MS) this.anchors.shift();
    return this.anchors[0]!.originMs + sinceStartMs;
  }

  private reset(): void {
    this.carry = Buffer.alloc(0);
    this.framesSeen = 0;
    this.anchors = [];
    this.history = [];
    this.historyBytes = 0;
  }

  private remember(block: PcmBlock): void {
    this.history.push(block);
    this.historyBytes += block.data.length;
    const oldestMs = block.endMs - HISTORY_MS;
    while (
      this.history.length > 1 &&
      (this.historyBytes > HISTORY_MAX_BYTES || this.history[0]!.endMs < oldestMs)
    ) {
      this.historyBytes -= this.history.shift()!.data.length;
    }
  }

  /**
   * Delivers blocks to `listener` until the returned function is called. With `fromFrame`, the
   * kept blocks holding that frame or later are delivered first (at once, in order).
   */
  subscribe(listener: PcmListener, options: { fromFrame?: number } = {}): () => void {
    const { fromFrame } = options;
    if (fromFrame !== undefined) {
      for (const block of this.history) if (block.index + block.frames > fromFrame) listener.block(block);
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
