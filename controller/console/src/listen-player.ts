/**
 * Live listen in the browser: opens a session (`POST /nodes/:id/listen`, with the CSRF token
 * through api.ts), connects its WebSocket and sends the single-use ticket as the first message
 * (never in the URL), decodes the Opus frames with WebCodecs' AudioDecoder and plays them
 * through a short queue of AudioBufferSourceNodes (listen-model.ts's PlayoutQueue) and a gain
 * (the volume). It keeps the latest peak per channel and recent latencies for the page to show.
 */
import { api } from './api.js';
import {
  clockOffset,
  dateBounds,
  intersect,
  latencyMs,
  median,
  type OffsetBounds,
  PlayoutQueue,
  peakDb,
  readListenFrame,
} from './listen-model.js';

export type PlayerState = 'connecting' | 'playing' | 'ended' | 'failed';

interface Opened {
  session: { id: string };
  ticket: string;
  websocketPath: string;
}

interface Hello {
  type: 'hello';
  sessionId: string;
  channels: number[];
  sampleRate: number;
}

const SAMPLE_RATE = 48_000;
/** Packets waiting in the decoder past which new ones are skipped (200 ms). */
const MAX_DECODE_QUEUE = 10;
/** Latencies kept for the readout's median (about a second of frames). */
const RECENT = 50;

/** Why the server closed (listen.service.ts CLOSE), when no `end` message said so. */
const CLOSE_REASONS: Record<number, string> = {
  4000: 'the session ended',
  4001: 'the listen ticket was refused',
  4003: 'your access to this node was revoked',
  4008: 'this browser fell behind and was dropped',
  4009: 'the agent refused to stream',
  1001: 'the controller is stopping',
};

/** WebCodecs with Opus, or why not. */
export async function opusSupport(): Promise<string | undefined> {
  if (typeof AudioDecoder !== 'function')
    return window.isSecureContext
      ? 'This browser has no WebCodecs AudioDecoder: use a current Chromium, Edge or Chrome to listen.'
      : 'Listening needs WebCodecs, which browsers offer only over HTTPS (or on localhost).';
  const { supported } = await AudioDecoder.isConfigSupported({
    codec: 'opus',
    sampleRate: SAMPLE_RATE,
    numberOfChannels: 2,
  }).catch(() => ({ supported: false }));
  return supported ? undefined : 'This browser cannot decode Opus with WebCodecs.';
}

export class ListenPlayer {
  state: PlayerState = 'connecting';
  reason: string | undefined;
  /** Latest peak per channel, dBFS, and a count that moves when they change. */
  levelsDb: number[] = [];
  levelsSeq = 0;
  frames = 0;
  /** When the last frame arrived (performance.now()). */
  lastFrameAt = performance.now();
  lost = 0;
  readonly queue = new PlayoutQueue();
  /** The controller's clock minus this browser's, bounded by its `Date` headers. */
  bounds: OffsetBounds | undefined;
  private readonly recent: number[] = [];
  private readonly context: AudioContext;
  private readonly gain: GainNode;
  private socket: WebSocket | undefined;
  private decoder: AudioDecoder | undefined;
  private sessionId: string | undefined;
  private lastSeq: number | undefined;
  private endReason: string | undefined;

  /** Call from the click that starts listening (an AudioContext may start only on a gesture). */
  constructor(
    private readonly nodeId: string,
    private readonly channels: number[],
    private readonly nodeClockOffsetMs: number | null,
    private readonly changed: () => void,
    volume: number,
  ) {
    this.context = new AudioContext({ sampleRate: SAMPLE_RATE, latencyHint: 'interactive' });
    this.gain = this.context.createGain();
    this.gain.gain.value = volume;
    this.gain.connect(this.context.destination);
    void this.context.resume().catch(() => {});
  }

  setVolume(volume: number): void {
    this.gain.gain.value = volume;
  }

  /** Capture to ear, ms: the median of about the last second's frames. */
  latency(): number | undefined {
    return median(this.recent);
  }

  async start(): Promise<void> {
    try {
      await this.sampleClock();
      const path = `/nodes/${encodeURIComponent(this.nodeId)}/listen`;
      const { data } = await api<{ data: Opened }>('POST', path, { channels: this.channels });
      this.sessionId = data.session.id;
      if (this.state !== 'connecting') return void this.endSession();
      this.connect(data);
    } catch (error) {
      this.finish('failed', error instanceof Error ? error.message : String(error));
    }
  }

  /** Ends the session (audited as ended by its user) and the audio. */
  async stop(): Promise<void> {
    if (this.state === 'ended' || this.state === 'failed') return;
    this.finish('ended', 'stopped');
    await this.endSession();
  }

