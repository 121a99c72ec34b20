/** What `buildApp` takes and returns (app.ts). */
import type { FastifyInstance } from 'fastify';
import type { MqttBroker } from './broker/index.js';
import type { LeaderElection } from './cluster/leader-election.js';
import type { Config } from './config.js';
import type { HealthAlerts } from './core/health-alerts.js';
import type { RouteInfo } from './core/routes.js';
import type { Db, Provider } from './db/client.js';
import type { Validators } from './http/validation.js';
import type { Metrics } from './metrics.js';
import type { AccessPorts } from './modules/access/index.js';
import type { AttendancePorts, SenderTimers } from './modules/attendance/index.js';
import type { AuditChainWatch, AuditService } from './modules/audit/index.js';
import type { ChannelMapsPort } from './modules/channel-maps/index.js';
import type { EventsService } from './modules/events/index.js';
import type {
  ControllerDiskWatch,
  HealthReports,
  HealthService,
  NodeOfflineWatch,
} from './modules/health/index.js';
import type { LimitsService } from './modules/limits/index.js';
import type { ListenService } from './modules/listen/index.js';
import type { MetersService } from './modules/meters/index.js';
import type {
  CommandResultLog,
  LifecycleService,
  NodeManagementService,
  NodesService,
} from './modules/nodes/index.js';
import type { NotificationsPorts } from './modules/notifications/index.js';
import type { HealthSampler, OpsLogWriter, OpsService } from './modules/ops/index.js';
import type {
  JobsService,
  OccurrencesService,
  RecordingsService,
  UploadsService,
} from './modules/recordings/index.js';
import type { RetentionService } from './modules/retention/index.js';
import type { SchedulesService } from './modules/schedules/index.js';
import type { SettingsFamily, SettingsService } from './modules/settings/index.js';
import type { ReadinessCheck } from './modules/system/index.js';
import type { UploadQueueService, UploadRunner } from './modules/upload-queue/index.js';
import type { Lifecycle } from './platform/lifecycle.js';

export interface AppDeps {
  config: Config;
  db: Db;
  provider: Provider;
  /** Injected clock (tests); defaults to the wall clock. */
  now?: () => Date;
  /**
   * The request validators (http/validation.ts), for tests that build many apps in one process:
   * shared, each route schema is compiled once, not once per app. Each app has its own by default.
   */
  validators?: Validators;
  logger?: boolean | object;
  /** The outbound webhook sender's timers (tests drive retries by hand); real timers by default. */
  webhookTimers?: SenderTimers;
  /**
   * The PostgreSQL URL, for the leader election's own connection (server.ts passes it).
   * Without it the app leads alone, as on SQLite (tests that build an app on their own database).
   */
  databaseUrl?: string;
  /** The migrations server.ts applied at this start (the operational log records them). */
  migrationsApplied?: readonly string[];
  /** Settings families beyond the built-in ones (tests add one whose objects are in use). */
  settingsFamilies?: readonly SettingsFamily[];
  /** Where the operator console's build is (tests); beside the controller by default. */
  consoleDir?: string;
  /** The recordings' disk as retention reads it (tests pass a full one); statfs by default. */
  diskSpace?: (dir: string) => Promise<{ freeBytes: number; totalBytes: number }>;
}

export interface ControllerApp {
  app: FastifyInstance;
  metrics: Metrics;
  /** The modules' ports, for server.ts and tests. */
  services: Omit<AccessPorts, 'resolveUserSecret'> &
    Omit<AttendancePorts, 'leaderWork' | 'canManageGuild'> &
    NotificationsPorts & {
      audit: AuditService;
      auditChain: AuditChainWatch;
      nodes: NodesService;
      nodeManagement: NodeManagementService;
      commandResults: CommandResultLog;
      lifecycle: LifecycleService;
      recordings: RecordingsService;
      jobs: JobsService;
      uploads: UploadsService;
      occurrences: OccurrencesService;
      schedules: SchedulesService;
      meters: MetersService;
      listen: ListenService;
      limits: LimitsService;
      settings: SettingsService;
      channelMaps: ChannelMapsPort;
      health: HealthService;
      healthReports: HealthReports;
      events: EventsService;
      nodeWatch: NodeOfflineWatch;
      diskWatch: ControllerDiskWatch;
      healthAlerts: HealthAlerts;
      uploadQueue: UploadQueueService;
      uploadRunner: UploadRunner;
      retention: RetentionService;
      ops: OpsService;
      healthSampler: HealthSampler;
      /** The operational event log's writer; `flush()` waits for its writes (tests). */
      opsLog: OpsLogWriter;
    };
  /** The embedded MQTT broker; the lifecycle opens its TCP listener. */
  broker: MqttBroker;
  /** Whether this replica runs the once-only work (the Discord bot, scheduled resets and summaries). */
  leadership: LeaderElection;
  /** Every declared route with its access (for invariant tests and the RBAC matrix). */
  routes: RouteInfo[];
  /** Readiness checks (the broker adds its own when it starts). */
  readiness: ReadinessCheck[];
  /** The components, started in order and stopped in reverse (`lifecycle.names()`). */
  lifecycle: Lifecycle;
  /** Starts the components (broker, webhook sender, leadership); server.ts calls it before listening. */
  start: () => Promise<void>;
  /** Stops every component in reverse order, once; HTTP stops accepting first. */
  close: () => Promise<void>;
}
