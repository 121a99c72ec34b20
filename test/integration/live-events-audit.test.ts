/**
 * The live events stream's `audit.appended` notice through the real controller over real HTTP:
 * sent only to a stream whose user may read at least one of the audit events appended since the
 * last pass, with the audit list route's scoping (`audit:read` over the event's site, node or
 * guild): the owner (fleet) hears every append, an auditor of one site only that site's, and an
 * operator (no `audit:read`) none. The tail's pass is driven by the test (`events.tick()`, the
 * timer's work) instead of waiting for its timer; each stream is read until a last change every
 * one of them may see, so whatever was sent to it before has arrived.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { createRecording } from '../support/recordings.js';
import { openSse, type SseEvent } from '../support/sse.js';

type Notice = { type: string; data: { seq: number; count: number } };

describe('live events: the audit trail’s growth', () => {
  let ctl: TestController;
  let url: string;
  let owner: string;
  let east: { nodeId: string; siteId: string };
  let west: { nodeId: string; siteId: string };

  beforeAll(async () => {
    ctl = await testController();
    url = await listeningUrl(ctl);
    await ctl.ownerToken();
    owner = await ownerApiToken(ctl);
    east = await enrolledNode(ctl, { id: 'audit-live-east', site: 'audit-east' });
    west = await enrolledNode(ctl, { id: 'audit-live-west', site: 'audit-west' });
  });
  afterAll(async () => ctl?.stop());

  /** Opens a stream for `token` (answered once `ready` arrived), and reads it until `until`. */
  async function stream(token: string) {
    const sse = await openSse(`${url}/api/v1/events`, bearer(token));
    const ready = await sse.next();
    expect(ready.event).toBe('ready');
    return {
      async readUntil(last: (event: SseEvent) => boolean): Promise<SseEvent[]> {
        const seen: SseEvent[] = [];
        for (;;) {
          const event = await sse.next();
          seen.push(event);
          if (last(event)) return seen;
        }
      },
      close: sse.close,
    };
  }
  const createSeq = async (recordingId: string) =>
    (
      await ctl.db.auditEvent.findFirstOrThrow({
        where: { action: 'recording.create', targetId: recordingId },
      })
    ).seq;
  const notices = (events: SseEvent[]) =>
    events.filter((e) => e.event === AUDIT_APPENDED).map((e) => JSON.parse(e.data) as Notice);

  it('tells the owner every append, a site’s auditor only its site’s, an operator nothing', async () => {
    const auditor = await userWithRole(ctl, 'audit-live-auditor', 'auditor', {
      type: 'site',
      id: east.siteId,
    });
    const operator = await userWithRole(ctl, 'audit-live-operator', 'operator');
    const streams = {
      owner: await stream(owner),
      auditor: await stream(auditor),
      operator: await stream(operator),
    };

    // West's change, one pass; then east's, another pass.
    const westSeq = await createSeq((await createRecording(ctl, owner, west.nodeId)).id);
    await ctl.services.events.tick();
    const eastSeq = await createSeq((await createRecording(ctl, owner, east.nodeId)).id);
    await ctl.services.events.tick();
    // The last change every stream may see: what was sent before it has arrived.
    const last = (await createRecording(ctl, owner, east.nodeId)).id;
    const isLast = (e: SseEvent) => e.event === 'recording.state' && JSON.parse(e.data).subject.id === last;
    const seen = {
      owner: await streams.owner.readUntil(isLast),
      auditor: await streams.auditor.readUntil(isLast),
      operator: await streams.operator.readUntil(isLast),
    };
    for (const s of Object.values(streams)) s.close();

    // The owner: one notice per pass, the newest event of each (the streams' own openings came
    // before west's, in the first pass).
    const ownerNotices = notices(seen.owner);
    expect(ownerNotices.map((n) => n.data.seq)).toEqual([westSeq, eastSeq]);
    expect(ownerNotices.every((n) => n.type === AUDIT_APPENDED)).toBe(true);
    expect(ownerNotices[1]!.data.count).toBe(1);
    // The east auditor: east's change only, as the audit list shows it to them.
    expect(notices(seen.auditor)).toEqual([{ type: AUDIT_APPENDED, data: { seq: eastSeq, count: 1 } }]);
    const listed = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/audit-events?action=recording.create',
      headers: bearer(auditor),
    });
    expect(listed.json().data.map((e: { seq: number }) => e.seq)).toContain(eastSeq);
    expect(listed.json().data.map((e: { seq: number }) => e.seq)).not.toContain(westSeq);
    // The operator may read the recordings, not the trail: no notice at all.
    expect(seen.operator.some((e) => e.event === 'recording.state')).toBe(true);
    expect(notices(seen.operator)).toEqual([]);
  });

  it('says nothing to anyone when nothing was appended since the last pass', async () => {
    const sse = await stream(owner);
    await ctl.services.events.tick(); // what came since the last pass, its own opening with it
    await ctl.services.events.tick(); // nothing new
    const last = (await createRecording(ctl, owner, east.nodeId)).id;
    const seen = await sse.readUntil(
      (e) => e.event === 'recording.state' && JSON.parse(e.data).subject.id === last,
    );
    sse.close();
    expect(notices(seen)).toHaveLength(1);
  });
});
