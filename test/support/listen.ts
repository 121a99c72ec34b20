/**
 * Live listen test parts: a node's agent played by a real mqtt.js client that answers
 * `listen-start` / `listen-stop` and publishes Opus frames of a tone (encoded with the same
 * libopus the agent uses), and a controller listening on real HTTP for WebSocket listeners.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import OpusScript from 'opusscript';
import { encodeListenFrame, LISTEN_SAMPLE_RATE, type ListenStartArgs } from '../../shared/src/listen.js';
import { type Command, encodePayload, nodeTopic } from '../../shared/src/mqtt.js';
import type { TestController } from './controller.js';
import { enrolledNode } from './controller.js';

const FRAME = 960;

/** `count` 20 ms Opus packets of a sine at `hz` and `amplitude` (full scale 1). */
export function tonePackets(count: number, hz = 997, amplitude = 0.5, channels = 1): Buffer[] {
  const encoder = new OpusScript(LISTEN_SAMPLE_RATE, channels, OpusScript.Application.AUDIO);
  const packets: Buffer[] = [];
  const pcm = new Int16Array(FRAME * channels);
  for (let f = 0; f < count; f++) {
    for (let i = 0; i < FRAME; i++) {
      const v = Math.round(
        32767 * amplitude * Math.sin((2 * Math.PI * hz * (f * FRAME + i)) / LISTEN_SAMPLE_RATE),
      );
      for (let c = 0; c < channels; c++) pcm[i * channels + c] = v;
    }
    packets.push(encoder.encode(Buffer.from(pcm.buffer), FRAME));
  }
  encoder.delete();
  return packets;
}

export interface FakeListenAgent {
  nodeId: string;
  client: MqttClient;
  commands: Command[];
  /** Streams asked for and not stopped, by id. */
  streams: Map<string, ListenStartArgs>;
  /** Publishes `packets` as frames of `streamId` (default: the only stream), from sequence `fromSeq`. */
  send(packets: Buffer[], options?: { streamId?: string; fromSeq?: number }): void;
  /** Answers commands with this result instead of ok (e.g. a refusal). */
  answer?: (command: Command) => { ok: boolean; message?: string };
  close(): Promise<void>;
}

export async function fakeListenAgent(
  ctl: TestController,
  input: { id: string; site: string; channels?: number },
): Promise<FakeListenAgent> {
  const port = ctl.broker.port();
  if (port === undefined) throw new Error("the test controller's broker is not listening");
  return fakeListenAgentOn(await enrolledNode(ctl, input), port);
}

/** The fake agent of an enrolled node, connected to the broker on `mqttPort` (e.g. one replica's). */
export async function fakeListenAgentOn(
  node: { nodeId: string; credential: string },
  mqttPort: number,
): Promise<FakeListenAgent> {
  const client = await connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    username: node.nodeId,
    password: node.credential,
  });
  const agent: FakeListenAgent = {
    nodeId: node.nodeId,
    client,
    commands: [],
    streams: new Map(),
    send(packets, options = {}) {
      const streamId = options.streamId ?? [...agent.streams.keys()][0];
      if (!streamId) throw new Error('no listen stream was asked for');
      const seq0 = options.fromSeq ?? 0;
      packets.forEach((packet, i) => {
        const frame = {
          streamId,
          seq: seq0 + i,
          capturedAtMs: Date.now(),
          sampleRate: LISTEN_SAMPLE_RATE,
          channels: agent.streams.get(streamId)?.channels.length ?? 1,
          samples: FRAME,
          packet,
        };
        client.publish(nodeTopic(node.nodeId, 'listen'), encodeListenFrame(frame), { qos: 0 });
      });
    },
    close: () => client.endAsync(true),
  };
  client.on('message', (_topic, payload) => {
    const command = JSON.parse(payload.toString()) as Command;
    agent.commands.push(command);
    const result = agent.answer?.(command) ?? { ok: true };
    if (result.ok && command.type === 'listen-start') {
      const args = command.args as ListenStartArgs;
      agent.streams.set(args.streamId, args);
    }
    if (command.type === 'listen-stop') agent.streams.delete((command.args as { streamId: string }).streamId);
    client.publish(
      nodeTopic(node.nodeId, 'cmd-result'),
      encodePayload('cmd-result', { id: command.id, ...result }),
      {
        qos: 1,
      },
    );
  });
  await client.subscribeAsync(nodeTopic(node.nodeId, 'cmd'), { qos: 1 });
  return agent;
}

/** The controller's base URL once its HTTP server listens on a free port. */
export async function listeningUrl(ctl: TestController): Promise<string> {
  await ctl.app.listen({ port: 0, host: '127.0.0.1' });
  const address = ctl.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no HTTP address');
  return `http://127.0.0.1:${address.port}`;
}

/** The frequency of a (mono) tone, from its rising zero crossings, interpolated. */
export function toneFrequency(pcm: Int16Array, sampleRate = LISTEN_SAMPLE_RATE): number {
  const crossings: number[] = [];
  for (let i = 1; i < pcm.length; i++) {
    const a = pcm[i - 1]!;
    const b = pcm[i]!;
    if (a < 0 && b >= 0) crossings.push(i - 1 + -a / (b - a));
  }
  if (crossings.length < 2) return 0;
  return ((crossings.length - 1) * sampleRate) / (crossings.at(-1)! - crossings[0]!);
}

/**
 * The median, over windows of `windowSamples`, of `measure`: robust to a glitch in the source
 * (e.g. the gap where the test sink's looped tone file starts over).
 */
export function medianOver(
  pcm: Int16Array,
  measure: (window: Int16Array) => number,
  windowSamples = 24_000,
): number {
  const values: number[] = [];
  for (let at = 0; at + windowSamples <= pcm.length; at += windowSamples)
    values.push(measure(pcm.subarray(at, at + windowSamples)));
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)] ?? Number.NaN;
}

/** RMS level of 16-bit samples, dBFS (a full-scale sine reads −3.01). */
export function rmsDbfs(pcm: Int16Array): number {
  let sum = 0;
  for (const v of pcm) sum += (v / 32768) ** 2;
  return 10 * Math.log10(sum / pcm.length);
}

/** Concatenates decoded frames. */
export function joined(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
