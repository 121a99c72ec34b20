/**
 * The controller's composition root: repositories → services → routes and adapters,
 * in a fixed order. Nothing else constructs services; nothing reaches the database
 * except through a repository.
 */
import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { JobStates } from '../../shared/src/agent-api.js';
import { packageVersion } from '../../shared/src/version.js';
import { AgentMessageDispatcher } from './broker/agent-messages.js';
import { BrokerAuth } from './broker/auth.js';
import { MqttBroker } from './broker/broker.js';
import { PresenceTracker } from './broker/presence.js';
import { mqttWebSocketRoute } from './broker/ws-route.js';
import {
  type LeaderCallbacks,
  type LeaderElection,
  PostgresLeaderElection,
  SoleLeader,
} from './cluster/leader-election.js';
import { type Config, oidcEnabled } from './config.js';
import { controllerSecretBox } from './crypto/secret-box.js';
import type { Db, Provider } from './db/client.js';
import { denialAuditor } from './http/denial-audit.js';
import { installErrorHandler } from './http/error-handler.js';
import { frontendTokenGate } from './http/frontend-token.js';
import { installAccessControl, type RouteInfo } from './http/route-access.js';
import { installValidation } from './http/validation.js';
import { Metrics } from './metrics.js';
import { AccessRepository } from './modules/access/access.repository.js';
import { accessRoutes } from './modules/access/access.routes.js';
import { AccessGuard } from './modules/access/access-guard.js';
import { AccessPoliciesRepository } from './modules/access/access-policies.repository.js';
import { AccessPoliciesService } from './modules/access/access-policies.service.js';
import { authRoutes } from './modules/access/auth/auth.routes.js';
import { AuthService } from './modules/access/auth/auth.service.js';
import { LoginThrottle } from './modules/access/auth/login-throttle.js';
import { ApiTokensRepository, SessionsRepository } from './modules/access/auth/sessions.repository.js';
import { UsersRepository } from './modules/access/auth/users.repository.js';
import { GroupsRepository } from './modules/access/groups.repository.js';
import { GroupsService } from './modules/access/groups.service.js';
import { OidcIdentityProvider } from './modules/access/oidc/oidc.idp.js';
import { OidcRepository } from './modules/access/oidc/oidc.repository.js';
import { oidcRoutes } from './modules/access/oidc/oidc.routes.js';
import { OidcService } from './modules/access/oidc/oidc.service.js';
import { ownPasswordRoutes } from './modules/access/own-password.routes.js';
import { OwnPasswordService } from './modules/access/own-password.service.js';
import { RolesRepository } from './modules/access/roles.repository.js';
import { RolesService } from './modules/access/roles.service.js';
import { UserAdminRepository } from './modules/access/users.repository.js';
import { UserAdminService } from './modules/access/users.service.js';
import { AttendanceBot } from './modules/attendance/discord/attendance-bot.js';
import { commandAnswers } from './modules/attendance/discord/command-answers.js';
import { discordRoutes } from './modules/attendance/discord/discord.routes.js';
import { DiscordGuildService } from './modules/attendance/discord/discord.service.js';
import { DISCORD_DISABLED, type DiscordPort } from './modules/attendance/discord/discord-port.js';
import { AttendanceRepository } from './modules/attendance/guilds/attendance.repository.js';
import { AttendanceEvents } from './modules/attendance/guilds/attendance-events.js';
import { GuildAccess } from './modules/attendance/guilds/guild-access.js';
import { GuildLocks } from './modules/attendance/guilds/guild-locks.js';
import { LogDestinationsRepository } from './modules/attendance/integrations/log-destinations.repository.js';
import { logDestinationsRoutes } from './modules/attendance/integrations/log-destinations.routes.js';
import { LogDestinationsService } from './modules/attendance/integrations/log-destinations.service.js';
import { AttendanceLogPoster } from './modules/attendance/integrations/log-poster.js';
import { OutboundWebhooksRepository } from './modules/attendance/integrations/outbound-webhooks.repository.js';
import { outboundWebhooksRoutes } from './modules/attendance/integrations/outbound-webhooks.routes.js';
import {
  OutboundWebhookSender,
  type SenderTimers,
} from './modules/attendance/integrations/outbound-webhooks.sender.js';
import { OutboundWebhooksService } from './modules/attendance/integrations/outbound-webhooks.service.js';
import { subscriptionRoutes } from './modules/attendance/integrations/subscription.routes.js';
import { SubscriptionService } from './modules/attendance/integrations/subscription.service.js';
import { AttendanceSummaryScheduler } from './modules/attendance/integrations/summary-scheduler.js';
import { VerifiedRolesRepository } from './modules/attendance/integrations/verified-roles.repository.js';
import { verifiedRolesRoutes } from './modules/attendance/integrations/verified-roles.routes.js';
import { VerifiedRolesService } from './modules/attendance/integrations/verified-roles.service.js';
import { AttendancePeriodsService } from './modules/attendance/periods/periods.service.js';
import { AttendanceResetScheduler } from './modules/attendance/periods/reset-scheduler.js';
import { publicAttendanceRoutes } from './modules/attendance/signing/public-attendance.routes.js';
import { signingRoutes } from './modules/attendance/signing/signing.routes.js';
import { AttendanceSigningService } from './modules/attendance/signing/signing.service.js';
import { AttendanceVerifyService } from './modules/attendance/signing/verify.service.js';
import { attendanceRoutes } from './modules/attendance/stats/attendance.routes.js';
import { AttendanceStatsService } from './modules/attendance/stats/attendance-stats.service.js';
import { AttendanceWebhookService } from './modules/attendance/tracking/attendance-webhook.service.js';
import { guildSettingsRoutes } from './modules/attendance/tracking/guild-settings.routes.js';
import { GuildSettingsService } from './modules/attendance/tracking/guild-settings.service.js';
import { AttendanceService } from './modules/attendance/tracking/sessions.service.js';
import { VoiceTracker } from './modules/attendance/tracking/voice-tracker.js';
import { AuditRepository } from './modules/audit/audit.repository.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { AuditService } from './modules/audit/audit.service.js';
import { LimitsRepository } from './modules/limits/limits.repository.js';
import { limitsRoutes } from './modules/limits/limits.routes.js';
import { LimitsService } from './modules/limits/limits.service.js';
import { installRouteRateLimits } from './modules/limits/route-rate-limit.js';
import { metersRoutes } from './modules/meters/meters.routes.js';
import { MetersService } from './modules/meters/meters.service.js';
import { MeterStore } from './modules/meters/meters.store.js';
import { NodesRepository } from './modules/nodes/nodes.repository.js';
import { nodesRoutes } from './modules/nodes/nodes.routes.js';
import { NodesService } from './modules/nodes/nodes.service.js';
import { RecordingFileStore } from './modules/recordings/file-store.js';
import { JobsRepository } from './modules/recordings/jobs.repository.js';
import { jobsRoutes } from './modules/recordings/jobs.routes.js';
import { JobsService } from './modules/recordings/jobs.service.js';
import { RecordingsRepository } from './modules/recordings/recordings.repository.js';
import { recordingsRoutes } from './modules/recordings/recordings.routes.js';
import { RecordingsService } from './modules/recordings/recordings.service.js';
import { uploadsRoutes } from './modules/recordings/uploads.routes.js';
import { UploadsService } from './modules/recordings/uploads.service.js';
import { type ReadinessCheck, systemRoutes } from './modules/system/system.routes.js';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export interface AppDeps {
  config: Config;
  db: Db;
  provider: Provider;
  /** Injected clock (tests); defaults to the wall clock. */
  now?: () => Date;
  logger?: boolean | object;
  /** The outbound webhook sender's timers (tests drive retries by hand); real timers by default. */
  webhookTimers?: SenderTimers;
  /**
   * The PostgreSQL URL, for the leader election's own connection (server.ts passes it).
   * Without it the app leads alone, as on SQLite (tests that build an app on their own database).
   */
  databaseUrl?: string;
}

