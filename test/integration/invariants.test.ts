/**
 * Invariants over the whole app: every route declares its access (the app refuses
 * to boot otherwise), every declared permission is in the catalog, and the audit
 * chain stays intact and detects tampering.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installAccessControl } from '../../controller/src/http/route-access.js';
import { isPermission } from '../../shared/src/permissions.js';
import { bearer, type TestController, testController } from '../support/controller.js';
import { SETTINGS_FAMILY_NAMES } from '../support/settings-families.js';

describe('route declarations', () => {
  let ctl: TestController;
  beforeAll(async () => {
    ctl = await testController();
  });
  afterAll(async () => ctl.stop());

  it('every route declares a known permission, or is explicitly public', () => {
    expect(ctl.routes.length).toBeGreaterThan(10);
    for (const route of ctl.routes) {
      const { access } = route;
      if (access.public) continue;
      if (access.user && access.user !== 'authenticated')
        expect(isPermission(access.user), route.url).toBe(true);
      if (access.agent) expect(isPermission(access.agent), route.url).toBe(true);
    }
  });

  it('every route with a user permission declares whether it is fleet-wide', () => {
    for (const route of ctl.routes) {
      const { access } = route;
      if (access.user && access.user !== 'authenticated')
        expect(['fleet', 'scoped'], `${route.method} ${route.url}`).toContain(access.scope);
    }
  });

  it('what is fleet-wide by nature needs its permission over the fleet', () => {
    // Access policies, rate limits, /metrics, the whole audit chain, the IdP's discovery and a
    // guild's plan apply everywhere: a grant over one site must not reach them.
    const fleet = ctl.routes
      .filter((r) => r.access.scope === 'fleet')
      .map((r) => `${r.method} ${r.url}`)
      .sort();
    expect(fleet).toEqual(
      [
        'GET /api/v1/admin/limits/assignments',
        'GET /api/v1/admin/limits/profiles',
        'GET /api/v1/audit-events/verify',
        'GET /api/v1/auth/access-policies',
        'GET /api/v1/auth/oidc/discovery',
        // Notification integrations hear about the whole fleet: managing one needs the fleet.
        ...[
          'GET ',
          'POST ',
          'GET /:id',
          'GET /:id/actions',
          'PATCH /:id',
          'DELETE /:id',
          'POST /:id/verify',
          'POST /:id/enable',
          'POST /:id/disable',
          'POST /:id/rotate-secret',
          'GET /:id/deliveries',
        ].map((route) => route.replace(' ', ' /api/v1/integrations')),
        'GET /metrics',
        'PATCH /api/v1/auth/access-policies',
        'PATCH /api/v1/guilds/:guildId/subscription',
        'POST /api/v1/admin/limits/assignments',
        'POST /api/v1/admin/limits/profiles',
        'PUT /api/v1/admin/limits/profiles/:id',
        'DELETE /api/v1/admin/limits/assignments/:id',
        'DELETE /api/v1/admin/limits/profiles/:id',
        // The upload runner copies the whole fleet's recordings: its status and a pass on demand.
        'GET /api/v1/upload-runner',
        'GET /api/v1/upload-runner/actions',
        'POST /api/v1/upload-runner/run',
        // Retention applies to the controller's whole store.
        'GET /api/v1/retention',
        'POST /api/v1/retention/run',
        // The controller's health history and operational log: figures and events of the whole fleet.
        'GET /api/v1/health/history',
        'GET /api/v1/ops-events',
        // Demo data (not in production mode) adds and removes sites and nodes across the fleet.
        'POST /api/v1/demo/seed',
        'POST /api/v1/demo/reset',
        // Calibrating a watchdog policy is a settings action.
        'POST /api/v1/settings/watchdog-policies/:id/calibrate',
        // Settings families: fleet-wide objects, reads and changes alike (and their index).
        'GET /api/v1/settings',
        'POST /api/v1/settings/upload-providers/:id/test',
        ...SETTINGS_FAMILY_NAMES.flatMap((family) =>
          [
            'GET ',
            'GET /export',
            'POST /export',
            'GET /:id',
            'GET /:id/actions',
            'GET /:id/history',
            'POST ',
            'PATCH /:id',
            'DELETE /:id',
            'POST /:id/rollback',
          ].map((route) => {
            const [method, rest] = route.split(' ');
            return `${method} /api/v1/settings/${family}${rest}`;
          }),
        ),
      ].sort(),
    );
  });

  it('shuts down in the order that matters', () => {
    // Stop order is the reverse: meter and listen streams end so HTTP can drain; HTTP stops accepting
    // before anything it serves goes away; the leader's work (the Discord bot, then resets,
    // then the open sessions saved as the snapshot) stops before keys are locked; the broker
    // closes last.
    expect([...ctl.lifecycle.names()].reverse()).toEqual([
      'live events',
      'listen sessions',
      'meter-streams',
      'http',
      'leadership',
      'health history sampler',
      'webhook-sender',
      'attendance-events',
      'signing-keys',
      // The runners stop after HTTP (no request starts new work) and before the broker they nudge through.
      // Notifications: the change feed is no longer heard, what it queued is written, the sender drains.
      'notification-sender',
      'controller disk watch',
      'node offline watch',
      'schedule runner',
      'upload runner',
      // Waveform peaks computed as recordings complete: its sox is ended before the sweep stops.
      'waveform peaks',
      'lost-contact sweep',
      'node lifecycle jobs',
      'broker',
      // The operational log's last event (controller.stopped) is written, then its writes drain.
      'ops log',
    ]);
  });

  it('only probes, docs, the console files, login (password and SSO), setup, agent enrollment and ticketed streams are public', () => {
    const publicRoutes = ctl.routes.filter((r) => r.access.public).map((r) => `${r.method} ${r.url}`);
    const allowed = [
      /^GET \/healthz$/,
      /^GET \/readyz$/,
      /^GET \/openapi\.(json|yaml)$/,
      /^(GET|POST) \/api\/v1\/setup$/,
      /^POST \/api\/v1\/auth\/login$/,
      /^GET \/api\/v1\/auth\/oidc\/(config|login|callback)$/,
      /^POST \/api\/v1\/agent\/enroll$/,
      /^GET \/mqtt$/,
      // The operator console's shell and hashed assets: no data; the API it calls decides.
      /^GET \/(\*|assets\/\*)?$/,
      // Live listen's WebSocket: the single-use ticket it presents is its credential.
      /^GET \/api\/v1\/nodes\/:id\/listen\/stream$/,
      // Live events' WebSocket: the single-use ticket it presents is its credential.
      /^GET \/api\/v1\/events\/stream$/,
      // A recording's playback stream: the playback session's ticket (cookie or header) is its credential.
      /^GET \/api\/v1\/recordings\/:id\/stream$/,
      // Attendance: anyone may check a signature; the webhook is authenticated by its shared secret.
      /^GET \/api\/v1\/verify\/(session\/:sessionId|period\/:guildId\/:periodIndex)$/,
      /^POST \/api\/v1\/webhooks\/attendance$/,
    ];
    for (const route of publicRoutes)
      expect(
        allowed.some((re) => re.test(route)),
        route,
      ).toBe(true);
  });

  it('refuses to boot with a route that declares no access', async () => {
    const app = Fastify();
    installAccessControl(app, {
      resolveUserSecret: async () => undefined,
      resolveNodeCredential: async () => undefined,
    });
    expect(() => app.get('/oops', async () => 'x')).toThrow(/declares no access/);
    expect(() =>
      app.get(
        '/oops2',
        { config: { access: { user: 'nope:nothing' as never, scope: 'scoped' } } },
        async () => 'x',
      ),
    ).toThrow(/unknown permission/);
    // A user permission must say whether what the route touches is fleet-wide.
    expect(() =>
      app.get('/oops3', { config: { access: { user: 'node:read' } as never } }, async () => 'x'),
    ).toThrow(/declare scope: 'fleet'/);
    expect(() =>
      app.get(
        '/oops4',
        { config: { access: { user: 'node:read', scope: 'everywhere' } as never } },
        async () => 'x',
      ),
    ).toThrow(/declare scope: 'fleet'/);
    await app.close();
  });

  it('denies anonymous callers on every non-public route with 401', async () => {
    for (const route of ctl.routes.filter((r) => !r.access.public)) {
      const response = await ctl.app.inject({
        method: route.method as 'GET',
        url: route.url.replace(/:[A-Za-z]+/g, 'x'),
      });
      expect(response.statusCode, `${route.method} ${route.url}`).toBe(401);
      expect(response.json().error.code).toBe('unauthenticated');
    }
  });
});

describe('audit chain', () => {
  let ctl: TestController;
  let token: string;
  beforeAll(async () => {
    ctl = await testController();
    token = await ctl.ownerToken();
    for (let i = 0; i < 5; i++) {
      await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/auth/api-tokens',
        headers: bearer(token),
        payload: { name: `t${i}` },
      });
    }
  });
  afterAll(async () => ctl.stop());

  it('chains concurrent writes without forking', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ctl.app.inject({
          method: 'POST',
          url: '/api/v1/auth/api-tokens',
          headers: bearer(token),
          payload: { name: `c${i}` },
        }),
      ),
    );
    expect(await ctl.services.audit.verifyChain()).toMatchObject({ ok: true });
  });

  it('finds an edited event', async () => {
    const victim = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'auth.api_token.create' },
      orderBy: { seq: 'asc' },
    });
    await ctl.db.auditEvent.update({ where: { seq: victim.seq }, data: { actorName: 'mallory' } });
    const report = await ctl.services.audit.verifyChain();
    expect(report).toMatchObject({
      ok: false,
      brokenAt: { seq: victim.seq, reason: 'event content was edited' },
    });
    await ctl.db.auditEvent.update({ where: { seq: victim.seq }, data: { actorName: victim.actorName } });
    expect((await ctl.services.audit.verifyChain()).ok).toBe(true);
  });

  it('finds a deleted event', async () => {
    const rows = await ctl.db.auditEvent.findMany({ orderBy: { seq: 'asc' }, take: 4 });
    await ctl.db.auditEvent.delete({ where: { seq: rows[2]!.seq } });
    const report = await ctl.services.audit.verifyChain();
    expect(report).toMatchObject({
      ok: false,
      brokenAt: { seq: rows[3]!.seq, reason: 'previous event missing or changed' },
    });
  });

  it('rolls the change back when the audit write fails', async () => {
    const before = await ctl.db.apiToken.count();
    await ctl.db.$executeRawUnsafe(
      ctl.target.provider === 'postgresql'
        ? 'ALTER TABLE "AuditEvent" ADD CONSTRAINT no_more CHECK (false) NOT VALID'
        : 'DROP TABLE "AuditEvent"',
    );
    const response = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/api-tokens',
      headers: bearer(token),
      payload: { name: 'doomed' },
    });
    expect(response.statusCode).toBe(500);
    expect(await ctl.db.apiToken.count()).toBe(before);
  });
});
