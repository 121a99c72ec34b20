import { describe, expect, it } from 'vitest';
import { AccessSet } from '../../controller/src/core/access-set.js';

describe('AccessSet', () => {
  const access = new AccessSet([
    { permissions: ['node:read', 'recording:read'], scope: { type: 'site', id: 'site-1' } },
    { permissions: ['node:read'], scope: { type: 'node', id: 'node-9' } },
    { permissions: ['audit:read'], scope: { type: 'fleet', id: null } },
  ]);

  it('denies by default', () => {
    expect(new AccessSet([]).has('node:read')).toBe(false);
    expect(access.has('node:manage')).toBe(false);
    expect(access.allows('node:manage', { siteId: 'site-1', nodeId: 'n' })).toBe(false);
  });

  it('allows objects inside a site or node grant only', () => {
    expect(access.allows('node:read', { siteId: 'site-1', nodeId: 'n1' })).toBe(true);
    expect(access.allows('node:read', { siteId: 'site-2', nodeId: 'node-9' })).toBe(true);
    expect(access.allows('node:read', { siteId: 'site-2', nodeId: 'n2' })).toBe(false);
    expect(access.allows('recording:read', { siteId: 'site-2', nodeId: 'node-9' })).toBe(false);
  });

  it('fleet grants cover everything, and filters say so', () => {
    expect(access.allows('audit:read', { siteId: 'anything' })).toBe(true);
    expect(access.filter('audit:read')).toEqual({ all: true });
    expect(access.filter('node:read')).toEqual({
      all: false,
      siteIds: ['site-1'],
      nodeIds: ['node-9'],
      guildIds: [],
    });
    expect(access.hasFleet('node:read')).toBe(false);
  });

  it('scopes attendance permissions to guilds', () => {
    const guildAdmin = new AccessSet([
      { permissions: ['attendance:manage'], scope: { type: 'guild', id: '123456789012345678' } },
    ]);
    expect(guildAdmin.allows('attendance:manage', { guildId: '123456789012345678' })).toBe(true);
    expect(guildAdmin.allows('attendance:manage', { guildId: '999' })).toBe(false);
    expect(guildAdmin.allows('attendance:manage', { siteId: '123456789012345678' })).toBe(false);
  });
});