export interface ControllerApp {
  app: FastifyInstance;
  metrics: Metrics;
  services: {
    audit: AuditService;
    auth: AuthService;
    accessPolicies: AccessPoliciesService;
    nodes: NodesService;
    recordings: RecordingsService;
    jobs: JobsService;
    uploads: UploadsService;
    meters: MetersService;
    oidc: OidcService;
    limits: LimitsService;
    attendance: AttendanceService;
    attendanceSigning: AttendanceSigningService;
    attendancePeriods: AttendancePeriodsService;
    discord: DiscordPort;
    /** Committed attendance events; `idle()` waits for their background handlers (tests). */
    attendanceEvents: AttendanceEvents;
    /** Log destination posts; `runDueSummaries()` is the summary scheduler's tick. */
    attendanceLogs: AttendanceLogPoster;
    /** The outbound webhook sender; `tick()` sends what is due now, `idle()` waits (tests). */
    webhookSender: OutboundWebhookSender;
  };
  /** The embedded MQTT broker; `start` opens its TCP listener. */
  broker: MqttBroker;
  /** Whether this replica runs the once-only work (the Discord bot, scheduled resets and summaries). */
  leadership: LeaderElection;
  /** Every declared route with its access (for invariant tests and the RBAC matrix). */
  routes: RouteInfo[];
  /** Extra readiness checks (the broker adds its own when it starts). */
  readiness: ReadinessCheck[];
  /** Starts the adapters (the MQTT broker); server.ts calls it once HTTP listens. */
  start: () => Promise<void>;
  /** Registers a closer; `close` runs them in reverse order, then drains HTTP. */
  onClose: (fn: () => Promise<void>) => void;
  close: () => Promise<void>;
}

