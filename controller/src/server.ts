/**
 * Runs the controller: migrate, open the database, build the app, listen, complete the
 * uploads a stop left held whole, and shut down once (drain HTTP, close adapters,
 * disconnect) on SIGINT/SIGTERM.
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
  const controller = await buildApp({
    config,
    db,
    provider: target.provider,
    migrationsApplied: applied,
    databaseUrl: target.provider === 'postgresql' ? target.url : undefined,
  });
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
  // Uploads whose last byte reached the disk before a stop but whose completion was never
  // committed: verified and completed in the background (hashing a long file takes seconds).
  const recovery = new AbortController();
  const recovering = controller.services.uploads.recoverHeldUploads(recovery.signal).then(
    ({ completed, discarded, failed }) => {
      if (completed.length > 0)
        app.log.info({ recordings: completed }, 'completed uploads held whole since the last stop');
      if (discarded.length > 0)
        app.log.warn(
          { recordings: discarded },
          'uploads held whole did not match their declared SHA-256: discarded, the agents send them again',
        );
      for (const { recordingId, error } of failed)
        app.log.error({ recordingId, err: error }, 'cannot complete an upload held whole');
    },
    (error: unknown) => app.log.error({ err: error }, 'cannot look for uploads held whole'),
  );

  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.httpPort;
  const url = `http://${config.httpHost === '0.0.0.0' ? '127.0.0.1' : config.httpHost}:${port}`;

  const stop = () => {
    stopping ??= (async () => {
      app.log.info('shutting down');
      recovery.abort();
      await recovering;
      await controller.close();
      await db.$disconnect();
    })();
    return stopping;
  };
  return { ...controller, url, stop };
}
