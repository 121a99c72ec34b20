/**
 * No secret in a log line: a WebSocket stream's single-use ticket rides in the URL (a browser
 * cannot set headers on a WebSocket), so the request log shows the URL with it redacted; the
 * Authorization header and cookies are never logged. A real controller, logging at trace level.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type ControllerApp } from '../../controller/src/app.js';
import { loadConfig } from '../../controller/src/config.js';
import { type Db, openDatabase } from '../../controller/src/db/client.js';
import { freshDatabase, OWNER } from '../support/controller.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const TICKET = 'tkt_c2VjcmV0LXRpY2tldC12YWx1ZS1uZXZlci1sb2dnZWQ';

describe('log redaction', () => {
  let ctl: ControllerApp;
  let db: Db;
  let dir: TempDir;
  const lines: string[] = [];

  beforeAll(async () => {
    dir = await tempDir('log-redaction');
    const config = loadConfig({}, { dataDir: dir.path, scryptLogN: 10, httpPort: 0, mqttPort: 0 });
    const target = await freshDatabase(join(dir.path));
    db = openDatabase(target);
    ctl = await buildApp({
      config,
      db,
      provider: target.provider,
      logger: { level: 'trace', stream: { write: (line: string) => lines.push(line) } },
    });
    await ctl.app.ready();
  });
  afterAll(async () => {
    await ctl?.close();
    await db?.$disconnect();
    await dir?.cleanup();
  });

  it('shows a ticket in a URL as [redacted], and never the bearer token', async () => {
    await ctl.app.inject({ method: 'POST', url: '/api/v1/setup', payload: OWNER });
    const login = await ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER });
    const token = login.json().data.token as string;
    await ctl.app.inject({ method: 'GET', url: `/api/v1/events/stream?ticket=${TICKET}` });
    await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/nodes/n1/listen/stream?lastEventId=3&ticket=${TICKET}`,
    });
    await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${token}` },
    });

    const logged = lines.join('');
    expect(logged).toContain('/api/v1/events/stream?ticket=[redacted]');
    expect(logged).toContain('/api/v1/nodes/n1/listen/stream?lastEventId=3&ticket=[redacted]');
    expect(logged).toContain('/api/v1/auth/me');
    expect(logged).not.toContain(TICKET);
    expect(logged).not.toContain(token);
    expect(logged).not.toContain(OWNER.password);
  });

  it('redacts a token a caller put in the URL under any usual name, and keeps the other parameters', async () => {
    const secret = 'eat_c2VjcmV0LWluLXRoZS1xdWVyeS1zdHJpbmc';
    const names = ['access_token', 'api_key', 'apiKey', 'Token', 'acc%65ss_token', 'client_secret', 'code'];
    for (const name of names)
      await ctl.app.inject({ method: 'GET', url: `/api/v1/nodes?site=east&${name}=${secret}&limit=5` });

    const logged = lines.join('');
    expect(logged).not.toContain(secret);
    for (const name of names) expect(logged).toContain(`/api/v1/nodes?site=east&${name}=[redacted]&limit=5`);
  });
});
