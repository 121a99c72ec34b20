/**
 * Live listen's wire format (docs/mqtt.md, `listen`): the agent encodes its capture with Opus
 * (libopus through opusscript) and sends one binary frame per 20 ms packet on its own topic at
 * QoS 0; the controller relays each frame, as it came, to the stream's WebSocket listeners.
 * Binary, not JSON: a frame is 50 times a second per stream, and its audio is bytes.
 *
 * A frame, all integers little-endian:
 *
 * | offset | size | field                                                              |
 * | ------ | ---- | ------------------------------------------------------------------ |
 * | 0      | 1    | version (1)                                                        |
 * | 1      | 1    | channels in the packet (1 or 2)                                    |
 * | 2      | 2    | samples per channel in the packet (at 48 kHz: 960 = 20 ms)        |
 * | 4      | 4    | sequence number, counting from 0 for the stream (gaps = lost)      |
 * | 8      | 8    | capturedAtMs: wall-clock time of the packet's first sample (f64)  |
 * | 16     | 4    | sample rate of the packet (an Opus rate: 48,000)                   |
 * | 20     | 1    | stream id length n (1–32)                                          |
 * | 21     | n    | stream id (ASCII, `^[A-Za-z0-9_-]{1,32}$`)                         |
 * | 21 + n | …    | one Opus packet (1–1,275 bytes)                                    |
 */
import Type, { type Static } from 'typebox';

export const LISTEN_FRAME_VERSION = 1;
/** Opus's own rate: the agent resamples a capture at another rate to it. */
export const LISTEN_SAMPLE_RATE = 48_000;
/** One Opus packet per 20 ms: the codec's default frame, a fair trade of latency for overhead. */
export const LISTEN_FRAME_MS = 20;
/** The most a single Opus packet can be (RFC 6716 §3.4). */
export const MAX_OPUS_PACKET_BYTES = 1275;
/** Opus codes one or two channels per stream: a listen session selects at most two. */
export const MAX_LISTEN_CHANNELS = 2;
export const LISTEN_STREAM_ID_PATTERN = '^[A-Za-z0-9_-]{1,32}$';
const STREAM_ID = /^[A-Za-z0-9_-]{1,32}$/;
const HEADER_BYTES = 21;

/**
 * How long an agent keeps a stream without hearing `listen-start` for it again: the
 * controller renews every LISTEN_RENEW_MS while the stream has listeners, so a stream whose
 * controller vanished stops on its own.
 */
export const LISTEN_LEASE_MS = 30_000;
export const LISTEN_RENEW_MS = 10_000;

export interface ListenFrame {
  streamId: string;
  seq: number;
  capturedAtMs: number;
  sampleRate: number;
  channels: number;
  samples: number;
  packet: Uint8Array;
}

export function encodeListenFrame(frame: ListenFrame): Buffer {
  const id = Buffer.from(frame.streamId, 'ascii');
  const out = Buffer.allocUnsafe(HEADER_BYTES + id.length + frame.packet.length);
  out.writeUInt8(LISTEN_FRAME_VERSION, 0);
  out.writeUInt8(frame.channels, 1);
  out.writeUInt16LE(frame.samples, 2);
  out.writeUInt32LE(frame.seq >>> 0, 4);
  out.writeDoubleLE(frame.capturedAtMs, 8);
  out.writeUInt32LE(frame.sampleRate, 16);
  out.writeUInt8(id.length, 20);
  id.copy(out, HEADER_BYTES);
  out.set(frame.packet, HEADER_BYTES + id.length);
  return out;
}

export type ListenFrameResult = { ok: true; payload: ListenFrame } | { ok: false; error: string };

/** Reads and checks a frame; never throws. The packet is a view of `data`, not a copy. */
export function decodeListenFrame(data: Uint8Array): ListenFrameResult {
  const bad = (error: string): ListenFrameResult => ({ ok: false, error });
  if (data.length < HEADER_BYTES + 2) return bad('listen frame too short');
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  if (buf.readUInt8(0) !== LISTEN_FRAME_VERSION)
    return bad(`unknown listen frame version ${buf.readUInt8(0)}`);
  const channels = buf.readUInt8(1);
  if (channels < 1 || channels > MAX_LISTEN_CHANNELS) return bad('listen frame channels must be 1 or 2');
  const samples = buf.readUInt16LE(2);
  const sampleRate = buf.readUInt32LE(16);
  if (sampleRate !== LISTEN_SAMPLE_RATE) return bad(`listen frame sample rate must be ${LISTEN_SAMPLE_RATE}`);
  // Opus packets last 2.5 to 120 ms.
  if (samples < 120 || samples > 5760) return bad('listen frame duration out of range');
  const capturedAtMs = buf.readDoubleLE(8);
  if (!Number.isFinite(capturedAtMs) || capturedAtMs < 0) return bad('listen frame time invalid');
  const idLength = buf.readUInt8(20);
  const packetStart = HEADER_BYTES + idLength;
  const streamId = buf.toString('ascii', HEADER_BYTES, packetStart);
  if (!STREAM_ID.test(streamId) || streamId.length !== idLength) return bad('listen frame stream id invalid');
  const packetBytes = buf.length - packetStart;
  if (packetBytes < 1 || packetBytes > MAX_OPUS_PACKET_BYTES) return bad('listen frame packet size invalid');
  return {
    ok: true,
    payload: {
      streamId,
      seq: buf.readUInt32LE(4),
      capturedAtMs,
      sampleRate,
      channels,
      samples,
      packet: buf.subarray(packetStart),
    },
  };
}

/** `listen-start`'s arguments (a renewal is the same command again). */
export const ListenStartArgs = Type.Object(
  {
    streamId: Type.String({ pattern: LISTEN_STREAM_ID_PATTERN }),
    /** 1-based capture channels, one or two; two make a stereo stream. */
    channels: Type.Array(Type.Integer({ minimum: 1, maximum: 64 }), {
      minItems: 1,
      maxItems: MAX_LISTEN_CHANNELS,
    }),
    /** Opus bitrate, bits per second. */
    bitrate: Type.Integer({ minimum: 6000, maximum: 510_000 }),
  },
  { additionalProperties: false },
);
export type ListenStartArgs = Static<typeof ListenStartArgs>;

export const ListenStopArgs = Type.Object(
  { streamId: Type.String({ pattern: LISTEN_STREAM_ID_PATTERN }) },
  { additionalProperties: false },
);
export type ListenStopArgs = Static<typeof ListenStopArgs>;

/** The first (text) message a listener's WebSocket receives: how to decode what follows. */
export interface ListenHello {
  type: 'hello';
  sessionId: string;
  nodeId: string;
  codec: 'opus';
  sampleRate: number;
  /** Selected capture channels (1-based), in the stream's channel order. */
  channels: number[];
  frameMs: number;
}

/** The last text message before the server closes a listener's socket. */
export interface ListenEnd {
  type: 'end';
  reason: string;
}
