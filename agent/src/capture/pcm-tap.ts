/**
 * The recorder's view of the shared capture: whole frames, each block stamped once with
 * the wall-clock time it arrived. Every recording cuts its start and end from the same
 * stamps with the same arithmetic (`frameIndexAt`), so one recording ending at T and the
 * next starting at T split the stream at the same frame: back-to-back files with no gap
 * and no overlap.
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

  private readonly onData = (chunk: Buffer): void => {
    const endMs = this.now();
    const frameBytes = this.format.channels * BYTES_PER_SAMPLE;
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const frames = Math.floor(data.length / frameBytes);
    // Copies: the capture may reuse its buffer once we return.
    this.carry = Buffer.from(data.subarray(frames * frameBytes));
    if (frames === 0 || this.listeners.size === 0) return;
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
    this.carry = Buffer.alloc(0);
  };

  private readonly onFault = (error: CaptureError): void => {
    this.carry = Buffer.alloc(0);
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
    this.carry = Buffer.alloc(0);
    this.source.on('restarted', this.onRestarted);
    this.source.on('data', this.onData);
    this.source.on('fault', this.onFault);
  }

  stop(): void {
    this.source.off('restarted', this.onRestarted);
    this.source.off('data', this.onData);
    this.source.off('fault', this.onFault);
  }

  /** Delivers blocks to `listener` until the returned function is called. */
  subscribe(listener: PcmListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
