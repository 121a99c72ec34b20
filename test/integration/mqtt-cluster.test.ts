/**
 * The embedded brokers of three controller replicas clustered through one Redis, on one
 * PostgreSQL (issue 17): A and B in this process, C a process of its own (so it can be killed
 * with SIGKILL). Nodes are raw MQTT clients speaking the contract (one answering live listen as
 * an agent does, test/support/listen.ts), and four real agents spread across the replicas by a
 * round-robin TCP balancer (two on the replica that dies), one capturing real audio (sox from a
 * PulseAudio null sink playing a tone), the others a fake sound card.
 *
 * Runs in `npm test`'s PostgreSQL run (scripts/test.sh), which also starts the Redis
 * (test/support/global-setup.ts); on SQLite it is skipped.
 */
import { Redis } from 'ioredis';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Agent } from '../../agent/src/agent.js';
import { type HeardFrame, type ListenConnection, listen } from '../../controller/src/client/listen-client.js';
import { migrate } from '../../controller/src/db/migrate.js';
import { type MeterFrame, nodeTopic } from '../../shared/src/mqtt.js';
import { enrolledAgentSettings, testAgent } from '../support/agent-harness.js';
import {
  type Balancer,
  balancer,
  type InProcessReplica,
  inProcessReplica,
  type ProcessReplica,
  processReplica,
  type Replica,
} from '../support/cluster.js';
import { fakeListenAgentOn, joined, toneFrequency, tonePackets } from '../support/listen.js';
import { createDatabase, uniqueDatabaseName } from '../support/postgres.js';
import { hasPulse, type PulseSink, startPulseSink, useSinkEnv } from '../support/pulse.js';
import { openSse, readSse } from '../support/sse.js';
import { type TempDir, tempDir } from '../support/tmp.js';
import { until } from '../support/until.js';

const clustered = inject('testDb') === 'postgres';
const OWNER = { username: 'owner', password: 'correct horse battery staple' };
/** What the replica that dies may take, from SIGKILL to every node online on the others. */
const SETTLE_MS = 15_000;
/** The real agents; the first captures real audio (the tone below), the others a fake sound card. */
const AGENTS = ['mc-agent-1', 'mc-agent-2', 'mc-agent-3', 'mc-agent-4'];
const TONE_DBFS = -20;

type Node = { nodeId: string; credential: string; siteId: string };

function frame(seq: number): MeterFrame {
  return {
    seq,
    capturedAtMs: Date.now(),
    windowMs: 100,
    sampleRate: 48_000,
    channels: [{ peakDbfs: -20, rmsDbfs: -23, clipCount: 0 }],
  };
}

if (!clustered)
  describe('MQTT across replicas', () => {
    it.skip('runs in the PostgreSQL run only (EARSHOT_TEST_DB=postgres starts the Redis it needs)', () => {});
  });

