/**
 * The live meters' model, pure (test/unit/console-meters.test.ts): the dBFS scale and a bar's
 * position on it, peak hold and its fall, the clip latch, no-signal and stale states, and the
 * latest frame of each channel of a node kept in typed arrays (no object per frame).
 */

/** The meter frame's fields the meters read (shared/src/mqtt.ts `MeterFrame`). */
export interface MeterChannelFrame {
  peakDbfs: number;
  rmsDbfs: number;
  clipCount: number;
  truePeakDbtp?: number;
  momentaryLufs?: number;
  shortTermLufs?: number;
}
export interface MeterFrameIn {
  channels: MeterChannelFrame[];
  programme?: { truePeakDbtp?: number; momentaryLufs?: number; shortTermLufs?: number };
}

/** The scale's ends, dBFS: the bar is empty at the bottom and full at the top. */
export const SCALE_MIN_DB = -60;
export const SCALE_MAX_DB = 0;
/** The scale's marks, dBFS. */
export const SCALE_MARKS = [0, -6, -12, -18, -24, -36, -48, -60] as const;
/** The agents' silence floor (shared/src/mqtt.ts DBFS_FLOOR). */
export const DB_FLOOR = -120;
/** Peak at or under this: no signal (a dead input, an unplugged cable). */
export const NO_SIGNAL_DBFS = -90;
/** A sample peak this close to full scale latches the clip light, as a counted clip does. */
export const CLIP_DBFS = -0.1;
/** The peak hold stays this long, then falls. */
export const HOLD_MS = 1500;
export const HOLD_FALL_DB_PER_S = 20;
/** No frame for this long: the node's meters are stale (it stopped sending, or the link did). */
export const STALE_MS = 3000;
/** The most channels a frame carries (the schema's bound). */
export const MAX_CHANNELS = 64;

/** Where `db` sits on the scale, 0 (bottom) to 1 (top), clamped. */
export function barPosition(db: number): number {
  if (!Number.isFinite(db)) return 0;
  const at = (db - SCALE_MIN_DB) / (SCALE_MAX_DB - SCALE_MIN_DB);
  return Math.min(1, Math.max(0, at));
}

/** The held peak at `nowMs`: as held for HOLD_MS, then falling at HOLD_FALL_DB_PER_S. */
export function heldPeak(heldDb: number, heldAtMs: number, nowMs: number): number {
  const falling = nowMs - heldAtMs - HOLD_MS;
  if (falling <= 0) return heldDb;
  return Math.max(DB_FLOOR, heldDb - (HOLD_FALL_DB_PER_S * falling) / 1000);
}

/** Whether a channel's frame clipped: a clip counted by the agent, or a peak at full scale. */
export function clipped(channel: Pick<MeterChannelFrame, 'peakDbfs' | 'clipCount'>): boolean {
  return channel.clipCount > 0 || channel.peakDbfs >= CLIP_DBFS;
}

export type MeterNodeState = 'waiting' | 'live' | 'no-signal' | 'stale' | 'offline';

/**
 * A node's meters' state: offline when the controller says so and no frame came for STALE_MS
 * (frames still arriving say more than a presence that lags); waiting for a first frame; stale
 * when none came for STALE_MS (by the page's own monotonic clock: agents' clocks may be off); no
 * signal when every channel's peak is at the floor; otherwise live.
 */
export function nodeState(
  lastFrameAtMs: number | undefined,
  nowMs: number,
  loudestPeakDb: number,
  offline = false,
): MeterNodeState {
  const quiet = lastFrameAtMs === undefined || nowMs - lastFrameAtMs > STALE_MS;
  if (offline && quiet) return 'offline';
  if (lastFrameAtMs === undefined) return 'waiting';
  if (quiet) return 'stale';
  return loudestPeakDb <= NO_SIGNAL_DBFS ? 'no-signal' : 'live';
}

/** A level as read out: one decimal with a true minus sign, `−∞` at the floor, `—` when absent. */
export function formatDb(db: number | undefined): string {
  if (db === undefined || Number.isNaN(db)) return '—';
  if (db <= DB_FLOOR) return '−∞';
  return db.toFixed(1).replace('-', '−');
}

/** A level for `aria-valuenow`: whole dB, clamped to the scale (a screen reader's meter range). */
export function ariaLevel(db: number): number {
  return Math.round(SCALE_MIN_DB + barPosition(db) * (SCALE_MAX_DB - SCALE_MIN_DB));
}

