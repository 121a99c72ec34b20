import { describe, expect, it } from 'vitest';
import { AccessSet } from '../../controller/src/core/access-set.js';
import type { Principal } from '../../controller/src/core/principal.js';
import { type Visible, visibleTo } from '../../controller/src/core/visible.js';

const target = { name: 'node', target: { type: 'node', id: 'n1' } };
const object = { id: 'n1' };
const scope = { siteId: 's1', nodeId: 'n1' };

function user(grants: ConstructorParameters<typeof AccessSet>[0]): Principal {
  return { kind: 'user', userId: 'u', username: 'u', via: 'api-token', access: new AccessSet(grants) };
}

describe('visibleTo: the one object-access check', () => {
  it('lets a user with the permission over the object’s site or node see it', () => {
    const site = user([{ permissions: ['node:read'], scope: { type: 'site', id: 's1' } }]);
    expect(visibleTo(site, 'node:read', object, scope, target)).toBe(object);
    const node = user([{ permissions: ['node:read'], scope: { type: 'node', id: 'n1' } }]);
    expect(visibleTo(node, 'node:read', object, scope, target)).toBe(object);
  });

  it('hides the object (404, marked as a denial) outside the scope or without the permission', () => {
    const other = user([{ permissions: ['node:read'], scope: { type: 'site', id: 's2' } }]);
    const wrongPermission = user([{ permissions: ['node:manage'], scope: { type: 'site', id: 's1' } }]);
    for (const principal of [other, wrongPermission, { kind: 'anonymous' } as Principal]) {
      expect(() => visibleTo(principal, 'node:read', object, scope, target)).toThrow(
        expect.objectContaining({
          statusCode: 404,
          denial: expect.objectContaining({ target: target.target }),
        }),
      );
    }
  });

  it('lets an agent see only its own node’s objects', () => {
    const self: Principal = { kind: 'node', nodeId: 'n1', siteId: 's1' };
    const other: Principal = { kind: 'node', nodeId: 'n2', siteId: 's1' };
    expect(visibleTo(self, 'recording:control', object, scope, target)).toBe(object);
    expect(() => visibleTo(other, 'recording:control', object, scope, target)).toThrow(/not found/);
  });

  it('lets a front-end token’s Discord user see only its own guild', () => {
    const discord: Principal = { kind: 'discord', userId: 'd', guildId: 'g1', via: 'frontend-token' };
    expect(visibleTo(discord, 'attendance:read', object, { guildId: 'g1' }, target)).toBe(object);
    expect(() => visibleTo(discord, 'attendance:read', object, { guildId: 'g2' }, target)).toThrow(
      /not found/,
    );
  });

  it('is the only source of a Visible object (checked by the compiler)', () => {
    const takesVisible = (v: Visible<{ id: string }>) => v.id;
    // @ts-expect-error a plain row is not a checked one: services that act on objects take Visible<T>.
    expect(takesVisible({ id: 'raw' })).toBe('raw');
  });
});
