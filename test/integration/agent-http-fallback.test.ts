/**
 * The HTTP fallback of the agent's live topics, for an agent whose MQTT connection is down:
 * `POST /api/v1/nodes/:id/meter-frame` (a meter frame as JSON) and `POST …/listen/chunk` (one
 * binary listen frame). Through the real controller over real HTTP: a frame posted there reaches
 * what a published one reaches (the meter snapshot and stream, a listener's WebSocket); a node
 * posts for itself only (another node's id is a hidden 404, audited); bad input is a 4xx and
 * changes nothing. The cluster case (posted to one replica, heard on another) is in
 * mqtt-cluster.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HeardFrame, type ListenConnection, listen } from '../../controller/src/client/listen-client.js';
import { encodeListenFrame, LISTEN_SAMPLE_RATE } from '../../shared/src/listen.js';
import type { MeterFrame } from '../../shared/src/mqtt.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import {
  type FakeListenAgent,
  fakeListenAgentOn,
  joined,
  listeningUrl,
  toneFrequency,
  tonePackets,
} from '../support/listen.js';
import { openSse } from '../support/sse.js';
import { until } from '../support/until.js';

type Node = { nodeId: string; credential: string; siteId: string };

const frame = (seq: number, peakDbfs = -12): MeterFrame => ({
  v: 1,
  seq,
  capturedAtMs: Date.now(),
  windowMs: 100,
  sampleRate: 48_000,
  channels: [{ peakDbfs, rmsDbfs: peakDbfs - 6, clipCount: 0 }],
});

describe('agent HTTP fallback: meter frames and listen chunks', () => {
  let ctl: TestController;
  let base: string;
  let owner: string;
  let north: Node;
  let south: Node;
  let listener: Node;
  let agent: FakeListenAgent;
  const open: ListenConnection[] = [];

  const post = (
    node: Node,
    path: string,
    body: string | Uint8Array,
    contentType: string,
    nodeId = node.nodeId,
  ) =>
    fetch(`${base}/api/v1/nodes/${nodeId}/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${node.credential}`, 'content-type': contentType },
      body: body as BodyInit,
    });
  const postFrame = (node: Node, body: unknown, nodeId?: string) =>
    post(node, 'meter-frame', JSON.stringify(body), 'application/json', nodeId);
  const snapshot = async (nodeId: string) =>
    (
      await ctl.app.inject({ method: 'GET', url: `/api/v1/nodes/${nodeId}/meters`, headers: bearer(owner) })
    ).json().data as { frame: MeterFrame | null };
  const deniedFor = async (response: Response) =>
    (await ctl.db.auditEvent.findMany({ where: { requestId: response.headers.get('x-request-id')! } })).map(
      (e) => [e.outcome, e.targetType, e.targetId],
    );

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1' });
    await ctl.start();
    base = await listeningUrl(ctl);
    owner = await ctl.ownerToken();
    north = await enrolledNode(ctl, { id: 'fallback-north', site: 'north' });
    south = await enrolledNode(ctl, { id: 'fallback-south', site: 'south' });
    listener = await enrolledNode(ctl, { id: 'fallback-listen', site: 'north' });
    agent = await fakeListenAgentOn(listener, ctl.broker.port()!);
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close().catch(() => {})));
    await agent.close();
    await ctl.stop();
  });

  it('a meter frame posted over HTTP is the live snapshot and reaches the meter stream', async () => {
    const stream = await openSse(`${base}/api/v1/meter-events?nodeId=${north.nodeId}`, bearer(owner));
    try {
      const response = await postFrame(north, frame(1, -14.5));
      expect(response.status).toBe(204);
      const heard = await stream.meter();
      expect(heard).toMatchObject({ nodeId: north.nodeId, frame: { seq: 1 } });
      expect(heard.frame.channels[0]!.peakDbfs).toBe(-14.5);
    } finally {
      stream.close();
    }
    expect((await snapshot(north.nodeId)).frame).toMatchObject({ seq: 1, channels: [{ peakDbfs: -14.5 }] });
  });

  it("refuses a frame for another node (hidden 404, audited) and leaves that node's meters alone", async () => {
    const before = await snapshot(south.nodeId);
    const meter = await postFrame(north, frame(2, -3), south.nodeId);
    expect(meter.status).toBe(404);
    expect(await deniedFor(meter)).toEqual([['denied', 'node', south.nodeId]]);
    expect(await snapshot(south.nodeId)).toEqual(before);

    const chunk = await post(
      north,
      'listen/chunk',
      listenFrame('s1', 0, tonePackets(1)[0]!),
      'application/octet-stream',
      south.nodeId,
    );
    expect(chunk.status).toBe(404);
    expect(await deniedFor(chunk)).toEqual([['denied', 'node', south.nodeId]]);
  });

  it('answers bad meter frames with a 400 that says what is wrong, and keeps the last good one', async () => {
    await postFrame(south, frame(7, -20));
    for (const [body, says] of [
      [{ ...frame(8), channels: [] }, /channels/],
      [{ ...frame(8), windowMs: 0 }, /windowMs/],
      [{ ...frame(8), extra: true }, /extra|additional/i],
    ] as const) {
      const response = await postFrame(south, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await response.json()).error.message).toMatch(says);
    }
    const notJson = await post(south, 'meter-frame', '{"seq":', 'application/json');
    expect(notJson.status).toBe(400);
    // No larger than its MQTT topic takes (64 KiB).
    const huge = await post(
      south,
      'meter-frame',
      JSON.stringify({ ...frame(8), pad: 'x'.repeat(70_000) }),
      'application/json',
    );
    expect(huge.status).toBe(413);
    expect((await snapshot(south.nodeId)).frame).toMatchObject({ seq: 7 });
    // A user's token is no node credential.
    const asUser = await fetch(`${base}/api/v1/nodes/${south.nodeId}/meter-frame`, {
      method: 'POST',
      headers: { ...bearer(owner), 'content-type': 'application/json' },
      body: JSON.stringify(frame(9)),
    });
    expect(asUser.status).toBe(403);
    expect((await snapshot(south.nodeId)).frame).toMatchObject({ seq: 7 });
  });

  it('listen chunks posted over HTTP reach the listener in order, as published frames do', async () => {
    const heard: Int16Array[] = [];
    const connection = await listen(
      { baseUrl: base, token: owner, nodeId: agent.nodeId },
      ({ pcm }: HeardFrame) => heard.push(pcm),
    );
    open.push(connection);
    await until(() => agent.streams.size === 1, { what: 'the agent was asked for a stream' });
    const [streamId] = [...agent.streams.keys()];
    const node = listener;
    for (const [seq, packet] of tonePackets(30).entries()) {
      const response = await post(
        node,
        'listen/chunk',
        listenFrame(streamId!, seq, packet),
        'application/octet-stream',
      );
      expect(response.status).toBe(204);
    }
    await until(() => connection.stats.frames === 30, { what: 'thirty frames heard' });
    expect(connection.stats.lost).toBe(0);
    expect(toneFrequency(joined(heard).subarray(960 * 5))).toBeCloseTo(997, 0);

    // Bad chunks: each a 4xx that names the fault, none heard.
    const bad: [string | Uint8Array, string, number, RegExp][] = [
      [
        Buffer.from('not a frame at all, but long enough to have a header'),
        'application/octet-stream',
        400,
        /version/,
      ],
      [Buffer.alloc(0), 'application/octet-stream', 400, /too short/],
      [Buffer.alloc(4096, 1), 'application/octet-stream', 413, /limit|large/i],
      [JSON.stringify({ frame: 1 }), 'application/json', 415, /content type|application\/octet-stream/i],
    ];
    for (const [body, type, status, says] of bad) {
      const response = await post(node, 'listen/chunk', body, type);
      expect(response.status, `${type} ${status}`).toBe(status);
      expect((await response.json()).error.message).toMatch(says);
    }
    expect(connection.stats.frames).toBe(30);
    await connection.close();
  });
});

function listenFrame(streamId: string, seq: number, packet: Buffer): Buffer {
  return encodeListenFrame({
    streamId,
    seq,
    capturedAtMs: Date.now(),
    sampleRate: LISTEN_SAMPLE_RATE,
    channels: 1,
    samples: 960,
    packet,
  });
}
