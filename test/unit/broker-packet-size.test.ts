import { describe, expect, it } from 'vitest';
import { MqttFrameScanner, PacketTooLargeError } from '../../controller/src/broker/packet-size-guard.js';

/** An MQTT packet: header byte, remaining-length varint, body. */
function packet(bodyBytes: number): Buffer {
  const length: number[] = [];
  let value = bodyBytes;
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    length.push(byte);
  } while (value > 0);
  return Buffer.concat([Buffer.from([0x30, ...length]), Buffer.alloc(bodyBytes, 7)]);
}

describe('MQTT frame scanner', () => {
  it('passes packets up to the limit, however the stream is chunked', () => {
    const stream = Buffer.concat([packet(0), packet(10), packet(200), packet(127), packet(128), packet(300)]);
    for (const chunkSize of [1, 2, 3, 7, 64, stream.length]) {
      const scanner = new MqttFrameScanner(300);
      for (let i = 0; i < stream.length; i += chunkSize)
        expect(scanner.scan(stream.subarray(i, i + chunkSize))).toBeUndefined();
    }
  });

  it('refuses a packet as soon as its header announces more than the limit', () => {
    const scanner = new MqttFrameScanner(300);
    expect(scanner.scan(packet(300))).toBeUndefined();
    // Only the header of the big packet: refused before any of its body arrives.
    const error = scanner.scan(packet(301).subarray(0, 3));
    expect(error).toBeInstanceOf(PacketTooLargeError);
    expect((error as PacketTooLargeError).announcedBytes).toBe(301);
  });

  it('refuses a remaining length longer than four bytes', () => {
    const scanner = new MqttFrameScanner(Number.MAX_SAFE_INTEGER);
    expect(scanner.scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))?.message).toMatch(/malformed/);
  });
});
