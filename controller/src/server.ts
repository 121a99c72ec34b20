/**
 * Runs the controller: migrate, open the database, build the app, listen, and shut
 * down once (drain HTTP, close adapters, disconnect) on SIGINT/SIGTERM.
 */
import { buildApp, type ControllerApp } from './app.js';
import { type Config, describeConfig } from './config.js';
import { databaseTarget, openDatabase } from './db/client.js';
import { migrate } from './db/migrate.js';

export interface RunningController extends ControllerApp {
  url: string;
  stop: () => Promise<void>;
}

export async function startController(config: Config): Promise<RunningController> {
  const target = databaseTarget(config.databaseUrl, config.dataDir);
  const applied = await migrate(target);
  const db = openDatabase(target);
  const controller = await buildApp({ config, db, provider: target.provider });
  const { app } = controller;
  app.log.info({ config: describeConfig(config), migrationsApplied: applied }, 'starting controller');

  let stopping: Promise<void> | undefined;

  try {
    // The broker first: /readyz must never answer ready while agents cannot connect.
    await controller.start();
    await app.listen({ port: config.httpPort, host: config.httpHost });
  } catch (error) {
    await controller.close();
    await db.$disconnect();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.httpPort;
  const url = `http://${config.httpHost === '0.0.0.0' ? '127.0.0.1' : config.httpHost}:${port}`;

  const stop = () => {
    stopping ??= (async () => {
      app.log.info('shutting down');
      await controller.close();
      await db.$disconnect();
    })();
    return stopping;
  };
  return { ...controller, url, stop };
}
