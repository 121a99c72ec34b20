// Minimal types for node-record-lpcm16 1.0.x (CommonJS, no published types): only what
// capture.ts uses. Read from node_modules/node-record-lpcm16/index.js and recorders/sox.js.
declare module 'node-record-lpcm16' {
  import type { ChildProcessWithoutNullStreams } from 'node:child_process';
  import type { Readable } from 'node:stream';

  export interface RecordOptions {
    sampleRate?: number;
    channels?: number;
    /**
     * 'sox' | 'rec' | 'arecord', resolved to a file in the package's recorders/ folder, or the
     * absolute path of a recorder module of our own (it is resolved against that folder).
     */
    recorder?: string;
    /** Read by our sox recorder (sox-recorder.cjs) only. */
    bitDepth?: number;
    /** Passed to `sox --type`; 'raw' gives headerless PCM. */
    audioType?: string;
    /** For sox: sets AUDIODEV in the child's environment (a copy of process.env). */
    device?: string | null;
    endOnSilence?: boolean;
  }

  export interface Recording {
    /** The spawned recorder; set synchronously by record(). */
    process: ChildProcessWithoutNullStreams;
    stream(): Readable;
    stop(): void;
    pause(): void;
    resume(): void;
    isPaused(): boolean;
  }

  /** Spawns the recorder immediately. */
  export function record(options?: RecordOptions): Recording;

  const recorder: { record: typeof record };
  export default recorder;
}
