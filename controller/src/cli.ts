#!/usr/bin/env node
/** `earshot-controller`: run the controller, or check the audit chain. */
import { Command } from 'commander';
import { ConfigError, loadConfig } from './config.js';
import { startController } from './server.js';

const program = new Command()
  .name('earshot-controller')
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
    const controller = await startController(config);
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
    const { databaseTarget, openDatabase } = await import('./db/client.js');
    const { AuditRepository, AuditService } = await import('./modules/audit/index.js');
    const target = databaseTarget(config.databaseUrl, config.dataDir);
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

program.parseAsync().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
