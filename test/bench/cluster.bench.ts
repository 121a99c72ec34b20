/**
 * The clustered broker (issue 17): controller replicas on one PostgreSQL and one Redis.
 *
 * 1. Meters across replicas: N nodes publish MeterFrames at R Hz each to replica B; one SSE
 *    client on replica A (`GET /api/v1/meter-events`) receives them. Reports delivered
 *    frames/s and p99 latency (capturedAtMs at publish → SSE receipt). Reference, same run:
 *    one replica without Redis (the in-memory broker), the same nodes publishing to it and
 *    the SSE client on it.
 * 2. Presence after a replica dies: M nodes (raw MQTT clients that reconnect through a
 *    balancer and publish `online`, with the agent's last will) connected to replica C, a
 *    process; SIGKILL C; reports the time until every node is online on A again, and until C's
 *    wills (published later by a survivor, stale) are gone.
 *
 * Everything runs on one machine (Redis, PostgreSQL, the replicas, the publishers), so the
 * numbers are for comparing the two setups in one run, not capacity.
 * Numbers on the 2-core dev box (load average 5–13 from other work, so noisy), 50 nodes × 10 Hz,
 * three runs: across replicas 490–500 frames/s delivered (100 %), p99 17–24 ms; one replica
 * without Redis 480–500 frames/s (100 %), p99 11–15 ms (1.3–2.1× the p99: a Redis round trip
 * and a second decode). kill -9 of the replica holding 20 nodes: all connected to a survivor
 * after 0.6–1.9 s (their reconnect period 200 ms, through the balancer); its wills published
 * (and judged stale) after 2.8–4.4 s; no presence read on the survivor showed a node offline.
 * Env: EARSHOT_BENCH_CLUSTER_NODES (50), EARSHOT_BENCH_CLUSTER_HZ (10),
 * EARSHOT_BENCH_CLUSTER_SECONDS (5), EARSHOT_BENCH_CLUSTER_KILL_NODES (20).
 */
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { migrate } from '../../controller/src/db/migrate.js';
import { type MeterFrame, nodeTopic } from '../../shared/src/mqtt.js';
import {
  balancer,
  type InProcessReplica,
  inProcessReplica,
  processReplica,
  type Replica,
} from '../support/cluster.js';
import { createDatabase, startPostgres, uniqueDatabaseName } from '../support/postgres.js';
import { startRedis } from '../support/redis.js';
import { enrollNode, jsonApi, setupOwner } from './harness.js';
import { type BenchRow, percentile } from './report.js';

const NODES = Number(process.env.EARSHOT_BENCH_CLUSTER_NODES || 50);
const HZ = Number(process.env.EARSHOT_BENCH_CLUSTER_HZ || 10);
const SECONDS = Number(process.env.EARSHOT_BENCH_CLUSTER_SECONDS || 5);
const KILL_NODES = Number(process.env.EARSHOT_BENCH_CLUSTER_KILL_NODES || 20);
const DRAIN_MS = 1_000;

type Node = { nodeId: string; credential: string };

async function connectNode(node: Node, port: number, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    username: node.nodeId,
    password: node.credential,
    clientId: node.nodeId,
    reconnectPeriod: 0,
    ...options,
  });
}

