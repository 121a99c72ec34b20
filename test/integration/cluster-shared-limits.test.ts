/**
 * Two controllers on one PostgreSQL database count together (cluster/shared-counters.repository.ts):
 * failed logins spread over both throttle the account and the address as they would on one, and a
 * route's rate limit holds across both. SQLite is one process's database: its counters stay in
 * memory (tested by auth.test.ts and rate-limits.test.ts).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type ControllerApp } from '../../controller/src/app.js';
import { loadConfig } from '../../controller/src/config.js';
import { type Db, openDatabase } from '../../controller/src/db/client.js';
import { migrate } from '../../controller/src/db/migrate.js';
import { bearer } from '../support/controller.js';
import { createDatabase, uniqueDatabaseName } from '../support/postgres.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const OWNER = { username: 'owner', password: 'correct horse battery staple' };
const PER_ACCOUNT = 4;
const PER_ADDRESS = 6;

describe.skipIf(!inject('pgBaseUrl'))('two controllers on one PostgreSQL count limits together', () => {
  const replicas: { app: ControllerApp; db: Db; dir: TempDir }[] = [];
  let token = '';

  beforeAll(async () => {
    const target = {
      provider: 'postgresql' as const,
      url: await createDatabase(inject('pgBaseUrl'), uniqueDatabaseName('shared_limits')),
    };
    await migrate(target);
    for (let i = 0; i < 2; i++) {
      const dir = await tempDir(`shared-limits-${i}`);
      const config = loadConfig(
        {},
        {
          dataDir: join(dir.path),
          logLevel: 'silent',
          scryptLogN: 10,
          httpPort: 0,
          mqttPort: 0,
          loginFailuresPerAccountPerHour: PER_ACCOUNT,
          loginFailuresPerAddressPerHour: PER_ADDRESS,
          trustedProxies: '127.0.0.1', // the balancer, as EARSHOT_TRUSTED_PROXIES
        },
      );
      const db = openDatabase(target);
      const app = await buildApp({
        config,
        db,
        provider: 'postgresql',
        databaseUrl: target.url,
        logger: false,
      });
      await app.app.ready();
      replicas.push({ app, db, dir });
    }
    const [a] = replicas;
    await a!.app.app.inject({ method: 'POST', url: '/api/v1/setup', payload: OWNER });
    token = (await a!.app.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER })).json()
      .data.token;
  });

  afterAll(async () => {
    for (const { app, db, dir } of replicas) {
      await app.close();
      await db.$disconnect();
      await dir.cleanup();
    }
  });

  const login = (replica: number, username: string, address: string, password = 'wrong password!') =>
    replicas[replica]!.app.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password },
      remoteAddress: address,
    });

  it(`${PER_ACCOUNT} failed logins for one account, alternating replicas, throttle it on both`, async () => {
    for (let i = 0; i < PER_ACCOUNT; i++)
      expect((await login(i % 2, 'ghost-account', `10.0.0.${i + 1}`)).statusCode).toBe(401);
    for (const replica of [0, 1]) {
      const blocked = await login(replica, 'ghost-account', '10.0.1.1');
      expect(blocked.statusCode, blocked.body).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(3500);
      expect(blocked.json().error.code).toBe('rate_limited');
    }
    // Another account from another address is not throttled.
    expect((await login(1, 'someone-else', '10.0.2.1')).statusCode).toBe(401);
  });

  it(`${PER_ADDRESS} failures from one address over different accounts and replicas throttle that address`, async () => {
    for (let i = 0; i < PER_ADDRESS; i++)
      expect((await login(i % 2, `ghost-${i}`, '192.0.2.7')).statusCode).toBe(401);
    for (const replica of [0, 1]) {
      // The owner's right password too: the address is throttled, whoever it names.
      const blocked = await login(replica, OWNER.username, '192.0.2.7', OWNER.password);
      expect(blocked.statusCode).toBe(429);
    }
    expect((await login(0, OWNER.username, '192.0.2.8', OWNER.password)).statusCode).toBe(200);
  });

  it('a success on one replica clears the account for both', async () => {
    for (let i = 0; i < PER_ACCOUNT - 1; i++)
      expect((await login(i % 2, OWNER.username, `10.1.0.${i + 1}`)).statusCode).toBe(401);
    expect((await login(1, OWNER.username, '10.1.1.1', OWNER.password)).statusCode).toBe(200);
    // Had the failures stayed, one more would throttle: the account starts afresh instead.
    for (let i = 0; i < PER_ACCOUNT - 1; i++)
      expect((await login(i % 2, OWNER.username, `10.1.2.${i + 1}`)).statusCode).toBe(401);
    expect((await login(0, OWNER.username, '10.1.3.1', OWNER.password)).statusCode).toBe(200);
  });

  it("a route's rate limit holds across replicas: the calls counted on both", async () => {
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    const admin = (url: string, payload: object) =>
      a.app.app.inject({
        method: 'POST',
        url: `/api/v1/admin/limits${url}`,
        headers: bearer(token),
        payload,
      });
    const profile = await admin('/profiles', { name: 'shared', max: 5, windowSeconds: 60 });
    expect(profile.statusCode, profile.body).toBe(201);
    const assigned = await admin('/assignments', {
      route: 'GET /api/v1/nodes',
      profileId: profile.json().data.id,
    });
    expect(assigned.statusCode, assigned.body).toBe(201);
    await b.app.services.limits.reload(); // b reads the new assignment (else within its refresh interval)

    const list = (replica: typeof a) =>
      replica.app.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: bearer(token) });
    const answers: number[] = [];
    for (let i = 0; i < 5; i++) answers.push((await list(i % 2 ? b : a)).statusCode);
    expect(answers).toEqual([200, 200, 200, 200, 200]);
    for (const replica of [a, b]) {
      const limited = await list(replica);
      expect(limited.statusCode, limited.body).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.json().error.code).toBe('rate_limited');
    }
  });

  it("behind the trusted balancer the caller's forwarded address is counted; elsewhere the header is ignored", async () => {
    const via = (remoteAddress: string) =>
      replicas[0]!.app.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'forwarded-ghost', password: 'wrong password!' },
        remoteAddress,
        headers: { 'x-forwarded-for': '203.0.113.5' },
      });
    expect((await via('127.0.0.1')).statusCode).toBe(401);
    expect((await via('10.9.9.9')).statusCode).toBe(401); // not the balancer: its header names nobody
    const keys = (
      await replicas[0]!.db.$queryRawUnsafe<{ key: string }[]>(
        `SELECT "key" FROM "SharedCounter" WHERE "key" LIKE 'login:a:%'`,
      )
    ).map((r) => r.key);
    expect(keys).toContain('login:a:203.0.113.5');
    expect(keys).toContain('login:a:10.9.9.9');
    expect(keys).not.toContain('login:a:127.0.0.1');
  });

  it('the counters are rows in the shared database', async () => {
    const keys = (
      await replicas[0]!.db.$queryRawUnsafe<{ key: string }[]>('SELECT "key" FROM "SharedCounter"')
    ).map((r) => r.key);
    expect(keys).toContain('login:u:ghost-account');
    expect(keys).toContain('login:a:192.0.2.7');
    expect(keys.some((k) => k.startsWith('rl:GET /api/v1/nodes|'))).toBe(true);
  });
});
