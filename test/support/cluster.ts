/**
 * Controller replicas sharing one PostgreSQL database and one Redis, for the clustered-broker
 * tests and benchmarks: in-process replicas (real Fastify, real broker) and replicas as
 * processes (the controller's CLI run from source with tsx, so one can be killed with SIGKILL),
 * plus a TCP balancer in front of their MQTT ports that sends each new connection to the first
 * replica that accepts it, as a load balancer with health checks would.
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { buildApp, type ControllerApp } from '../../controller/src/app.js';
import { loadConfig } from '../../controller/src/config.js';
import { type Db, openDatabase } from '../../controller/src/db/client.js';
import { controllerReady } from './controller-process.js';
import { freePort } from './ports.js';
import { ROOT, type RunningProcess, startProcess } from './processes.js';
import { tempDir } from './tmp.js';

export interface Replica {
  name: string;
  /** http://127.0.0.1:PORT */
  base: string;
  mqttPort: number;
  stop(): Promise<void>;
}

export interface InProcessReplica extends Replica {
  app: ControllerApp;
  db: Db;
}

/**
 * A replica in this process, started (broker listening) and serving HTTP on a free port; without
 * `redisUrl`, a lone controller (its broker in memory).
 */
export async function inProcessReplica(
  name: string,
  databaseUrl: string,
  redisUrl: string | undefined,
): Promise<InProcessReplica> {
  const dir = await tempDir(`replica-${name}`);
  const config = loadConfig(
    {},
    {
      dataDir: dir.path,
      logLevel: 'silent',
      scryptLogN: 10,
      httpPort: 0,
      mqttPort: 0,
      mqttHost: '127.0.0.1',
      httpHost: '127.0.0.1',
      databaseUrl,
      ...(redisUrl ? { redisUrl } : {}),
    },
  );
  const db = openDatabase({ provider: 'postgresql', url: databaseUrl });
  const app = await buildApp({ config, db, provider: 'postgresql', databaseUrl, logger: false });
  await app.start();
  await app.app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    name,
    app,
    db,
    base: `http://127.0.0.1:${port}`,
    mqttPort: app.broker.port() ?? 0,
    stop: async () => {
      await app.close();
      await db.$disconnect();
      await dir.cleanup();
    },
  };
}

export interface ProcessReplica extends Replica {
  process: RunningProcess;
}

/** A replica as a process (`controller/src/cli.ts` under tsx), ready when it returns. */
export async function processReplica(
  name: string,
  databaseUrl: string,
  redisUrl: string,
): Promise<ProcessReplica> {
  const dir = await tempDir(`replica-${name}`);
  const httpPort = await freePort();
  const mqttPort = await freePort();
  const base = `http://127.0.0.1:${httpPort}`;
  const child = startProcess(name, ['--import', 'tsx', join(ROOT, 'controller/src/cli.ts')], {
    EARSHOT_HTTP_PORT: String(httpPort),
    EARSHOT_HTTP_HOST: '127.0.0.1',
    EARSHOT_MQTT_PORT: String(mqttPort),
    EARSHOT_MQTT_HOST: '127.0.0.1',
    EARSHOT_DATA_DIR: dir.path,
    EARSHOT_LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    EARSHOT_REDIS_URL: redisUrl,
  });
  try {
    await controllerReady(name, base, 60_000, child.output);
  } catch (err) {
    await child.stop('SIGKILL');
    throw err;
  }
  return {
    name,
    base,
    mqttPort,
    process: child,
    stop: async () => {
      await child.stop();
      await dir.cleanup();
    },
  };
}

export interface Balancer {
  port: number;
  /** The replicas' MQTT ports, in order of preference; a connection goes to the first that accepts. */
  targets: number[];
  /** The target each connection went to, in the order they were accepted. */
  readonly routed: readonly number[];
  close(): Promise<void>;
}

/**
 * A TCP balancer on a free loopback port in front of `targets`. `roundRobin`: each new
 * connection tries the targets from the one after the last connection's first choice (so
 * connections spread across them), still going on to the next when one refuses.
 */
export async function balancer(targets: number[], options: { roundRobin?: boolean } = {}): Promise<Balancer> {
  const sockets = new Set<Socket>();
  const state = { targets: [...targets], next: 0 };
  const routed: number[] = [];
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const forward = (client: Socket, candidates: number[]) => {
    const [port, ...rest] = candidates;
    if (port === undefined) {
      client.destroy();
      return;
    }
    const upstream = netConnect(port, '127.0.0.1');
    let connected = false;
    upstream.once('error', () => (connected ? client.destroy() : forward(client, rest)));
    upstream.once('connect', () => {
      connected = true;
      routed.push(port);
      track(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
      client.resume();
    });
  };
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    const first = options.roundRobin ? state.next++ % Math.max(1, state.targets.length) : 0;
    forward(client, [...state.targets.slice(first), ...state.targets.slice(0, first)]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    get targets() {
      return state.targets;
    },
    set targets(next: number[]) {
      state.targets = next;
    },
    routed,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
