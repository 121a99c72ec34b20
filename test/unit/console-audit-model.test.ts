/** The audit trail page's model: filters ↔ URL, datetime-local ↔ instants, the before/after diff. */
import { describe, expect, it } from 'vitest';
import {
  auditDiff,
  filtersFromSearch,
  fromLocalInput,
  searchFromFilters,
  toLocalInput,
} from '../../controller/console/src/audit-model.js';

describe('audit filters in the URL', () => {
  it('round-trips every filter and the cursor, in a stable order', () => {
    const filters = {
      actorName: 'owner',
      action: 'auth.*',
      outcome: 'denied',
      targetType: 'user',
      targetId: 'u-1',
      from: '2026-12-01T00:00:00.000Z',
      to: '2026-12-02T00:00:00.000Z',
    };
    const search = searchFromFilters(filters, 'abc');
    expect(search).toBe(
      '?actorName=owner&action=auth.*&outcome=denied&targetType=user&targetId=u-1' +
        '&from=2026-12-01T00%3A00%3A00.000Z&to=2026-12-02T00%3A00%3A00.000Z&cursor=abc',
    );
    expect(filtersFromSearch(search)).toEqual({ filters, cursor: 'abc' });
  });

  it('leaves out empty, unknown and malformed values', () => {
    expect(filtersFromSearch('?action=&outcome=maybe&from=yesterday&foo=1&actorName=%20bob%20')).toEqual({
      filters: { actorName: 'bob' },
    });
    expect(searchFromFilters({ action: ' ', actorName: '' })).toBe('');
    expect(searchFromFilters({ outcome: 'denied' })).toBe('?outcome=denied');
  });
});

describe('datetime-local inputs', () => {
  it('shows an instant in local time to the minute and reads it back', () => {
    const iso = new Date(2026, 11, 5, 9, 7).toISOString();
    expect(toLocalInput(iso)).toBe('2026-12-05T09:07');
    expect(fromLocalInput('2026-12-05T09:07')).toBe(iso);
  });

  it('keeps empty and invalid values empty', () => {
    expect(toLocalInput(undefined)).toBe('');
    expect(toLocalInput('nope')).toBe('');
    expect(fromLocalInput('')).toBeUndefined();
    expect(fromLocalInput('nope')).toBeUndefined();
  });
});

describe('before/after diff', () => {
  it('marks keys added, removed, changed and the same, nested keys dotted, sorted', () => {
    const before = { name: 'ops', disabled: false, scope: { type: 'site', id: 'a' }, old: 1 };
    const after = { name: 'ops', disabled: true, scope: { type: 'site', id: 'b' }, grants: ['viewer'] };
    expect(auditDiff(before, after)).toEqual([
      { key: 'disabled', before: 'false', after: 'true', change: 'changed' },
      { key: 'grants', after: '["viewer"]', change: 'added' },
      { key: 'name', before: '"ops"', after: '"ops"', change: 'same' },
      { key: 'old', before: '1', change: 'removed' },
      { key: 'scope.id', before: '"a"', after: '"b"', change: 'changed' },
      { key: 'scope.type', before: '"site"', after: '"site"', change: 'same' },
    ]);
  });

  it('treats a missing side (create, delete) as no keys', () => {
    expect(auditDiff(null, { a: 1 })).toEqual([{ key: 'a', after: '1', change: 'added' }]);
    expect(auditDiff({ a: 1 }, null)).toEqual([{ key: 'a', before: '1', change: 'removed' }]);
    expect(auditDiff(null, null)).toEqual([]);
  });

  it('compares arrays and scalars as whole values', () => {
    expect(auditDiff({ p: [1, 2] }, { p: [1, 2] })).toEqual([
      { key: 'p', before: '[1,2]', after: '[1,2]', change: 'same' },
    ]);
    expect(auditDiff('a', 'b')).toEqual([{ key: '(value)', before: '"a"', after: '"b"', change: 'changed' }]);
    expect(auditDiff({ e: {} }, { e: { x: null } })).toEqual([
      { key: 'e', before: '{}', change: 'removed' },
      { key: 'e.x', after: 'null', change: 'added' },
    ]);
  });
});
