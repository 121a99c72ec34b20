/**
 * Operations: the controller's own health for operators. `GET /health` (now), `GET
 * /health/history` (sampled every minute by every replica, the first per minute kept, pruned
 * after EARSHOT_HEALTH_HISTORY_DAYS) and the operational event log `GET /ops-events` (starts
 * and stops, migrations applied, broker, Discord bot connection, failing background runners,
 * settings changes). The log's writer is built with the core (`createOpsLog`), so every module
 * can report to it (`core.ops`); the routes and the sampler come with the module, after the
 * modules whose figures they read. Health events (conditions on nodes) stay in modules/health.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { packageVersion } from '../../../../shared/src/version.js';
import type { ChangeFeed } from '../../core/change-feed.js';
import type { Logger } from '../../core/logger.js';
import type { OpsEventInput } from '../../core/ops-log.js';
import type { Db } from '../../db/client.js';
import type { AppModule, Component, ModuleCore } from '../../platform/module.js';
import { HealthSampler } from './health-sampler.js';
import { OpsRepository } from './ops.repository.js';
import { opsRoutes } from './ops.routes.js';
import { OpsService, type OpsSources } from './ops.service.js';
import { OpsLogWriter } from './ops-log.writer.js';

export type { HealthSampler, OpsLogWriter, OpsService };

export interface OpsLogParts {
  writer: OpsLogWriter;
  instanceId: string;
  repo: OpsRepository;
  /** First to start (controller.started, the migrations applied), last to stop (controller.stopped, then the writes drain). */
  component: Component;
}

/** The log's writer, with the core (before any module); `migrationsApplied` as server.ts's migrate returned them. */
export function createOpsLog(deps: {
  db: Db;
  now: () => Date;
  log: Pick<Logger, 'error'>;
  migrationsApplied?: readonly string[];
}): OpsLogParts {
  const instanceId = `${hostname()}-${randomUUID().slice(0, 8)}`;
  const repo = new OpsRepository(deps.db);
  const writer = new OpsLogWriter({ repo, instanceId, now: deps.now, log: deps.log });
  const applied = deps.migrationsApplied ?? [];
  const component: Component = {
    name: 'ops log',
    start: async () => {
      writer.record({
        kind: 'controller.started',
        level: 'info',
        message: `controller ${instanceId} started (version ${packageVersion()})`,
        data: { version: packageVersion() },
      });
      if (applied.length > 0)
        writer.record({
          kind: 'migrations.applied',
          level: 'info',
          message: `${applied.length} database migration(s) applied: ${applied.join(', ')}`,
          data: { migrations: [...applied] },
        });
    },
    stop: async () => {
      writer.record({
        kind: 'controller.stopped',
        level: 'info',
        message: `controller ${instanceId} stopped`,
      });
      await writer.flush();
    },
  };
  return { writer, instanceId, repo, component };
}

export function createOpsModule(
  core: ModuleCore,
  ports: OpsSources & {
    opsLog: OpsLogParts;
    discord: { onStateChange(listener: (state: string) => void): () => void };
  },
): AppModule<{ ops: OpsService; healthSampler: HealthSampler; opsLog: OpsLogWriter }> {
  const { repo, instanceId, writer } = ports.opsLog;
  const { now, config, log, provider } = core;
  const ops = new OpsService({ ...ports, repo, provider, instanceId, startedAt: now(), now });
  const sampler = new HealthSampler({
    ops,
    repo,
    instanceId,
    keepDays: config.healthHistoryDays,
    keepEventDays: config.opsEventsDays,
    now,
    log,
    opsLog: writer,
  });
  const stopFollowing = follow(core.changes, ports.discord, (event) => writer.record(event));
  return {
    name: 'ops',
    routes: [opsRoutes(ops)],
    components: [
      {
        name: 'health history sampler',
        start: async () => sampler.start(),
        stop: async () => {
          stopFollowing();
          await sampler.stop();
        },
      },
    ],
    ports: { ops, healthSampler: sampler, opsLog: writer },
  };
}

const BOT_EVENTS: Record<string, OpsEventInput | undefined> = {
  ready: { kind: 'discord.ready', level: 'info', message: 'Discord bot connected and ready' },
  reconnecting: {
    kind: 'discord.reconnecting',
    level: 'warning',
    message: 'Discord gateway connection lost; reconnecting',
  },
  stopped: { kind: 'discord.stopped', level: 'info', message: 'Discord bot disconnected' },
};

/** Settings changes (the change feed) and the Discord bot's connection, into the log; returns the stop. */
function follow(
  changes: ChangeFeed,
  discord: { onStateChange(listener: (state: string) => void): () => void },
  record: (event: OpsEventInput) => void,
): () => void {
  const stopSettings = changes.subscribe((change) => {
    if (change.type !== 'settings.changed') return;
    const { family, name, revision, action } = change.data as Record<string, string | number>;
    record({
      kind: 'settings.changed',
      level: 'info',
      message: `settings ${family} "${name}": ${action} (revision ${revision})`,
      data: { id: change.subject.id, family, name, revision, action },
    });
  });
  const stopBot = discord.onStateChange((state) => {
    const event = BOT_EVENTS[state];
    if (event) record(event);
  });
  return () => {
    stopSettings();
    stopBot();
  };
}