  private async endSession(): Promise<void> {
    const id = this.sessionId;
    this.sessionId = undefined;
    if (id)
      await api('DELETE', `/nodes/${encodeURIComponent(this.nodeId)}/listen/${encodeURIComponent(id)}`).catch(
        () => {},
      );
    this.socket?.close(1000, 'stopped');
  }

  /**
   * A few answers' `Date` headers bound this browser's clock against the controller's (an API
   * path: the dev server forwards it to the controller, and it reads nothing but the session).
   */
  private async sampleClock(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      const sentMs = Date.now();
      const response = await fetch('/api/v1/auth/me', {
        cache: 'no-store',
        credentials: 'same-origin',
      }).catch(() => undefined);
      const bounds = dateBounds(sentMs, Date.now(), response?.headers.get('date') ?? null);
      if (bounds) this.bounds = intersect(this.bounds, bounds);
    }
  }

  private connect(opened: Opened): void {
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${window.location.host}${opened.websocketPath}`);
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => socket.send(JSON.stringify({ ticket: opened.ticket }));
    socket.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
      if (typeof event.data === 'string') this.onText(event.data);
      else this.onFrame(event.data);
    };
    socket.onclose = (event) => {
      this.sessionId = undefined;
      // Once audio played, the server ending it (access revoked, the controller stopping) is an end, not a failure.
      this.finish(
        event.code === 4000 || event.code === 1000 || this.frames > 0 ? 'ended' : 'failed',
        this.endReason ?? CLOSE_REASONS[event.code] ?? `the connection closed (${event.code})`,
      );
    };
  }

  private onText(text: string): void {
    let message: Hello | { type: 'end'; reason: string } | undefined;
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (message?.type === 'end') this.endReason = message.reason;
    else if (message?.type === 'hello') this.configure(message.channels.length);
  }

  private configure(channels: number): void {
    this.decoder = new AudioDecoder({
      output: (audio) => this.play(audio),
      error: (error) => this.finish('failed', `the audio could not be decoded: ${error.message}`),
    });
    this.decoder.configure({ codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: channels });
    this.state = 'playing';
    this.changed();
  }

  private onFrame(data: ArrayBuffer): void {
    const frame = readListenFrame(data);
    if (!frame || this.decoder?.state !== 'configured') return;
    // A decoder that fell behind (a busy tab): skip rather than play ever later.
    if (this.decoder.decodeQueueSize > MAX_DECODE_QUEUE) {
      this.queue.dropped++;
      return;
    }
    if (this.lastSeq !== undefined && frame.seq > this.lastSeq) this.lost += frame.seq - this.lastSeq - 1;
    this.lastSeq = frame.seq;
    this.frames++;
    this.lastFrameAt = performance.now();
    this.decoder.decode(
      new EncodedAudioChunk({
        type: 'key',
        // The capture time rides through the decoder as the chunk's timestamp (µs).
        timestamp: Math.round(frame.capturedAtMs * 1000),
        duration: Math.round((frame.samples * 1e6) / SAMPLE_RATE),
        data: frame.packet,
      }),
    );
  }

  private play(audio: AudioData): void {
    try {
      if (this.state !== 'playing') return;
      const { numberOfChannels, numberOfFrames, sampleRate } = audio;
      const buffer = this.context.createBuffer(numberOfChannels, numberOfFrames, sampleRate);
      const plane = new Float32Array(numberOfFrames);
      const levels: number[] = [];
      for (let c = 0; c < numberOfChannels; c++) {
        audio.copyTo(plane, { planeIndex: c, format: 'f32-planar' });
        buffer.copyToChannel(plane, c);
        levels.push(peakDb(plane));
      }
      this.levelsDb = levels;
      this.levelsSeq++;
      const now = this.context.currentTime;
      const at = this.queue.schedule(now, numberOfFrames / sampleRate);
      if (at === undefined) return;
      const source = this.context.createBufferSource();
      source.buffer = buffer;
      source.connect(this.gain);
      source.start(at);
      this.recent.push(
        latencyMs({
          capturedAtMs: audio.timestamp / 1000,
          nodeClockOffsetMs: this.nodeClockOffsetMs,
          browserNowMs: Date.now(),
          browserOffsetMs: clockOffset(this.bounds),
          queuedMs: (at - now) * 1000,
          outputMs: (this.context.outputLatency || this.context.baseLatency || 0) * 1000,
        }),
      );
      if (this.recent.length > RECENT) this.recent.shift();
    } finally {
      audio.close();
    }
  }

  private finish(state: PlayerState, reason: string): void {
    if (this.state === 'ended' || this.state === 'failed') return;
    this.state = state;
    this.reason = reason;
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    void this.context.close().catch(() => {});
    this.changed();
  }
}
