/**
 * The meters bench's load generator, forked as its own process so the publishers and
 * the receiver never share an event loop with the broker under test. It holds N
 * mqtt.js node connections (CONNECT with the node's credential, TCP_NODELAY) that
 * publish MeterFrames on an even schedule, and one receiver: the controller's SSE
 * stream, or a plain MQTT subscriber on the reference broker.
 *
 * Frames are written to each client's socket as one pre-encoded QoS 0 PUBLISH rather
 * than through `client.publish`: mqtt.js' publish path cost about twice as much CPU
 * per frame and made this generator, not the broker, the limit at 2 × 10,000 frames/s.
 *
 * Publishers and receiver share this process, so each frame's latency is measured
 * against the high-resolution time it was published (keyed by `seq`, unique across
 * all nodes here), not against `capturedAtMs` at 1 ms resolution.
 *
 * Driven over IPC by meters.bench.ts, one request at a time: connect, receive,
 * phase…, close. Each request gets exactly one reply.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connectAsync, type MqttClient } from 'mqtt';
import { type MeterFrame, nodeTopic } from '../../shared/src/mqtt.js';
import { percentile } from './report.js';

export interface LoadNode {
  nodeId: string;
  credential: string;
}

export type LoadRequest =
  | { type: 'connect'; mqttUrl: string; nodes: LoadNode[] }
  | { type: 'receive'; via: 'sse'; url: string; token: string; clients: number }
  | { type: 'receive'; via: 'mqtt'; mqttUrl: string; topic: string }
  | { type: 'phase'; rateHz: number; warmupMs: number; durationMs: number; drainMs: number }
  | { type: 'close' };

export interface PhaseResult {
  rateHz: number;
  seconds: number;
  /** nodes × rateHz */
  offeredPerS: number;
  /** What the generator actually managed to publish in the window. */
  publishedPerS: number;
  /** Frames published in the window that reached the receiver (by the end of the drain), per second. */
  deliveredPerS: number;
  /** delivered / published */
  deliveredFraction: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Event-loop utilisation of this generator during the window (near 1: the generator is the limit). */
  generatorElu: number;
  /** Publisher connections lost during the phase, and receiver errors. */
  disconnects: number;
  receiverError?: string;
}

/** Replies, one per request; `mark` is not a reply but a notice sent while a phase runs. */
export type LoadReply =
  | { type: 'mark'; at: 'start' | 'end' }
  | { type: 'ok'; ms: number }
  | { type: 'phase'; result: PhaseResult }
  | { type: 'error'; message: string };

const CONNECT_CONCURRENCY = 50;
/** A generator that falls behind by more than this drops the backlog instead of bursting it. */
const MAX_BACKLOG_MS = 50;

/** Publish times by seq; grows as needed. */
class SendLog {
  private times = new Float64Array(1 << 20);

  record(seq: number, at: number): void {
    if (seq >= this.times.length) {
      const bigger = new Float64Array(Math.max(this.times.length * 2, seq + 1));
      bigger.set(this.times);
      this.times = bigger;
    }
    this.times[seq] = at;
  }

  sentAt(seq: number): number {
    return this.times[seq] ?? Number.NaN;
  }
}

class LoadGenerator {
  private clients: MqttClient[] = [];
  private topics: Buffer[] = [];
  private receiver: { close: () => Promise<void> } | undefined;
  private receiverError: string | undefined;
  /** How many receivers each frame should reach (SSE clients; 1 for the MQTT subscriber). */
  private receivers = 1;
  private readonly sends = new SendLog();
  private nextSeq = 0;
  private disconnects = 0;
  /** Window of seqs being measured, and what arrived of it. */
  private window = { from: 0, to: Number.POSITIVE_INFINITY };
  private latencies: number[] = [];

