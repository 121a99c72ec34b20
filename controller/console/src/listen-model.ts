/**
 * The Listen page's pure parts: reading a listen frame (shared/src/listen.ts's layout, with a
 * DataView: no Buffer in the browser), the playout queue's jitter buffer, the latency from a
 * frame's capture time to the moment it is heard, the browser's clock against the
 * controller's (bounded by the `Date` header), levels, and the channel choice in the URL.
 */

/** What the page needs of a frame: when its first sample was captured, and its Opus packet. */
export interface ListenPacket {
  seq: number;
  channels: number;
  samples: number;
  capturedAtMs: number;
  packet: Uint8Array;
}

const HEADER_BYTES = 21;

/** A binary WebSocket message as a frame, or undefined when it is not one (version 1). */
export function readListenFrame(data: ArrayBuffer): ListenPacket | undefined {
  if (data.byteLength < HEADER_BYTES + 2) return undefined;
  const view = new DataView(data);
  if (view.getUint8(0) !== 1) return undefined;
  const channels = view.getUint8(1);
  const samples = view.getUint16(2, true);
  const capturedAtMs = view.getFloat64(8, true);
  const start = HEADER_BYTES + view.getUint8(20);
  if (channels < 1 || channels > 2 || !Number.isFinite(capturedAtMs) || start >= data.byteLength)
    return undefined;
  return {
    seq: view.getUint32(4, true),
    channels,
    samples,
    capturedAtMs,
    packet: new Uint8Array(data, start),
  };
}

/**
 * The playout queue: each decoded packet is scheduled right after the previous one, about
 * `targetS` ahead of the audio clock (the jitter buffer). A packet that arrives after the
 * queue ran dry starts it again `targetS` ahead (an underrun, heard as a gap); one that would
 * sit more than `maxS` ahead is dropped, so a burst never leaves the listener seconds behind.
 */
export class PlayoutQueue {
  private nextAt = 0;
  underruns = 0;
  dropped = 0;

  constructor(
    readonly targetS = 0.06,
    readonly maxS = 0.3,
  ) {}

  /** When to start a packet of `durationS`, on the audio clock at `nowS`; undefined: drop it. */
  schedule(nowS: number, durationS: number): number | undefined {
    if (this.nextAt < nowS) {
      if (this.nextAt > 0) this.underruns++;
      this.nextAt = nowS + this.targetS;
    } else if (this.nextAt - nowS > this.maxS) {
      this.dropped++;
      return undefined;
    }
    const at = this.nextAt;
    this.nextAt += durationS;
    return at;
  }

  /** Seconds of audio queued ahead of `nowS`. */
  queuedS(nowS: number): number {
    return Math.max(0, this.nextAt - nowS);
  }
}

/**
 * Capture to ear, ms: when the packet will be heard (the browser's clock now, plus how long
 * it waits in the queue, plus the output's own latency), on the controller's clock, minus
 * when it was captured (the agent's clock, brought to the controller's by its reported offset).
 */
export function latencyMs(input: {
  capturedAtMs: number;
  /** The agent's clock minus the controller's (the node's `clockOffsetMs`), or null. */
  nodeClockOffsetMs: number | null;
  browserNowMs: number;
  /** The controller's clock minus the browser's (clockOffset()). */
  browserOffsetMs: number;
  queuedMs: number;
  outputMs: number;
}): number {
  const heardAt = input.browserNowMs + input.browserOffsetMs + input.queuedMs + input.outputMs;
  return heardAt - (input.capturedAtMs - (input.nodeClockOffsetMs ?? 0));
}

/** What a response's `Date` header (whole seconds) says of the controller's clock minus the browser's. */
export interface OffsetBounds {
  lowMs: number;
  highMs: number;
}

/**
 * The controller stamped `Date` (its clock, rounded down to the second) somewhere between
 * the browser sending at `sentMs` and receiving at `receivedMs`: its clock minus the
 * browser's lies within these bounds. Undefined without a readable header.
 */
