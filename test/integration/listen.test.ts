/**
 * Live listen through the real controller: HTTP to open a session, a real WebSocket with the
 * single-use ticket, the real broker carrying Opus frames from a node (a real mqtt.js client
 * playing the agent), and the project's listen client decoding them.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  type HeardFrame,
  type ListenConnection,
  ListenRefused,
  listen,
} from '../../controller/src/client/listen-client.js';
import { runListenCommand } from '../../controller/src/client/listen-command.js';
import { encodeListenFrame } from '../../shared/src/listen.js';
import { nodeTopic } from '../../shared/src/mqtt.js';
import { bearer, type TestController, testController, userWithRole } from '../support/controller.js';
import {
  type FakeListenAgent,
  fakeListenAgent,
  joined,
  listeningUrl,
  rmsDbfs,
  toneFrequency,
  tonePackets,
} from '../support/listen.js';
import { until } from '../support/until.js';

describe('live listen', () => {
  let ctl: TestController;
  let url: string;
  let owner: string;
  let east: FakeListenAgent;
  let west: FakeListenAgent;
  const open: ListenConnection[] = [];
  let clockOffsetMs = 0;

  const audits = async (action: string) =>
    ctl.db.auditEvent.findMany({ where: { action }, orderBy: { seq: 'asc' } });
  const connect = async (
    token: string,
    nodeId: string,
    onFrame?: (heard: HeardFrame) => void,
    extra = {},
  ) => {
    const connection = await listen({ baseUrl: url, token, nodeId, ...extra }, onFrame);
    open.push(connection);
    return connection;
  };
  const startCommands = (agent: FakeListenAgent) => agent.commands.filter((c) => c.type === 'listen-start');

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1' }, () => new Date(Date.now() + clockOffsetMs));
    await ctl.start();
    url = await listeningUrl(ctl);
    owner = await ctl.ownerToken();
    east = await fakeListenAgent(ctl, { id: 'listen-east', site: 'east', channels: 2 });
    west = await fakeListenAgent(ctl, { id: 'listen-west', site: 'west' });
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close().catch(() => {})));
    await Promise.all([east.close(), west.close()]);
    await ctl.stop();
  });

  it('streams a node to a listener: hello, Opus frames in order, one audit at each end', async () => {
    const heard: Int16Array[] = [];
    const connection = await connect(owner, east.nodeId, ({ pcm }) => heard.push(pcm));
    expect(connection.hello).toMatchObject({
      type: 'hello',
      nodeId: east.nodeId,
      codec: 'opus',
      channels: [1],
    });
    await until(() => east.streams.size === 1, { what: 'the agent was asked for a stream' });
    const [streamId] = [...east.streams.keys()];
    expect(east.streams.get(streamId!)).toMatchObject({ channels: [1], bitrate: 64_000 });

    east.send(tonePackets(50));
    await until(() => connection.stats.frames === 50, { what: 'fifty frames heard' });
    expect(connection.stats.lost).toBe(0);
    const pcm = joined(heard).subarray(960 * 5); // past the codec's start-up
    expect(toneFrequency(pcm)).toBeCloseTo(997, 0);
    expect(rmsDbfs(pcm)).toBeGreaterThan(-9.5);
    expect(rmsDbfs(pcm)).toBeLessThan(-8.5); // a 0.5 sine: −9.03 dBFS

    const sessions = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/nodes/${east.nodeId}/listen`,
      headers: bearer(owner),
    });
    expect(sessions.json().data).toMatchObject([
      { id: connection.sessionId, state: 'open', framesSent: 50, framesDropped: 0 },
    ]);

    expect(await connection.close()).toBe(4000);
    await until(() => east.streams.size === 0, { what: 'the agent was told to stop' });
    const started = await audits('listen.start');
    const ended = await audits('listen.end');
    expect(started.filter((e) => e.targetId === east.nodeId)).toHaveLength(1);
    await until(async () => (await audits('listen.end')).length === ended.length || ended.length > 0);
    const end = (await audits('listen.end')).find(
      (e) => JSON.parse(e.after ?? '{}').sessionId === connection.sessionId,
    );
    expect(end?.reason).toBe('ended by its user');
    expect(JSON.parse(end!.after!)).toMatchObject({ framesSent: 50, framesDropped: 0 });
  });

  it('counts sequence gaps and ignores frames of a stream the node does not own', async () => {
    const connection = await connect(owner, east.nodeId);
    await until(() => east.streams.size === 1);
    // Ending a session answers 204, like every delete; its counts go to its audit event.
    const other = await connect(owner, east.nodeId);
    const stopped = await ctl.app.inject({
      method: 'DELETE',
      url: `/api/v1/nodes/${east.nodeId}/listen/${other.sessionId}`,
      headers: bearer(owner),
    });
    expect([stopped.statusCode, stopped.body]).toEqual([204, '']);
    expect(await other.done).toBe(4000);
    const packets = tonePackets(10);
    east.send(packets.slice(0, 5));
    east.send(packets.slice(5), { fromSeq: 8 }); // 5, 6, 7 never sent
    await until(() => connection.stats.frames === 10);
    expect(connection.stats.lost).toBe(3);
    // Another node publishing into east's stream id reaches nobody.
    west.client.publish(
      nodeTopic(west.nodeId, 'listen'),
      encodeListenFrame({
        streamId: [...east.streams.keys()][0]!,
        seq: 100,
        capturedAtMs: Date.now(),
        sampleRate: 48_000,
        channels: 1,
        samples: 960,
        packet: packets[0]!,
      }),
    );
    east.send(packets.slice(0, 1), { fromSeq: 18 });
    await until(() => connection.stats.frames === 11);
    expect(connection.stats.lost).toBe(3 + 5); // 13–17
    await connection.close();
  });

  it("refuses a user without listen:monitor (403) and one outside the node's scope (404), and audits both", async () => {
    const viewer = await userWithRole(ctl, 'listen-viewer', 'viewer');
    const westOperator = await userWithRole(ctl, 'listen-west-op', 'operator', {
      type: 'site',
      id: (await ctl.db.node.findUniqueOrThrow({ where: { id: west.nodeId } })).siteId,
    });
    await expect(listen({ baseUrl: url, token: viewer, nodeId: east.nodeId })).rejects.toMatchObject({
      status: 403,
    });
    await expect(listen({ baseUrl: url, token: westOperator, nodeId: east.nodeId })).rejects.toMatchObject({
      status: 404,
    });
    const connection = await connect(westOperator, west.nodeId);
    expect(connection.hello.nodeId).toBe(west.nodeId);
    await connection.close();
    const denied = await ctl.db.auditEvent.findMany({
      where: { outcome: 'denied', actorName: { in: ['listen-viewer', 'listen-west-op'] } },
    });
    expect(denied.length).toBeGreaterThanOrEqual(2);
  });

  it('a ticket opens one socket, once; an unused ticket expires', async () => {
    const opened = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${east.nodeId}/listen`,
      headers: bearer(owner),
      payload: {},
    });
    expect(opened.statusCode, opened.body).toBe(201);
    const { ticket, websocketPath, session } = opened.json().data;
    // Presented on another node's stream, it opens nothing (and stays good for its own).
    const elsewhere = await socketWith(
      `${url.replace('http', 'ws')}/api/v1/nodes/${west.nodeId}/listen/stream?ticket=${ticket}`,
    );
    expect(await elsewhere.closed).toBe(4001);
    expect(websocketPath).toBe(`/api/v1/nodes/${east.nodeId}/listen/stream`);
    const first = await socketWith(`${url.replace('http', 'ws')}${websocketPath}?ticket=${ticket}`);
    expect(first.messages[0]).toMatchObject({ type: 'hello', sessionId: session.id });
    const second = await socketWith(`${url.replace('http', 'ws')}${websocketPath}?ticket=${ticket}`);
    expect(await second.closed).toBe(4001);
    expect(second.messages[0]).toMatchObject({ type: 'end' });
    first.socket.close();
    await first.closed;

    const late = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${east.nodeId}/listen`,
      headers: bearer(owner),
      payload: {},
    });
    clockOffsetMs += 31_000;
    try {
      await until(async () => !(await listed(late.json().data.session.id)), {
        what: 'the unused session ended',
      });
    } finally {
      clockOffsetMs -= 31_000;
    }
    const refused = await socketWith(`${url.replace('http', 'ws')}${websocketPath}`, late.json().data.ticket);
    expect(await refused.closed).toBe(4001);
    const end = (await audits('listen.end')).find(
      (e) => JSON.parse(e.after ?? '{}').sessionId === late.json().data.session.id,
    );
    expect(end?.reason).toBe('ticket not used in time');
  });

  it("ends a session when its user's access is revoked", async () => {
    const token = await userWithRole(ctl, 'listen-revoked', 'operator');
    const user = await ctl.db.user.findUniqueOrThrow({ where: { username: 'listen-revoked' } });
    const apiToken = (
      await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/auth/api-tokens',
        headers: bearer(token),
        payload: { name: 'listen' },
      })
    ).json().data.token as string;
    const connection = await connect(apiToken, east.nodeId);
    const changed = await ctl.app.inject({
      method: 'PATCH',
      url: `/api/v1/auth/users/${user.id}/access`,
      headers: bearer(owner),
      payload: { grants: [{ role: 'viewer', scope: { type: 'fleet' } }] },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(await connection.done).toBe(4003);
    expect(connection.endReason).toBe('access revoked');
  });

  it('ten listeners share one agent stream; a stalled one is dropped and the others hear every frame', async () => {
    const before = new Set(startCommands(east).map((c) => (c.args as { streamId: string }).streamId));
    const listeners = await Promise.all(
      Array.from({ length: 10 }, () => connect(owner, east.nodeId, undefined, { decode: false })),
    );
    await until(() => east.streams.size === 1);
    const asked = new Set(
      startCommands(east)
        .map((c) => (c.args as { streamId: string }).streamId)
        .filter((id) => !before.has(id)),
    );
    expect(asked.size).toBe(1);
    const sessions = (
      await ctl.app.inject({
        method: 'GET',
        url: `/api/v1/nodes/${east.nodeId}/listen`,
        headers: bearer(owner),
      })
    ).json().data as { streamId: string }[];
    expect(sessions).toHaveLength(10);
    expect(new Set(sessions.map((s) => s.streamId))).toEqual(asked);

    // An eleventh listener that stops reading.
    const opened = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${east.nodeId}/listen`,
      headers: bearer(owner),
      payload: {},
    });
    const { ticket, websocketPath, session } = opened.json().data;
    const stalled = await socketWith(`${url.replace('http', 'ws')}${websocketPath}`, ticket);
    const raw = (stalled.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();

    // About 1.2 MB/s until the stalled socket leaves a ping unanswered (5–10 s).
    const packet = Buffer.alloc(1200, 7);
    let sent = 0;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await listed(session.id))) {
      east.send(
        Array.from({ length: 20 }, () => packet),
        { fromSeq: 1000 + sent },
      );
      sent += 20;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await listed(session.id)).toBe(false);
    raw.resume();
    expect(await stalled.closed).toBe(1006); // terminated: a stalled reader gets no closing handshake
    const end = (await audits('listen.end')).find(
      (e) => JSON.parse(e.after ?? '{}').sessionId === session.id,
    );
    expect(end?.reason).toBe('listener too slow (stalled)');
    await until(() => listeners.every((l) => l.stats.frames === sent), {
      what: 'every other listener heard every frame',
    });
    for (const l of listeners) expect(l.stats.lost).toBe(0);
    await Promise.all(listeners.map((l) => l.close()));
    await until(() => east.streams.size === 0);
  });

  it("a refused listen-start ends the sessions of its stream with the agent's reason", async () => {
    west.answer = (command) =>
      command.type === 'listen-start' ? { ok: false, message: 'channel 2 is not captured' } : { ok: true };
    try {
      const connection = await connect(owner, west.nodeId, undefined, { channels: [2] });
      expect(await connection.done).toBe(4009);
      expect(connection.endReason).toBe('the agent refused: channel 2 is not captured');
    } finally {
      west.answer = undefined;
    }
  });

  it('earshot-controller listen writes what it hears to a WAV file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'listen-cli-'));
    const out = join(dir, 'heard.wav');
    const previous = process.env.EARSHOT_TOKEN;
    process.env.EARSHOT_TOKEN = owner;
    try {
      const ran = runListenCommand(east.nodeId, { url, channels: '1', seconds: '1.5', out });
      await until(() => east.streams.size === 1, { what: 'the CLI listening' });
      east.send(tonePackets(25));
      expect(await ran).toBe(0);
      const wav = await readFile(out);
      expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
      expect(wav.readUInt16LE(22)).toBe(1); // mono
      expect(wav.readUInt32LE(24)).toBe(48_000);
      const pcm = new Int16Array(wav.buffer, wav.byteOffset + 44, (wav.length - 44) / 2);
      expect(pcm.length).toBe(25 * 960);
      expect(toneFrequency(pcm.subarray(4800))).toBeCloseTo(997, 0);
    } finally {
      if (previous === undefined) delete process.env.EARSHOT_TOKEN;
      else process.env.EARSHOT_TOKEN = previous;
      await rm(dir, { recursive: true, force: true });
    }
    await until(() => east.streams.size === 0, { what: 'the CLI session ended' });
  });

  it('earshot-controller listen exits 1 when the agent refuses, or when nothing is heard', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'listen-cli-'));
    const previous = process.env.EARSHOT_TOKEN;
    process.env.EARSHOT_TOKEN = owner;
    west.answer = (command) =>
      command.type === 'listen-start' ? { ok: false, message: 'channel 2 is not captured' } : { ok: true };
    try {
      const refused = runListenCommand(west.nodeId, { url, channels: '2', out: join(dir, 'refused.wav') });
      expect(await refused).toBe(1);
      west.answer = undefined;
      // Accepted, but the agent sends nothing before the CLI stops.
      const silent = runListenCommand(east.nodeId, {
        url,
        channels: '1',
        seconds: '0.5',
        out: join(dir, 'silent.wav'),
      });
      expect(await silent).toBe(1);
    } finally {
      west.answer = undefined;
      if (previous === undefined) delete process.env.EARSHOT_TOKEN;
      else process.env.EARSHOT_TOKEN = previous;
      await rm(dir, { recursive: true, force: true });
    }
    await until(() => east.streams.size === 0 && west.streams.size === 0, { what: 'the CLI sessions ended' });
  });

  it('answers bad input with 400s', async () => {
    for (const payload of [
      { channels: [] },
      { channels: [1, 1] },
      { channels: [1, 2, 3] },
      { bitrate: 10 },
      { extra: true },
    ]) {
      const response = await ctl.app.inject({
        method: 'POST',
        url: `/api/v1/nodes/${east.nodeId}/listen`,
        headers: bearer(owner),
        payload,
      });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
    }
    const missing = await ctl.app.inject({
      method: 'DELETE',
      url: `/api/v1/nodes/${east.nodeId}/listen/ls_nope`,
      headers: bearer(owner),
    });
    expect(missing.statusCode).toBe(404);
    await expect(listen({ baseUrl: url, token: owner, nodeId: 'no-such-node' })).rejects.toBeInstanceOf(
      ListenRefused,
    );
    await expect(
      listen({ baseUrl: 'http://127.0.0.1:9', token: owner, nodeId: east.nodeId }),
    ).rejects.toThrow(/cannot reach the controller at http:\/\/127\.0\.0\.1:9/);
  });

  async function listed(sessionId: string): Promise<boolean> {
    const response = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/nodes/${east.nodeId}/listen`,
      headers: bearer(owner),
    });
    return (response.json().data as { id: string }[]).some((s) => s.id === sessionId);
  }
});

/** A raw WebSocket that sends `ticket` first (when given) and keeps the text messages it gets. */
async function socketWith(address: string, ticket?: string) {
  const socket = new WebSocket(address);
  const messages: { type: string }[] = [];
  socket.on('message', (data, isBinary) => {
    if (!isBinary) messages.push(JSON.parse(data.toString()));
  });
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  if (ticket) socket.send(ticket);
  await until(() => messages.length > 0 || socket.readyState !== WebSocket.OPEN, { what: 'a first message' });
  return { socket, messages, closed };
}