/**
 * The latest frame of each of a node's channels, and what the meters keep from earlier ones
 * (peak hold, clip latch), in typed arrays: a frame writes numbers, the painter reads them.
 * Values a frame does not carry are NaN.
 */
export class NodeMeters {
  channels = 0;
  readonly peak = new Float32Array(MAX_CHANNELS).fill(DB_FLOOR);
  readonly rms = new Float32Array(MAX_CHANNELS).fill(DB_FLOOR);
  readonly truePeak = new Float32Array(MAX_CHANNELS).fill(Number.NaN);
  readonly momentary = new Float32Array(MAX_CHANNELS).fill(Number.NaN);
  readonly shortTerm = new Float32Array(MAX_CHANNELS).fill(Number.NaN);
  readonly hold = new Float32Array(MAX_CHANNELS).fill(DB_FLOOR);
  readonly holdAt = new Float64Array(MAX_CHANNELS);
  /** 1 while a channel's clip light is latched (until cleared). */
  readonly clip = new Uint8Array(MAX_CHANNELS);
  /** The programme's loudness (all channels together), NaN when the frame has none. */
  readonly programme = new Float32Array(3).fill(Number.NaN); // true peak, momentary, short-term
  lastFrameAt: number | undefined;
  /** Set by a frame, cleared by the painter: paint only when data arrived. */
  dirty = false;

  /** Takes a frame received at `nowMs`; answers the channels whose clip light just latched. */
  take(frame: MeterFrameIn, nowMs: number): number[] {
    const n = Math.min(frame.channels.length, MAX_CHANNELS);
    const latched: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = frame.channels[i]!;
      this.peak[i] = c.peakDbfs;
      this.rms[i] = c.rmsDbfs;
      this.truePeak[i] = c.truePeakDbtp ?? Number.NaN;
      this.momentary[i] = c.momentaryLufs ?? Number.NaN;
      this.shortTerm[i] = c.shortTermLufs ?? Number.NaN;
      if (i >= this.channels || c.peakDbfs >= heldPeak(this.hold[i]!, this.holdAt[i]!, nowMs)) {
        this.hold[i] = c.peakDbfs;
        this.holdAt[i] = nowMs;
      }
      if (clipped(c) && this.clip[i] === 0) {
        this.clip[i] = 1;
        latched.push(i);
      }
    }
    for (let i = n; i < this.channels; i++) this.clip[i] = 0;
    this.channels = n;
    const p = frame.programme;
    this.programme[0] = p?.truePeakDbtp ?? Number.NaN;
    this.programme[1] = p?.momentaryLufs ?? Number.NaN;
    this.programme[2] = p?.shortTermLufs ?? Number.NaN;
    this.lastFrameAt = nowMs;
    this.dirty = true;
    return latched;
  }

  clearClip(channel: number): void {
    this.clip[channel] = 0;
    this.dirty = true;
  }

  /** The loudest peak now (for the no-signal state). */
  loudest(): number {
    let max = DB_FLOOR;
    for (let i = 0; i < this.channels; i++) if (this.peak[i]! > max) max = this.peak[i]!;
    return max;
  }

  /** Whether the controller says the node is offline (its presence). */
  offline = false;

  state(nowMs: number): MeterNodeState {
    return nodeState(this.lastFrameAt, nowMs, this.loudest(), this.offline);
  }
}

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The nodes chosen on the meters wall, from its URL (`?nodes=a,b`): valid ids, once each, in order. */
export function nodesFromSearch(search: string, max = 200): string[] {
  const text = new URLSearchParams(search).get('nodes') ?? '';
  const ids = text.split(',').filter((id) => NODE_ID.test(id));
  return [...new Set(ids)].slice(0, max);
}

/** The meters wall's URL query for a choice of nodes (`?nodes=a,b`, commas kept readable). */
export function searchFromNodes(ids: readonly string[]): string {
  return ids.length === 0 ? '' : `?nodes=${ids.join(',')}`;
}

/**
 * The events stream's meter query for what the meters on screen want: their nodes (sorted, so
 * the same set is the same connection; at most `max`) at the highest rate any of them wants;
 * empty when none is on screen (the stream carries no frames).
 */
export function meterStreamQuery(nodes: Iterable<string>, rates: Iterable<1 | 10>, max = 200): string {
  const ids = [...new Set(nodes)].sort().slice(0, max);
  if (ids.length === 0) return '';
  let rate = 1;
  for (const r of rates) if (r === 10) rate = 10;
  return `meters=${ids.join(',')}&meterRate=${rate}`;
}