export function dateBounds(
  sentMs: number,
  receivedMs: number,
  date: string | null,
): OffsetBounds | undefined {
  const serverMs = date ? Date.parse(date) : Number.NaN;
  if (!Number.isFinite(serverMs)) return undefined;
  return { lowMs: serverMs - receivedMs, highMs: serverMs + 1000 - sentMs };
}

/** Several answers' bounds together (the tightest both allow); the newer wins if they disagree. */
export function intersect(a: OffsetBounds | undefined, b: OffsetBounds): OffsetBounds {
  if (!a) return b;
  const lowMs = Math.max(a.lowMs, b.lowMs);
  const highMs = Math.min(a.highMs, b.highMs);
  return lowMs <= highMs ? { lowMs, highMs } : b;
}

/** The correction the latency uses: none when the clocks may agree, else the smallest the bounds allow. */
export function clockOffset(bounds: OffsetBounds | undefined): number {
  if (!bounds || (bounds.lowMs <= 0 && bounds.highMs >= 0)) return 0;
  return bounds.lowMs > 0 ? bounds.lowMs : bounds.highMs;
}

/** The middle of recent values (a readout steadier than the last one). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The lowest level shown (silence reads as this). */
export const FLOOR_DB = -60;

/** Peak of samples in dBFS, floored at FLOOR_DB. */
export function peakDb(samples: Float32Array): number {
  let peak = 0;
  for (const v of samples) {
    const a = Math.abs(v);
    if (a > peak) peak = a;
  }
  return peak > 0 ? Math.max(FLOOR_DB, 20 * Math.log10(peak)) : FLOOR_DB;
}

/** A level as the bar's fill, 0–1, on a dBFS scale from FLOOR_DB to 0. */
export function levelFraction(db: number): number {
  return Math.min(1, Math.max(0, (db - FLOOR_DB) / -FLOOR_DB));
}

/** Falls back at `dbPerS` from a held peak (a meter's ballistics), never below the new level. */
export function decayed(previousDb: number, nowDb: number, elapsedS: number, dbPerS = 20): number {
  return Math.max(nowDb, previousDb - dbPerS * elapsedS, FLOOR_DB);
}

/** The channels one may listen to: each alone, and each adjacent pair as stereo (the API takes one or two). */
export function channelChoices(captureChannels: number): { value: string; label: string }[] {
  const out: { value: string; label: string }[] = [];
  for (let c = 1; c <= captureChannels; c++) out.push({ value: `${c}`, label: `Channel ${c} (mono)` });
  for (let c = 1; c < captureChannels; c += 2)
    out.push({ value: `${c},${c + 1}`, label: `Channels ${c} + ${c + 1} (stereo)` });
  return out;
}

/** The page's URL state: `/listen?node=<id>&channels=1` or `channels=1,2`. */
export function listenFromSearch(search: string): { nodeId: string | undefined; channels: number[] } {
  const params = new URLSearchParams(search);
  const node = params.get('node');
  const nodeId = node && /^[A-Za-z0-9_-]{1,64}$/.test(node) ? node : undefined;
  const parsed = (params.get('channels') ?? '1').split(',').map(Number);
  const valid =
    parsed.length >= 1 &&
    parsed.length <= 2 &&
    parsed.every((c) => Number.isInteger(c) && c >= 1 && c <= 64) &&
    new Set(parsed).size === parsed.length;
  return { nodeId, channels: valid ? parsed : [1] };
}

export function searchFromListen(nodeId: string | undefined, channels: readonly number[]): string {
  const params = new URLSearchParams();
  if (nodeId) params.set('node', nodeId);
  if (channels.join(',') !== '1') params.set('channels', channels.join(','));
  const query = params.toString().replace(/%2C/g, ',');
  return query ? `?${query}` : '';
}
