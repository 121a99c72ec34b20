/**
 * Live listen, glass to glass: the built agent capturing a tone from a PulseAudio null sink,
 * the built controller, and listeners on the project's client. Latency is the time from a
 * frame's first sample entering the agent's capture (the frame's `capturedAtMs`, stamped by the
 * PCM tap) to a listener receiving the frame; lost frames are counted by sequence number.
 *
 *   - one listener, then ten on the same stream: p50 / p95 / p99 against the goal (issue 13:
 *     p95 under 1 s on this machine);
 *   - the transport alone, to choose it by measurement: a node publishing frames on MQTT (as the
 *     agent does) relayed by the controller to a WebSocket listener, against a bare aedes broker
 *     relaying the same frames to an MQTT subscriber, both stamped at publish.
 *
 * Env: EARSHOT_BENCH_LISTEN_SECONDS (15 per phase).
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { connectAsync } from 'mqtt';
import { listen } from '../../controller/src/client/listen-client.js';
import { decodeListenFrame, encodeListenFrame } from '../../shared/src/listen.js';
import { nodeTopic } from '../../shared/src/mqtt.js';
import { tonePackets } from '../support/listen.js';
import { type SinkNode, sinkNode } from '../support/sink-node.js';
import { until } from '../support/until.js';
import { type BenchRow, percentile } from './report.js';

const SECONDS = Number(process.env.EARSHOT_BENCH_LISTEN_SECONDS || 15);
const GOAL_P95_MS = 1000;
const BENCH = 'listen';

interface Sample {
  latencies: number[];
  frames: number;
  lost: number;
}

async function listenFor(e2e: SinkNode, nodeId: string, listeners: number, seconds: number): Promise<Sample> {
  const latencies: number[] = [];
  const connections = await Promise.all(
    Array.from({ length: listeners }, () =>
      listen({ baseUrl: e2e.base, token: e2e.token, nodeId, decode: false }, ({ frame, receivedAtMs }) =>
        latencies.push(receivedAtMs - frame.capturedAtMs),
      ),
    ),
  );
  // The first second is the stream starting up: not measured.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  latencies.length = 0;
  const before = connections.map((c) => ({ ...c.stats }));
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const frames = connections.reduce((n, c, i) => n + c.stats.frames - before[i]!.frames, 0);
  const lost = connections.reduce((n, c, i) => n + c.stats.lost - before[i]!.lost, 0);
  const measured = [...latencies].sort((a, b) => a - b);
  await Promise.all(connections.map((c) => c.close()));
  return { latencies: measured, frames, lost };
}

function latencyRows(
  subject: string,
  sample: Sample,
  /** The p95's reference; null for none. */
  reference: { subject: string; p95: number } | null = { subject: 'goal', p95: GOAL_P95_MS },
): BenchRow[] {
  const p = (q: number) => percentile(sample.latencies, q);
  const ref = reference ?? undefined;
  return [
    { bench: BENCH, subject, metric: 'latency p50', value: p(50), unit: 'ms' },
    {
      bench: BENCH,
      subject,
      metric: 'latency p95',
      value: p(95),
      unit: 'ms',
      ...(ref ? { reference: { subject: ref.subject, value: ref.p95, ratio: p(95) / ref.p95 } } : {}),
    },
    { bench: BENCH, subject, metric: 'latency p99', value: p(99), unit: 'ms' },
    { bench: BENCH, subject, metric: 'frames heard', value: sample.frames, unit: 'frames' },
    { bench: BENCH, subject, metric: 'frames lost (sequence gaps)', value: sample.lost, unit: 'frames' },
  ];
}