export async function buildApp(deps: AppDeps): Promise<ControllerApp> {
  const { config, db, provider } = deps;
  const now = deps.now ?? (() => new Date());

  const app = Fastify({
    logger: deps.logger ?? {
      level: config.logLevel,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]'],
        remove: true,
      },
    },
    bodyLimit: config.maxBodyBytes,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    },
    requestIdHeader: false,
    trustProxy: false,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const metrics = new Metrics();
  const readiness: ReadinessCheck[] = [
    {
      name: 'database',
      check: async () => {
        await db.$queryRawUnsafe('SELECT 1');
        return true;
      },
    },
  ];
  const closers: (() => Promise<void>)[] = [];

  // Repositories
  const auditRepo = new AuditRepository(db, provider);
  const usersRepo = new UsersRepository(db, provider);
  const sessionsRepo = new SessionsRepository(db);
  const apiTokensRepo = new ApiTokensRepository(db);
  const accessRepo = new AccessRepository(db, provider);
  const userAdminRepo = new UserAdminRepository(db);
  const groupsRepo = new GroupsRepository(db);
  const rolesRepo = new RolesRepository(db);
  const accessPoliciesRepo = new AccessPoliciesRepository(db);
  const nodesRepo = new NodesRepository(db);
  const recordingsRepo = new RecordingsRepository(db);
  const jobsRepo = new JobsRepository(db, provider);
  const recordingFiles = new RecordingFileStore(config.dataDir);
  const oidcRepo = new OidcRepository(db);
  const limitsRepo = new LimitsRepository(db);
  const attendanceRepo = new AttendanceRepository(db);
  const logDestinationsRepo = new LogDestinationsRepository(db);
  const verifiedRolesRepo = new VerifiedRolesRepository(db);
  const outboundWebhooksRepo = new OutboundWebhooksRepository(db);

  // Services
  const audit = new AuditService(db, auditRepo, now);
  const throttle = new LoginThrottle(
    config.loginFailuresPerAccountPerHour,
    config.loginFailuresPerAddressPerHour,
    () => now().getTime(),
  );
  const accessGuard = new AccessGuard(accessRepo);
  const accessPolicies = new AccessPoliciesService(
    db,
    accessPoliciesRepo,
    accessRepo,
    accessGuard,
    audit,
    now,
  );
  const auth = new AuthService(
    db,
    usersRepo,
    sessionsRepo,
    apiTokensRepo,
    audit,
    throttle,
    config,
    now,
    async () => (await accessPolicies.get()).sessions,
  );
  const userAdmin = new UserAdminService(
    db,
    userAdminRepo,
    groupsRepo,
    accessRepo,
    sessionsRepo,
    apiTokensRepo,
    accessGuard,
    accessPolicies,
    audit,
    config,
    now,
  );
  const ownPassword = new OwnPasswordService(
    db,
    usersRepo,
    userAdminRepo,
    sessionsRepo,
    accessPolicies,
    audit,
    config,
    now,
  );
  const groups = new GroupsService(
    db,
    groupsRepo,
    accessRepo,
    sessionsRepo,
    userAdmin,
    accessGuard,
    audit,
    now,
  );
  const roles = new RolesService(db, rolesRepo, accessRepo, accessGuard, audit);
  const oidcIdp = oidcEnabled(config)
    ? new OidcIdentityProvider(
        {
          issuerUrl: config.oidcIssuerUrl!,
          clientId: config.oidcClientId!,
          clientSecret: config.oidcClientSecret,
          redirectUrl: config.oidcRedirectUrl!,
          scopes: config.oidcScopes,
        },
        now,
      )
    : undefined;
  // IdP group → role mappings are the `oidcRoleMappings` access policy.
  const oidc = new OidcService(
    db,
    oidcRepo,
    usersRepo,
    auth,
    audit,
    oidcIdp,
    accessPolicies,
    { buttonLabel: config.oidcButtonLabel, groupsClaim: config.oidcGroupsClaim },
    now,
  );
  const nodes = new NodesService(db, nodesRepo, audit, config, now);
  const recordings = new RecordingsService(db, recordingsRepo, jobsRepo, nodes, audit, recordingFiles, now);
  const jobs = new JobsService(db, jobsRepo, recordingsRepo, nodes, audit, recordingFiles, config, now);
  const uploads = new UploadsService(
    db,
    recordingsRepo,
    jobsRepo,
    audit,
    recordingFiles,
    metrics,
    config,
    now,
  );
  const meterStore = new MeterStore();
  const meters = new MetersService(meterStore, nodes, audit, metrics, now);
  // Attendance (SPEC §5): one tracker per process, one lock per guild shared by the services.
  const guildLocks = new GuildLocks();
  // The one tracker: the Discord bot adapter must feed this instance (through `attendance`).
  const voiceTracker = new VoiceTracker();
  const guildAccess = new GuildAccess(attendanceRepo);
  const attendanceSigning = new AttendanceSigningService(
    db,
    attendanceRepo,
    audit,
    guildLocks,
    { scryptLogN: config.scryptLogN },
    now,
  );
  // What attendance features react to (logs, roles, webhooks) is published here.
  const attendanceEvents = new AttendanceEvents(app.log);
  const attendance = new AttendanceService(
    db,
    attendanceRepo,
    attendanceSigning,
    audit,
    voiceTracker,
    guildLocks,
    attendanceEvents,
    now,
  );
  const attendancePeriods = new AttendancePeriodsService(
    db,
    attendanceRepo,
    attendance,
    attendanceSigning,
    audit,
    guildLocks,
    attendanceEvents,
    now,
  );
  const guildSettings = new GuildSettingsService(db, attendanceRepo, attendance, audit);
  // Discord: the bot when a token is configured; otherwise a port that answers "no bot" clearly.
  // The bot answers commands from the stats, and the stats show the bot: `answerCommand`
  // is bound below, before the bot starts.
  const attendanceBot = config.discordBotToken
    ? new AttendanceBot({
        token: config.discordBotToken,
        restApiBase: config.discordApiBase,
        attendance,
        tracker: voiceTracker,
        now,
        answer: (command) => answerCommand(command),
        metrics,
        log: app.log,
      })
    : undefined;
  const discord: DiscordPort = attendanceBot ?? DISCORD_DISABLED;
  const discordGuilds = new DiscordGuildService(discord);
  const attendanceStats = new AttendanceStatsService(
    attendanceRepo,
    attendance,
    attendanceSigning,
    now,
    (guildId) => discordGuilds.botView(guildId),
  );
  const attendanceVerify = new AttendanceVerifyService(attendanceRepo, attendanceSigning);
  const attendanceWebhook = new AttendanceWebhookService(
    attendance,
    audit,
    config.attendanceWebhookSecret,
    now,
  );
  const answerCommand = commandAnswers({
    repo: attendanceRepo,
    stats: attendanceStats,
    verify: attendanceVerify,
  });
  // Plans, log destinations and verified roles (SPEC §5); the last two react to committed events.
  const subscriptions = new SubscriptionService(db, attendanceRepo, audit);
  const logDestinations = new LogDestinationsService(db, logDestinationsRepo, audit, discord, now);
  const attendanceLogs = new AttendanceLogPoster(
    logDestinationsRepo,
    attendanceRepo,
    attendanceStats,
    discord,
    metrics,
    app.log,
    now,
  );
  const verifiedRoles = new VerifiedRolesService(
    db,
    verifiedRolesRepo,
    attendanceRepo,
    audit,
    discord,
    app.log,
    now,
  );
  attendanceEvents.subscribe(attendanceLogs);
  attendanceEvents.subscribe(verifiedRoles);
  // Outbound webhooks: outbox rows written in the change's transaction, sent after commit.
  const outboundWebhooks = new OutboundWebhooksService(
    db,
    outboundWebhooksRepo,
    audit,
    controllerSecretBox({ configuredKey: config.secretKey, dataDir: config.dataDir }),
    metrics,
    { allowPrivateNetworks: config.webhookAllowPrivateNetworks === true },
    now,
  );
  const webhookSender = new OutboundWebhookSender(outboundWebhooks, app.log, {
    version: packageVersion(),
    now,
    timers: deps.webhookTimers,
    allowPrivateNetworks: config.webhookAllowPrivateNetworks === true,
  });
  attendanceEvents.subscribe({
    inTransaction: (tx, events) => outboundWebhooks.enqueue(tx, events),
    afterCommit: async () => webhookSender.wake(),
  });

  // Adapters (started by `start`, stopped by `close`)
  const presence = new PresenceTracker(nodes, app.log);
  const agentMessages = new AgentMessageDispatcher(
    {
      status: (from, status) => presence.report(from, status),
      meters: (from, frame) => meters.record(from, frame),
    },
    app.log,
  );
  const broker = new MqttBroker(
    { port: config.mqttPort, host: config.mqttHost },
    new BrokerAuth(nodes, audit, agentMessages, metrics, app.log),
    presence,
    metrics,
    app.log,
  );
  closers.push(() => broker.stop());
  const resetScheduler = new AttendanceResetScheduler(attendancePeriods, app.log);
  const summaryScheduler = new AttendanceSummaryScheduler(attendanceLogs, app.log);
  // Once-only work runs on one leader among the replicas sharing a PostgreSQL database: the
  // bot (one gateway session, one tracker of the voice sessions), and the scheduled resets
  // and summaries, which act on the sessions it tracks and post through it. On SQLite this
  // process is always the leader. The webhook sender runs everywhere: it claims each delivery.
  let restored = false;
  const leaderWork: LeaderCallbacks = {
    onElected: async () => {
      // Open sessions as the previous leader left them: its last snapshot, less the sessions
      // it stored since (storing one forgets it); the bot reconciles them per guild on connect.
      await attendance.restoreSnapshot();
      restored = true;
      resetScheduler.start();
      summaryScheduler.start();
      await attendanceBot?.start();
    },
    onDemoted: async () => {
      // The bot first, so its last observation is in the snapshot saved after it; then the
      // resets (which close sessions) and summaries; then the open sessions for the next leader.
      await attendanceBot?.stop();
      await summaryScheduler.stop();
      await resetScheduler.stop();
      if (restored) await attendance.handOver();
      restored = false;
    },
  };
  const leadership: LeaderElection =
    provider === 'postgresql' && deps.databaseUrl
      ? new PostgresLeaderElection({ ...leaderWork, connectionString: deps.databaseUrl, log: app.log })
      : new SoleLeader(leaderWork, app.log);
  // Reverse order on close: leave the leadership (bot, resets, open sessions saved), then
  // forget unlocked keys.
  closers.push(async () => attendanceSigning.lockAll());
  // Background event work (log posts, role grants) drains once nothing can publish more.
  closers.push(() => attendanceEvents.idle());
  // A send in flight finishes (10 s at most); what is still pending is sent by the next start.
  closers.push(() => webhookSender.stop());
  closers.push(() => leadership.stop());
  let starting: Promise<void> | undefined;
  // New jobs and stop requests reach the agent at once; agents also poll, so this is best effort.
  recordings.setNotifier((nodeId, command) => broker.publishToNode(nodeId, 'cmd', command));
  // Open meter streams would otherwise hold the HTTP server open on close.
  closers.push(async () => meterStore.closeSubscriptions());

  metrics.onCollect(async () => metrics.nodesOnline.set(nodes.onlineCount()));
  metrics.onCollect(async () => {
    for (const role of ['leader', 'follower'] as const)
      metrics.leader.set({ role }, role === leadership.role ? 1 : 0);
  });
  metrics.onCollect(async () => {
    const current = discordGuilds.botState();
    for (const state of ['disabled', 'stopped', 'connecting', 'ready', 'reconnecting'] as const)
      metrics.discordBotState.set({ state }, state === current ? 1 : 0);
    metrics.discordGuilds.set(discord.guildCount());
  });
  metrics.onCollect(async () => {
    const counts = await jobs.countByState();
    for (const state of JobStates) metrics.jobs.set({ state }, counts.get(state) ?? 0);
  });

  // HTTP plumbing
  installErrorHandler(app, denialAuditor(audit));
  installValidation(app);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status_code: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  await app.register(fastifyCookie);
  // One WebSocket server for the app; inbound messages capped like HTTP bodies.
  await app.register(fastifyWebsocket, { options: { maxPayload: config.maxBodyBytes } });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Earshot controller API', version: '0.1.0' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: 'earshot_session' },
        },
      },
    },
  });
  const routes = installAccessControl(
    app,
    {
      resolveUserSecret: (secret) => auth.resolve(secret),
      resolveNodeCredential: (credential) => nodes.authenticate(credential),
    },
    // The web front end's Discord-user tokens (SPEC §5 "Access"), only when a secret is configured.
    config.frontendTokenSecret
      ? frontendTokenGate({
          secret: config.frontendTokenSecret,
          canManageGuild: (guildId, userId) => discord.canManageGuild(guildId, userId),
          now,
          log: app.log,
        })
      : undefined,
  );

  // Rate limits validate assignments against the declared routes, so they come after
  // access control; the limiter must be registered before the routes it limits.
  const limits = new LimitsService(db, limitsRepo, audit, routes, now);
  await limits.reload();
  await installRouteRateLimits(app, limits);

  // Routes
  await app.register(
    systemRoutes({ metrics, readiness, metricsAllowAnonymous: config.metricsAllowAnonymous }),
  );
  await app.register(mqttWebSocketRoute(broker, config.mqttWsPath));
  await app.register(
    async (api) => {
      await api.register(authRoutes(auth, config));
      await api.register(ownPasswordRoutes(ownPassword));
      await api.register(accessRoutes({ users: userAdmin, groups, roles, policies: accessPolicies }));
      await api.register(oidcRoutes(oidc, config));
      await api.register(auditRoutes(audit));
      await api.register(nodesRoutes(nodes));
      await api.register(recordingsRoutes(recordings));
      await api.register(jobsRoutes(jobs));
      await api.register(uploadsRoutes(uploads));
      await api.register(metersRoutes(meters));
      await api.register(limitsRoutes(limits));
      await api.register(
        attendanceRoutes({ access: guildAccess, stats: attendanceStats, periods: attendancePeriods }),
      );
      await api.register(
        signingRoutes({
          access: guildAccess,
          signing: attendanceSigning,
          stats: attendanceStats,
          verify: attendanceVerify,
        }),
      );
      await api.register(guildSettingsRoutes({ access: guildAccess, settings: guildSettings }));
      await api.register(discordRoutes({ access: guildAccess, discord: discordGuilds }));
      await api.register(subscriptionRoutes({ access: guildAccess, subscriptions }));
      await api.register(logDestinationsRoutes({ access: guildAccess, destinations: logDestinations }));
      await api.register(verifiedRolesRoutes({ access: guildAccess, verifiedRoles }));
      await api.register(outboundWebhooksRoutes({ access: guildAccess, webhooks: outboundWebhooks }));
      await api.register(publicAttendanceRoutes({ verify: attendanceVerify, webhook: attendanceWebhook }));
    },
    { prefix: '/api/v1' },
  );

  return {
    app,
    metrics,
    services: {
      audit,
      auth,
      accessPolicies,
      nodes,
      recordings,
      jobs,
      uploads,
      meters,
      limits,
      oidc,
      attendance,
      attendanceSigning,
      attendancePeriods,
      discord,
      attendanceEvents,
      attendanceLogs,
      webhookSender,
    },
    broker,
    leadership,
    routes,
    readiness,
    start: () => {
      starting ??= (async () => {
        await broker.start();
        webhookSender.start();
        // Leading: the saved open sessions restored, the bot connecting, the schedulers running.
        await leadership.start();
        readiness.push({ name: 'broker', check: async () => broker.isReady() });
      })();
      return starting;
    },
    onClose: (fn) => closers.push(fn),
    close: async () => {
      for (const close of closers.reverse())
        await close().catch((err) => app.log.error({ err }, 'close failed'));
      await app.close();
    },
  };
}
