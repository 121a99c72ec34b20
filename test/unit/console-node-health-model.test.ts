import { describe, expect, it } from 'vitest';
import {
  duration,
  healthQuery,
  healthViewFrom,
  refiltered,
  searchFromHealthView,
  suppressUntil,
  timelineOf,
} from '../../controller/console/src/health-model.js';
import { channelsOf, currentJob, NODE_ACTIONS } from '../../controller/console/src/node-model.js';

const job = (id: string, state: string, createdAt: string) => ({ id, state, createdAt });

describe('console node model', () => {
  it('picks the current job: recording before queued, newest first; none when all are done', () => {
    const jobs = [
      job('a', 'completed', '2026-01-01T10:00:00Z'),
      job('b', 'queued', '2026-01-01T11:00:00Z'),
      job('c', 'recording', '2026-01-01T09:00:00Z'),
      job('d', 'queued', '2026-01-01T12:00:00Z'),
    ];
    expect(currentJob(jobs)?.id).toBe('c');
    expect(currentJob(jobs.filter((j) => j.id !== 'c'))?.id).toBe('d');
    expect(currentJob([job('a', 'failed', '2026-01-01T10:00:00Z')])).toBeUndefined();
  });

  it('offers the lifecycle actions and retirement, each with its route and a question naming the node', () => {
    expect(NODE_ACTIONS.map((a) => a.key)).toEqual([
      'restart-agent',
      'restart-capture',
      'reload-config',
      'rotate-credential',
      'upload-now',
      'collect-diagnostics',
      'decommission',
      'delete',
    ]);
    const restart = NODE_ACTIONS[0]!;
    expect(restart.path('n 1')).toBe('/nodes/n%201/lifecycle/restart-agent');
    expect(restart.question('Hall A')).toContain('Hall A');
    const del = NODE_ACTIONS.find((a) => a.key === 'delete')!;
    expect([del.method, del.path('n1'), del.gate, del.danger]).toEqual([
      'DELETE',
      '/nodes/n1',
      'delete',
      true,
    ]);
  });

  it('names channels (or numbers them) and marks those not enabled', () => {
    expect(channelsOf({ channels: 3, enabledChannels: [1, 3], channelNames: ['Pulpit', ' '] })).toEqual([
      { number: 1, name: 'Pulpit', enabled: true },
      { number: 2, name: 'Channel 2', enabled: false },
      { number: 3, name: 'Channel 3', enabled: true },
    ]);
    expect(channelsOf({ channels: 1, enabledChannels: null, channelNames: [] })[0]!.enabled).toBe(true);
  });
});

describe('console health model', () => {
  it('reads the view from the URL (unsafe values dropped, a timeline needs a node) and writes it back', () => {
    expect(healthViewFrom('')).toEqual({ status: 'open', view: 'list' });
    expect(healthViewFrom('?status=bogus&nodeId=a/b&view=timeline')).toEqual({
      status: 'open',
      view: 'list',
    });
    const view = healthViewFrom('?status=resolved&nodeId=hall-a&view=timeline');
    expect(view).toEqual({ status: 'resolved', nodeId: 'hall-a', view: 'timeline' });
    expect(searchFromHealthView(view)).toBe('?status=resolved&nodeId=hall-a&view=timeline');
    expect(searchFromHealthView({ status: 'acknowledged', view: 'list' })).toBe('?status=acknowledged');
  });

  it('keeps the list’s page in the URL, drops it when a filter changes, never on a timeline', () => {
    const view = healthViewFrom('?status=open&type=manual&cursor=eyJ4IjoxfQ');
    expect(view).toEqual({ status: 'open', type: 'manual', view: 'list', cursor: 'eyJ4IjoxfQ' });
    expect(searchFromHealthView(view)).toBe('?status=open&type=manual&cursor=eyJ4IjoxfQ');
    expect(healthQuery(view, 100)).toBe('limit=100&status=open&type=manual&cursor=eyJ4IjoxfQ');
    expect(healthViewFrom('?cursor=not%20a%20cursor').cursor).toBeUndefined();
    expect(healthViewFrom('?nodeId=n1&view=timeline&cursor=eyJ4IjoxfQ').cursor).toBeUndefined();
    expect(refiltered(view, { nodeId: 'n1' })).toEqual({
      status: 'open',
      type: 'manual',
      nodeId: 'n1',
      view: 'list',
    });
    expect(refiltered(view, { type: '' })).toEqual({ status: 'open', view: 'list' });
  });

  it('asks the API for one status in the list, every status on the timeline', () => {
    expect(healthQuery({ status: 'open', view: 'list', nodeId: 'n1' }, 100)).toBe(
      'limit=100&status=open&nodeId=n1',
    );
    expect(healthQuery({ status: 'open', view: 'timeline', nodeId: 'n1' }, 100)).toBe('limit=100&nodeId=n1');
  });

  it('suppresses until now plus the chosen length', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(suppressUntil('4h', now)).toBe('2026-01-01T04:00:00.000Z');
    expect(suppressUntil('7d', now)).toBe('2026-01-08T00:00:00.000Z');
    expect(suppressUntil('forever', now)).toBeUndefined();
  });

  it('lays a node’s events out over time: newest first, resolved ones end, open ones run to now', () => {
    const now = Date.parse('2026-01-01T10:00:00Z');
    const base = { type: 'manual', severity: 'warning', message: '', lastSeenAt: '', suppressedUntil: null };
    const entries = timelineOf(
      [
        {
          ...base,
          id: 'old',
          status: 'resolved',
          firstSeenAt: '2026-01-01T00:00:00Z',
          resolvedAt: '2026-01-01T05:00:00Z',
        },
        { ...base, id: 'new', status: 'open', firstSeenAt: '2026-01-01T08:00:00Z', resolvedAt: null },
      ],
      now,
    );
    expect(entries.map((e) => [e.event.id, e.end, e.lasted, e.from, e.to])).toEqual([
      ['new', null, '2 h', 0.8, 1],
      ['old', '2026-01-01T05:00:00Z', '5 h', 0, 0.5],
    ]);
    expect(timelineOf([], now)).toEqual([]);
    expect([duration(45_000), duration(3_900_000), duration(100 * 3_600_000)]).toEqual([
      '45 s',
      '1 h 5 min',
      '4 d 4 h',
    ]);
  });
});
