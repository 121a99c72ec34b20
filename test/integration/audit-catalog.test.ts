/**
 * The audit action catalog (controller/src/core/audit-actions.ts) and the permission catalog
 * (shared/src/permissions.ts) are complete and have nothing dead in them:
 * - every audit action the source writes is catalogued, and every catalogued action is written
 *   somewhere; no code writes an old (aliased) name; the only computed action is the HTTP denial;
 * - what a running controller stores is catalogued (see also audit-completeness.test.ts);
 * - a renamed action is found by filters under its old and its new name, rows keep their names;
 * - every permission is declared by a route, or reserved for a named later feature.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_ACTION_ALIASES,
  AUDIT_ACTIONS,
  type AuditAction,
  auditActionNames,
  HTTP_DENIAL_ACTION,
  isCatalogAuditAction,
} from '../../controller/src/core/audit-actions.js';
import { CHANGE_TYPES } from '../../controller/src/core/change-feed.js';
import { OPS_EVENT_KINDS } from '../../controller/src/core/ops-log.js';
import { PERMISSIONS, RESERVED_PERMISSIONS } from '../../shared/src/permissions.js';
import { uncataloguedEvents } from '../support/audit-catalog.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'controller/src');
const CATALOG_FILE = 'controller/src/core/audit-actions.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Source without block comments and whole-line comments (doc text may quote names). */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

/** The first segments of catalogued and old names: a dotted literal starting so is an action. */
const DOMAINS = new Set(
  [...Object.keys(AUDIT_ACTIONS), ...Object.keys(AUDIT_ACTION_ALIASES)].map((name) => name.split('.')[0]),
);

/**
 * Change feed types (core/change-feed.ts) and ops event kinds (core/ops-log.ts) look like actions
 * but are not written to the audit trail (unless one is also a catalogued action, e.g. `demo.reset`).
 */
const NOT_AUDIT_ACTIONS: ReadonlySet<string> = new Set(
  [...CHANGE_TYPES, ...OPS_EVENT_KINDS].filter((name) => !isCatalogAuditAction(name)),
);

interface Found {
  value: string;
  where: string;
}