/** Frames from `nodes` published to `publishTo` for SECONDS, read over SSE on `readFrom`. */
async function meterRun(readFrom: Replica, publishTo: Replica, token: string, nodes: Node[]) {
  const clients = await Promise.all(nodes.map((node) => connectNode(node, publishTo.mqttPort)));
  const abort = new AbortController();
  const response = await fetch(`${readFrom.base}/api/v1/meter-events`, {
    headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  const latencies: number[] = [];
  let counting = false;
  /** The sequence numbers published while counting (last: open until publishing stops). */
  const span = { first: Number.POSITIVE_INFINITY, last: Number.POSITIVE_INFINITY };
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .find((line) => line.startsWith('data:'));
        buffer = buffer.slice(end + 2);
        if (data && counting) {
          const { frame } = JSON.parse(data.slice(5)) as { frame: MeterFrame };
          if (frame.seq >= span.first && frame.seq <= span.last)
            latencies.push(Date.now() - frame.capturedAtMs);
        }
        end = buffer.indexOf('\n\n');
      }
    }
  })().catch(() => {});
  let seq = 0;
  let published = 0;
  const publishAll = () => {
    for (const [i, client] of clients.entries()) {
      const frame: MeterFrame = {
        seq: seq++,
        capturedAtMs: Date.now(),
        windowMs: 100,
        sampleRate: 48_000,
        channels: [{ peakDbfs: -20 - (i % 10), rmsDbfs: -23, clipCount: 0 }],
      };
      client.publish(nodeTopic(nodes[i]!.nodeId, 'meters'), JSON.stringify(frame), { qos: 0 });
      if (counting && span.last === Number.POSITIVE_INFINITY) span.first = Math.min(span.first, frame.seq);
      if (counting && span.last === Number.POSITIVE_INFINITY) published++;
    }
  };
  const timer = setInterval(publishAll, 1000 / HZ);
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // warm-up
  counting = true;
  const startedAt = performance.now();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  clearInterval(timer);
  span.last = seq - 1;
  const elapsed = (performance.now() - startedAt) / 1000;
  await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
  counting = false;
  abort.abort();
  await reading;
  await Promise.all(clients.map((client) => client.endAsync(true)));
  return {
    framesPerSecond: latencies.length / elapsed,
    deliveredShare: latencies.length / Math.max(published, 1),
    p99Ms: percentile(latencies, 99),
  };
}

/**
 * M nodes on C (a process) behind a balancer; SIGKILL C; time until all are connected to A, and
 * until C's wills are published; how many presence reads on A showed any of them offline.
 */
async function killRun(
  databaseUrl: string,
  redisUrl: string,
  a: InProcessReplica,
  token: string,
  nodes: Node[],
) {
  const c = await processReplica('bench-c', databaseUrl, redisUrl);
  const lb = await balancer([c.mqttPort, a.mqttPort]);
  const clients = await Promise.all(
    nodes.map(async (node) => {
      const status = nodeTopic(node.nodeId, 'status');
      const client = await connectNode(node, lb.port, {
        reconnectPeriod: 200,
        will: { topic: status, payload: Buffer.from('{"state":"offline"}'), qos: 1, retain: true },
      });
      const online = () =>
        client.publish(status, JSON.stringify({ state: 'online' }), { qos: 1, retain: true });
      client.on('connect', online);
      online();
      return client;
    }),
  );
  const api = jsonApi(a.base);
  const allOnline = async () => {
    const listed = await api(`/api/v1/nodes?limit=500`, { token });
    const rows = listed.data as { id: string; presence: { online: boolean } }[];
    return nodes.every((node) => rows.find((row) => row.id === node.nodeId)?.presence.online);
  };
  while (!(await allOnline())) await new Promise((resolve) => setTimeout(resolve, 100));
  const redis = new Redis(redisUrl);
  const ids = new Set(nodes.map((node) => node.nodeId));
  const cWills = (await redis.lrange('will', 0, -1)).filter((key) => ids.has(key.split(':')[2] ?? ''));
  const connectedBefore = a.app.broker.connectedClients();
  let offlineReads = 0;
  const watch = async () => {
    if (!(await allOnline())) offlineReads++;
    await new Promise((resolve) => setTimeout(resolve, 50));
  };
  const killedAt = performance.now();
  c.process.child.kill('SIGKILL');
  await c.process.exited;
  while (a.app.broker.connectedClients() < connectedBefore + nodes.length) await watch();
  const reconnectedMs = performance.now() - killedAt;
  while ((await redis.lrange('will', 0, -1)).some((key) => cWills.includes(key))) await watch();
  const willsGoneMs = performance.now() - killedAt;
  if (!(await allOnline())) offlineReads++;
  await Promise.all(clients.map((client) => client.endAsync(true)));
  await lb.close();
  await c.stop();
  await redis.quit();
  return { reconnectedMs, willsGoneMs, offlineReads };
}

