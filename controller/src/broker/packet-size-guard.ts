/**
 * Refuses MQTT packets larger than a limit before they are buffered. aedes' parser
 * (mqtt-packet) accepts packets up to 256 MiB and holds each one whole in memory;
 * this guard reads only the fixed header of each packet as the bytes stream past
 * and destroys the connection as soon as a header announces too large a body.
 */
import { Duplex } from 'node:stream';

/** Room for the topic, packet id and CONNECT fields around the largest payload. */
export const PACKET_OVERHEAD_BYTES = 1024;

export class PacketTooLargeError extends Error {
  constructor(readonly announcedBytes: number) {
    super(`MQTT packet of ${announcedBytes} bytes refused`);
    this.name = 'PacketTooLargeError';
  }
}

/**
 * Follows MQTT framing across chunks: one header byte, a 1–4 byte "remaining length"
 * varint, then that many body bytes.
 */
export class MqttFrameScanner {
  private state: 'header' | 'length' | 'body' = 'header';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private bodyLeft = 0;

  constructor(private readonly maxRemainingBytes: number) {}

  /** Returns an error when the stream is malformed or announces too large a packet. */
  scan(chunk: Uint8Array): Error | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'header') {
        i++;
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else if (this.state === 'length') {
        const byte = chunk[i++]!;
        this.length += (byte & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        if (byte & 0x80) {
          if (this.lengthBytes === 4) return new Error('malformed MQTT remaining length');
        } else {
          if (this.length > this.maxRemainingBytes) return new PacketTooLargeError(this.length);
          this.bodyLeft = this.length;
          this.state = this.length === 0 ? 'header' : 'body';
        }
      } else {
        const take = Math.min(this.bodyLeft, chunk.length - i);
        i += take;
        this.bodyLeft -= take;
        if (this.bodyLeft === 0) this.state = 'header';
      }
    }
    return undefined;
  }
}

/**
 * A connection whose inbound bytes pass the scanner before aedes reads them; writes
 * go straight through (batched, so a corked MQTT packet leaves as one segment).
 * Destroying either side destroys the other.
 */
export class SizeLimitedConnection extends Duplex {
  private refused = false;

  constructor(
    private readonly conn: Duplex,
    scanner: MqttFrameScanner,
    onRefused: (error: Error) => void,
  ) {
    super({ allowHalfOpen: false });
    conn.on('data', (chunk: Buffer) => {
      if (this.refused) return;
      const error = scanner.scan(chunk);
      if (error) {
        this.refused = true;
        onRefused(error);
        this.destroy(error);
      } else if (!this.push(chunk)) conn.pause();
    });
    conn.on('end', () => this.push(null));
    conn.on('error', (error) => this.destroy(error));
    conn.on('close', () => this.destroy());
  }

  override _read(): void {
    this.conn.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.forward(chunk, callback);
  }

  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    this.forward(Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  private forward(chunk: Buffer, callback: () => void): void {
    if (this.conn.write(chunk)) callback();
    else this.conn.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.conn.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.conn.destroy(error ?? undefined);
    callback(error);
  }
}

export function limitPacketSize(
  conn: Duplex,
  maxRemainingBytes: number,
  onRefused: (error: Error) => void,
): Duplex {
  return new SizeLimitedConnection(conn, new MqttFrameScanner(maxRemainingBytes), onRefused);
}
