/**
 * Live events through the real controller: Server-Sent Events over real HTTP (resume with
 * Last-Event-ID, a reset past the retention window, scope), and the WebSocket with its
 * single-use tickets (once, expiry on the injected clock, a disabled user). Events are caused
 * through the API; every read waits for what it expects with a bounded timeout, never a sleep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AUDIT_APPENDED } from '../../shared/src/live-events.js';
import {
  bearer,
  enrolledNode,
  ownerApiToken,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';
import { claimNext, createRecording, sha256, uploadHeaders, wavBytes } from '../support/recordings.js';
import { readSse, type SseEvent } from '../support/sse.js';
import { until } from '../support/until.js';

interface EventData {
  id: number;
  type: string;
  siteId: string | null;
  nodeId: string | null;
  subject: { type: string; id: string };
  data: Record<string, unknown>;
}

describe('live events', () => {
  let ctl: TestController;
  let url: string;
  let owner: string;
  let clockOffsetMs = 0;
  let east: { nodeId: string; siteId: string };
  let west: { nodeId: string; siteId: string };

  /**
   * Reads the SSE stream until `wanted` says it has all it needs (or 20 s pass: the test fails).
   * The stored changes only: the audit trail's growth told to a reader of it (`audit.appended`,
   * whenever the tail's pass sees new audit rows) is live-events-audit.test.ts's subject.
   */
  async function collect(
    token: string,
    wanted: (events: SseEvent[]) => boolean,
    headers: Record<string, string> = {},
  ): Promise<SseEvent[]> {
    const events: SseEvent[] = [];
    let done = false;
    await readSse(
      `${url}/api/v1/events`,
      { ...bearer(token), ...headers },
      (event) => {
        if (event.event === AUDIT_APPENDED) return undefined;
        events.push(event);
        done = wanted(events);
        return done || undefined;
      },
      20_000,
    );
    if (!done) throw new Error(`the stream ended before what was wanted: ${JSON.stringify(events)}`);
    return events;
  }
  const dataOf = (event: SseEvent) => JSON.parse(event.data) as EventData;
  /** The recording.state and job.state events of these recordings, in stream order. */
  const about = (events: SseEvent[], recordingIds: string[]) =>
    events
      .filter((e) => e.event === 'recording.state' || e.event === 'job.state')
      .map(dataOf)
      .filter((d) =>
        recordingIds.includes(d.type === 'job.state' ? String(d.data.recordingId) : d.subject.id),
      );

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1' }, () => new Date(Date.now() + clockOffsetMs));
    await ctl.start();
    url = await listeningUrl(ctl);
    await ctl.ownerToken();
    // An API token: the clock moves a day ahead in the last test, past a session's lifetime.
    owner = await ownerApiToken(ctl);
    east = await enrolledNode(ctl, { id: 'events-east', site: 'east' });
    west = await enrolledNode(ctl, { id: 'events-west', site: 'west' });
  });
  afterAll(async () => ctl.stop());

  it('opens with ready, then a change arrives with its id, type and scope', async () => {
    let created: string | undefined;
    const events = await collect(owner, (seen) => {
      if (seen.length === 1) void createRecording(ctl, owner, east.nodeId).then((r) => (created = r.id));
      return created !== undefined && about(seen, [created]).length === 2;
    });
    expect(events[0]!.event).toBe('ready');
    const [recording, job] = about(events, [created!]);
    expect(recording).toMatchObject({
      type: 'recording.state',
      nodeId: east.nodeId,
      siteId: east.siteId,
      subject: { type: 'recording', id: created },
      data: { state: 'pending' },
    });
    expect(job).toMatchObject({ type: 'job.state', data: { state: 'queued', recordingId: created } });
    expect(job!.id).toBeGreaterThan(recording!.id);
    const opened = await ctl.db.auditEvent.findMany({ where: { action: 'events.stream_open' } });
    expect(opened.length).toBeGreaterThan(0);
  });

  it('a change whose events could not be written (their table away a moment) arrives once they can be', async () => {
    const table = (from: string, to: string) =>
      ctl.db.$executeRawUnsafe(`ALTER TABLE "${from}" RENAME TO "${to}"`);
    const retries = async () =>
      Number(
        /earshot_event_writes_total\{outcome="retry"\} (\d+)/.exec(await ctl.metrics.render())?.[1] ?? 0,
      );
    const before = await retries();
    let created: string | undefined;
    let failure: unknown;
    const events = await collect(owner, (seen) => {
      if (seen.length === 1)
        void (async () => {
          await table('LiveEvent', 'LiveEventAway');
          try {
            created = (await createRecording(ctl, owner, east.nodeId)).id;
            await until(async () => (await retries()) > before, {
              timeoutMs: 10_000,
              what: 'a failed write',
            });
          } finally {
            await table('LiveEventAway', 'LiveEvent');
          }
        })().catch((err: unknown) => {
          failure = err;
        });
      if (failure) throw failure;
      return created !== undefined && about(seen, [created]).length === 2;
    });
    expect(about(events, [created!]).map((e) => e.type)).toEqual(['recording.state', 'job.state']);
  });

  it('resumes with Last-Event-ID: exactly what was missed, in order', async () => {
    // Connect, read a change, disconnect.
    let first: string | undefined;
    const before = await collect(owner, (seen) => {
      if (seen.length === 1) void createRecording(ctl, owner, east.nodeId).then((r) => (first = r.id));
      return first !== undefined && about(seen, [first]).length === 2;
    });
    const lastId = before[before.length - 1]!.id!;
    expect(Number(lastId)).toBe(about(before, [first!])[1]!.id);

    // Three changes while away.
    const missed: string[] = [];
    for (let i = 0; i < 3; i++) missed.push((await createRecording(ctl, owner, west.nodeId)).id);

    const after = await collect(owner, (seen) => about(seen, missed).length === 6, {
      'last-event-id': lastId,
    });
    // No ready, no reset: the missed events first, nothing from before, each once, in order.
    expect(after.slice(0, 6).map((e) => e.event)).toEqual(
      missed.flatMap(() => ['recording.state', 'job.state']),
    );
    const got = after.slice(0, 6).map(dataOf);
    expect(got.map((d) => (d.type === 'job.state' ? d.data.recordingId : d.subject.id))).toEqual(
      missed.flatMap((id) => [id, id]),
    );
    const ids = got.map((d) => d.id);
    expect(ids.every((id, i) => id > Number(lastId) && (i === 0 || id > ids[i - 1]!))).toBe(true);
    expect(after.slice(0, 6).map((e) => Number(e.id))).toEqual(ids);
  });

  it('a viewer scoped to one site never sees another site’s events', async () => {
    const eastSite = await ctl.db.site.findUniqueOrThrow({ where: { name: 'east' } });
    const viewer = await userWithRole(ctl, 'events-east-viewer', 'viewer', { type: 'site', id: eastSite.id });
    let eastRecording: string | undefined;
    const westRecordings: string[] = [];
    const events = await collect(viewer, (seen) => {
      if (seen.length === 1)
        void (async () => {
          // West first: had the filter failed, they would arrive before east's.
          for (let i = 0; i < 2; i++)
            westRecordings.push((await createRecording(ctl, owner, west.nodeId)).id);
          eastRecording = (await createRecording(ctl, owner, east.nodeId)).id;
        })();
      return eastRecording !== undefined && about(seen, [eastRecording]).length === 2;
    });
    const data = events.filter((e) => e.event !== 'ready').map(dataOf);
    expect(data.length).toBeGreaterThan(0);
    expect(data.every((d) => d.siteId === eastSite.id && d.nodeId === east.nodeId)).toBe(true);
    expect(about(events, westRecordings)).toEqual([]);

    // Resuming from before the west recordings does not reveal them either.
    const firstWest = await ctl.db.liveEvent.findFirstOrThrow({
      where: { subjectId: westRecordings[0] },
      orderBy: { id: 'asc' },
    });
    const resumed = await collect(viewer, (seen) => about(seen, [eastRecording!]).length === 2, {
      'last-event-id': String(firstWest.id - 1),
    });
    expect(resumed.map(dataOf).every((d) => d.siteId === eastSite.id)).toBe(true);
  });

  it('a recording’s life arrives in order: created, claimed, uploading with progress, completed', async () => {
    const node = await enrolledNode(ctl, { id: 'events-upload', site: 'east' });
    let recordingId: string | undefined;
    const bytes = wavBytes(4800);
    const events = await collect(owner, (seen) => {
      if (seen.length === 1)
        void (async () => {
          const created = await createRecording(ctl, owner, node.nodeId);
          recordingId = created.id;
          const { lease } = await claimNext(ctl, node.nodeId, node.credential);
          await ctl.app.inject({
            method: 'PUT',
            url: `/api/v1/recordings/${created.id}/cache-file`,
            headers: uploadHeaders(node.credential, lease!.epoch, sha256(bytes), bytes.length),
            payload: bytes,
          });
        })();
      return seen.some((e) => e.event === 'recording.state' && dataOf(e).data.state === 'completed');
    });
    const mine = events
      .filter((e) => e.event !== 'ready')
      .map(dataOf)
      .filter((d) => d.subject.id === recordingId || d.data.recordingId === recordingId);
    expect(mine.filter((d) => d.type !== 'upload.progress').map((d) => `${d.type} ${d.data.state}`)).toEqual([
      'recording.state pending',
      'job.state queued',
      'job.state claimed',
      'job.state uploading',
      'recording.state uploading',
      'job.state completed',
      'recording.state completed',
    ]);
    const progress = mine.filter((d) => d.type === 'upload.progress').map((d) => d.data);
    expect(progress[0]).toEqual({ receivedBytes: 0, expectedBytes: bytes.length });
    expect(progress[progress.length - 1]).toEqual({
      receivedBytes: bytes.length,
      expectedBytes: bytes.length,
    });
    expect(mine.every((d) => d.siteId === east.siteId && d.nodeId === node.nodeId)).toBe(true);
  });

  it('a node edited is announced to its readers (node.changed)', async () => {
    const events = await collect(owner, (seen) => {
      if (seen.length === 1)
        void ctl.app.inject({
          method: 'PATCH',
          url: `/api/v1/nodes/${east.nodeId}`,
          headers: bearer(owner),
          payload: { notes: 'announced' },
        });
      return seen.some((e) => e.event === 'node.changed');
    });
    expect(dataOf(events.find((e) => e.event === 'node.changed')!)).toMatchObject({
      siteId: east.siteId,
      nodeId: east.nodeId,
      subject: { type: 'node', id: east.nodeId },
      data: { change: 'updated' },
    });
  });

  it('a stream ends once its user is disabled (checked when anyone’s access changes)', async () => {
    const token = await userWithRole(ctl, 'events-disabled-while-open', 'viewer');
    const user = await ctl.db.user.findUniqueOrThrow({ where: { username: 'events-disabled-while-open' } });
    const events = await collect(token, (seen) => {
      if (seen.length === 1)
        void ctl.app
          .inject({
            method: 'PATCH',
            url: `/api/v1/auth/users/${user.id}/status`,
            headers: bearer(owner),
            payload: { disabled: true },
          })
          // The tail's timer makes this pass in a started controller; here it is called at once.
          .then(() => ctl.services.events.tick());
      return seen.some((e) => e.event === 'end');
    });
    expect(dataOf(events[events.length - 1]!)).toMatchObject({ reason: 'your access was revoked' });
  });

  describe('over a WebSocket', () => {
    const wsUrl = (query: string) => `${url.replace('http', 'ws')}/api/v1/events/stream?${query}`;
    async function ticketFor(token: string): Promise<string> {
      const issued = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/events/tickets',
        headers: bearer(token),
      });
      expect(issued.statusCode).toBe(201);
      expect(issued.json().data.websocketPath).toBe('/api/v1/events/stream');
      return issued.json().data.ticket;
    }
    /** Opens a socket; its messages, and how it closed once it does. */
    function socketAt(address: string) {
      const socket = new WebSocket(address);
      const messages: { event: string; id?: number; data: EventData & { reason?: string } }[] = [];
      socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      return { socket, messages, closed };
    }

    it('a ticket opens the stream once; the same ticket again is refused', async () => {
      const ticket = await ticketFor(owner);
      const stored = await ctl.db.liveEventTicket.findFirstOrThrow({ orderBy: { createdAt: 'desc' } });
      expect(stored.tokenHash).not.toContain(ticket); // kept hashed
      const first = socketAt(wsUrl(`ticket=${encodeURIComponent(ticket)}`));
      await until(() => first.messages.length > 0, { what: 'the ready message' });
      expect(first.messages[0]).toMatchObject({ event: 'ready' });
      const { id } = await createRecording(ctl, owner, east.nodeId);
      await until(
        () => first.messages.some((m) => m.event === 'recording.state' && m.data.subject.id === id),
        {
          what: 'the recording event over the socket',
        },
      );

      const again = socketAt(wsUrl(`ticket=${encodeURIComponent(ticket)}`));
      expect(await again.closed).toBe(4001);
      // A new ticket resumes from an id (browsers cannot send Last-Event-ID on a WebSocket).
      const before = first.messages.find((m) => m.event === 'recording.state' && m.data.subject.id === id)!;
      const resumed = socketAt(wsUrl(`ticket=${await ticketFor(owner)}&lastEventId=${before.id! - 1}`));
      await until(() => resumed.messages.length > 0, { what: 'the resumed stream' });
      expect(resumed.messages[0]).toMatchObject({ event: 'recording.state', id: before.id });
      resumed.socket.close();
      first.socket.close();
      expect(await first.closed).toBe(1005);
      const denied = await ctl.db.auditEvent.findMany({
        where: { action: 'events.stream_open', outcome: 'denied' },
      });
      expect(denied.length).toBeGreaterThan(0);
      expect(await ctl.db.auditEvent.count({ where: { action: 'events.ticket_create' } })).toBeGreaterThan(0);
    });

    it('an expired ticket is refused (30 s on the controller’s clock)', async () => {
      const ticket = await ticketFor(owner);
      clockOffsetMs += 31_000;
      const late = socketAt(wsUrl(`ticket=${encodeURIComponent(ticket)}`));
      expect(await late.closed).toBe(4001);
    });

    it('a ticket is refused once its user is disabled', async () => {
      const token = await userWithRole(ctl, 'events-soon-disabled', 'viewer');
      const ticket = await ticketFor(token);
      const user = await ctl.db.user.findUniqueOrThrow({ where: { username: 'events-soon-disabled' } });
      const disabled = await ctl.app.inject({
        method: 'PATCH',
        url: `/api/v1/auth/users/${user.id}/status`,
        headers: bearer(owner),
        payload: { disabled: true },
      });
      expect(disabled.statusCode).toBe(200);
      const refused = socketAt(wsUrl(`ticket=${encodeURIComponent(ticket)}`));
      expect(await refused.closed).toBe(4001);
      // No ticket at all, or an unknown one: the same refusal.
      expect(await socketAt(wsUrl('ticket=eet_nothing')).closed).toBe(4001);
      expect(await socketAt(wsUrl('')).closed).toBe(4001);
    });
  });

  it('an id older than what is kept gets a reset, then the stream goes on', async () => {
    const oldest = await ctl.db.liveEvent.findFirstOrThrow({ orderBy: { id: 'asc' } });
    // A day later the retention window (24 h) has passed: all but the newest event go.
    clockOffsetMs += 25 * 3600_000;
    await ctl.services.events.prune();
    const kept = await ctl.db.liveEvent.findMany();
    expect(kept).toHaveLength(1);
    let created: string | undefined;
    const events = await collect(
      owner,
      (seen) => {
        if (seen.length === 1) void createRecording(ctl, owner, east.nodeId).then((r) => (created = r.id));
        return created !== undefined && about(seen, [created]).length === 2;
      },
      { 'last-event-id': String(oldest.id) },
    );
    expect(events[0]).toMatchObject({ event: 'reset', id: String(kept[0]!.id) });
    expect(dataOf(events[0]!)).toMatchObject({ lastEventId: oldest.id, oldestId: kept[0]!.id });
    // An id this controller never gave out is a reset too.
    const unknown = await collect(owner, (seen) => seen.length === 1, { 'last-event-id': '999999999' });
    expect(unknown[0]!.event).toBe('reset');
    // A malformed id is a 400.
    const bad = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/events',
      headers: { ...bearer(owner), 'last-event-id': 'yesterday' },
    });
    expect(bad.statusCode).toBe(400);
  });
});

describe('live events at shutdown', () => {
  it('an open stream is told `end` and closed, so the HTTP server can drain', async () => {
    const ctl = await testController({ mqttHost: '127.0.0.1' });
    let stopped = false;
    try {
      await ctl.start();
      const url = await listeningUrl(ctl);
      const owner = await ctl.ownerToken();
      const events: SseEvent[] = [];
      await readSse(
        `${url}/api/v1/events`,
        bearer(owner),
        (event) => {
          events.push(event);
          if (event.event === 'ready') void ctl.stop().then(() => (stopped = true));
          return event.event === 'end' || undefined;
        },
        20_000,
      );
      expect(events.map((e) => e.event)).toEqual(['ready', 'end']);
      expect(JSON.parse(events[1]!.data).reason).toMatch(/stopping/);
      await until(() => stopped, { what: 'the controller stopped' });
    } finally {
      if (!stopped) await ctl.stop();
    }
  });
});
