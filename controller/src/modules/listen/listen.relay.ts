/**
 * The relay of one agent stream to its listeners: each frame is encoded once and handed to
 * every open listener's socket, or dropped for that listener (and counted) when its socket
 * already holds more than LISTENER_MAX_BUFFERED_BYTES unsent: a slow listener loses audio,
 * never grows the controller's memory, and never delays the others. A listener over the limit
 * for STALL_MS on end is stalled, and so is one that leaves a WebSocket ping unanswered for
 * PING_MS (the kernel's socket buffers can hide a reader that stopped for many seconds; a
 * ping queued behind them is answered only once the reader caught up): the caller ends it.
 */

/** What the relay needs of a WebSocket (the `ws` socket has it). */
export interface ListenerSocket {
  readonly bufferedAmount: number;
  send(data: Buffer | string): void;
  close(code: number, reason: string): void;
  /** Drops the connection without the closing handshake (a stalled reader would never answer it). */
  terminate(): void;
  ping(): void;
  on(event: 'pong', listener: () => void): unknown;
}

/** About four seconds of a 64 kbit/s stream: past it, a listener's audio is late anyway. */
export const LISTENER_MAX_BUFFERED_BYTES = 32 * 1024;
export const STALL_MS = 5000;
/** A ping every PING_MS; one still unanswered at the next means the listener stalled. */
export const PING_MS = 5000;

export interface ListenerCounters {
  framesSent: number;
  framesDropped: number;
}

export class RelayedListener implements ListenerCounters {
  framesSent = 0;
  framesDropped = 0;
  /** Since when every frame was dropped (undefined: the last one went out). */
  private overSinceMs: number | undefined;
  private pingedAtMs: number;
  private awaitingPong = false;

  constructor(
    readonly sessionId: string,
    readonly socket: ListenerSocket,
    nowMs: number,
  ) {
    this.pingedAtMs = nowMs;
    socket.on('pong', () => {
      this.awaitingPong = false;
    });
  }

  /** Pings every PING_MS; true when the previous ping is still unanswered (stalled). */
  keepAlive(nowMs: number, pingMs = PING_MS): boolean {
    if (nowMs - this.pingedAtMs < pingMs) return false;
    if (this.awaitingPong) return true;
    this.awaitingPong = true;
    this.pingedAtMs = nowMs;
    this.socket.ping();
    return false;
  }

  /** Sends or drops `data`; true when the listener has been stalled for STALL_MS. */
  offer(data: Buffer, nowMs: number, stallMs = STALL_MS): boolean {
    if (this.socket.bufferedAmount > LISTENER_MAX_BUFFERED_BYTES) {
      this.framesDropped++;
      this.overSinceMs ??= nowMs;
      return nowMs - this.overSinceMs >= stallMs;
    }
    this.overSinceMs = undefined;
    this.socket.send(data);
    this.framesSent++;
    return false;
  }
}

/** Sequence bookkeeping of a stream: frames received, and the ones that never came. */
export class SequenceCounter {
  received = 0;
  lost = 0;
  private last: number | undefined;

  /** Counts `seq`; false for a duplicate or an old frame (not relayed). */
  accept(seq: number): boolean {
    if (this.last !== undefined) {
      const step = (seq - this.last) >>> 0;
      if (step === 0 || step > 0x7fffffff) return false;
      this.lost += step - 1;
    }
    this.last = seq;
    this.received++;
    return true;
  }

  /** The agent started the stream again (its sequence restarts at 0). */
  reset(): void {
    this.last = undefined;
  }
}
