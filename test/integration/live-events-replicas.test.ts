/**
 * Two controllers on one PostgreSQL: a live events stream on replica B hears the changes made on
 * replica A (B's tail reads the shared table; its timer's pass is driven here), and changes made
 * on both at once reach it each once, in id order, none skipped.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type ControllerApp } from '../../controller/src/app.js';
import { loadConfig } from '../../controller/src/config.js';
import { type Db, openDatabase } from '../../controller/src/db/client.js';
import { migrate } from '../../controller/src/db/migrate.js';
import { AUDIT_APPENDED } from '../../shared/src/live-events.js';
import { bearer } from '../support/controller.js';
import {
  createDatabase,
  type RunningPostgres,
  startPostgres,
  uniqueDatabaseName,
} from '../support/postgres.js';
import { readSse, type SseEvent } from '../support/sse.js';
import { tempDir } from '../support/tmp.js';

describe('live events across two controllers on one PostgreSQL', () => {
  let own: RunningPostgres | undefined;
  const replicas: { app: ControllerApp; db: Db }[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  let token = '';
  const nodeId = 'events-replica-node';

  beforeAll(async () => {
    let baseUrl = inject('pgBaseUrl');
    if (!baseUrl) {
      own = await startPostgres();
      baseUrl = own.url;
    }
    const target = {
      provider: 'postgresql' as const,
      url: await createDatabase(baseUrl, uniqueDatabaseName('events_replicas')),
    };
    await migrate(target);
    for (let i = 0; i < 2; i++) {
      const dir = await tempDir(`events-replica-${i}`);
      const config = loadConfig(
        {},
        { dataDir: join(dir.path), logLevel: 'silent', scryptLogN: 10, httpPort: 0, mqttPort: 0 },
      );
      const db = openDatabase(target);
      const app = await buildApp({ config, db, provider: 'postgresql', logger: false });
      await app.app.ready();
      replicas.push({ app, db });
      cleanups.push(async () => {
        await app.close();
        await db.$disconnect();
        await dir.cleanup();
      });
    }
    const a = replicas[0]!.app.app;
    const owner = { username: 'owner', password: 'correct horse battery staple' };
    await a.inject({ method: 'POST', url: '/api/v1/setup', payload: owner });
    token = (await a.inject({ method: 'POST', url: '/api/v1/auth/login', payload: owner })).json().data.token;
    const enroll = await a.inject({
      method: 'POST',
      url: '/api/v1/nodes/enroll',
      headers: bearer(token),
      payload: { name: nodeId, site: 'hq', id: nodeId },
    });
    expect(enroll.statusCode, enroll.body).toBe(201);
    const exchange = await a.inject({
      method: 'POST',
      url: '/api/v1/agent/enroll',
      payload: { token: enroll.json().data.enrollmentToken },
    });
    expect(exchange.statusCode, exchange.body).toBe(200);
  });
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
    await own?.stop();
  });

  const createOn = async (replica: number) => {
    const created = await replicas[replica]!.app.app.inject({
      method: 'POST',
      url: '/api/v1/recordings',
      headers: bearer(token),
      payload: { nodeId },
    });
    expect(created.statusCode, created.body).toBe(201);
    return created.json().data.id as string;
  };

  it("a stream on B hears A's changes, and both replicas' at once, each once and in order", async () => {
    const b = replicas[1]!.app;
    await b.app.listen({ port: 0, host: '127.0.0.1' });
    const address = b.app.server.address();
    if (!address || typeof address === 'string') throw new Error('no HTTP address');
    const url = `http://127.0.0.1:${address.port}`;
    const events: SseEvent[] = [];
    const created: string[] = [];
    /** The creates, begun once the stream is ready; an answer may come after its event. */
    let creating: Promise<void> | undefined;
    /** A create that failed: the reason the stream would otherwise only time out waiting for it. */
    let failure: unknown;
    // B's tail runs on a timer in a started controller; here each pass is driven while waiting.
    const tailing = setInterval(() => void b.services.events.tick(), 50);
    try {
      await readSse(
        `${url}/api/v1/events`,
        bearer(token),
        (event) => {
          events.push(event);
          creating ??= (async () => {
            created.push(await createOn(0));
            const both = await Promise.all([0, 1, 0, 1, 0, 1].map((replica) => createOn(replica)));
            created.push(...both);
          })().catch((error: unknown) => {
            failure = error;
          });
          // The 7 events only: the last create may answer after the last event, and this is
          // called again only when another event comes (none may).
          const recordings = events.filter((e) => e.event === 'recording.state');
          return recordings.length >= 7 ? true : undefined;
        },
        20_000,
      ).catch((error: unknown) => {
        throw failure ?? error;
      });
    } finally {
      clearInterval(tailing);
    }
    await creating;
    if (failure) throw failure;
    // The stored changes: not the stream's greeting, nor the audit trail's growth told to an
    // owner (`audit.appended` is not stored and has no id).
    const changes = events.filter((e) => e.event !== 'ready' && e.event !== AUDIT_APPENDED);
    expect(changes.every((e) => e.id !== undefined)).toBe(true);
    const ids = changes.map((e) => Number(e.id));
    // In id order, each once, and nothing in the table between the first and the last skipped.
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(ids.length);
    const stored = await replicas[0]!.db.liveEvent.findMany({
      where: { id: { gte: ids[0]!, lte: ids[ids.length - 1]! } },
      orderBy: { id: 'asc' },
    });
    expect(stored.map((e) => e.id)).toEqual(ids);
    const heard = changes
      .filter((e) => e.event === 'recording.state')
      .map((e) => JSON.parse(e.data).subject.id as string);
    expect(new Set(heard)).toEqual(new Set(created));
  });
});
