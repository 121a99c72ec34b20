/**
 * A broken audit chain is a health event of the controller itself: a verification (asked for on
 * GET /audit-events/verify, or the chain watch's own) that finds a broken link opens one
 * `audit_chain` event with no node, which only callers holding health:read over the whole fleet
 * see; every further failed verification counts on it; a verification that passes resolves it.
 * Raised and resolved as the system, audited, in the open-events gauge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_CHAIN_EVENT_ID } from '../../controller/src/modules/health/controller-alerts.js';
import { requestAs } from '../support/api.js';
import { enrolledNode, type TestController, testController, userWithRole } from '../support/controller.js';

interface EventView {
  id: string;
  nodeId: string | null;
  siteId: string | null;
  status: string;
  severity: string;
  source: string;
  count: number;
  values: Record<string, unknown>;
}

describe('audit chain verification as a health event', () => {
  let ctl: TestController;
  let owner: string;
  let siteOperator: string;

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    const node = await enrolledNode(ctl, { id: 'chain-node', site: 'north' });
    siteOperator = await userWithRole(ctl, 'north-operator', 'operator', { type: 'site', id: node.siteId });
  });
  afterAll(async () => ctl.stop());

  const get = async (url: string, token = owner) => {
    const res = await requestAs(ctl.app, token, 'GET', `/api/v1${url}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().data;
  };
  const chainEvents = (token = owner): Promise<EventView[]> => get('/health-events?type=audit_chain', token);

  it('opens one fleet-wide audit_chain event while the chain is broken, and resolves it once it verifies', async () => {
    expect(await get('/audit-events/verify')).toMatchObject({ ok: true });
    expect(await chainEvents()).toEqual([]);
    // Prometheus sees the last verification's verdict and when it ran, without the health module.
    expect(await ctl.metrics.render()).toMatch(/^earshot_audit_chain_broken 0$/m);
    expect(await ctl.metrics.render()).toMatch(/^earshot_audit_chain_verified_timestamp_seconds [1-9]/m);

    // Someone edits an event in the database behind the controller's back.
    const victim = await ctl.db.auditEvent.findFirstOrThrow({ orderBy: { seq: 'asc' }, skip: 1 });
    await ctl.db.auditEvent.update({ where: { seq: victim.seq }, data: { reason: 'rewritten' } });
    expect(await get('/audit-events/verify')).toMatchObject({
      ok: false,
      brokenAt: { seq: victim.seq, reason: 'event content was edited' },
    });
    const [broken, ...more] = await chainEvents();
    expect(more).toEqual([]);
    expect(broken).toMatchObject({
      id: AUDIT_CHAIN_EVENT_ID,
      nodeId: null,
      siteId: null,
      status: 'open',
      severity: 'critical',
      source: 'controller',
      count: 1,
      values: { brokenAtSeq: victim.seq, brokenAtId: victim.id, reason: 'event content was edited' },
    });
    expect(await ctl.metrics.render()).toMatch(
      /earshot_health_events_open\{type="audit_chain",severity="critical"\} 1/,
    );
    expect(await ctl.metrics.render()).toMatch(/^earshot_audit_chain_broken 1$/m);
    expect((await get('/health-events/facets')).nodeId).not.toContainEqual(
      expect.objectContaining({ value: null }),
    );

    // In the fleet's status; not a site's business: a site operator neither counts, lists nor opens it.
    expect((await get('/status')).healthEvents.critical).toBe(1);
    expect((await get('/status', siteOperator)).healthEvents.critical).toBe(0);
    expect(await chainEvents(siteOperator)).toEqual([]);
    const hidden = await requestAs(
      ctl.app,
      siteOperator,
      'GET',
      `/api/v1/health-events/${AUDIT_CHAIN_EVENT_ID}`,
    );
    expect(hidden.statusCode).toBe(404);

    // The watch's own verification finds it still broken: the same event, counted.
    expect((await ctl.services.auditChain.verify()).ok).toBe(false);
    expect(await chainEvents()).toMatchObject([{ id: AUDIT_CHAIN_EVENT_ID, status: 'open', count: 2 }]);

    await ctl.db.auditEvent.update({ where: { seq: victim.seq }, data: { reason: victim.reason } });
    expect(await get('/audit-events/verify')).toMatchObject({ ok: true });
    expect(await chainEvents()).toMatchObject([{ id: AUDIT_CHAIN_EVENT_ID, status: 'resolved', count: 2 }]);
    expect(await ctl.metrics.render()).toMatch(/^earshot_audit_chain_broken 0$/m);
    expect(await ctl.metrics.render()).not.toMatch(
      /earshot_health_events_open\{type="audit_chain"[^}]*\} [1-9]/,
    );

    // Raised and resolved as the system, audited as fleet-wide events.
    const audited = await ctl.db.auditEvent.findMany({
      where: { action: 'health_event.report', targetId: AUDIT_CHAIN_EVENT_ID },
      orderBy: { seq: 'asc' },
    });
    expect(audited.map((a) => [a.actorType, a.reason, a.nodeId, a.siteId])).toEqual([
      ['system', 'reported', null, null],
      ['system', 'cleared', null, null],
    ]);
    // What the chain walk announced left it whole.
    expect((await ctl.services.auditChain.verify()).ok).toBe(true);
  });

  it('lets a fleet-wide operator work the event through its lifecycle; a site operator may not', async () => {
    const refused = await requestAs(
      ctl.app,
      siteOperator,
      'POST',
      `/api/v1/health-events/${AUDIT_CHAIN_EVENT_ID}/reopen`,
      {},
    );
    expect(refused.statusCode).toBe(404);
    const reopened = await requestAs(
      ctl.app,
      owner,
      'POST',
      `/api/v1/health-events/${AUDIT_CHAIN_EVENT_ID}/reopen`,
      {
        reason: 'checking the backup restore',
      },
    );
    expect(reopened.statusCode, reopened.body).toBe(200);
    expect(reopened.json().data).toMatchObject({ status: 'open', nodeId: null });
  });
});