/** A node's frames at 50 a second, stamped at publish, for `seconds`. */
async function publishFrames(
  publish: (frame: Buffer) => void,
  streamId: () => string | undefined,
  seconds: number,
) {
  const packets = tonePackets(50);
  const end = Date.now() + seconds * 1000;
  let seq = 0;
  while (Date.now() < end) {
    const id = streamId();
    if (id)
      publish(
        encodeListenFrame({
          streamId: id,
          seq,
          capturedAtMs: Date.now(),
          sampleRate: 48_000,
          channels: 1,
          samples: 960,
          packet: packets[seq % packets.length]!,
        }),
      );
    seq++;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The controller's relay alone: a node's MQTT client publishing, a WebSocket listener receiving. */
async function controllerRelay(e2e: SinkNode, seconds: number): Promise<Sample> {
  const enrolled = await e2e.api<{ enrollmentToken: string }>('/api/v1/nodes/enroll', {
    method: 'POST',
    body: JSON.stringify({ id: 'bench-relay', name: 'Relay bench', site: 'lab' }),
  });
  const exchange = await fetch(`${e2e.base}/api/v1/agent/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: enrolled.enrollmentToken }),
  });
  const { nodeId, credential } = ((await exchange.json()) as { data: { nodeId: string; credential: string } })
    .data;
  const client = await connectAsync(`mqtt://127.0.0.1:${e2e.setup.env.EARSHOT_MQTT_PORT}`, {
    username: nodeId,
    password: credential,
    reconnectPeriod: 0,
  });
  let streamId: string | undefined;
  client.on('message', (_topic, payload) => {
    const command = JSON.parse(payload.toString()) as { type: string; args?: { streamId?: string } };
    if (command.type === 'listen-start') streamId = command.args?.streamId;
  });
  await client.subscribeAsync(nodeTopic(nodeId, 'cmd'), { qos: 1 });
  const latencies: number[] = [];
  const connection = await listen({ baseUrl: e2e.base, token: e2e.token, nodeId, decode: false }, (heard) =>
    latencies.push(heard.receivedAtMs - heard.frame.capturedAtMs),
  );
  await until(() => streamId !== undefined, { what: 'the listen-start command' });
  await publishFrames(
    (frame) => client.publish(nodeTopic(nodeId, 'listen'), frame),
    () => streamId,
    seconds,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  await connection.close();
  await client.endAsync();
  return {
    latencies: latencies.sort((a, b) => a - b),
    frames: connection.stats.frames,
    lost: connection.stats.lost,
  };
}

/** The reference: the same frames through a bare aedes broker to an MQTT subscriber. */
async function bareAedes(seconds: number): Promise<Sample> {
  const aedes = new Aedes();
  await aedes.listen();
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    aedes.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const publisher = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  const subscriber = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  const latencies: number[] = [];
  subscriber.on('message', (_topic, payload) => {
    const decoded = decodeListenFrame(payload);
    if (decoded.ok) latencies.push(Date.now() - decoded.payload.capturedAtMs);
  });
  await subscriber.subscribeAsync('bench/listen', { qos: 0 });
  await publishFrames(
    (frame) => publisher.publish('bench/listen', frame),
    () => 'sBench',
    seconds,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  await Promise.all([publisher.endAsync(), subscriber.endAsync()]);
  await new Promise<void>((resolve) => aedes.close(() => server.close(() => resolve())));
  return { latencies: latencies.sort((a, b) => a - b), frames: latencies.length, lost: 0 };
}

export async function listenBench(): Promise<BenchRow[]> {
  const e2e = await sinkNode({
    name: 'bench-listen',
    owner: { username: 'bench-owner', password: 'bench owner password 123' },
    node: { id: 'bench-listen', name: 'Listen bench' },
    hz: 997,
  });
  try {
    e2e.startAgent();
    await e2e.untilOnline();
    const one = await listenFor(e2e, 'bench-listen', 1, SECONDS);
    const ten = await listenFor(e2e, 'bench-listen', 10, SECONDS);
    const relay = await controllerRelay(e2e, SECONDS);
    const bare = await bareAedes(SECONDS);
    const p95 = (s: Sample) => percentile(s.latencies, 95);
    return [
      ...latencyRows('glass to glass, 1 listener', one),
      ...latencyRows('glass to glass, 10 listeners', ten),
      ...latencyRows('relay: MQTT → controller → WebSocket', relay, {
        subject: 'bare aedes, MQTT → MQTT',
        p95: p95(bare),
      }),
      ...latencyRows('bare aedes, MQTT → MQTT', bare, null).slice(0, 4),
    ];
  } finally {
    await e2e.stop();
  }
}
