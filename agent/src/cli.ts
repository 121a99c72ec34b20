#!/usr/bin/env node
/** `earshot-agent`: enroll this device, run the daemon, or explain its status. */
import { Command } from 'commander';
import { packageVersion } from '../../shared/src/version.js';
import { Agent } from './agent.js';
import { agentDoctor } from './doctor.js';
import { enroll } from './enroll.js';
import {
  applyAudioEnvDefaults,
  LOCAL_STATE_PATH,
  resolveSettings,
  SYSTEM_STATE_PATH,
} from './state/settings.js';
import { agentStatus } from './status.js';
import { createLogger } from './support/log.js';

const CONFIG_HELP = `state file (default ${SYSTEM_STATE_PATH} as root, else ${LOCAL_STATE_PATH}; env EARSHOT_AGENT_CONFIG)`;

const program = new Command()
  .name('earshot-agent')
  .version(packageVersion())
  .description(
    'Earshot capture agent: records audio for the controller, publishes live meters, uploads recordings.',
  )
  .addHelpText(
    'after',
    `
Environment:
  EARSHOT_AGENT_CONFIG      state file path (same as --config)
  EARSHOT_AGENT_CACHE_DIR   recordings cache (default: cache/ next to the state file)
  EARSHOT_AGENT_DEVICE      capture device, overriding the controller's config (e.g. hw:1,0)
  EARSHOT_AGENT_MQTT_URL    MQTT broker URL when it is not the controller host
  EARSHOT_AGENT_LOG_LEVEL   debug | info (default) | warn | error
  EARSHOT_AGENT_CLOCK_WARN_MS  warn when the clock is off the controller's by more (default 2000)
  AUDIODRIVER, AUDIODEV     passed through to sox (PULSE_LATENCY_MSEC defaults to 30 with pulseaudio)

First time: earshot-agent enroll --controller http://controller:8080 --token <token>
Then:       earshot-agent run        (or the systemd unit in deploy/)`,
  );

program
  .command('enroll')
  .description("exchange a one-time enrollment token for this node's credential and store it (mode 0600)")
  .requiredOption('--controller <url>', 'controller base URL, e.g. http://controller:8080')
  .requiredOption('--token <token>', 'one-time enrollment token created on the controller for this node')
  .option('--config <path>', CONFIG_HELP)
  .option('--force', 'replace an existing enrollment')
  .addHelpText('after', '\nExample: earshot-agent enroll --controller http://10.0.0.5:8080 --token n1.AbC…')
  .action(async (options: { controller: string; token: string; config?: string; force?: boolean }) => {
    const settings = resolveSettings(process.env, { configPath: options.config });
    const state = await enroll({
      controllerUrl: options.controller,
      token: options.token,
      statePath: settings.statePath,
      force: options.force,
    });
    console.log(
      `enrolled as node ${state.nodeId} "${state.name}" (site ${state.siteId}) with ${state.controllerUrl}`,
    );
    console.log(`credential stored in ${settings.statePath} (mode 0600)`);
    console.log('next: earshot-agent run   (or: systemctl enable --now earshot-agent)');
  });

program
  .command('run')
  .description(
    'run the agent daemon: capture, meters, jobs, schedules, uploads; starts from its cache when the controller is unreachable (stops cleanly on SIGINT/SIGTERM)',
  )
  .option('--config <path>', CONFIG_HELP)
  .action(async (options: { config?: string }) => {
    applyAudioEnvDefaults(process.env);
    const settings = resolveSettings(process.env, { configPath: options.config });
    const log = createLogger(settings.logLevel);
    const agent = new Agent({
      settings,
      log,
      // The agent has stopped itself (e.g. the controller rejected its credential).
      onFatal: (error) => {
        console.error(`earshot-agent: ${error.message}`);
        process.exit(1);
      },
    });
    const shutdown = (signal: NodeJS.Signals): void => {
      log.info(`${signal} received; stopping`);
      void agent.stop().then(() => process.exit(0));
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    try {
      await agent.start();
    } catch (error) {
      await agent.stop();
      throw error; // printed in plain words below
    }
  });

program
  .command('status')
  .description(
    'explain in plain words whether this agent is enrolled, can reach its controller, and what waits to upload',
  )
  .option('--config <path>', CONFIG_HELP)
  .action(async (options: { config?: string }) => {
    const settings = resolveSettings(process.env, { configPath: options.config });
    const report = await agentStatus(settings);
    for (const line of report.lines) console.log(line);
    process.exitCode = report.ok ? 0 : 1;
  });

program
  .command('doctor')
  .description(
    'everything status says, then try it: the MQTT broker answers, the capture device records one second (its level), the disk headroom',
  )
  .option('--config <path>', CONFIG_HELP)
  .action(async (options: { config?: string }) => {
    const settings = resolveSettings(process.env, { configPath: options.config });
    const report = await agentDoctor(settings);
    for (const line of report.lines) console.log(line);
    console.log(report.ok ? 'all good' : 'something is wrong: see the lines in capitals above');
    process.exitCode = report.ok ? 0 : 1;
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`earshot-agent: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
