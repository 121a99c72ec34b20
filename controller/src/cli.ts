#!/usr/bin/env node
/** `earshot-controller`: run the controller, check the audit chain, or listen to a node live. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { packageVersion } from '../../shared/src/version.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { startController } from './server.js';

/** A port that is taken, as a message that names the setting to change. */
function portInUse(error: unknown, config: Config): ConfigError | undefined {
  const { code, port } = (error ?? {}) as { code?: string; port?: number };
  if (code !== 'EADDRINUSE') return undefined;
  const setting =
    port === config.httpPort
      ? 'EARSHOT_HTTP_PORT'
      : port === config.mqttPort
        ? 'EARSHOT_MQTT_PORT'
        : undefined;
  return new ConfigError([
    `port ${port} is already in use${setting ? ` (${setting})` : ''}: stop what holds it, or set ` +
      `${setting ?? 'EARSHOT_HTTP_PORT / EARSHOT_MQTT_PORT'} to a free port`,
  ]);
}

const program = new Command()
  .name('earshot-controller')
  .version(packageVersion())
  .showSuggestionAfterError()
  .description(
    'Earshot controller: HTTP API, embedded MQTT broker, recordings library, Discord attendance bot.',
  )
  .addHelpText(
    'after',
    `
Configuration comes from the environment (see README): EARSHOT_HTTP_PORT (8080),
EARSHOT_MQTT_PORT (1883), EARSHOT_DATA_DIR (./data), DATABASE_URL (unset = SQLite).
Discord attendance runs when EARSHOT_DISCORD_BOT_TOKEN is set; a signed period export is
checked offline with earshot-attendance-verify.`,
  );

program
  .command('run', { isDefault: true })
  .description('start the controller (default)')
  .action(async () => {
    const config = loadConfig();
    const controller = await startController(config).catch((error: unknown) => {
      throw portInUse(error, config) ?? error;
    });
    const setupNeeded = await controller.services.auth.setupNeeded();
    controller.app.log.info(`Earshot controller listening on ${controller.url}`);
    if (setupNeeded) {
      controller.app.log.info(
        `No administrator yet: create the first owner with POST ${controller.url}/api/v1/setup {"username":"…","password":"…"}`,
      );
    }
    const shutdown = () => void controller.stop().then(() => process.exit(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });

program
  .command('verify-audit')
  .description('walk the audit hash chain and report the first broken link')
  .action(async () => {
    const config = loadConfig(process.env, { httpPort: 0, logLevel: 'warn' });
    const { databaseTarget, openDatabase, sqlitePath } = await import('./db/client.js');
    const { AuditRepository, AuditService } = await import('./modules/audit/index.js');
    // Opening a SQLite file that is not there would create an empty one: say where to look instead.
    const url = config.databaseUrl;
    if (!url || url.startsWith('file:')) {
      const file = url ? sqlitePath(url) : join(config.dataDir, 'earshot.db');
      if (!existsSync(file))
        throw new ConfigError([
          `no controller database at ${file}: run this where the controller runs, or set ` +
            "EARSHOT_DATA_DIR (or DATABASE_URL) to the controller's",
        ]);
    }
    const target = databaseTarget(url, config.dataDir);
    const db = openDatabase(target);
    const report = await new AuditService(db, new AuditRepository(db, target.provider)).verifyChain();
    await db.$disconnect();
    if (report.ok) console.log(`audit chain intact: ${report.checked} events checked`);
    else
      console.error(
        `audit chain BROKEN at event #${report.brokenAt?.seq} (${report.brokenAt?.id}): ${report.brokenAt?.reason}`,
      );
    process.exitCode = report.ok ? 0 : 1;
  });

program
  .command('listen <nodeId>')
  .description('hear a node live: its audio as a WAV file (or - for standard output, e.g. | play -)')
  .option('--url <url>', 'the controller', 'http://127.0.0.1:8080')
  .option('--channels <list>', 'one or two 1-based capture channels, e.g. 1 or 1,2', '1')
  .option('--bitrate <bps>', 'Opus bitrate, bit/s (default 64000)')
  .option('--seconds <n>', 'stop after this long (default: until Ctrl-C)')
  .option('--out <file>', 'where the WAV goes; - for standard output', 'earshot-listen.wav')
  .addHelpText(
    'after',
    '\nThe token comes from EARSHOT_TOKEN (an API token of a user with listen:monitor), never an argument.',
  )
  .action(async (nodeId: string, options) => {
    const { runListenCommand } = await import('./client/listen-command.js');
    process.exitCode = await runListenCommand(nodeId, options);
  });

// The default command takes no arguments: a word that is no command is a mistake, not `run` with extras.
const word = process.argv[2];
if (word !== undefined && !word.startsWith('-') && !program.commands.some((c) => c.name() === word)) {
  console.error(
    `error: unknown command '${word}' (commands: ${program.commands.map((c) => c.name()).join(', ')}; ` +
      'see earshot-controller --help)',
  );
  process.exit(1);
}

program.parseAsync().catch((error: unknown) => {
  if (error instanceof ConfigError || (error instanceof Error && error.name === 'ListenRefused'))
    console.error(error.message);
  else console.error(error);
  process.exit(1);
});
