/** The fleet overview's model: a tile's state, problems first, grouped by site. */
import { describe, expect, it } from 'vitest';
import {
  applyFilter,
  clockSkew,
  diskFree,
  type FleetNode,
  facetsOf,
  filterFromSearch,
  groupTiles,
  headroom,
  problems,
  relativeTime,
  searchFromFilter,
  stateChanges,
  tileState,
  withAlerts,
} from '../../controller/console/src/fleet-model.js';

function node(id: string, site: string, over: Partial<FleetNode> = {}): FleetNode {
  return {
    id,
    name: id,
    site: { id: site, name: site },
    presence: { online: true, lastSeenAt: '2026-03-02T09:00:00Z' },
    capture: { state: 'idle' },
    clockOffsetMs: 0,
    ...over,
  };
}
const offline = { presence: { online: false, lastSeenAt: null } };

describe('fleet model', () => {
  it('derives a state: offline, degraded (capture error or clock skew), recording, online', () => {
    expect(tileState(node('a', 's', offline))).toBe('offline');
    expect(tileState(node('a', 's', { capture: { state: 'error' } }))).toBe('degraded');
    expect(tileState(node('a', 's', { clockOffsetMs: -2500 }))).toBe('degraded');
    expect(tileState(node('a', 's', { capture: { state: 'capturing' } }))).toBe('recording');
    expect(tileState(node('a', 's'))).toBe('online');
    // Offline wins over what its last report said.
    expect(tileState(node('a', 's', { ...offline, capture: { state: 'error' } }))).toBe('offline');
    expect(problems(node('a', 's', { clockOffsetMs: 2500 }))).toEqual(['clock off by 2.5 s']);
  });

  it('groups by site, sites with problems first, problems first within a site, decommissioned left out', () => {
    const groups = groupTiles([
      node('b-ok', 'Beta'),
      node('a-ok', 'Alpha'),
      node('a-rec', 'Alpha', { capture: { state: 'capturing' } }),
      node('c-ok', 'Gamma'),
      node('c-off', 'Gamma', offline),
      node('c-deg', 'Gamma', { capture: { state: 'error' } }),
      node('gone', 'Delta', { decommissionedAt: '2026-01-01T00:00:00Z' }),
    ]);
    expect(groups.map((g) => g.name)).toEqual(['Gamma', 'Alpha', 'Beta']);
    expect(groups[0]!.nodes.map((n) => n.id)).toEqual(['c-off', 'c-deg', 'c-ok']);
    expect(groups[0]!.counts).toEqual({ offline: 1, degraded: 1, recording: 0, online: 1 });
    expect(groups[1]!.nodes.map((n) => n.id)).toEqual(['a-rec', 'a-ok']);
  });

  it('groups by tag: a node under each of its tags, the untagged together', () => {
    const groups = groupTiles(
      [
        node('a', 'A', { tags: ['stage', 'foyer'] }),
        node('b', 'A', { ...offline, tags: ['foyer'] }),
        node('c', 'B'),
      ],
      'tag',
    );
    expect(groups.map((g) => [g.name, g.nodes.map((n) => n.id)])).toEqual([
      ['foyer', ['b', 'a']],
      ['No tag', ['c']],
      ['stage', ['a']],
    ]);
    expect(filterFromSearch('?group=tag').group).toBe('tag');
    expect(searchFromFilter({ group: 'tag', problems: true })).toBe('?problems=1&group=tag');
  });

  it('says how long ago, and never without a time', () => {
    const now = Date.parse('2026-03-02T10:00:00Z');
    expect(relativeTime(null, now)).toBe('never');
    expect(relativeTime('2026-03-02T09:59:48Z', now)).toBe('12 s ago');
    expect(relativeTime('2026-03-02T09:55:00Z', now)).toBe('5 min ago');
    expect(relativeTime('2026-03-02T07:00:00Z', now)).toBe('3 h ago');
    expect(relativeTime('2026-02-28T10:00:00Z', now)).toBe('2 d ago');
  });

  it('filters by site, tag and problems, and keeps the filter in the URL query', () => {
    const nodes = [
      node('a1', 'A', { tags: ['stage'] }),
      node('a2', 'A', offline),
      node('b1', 'B', { tags: ['stage', 'foyer'], capture: { state: 'error' } }),
      node('gone', 'C', { decommissionedAt: '2026-01-01T00:00:00Z', tags: ['old'] }),
    ];
    const ids = (search: string) => applyFilter(nodes, filterFromSearch(search)).map((n) => n.id);
    expect(ids('?site=A')).toEqual(['a1', 'a2']);
    expect(ids('?tag=stage')).toEqual(['a1', 'b1']);
    expect(ids('?problems=1')).toEqual(['a2', 'b1']);
    expect(ids('?site=A&problems=1')).toEqual(['a2']);
    expect(ids('')).toHaveLength(4);
    expect(searchFromFilter({ site: 'A', tag: undefined, problems: true })).toBe('?site=A&problems=1');
    expect(searchFromFilter({ problems: false })).toBe('');
    expect(filterFromSearch(searchFromFilter({ site: 'x y', tag: 'a&b' }))).toEqual({
      site: 'x y',
      tag: 'a&b',
      problems: false,
    });
    expect(facetsOf(nodes)).toEqual({
      sites: [
        { id: 'A', name: 'A' },
        { id: 'B', name: 'B' },
      ],
      tags: ['foyer', 'stage'],
    });
  });

  it('announces state changes only, in words', () => {
    const before = [node('a', 'A', { name: 'Hall A' } as Partial<FleetNode>), node('b', 'A')];
    const after = [
      node('a', 'A', { name: 'Hall A', ...offline } as Partial<FleetNode>),
      node('b', 'A'),
      node('c', 'A'),
    ];
    expect(stateChanges(undefined, after)).toEqual([]);
    expect(stateChanges(before, after)).toEqual(['Hall A is offline']);
    expect(stateChanges(after, after)).toEqual([]);
  });

  it('counts open alerts per node: a node with one is degraded, and says how many', () => {
    const [a, b] = withAlerts([node('a', 'A'), node('b', 'A')], [{ value: 'a', count: 2 }]);
    expect(a!.openAlerts).toBe(2);
    expect(b!.openAlerts).toBe(0);
    expect(tileState(a!)).toBe('degraded');
    expect(problems(a!)).toEqual(['2 open alerts']);
    expect(tileState(b!)).toBe('online');
  });

  it('words disk headroom and clock skew, nothing when not reported', () => {
    expect(diskFree(null)).toBeUndefined();
    expect(diskFree(999)).toBe('999 B free');
    expect(diskFree(850_000_000)).toBe('850 MB free');
    expect(diskFree(12_345_000_000)).toBe('12.3 GB free');
    expect(headroom(null)).toBeUndefined();
    expect(headroom(0.4)).toBe('< 1 h left');
    expect(headroom(31.5)).toBe('31 h left');
    expect(headroom(24 * 6 + 5)).toBe('6 d left');
    expect(clockSkew(null)).toBeUndefined();
    expect(clockSkew(200)).toBe('clock +0.2 s');
    expect(clockSkew(-1500)).toBe('clock −1.5 s');
    expect(clockSkew(-40)).toBe('clock ±0.0 s');
    expect(clockSkew(0)).toBe('clock ±0.0 s');
  });
});
