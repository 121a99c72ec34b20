/**
 * Prometheus metrics, one registry per controller (no global default registry).
 * Gauges that mirror database state are filled by collect callbacks at scrape time.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'earshot_http_requests_total',
    help: 'HTTP requests answered, by method, route and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'earshot_http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method and route.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly mqttClients = new Gauge({
    name: 'earshot_mqtt_clients',
    help: 'MQTT clients connected to the embedded broker.',
    registers: [this.registry],
  });

  readonly mqttMessages = new Counter({
    name: 'earshot_mqtt_messages_total',
    help: 'MQTT messages received from agents, by topic name and outcome.',
    labelNames: ['topic', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly meterFrames = new Counter({
    name: 'earshot_meter_frames_total',
    help: 'Meter frames accepted from agents.',
    registers: [this.registry],
  });

  readonly listenSessions = new Gauge({
    name: 'earshot_listen_sessions',
    help: 'Live listen sessions on this replica (waiting for their WebSocket, or open).',
    registers: [this.registry],
  });

  readonly listenFrames = new Counter({
    name: 'earshot_listen_frames_total',
    help:
      'Live listen frames: received from agents, sent to or dropped for a listener (per listener), ' +
      'lost (sequence gaps) or unwanted (no such stream).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly eventStreams = new Gauge({
    name: 'earshot_event_streams',
    help: 'Live event streams open on this replica, by transport (sse, websocket).',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });

  readonly eventWrites = new Counter({
    name: 'earshot_event_writes_total',
    help:
      'Batches of live events written (ok), that failed and wait to be tried again (retry), or ' +
      'were dropped after failing every try (dropped).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly controllerDiskFree = new Gauge({
    name: 'earshot_controller_disk_free_bytes',
    help: "Free bytes on the controller's data dir (where recordings are kept).",
    registers: [this.registry],
  });

  readonly controllerDiskHeadroom = new Gauge({
    name: 'earshot_controller_disk_headroom_seconds',
    help: "Seconds until the controller's data dir is full at the last hour's ingest rate (+Inf: nothing arriving).",
    registers: [this.registry],
  });

  readonly uploadBytes = new Counter({
    name: 'earshot_upload_bytes_total',
    help: 'Recording bytes received from agents.',
    registers: [this.registry],
  });

  readonly uploadDirectBytes = new Counter({
    name: 'earshot_upload_direct_bytes_total',
    help: "Recording bytes received from agents and written with O_DIRECT, around the page cache (stays 0 where the data dir's file system refuses O_DIRECT).",
    registers: [this.registry],
  });

  readonly uploads = new Counter({
    name: 'earshot_uploads_total',
    help: 'Recording uploads finished, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly providerQueue = new Gauge({
    name: 'earshot_upload_queue_items',
    help: 'Upload queue items (copies of recordings to upload providers) by provider and state.',
    labelNames: ['provider', 'state'] as const,
    registers: [this.registry],
  });

  readonly providerCopies = new Counter({
    name: 'earshot_provider_copies_total',
    help: 'Copy attempts of recordings to upload providers, by provider and outcome (verified, retry, failed).',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly providerBytes = new Counter({
    name: 'earshot_provider_copied_bytes_total',
    help: 'Bytes of recordings copied to upload providers and verified there, by provider.',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly providerCopySeconds = new Counter({
    name: 'earshot_provider_copy_seconds_total',
    help: 'Time spent copying recordings to upload providers, by provider (bytes over it: the throughput).',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly jobs = new Gauge({
    name: 'earshot_recording_jobs',
    help: 'Recording jobs by state.',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly nodesOnline = new Gauge({
    name: 'earshot_nodes_online',
    help: 'Nodes whose agent is connected (MQTT status online).',
    registers: [this.registry],
  });

  readonly nodeOnline = new Gauge({
    name: 'earshot_node_online',
    help: 'Each enrolled node in service: 1 when online (connected, or a recent heartbeat), 0 when not; labelled by node id and name.',
    labelNames: ['node', 'name'] as const,
    registers: [this.registry],
  });

  readonly nodeHeadroomHours = new Gauge({
    name: 'earshot_node_headroom_hours',
    help: "Hours of recording each node's disk holds at its current recording rate (from its last heartbeat while recording).",
    labelNames: ['node'] as const,
    registers: [this.registry],
  });

  readonly occurrencesMissed = new Counter({
    name: 'earshot_occurrences_missed_total',
    help: 'Scheduled occurrences that ended without being recorded (the node did not take them in time, or reported them missed).',
    registers: [this.registry],
  });

  readonly auditChainBroken = new Gauge({
    name: 'earshot_audit_chain_broken',
    help: 'Whether the last verification of the audit hash chain found it broken (1) or whole (0); 0 before the first.',
    registers: [this.registry],
  });

  readonly auditChainVerifiedAt = new Gauge({
    name: 'earshot_audit_chain_verified_timestamp_seconds',
    help: 'When the audit hash chain was last verified (Unix seconds); 0 before the first verification.',
    registers: [this.registry],
  });

  readonly healthEventsOpen = new Gauge({
    name: 'earshot_health_events_open',
    help: 'Health events not resolved and not suppressed now (open or acknowledged), by type and severity.',
    labelNames: ['type', 'severity'] as const,
    registers: [this.registry],
  });

  readonly discordCommands = new Counter({
    name: 'earshot_discord_commands_total',
    help: 'Discord slash commands the bot replied to, by command and outcome (answered, failed, refused).',
    labelNames: ['command', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly discordBotState = new Gauge({
    name: 'earshot_discord_bot_state',
    help: 'The Discord bot gateway state: 1 for the current state (disabled, stopped, connecting, ready, reconnecting), 0 for the others.',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly leader = new Gauge({
    name: 'earshot_leader',
    help: 'Whether this replica runs the once-only work (the Discord bot, scheduled resets and summaries): 1 for its current role (leader, follower), 0 for the other.',
    labelNames: ['role'] as const,
    registers: [this.registry],
  });

  setLeaderRole(current: 'leader' | 'follower'): void {
    for (const role of ['leader', 'follower'] as const) this.leader.set({ role }, role === current ? 1 : 0);
  }

  readonly clusterLeader = new Gauge({
    name: 'earshot_cluster_leader',
    help: 'Whether this replica is the elected leader (runs the once-only work): 1 or 0, labelled by replica (its instance id); sum over replicas is 1 in a healthy cluster.',
    labelNames: ['replica'] as const,
    registers: [this.registry],
  });

  readonly clusterNodesConnected = new Gauge({
    name: 'earshot_cluster_nodes_connected',
    help: "Agents whose MQTT connection this replica holds, labelled by replica (its instance id); the sum over replicas is the fleet's connected agents.",
    labelNames: ['replica'] as const,
    registers: [this.registry],
  });

  /** This replica's role and connections, labelled so a cluster's scrapes add up. */
  setCluster(replica: string, role: 'leader' | 'follower', nodesConnected: number): void {
    this.setLeaderRole(role);
    this.clusterLeader.set({ replica }, role === 'leader' ? 1 : 0);
    this.clusterNodesConnected.set({ replica }, nodesConnected);
  }

  readonly discordGuilds = new Gauge({
    name: 'earshot_discord_guilds',
    help: 'Guilds the Discord bot is a member of, from the gateway.',
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'earshot_webhook_deliveries_total',
    help: 'Outbound webhook delivery attempts, by outcome: delivered, retry (failed, tried again later), failed (given up).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly notificationDeliveries = new Counter({
    name: 'earshot_notification_deliveries_total',
    help: 'Notification integration delivery attempts, by kind and outcome: delivered, retry, failed (given up).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly attendanceLogPosts = new Counter({
    name: 'earshot_attendance_log_posts_total',
    help: 'Attendance posts to Discord log destinations, by log type (sessions, periods, summary) and outcome (posted, failed, skipped when no bot is configured).',
    labelNames: ['log_type', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'earshot_' });
    // prom-client names these gauges `_total`, which promtool rightly flags; they add little.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      this.registry.removeSingleMetric(`earshot_${name}`);
    }
  }

  /** Runs before each scrape, to refresh gauges from the source of truth. */
  onCollect(collect: () => Promise<void>): void {
    this.collectors.push(collect);
  }

  private readonly collectors: (() => Promise<void>)[] = [];

  async render(): Promise<string> {
    await Promise.all(this.collectors.map((c) => c()));
    return this.registry.metrics();
  }
}
