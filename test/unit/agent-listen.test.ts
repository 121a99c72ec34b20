/**
 * The agent's live listen streams: the selected channels of the capture, at 48 kHz (resampled
 * when the capture runs at another rate), Opus-encoded in 20 ms frames stamped with their first
 * sample's time; started, renewed, stopped and expired as the controller's commands say.
 */
import OpusScript from 'opusscript';
import { describe, expect, it } from 'vitest';
import { fullScale } from '../../agent/src/capture/pcm-format.js';
import { frameTimeMs, type PcmBlock, type PcmListener } from '../../agent/src/capture/pcm-tap.js';
import { ListenStream } from '../../agent/src/listen/listen-stream.js';
import { ListenStreams, MAX_LISTEN_STREAMS } from '../../agent/src/listen/listen-streams.js';
import type { ListenFrame } from '../../shared/src/listen.js';
import { joined, rmsDbfs, toneFrequency } from '../support/listen.js';

const silentLog = { info() {}, warn() {}, error() {}, debug() {} } as never;

/** Blocks of `seconds` of interleaved PCM: channel c (0-based) is a sine of hz[c] at amplitude amp[c]. */
function toneBlocks(opts: {
  rate: number;
  bits: 16 | 24;
  hz: number[];
  amp: number[];
  seconds: number;
}): PcmBlock[] {
  const { rate, bits, hz, amp } = opts;
  const channels = hz.length;
  const bytes = bits / 8;
  const framesPerBlock = Math.round(rate / 25); // 40 ms blocks
  const blocks: PcmBlock[] = [];
  const total = Math.round(opts.seconds * rate);
  for (let start = 0; start < total; start += framesPerBlock) {
    const frames = Math.min(framesPerBlock, total - start);
    const data = Buffer.alloc(frames * channels * bytes);
    for (let i = 0; i < frames; i++)
      for (let c = 0; c < channels; c++) {
        const v = Math.round(
          amp[c]! * (fullScale(bits) - 1) * Math.sin((2 * Math.PI * hz[c]! * (start + i)) / rate),
        );
        data.writeIntLE(v, (i * channels + c) * bytes, bytes);
      }
    blocks.push({
      data,
      frames,
      sampleRate: rate,
      channels,
      bitDepth: bits,
      endMs: 1_000_000 + ((start + frames) * 1000) / rate,
      index: start,
    });
  }
  return blocks;
}

function decodeAll(frames: ListenFrame[], channels: number): Int16Array {
  const decoder = new OpusScript(48_000, channels, OpusScript.Application.AUDIO);
  const parts = frames.map((f) => {
    const bytes = decoder.decode(Buffer.from(f.packet));
    return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  });
  decoder.delete();
  return joined(parts);
}

describe('a listen stream', () => {
  it('encodes the selected channel of a 48 kHz capture: its tone, its level, in order', () => {
    const frames: ListenFrame[] = [];
    const stream = new ListenStream('s1', { streamId: 's1', channels: [2], bitrate: 64_000 }, (f) =>
      frames.push(f),
    );
    const blocks = toneBlocks({ rate: 48_000, bits: 16, hz: [440, 997], amp: [0.9, 0.25], seconds: 1 });
    for (const block of blocks) stream.block(block);
    stream.close();
    expect(frames).toHaveLength(50);
    expect(frames.map((f) => f.seq)).toEqual([...Array(50).keys()]);
    expect(frames[0]).toMatchObject({ streamId: 's1', channels: 1, samples: 960, sampleRate: 48_000 });
    // Each frame carries its first sample's capture time.
    expect(frames[1]!.capturedAtMs).toBeCloseTo(frameTimeMs(blocks[0]!, 960), 6);
    expect(frames[1]!.capturedAtMs - frames[0]!.capturedAtMs).toBeCloseTo(20, 6);
    const pcm = decodeAll(frames, 1).subarray(4800);
    expect(toneFrequency(pcm)).toBeCloseTo(997, 0);
    expect(rmsDbfs(pcm)).toBeCloseTo(20 * Math.log10(0.25) - 3.01, 0);
  });

  it('resamples a 44.1 kHz, 24-bit capture to 48 kHz without moving the tone, and keeps stereo apart', () => {
    const frames: ListenFrame[] = [];
    const stream = new ListenStream('s2', { streamId: 's2', channels: [1, 2], bitrate: 128_000 }, (f) =>
      frames.push(f),
    );
    for (const block of toneBlocks({ rate: 44_100, bits: 24, hz: [997, 500], amp: [0.5, 0.5], seconds: 1 }))
      stream.block(block);
    stream.close();
    expect(frames.length).toBeGreaterThanOrEqual(49);
    const stereo = decodeAll(frames, 2);
    const left = stereo.filter((_, i) => i % 2 === 0).subarray(4800);
    const right = stereo.filter((_, i) => i % 2 === 1).subarray(4800);
    expect(toneFrequency(left)).toBeCloseTo(997, 0);
    expect(toneFrequency(right)).toBeCloseTo(500, 0);
    expect(rmsDbfs(left)).toBeCloseTo(-9.03, 0);
  });
});

describe('the listen streams of an agent', () => {
  function setup(captureChannels = 2) {
    const listeners = new Set<PcmListener>();
    let now = 0;
    const published: ListenFrame[] = [];
    const streams = new ListenStreams({
      tap: {
        subscribe: (l) => {
          listeners.add(l);
          return () => listeners.delete(l);
        },
        captureFormat: { channels: captureChannels },
      },
      publish: (f) => published.push(f),
      log: silentLog,
      now: () => now,
      leaseMs: 30_000,
    });
    return { streams, listeners, published, advance: (ms: number) => (now += ms) };
  }
  const start = { streamId: 'sA', channels: [1], bitrate: 64_000 };

  it('starts once, renews, stops, and ends a stream nobody renews', () => {
    const { streams, listeners, advance } = setup();
    expect(streams.listenStart(start)).toMatch(/started/);
    expect(streams.listenStart(start)).toMatch(/renewed/);
    expect(listeners.size).toBe(1);
    advance(29_000);
    streams.expire();
    expect(streams.streamIds).toEqual(['sA']);
    expect(streams.listenStart(start)).toMatch(/renewed/);
    advance(30_000);
    streams.expire();
    expect(streams.streamIds).toEqual([]);
    expect(listeners.size).toBe(0);
    streams.listenStart(start);
    expect(streams.listenStop({ streamId: 'sA' })).toMatch(/stopped/);
    expect(streams.listenStop({ streamId: 'sA' })).toMatch(/not running/);
  });

  it('refuses channels the capture does not have, bad arguments, and too many streams', () => {
    const { streams } = setup(2);
    expect(() => streams.listenStart({ ...start, channels: [3] })).toThrow(
      'channel 3 is not captured (the capture has 2 channels)',
    );
    expect(() => streams.listenStart({ ...start, channels: [1, 2, 1] })).toThrow(/listen-start/);
    expect(() => streams.listenStart({ streamId: 'has/slash', channels: [1], bitrate: 64_000 })).toThrow();
    for (let i = 0; i < MAX_LISTEN_STREAMS; i++) streams.listenStart({ ...start, streamId: `s${i}` });
    expect(() => streams.listenStart({ ...start, streamId: 'one-more' })).toThrow(/already runs/);
    streams.stop();
    expect(streams.streamIds).toEqual([]);
  });
});
