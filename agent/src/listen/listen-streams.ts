/**
 * The agent's live listen streams, as the controller asks for them on `cmd`: `listen-start`
 * starts a stream (or renews it: the controller sends it again every LISTEN_RENEW_MS while
 * anyone listens), `listen-stop` ends it, and a stream not renewed for LISTEN_LEASE_MS ends on
 * its own (the controller vanished). Every stream reads the one capture through the PCM tap.
 */
import {
  LISTEN_LEASE_MS,
  type ListenFrame,
  ListenStartArgs,
  ListenStopArgs,
} from '../../../shared/src/listen.js';
import type { PcmBlock, PcmListener } from '../capture/pcm-tap.js';
import type { Logger } from '../support/log.js';
import { expectShape } from '../support/validate.js';
import { ListenStream } from './listen-stream.js';

/** Streams one agent runs at once (distinct channel selections and bitrates). */
export const MAX_LISTEN_STREAMS = 8;

export interface ListenStreamsOptions {
  tap: { subscribe(listener: PcmListener): () => void; readonly captureFormat: { channels: number } };
  /** Sends a frame if connected (QoS 0: a frame that cannot go now is dropped). */
  publish: (frame: ListenFrame) => void;
  log: Logger;
  now?: () => number;
  leaseMs?: number;
}

interface Running {
  stream: ListenStream;
  unsubscribe: () => void;
  expiresAtMs: number;
}

export class ListenStreams {
  private readonly running = new Map<string, Running>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ListenStreamsOptions) {}

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  get streamIds(): string[] {
    return [...this.running.keys()];
  }

  start(): void {
    const leaseMs = this.options.leaseMs ?? LISTEN_LEASE_MS;
    this.timer = setInterval(() => this.expire(), Math.min(5000, leaseMs / 2));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    for (const id of [...this.running.keys()]) this.end(id, 'agent stopping');
  }

  /** `listen-start`: starts the stream, or renews it. Throws what the controller should hear. */
  listenStart(raw: Record<string, unknown>): string {
    const args = expectShape(ListenStartArgs, raw, 'listen-start');
    const expiresAtMs = this.now + (this.options.leaseMs ?? LISTEN_LEASE_MS);
    const existing = this.running.get(args.streamId);
    if (existing) {
      existing.expiresAtMs = expiresAtMs;
      existing.stream.bitrate = args.bitrate;
      return `listen stream ${args.streamId} renewed`;
    }
    const refusal = ListenStream.refusal(args.channels, this.options.tap.captureFormat.channels);
    if (refusal) throw new Error(refusal);
    if (this.running.size >= MAX_LISTEN_STREAMS)
      throw new Error(`this agent already runs ${MAX_LISTEN_STREAMS} listen streams`);
    const stream = new ListenStream(args.streamId, args, this.options.publish);
    const listener: PcmListener = {
      block: (block: PcmBlock) => {
        if (ListenStream.refusal(stream.channels, block.channels)) this.end(stream.id, 'capture changed');
        else stream.block(block);
      },
      fault: () => {},
    };
    this.running.set(args.streamId, {
      stream,
      unsubscribe: this.options.tap.subscribe(listener),
      expiresAtMs,
    });
    this.options.log.info({ streamId: args.streamId, channels: args.channels }, 'live listen stream started');
    return `listen stream ${args.streamId} started`;
  }

  /** `listen-stop`. */
  listenStop(raw: Record<string, unknown>): string {
    const { streamId } = expectShape(ListenStopArgs, raw, 'listen-stop');
    return this.end(streamId, 'the controller stopped it')
      ? `listen stream ${streamId} stopped`
      : `listen stream ${streamId} was not running`;
  }

  /** Ends the streams not renewed in time (run by a timer; tests call it). */
  expire(): void {
    const now = this.now;
    for (const [id, running] of this.running)
      if (now >= running.expiresAtMs) this.end(id, 'not renewed: the controller is gone');
  }

  private end(streamId: string, why: string): boolean {
    const running = this.running.get(streamId);
    if (!running) return false;
    this.running.delete(streamId);
    running.unsubscribe();
    running.stream.close();
    this.options.log.info({ streamId }, `live listen stream ended: ${why}`);
    return true;
  }
}
