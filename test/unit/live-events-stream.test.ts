/** Who may read which live event, and a stream's order while it catches up (events.stream.ts). */
import { describe, expect, it } from 'vitest';
import { AccessSet } from '../../controller/src/core/access-set.js';
import type { UserPrincipal } from '../../controller/src/core/principal.js';
import type { LiveEventRow } from '../../controller/src/modules/events/events.repository.js';
import { LiveStream, MAX_QUEUED, mayRead } from '../../controller/src/modules/events/events.stream.js';

const site = (permissions: string[], id = 'east') =>
  new AccessSet([{ permissions: permissions as never, scope: { type: 'site', id } }]);
const fleet = (permissions: string[]) =>
  new AccessSet([{ permissions: permissions as never, scope: { type: 'fleet', id: null } }]);

function row(id: number, type = 'recording.state', siteId: string | null = 'east'): LiveEventRow {
  return {
    id,
    type,
    at: new Date(0),
    siteId,
    nodeId: siteId ? `${siteId}-1` : null,
    subjectType: 'recording',
    subjectId: `r${id}`,
    data: '{}',
  };
}

describe('mayRead', () => {
  it('needs the kind’s read permission over the event’s site, node or the fleet', () => {
    const viewer = site(['recording:read', 'node:read']);
    expect(mayRead(viewer, row(1, 'recording.state'))).toBe(true);
    expect(mayRead(viewer, row(1, 'job.state'))).toBe(true);
    expect(mayRead(viewer, row(1, 'upload.progress'))).toBe(true);
    expect(mayRead(viewer, row(1, 'node.online'))).toBe(true);
    expect(mayRead(viewer, row(1, 'recording.state', 'west'))).toBe(false);
    expect(mayRead(viewer, row(1, 'health.opened'))).toBe(false);
    expect(mayRead(site(['health:read']), row(1, 'health.opened'))).toBe(true);
    expect(mayRead(site(['health:read']), row(1, 'recording.state'))).toBe(false);
    // Fleet-wide changes (no site, no node) need the permission over the fleet.
    expect(mayRead(site(['settings:read']), row(1, 'settings.changed', null))).toBe(false);
    expect(mayRead(fleet(['settings:read']), row(1, 'settings.changed', null))).toBe(true);
    expect(mayRead(fleet(['recording:read']), row(1, 'something.else'))).toBe(false);
  });
});

describe('LiveStream', () => {
  const principal = {
    kind: 'user',
    userId: 'u',
    username: 'u',
    via: 'session',
    access: site(['recording:read']),
  };
  const ids = async (stream: LiveStream) =>
    (await stream.drain()).map((m) => (m.kind === 'event' ? m.row.id : m.kind));

  it('sends its backlog first, then what the tail offered meanwhile, each once, in order', async () => {
    const stream = new LiveStream(principal as UserPrincipal, 2, 'sse');
    stream.offer(row(5));
    stream.offer(row(6, 'recording.state', 'west')); // not theirs
    stream.replay(row(3));
    stream.replay(row(4));
    stream.replay(row(5));
    stream.caughtUp();
    stream.offer(row(5)); // already passed
    stream.offer(row(7));
    expect(await ids(stream)).toEqual([3, 4, 5, 7]);
    expect(stream.position).toBe(7);
  });

  it('ends a reader that falls too far behind (it resumes from the stored events)', async () => {
    const stream = new LiveStream(principal as UserPrincipal, 0, 'websocket');
    stream.caughtUp();
    for (let id = 1; id <= MAX_QUEUED + 1; id++) stream.offer(row(id));
    expect(await ids(stream)).toEqual(['end']);
    expect(await stream.drain()).toEqual([]);
    expect(stream.closed).toBe(true);
  });
});
