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
 */
import type { EventEmitter } from 'node:events';
import type { CaptureError, CaptureOptions } from './capture.js';
import type { SupervisorEvents } from './supervisor.js';

export type PcmSource = Pick<EventEmitter<SupervisorEvents>, 'on' | 'off'> & {
  readonly format: CaptureOptions;
};

export interface PcmBlock {
  /** Whole interleaved s16le frames. */
  data: Buffer;
  frames: number;
  sampleRate: number;
  channels: number;
  /** Wall-clock time just after the block's last frame (when it arrived). */
  endMs: number;
}

export interface PcmListener {
  block(block: PcmBlock): void;
  fault(error: CaptureError): void;
}

const BYTES_PER_SAMPLE = 2;
/** Arrivals older than this no longer anchor the stamps (lets the anchor follow clock drift). */
export const STAMP_WINDOW_MS = 5000;

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

  private readonly onData = (chunk: Buffer): void => {
    const arrivedMs = this.now();
    const frameBytes = this.format.channels * BYTES_PER_SAMPLE;
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const frames = Math.floor(data.length / frameBytes);
    // Copies: the capture may reuse its buffer once we return.
    this.carry = Buffer.from(data.subarray(frames * frameBytes));
    if (frames === 0) return;
    const endMs = this.stamp(arrivedMs, frames);
    if (this.listeners.size === 0) return;
    const block: PcmBlock = {
      data: Buffer.from(data.subarray(0, frames * frameBytes)),
      frames,
      sampleRate: this.format.sampleRate,
      channels: this.format.channels,
      endMs,
    };
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
  }

  /** Delivers blocks to `listener` until the returned function is called. */
  subscribe(listener: PcmListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
