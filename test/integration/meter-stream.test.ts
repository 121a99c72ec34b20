/**
 * The meter stream's node filter and rate (`GET /api/v1/meter-events?nodes=…&nodeId=…&rate=1`):
 * only the nodes named, each checked against the caller's scope; at rate 1 one frame per node a
 * second (controller clock) carrying the peaks and clips of that second. Frames are fed as the
 * broker would (`meters.record`); the clock is the test's, moved by hand.
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
import { openSse } from '../support/sse.js';

type Node = { nodeId: string; siteId: string };

describe('meter stream: node filter and rate', () => {
  let ctl: TestController;
  let base: string;
  let owner: string;
  let north1: Node;
  let north2: Node;
  let south: Node;
  let nowMs = Date.parse('2026-06-01T12:00:00Z');
  const clock = () => new Date(nowMs);
  let seq = 0;

  function record(node: Node, peakDbfs: number, extra: Partial<MeterFrame['channels'][number]> = {}) {
    ctl.services.meters.record(node, {
      seq: seq++,
      capturedAtMs: nowMs,
      windowMs: 100,
      sampleRate: 48_000,
      channels: [{ peakDbfs, rmsDbfs: peakDbfs - 10, clipCount: 0, ...extra }],
    });
  }

  beforeAll(async () => {
    ctl = await testController({ httpHost: '127.0.0.1' }, clock);
    base = await listeningUrl(ctl);
    owner = await ctl.ownerToken();
    north1 = await enrolledNode(ctl, { id: 'meter-n1', site: 'north' });
    north2 = await enrolledNode(ctl, { id: 'meter-n2', site: 'north' });
    south = await enrolledNode(ctl, { id: 'meter-s1', site: 'south' });
  });

  afterAll(async () => {
    await ctl.stop();
  });

  it('passes only the nodes named, as a comma list or a repeated nodeId', async () => {
    for (const query of [
      `nodes=${north1.nodeId},${south.nodeId}`,
      `nodeId=${north1.nodeId}&nodeId=${south.nodeId}`,
      `nodeId=${north1.nodeId}&nodes=${south.nodeId}`,
    ]) {
      const stream = await openSse(`${base}/api/v1/meter-events?${query}`, bearer(owner));
      try {
        record(north1, -20);
        record(north2, -21); // not named: never arrives
        record(south, -22);
        // In order: what arrives after north1's frame is south's (north2's was left out).
        expect((await stream.meter()).nodeId).toBe(north1.nodeId);
        const second = await stream.meter();
        expect(second.nodeId).toBe(south.nodeId);
        expect(second.frame.channels[0]!.peakDbfs).toBe(-22);
      } finally {
        stream.close();
      }
    }
    // The single-node form still works (backwards compatible).
    const one = await openSse(`${base}/api/v1/meter-events?nodeId=${north2.nodeId}`, bearer(owner));
    try {
      record(north1, -30);
      record(north2, -31);
      expect(await one.meter()).toMatchObject({
        nodeId: north2.nodeId,
        frame: { channels: [{ peakDbfs: -31 }] },
      });
    } finally {
      one.close();
    }
  });

  it('refuses a stream naming a node outside the caller scope, or too many nodes', async () => {
    const southViewer = await userWithRole(ctl, 'meter-south-viewer', 'viewer', {
      type: 'site',
      id: south.siteId,
    });
    const get = (query: string, token = southViewer) =>
      ctl.app.inject({ method: 'GET', url: `/api/v1/meter-events?${query}`, headers: bearer(token) });
    // One node outside the scope refuses the whole stream, whichever form names it.
    expect((await get(`nodes=${south.nodeId},${north1.nodeId}`)).statusCode).toBe(404);
    expect((await get(`nodeId=${south.nodeId}&nodeId=${north1.nodeId}`)).statusCode).toBe(404);
    expect((await get(`nodes=${south.nodeId},no-such-node`)).statusCode).toBe(404);
    const ids = Array.from({ length: 201 }, (_, i) => `n${i}`);
    expect((await get(`nodes=${ids.join(',')}`, owner)).statusCode).toBe(400);
    expect(
      (await get(`nodes=${ids.slice(0, 150).join(',')}&nodeId=${ids.slice(150).join('&nodeId=')}`, owner))
        .statusCode,
    ).toBe(400);
    expect((await get(`nodes=a,,b`, owner)).statusCode).toBe(400);
    expect((await get(`rate=5`, owner)).statusCode).toBe(400);

    // Within the scope it streams.
    const stream = await openSse(
      `${base}/api/v1/meter-events?nodes=${south.nodeId}&rate=1`,
      bearer(southViewer),
    );
    try {
      record(south, -12);
      expect((await stream.meter()).nodeId).toBe(south.nodeId);
    } finally {
      stream.close();
    }
    const opened = await ctl.db.auditEvent.findMany({
      where: { action: 'meters.stream_open', actorName: 'meter-south-viewer' },
    });
    expect(opened.map((row) => row.targetId)).toEqual([south.nodeId]);
  });

  it('at rate=1 sends one frame per node a second, with the peaks and clips of that second', async () => {
    const stream = await openSse(
      `${base}/api/v1/meter-events?nodes=${north1.nodeId},${north2.nodeId}&rate=1`,
      bearer(owner),
    );
    try {
      // A node's first frame passes at once.
      record(north1, -30);
      expect((await stream.meter()).frame.channels[0]).toMatchObject({ peakDbfs: -30, clipCount: 0 });
      // Nine more within the second wait, folded: a peak of -2 with a clip, a true peak.
      for (let i = 1; i <= 9; i++) {
        nowMs += 100;
        record(north1, i === 4 ? -2 : -35, i === 4 ? { clipCount: 3, truePeakDbtp: -1.5 } : {});
      }
      // Another node is counted on its own: its first frame passes now.
      record(north2, -25);
      expect((await stream.meter()).nodeId).toBe(north2.nodeId);
      // The frame a second after the last one sent carries the whole second.
      nowMs += 100;
      record(north1, -40, { momentaryLufs: -23 });
      const folded = await stream.meter();
      expect(folded.nodeId).toBe(north1.nodeId);
      expect(folded.frame.seq).toBe(seq - 1);
      expect(folded.frame.windowMs).toBe(1000);
      expect(folded.frame.channels[0]).toEqual({
        peakDbfs: -2, // the highest of the second
        truePeakDbtp: -1.5,
        rmsDbfs: -50, // the latest
        momentaryLufs: -23,
        clipCount: 3, // summed
      });
      // And the next second starts afresh: its frames wait again.
      nowMs += 500;
      record(north1, -60);
      nowMs += 500;
      record(north1, -70);
      expect((await stream.meter()).frame.channels[0]).toMatchObject({
        peakDbfs: -60,
        rmsDbfs: -80,
        clipCount: 0,
      });
    } finally {
      stream.close();
    }
  });

  it('at the default rate passes every frame', async () => {
    const stream = await openSse(`${base}/api/v1/meter-events?nodes=${north1.nodeId}`, bearer(owner));
    try {
      const peaks = [-10, -11, -12, -13, -14, -15, -16, -17, -18, -19];
      for (const peak of peaks) record(north1, peak); // all within the same millisecond
      const seen: number[] = [];
      while (seen.length < peaks.length) seen.push((await stream.meter()).frame.channels[0]!.peakDbfs);
      expect(seen).toEqual(peaks);
    } finally {
      stream.close();
    }
  });
});
