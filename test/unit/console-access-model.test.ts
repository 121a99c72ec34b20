/** The Users & access page's model: the tab a path names, grants as words and from a form. */
import { describe, expect, it } from 'vitest';
import {
  grantFromForm,
  grantInputs,
  grantLabel,
  tabFromPath,
} from '../../controller/console/src/access-model.js';

describe('access tabs', () => {
  it('reads the tab from the path; /access is users for a manager', () => {
    expect(tabFromPath('/access', true)).toBe('users');
    expect(tabFromPath('/access/groups', true)).toBe('groups');
    expect(tabFromPath('/access/tokens', true)).toBe('tokens');
    expect(tabFromPath('/access/nope', true)).toBe('users');
  });

  it('shows only the own tokens to a role without auth:manage', () => {
    expect(tabFromPath('/access', false)).toBe('tokens');
    expect(tabFromPath('/access/users', false)).toBe('tokens');
  });
});

describe('grants', () => {
  it('names a grant by role and scope', () => {
    expect(grantLabel({ role: 'viewer', scope: { type: 'fleet', id: null } })).toBe('viewer over fleet');
    expect(grantLabel({ role: 'operator', scope: { type: 'site', id: 's1' } })).toBe('operator over site s1');
  });

  it('reads a grant from a form: none without a role, an id unless the fleet', () => {
    expect(grantFromForm('', 'fleet', '')).toBeUndefined();
    expect(grantFromForm('viewer', 'fleet', 'ignored')).toEqual({
      grant: { role: 'viewer', scope: { type: 'fleet' } },
    });
    expect(grantFromForm('viewer', 'node', ' n1 ')).toEqual({
      grant: { role: 'viewer', scope: { type: 'node', id: 'n1' } },
    });
    expect(grantFromForm('viewer', 'site', ' ')).toEqual({ error: 'Name the site the role applies to.' });
    expect(grantFromForm('viewer', 'planet', 'x')).toEqual({ error: 'Choose a scope.' });
  });

  it('gives grants back as the API takes them (no null id)', () => {
    expect(
      grantInputs([
        { role: 'viewer', scope: { type: 'fleet', id: null } },
        { role: 'operator', scope: { type: 'site', id: 's1' } },
      ]),
    ).toEqual([
      { role: 'viewer', scope: { type: 'fleet' } },
      { role: 'operator', scope: { type: 'site', id: 's1' } },
    ]);
  });
});