  async connect(mqttUrl: string, nodes: LoadNode[]): Promise<void> {
    for (let i = 0; i < nodes.length; i += CONNECT_CONCURRENCY) {
      const batch = nodes.slice(i, i + CONNECT_CONCURRENCY);
      const connected = await Promise.all(
        batch.map((node) =>
          connectAsync(mqttUrl, {
            protocolVersion: 4,
            clientId: node.nodeId,
            username: node.nodeId,
            password: node.credential,
            reconnectPeriod: 0,
            connectTimeout: 30_000,
          }),
        ),
      );
      for (const [j, client] of connected.entries()) {
        // As the agent does: Nagle would hold back small frames.
        (client.stream as Partial<Socket>).setNoDelay?.(true);
        client.on('error', () => {});
        client.on('close', () => this.disconnects++);
        this.clients.push(client);
        this.topics.push(Buffer.from(nodeTopic(batch[j]!.nodeId, 'meters')));
      }
    }
  }

  private arrived(seq: number): void {
    if (seq < this.window.from || seq >= this.window.to) return;
    this.latencies.push(performance.now() - this.sends.sentAt(seq));
  }

  /** `clients` SSE streams, as that many operators' browsers: every frame counts once per client. */
  async receiveSse(url: string, token: string, clients: number): Promise<void> {
    const abort = new AbortController();
    const readings: Promise<void>[] = [];
    for (let c = 0; c < clients; c++) {
      const response = await fetch(url, {
        headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
        signal: abort.signal,
      });
      if (!response.ok || !response.body) throw new Error(`SSE ${url}: HTTP ${response.status}`);
      const body = response.body;
      readings.push(
        (async () => {
          const decoder = new TextDecoder();
          let buffer = '';
          for await (const chunk of body) {
            buffer += decoder.decode(chunk as Uint8Array, { stream: true });
            const blocks = buffer.split('\n\n');
            buffer = blocks.pop() ?? '';
            for (const block of blocks) {
              if (!block.startsWith('event: meter\n')) continue;
              // The frame's seq, without parsing the whole frame (ten streams of a fleet's frames
              // would make this process the limit).
              const at = block.indexOf('"seq":');
              this.arrived(Number.parseInt(block.slice(at + 6, at + 24), 10));
            }
          }
        })().catch((error: unknown) => {
          if (!abort.signal.aborted) this.receiverError = String(error);
        }),
      );
    }
    this.receivers = clients;
    this.receiver = {
      close: async () => {
        abort.abort();
        await Promise.all(readings);
      },
    };
  }

  async receiveMqtt(mqttUrl: string, topic: string): Promise<void> {
    const client = await connectAsync(mqttUrl, {
      protocolVersion: 4,
      clientId: `bench-subscriber-${process.pid}`,
      reconnectPeriod: 0,
    });
    (client.stream as Partial<Socket>).setNoDelay?.(true);
    client.on('error', (error) => {
      this.receiverError = String(error);
    });
    client.on('message', (_topic, payload) =>
      this.arrived((JSON.parse(payload.toString()) as MeterFrame).seq),
    );
    await client.subscribeAsync(topic, { qos: 0 });
    this.receiver = { close: () => client.endAsync(true) };
  }

  /** Publishes at `rateHz` per node, warms up, measures a window, stops, waits for stragglers. */
  async phase(rateHz: number, warmupMs: number, durationMs: number, drainMs: number): Promise<PhaseResult> {
    const disconnectsBefore = this.disconnects;
    const schedule = this.publish(rateHz);
    await sleep(warmupMs);
    this.latencies = [];
    this.window = { from: this.nextSeq, to: Number.POSITIVE_INFINITY };
    const started = performance.now();
    const elu = performance.eventLoopUtilization();
    mark('start');
    await sleep(durationMs);
    mark('end');
    this.window.to = this.nextSeq;
    const generatorElu = performance.eventLoopUtilization(elu).utilization;
    const seconds = (performance.now() - started) / 1000;
    schedule.stop();
    await sleep(drainMs);
    const published = this.window.to - this.window.from;
    const latencies = this.latencies.sort((a, b) => a - b);
    const result: PhaseResult = {
      rateHz,
      seconds,
      offeredPerS: this.clients.length * rateHz,
      publishedPerS: published / seconds,
      deliveredPerS: latencies.length / this.receivers / seconds,
      deliveredFraction: published === 0 ? 0 : latencies.length / this.receivers / published,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.at(-1) ?? Number.NaN,
      generatorElu,
      disconnects: this.disconnects - disconnectsBefore,
      ...(this.receiverError ? { receiverError: this.receiverError } : {}),
    };
    this.window = { from: 0, to: 0 };
    return result;
  }

