/** Live listen's frame format and the controller's relay rules, without sockets or a broker. */
import { describe, expect, it } from 'vitest';
import {
  LISTENER_MAX_BUFFERED_BYTES,
  type ListenerSocket,
  PING_MS,
  RelayedListener,
  SequenceCounter,
  STALL_MS,
} from '../../controller/src/modules/listen/listen.relay.js';
import { decodeListenFrame, encodeListenFrame, type ListenFrame } from '../../shared/src/listen.js';
import { decodePayload, encodePayload } from '../../shared/src/mqtt.js';

const frame: ListenFrame = {
  streamId: 'sAbc_12-x',
  seq: 4_000_000_000,
  capturedAtMs: 1_733_390_000_123.5,
  sampleRate: 48_000,
  channels: 2,
  samples: 960,
  packet: Uint8Array.from([0xfc, 1, 2, 3]),
};

describe('listen frames', () => {
  it('round-trip through the binary format and the MQTT topic table', () => {
    const bytes = encodeListenFrame(frame);
    const decoded = decodeListenFrame(bytes);
    expect(decoded.ok && { ...decoded.payload, packet: [...decoded.payload.packet] }).toEqual({
      ...frame,
      packet: [0xfc, 1, 2, 3],
    });
    const viaTopic = decodePayload('listen', encodePayload('listen', frame));
    expect(viaTopic.ok).toBe(true);
  });

  it('refuses what is not a frame, with a reason', () => {
    const good = encodeListenFrame(frame);
    const broken = (mutate: (b: Buffer) => void) => {
      const copy = Buffer.from(good);
      mutate(copy);
      return decodeListenFrame(copy);
    };
    expect(decodeListenFrame(Buffer.alloc(5))).toMatchObject({ ok: false, error: 'listen frame too short' });
    expect(broken((b) => b.writeUInt8(9, 0))).toMatchObject({ ok: false });
    expect(broken((b) => b.writeUInt8(3, 1))).toMatchObject({ ok: false, error: /channels/ });
    expect(broken((b) => b.writeUInt32LE(44_100, 16))).toMatchObject({ ok: false, error: /sample rate/ });
    expect(broken((b) => b.writeUInt16LE(7, 2))).toMatchObject({ ok: false, error: /duration/ });
    expect(broken((b) => b.writeDoubleLE(Number.NaN, 8))).toMatchObject({ ok: false, error: /time/ });
    expect(broken((b) => b.writeUInt8(40, 20))).toMatchObject({ ok: false });
    expect(broken((b) => b.write('/', 21, 'ascii'))).toMatchObject({ ok: false, error: /stream id/ });
    expect(decodeListenFrame(good.subarray(0, 21 + frame.streamId.length))).toMatchObject({ ok: false });
    expect(decodePayload('listen', 'a text payload')).toMatchObject({ ok: false });
    expect(decodePayload('listen', Buffer.concat([good, Buffer.alloc(2000)]))).toMatchObject({
      ok: false,
      error: /packet size/,
    });
  });
});

describe('sequence counting', () => {
  it('counts gaps, refuses duplicates and old frames, and starts over on reset', () => {
    const counter = new SequenceCounter();
    expect([0, 1, 2, 5, 5, 3, 6].map((s) => counter.accept(s))).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
      true,
    ]);
    expect(counter).toMatchObject({ received: 5, lost: 2 });
    counter.reset();
    expect(counter.accept(0)).toBe(true);
    expect(counter.lost).toBe(2);
    const wrapping = new SequenceCounter();
    wrapping.accept(0xffffffff);
    expect(wrapping.accept(0)).toBe(true);
    expect(wrapping.lost).toBe(0);
  });
});

class FakeSocket implements ListenerSocket {
  bufferedAmount = 0;
  sent: (Buffer | string)[] = [];
  pings = 0;
  private pong: (() => void) | undefined;
  send(data: Buffer | string) {
    this.sent.push(data);
  }
  close() {}
  terminate() {}
  ping() {
    this.pings++;
  }
  on(_event: 'pong', listener: () => void) {
    this.pong = listener;
  }
  answer() {
    this.pong?.();
  }
}

describe('a relayed listener', () => {
  it('drops (and counts) frames while its socket holds too much, and is stalled after STALL_MS of that', () => {
    const socket = new FakeSocket();
    const listener = new RelayedListener('ls_1', socket, 0);
    const data = Buffer.alloc(100);
    expect(listener.offer(data, 0)).toBe(false);
    socket.bufferedAmount = LISTENER_MAX_BUFFERED_BYTES + 1;
    expect(listener.offer(data, 1000)).toBe(false);
    expect(listener.offer(data, 1000 + STALL_MS - 1)).toBe(false);
    socket.bufferedAmount = 0; // it caught up: the stall clock starts over
    expect(listener.offer(data, 1000 + STALL_MS)).toBe(false);
    socket.bufferedAmount = LISTENER_MAX_BUFFERED_BYTES + 1;
    expect(listener.offer(data, 10_000)).toBe(false);
    expect(listener.offer(data, 10_000 + STALL_MS)).toBe(true);
    expect(listener).toMatchObject({ framesSent: 2, framesDropped: 4 });
    expect(socket.sent).toHaveLength(2);
  });

  it('is stalled when it leaves a ping unanswered until the next one', () => {
    const socket = new FakeSocket();
    const listener = new RelayedListener('ls_2', socket, 0);
    expect(listener.keepAlive(PING_MS - 1)).toBe(false);
    expect(listener.keepAlive(PING_MS)).toBe(false);
    expect(socket.pings).toBe(1);
    socket.answer();
    expect(listener.keepAlive(2 * PING_MS)).toBe(false);
    expect(socket.pings).toBe(2);
    expect(listener.keepAlive(3 * PING_MS - 1)).toBe(false);
    expect(listener.keepAlive(3 * PING_MS)).toBe(true);
  });
});
