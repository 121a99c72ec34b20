/**
 * The controller's composition root: the core, the cross-cutting HTTP plugins, then the modules
 * from one ordered list, each built by the factory in its `modules/<name>/index.ts` from the core
 * and the ports of the modules before it. Components start in order, stop in reverse.
 */

import { lifecycleOf } from './app.lifecycle.js';
import type { AppDeps, ControllerApp } from './app.types.js';
import { brokerInbox, createBroker, nodeCommander } from './broker/index.js';
import { clusterGauges, electLeaderFor } from './cluster/leader-work.js';
import { createChangeFeed } from './core/change-feed.js';
import { rawOf } from './db/raw.js';
import { frontendTokenGate } from './http/frontend-token.js';
import { installPlugins } from './http/plugins.js';
import { installAccessControl } from './http/route-access.js';
import { createHttpServer } from './http/server.js';
import { Metrics } from './metrics.js';
import { createAccessModule } from './modules/access/index.js';
import { createAttendanceModule } from './modules/attendance/index.js';
import { createAuditModule } from './modules/audit/index.js';
import { channelMapTemplates, createChannelMapsModule } from './modules/channel-maps/index.js';
import { createConsoleModule } from './modules/console/index.js';
import { createDemoModule } from './modules/demo/index.js';
import { createEventsModule } from './modules/events/index.js';
import { createHealthModule } from './modules/health/index.js';
import { createLimitsModule, installRouteRateLimits } from './modules/limits/index.js';
import { createListenModule } from './modules/listen/index.js';
import { createMetersModule } from './modules/meters/index.js';
import { createNodesModule } from './modules/nodes/index.js';
import { createNotificationsModule } from './modules/notifications/index.js';
import { createOpsLog, createOpsModule } from './modules/ops/index.js';
import { createRecordingContextModule } from './modules/recording-context/index.js';
import { createRecordingsModule } from './modules/recordings/index.js';
import { createRetentionModule } from './modules/retention/index.js';
import { createSchedulesModule } from './modules/schedules/index.js';
import { createSettingsModule } from './modules/settings/index.js';
import { createStatusModule } from './modules/status/index.js';
import { createSystemModule, type ReadinessCheck } from './modules/system/index.js';
import { createUploadQueueModule } from './modules/upload-queue/index.js';
import type { AppModule, ModuleCore } from './platform/module.js';
import { registerModules } from './platform/register.js';

export type { AppDeps, ControllerApp } from './app.types.js';

