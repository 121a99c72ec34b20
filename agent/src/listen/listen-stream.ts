/**
 * One live listen stream: the selected channels of the shared capture (the PCM tap: no second
 * capture), at 48 kHz (a capture at another rate is resampled, linearly: this is monitoring,
 * not the recording), 16 bits, cut into 20 ms frames and encoded with Opus (libopus, through
 * opusscript: WebAssembly, no native build on the device). Each packet goes out as a sequenced
 * frame stamped with the wall-clock time of its first sample (shared/src/listen.ts).
 */
import OpusScript from 'opusscript';
import {
  LISTEN_FRAME_MS,
  LISTEN_SAMPLE_RATE,
  type ListenFrame,
  type ListenStartArgs,
} from '../../../shared/src/listen.js';
import { fullScale, sampleReader } from '../capture/pcm-format.js';
import { frameTimeMs, type PcmBlock } from '../capture/pcm-tap.js';

const FRAME_SAMPLES = (LISTEN_SAMPLE_RATE * LISTEN_FRAME_MS) / 1000;

export class ListenStream {
  readonly channels: number[];
  private readonly encoder: OpusScript;
  /** Interleaved 16-bit samples of the frame being filled. */
  private readonly frame: Int16Array;
  private filled = 0;
  private frameStartMs = 0;
  private seq = 0;
  /** Resampler state: the input position (in input frames) of the next output sample. */
  private position = 0;
  /** The last input frame of the previous block (interpolation across blocks). */
  private previous: Float64Array;
  private inputRate = 0;
  private closed = false;

  constructor(
    readonly id: string,
    args: ListenStartArgs,
    private readonly publish: (frame: ListenFrame) => void,
  ) {
    this.channels = args.channels;
    this.encoder = new OpusScript(LISTEN_SAMPLE_RATE, this.channels.length, OpusScript.Application.AUDIO);
    this.encoder.setBitrate(args.bitrate);
    this.frame = new Int16Array(FRAME_SAMPLES * this.channels.length);
    this.previous = new Float64Array(this.channels.length);
  }

  set bitrate(bitrate: number) {
    this.encoder.setBitrate(bitrate);
  }

  /** Why this capture cannot feed the stream, or undefined. */
  static refusal(channels: readonly number[], captureChannels: number): string | undefined {
    const missing = channels.find((c) => c > captureChannels);
    return missing === undefined
      ? undefined
      : `channel ${missing} is not captured (the capture has ${captureChannels} channel${captureChannels === 1 ? '' : 's'})`;
  }

  block(block: PcmBlock): void {
    if (this.closed) return;
    if (block.sampleRate !== this.inputRate) {
      // First block, or the capture restarted at another rate: the resampler starts over.
      this.inputRate = block.sampleRate;
      this.position = 0;
      this.previous.fill(0);
    }
    const read = sampleReader(block.bitDepth);
    const scale = 32768 / fullScale(block.bitDepth);
    const bytes = block.bitDepth / 8;
    const width = this.channels.length;
    const step = block.sampleRate / LISTEN_SAMPLE_RATE;
    const sampleAt = (frame: number, c: number): number =>
      frame < 0
        ? this.previous[c]!
        : read(block.data, (frame * block.channels + this.channels[c]! - 1) * bytes) * scale;
    // Output samples whose position falls inside this block (position −1 is the previous block's last).
    while (this.position <= block.frames - 1) {
      const at = Math.floor(this.position);
      const frac = this.position - at;
      if (this.filled === 0) this.frameStartMs = frameTimeMs(block, Math.max(0, at));
      for (let c = 0; c < width; c++) {
        const a = sampleAt(at, c);
        const value = frac === 0 ? a : a + (sampleAt(at + 1, c) - a) * frac;
        this.frame[this.filled * width + c] = Math.max(-32768, Math.min(32767, Math.round(value)));
      }
      this.filled++;
      if (this.filled === FRAME_SAMPLES) this.flush();
      this.position += step;
    }
    for (let c = 0; c < width; c++) this.previous[c] = sampleAt(block.frames - 1, c);
    this.position -= block.frames;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.encoder.delete();
  }

  private flush(): void {
    const pcm = Buffer.from(this.frame.buffer, this.frame.byteOffset, this.frame.byteLength);
    const packet = this.encoder.encode(pcm, FRAME_SAMPLES);
    this.filled = 0;
    this.publish({
      streamId: this.id,
      seq: this.seq,
      capturedAtMs: this.frameStartMs,
      sampleRate: LISTEN_SAMPLE_RATE,
      channels: this.channels.length,
      samples: FRAME_SAMPLES,
      packet,
    });
    this.seq = (this.seq + 1) >>> 0;
  }
}
