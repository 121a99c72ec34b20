/**
 * Keeps the one Capture running: restarts it with backoff when sox dies (device
 * unplugged, driver hiccup) and re-emits its PCM so listeners survive a restart.
 */
import { EventEmitter } from 'node:events';
import type { CaptureStates } from '../../../shared/src/agent-api.js';
import { Backoff, type BackoffOptions } from '../support/backoff.js';
import type { Logger } from '../support/log.js';
import { Capture, type CaptureError, type CaptureEvents, type CaptureOptions } from './capture.js';

export type CaptureState = (typeof CaptureStates)[number];

/** What the supervisor needs of a capture; the sound card is the one thing tests fake. */
export interface CaptureSource extends EventEmitter<CaptureEvents> {
  start(): void;
  stop(): Promise<void>;
}

export type CaptureFactory = (options: CaptureOptions) => CaptureSource;

export interface SupervisorEvents {
  data: [chunk: Buffer];
  /** The capture failed; audio stops until the restart. */
  fault: [error: CaptureError];
  /** A (re)started capture with possibly new format: meters should reset. */
  restarted: [options: CaptureOptions];
}

export interface CaptureSupervisorOptions {
  capture: CaptureOptions;
  log: Logger;
  createCapture?: CaptureFactory;
  backoff?: BackoffOptions;
}

export class CaptureSupervisor extends EventEmitter<SupervisorEvents> {
  private current: CaptureSource | undefined;
  private options: CaptureOptions;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private stopped = true;
  private receiving = false;
  lastError: string | undefined;

  constructor(private readonly settings: CaptureSupervisorOptions) {
    super();
    this.options = settings.capture;
    this.backoff = new Backoff({ baseMs: 1000, capMs: 30_000, ...settings.backoff });
  }

  get format(): CaptureOptions {
    return { ...this.options };
  }

  get state(): CaptureState {
    if (this.lastError !== undefined && !this.receiving) return 'error';
    return this.receiving ? 'capturing' : 'idle';
  }

  start(): void {
    this.stopped = false;
    this.launch();
  }

  /** Restarts the capture with a new device or format. */
  async reconfigure(capture: CaptureOptions): Promise<void> {
    await this.halt();
    this.options = capture;
    this.stopped = false;
    this.launch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.halt();
  }

  private async halt(): Promise<void> {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const capture = this.current;
    this.current = undefined;
    this.receiving = false;
    if (capture) {
      await capture.stop();
      capture.removeAllListeners();
    }
  }

  private launch(): void {
    if (this.stopped) return;
    const capture = (this.settings.createCapture ?? ((options) => new Capture(options)))(this.options);
    this.current = capture;
    capture.on('data', (chunk) => {
      if (!this.receiving) {
        this.receiving = true;
        this.lastError = undefined;
        this.backoff.reset();
        this.settings.log.info({ device: this.options.device ?? 'default' }, 'capture running');
      }
      this.emit('data', chunk);
    });
    capture.on('error', (error) => {
      if (this.current !== capture) return;
      this.current = undefined;
      this.receiving = false;
      this.lastError = error.message;
      const delayMs = this.backoff.next();
      this.settings.log.error({ code: error.code, retryInMs: delayMs }, `capture failed: ${error.message}`);
      this.emit('fault', error);
      this.restartTimer = setTimeout(() => this.launch(), delayMs);
    });
    this.emit('restarted', { ...this.options });
    try {
      capture.start();
    } catch (error) {
      // start() throws only for programming or platform errors (already started, big-endian host).
      this.lastError = (error as Error).message;
      this.settings.log.error(`capture cannot start: ${this.lastError}`);
    }
  }
}
