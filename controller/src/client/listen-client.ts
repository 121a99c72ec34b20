/**
 * A live listen client: opens a session with a user's token (POST /api/v1/nodes/:id/listen),
 * presents the single-use ticket on the WebSocket as its first message (never in the URL),
 * decodes the Opus frames to 16-bit PCM, counts sequence gaps, and ends the session (DELETE)
 * when closed. `earshot-controller listen` writes what it hears to a WAV file; tests and the
 * benchmark use it as it is.
 */
import OpusScript from 'opusscript';
import WebSocket from 'ws';
import {
  decodeListenFrame,
  type ListenEnd,
  type ListenFrame,
  type ListenHello,
} from '../../../shared/src/listen.js';

export interface ListenClientOptions {
  /** The controller, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  /** A session token or API token of a user with listen:monitor on the node. */
  token: string;
  nodeId: string;
  channels?: number[];
  bitrate?: number;
  /** false: count frames without decoding them (load tests); default true. */
  decode?: boolean;
}

export interface HeardFrame {
  frame: ListenFrame;
  /** Decoded, interleaved 16-bit samples (empty when not decoding). */
  pcm: Int16Array;
  receivedAtMs: number;
}

export interface ListenStats {
  frames: number;
  /** Frames that never came (sequence gaps). */
  lost: number;
}

export class ListenConnection {
  readonly stats: ListenStats = { frames: 0, lost: 0 };
  /** Why the server ended the session (its `end` message), once it has. */
  endReason: string | undefined;
  private lastSeq: number | undefined;
  private readonly decoder: OpusScript;
  private readonly closed: Promise<number>;

  constructor(
    private readonly options: ListenClientOptions,
    readonly sessionId: string,
    readonly hello: ListenHello,
    private readonly socket: WebSocket,
    onFrame: (heard: HeardFrame) => void,
  ) {
    this.decoder = new OpusScript(48_000, hello.channels.length, OpusScript.Application.AUDIO);
    this.closed = new Promise((resolve) => socket.once('close', (code) => resolve(code)));
    socket.on('message', (data, isBinary) => {
      const receivedAtMs = Date.now();
      if (!isBinary) {
        const message = JSON.parse(data.toString()) as ListenEnd | { type: string };
        if (message.type === 'end') this.endReason = (message as ListenEnd).reason;
        return;
      }
      const decoded = decodeListenFrame(data as Buffer);
      if (!decoded.ok) return;
      const frame = decoded.payload;
      if (this.lastSeq !== undefined && frame.seq > this.lastSeq)
        this.stats.lost += frame.seq - this.lastSeq - 1;
      this.lastSeq = frame.seq;
      this.stats.frames++;
      const bytes =
        options.decode === false ? Buffer.alloc(0) : this.decoder.decode(Buffer.from(frame.packet));
      const pcm = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
      onFrame({ frame, pcm, receivedAtMs });
    });
  }

  /** Resolves with the WebSocket's close code once the server or `close` ended it. */
  get done(): Promise<number> {
    return this.closed;
  }

  /** Ends the session (DELETE) and waits for the socket to close. */
  async close(): Promise<number> {
    const { baseUrl, nodeId, token } = this.options;
    if (this.socket.readyState === WebSocket.OPEN) {
      await fetch(`${baseUrl}/api/v1/nodes/${encodeURIComponent(nodeId)}/listen/${this.sessionId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      }).catch(() => undefined);
      this.socket.close(1000);
    }
    const code = await this.closed;
    this.decoder.delete();
    return code;
  }
}

export class ListenRefused extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ListenRefused';
  }
}

/** Opens a session and its WebSocket; resolves once the server's hello arrived. */
export async function listen(
  options: ListenClientOptions,
  onFrame: (heard: HeardFrame) => void = () => {},
): Promise<ListenConnection> {
  const { baseUrl, token, nodeId } = options;
  const response = await fetch(`${baseUrl}/api/v1/nodes/${encodeURIComponent(nodeId)}/listen`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      ...(options.channels ? { channels: options.channels } : {}),
      ...(options.bitrate ? { bitrate: options.bitrate } : {}),
    }),
  }).catch((error: unknown) => {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? String(error);
    throw new ListenRefused(`cannot reach the controller at ${baseUrl} (${cause}): is it running? (--url)`);
  });
  const body = (await response.json()) as {
    data?: { session: { id: string }; ticket: string; websocketPath: string };
    error?: { message: string };
  };
  if (!response.ok || !body.data)
    throw new ListenRefused(
      body.error?.message ?? `the controller answered ${response.status}`,
      response.status,
    );
  const { session, ticket, websocketPath } = body.data;
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${websocketPath}`);
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      socket.terminate();
      reject(error);
    };
    socket.once('error', fail);
    socket.once('open', () => socket.send(ticket));
    socket.once('close', (_code, reason) =>
      fail(new ListenRefused(reason.toString() || 'the socket closed')),
    );
    socket.once('message', (data) => {
      const hello = JSON.parse(data.toString()) as ListenHello | ListenEnd;
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      if (hello.type !== 'hello') return fail(new ListenRefused(hello.reason));
      resolve(new ListenConnection(options, session.id, hello, socket, onFrame));
    });
  });
}