function scan(): { literals: Found[]; computed: Found[] } {
  const literals: Found[] = [];
  const computed: Found[] = [];
  for (const file of sourceFiles(SRC)) {
    const where = relative(ROOT, file);
    if (where === CATALOG_FILE) continue;
    const text = code(readFileSync(file, 'utf8'));
    for (const m of text.matchAll(/(['"`])([a-z][a-z_]*(?:\.[a-z_]+)+)\1/g))
      if (DOMAINS.has(m[2]!.split('.')[0]) && !NOT_AUDIT_ACTIONS.has(m[2]!))
        literals.push({ value: m[2]!, where });
    for (const m of text.matchAll(/`([a-z][a-z_]*)\.[^`]*\$\{/g))
      if (DOMAINS.has(m[1]) || m[1] === 'http') computed.push({ value: m[0], where });
  }
  return { literals, computed };
}

describe('the audit action catalog against the source', () => {
  const { literals, computed } = scan();

  it('finds the actions the source writes', () => {
    expect(literals.length).toBeGreaterThan(50);
  });

  it('every action literal in controller/src is catalogued under its current name', () => {
    const unknown = literals.filter((f) => !isCatalogAuditAction(f.value));
    expect(
      unknown.map((f) => `${f.value} (${f.where})`),
      'add it to AUDIT_ACTIONS, or write the new name of a renamed action',
    ).toEqual([]);
  });

  it('every catalogued action is written somewhere', () => {
    const written = new Set(literals.map((f) => f.value));
    const dead = Object.keys(AUDIT_ACTIONS).filter((name) => !written.has(name));
    expect(dead, 'remove catalog entries nothing writes (or write them as literals)').toEqual([]);
  });

  it('the only computed action is the central HTTP denial', () => {
    expect(computed.map((f) => `${f.value} (${f.where})`)).toEqual([
      expect.stringMatching(/^`http\.\$\{.*\(controller\/src\/http\/denial-audit\.ts\)$/),
    ]);
  });

  it('aliases point from names no longer written to catalogued names', () => {
    for (const [old, now] of Object.entries(AUDIT_ACTION_ALIASES)) {
      expect(isCatalogAuditAction(old), old).toBe(false);
      expect(isCatalogAuditAction(now), now).toBe(true);
    }
    expect(HTTP_DENIAL_ACTION.test('http.get /api/v1/nodes/:id')).toBe(true);
    expect(HTTP_DENIAL_ACTION.test('node.enroll')).toBe(false);
  });

  it('matches a name with its old names and an old name with its new one', () => {
    expect(auditActionNames('node.agent_change').sort()).toEqual(['node.agent_change', 'node.agent_changed']);
    expect(auditActionNames('node.agent_changed').sort()).toEqual([
      'node.agent_change',
      'node.agent_changed',
    ]);
    expect(auditActionNames('node.enroll')).toEqual(['node.enroll']);
    expect(auditActionNames('fixture.any')).toEqual(['fixture.any']);
  });
});

describe('stored audit events and the catalog', () => {
  let ctl: TestController;
  let owner: string;
  let auditor: string;
  const seeded: Record<string, string> = {};

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    auditor = await userWithRole(ctl, 'catalog-auditor', 'auditor');
    const viewer = await userWithRole(ctl, 'catalog-viewer', 'viewer');
    const node = await enrolledNode(ctl, { id: 'catalog-node', site: 'catalog' });
    // A few changes and denials, under their own actions and the central HTTP one.
    await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/api-tokens',
      headers: bearer(owner),
      payload: { name: 'x' },
    });
    await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${node.nodeId}/credentials/rotate`,
      headers: bearer(viewer),
    });
    await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'nobody', password: 'wrong password 123' },
    });
    await ctl.app.inject({ method: 'POST', url: '/api/v1/agent/enroll', payload: { token: 'not-a-token' } });
    // Events as an older controller stored them: the node's agent change under its old name.
    const write = (action: string, after: unknown) =>
      ctl.services.audit.recordAlone({
        actor: { type: 'node', id: node.nodeId, name: node.nodeId },
        permission: 'node:control',
        action: action as AuditAction,
        target: { type: 'node', id: node.nodeId },
        outcome: 'success',
        after,
      });
    seeded.old = await write('node.agent_changed', { agentVersion: '0.1.0' });
    seeded.now = await write('node.agent_change', { agentVersion: '0.2.0' });
  });
  afterAll(async () => ctl.stop());

  it('stores only catalogued actions, with their catalogued target types', async () => {
    const denials = await ctl.db.auditEvent.count({ where: { action: { startsWith: 'http.' } } });
    expect(denials, 'the scenario includes a central HTTP denial').toBeGreaterThan(0);
    expect(await uncataloguedEvents(ctl.db)).toEqual([]);
  });

  it('reports an action outside the catalog', async () => {
    const other = await testController();
    try {
      await other.services.audit.recordAlone({
        actor: { type: 'system' },
        action: 'node.renamed' as AuditAction,
        target: { type: 'node', id: 'n' },
        outcome: 'success',
      });
      await other.services.audit.recordAlone({
        actor: { type: 'system' },
        action: 'node.enroll',
        target: { type: 'recording', id: 'r' },
        outcome: 'success',
      });
      expect((await uncataloguedEvents(other.db)).sort()).toEqual([
        'node.enroll: target type recording, catalogued as "node"',
        'node.renamed: not in the audit action catalog',
      ]);
    } finally {
      await other.stop();
    }
  });

  const ids = async (query: string) => {
    const response = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/audit-events?${query}`,
      headers: bearer(auditor),
    });
    expect(response.statusCode, response.body).toBe(200);
    return (response.json().data as { id: string; action: string }[]).map((e) => `${e.id} ${e.action}`);
  };

  it('filters a renamed action by its new name or its old one, rows keeping their stored names', async () => {
    const both = [`${seeded.now} node.agent_change`, `${seeded.old} node.agent_changed`];
    expect(await ids('action=node.agent_change')).toEqual(both);
    expect(await ids('action=node.agent_changed')).toEqual(both);
    expect(await ids('action=node.agent_ch*')).toEqual(both);
    expect(await ids('action=node.*&targetId=catalog-node&actorType=node&permission=node:control')).toEqual(
      expect.arrayContaining(both),
    );
  });

  it('counts and exports a renamed action under both names', async () => {
    const facets = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/audit-events/facets?action=node.agent_change',
      headers: bearer(auditor),
    });
    expect(facets.json().data).toMatchObject({
      total: 2,
      action: expect.arrayContaining([
        { value: 'node.agent_change', count: 1 },
        { value: 'node.agent_changed', count: 1 },
      ]),
    });
    const exported = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/audit-events/export?action=node.agent_changed',
      headers: bearer(auditor),
    });
    expect(exported.statusCode).toBe(200);
    const rows = exported.body
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { id: string; action: string });
    expect(rows.map((r) => `${r.id} ${r.action}`)).toEqual([
      `${seeded.now} node.agent_change`,
      `${seeded.old} node.agent_changed`,
    ]);
  });

  it('leaves the chain intact (no row is rewritten)', async () => {
    expect((await ctl.services.audit.verifyChain()).ok).toBe(true);
  });

  it('every permission is declared by a route or reserved for a named later feature', () => {
    const declared = new Set<string>();
    for (const { access } of ctl.routes) {
      if (access.user && access.user !== 'authenticated') declared.add(access.user);
      if (access.agent) declared.add(access.agent);
    }
    const reserved: Record<string, string> = RESERVED_PERMISSIONS;
    const unused = PERMISSIONS.filter((p) => !declared.has(p) && !(p in reserved));
    expect(unused, 'declare it on a route, or reserve it in RESERVED_PERMISSIONS with its feature').toEqual(
      [],
    );
    const nowUsed = Object.keys(reserved).filter((p) => declared.has(p));
    expect(nowUsed, 'a route uses it now: remove it from RESERVED_PERMISSIONS').toEqual([]);
    for (const [permission, feature] of Object.entries(reserved))
      expect(feature.length, `${permission} names the feature it waits for`).toBeGreaterThan(10);
  });
});