describe.skipIf(!clustered)('MQTT across three replicas (PostgreSQL + Redis)', () => {
  let a: InProcessReplica;
  let b: InProcessReplica;
  let c: ProcessReplica;
  let redisUrl = '';
  let databaseUrl = '';
  let redis: Redis;
  let owner = '';
  const nodes: Record<string, Node> = {};
  const clients: MqttClient[] = [];
  const agents: Agent[] = [];
  const dirs: TempDir[] = [];
  let lb: Balancer | undefined;
  let sink: PulseSink | undefined;
  let restoreEnv = () => {};

  async function api<T = Record<string, unknown>>(
    replica: Replica,
    method: string,
    path: string,
    body?: unknown,
  ) {
    const response = await fetch(`${replica.base}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${owner}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} on ${replica.name}: ${response.status} ${text}`);
    return (JSON.parse(text) as { data: T }).data;
  }

  const online = async (replica: Replica, nodeId: string) =>
    (await api<{ presence: { online: boolean } }>(replica, 'GET', `/nodes/${nodeId}`)).presence.online;

  async function enroll(nodeId: string): Promise<Node> {
    const enrolled = await api<{ enrollmentToken: string }>(a, 'POST', '/nodes/enroll', {
      name: nodeId,
      site: 'hq',
      id: nodeId,
    });
    const exchange = await fetch(`${a.base}/api/v1/agent/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: enrolled.enrollmentToken }),
    });
    return ((await exchange.json()) as { data: Node }).data;
  }

  /** A node's connection to `port` (a replica's broker), speaking as its agent does. */
  async function asNode(node: Node, port: number, extra: IClientOptions = {}): Promise<MqttClient> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      username: node.nodeId,
      password: node.credential,
      clientId: node.nodeId,
      reconnectPeriod: 0,
      ...extra,
    });
    clients.push(client);
    return client;
  }

  async function goOnline(client: MqttClient, node: Node): Promise<void> {
    await client.publishAsync(nodeTopic(node.nodeId, 'status'), JSON.stringify({ state: 'online' }), {
      qos: 1,
      retain: true,
    });
  }

  const offlineWill = (node: Node) => ({
    topic: nodeTopic(node.nodeId, 'status'),
    payload: Buffer.from('{"state":"offline"}'),
    qos: 1 as const,
    retain: true,
  });

  /** Answers every command with `ok`, and keeps what arrived. */
  function answering(client: MqttClient, node: Node): { id: string; type: string }[] {
    const received: { id: string; type: string }[] = [];
    client.on('message', (topic, payload) => {
      const command = JSON.parse(payload.toString()) as { id: string; type: string };
      received.push(command);
      if (topic === nodeTopic(node.nodeId, 'cmd'))
        client.publish(nodeTopic(node.nodeId, 'cmd-result'), JSON.stringify({ id: command.id, ok: true }), {
          qos: 1,
        });
    });
    return received;
  }

  async function jobState(replica: Replica, nodeId: string, jobId: string): Promise<string> {
    return (await api<{ state: string }>(replica, 'GET', `/nodes/${nodeId}/lifecycle-jobs/${jobId}`)).state;
  }

  const resultsAudited = (jobId: string) =>
    a.db.auditEvent.count({ where: { action: 'node.lifecycle_result', after: { contains: jobId } } });

  async function staleStatuses(replica: InProcessReplica): Promise<number> {
    const metric = await replica.app.metrics.mqttMessages.get();
    return metric.values.find((v) => v.labels.topic === 'status' && v.labels.outcome === 'stale')?.value ?? 0;
  }

  beforeAll(async () => {
    // Database 5 of the run's Redis is this file's (keys; pub/sub is shared, node ids are not).
    redisUrl = `${inject('redisUrl')}/5`;
    redis = new Redis(redisUrl);
    await redis.flushdb();
    databaseUrl = await createDatabase(inject('pgBaseUrl'), uniqueDatabaseName('mqtt_cluster'));
    await migrate({ provider: 'postgresql', url: databaseUrl });
    [a, b, c] = await Promise.all([
      inProcessReplica('a', databaseUrl, redisUrl),
      inProcessReplica('b', databaseUrl, redisUrl),
      processReplica('c', databaseUrl, redisUrl),
    ]);
    await fetch(`${a.base}/api/v1/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(OWNER),
    });
    const login = await fetch(`${a.base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(OWNER),
    });
    owner = ((await login.json()) as { data: { token: string } }).data.token;
    for (const id of [
      'mc-meter',
      'mc-ws',
      'mc-cmd',
      'mc-will',
      'mc-acl',
      'mc-revoke',
      'mc-listen',
      'mc-nowill',
      'mc-http',
      ...AGENTS,
    ])
      nodes[id] = await enroll(id);
  }, 120_000);

  afterAll(async () => {
    const step = async (what: string, run: () => Promise<unknown>) => {
      const started = performance.now();
      await run();
      if (performance.now() - started > 5_000)
        console.warn(`teardown: ${what} took ${Math.round(performance.now() - started)} ms`);
    };
    await step('agents', async () => {
      for (const agent of agents) await agent.stop();
    });
    await step('clients', () => Promise.all(clients.map((client) => client.endAsync(true).catch(() => {}))));
    await step('balancer', async () => lb?.close());
    restoreEnv();
    await step('sound', async () => sink?.stop());
    for (const replica of [a, b, c].filter(Boolean)) await step(replica.name, () => replica.stop());
    for (const dir of dirs) await dir.cleanup();
    await redis?.quit();
  });

  it("a node's meters on B reach SSE streams on A and on C", async () => {
    const node = nodes['mc-meter']!;
    const client = await asNode(node, b.mqttPort);
    const headers = { authorization: `Bearer ${owner}` };
    const onA = await openSse(`${a.base}/api/v1/meter-events?nodeId=${node.nodeId}`, headers);
    const onC = await openSse(`${c.base}/api/v1/meter-events?nodeId=${node.nodeId}`, headers);
    let seq = 1;
    const timer = setInterval(
      () => client.publish(nodeTopic(node.nodeId, 'meters'), JSON.stringify(frame(seq++)), { qos: 0 }),
      100,
    );
    try {
      const [fromA, fromC] = await Promise.all([onA.meter(), onC.meter()]);
      expect(fromA.nodeId).toBe(node.nodeId);
      expect(fromC.nodeId).toBe(node.nodeId);
      expect(fromA.frame.seq).toBeGreaterThanOrEqual(1);
      // Each replica passes each frame on once: consecutive frames, none twice.
      const next = await onA.meter();
      expect(next.frame.seq).toBe(fromA.frame.seq + 1);
    } finally {
      clearInterval(timer);
      onA.close();
      onC.close();
    }
  });

  it('a meter frame an agent without MQTT posts to A over HTTP reaches SSE streams on B and on C', async () => {
    const node = nodes['mc-http']!;
    const headers = { authorization: `Bearer ${owner}` };
    const onB = await openSse(`${b.base}/api/v1/meter-events?nodeId=${node.nodeId}`, headers);
    const onC = await openSse(`${c.base}/api/v1/meter-events?nodeId=${node.nodeId}`, headers);
    try {
      const posted = await fetch(`${a.base}/api/v1/nodes/${node.nodeId}/meter-frame`, {
        method: 'POST',
        headers: { authorization: `Bearer ${node.credential}`, 'content-type': 'application/json' },
        body: JSON.stringify(frame(41)),
      });
      expect(posted.status).toBe(204);
      const [fromB, fromC] = await Promise.all([onB.meter(), onC.meter()]);
      expect([fromB.frame.seq, fromC.frame.seq]).toEqual([41, 41]);
      expect(fromB.nodeId).toBe(node.nodeId);
    } finally {
      onB.close();
      onC.close();
    }
  });

  it('listeners on A and on C hear a node connected to B: a stream each, every frame once, in order', async () => {
    const node = nodes['mc-listen']!;
    const agent = await fakeListenAgentOn(node, b.mqttPort);
    clients.push(agent.client);
    await goOnline(agent.client, node);
    await until(async () => (await online(a, node.nodeId)) && (await online(c, node.nodeId)), {
      what: 'A and C to see the node online',
    });
    const heard = { a: [] as Int16Array[], c: [] as Int16Array[] };
    const connections: ListenConnection[] = [];
    try {
      for (const [replica, into] of [
        [a, heard.a],
        [c, heard.c],
      ] as const)
        connections.push(
          await listen({ baseUrl: replica.base, token: owner, nodeId: node.nodeId }, ({ pcm }: HeardFrame) =>
            into.push(pcm),
          ),
        );
      // Sessions live in each replica's memory: each asks the agent for its own stream.
      await until(() => agent.streams.size === 2, { what: 'a listen-start from A and one from C' });
      for (const streamId of agent.streams.keys()) agent.send(tonePackets(50), { streamId });
      await until(() => connections.every((c) => c.stats.frames === 50), {
        what: 'fifty frames on each listener',
      });
      for (const [i, pcm] of [heard.a, heard.c].entries()) {
        expect(connections[i]!.stats.lost).toBe(0);
        expect(toneFrequency(joined(pcm).subarray(960 * 5))).toBeCloseTo(997, 0);
      }
    } finally {
      for (const connection of connections) await connection.close();
    }
    await until(() => agent.streams.size === 0, { what: 'both replicas told the agent to stop' });
  });

  it('MQTT over WebSocket still works: a node on A over /mqtt is online and metered on B', async () => {
    const node = nodes['mc-ws']!;
    const client = await mqtt.connectAsync(`${a.base.replace('http', 'ws')}/mqtt`, {
      username: node.nodeId,
      password: node.credential,
      clientId: node.nodeId,
      reconnectPeriod: 0,
    });
    clients.push(client);
    await goOnline(client, node);
    await until(() => online(b, node.nodeId), { what: 'B to see the WebSocket node online' });
    const onB = await openSse(`${b.base}/api/v1/meter-events?nodeId=${node.nodeId}`, {
      authorization: `Bearer ${owner}`,
    });
    let seq = 1;
    const timer = setInterval(
      () => client.publish(nodeTopic(node.nodeId, 'meters'), JSON.stringify(frame(seq++)), { qos: 0 }),
      100,
    );
    try {
      expect((await onB.meter()).nodeId).toBe(node.nodeId);
    } finally {
      clearInterval(timer);
      onB.close();
    }
  });

  it('a command sent through A reaches a node on B, also one that was offline and came back on B; each result is stored once and listed by every replica', async () => {
    const node = nodes['mc-cmd']!;
    // Online on A, then gone: a lifecycle request through A waits for it.
    const first = await asNode(node, a.mqttPort);
    await goOnline(first, node);
    await until(() => online(b, node.nodeId), { what: 'B to see the node online' });
    await first.endAsync();
    await until(async () => !(await online(a, node.nodeId)), { what: 'A to see the node offline' });
    const queued = await api<{ id: string; state: string }>(
      a,
      'POST',
      `/nodes/${node.nodeId}/lifecycle/reload-config`,
    );
    expect(queued.state).toBe('queued');

    // It comes back on B: B sends what waited, the node answers, the job ends once.
    const back = await asNode(node, b.mqttPort, { clean: true });
    const received = answering(back, node);
    await back.subscribeAsync(nodeTopic(node.nodeId, 'cmd'), { qos: 1 });
    await goOnline(back, node);
    await until(async () => (await jobState(a, node.nodeId, queued.id)) === 'succeeded', {
      what: 'the queued job to succeed',
    });

    // Now connected to B: a request through A is sent at once and answered.
    await until(() => online(a, node.nodeId), { what: 'A to see the node online' });
    const live = await api<{ id: string }>(a, 'POST', `/nodes/${node.nodeId}/lifecycle/reload-config`);
    await until(async () => (await jobState(c, node.nodeId, live.id)) === 'succeeded', {
      what: 'the live job to succeed',
    });
    expect(received.filter((cmd) => cmd.id === live.id)).toHaveLength(1);
    expect(await resultsAudited(queued.id)).toBe(1);
    expect(await resultsAudited(live.id)).toBe(1);
    // Every replica lists the results (B received them), each once.
    for (const replica of [a, b, c]) {
      const listed = async () =>
        (
          await api<{ id: string; ok: boolean }[]>(replica, 'GET', `/nodes/${node.nodeId}/command-results`)
        ).filter((result) => result.ok);
      await until(async () => (await listed()).length === received.length, {
        what: `${replica.name} to list the node's ${received.length} results`,
      });
      expect(new Set((await listed()).map((result) => result.id)).size).toBe(received.length);
    }

    // A health event reported on B is stored (and audited) once, not by every replica.
    const report = {
      id: 'mc-cmd-silence-1',
      type: 'silence',
      severity: 'warning',
      state: 'open',
      message: 'silent for 10 s',
      firstSeenAt: new Date().toISOString(),
      lastSeenAt: new Date().toISOString(),
      count: 1,
    };
    await back.publishAsync(nodeTopic(node.nodeId, 'events'), JSON.stringify(report), { qos: 1 });
    await until(async () => (await a.db.healthEvent.count({ where: { id: report.id } })) === 1, {
      what: 'the health event to be stored',
    });
    const audited = () =>
      a.db.auditEvent.count({ where: { action: 'health_event.report', targetId: report.id } });
    expect(await audited()).toBe(1);
  });

  it("a stale will (the replaced connection's, on another replica) does not mark the node offline", async () => {
    const node = nodes['mc-will']!;
    const old = await asNode(node, a.mqttPort, { will: offlineWill(node) });
    await goOnline(old, node);
    await until(() => online(c, node.nodeId), { what: 'C to see the node online' });
    const staleBefore = (await staleStatuses(a)) + (await staleStatuses(b));
    const closed = new Promise<void>((resolve) => old.once('close', () => resolve()));

    // The node reconnects to B before A noticed its old socket go: A closes the old
    // connection (client-id takeover) and its will publishes, older than B's connection.
    const fresh = await asNode(node, b.mqttPort, { will: offlineWill(node) });
    await goOnline(fresh, node);
    await closed;
    await until(async () => (await staleStatuses(a)) + (await staleStatuses(b)) > staleBefore, {
      what: "the old connection's will to be judged stale",
    });
    for (const replica of [a, b, c]) expect(await online(replica, node.nodeId), replica.name).toBe(true);
  });

  it("a node can neither read nor write another node's topics through any replica", async () => {
    const victim = nodes['mc-meter']!;
    const intruder = nodes['mc-acl']!;
    const onA = await asNode(intruder, a.mqttPort);
    for (const topic of [
      nodeTopic(victim.nodeId, 'cmd'),
      nodeTopic(victim.nodeId, 'status'),
      'earshot/v1/nodes/+/cmd',
    ]) {
      const granted = await onA.subscribeAsync(topic, { qos: 1 }).then(
        (grants) => grants.map((g) => g.qos),
        (error: { packet?: { granted?: number[] } }) => error.packet?.granted ?? [],
      );
      expect(granted, topic).toEqual([128]);
    }
    const messages: string[] = [];
    onA.on('message', (topic) => messages.push(topic));
    await onA.subscribeAsync(nodeTopic(intruder.nodeId, 'cmd'), { qos: 1 });

    // The victim on C gets its command; the intruder (subscribed to its own) sees nothing of it.
    const victimClient = await asNode(victim, c.mqttPort);
    const received = answering(victimClient, victim);
    await victimClient.subscribeAsync(nodeTopic(victim.nodeId, 'cmd'), { qos: 1 });
    await goOnline(victimClient, victim);
    await until(() => online(a, victim.nodeId), { what: 'A to see the victim online' });
    const job = await api<{ id: string }>(a, 'POST', `/nodes/${victim.nodeId}/lifecycle/reload-config`);
    await until(() => received.some((cmd) => cmd.id === job.id), { what: 'the victim to get its command' });
    expect(messages).toEqual([]);

    // Publishing on the victim's topic through B: refused, the connection closed, nothing relayed.
    const onB = await asNode(intruder, b.mqttPort);
    const closed = new Promise<void>((resolve) => onB.once('close', () => resolve()));
    onB.publish(nodeTopic(victim.nodeId, 'meters'), JSON.stringify(frame(999_999)), { qos: 0 });
    await closed;
    const denied = () =>
      a.db.auditEvent.count({
        where: { action: 'mqtt.publish', outcome: 'denied', actorId: intruder.nodeId },
      });
    await until(async () => (await denied()) === 1, { what: 'the refused publish to be audited' });
    for (const replica of [a, c]) {
      const latest = await api<{ frame: MeterFrame | null }>(
        replica,
        'GET',
        `/nodes/${victim.nodeId}/meters`,
      );
      expect(latest.frame?.seq, replica.name).not.toBe(999_999);
    }
  });

  it('a node decommissioned through A is disconnected on B, where it is connected, and refused on C', async () => {
    const node = nodes['mc-revoke']!;
    const client = await asNode(node, b.mqttPort);
    await goOnline(client, node);
    await until(() => online(a, node.nodeId), { what: 'A to see the node online' });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await api(a, 'POST', `/nodes/${node.nodeId}/decommission`);
    await closed;
    await expect(asNode(node, c.mqttPort)).rejects.toMatchObject({ code: 4 });
  });

  it('a replica started later knows who is online from the retained statuses', async () => {
    const node = nodes['mc-will']!; // online on B since the stale-will test
    expect(await online(a, node.nodeId)).toBe(true);
    const late = await inProcessReplica('d', databaseUrl, redisUrl);
    try {
      expect(await online(late, node.nodeId)).toBe(true);
      expect(await online(late, nodes['mc-revoke']!.nodeId)).toBe(false);
    } finally {
      await late.stop();
    }
  });

  /** Waits until a meter stream of `replica` has shown a frame of every node in `ids`. */
  async function metersOfAll(replica: Replica, ids: string[]): Promise<void> {
    const seen = new Set<string>();
    const query = ids.map((id) => `nodeId=${id}`).join('&');
    await readSse(
      `${replica.base}/api/v1/meter-events?${query}`,
      { authorization: `Bearer ${owner}` },
      (event) => {
        if (event.event === 'meter') seen.add((JSON.parse(event.data) as { nodeId: string }).nodeId);
        return seen.size === ids.length;
      },
      SETTLE_MS,
    );
    expect([...seen].sort(), replica.name).toEqual([...ids].sort());
  }

  /** Starts the agents one by one through the balancer (so its round robin places them in order). */
  async function startAgents(through: Balancer): Promise<void> {
    const real = await hasPulse();
    if (real) {
      sink = await startPulseSink({ peakDbfs: TONE_DBFS, hz: 997, sampleRate: 48_000, channels: 2 });
      restoreEnv = useSinkEnv(sink);
    } else console.warn('mqtt-cluster: no PulseAudio/sox here; every agent has the fake sound card');
    for (const [i, id] of AGENTS.entries()) {
      const dir = await tempDir(`mqtt-cluster-${id}`);
      dirs.push(dir);
      const realAudio = real && i === 0;
      const settings = await enrolledAgentSettings(
        dir.path,
        nodes[id]!,
        a.base,
        `mqtt://127.0.0.1:${through.port}`,
        realAudio && sink ? { EARSHOT_AGENT_DEVICE: sink.monitor } : {},
      );
      const agent = testAgent(settings, {
        syncIntervalMs: 3_600_000,
        ...(realAudio ? { createCapture: undefined } : {}), // the real sox capture
      });
      agents.push(agent);
      await agent.start();
      await until(() => online(a, id), { what: `${id} online` });
    }
  }

  it(`kill -9 of a replica: four agents spread across the replicas, metered on every one; those of the dead one end online on the others within ${SETTLE_MS / 1000} s, its stale wills lose, results stored once`, async () => {
    // Round robin from C: the agents land on C, A, B, C.
    lb = await balancer([c.mqttPort, a.mqttPort, b.mqttPort], { roundRobin: true });
    await startAgents(lb);
    expect(lb.routed.slice(0, 4)).toEqual([c.mqttPort, a.mqttPort, b.mqttPort, c.mqttPort]);
    const ids = AGENTS.filter((_, i) => lb!.routed[i] === c.mqttPort);
    // Every agent's meters on every replica's stream, wherever the agent is connected.
    await Promise.all([a, b, c].map((replica) => metersOfAll(replica, AGENTS)));
    // A node whose will names another node's status: a survivor must forget it, not publish it
    // (nor retry it forever).
    const victim = nodes['mc-cmd']!; // online on B since the command test
    await asNode(nodes['mc-acl']!, c.mqttPort, { will: offlineWill(victim) });
    expect(await online(a, victim.nodeId)).toBe(true);
    // Nodes on C that set no will: mc-meter (since the ACL test), and one that will come back on A.
    const gone = nodes['mc-meter']!;
    const back = nodes['mc-nowill']!;
    await goOnline(await asNode(back, c.mqttPort), back);
    for (const node of [gone, back])
      await until(() => online(a, node.nodeId), { what: `${node.nodeId} online` });
    const withC = [...ids, 'mc-acl', gone.nodeId, back.nodeId];
    const cBroker = (await redis.lrange('will', 0, -1)).filter((key) =>
      withC.some((id) => key.endsWith(`:${id}`)),
    );
    // Their wills, left with C; the broker gave the two without one the agent's (offline).
    expect(cBroker).toHaveLength(withC.length);

    const killedAt = performance.now();
    c.process.child.kill('SIGKILL');
    await c.process.exited;
    // One node without a will reconnects to A at once, as an agent would: a newer epoch.
    await goOnline(await asNode(back, a.mqttPort), back);
    // C's agents reconnect through the balancer to A or B; C's wills, published later by a survivor, lose.
    for (const id of ids)
      await until(async () => (await online(a, id)) && (await online(b, id)), {
        what: `${id} online on A and B`,
        timeoutMs: SETTLE_MS,
      });
    const onlineAfterMs = performance.now() - killedAt;
    await until(async () => !(await redis.lrange('will', 0, -1)).some((key) => cBroker.includes(key)), {
      what: "C's wills to be published by a survivor",
      timeoutMs: SETTLE_MS,
    });
    const settledMs = performance.now() - killedAt;
    for (const id of [...AGENTS, victim.nodeId, back.nodeId])
      for (const replica of [a, b]) expect(await online(replica, id), `${id} on ${replica.name}`).toBe(true);
    // The node that set no will and did not come back is offline on the survivors (its
    // connection's offline, published by one of them), not online forever.
    for (const replica of [a, b])
      await until(async () => !(await online(replica, gone.nodeId)), {
        what: `${gone.nodeId} offline on ${replica.name}`,
        timeoutMs: SETTLE_MS,
      });
    await Promise.all([a, b].map((replica) => metersOfAll(replica, AGENTS)));
    if (sink) {
      // The agent capturing real audio, reconnected to a survivor: its tone's level on the other.
      const [real] = AGENTS as [string];
      await until(
        async () => {
          const { frame } = await api<{ frame: MeterFrame | null }>(b, 'GET', `/nodes/${real}/meters`);
          const peak = frame?.channels[0]?.peakDbfs ?? Number.NEGATIVE_INFINITY;
          return Math.abs(peak - TONE_DBFS) < 1.5;
        },
        { what: `${real}'s tone in its meters on B`, timeoutMs: SETTLE_MS },
      );
    }
    const retained = await redis.hgetBuffer('retained', nodeTopic(victim.nodeId, 'status'));
    expect(retained?.includes('"state":"online"'), "the victim's retained status").toBe(true);
    console.info(
      `kill -9: agents online elsewhere after ${Math.round(onlineAfterMs)} ms; C's wills gone after ${Math.round(settledMs)} ms`,
    );

    // A command through B reaches each agent (wherever it is now) and is answered, stored once.
    for (const id of AGENTS) {
      const job = await api<{ id: string }>(b, 'POST', `/nodes/${id}/lifecycle/reload-config`);
      await until(async () => (await jobState(a, id, job.id)) === 'succeeded', {
        what: `${id}'s job to succeed`,
      });
      expect(await resultsAudited(job.id)).toBe(1);
    }
  });
});
