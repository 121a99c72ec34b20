/**
 * One stream per browser tab: the live events stream (`GET /api/v1/events`) carrying the meter
 * frames of the nodes it names (`?meters=a,b&meterRate=1|10`) beside its stored events, over
 * real HTTP. Frames come without an id (Last-Event-ID stays the last stored event's), a flood
 * of frames never ends the stream, a node outside the caller's scope refuses it, and
 * `?lastEventId=` resumes a stream a client opens itself (to change its nodes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeterFrame } from '../../shared/src/mqtt.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';
import { createRecording } from '../support/recordings.js';
import { openSse, type SseEvent } from '../support/sse.js';

type Node = { nodeId: string; siteId: string };

describe('live events carrying meter frames', () => {
  let ctl: TestController;
  let base: string;
  let owner: string;
  let north: Node;
  let south: Node;
  let seq = 0;

  function record(node: Node, peakDbfs: number, clipCount = 0) {
    const frame: MeterFrame = {
      seq: seq++,
      capturedAtMs: Date.now(),
      windowMs: 100,
      sampleRate: 48_000,
      channels: [{ peakDbfs, rmsDbfs: peakDbfs - 10, clipCount }],
    };
    ctl.services.meters.record(node, frame);
  }

  /** Reads events until one satisfies `wanted`, returning everything read (the last included). */
  async function readUntil(stream: Awaited<ReturnType<typeof openSse>>, wanted: (e: SseEvent) => boolean) {
    const seen: SseEvent[] = [];
    for (;;) {
      const event = await stream.next();
      seen.push(event);
      if (wanted(event)) return seen;
    }
  }

  beforeAll(async () => {
    ctl = await testController({ httpHost: '127.0.0.1' });
    base = await listeningUrl(ctl);
    owner = await ctl.ownerToken();
    north = await enrolledNode(ctl, { id: 'evmeter-n1', site: 'evm-north' });
    south = await enrolledNode(ctl, { id: 'evmeter-s1', site: 'evm-south' });
  });
  afterAll(async () => ctl.stop());

  it('carries the named nodes’ frames, without ids, between the stored events', async () => {
    const stream = await openSse(`${base}/api/v1/events?meters=${north.nodeId}`, bearer(owner));
    try {
      const ready = await stream.next();
      expect(ready.event).toBe('ready');
      record(south, -12); // not named: never arrives
      record(north, -20);
      const frame = await stream.next();
      expect(frame).toMatchObject({ event: 'meter' });
      expect(frame.id).toBeUndefined();
      expect(JSON.parse(frame.data)).toMatchObject({
        nodeId: north.nodeId,
        frame: { channels: [{ peakDbfs: -20 }] },
      });

      const created = await createRecording(ctl, owner, north.nodeId);
      record(north, -21);
      const seen = await readUntil(stream, (e) => e.event === 'recording.state');
      const change = seen.at(-1)!;
      expect(Number(change.id)).toBeGreaterThan(Number(ready.id));
      expect(JSON.parse(change.data)).toMatchObject({ subject: { id: created.id } });
      expect(
        seen.filter((e) => e.event === 'meter').every((e) => JSON.parse(e.data).nodeId === north.nodeId),
      ).toBe(true);
    } finally {
      stream.close();
    }
  });

  it('at meterRate=1 folds a node’s frames into one a second, clips kept', async () => {
    const stream = await openSse(`${base}/api/v1/events?meters=${north.nodeId}&meterRate=1`, bearer(owner));
    try {
      expect((await stream.next()).event).toBe('ready');
      record(north, -30); // the first frame passes at once
      expect((await stream.meter()).frame.channels[0]!.peakDbfs).toBe(-30);
      // The frames of the next moments wait, folded; none is sent within the second.
      record(north, -6, 2);
      record(north, -40);
      const created = await createRecording(ctl, owner, north.nodeId);
      const seen = await readUntil(stream, (e) => e.event === 'recording.state');
      expect(seen.filter((e) => e.event === 'meter')).toEqual([]);
      expect(JSON.parse(seen.at(-1)!.data)).toMatchObject({ subject: { id: created.id } });
    } finally {
      stream.close();
    }
  });

  it('a flood of frames never ends the stream: its events still arrive, in order', async () => {
    const stream = await openSse(`${base}/api/v1/events?meters=${north.nodeId}`, bearer(owner));
    try {
      expect((await stream.next()).event).toBe('ready');
      // More frames than the events queue holds (5,000), written while the reader reads nothing.
      for (let i = 0; i < 12_000; i++) record(north, -50 + (i % 10));
      const created = await createRecording(ctl, owner, north.nodeId);
      const seen = await readUntil(stream, (e) => e.event === 'recording.state');
      expect(seen.some((e) => e.event === 'end')).toBe(false);
      expect(JSON.parse(seen.at(-1)!.data)).toMatchObject({ subject: { id: created.id } });
    } finally {
      stream.close();
    }
  });

  it('resumes from ?lastEventId= (a stream the client opens itself), and Last-Event-ID wins over it', async () => {
    const first = await openSse(`${base}/api/v1/events`, bearer(owner));
    let lastId: string;
    try {
      lastId = (await first.next()).id!;
    } finally {
      first.close();
    }
    const missed = await createRecording(ctl, owner, south.nodeId);
    const resumed = await openSse(
      `${base}/api/v1/events?meters=${south.nodeId}&lastEventId=${lastId}`,
      bearer(owner),
    );
    let position: string;
    try {
      // No ready: what was missed comes first.
      const event = await resumed.next();
      expect(event.event).toBe('recording.state');
      expect(JSON.parse(event.data)).toMatchObject({ subject: { id: missed.id } });
      position = (await readUntil(resumed, (e) => e.event === 'job.state')).at(-1)!.id!;
    } finally {
      resumed.close();
    }
    // The header (the browser's own reconnection) is later than the query's id: it wins, so
    // what was missed before it is not sent again.
    const later = await createRecording(ctl, owner, south.nodeId);
    const both = await openSse(`${base}/api/v1/events?lastEventId=${lastId}`, {
      ...bearer(owner),
      'last-event-id': position,
    });
    try {
      const event = await both.next();
      expect(event.event).toBe('recording.state');
      expect(JSON.parse(event.data)).toMatchObject({ subject: { id: later.id } });
    } finally {
      both.close();
    }
  });

  it('refuses meters of a node outside the caller’s scope, unknown, too many or malformed', async () => {
    const viewer = await userWithRole(ctl, 'evmeter-south-viewer', 'viewer', {
      type: 'site',
      id: south.siteId,
    });
    const get = (query: string, token = viewer) =>
      ctl.app.inject({ method: 'GET', url: `/api/v1/events?${query}`, headers: bearer(token) });
    const outside = await get(`meters=${south.nodeId},${north.nodeId}`);
    expect(outside.statusCode).toBe(404);
    expect(outside.json().error.message).toMatch(/node/i);
    expect((await get('meters=evmeter-nobody')).statusCode).toBe(404);
    const many = Array.from({ length: 201 }, (_, i) => `n${i}`).join(',');
    expect((await get(`meters=${many}`, owner)).statusCode).toBe(400);
    expect((await get('meters=a,,b', owner)).statusCode).toBe(400);
    expect((await get(`meters=${north.nodeId}&meterRate=5`, owner)).statusCode).toBe(400);
    expect((await get('lastEventId=abc', owner)).statusCode).toBe(400);
  });
});