  /**
   * An even schedule over all nodes: frame k goes to node k mod N, frames are due at a
   * constant total rate, and a 1 ms timer sends whatever is due.
   */
  private publish(rateHz: number): { stop: () => void } {
    const count = this.clients.length;
    const perMs = (count * rateHz) / 1000;
    const maxBacklog = Math.max(1, Math.ceil(perMs * MAX_BACKLOG_MS));
    const windowMs = Math.max(1, Math.round(1000 / rateHz));
    const origin = performance.now();
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const tick = () => {
      const due = Math.floor((performance.now() - origin) * perMs);
      if (due - sent > maxBacklog) sent = due - maxBacklog;
      for (; sent < due; sent++) {
        const node = sent % count;
        const seq = this.nextSeq++;
        this.sends.record(seq, performance.now());
        const frame: MeterFrame = {
          seq,
          capturedAtMs: Date.now(),
          windowMs,
          sampleRate: 48_000,
          channels: [
            { peakDbfs: -20.5, rmsDbfs: -23.5, clipCount: 0 },
            { peakDbfs: -18.25, rmsDbfs: -21.25, clipCount: 0 },
          ],
        };
        this.clients[node]!.stream.write(encodePublish(this.topics[node]!, JSON.stringify(frame)));
      }
      timer = setTimeout(tick, 1);
    };
    tick();
    return { stop: () => clearTimeout(timer) };
  }

  async close(): Promise<void> {
    await this.receiver?.close().catch(() => {});
    await Promise.all(this.clients.map((client) => client.endAsync(true).catch(() => {})));
    this.clients = [];
  }
}

/**
 * A QoS 0 PUBLISH (MQTT 3.1.1 §3.3) as one buffer: fixed header, remaining length,
 * topic, payload. Written straight to the client's socket as one write.
 */
function encodePublish(topic: Buffer, payload: string): Buffer {
  const payloadBytes = Buffer.byteLength(payload);
  let remaining = 2 + topic.length + payloadBytes;
  const lengthBytes: number[] = [];
  do {
    let byte = remaining % 128;
    remaining = Math.floor(remaining / 128);
    if (remaining > 0) byte |= 0x80;
    lengthBytes.push(byte);
  } while (remaining > 0);
  const packet = Buffer.allocUnsafe(1 + lengthBytes.length + 2 + topic.length + payloadBytes);
  let at = packet.writeUInt8(0x30, 0);
  for (const byte of lengthBytes) at = packet.writeUInt8(byte, at);
  at = packet.writeUInt16BE(topic.length, at);
  at += topic.copy(packet, at);
  packet.write(payload, at);
  return packet;
}

/** Tells the driver the measured window starts or ends (it samples the broker's load then). */
function mark(at: 'start' | 'end'): void {
  process.send?.({ type: 'mark', at } satisfies LoadReply);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function handle(generator: LoadGenerator, request: LoadRequest): Promise<LoadReply> {
  const started = performance.now();
  const ok = (): LoadReply => ({ type: 'ok', ms: performance.now() - started });
  switch (request.type) {
    case 'connect':
      await generator.connect(request.mqttUrl, request.nodes);
      return ok();
    case 'receive':
      if (request.via === 'sse') await generator.receiveSse(request.url, request.token, request.clients);
      else await generator.receiveMqtt(request.mqttUrl, request.topic);
      return ok();
    case 'phase':
      return {
        type: 'phase',
        result: await generator.phase(request.rateHz, request.warmupMs, request.durationMs, request.drainMs),
      };
    case 'close':
      await generator.close();
      return ok();
  }
}

if (process.send) {
  const generator = new LoadGenerator();
  process.on('message', (request: LoadRequest) => {
    handle(generator, request).then(
      (reply) => process.send!(reply, () => request.type === 'close' && process.exit(0)),
      (error: unknown) => process.send!({ type: 'error', message: String(error) } satisfies LoadReply),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