export async function buildApp(deps: AppDeps): Promise<ControllerApp> {
  const { config, db } = deps;
  const app = createHttpServer(config, deps.logger);
  const { core, auditModule, opsLog } = coreOf(deps, app.log);
  const readiness: ReadinessCheck[] = [
    { name: 'database', check: async () => Boolean(await db.$queryRawUnsafe('SELECT 1')) },
  ];

  await installPlugins(app, core, deps.validators);

  // The modules, in dependency order: each gets the core and the ports of those before it.
  const access = createAccessModule(core);
  // New jobs, stop requests, schedule and config changes reach the agent at once; agents also poll.
  const notifyNode = nodeCommander(() => mqtt.broker, app.log);
  const inbox = brokerInbox(() => mqtt); // agents' live data over HTTP while their MQTT is down
  const link = { notify: notifyNode, disconnect: (nodeId: string) => mqtt.broker.disconnectNode(nodeId) };
  const extraFamilies = [channelMapTemplates, ...(deps.settingsFamilies ?? [])];
  const settings = createSettingsModule(core, { notifyNode, extraFamilies });
  const { accessGeneration } = access.ports; // verified node credentials are cached while it holds
  const nodes = createNodesModule(core, { link, settings: settings.ports.settings, accessGeneration });
  const channelMaps = createChannelMapsModule(core, { ...nodes.ports, ...settings.ports, notifyNode });
  const meters = createMetersModule(core, { ...nodes.ports, ...settings.ports, inbox });
  const health = createHealthModule(core, { ...nodes.ports, ...auditModule.ports });
  const listen = createListenModule(core, { ...nodes.ports, ...access.ports, notifyNode, inbox });
  const mqtt = createBroker(core, {
    nodes: nodes.ports.nodes,
    onMeters: (from, frame) => meters.ports.meters.record(from, frame),
    onListen: (from, frame) => listen.ports.listen.onFrame(from, frame),
    onCommandResult: (from, result) => nodes.ports.commandResults.record(from, result),
    onRelayedCommandResult: (from, result) => nodes.ports.commandResults.remember(from, result),
    onHealthEvent: (from, report) => health.ports.healthReports.onMessage(from, report),
    readiness,
  });
  const nodePorts = { ...nodes.ports, ...health.ports, ...access.ports, notifyNode };
  const recordings = createRecordingsModule(core, { ...nodePorts, ...channelMaps.ports });
  const schedules = createSchedulesModule(core, { ...nodes.ports, ...recordings.ports, notifyNode });
  const storage = storageModules(core, { ...nodePorts, ...recordings.ports, ...settings.ports }, deps);
  const attendance = createAttendanceModule(core, { webhookTimers: deps.webhookTimers });

  // The web front end's Discord-user tokens, only when a secret is configured.
  const gate = config.frontendTokenSecret
    ? frontendTokenGate({ ...core, ...attendance.ports, secret: config.frontendTokenSecret })
    : undefined;
  const resolveNodeCredential = (credential: string) => nodes.ports.nodes.authenticate(credential);
  const routes = installAccessControl(app, { ...access.ports, resolveNodeCredential }, gate);
  // Rate limits check assignments against the declared routes: after access control, before routes.
  const limits = await createLimitsModule(core, { routes });
  await installRouteRateLimits(app, limits.ports);

  const system = createSystemModule(core, { readiness });
  // The order routes register in (and so the order of the OpenAPI document).
  const context = createRecordingContextModule(core, { ...recordings.ports, ...attendance.ports });
  const modules: AppModule[] = [system, access, auditModule, nodes, recordings, ...storage];
  modules.push(schedules, meters, listen, limits, settings, channelMaps, health, notificationsOf(core, deps));
  const events = createEventsModule(core, { ...nodePorts, ...meters.ports, ...auditModule.ports }); // live
  modules.push(createStatusModule(core, { ...nodes.ports, ...health.ports }), events);
  modules.push(attendance, context); // attendance and what needs its ports come last
  const opsPorts = { opsLog, ...nodes.ports, ...attendance.ports, ...health.ports, ...mqtt };
  modules.push(createOpsModule(core, opsPorts), createDemoModule(core)); // demo: no routes in production
  modules.push(createConsoleModule({ dir: deps.consoleDir })); // the operator console at `/`, last
  const leadership = electLeaderFor(modules, attendance.ports.leaderWork, { ...deps, log: app.log });
  await app.register(mqtt.route);
  await registerModules(app, modules, core.metrics);
  core.metrics.onCollect(clusterGauges(core.metrics, leadership, opsLog.instanceId, mqtt.broker));

  const lifecycle = lifecycleOf(app, mqtt.component, modules, [meters, listen, events], leadership, opsLog);

  return {
    app,
    metrics: core.metrics,
    services: Object.assign({}, ...modules.map((m) => m.ports)) as ControllerApp['services'],
    broker: mqtt.broker,
    leadership,
    routes,
    readiness,
    lifecycle,
    start: () => lifecycle.start(),
    close: () => lifecycle.stop(),
  };
}

/** What every module receives (the audit module is built first: its writer is part of the core). */
function coreOf(deps: AppDeps, log: ModuleCore['log']) {
  const { config, db, provider } = deps;
  const now = deps.now ?? (() => new Date());
  const metrics = new Metrics();
  const auditModule = createAuditModule({ db, provider, now, log, metrics });
  const { audit } = auditModule.ports;
  const changes = createChangeFeed(log);
  const opsLog = createOpsLog({ db, now, log, migrationsApplied: deps.migrationsApplied });
  const ops = opsLog.writer;
  const core: ModuleCore = { config, db, raw: rawOf(db), provider, now, log, metrics, audit, changes, ops };
  return { core, auditModule, opsLog };
}

/** Health events and node presence to chat and alerting tools (its sender's timers: tests drive them). */
const notificationsOf = (core: ModuleCore, deps: AppDeps) =>
  createNotificationsModule(core, { timers: deps.webhookTimers });

/** What keeps recordings beyond the controller's disk (the upload queue), and what frees it (retention). */
function storageModules(core: ModuleCore, ports: Ports, deps: AppDeps): AppModule[] {
  return [createUploadQueueModule(core, ports), createRetentionModule(core, { ...ports, ...deps })];
}
type Ports = Parameters<typeof createUploadQueueModule>[1] & Parameters<typeof createRetentionModule>[1];
