/**
 * Two controllers on one PostgreSQL materialising the same schedules at once (and one of them
 * editing meanwhile): every occurrence exists exactly once per node, round after round.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type ControllerApp } from '../../controller/src/app.js';
import { loadConfig } from '../../controller/src/config.js';
import { type Db, openDatabase } from '../../controller/src/db/client.js';
import { migrate } from '../../controller/src/db/migrate.js';
import { bearer } from '../support/controller.js';
import {
  createDatabase,
  type RunningPostgres,
  startPostgres,
  uniqueDatabaseName,
} from '../support/postgres.js';
import { tempDir } from '../support/tmp.js';

const ROUNDS = 10;
const SCHEDULES = 6;

describe('two controllers materialising one PostgreSQL', () => {
  let own: RunningPostgres | undefined;
  const replicas: { app: ControllerApp; db: Db }[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  let token = '';
  const clock = () => new Date('2027-05-03T06:00:00Z');

  beforeAll(async () => {
    let baseUrl = inject('pgBaseUrl');
    if (!baseUrl) {
      own = await startPostgres();
      baseUrl = own.url;
    }
    const target = {
      provider: 'postgresql' as const,
      url: await createDatabase(baseUrl, uniqueDatabaseName('replicas')),
    };
    await migrate(target);
    for (let i = 0; i < 2; i++) {
      const dir = await tempDir(`replica-${i}`);
      const config = loadConfig(
        {},
        { dataDir: join(dir.path), logLevel: 'silent', scryptLogN: 10, httpPort: 0, mqttPort: 0 },
      );
      const db = openDatabase(target);
      const app = await buildApp({ config, db, provider: 'postgresql', now: clock, logger: false });
      await app.app.ready();
      replicas.push({ app, db });
      cleanups.push(async () => {
        await app.close();
        await db.$disconnect();
        await dir.cleanup();
      });
    }
    const [a] = replicas;
    const owner = { username: 'owner', password: 'correct horse battery staple' };
    await a!.app.app.inject({ method: 'POST', url: '/api/v1/setup', payload: owner });
    token = (await a!.app.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: owner })).json()
      .data.token;
    for (const id of ['rep-1', 'rep-2']) {
      const enroll = await a!.app.app.inject({
        method: 'POST',
        url: '/api/v1/nodes/enroll',
        headers: bearer(token),
        payload: { name: id, site: 'hq', id },
      });
      expect(enroll.statusCode, enroll.body).toBe(201);
    }
    for (let i = 0; i < SCHEDULES; i++) {
      const created = await a!.app.app.inject({
        method: 'POST',
        url: '/api/v1/schedules',
        headers: bearer(token),
        payload: {
          name: `replicated ${i}`,
          recurrence: i % 2 ? 'RRULE:FREQ=HOURLY;INTERVAL=6' : 'RRULE:FREQ=DAILY;BYHOUR=8,12,18',
          timeZone: 'Europe/Berlin',
          start: '2027-05-01T08:00',
          durationSeconds: 1800,
          targets: [{ nodeId: 'rep-1' }, { nodeId: 'rep-2' }],
        },
      });
      expect(created.statusCode, created.body).toBe(201);
    }
  });
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
    await own?.stop();
  });

  it('creates every occurrence exactly once, however the two interleave', async () => {
    const [a, b] = replicas;
    const expected = await a!.db.recordingJob.count({ where: { scheduleId: { not: null } } });
    expect(expected).toBeGreaterThan(SCHEDULES * 2 * 7);
    const schedule = await a!.db.schedule.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
    for (let round = 0; round < ROUNDS; round++) {
      // Forget what was materialised: both replicas find every schedule due at once.
      await a!.db.recording.deleteMany({
        where: { job: { is: { scheduleId: { not: null }, state: 'queued' } } },
      });
      await a!.db.schedule.updateMany({ data: { materializedUntil: null } });
      // One replica also edits a schedule meanwhile (to the same values: its plan must not move).
      await Promise.all([
        a!.app.services.schedules.materialiseDue(100),
        b!.app.services.schedules.materialiseDue(100),
        a!.app.app.inject({
          method: 'PATCH',
          url: `/api/v1/schedules/${schedule.id}`,
          headers: bearer(token),
          payload: { durationSeconds: 1800 },
        }),
      ]);
      const jobs = await a!.db.recordingJob.findMany({
        where: { scheduleId: { not: null } },
        select: { scheduleId: true, nodeId: true, occurrenceStart: true, part: true },
      });
      const keys = jobs.map(
        (j) => `${j.scheduleId}|${j.nodeId}|${j.occurrenceStart?.toISOString()}|${j.part}`,
      );
      expect(new Set(keys).size, `round ${round}: duplicates`).toBe(keys.length);
      expect(keys.length, `round ${round}`).toBe(expected);
    }
  });
});
