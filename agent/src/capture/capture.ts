/**
 * One sox capture process (through node-record-lpcm16) whose raw PCM feeds every
 * listener: the meters and the recorder share a single device open.
 */
import { EventEmitter } from 'node:events';
import { endianness } from 'node:os';
import { fileURLToPath } from 'node:url';
import recorder, { type Recording } from 'node-record-lpcm16';
import { type BitDepth, DEFAULT_BIT_DEPTH } from './pcm-format.js';

export interface CaptureOptions {
  /** sox input device (AUDIODEV), e.g. `hw:1,0` or `cap.monitor`; unset = the driver's default. */
  device?: string;
  sampleRate: number;
  channels: number;
  /** Bits per sample (signed little-endian PCM, packed); default 16. */
  bitDepth?: BitDepth;
  /** How long stop() waits for sox to exit after SIGTERM before SIGKILL. */
  stopTimeoutMs?: number;
}

export type CaptureErrorCode = 'sox-missing' | 'spawn-failed' | 'device-failed' | 'ended';

export class CaptureError extends Error {
  constructor(
    readonly code: CaptureErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CaptureError';
  }
}

export interface CaptureEvents {
  /** Interleaved signed little-endian PCM at the capture's depth; chunks may split frames anywhere. */
  data: [chunk: Buffer];
  /** The capture failed or ended without stop(); the process is gone when this fires. */
  error: [error: CaptureError];
  /** sox has exited (after stop() or after an error). */
  close: [];
}

export const SOX_INSTALL_HINT = 'apt-get install sox libsox-fmt-all';
const STDERR_TAIL_CHARS = 2000;
/** Our sox recorder for node-record-lpcm16 (its own always captures 16 bits); see the file. */
const SOX_RECORDER = fileURLToPath(new URL('./sox-recorder.cjs', import.meta.url));

/**
 * Events: 'data', 'error', 'close'. Attach an 'error' listener: like any EventEmitter,
 * an 'error' without one throws.
 */
export class Capture extends EventEmitter<CaptureEvents> {
  private recording: Recording | undefined;
  private stopping = false;
  private stderrTail = '';
  private closed: Promise<void> = Promise.resolve();

  constructor(private readonly options: CaptureOptions) {
    super();
  }

  get running(): boolean {
    return this.recording !== undefined;
  }

  start(): void {
    if (this.recording) throw new Error('capture already started');
    if (endianness() !== 'LE') {
      // sox writes raw PCM in host byte order; everything downstream expects little-endian.
      throw new Error('capture needs a little-endian host');
    }
    this.stopping = false;
    this.stderrTail = '';
    // node-record-lpcm16 spawns synchronously inside record() and copies process.env
    // (so AUDIODRIVER passes through); `device` becomes AUDIODEV.
    const recording = recorder.record({
      recorder: SOX_RECORDER,
      audioType: 'raw',
      sampleRate: this.options.sampleRate,
      channels: this.options.channels,
      bitDepth: this.options.bitDepth ?? DEFAULT_BIT_DEPTH,
      device: this.options.device ?? null,
    });
    this.recording = recording;
    const child = recording.process;
    let spawnError: NodeJS.ErrnoException | undefined;

    // The package listens to none of these: a spawn failure would be an uncaught
    // 'error' on the child, and it emits a *string* 'error' on stdout for any non-zero
    // exit, including our own SIGTERM. We classify exits ourselves from 'close'.
    child.on('error', (error: NodeJS.ErrnoException) => {
      spawnError = error;
    });
    recording.stream().on('error', () => {});
    recording.stream().on('data', (chunk: Buffer) => this.emit('data', chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
    });

    this.closed = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.recording = undefined;
        const failure = this.stopping ? undefined : this.describeExit(spawnError, code, signal);
        if (failure) this.emit('error', failure);
        this.emit('close');
        resolve();
      });
    });
  }

  /** Stops sox and resolves once it has exited; chunks already read are still emitted. */
  async stop(): Promise<void> {
    const recording = this.recording;
    if (!recording) return this.closed;
    this.stopping = true;
    recording.process.kill('SIGTERM');
    const timer = setTimeout(() => recording.process.kill('SIGKILL'), this.options.stopTimeoutMs ?? 2000);
    try {
      await this.closed;
    } finally {
      clearTimeout(timer);
    }
  }

  private describeExit(
    spawnError: NodeJS.ErrnoException | undefined,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): CaptureError {
    if (spawnError?.code === 'ENOENT') {
      return new CaptureError('sox-missing', `sox is not installed or not on PATH (${SOX_INSTALL_HINT})`);
    }
    if (spawnError) return new CaptureError('spawn-failed', `cannot start sox: ${spawnError.message}`);
    const stderr = this.stderrTail.trim();
    const detail = stderr ? `: ${stderr}` : '';
    const device = this.options.device ?? 'default device';
    if (code === 0) return new CaptureError('ended', `capture from ${device} ended unexpectedly${detail}`);
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const hint = /no handler|no default audio device/i.test(stderr)
      ? ` (is the driver installed? ${SOX_INSTALL_HINT})`
      : '';
    return new CaptureError('device-failed', `sox ${how} capturing from ${device}${detail}${hint}`);
  }
}
