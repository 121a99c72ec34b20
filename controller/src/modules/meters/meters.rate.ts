/**
 * The 1 Hz meter stream (`rate=1`, for overviews): each node's frames folded into at most one
 * a second. The first frame of a node passes at once; the frames after it wait, folded, until
 * one arrives a second (controller clock, the reading's `receivedAtMs`) after the last one
 * sent, which then carries the whole while: per channel the highest peak and true peak and
 * the clips summed (so a clip or a peak between two sent frames is never lost), the latest
 * RMS and loudness. Frames that wait when the node stops sending are folded into its next.
 */
import type { MeterFrame } from '../../../../shared/src/mqtt.js';
import { MeterReading, type MeterSubscription } from './meters.store.js';

/** What a meter stream's writer reads (meters.sse.ts). */
export interface MeterFrames {
  drain(): Promise<MeterReading[]>;
  close(): void;
}

export const DECIMATED_PERIOD_MS = 1000;
/** A frame's window at most (the schema's bound). */
const MAX_WINDOW_MS = 10_000;

type Channel = MeterFrame['channels'][number];

const higher = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b);

/** `next` folded into `held` (the frames since the last one sent): pure. */
export function foldFrames(held: MeterFrame, next: MeterFrame): MeterFrame {
  const channels = next.channels.map((channel, i): Channel => {
    const before = held.channels[i];
    if (!before) return channel;
    const folded: Channel = {
      ...channel,
      peakDbfs: Math.max(before.peakDbfs, channel.peakDbfs),
      clipCount: before.clipCount + channel.clipCount,
    };
    const truePeak = higher(before.truePeakDbtp, channel.truePeakDbtp);
    if (truePeak !== undefined) folded.truePeakDbtp = truePeak;
    return folded;
  });
  const frame: MeterFrame = {
    ...next,
    windowMs: Math.min(MAX_WINDOW_MS, held.windowMs + next.windowMs),
    channels,
  };
  if (next.programme) {
    const truePeak = higher(held.programme?.truePeakDbtp, next.programme.truePeakDbtp);
    frame.programme = truePeak === undefined ? next.programme : { ...next.programme, truePeakDbtp: truePeak };
  }
  return frame;
}

/** Per node: when its last frame was sent, and what arrived since (folded). */
interface NodeFold {
  sentAtMs: number;
  held: MeterFrame | undefined;
}

/** A subscription's frames at one a second per node. */
export class DecimatedSubscription implements MeterFrames {
  private readonly nodes = new Map<string, NodeFold>();

  constructor(
    private readonly inner: MeterSubscription,
    private readonly periodMs = DECIMATED_PERIOD_MS,
  ) {}

  async drain(): Promise<MeterReading[]> {
    for (;;) {
      const readings = await this.inner.drain();
      if (readings.length === 0) return [];
      const out: MeterReading[] = [];
      for (const reading of readings) {
        const sent = this.take(reading);
        if (sent) out.push(sent);
      }
      if (out.length > 0) return out;
    }
  }

  close(): void {
    this.inner.close();
  }

  /** The reading to send for `reading` (itself, or the while it ends folded), or none yet. */
  private take(reading: MeterReading): MeterReading | undefined {
    const node = this.nodes.get(reading.nodeId);
    if (!node) {
      this.nodes.set(reading.nodeId, { sentAtMs: reading.receivedAtMs, held: undefined });
      return reading;
    }
    const frame = node.held ? foldFrames(node.held, reading.frame) : reading.frame;
    if (reading.receivedAtMs - node.sentAtMs < this.periodMs) {
      node.held = frame;
      return undefined;
    }
    node.sentAtMs = reading.receivedAtMs;
    node.held = undefined;
    return frame === reading.frame
      ? reading
      : new MeterReading(reading.nodeId, reading.siteId, frame, reading.receivedAtMs);
  }
}
