/**
 * The whole agent daemon in-process against a real controller, for integration tests: a
 * real-time fake sound card (the one thing we do not own), an enrolled state directory, and
 * a TCP switch in front of the controller's HTTP and MQTT ports that can cut the network
 * (connections refused, open ones dropped) and bring it back on the same ports.
 */
import { EventEmitter } from 'node:events';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Agent, type AgentOptions } from '../../agent/src/agent.js';
import { CaptureError, type CaptureEvents, type CaptureOptions } from '../../agent/src/capture/capture.js';
import { type AgentSettings, resolveSettings } from '../../agent/src/state/settings.js';
import { writeAgentState } from '../../agent/src/state/state-file.js';
import { createLogger, silentLogger } from '../../agent/src/support/log.js';

/** Sample value of capture frame `frame`, channel `channel` (0-based): the frame count, offset per channel. */
export function fakeSample(frame: number, channel: number): number {
  return (frame % 8000) + 8000 * channel - 16_000;
}

/** The capture frame a sample of channel `channel` says it came from (mod 8000). */
export function fakeFrameOf(sample: number, channel: number): number {
  return sample + 16_000 - 8000 * channel;
}

/**
 * A sound card producing audio in real time: every 10 ms, the frames that wall-clock time
 * says are due, with frames split across chunks. Sample values count frames (fakeSample),
 * so a gap or an overlap between two files shows.
 */
export class RealtimeFakeCapture extends EventEmitter<CaptureEvents> {
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private startedAt = 0;
  private carry = Buffer.alloc(0);

  constructor(private readonly options: CaptureOptions) {
    super();
  }

  start(): void {
    this.startedAt = performance.now();
    this.timer = setInterval(() => this.tick(), 10);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.emit('close');
  }

  /** The device fails (unplugged): the supervisor sees an error and restarts the capture. */
  fail(): void {
    clearInterval(this.timer);
    this.emit('error', new CaptureError('device-failed', 'the device went away (test)'));
    this.emit('close');
  }

  private tick(): void {
    const { sampleRate, channels, bitDepth = 16 } = this.options;
    const due = Math.floor(((performance.now() - this.startedAt) * sampleRate) / 1000) - this.frame;
    if (due <= 0) return;
    const size = bitDepth / 8;
    const bytes = Buffer.alloc(due * channels * size);
    for (let f = 0; f < due; f++, this.frame++) {
      for (let c = 0; c < channels; c++) {
        const offset = (f * channels + c) * size;
        // 24 bits: the 16-bit sample above a low byte of channel + 1, so a 16-bit file shows.
        if (size === 2) bytes.writeInt16LE(fakeSample(this.frame, c), offset);
        else bytes.writeIntLE(fakeSample(this.frame, c) * 256 + c + 1, offset, 3);
      }
    }
    // Hold back 3 bytes: chunks break frames, as a pipe from sox does.
    const all = Buffer.concat([this.carry, bytes]);
    this.carry = Buffer.from(all.subarray(all.length - 3));
    this.emit('data', all.subarray(0, all.length - 3));
  }
}

/** A fake sound card factory that keeps every capture it made (a restart makes a new one). */
export function fakeCards(): {
  captures: RealtimeFakeCapture[];
  createCapture: (options: CaptureOptions) => RealtimeFakeCapture;
} {
  const captures: RealtimeFakeCapture[] = [];
  return {
    captures,
    createCapture: (options) => {
      const capture = new RealtimeFakeCapture(options);
      captures.push(capture);
      return capture;
    },
  };
}

/** A TCP forwarder to 127.0.0.1:targetPort that can go down (refuse, drop) and come back up on its port. */
export interface NetworkSwitch {
  port: number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function networkSwitch(targetPort: number): Promise<NetworkSwitch> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    const next = createServer((socket) => {
      const upstream = netConnect(targetPort, '127.0.0.1');
      for (const s of [socket, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          socket.destroy();
          upstream.destroy();
        });
      }
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    port = (next.address() as { port: number }).port;
    server = next;
  };
  const down = async () => {
    const current = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  await listen();
  return {
    get port() {
      return port;
    },
    down,
    up: async () => {
      if (!server) await listen();
    },
    close: down,
  };
}

export interface AgentNode {
  nodeId: string;
  credential: string;
  siteId: string;
}

/** Writes an enrolled state file for `node` (as `earshot-agent enroll` would) and returns the settings. */
export async function enrolledAgentSettings(
  dir: string,
  node: AgentNode,
  controllerUrl: string,
  mqttUrl: string,
  env: Record<string, string> = {},
): Promise<AgentSettings> {
  const settings = resolveSettings({
    EARSHOT_AGENT_CONFIG: join(dir, 'agent.json'),
    EARSHOT_AGENT_MQTT_URL: mqttUrl,
    ...env,
  });
  await writeAgentState(settings.statePath, {
    version: 1,
    controllerUrl,
    nodeId: node.nodeId,
    name: node.nodeId,
    siteId: node.siteId,
    credential: node.credential,
    mqttPort: 1883,
    enrolledAt: new Date().toISOString(),
  });
  return settings;
}

/** An agent daemon with the fake sound card and fast retries. */
export function testAgent(settings: AgentSettings, extra: Partial<AgentOptions> = {}): Agent {
  return new Agent({
    settings,
    log: process.env.EARSHOT_TEST_AGENT_LOG ? createLogger('debug') : silentLogger(),
    createCapture: (options) => new RealtimeFakeCapture(options),
    backoff: { baseMs: 20, capMs: 200 },
    ...extra,
  });
}
