/**
 * Outbound delivery test parts, shared by the notification and attendance webhook tests: the
 * real app on a real database with a clock the test moves and sender timers that never fire
 * by themselves (the test calls the outbox's `tick()`), every log line kept, an API token that
 * outlives clock jumps; and a real HTTP receiver (node:http on 127.0.0.1) that records what it
 * got and answers as told.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp, type ControllerApp } from '../../controller/src/app.js';
import { type Config, loadConfig } from '../../controller/src/config.js';
import { type DatabaseTarget, type Db, openDatabase } from '../../controller/src/db/client.js';
import type { SenderTimers } from '../../controller/src/modules/notifications/index.js';
import { bearer, OWNER } from './controller.js';

/** The sender's timers never fire by themselves: the test calls `tick()` after moving the clock. */
export const MANUAL_TIMERS: SenderTimers = { setTimeout: () => ({}), clearTimeout: () => undefined };

export interface WebhookHarness extends ControllerApp {
  db: Db;
  provider: DatabaseTarget['provider'];
  dataDir: string;
  /** An API token (the clock jumps past any session's lifetime in these tests). */
  token: string;
  shutdown(): Promise<void>;
}

export interface WebhookAppOptions {
  now: () => Date;
  /** Receives every log line, at trace level. */
  logs: string[];
  tokenName: string;
  overrides?: Partial<Config>;
}

/** The app, set up with its owner. Receivers are on 127.0.0.1, so private networks are allowed. */
export async function startWebhookApp(
  target: DatabaseTarget,
  dataDir: string,
  options: WebhookAppOptions,
): Promise<WebhookHarness> {
  const config = loadConfig(
    {},
    {
      dataDir,
      logLevel: 'trace',
      scryptLogN: 10,
      httpPort: 0,
      mqttPort: 0,
      webhookAllowPrivateNetworks: true,
      ...options.overrides,
    },
  );
  const db = openDatabase(target);
  const ctl = await buildApp({
    config,
    db,
    provider: target.provider,
    now: options.now,
    logger: { level: 'trace', stream: { write: (line: string) => options.logs.push(line) } },
    webhookTimers: MANUAL_TIMERS,
  });
  await ctl.app.ready();
  await ctl.start();
  await ctl.app.inject({ method: 'POST', url: '/api/v1/setup', payload: OWNER });
  const login = await ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER });
  const apiToken = await ctl.app.inject({
    method: 'POST',
    url: '/api/v1/auth/api-tokens',
    headers: bearer(login.json().data.token),
    payload: { name: options.tokenName },
  });
  return {
    ...ctl,
    db,
    provider: target.provider,
    dataDir,
    token: apiToken.json().data.token,
    shutdown: async () => {
      await ctl.close();
      await db.$disconnect();
    },
  };
}

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** The next `failNext` requests get `failStatus` (and `location`); the rest get `status` and `answer`. */
  state: { failNext: number; failStatus: number; status: number; answer: string; location?: string };
  close(): Promise<void>;
}

/** A receiver at `path` (which may carry a token, as real receivers' URLs do: it must not be logged). */
export async function startReceiver(path: string, status = 200): Promise<Receiver> {
  const received: Received[] = [];
  const state: Receiver['state'] = { failNext: 0, failStatus: 500, status, answer: 'ok' };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      if (state.failNext > 0) {
        state.failNext--;
        res.statusCode = state.failStatus;
        if (state.location) res.setHeader('location', state.location);
        res.end('no');
        return;
      }
      res.statusCode = state.status;
      res.end(state.answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Checks a signed request as its receiver would: timestamp + body under the secret, constant time. */
export function signatureValid(request: Received, secret: string): boolean {
  const timestamp = String(request.headers['x-earshot-timestamp']);
  const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex')}`;
  const presented = String(request.headers['x-earshot-signature']);
  return (
    presented.length === expected.length && timingSafeEqual(Buffer.from(presented), Buffer.from(expected))
  );
}