export async function clusterBench(): Promise<BenchRow[]> {
  const [pg, redisServer] = await Promise.all([startPostgres(), startRedis()]);
  const stops: (() => Promise<void>)[] = [];
  try {
    const clusteredUrl = await createDatabase(pg.url, uniqueDatabaseName('bench_cluster'));
    const singleUrl = await createDatabase(pg.url, uniqueDatabaseName('bench_single'));
    await Promise.all([
      migrate({ provider: 'postgresql', url: clusteredUrl }),
      migrate({ provider: 'postgresql', url: singleUrl }),
    ]);
    const a = await inProcessReplica('a', clusteredUrl, redisServer.url);
    const b = await inProcessReplica('b', clusteredUrl, redisServer.url);
    const single = await inProcessReplica('single', singleUrl, undefined);
    stops.push(a.stop, b.stop, single.stop);
    const tokens = {
      clustered: await setupOwner(jsonApi(a.base)),
      single: await setupOwner(jsonApi(single.base)),
    };
    const enrollAll = async (replica: Replica, token: string, prefix: string, count: number) => {
      const nodes: Node[] = [];
      for (let i = 0; i < count; i++) {
        const nodeId = `${prefix}-${i}`;
        nodes.push({ nodeId, credential: await enrollNode(jsonApi(replica.base), token, nodeId) });
      }
      return nodes;
    };
    const clusterNodes = await enrollAll(a, tokens.clustered, 'bc', NODES);
    const singleNodes = await enrollAll(single, tokens.single, 'bs', NODES);

    const reference = await meterRun(single, single, tokens.single, singleNodes);
    const across = await meterRun(a, b, tokens.clustered, clusterNodes);
    const killNodes = await enrollAll(a, tokens.clustered, 'bk', KILL_NODES);
    const kill = await killRun(clusteredUrl, redisServer.url, a, tokens.clustered, killNodes);

    const offered = `${NODES} nodes × ${HZ} Hz`;
    const ratio = (value: number, ref: number) => ({ value: ref, ratio: value / ref });
    return [
      {
        bench: 'cluster',
        subject: `meters B → SSE on A (${offered})`,
        metric: 'delivered',
        value: across.framesPerSecond,
        unit: 'frames/s',
        reference: {
          subject: 'one replica, no Redis',
          ...ratio(across.framesPerSecond, reference.framesPerSecond),
        },
      },
      {
        bench: 'cluster',
        subject: `meters B → SSE on A (${offered})`,
        metric: 'p99 latency',
        value: across.p99Ms,
        unit: 'ms',
        reference: { subject: 'one replica, no Redis', ...ratio(across.p99Ms, reference.p99Ms) },
      },
      {
        bench: 'cluster',
        subject: `meters B → SSE on A (${offered})`,
        metric: 'share delivered',
        value: across.deliveredShare * 100,
        unit: '%',
        reference: {
          subject: 'one replica, no Redis',
          ...ratio(across.deliveredShare, reference.deliveredShare),
          value: reference.deliveredShare * 100,
        },
      },
      {
        bench: 'cluster',
        subject: `kill -9 of the replica holding ${KILL_NODES} nodes`,
        metric: 'all reconnected to A',
        value: kill.reconnectedMs,
        unit: 'ms',
      },
      {
        bench: 'cluster',
        subject: `kill -9 of the replica holding ${KILL_NODES} nodes`,
        metric: `its wills published, stale (presence reads on A with a node offline: ${kill.offlineReads})`,
        value: kill.willsGoneMs,
        unit: 'ms',
      },
    ];
  } finally {
    for (const stop of stops.reverse()) await stop();
    await Promise.all([pg.stop(), redisServer.stop()]);
  }
}
