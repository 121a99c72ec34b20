/**
 * The controller's health for operators: `GET /health` (fields, and scoping like `/status`),
 * `GET /health/history` (one sample a minute across replicas, from/to, paging, pruning, all on
 * an injected clock: passes are run by hand, nothing sleeps) and the operational event log
 * `GET /ops-events` (start, migrations, broker and stop from a real `startController`, settings
 * changes from the change feed, a failing periodic task; filters and cursor).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../controller/src/app.js';
import { loadConfig } from '../../controller/src/config.js';
import { databaseTarget, openDatabase } from '../../controller/src/db/client.js';
import { PeriodicTask } from '../../controller/src/platform/periodic-task.js';
import { startController } from '../../controller/src/server.js';
import { packageVersion } from '../../shared/src/version.js';
import {
  bearer,
  enrolledNode,
  ownerApiToken,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { FakeDiscord } from '../support/fake-discord/fake-discord.js';
import { createDatabase, uniqueDatabaseName } from '../support/postgres.js';
import { createRecording } from '../support/recordings.js';
import { tempDir } from '../support/tmp.js';

const T0 = Date.parse('2026-03-01T10:00:20.000Z');
const MINUTE = 60_000;
const DAY = 86_400_000;
const NO_TIMERS = { setInterval: () => undefined, clearInterval: () => {} };

describe('controller health, history and operational log', () => {
  let ctl: TestController;
  let owner: string;
  let eastViewer: string;
  let nowMs = T0;
  const now = () => new Date(nowMs);

  const get = async (url: string, token = owner) => {
    const response = await ctl.app.inject({ url, headers: bearer(token) });
    return { status: response.statusCode, body: response.json(), raw: response.body };
  };

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1', healthHistoryDays: 2, opsEventsDays: 3 }, now);
    await ctl.start();
    await ctl.services.healthSampler.stop(); // no timer: the tests run its passes by hand
    owner = await ownerApiToken(ctl); // the clock moves days: a login session would expire
    const east = await enrolledNode(ctl, { id: 'east-1', site: 'east' });
    await enrolledNode(ctl, { id: 'east-2', site: 'east' });
    await enrolledNode(ctl, { id: 'west-1', site: 'west' });
    eastViewer = await userWithRole(ctl, 'east-viewer', 'viewer', { type: 'site', id: east.siteId });
    await createRecording(ctl, owner, 'west-1'); // a queued job
    await ctl.services.diskWatch.sweep();
  });
  afterAll(async () => ctl.stop());

  describe('GET /health', () => {
    it('answers version, uptime, nodes and the controller-wide figures to a fleet-wide caller', async () => {
      nowMs = T0 + 90_000;
      const { status, body, raw } = await get('/api/v1/health');
      expect(status, raw).toBe(200);
      const health = body.data;
      expect(health.version).toBe(packageVersion());
      expect(health.uptimeSeconds).toBe(90);
      expect(health.at).toBe(new Date(T0 + 90_000).toISOString());
      expect(health.instanceId).toEqual(expect.any(String));
      expect(health.nodes).toEqual({ total: 3, online: 0 });
      const { database, broker, discordBot, queues, disk } = health.controller;
      expect(database).toMatchObject({ provider: ctl.target.provider, reachable: true });
      expect(database.latencyMs).toBeGreaterThanOrEqual(0);
      expect(broker).toEqual({ listening: true, port: ctl.broker.port(), clients: 0 });
      expect(discordBot).toEqual({ enabled: false, state: 'stopped' });
      expect(queues.recordingJobs).toEqual({ queued: 1, active: 0 });
      expect(queues.uploadQueue).toEqual({ queued: 0, uploading: 0, failed: 0 });
      expect(queues.webhookDeliveriesPending).toBe(0);
      expect(queues.notificationDeliveriesPending).toBe(0);
      expect(disk.freeBytes).toBeGreaterThan(0);
      expect(disk.totalBytes).toBeGreaterThanOrEqual(disk.freeBytes);
      expect(disk.headroomHours).toBeNull(); // nothing arrived: no rate, no end in sight
    });

    it('counts only the nodes in a site-scoped caller’s scope, and hides the controller-wide figures', async () => {
      const { status, body } = await get('/api/v1/health', eastViewer);
      expect(status).toBe(200);
      expect(body.data.nodes).toEqual({ total: 2, online: 0 });
      expect(body.data.controller).toBeNull();
      expect((await get('/api/v1/health/history', eastViewer)).status).toBe(403);
      expect((await get('/api/v1/ops-events', eastViewer)).status).toBe(403);
    });
  });

  describe('GET /health/history', () => {
    it('keeps one sample a minute, whichever replica takes it first', async () => {
      // A second replica on the same database, with the same clock.
      const config = loadConfig({}, { ...ctl.config, httpPort: 0, mqttPort: 0 });
      const db = openDatabase(ctl.target);
      const replica = await buildApp({ config, db, provider: ctl.target.provider, now, logger: false });
      try {
        nowMs = T0;
        expect(await ctl.services.healthSampler.pass()).toBe(true); // 10:00
        nowMs = T0 + 30_000;
        expect(await ctl.services.healthSampler.pass()).toBe(false); // still 10:00
        nowMs = T0 + 35_000;
        expect(await replica.services.healthSampler.pass()).toBe(false);
        nowMs = T0 + 45_000;
        expect(await replica.services.healthSampler.pass()).toBe(true); // 10:01: the replica first
        nowMs = T0 + 50_000;
        expect(await ctl.services.healthSampler.pass()).toBe(false);
      } finally {
        await replica.close();
        await db.$disconnect();
      }
      nowMs = T0 + 2 * MINUTE;
      await ctl.services.healthSampler.sampleNow(); // 10:02, through the periodic task
      const { status, body, raw } = await get('/api/v1/health/history');
      expect(status, raw).toBe(200);
      const samples = body.data;
      expect(samples.map((s: { minute: string }) => s.minute)).toEqual([
        '2026-03-01T10:00:00.000Z',
        '2026-03-01T10:01:00.000Z',
        '2026-03-01T10:02:00.000Z',
      ]);
      expect(samples[0].instanceId).not.toBe(samples[1].instanceId);
      expect(samples[0].takenAt).toBe(new Date(T0).toISOString());
      expect(samples[0].nodes).toEqual({ total: 3, online: 0 });
      expect(samples[0].controller.database.reachable).toBe(true);
      expect(samples[0].controller.queues.recordingJobs.queued).toBe(1);
      expect(body.nextCursor).toBeNull();
    });

    it('filters by from/to and pages with a cursor', async () => {
      const from = encodeURIComponent('2026-03-01T10:01:00Z');
      const to = encodeURIComponent('2026-03-01T10:01:59Z');
      const ranged = await get(`/api/v1/health/history?from=${from}&to=${to}`);
      expect(ranged.body.data.map((s: { minute: string }) => s.minute)).toEqual(['2026-03-01T10:01:00.000Z']);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const { body } = await get(`/api/v1/health/history?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...body.data.map((s: { minute: string }) => s.minute));
        cursor = body.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(3);
      expect(new Set(seen).size).toBe(3);
      expect((await get(`/api/v1/health/history?from=${to}&to=${from}`)).status).toBe(400);
      expect((await get('/api/v1/health/history?cursor=nonsense')).status).toBe(400);
    });

    it('prunes samples (and operational events) older than their configured days', async () => {
      const old = { instanceId: 'gone', message: 'an old start', level: 'info', kind: 'controller.started' };
      await ctl.db.opsEvent.create({ data: { ...old, id: 'old-event', at: new Date(T0 - 4 * DAY) } });
      nowMs = T0 + 2 * DAY + MINUTE; // this minute is 10:01 two days on: 10:00 is now too old
      expect(await ctl.services.healthSampler.pass()).toBe(true);
      // Events are kept 3 days here: the one from 6 days ago goes, the start at T0 stays.
      expect(await ctl.db.opsEvent.findUnique({ where: { id: 'old-event' } })).toBeNull();
      expect(await ctl.db.opsEvent.count({ where: { kind: 'controller.started' } })).toBe(1);
      const { body } = await get('/api/v1/health/history');
      expect(body.data.map((s: { minute: string }) => s.minute)).toEqual([
        '2026-03-01T10:01:00.000Z',
        '2026-03-01T10:02:00.000Z',
        '2026-03-03T10:01:00.000Z',
      ]);
    });
  });

  describe('GET /ops-events', () => {
    it('records each committed settings change (family, name, revision, action; no body)', async () => {
      const created = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/settings/recording-profiles',
        headers: bearer(owner),
        payload: { name: 'ops-profile' },
      });
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json().data.id as string;
      const updated = await ctl.app.inject({
        method: 'PATCH',
        url: `/api/v1/settings/recording-profiles/${id}`,
        headers: bearer(owner),
        payload: { name: 'ops-profile-2' },
      });
      expect(updated.statusCode, updated.body).toBe(200);
      await ctl.services.opsLog.flush();
      const { body } = await get('/api/v1/ops-events?kind=settings.changed');
      expect(body.data.map((e: { data: unknown }) => e.data)).toEqual([
        { id, family: 'recording-profiles', name: 'ops-profile-2', revision: 2, action: 'update' },
        { id, family: 'recording-profiles', name: 'ops-profile', revision: 1, action: 'create' },
      ]);
      expect(body.data[0]).toMatchObject({ kind: 'settings.changed', level: 'info' });
    });

    it('records a periodic task’s first failed pass as a runner error, and when it works again', async () => {
      nowMs += MINUTE;
      let failing = true;
      const task = new PeriodicTask({
        what: 'a test runner',
        pass: async () => {
          if (failing) throw new Error('the disk is on fire');
        },
        log: { error: () => {} },
        ops: ctl.services.opsLog,
        intervalMs: MINUTE,
        timers: NO_TIMERS,
      });
      await task.tick();
      await task.tick(); // still failing: not a second event
      await ctl.services.opsLog.flush();
      const { body } = await get('/api/v1/ops-events?level=warning');
      expect(body.data).toHaveLength(1);
      expect(body.data[0]).toMatchObject({
        kind: 'runner.failed',
        level: 'error',
        message: 'a test runner failed: the disk is on fire',
        data: { runner: 'a test runner' },
        at: new Date(nowMs).toISOString(),
      });
      failing = false;
      await task.tick();
      await task.tick();
      await ctl.services.opsLog.flush();
      const recovered = (await get('/api/v1/ops-events?kind=runner.recovered')).body.data;
      expect(recovered).toHaveLength(1);
      expect(recovered[0]).toMatchObject({
        level: 'info',
        data: { runner: 'a test runner', failedPasses: 2 },
      });
    });

    it('filters by time and pages newest first with a cursor', async () => {
      const all = (await get('/api/v1/ops-events?limit=200')).body.data as { id: string; at: string }[];
      expect(all.length).toBeGreaterThanOrEqual(5); // started, broker, 2 settings, runner
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const { body } = await get(`/api/v1/ops-events?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...body.data.map((e: { id: string }) => e.id));
        cursor = body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(all.map((e) => e.id));
      const since = encodeURIComponent(new Date(nowMs).toISOString());
      const recent = (await get(`/api/v1/ops-events?since=${since}`)).body.data;
      expect(recent.map((e: { kind: string }) => e.kind)).toEqual(['runner.recovered', 'runner.failed']);
      const until = encodeURIComponent(new Date(T0 - 1).toISOString());
      expect((await get(`/api/v1/ops-events?since=${since}&until=${until}`)).status).toBe(400);
      expect((await get('/api/v1/ops-events?kind=no.such')).status).toBe(400);
      expect((await get('/api/v1/ops-events?cursor=nonsense')).status).toBe(400);
    });
  });
});

describe('a controller run, in the operational event log', () => {
  it('records its start, the migrations it applied, the broker and its stop', async () => {
    const dir = await tempDir('ops-run');
    const pgBaseUrl = inject('pgBaseUrl');
    const databaseUrl = pgBaseUrl ? await createDatabase(pgBaseUrl, uniqueDatabaseName('ops')) : undefined;
    const config = loadConfig(
      {},
      {
        dataDir: dir.path,
        ...(databaseUrl ? { databaseUrl } : {}),
        logLevel: 'silent',
        scryptLogN: 10,
        httpPort: 0,
        httpHost: '127.0.0.1',
        mqttPort: 0,
        mqttHost: '127.0.0.1',
      },
    );
    const controller = await startController(config);
    await controller.stop();
    const db = openDatabase(databaseTarget(config.databaseUrl, config.dataDir));
    try {
      const events = await db.opsEvent.findMany({ orderBy: [{ at: 'asc' }, { id: 'asc' }] });
      const kinds = events.map((e) => e.kind);
      expect(kinds).toEqual(
        expect.arrayContaining([
          'controller.started',
          'migrations.applied',
          'broker.started',
          'controller.stopped',
        ]),
      );
      expect(kinds.at(-1)).toBe('controller.stopped');
      expect(new Set(events.map((e) => e.instanceId)).size).toBe(1);
      const migrations = events.find((e) => e.kind === 'migrations.applied')!;
      expect(JSON.parse(migrations.data).migrations).toContain('0026_health_history_ops_events');
      const broker = events.find((e) => e.kind === 'broker.started')!;
      expect(JSON.parse(broker.data).port).toBeGreaterThan(0);
    } finally {
      await db.$disconnect();
      await dir.cleanup();
    }
  });
});

describe('the Discord bot, in the operational event log', () => {
  it('records it ready, reconnecting after a dropped connection, ready again, and stopped', async () => {
    const fake = await FakeDiscord.start();
    fake.addGuild({
      id: '400000000000000301',
      name: 'Ops',
      channels: [{ id: '400000000000000311', name: 'Voice', type: 2 }],
      members: [],
    });
    const ctl = await testController({ discordBotToken: fake.token, discordApiBase: fake.restApiBase });
    const kinds = async () => {
      await ctl.services.opsLog.flush();
      const rows = await ctl.db.opsEvent.findMany({
        where: { kind: { startsWith: 'discord.' } },
        orderBy: [{ at: 'asc' }, { id: 'asc' }],
      });
      return rows.map((r) => r.kind);
    };
    try {
      await ctl.start();
      await expect.poll(kinds, { timeout: 20_000 }).toEqual(['discord.ready']);
      fake.dropConnection();
      await expect
        .poll(kinds, { timeout: 20_000 })
        .toEqual(['discord.ready', 'discord.reconnecting', 'discord.ready']);
      await ctl.close();
      expect((await kinds()).at(-1)).toBe('discord.stopped');
    } finally {
      await ctl.stop();
      await fake.stop();
    }
  });
});
