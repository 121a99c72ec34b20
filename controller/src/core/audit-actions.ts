/**
 * The audit action catalog: every action the controller writes to the audit trail, with the
 * type of its target. `AuditInput.action` is typed by it, so an unlisted action does not
 * compile; test/integration/audit-catalog.test.ts checks what is actually stored.
 *
 * Naming: `<domain>[.<object>].<verb>`, one tense for all: the last segment is a present-tense,
 * imperative verb, alone or joined to its object (`create`, `member_add`, `rotate_key`). What
 * happened is said by the event's `outcome` (success, denied, failure), never by the tense: a
 * refused and a successful `node.enrollment_exchange` share the name.
 *
 * Stored rows are never rewritten (that would break the hash chain): an action renamed to fit
 * the rule keeps its old name in `AUDIT_ACTION_ALIASES`, and the audit filters match old and
 * new names alike (`auditActionNames`). Rows keep the name they were stored with.
 *
 * One family is not enumerated: a refused HTTP request with no action of its own is audited
 * centrally (http/denial-audit.ts) as `http.<method> <route>`, e.g. `http.get /api/v1/nodes`.
 */

/** What an event's target is; null for events about no one object. */
export type AuditTargetType =
  | 'access_policy'
  | 'api_token'
  | 'audit_log'
  | 'channel_map_plan'
  | 'group'
  | 'guild'
  | 'health_event'
  | 'mqtt_topic'
  | 'node'
  | 'notification_integration'
  | 'period'
  | 'rate_limit_assignment'
  | 'rate_limit_profile'
  | 'recording'
  | 'recording_job'
  | 'schedule'
  | 'role'
  | 'session'
  | 'settings_object'
  | 'upload_queue_item'
  | 'user';

export interface AuditActionInfo {
  /**
   * The target type its events carry (a list when it depends on the outcome); events may also
   * have no target where none is known (e.g. a malformed credential names no node).
   */
  target: AuditTargetType | readonly AuditTargetType[] | null;
  description: string;
}

export const AUDIT_ACTIONS = {
  // Audit
  'audit.export': { target: 'audit_log', description: 'Export audit events (CSV or NDJSON)' },

  // Set-up, sign-in, sessions and API tokens
  'setup.owner_create': { target: 'user', description: 'Create the first owner at set-up' },
  'auth.login': {
    target: ['session', 'user'],
    description: 'Sign in (password or SSO): a session on success, the user when refused',
  },
  'auth.logout': { target: 'session', description: 'Sign out: end the session' },
  'auth.session.refresh': { target: 'session', description: 'Extend a session' },
  'auth.api_token.create': { target: 'api_token', description: 'Create an API token' },
  'auth.api_token.revoke': { target: 'api_token', description: 'Revoke an API token' },
  'auth.own_password_change': { target: 'user', description: 'Change one’s own password' },

  // Users, groups, roles and access policies
  'auth.user.create': { target: 'user', description: 'Create a local user' },
  'auth.user.access_update': { target: 'user', description: 'Replace a user’s grants and groups' },
  'auth.user.password_set': { target: 'user', description: 'Set another user’s password' },
  'auth.user.disable': { target: 'user', description: 'Disable a user' },
  'auth.user.enable': { target: 'user', description: 'Enable a user' },
  'auth.user.delete': { target: 'user', description: 'Delete a user' },
  'auth.group.create': { target: 'group', description: 'Create a group' },
  'auth.group.update': { target: 'group', description: 'Rename a group or replace its grants' },
  'auth.group.delete': { target: 'group', description: 'Delete a group' },
  'auth.group.member_add': { target: 'group', description: 'Add a user to a group' },
  'auth.group.member_remove': { target: 'group', description: 'Remove a user from a group' },
  'auth.role.create': { target: 'role', description: 'Create a custom role' },
  'auth.role.update': { target: 'role', description: 'Change a custom role' },
  'auth.role.delete': { target: 'role', description: 'Delete a custom role' },
  'auth.access_policy.update': { target: 'access_policy', description: 'Change access policies' },
  'auth.oidc.user_create': { target: 'user', description: 'Create a user at their first SSO sign-in' },
  'auth.oidc.user_update': { target: 'user', description: 'Update a user from their IdP claims' },
  'auth.oidc.access_sync': { target: 'user', description: 'Sync a user’s access from IdP groups' },

  // Rate limits
  'limits.profile.create': { target: 'rate_limit_profile', description: 'Create a rate-limit profile' },
  'limits.profile.update': { target: 'rate_limit_profile', description: 'Change a rate-limit profile' },
  'limits.profile.delete': { target: 'rate_limit_profile', description: 'Delete a rate-limit profile' },
  'limits.assignment.create': {
    target: 'rate_limit_assignment',
    description: 'Assign a rate-limit profile to a route',
  },
  'limits.assignment.delete': {
    target: 'rate_limit_assignment',
    description: 'Remove a route’s rate-limit profile',
  },

  // Nodes, the broker and meters
  'node.enroll': { target: 'node', description: 'Create a node and its one-time enrollment token' },
  'node.enrollment_exchange': {
    target: 'node',
    description: 'An agent exchanges its enrollment token for the node credential',
  },
  'node.credential_rotate': { target: 'node', description: 'Rotate a node’s credential' },
  'node.credential_issue': {
    target: 'node',
    description: 'An agent asks for a new credential (rotate-credential); the old one works until it is used',
  },
  'node.credential_adopt': {
    target: 'node',
    description: 'An agent first uses the credential it was issued: it replaces the old one',
  },
  'node.lifecycle_request': {
    target: 'node',
    description: 'Ask a node’s agent for a lifecycle action (restart, reload, rotate, upload, diagnostics)',
  },
  'node.lifecycle_result': {
    target: 'node',
    description: 'A lifecycle job ends: the agent’s answer, or timed out (not sent in time, or no answer)',
  },
  'node.diagnostics_upload': {
    target: 'node',
    description: 'An agent uploads the diagnostics it was asked for',
  },
  'node.agent_change': {
    target: 'node',
    description: 'A heartbeat reports a new agent version or capture device',
  },
  'node.update': { target: 'node', description: 'Change a node’s name, site, tags, location or notes' },
  'node.decommission': {
    target: 'node',
    description: 'Retire a node: revoke its credential and disconnect it (recordings kept)',
  },
  'node.delete': { target: 'node', description: 'Delete a decommissioned node with nothing pending' },
  'node.export': { target: null, description: 'Export nodes (CSV or NDJSON)' },
  'node.interface.report': {
    target: 'node',
    description: 'An agent reports its audio interfaces: new, changed or vanished (marked absent)',
  },
  'node.interface.update': {
    target: 'node',
    description: 'Set an audio interface’s alias, enabled channels or channel names',
  },
  'mqtt.connect': { target: null, description: 'An MQTT client connects (audited when refused)' },
  'mqtt.publish': { target: 'mqtt_topic', description: 'A node publishes (audited when refused)' },
  'mqtt.subscribe': { target: 'mqtt_topic', description: 'A node subscribes (audited when refused)' },
  'meters.stream_open': { target: 'node', description: 'Open a live meter stream (one node or all)' },
  'listen.start': { target: 'node', description: 'Open a live listen session on a node' },
  'events.stream_open': {
    target: null,
    description: 'Open a live events stream (SSE or WebSocket); refused: a WebSocket ticket not valid',
  },
  'events.ticket_create': {
    target: 'user',
    description: 'Issue a single-use ticket for the live events WebSocket',
  },
  'listen.end': {
    target: 'node',
    description: 'A live listen session ends (its user, its socket, a stall, revoked access…)',
  },

  // Recordings and their jobs
  'recording.create': { target: 'recording', description: 'Schedule a recording (and its job)' },
  'recording.stop': { target: 'recording', description: 'Stop or cancel a recording' },
  'recording.download': { target: 'recording', description: 'Download a recording’s audio' },
  'recording.playback': {
    target: 'recording',
    description: 'Open a playback session on a recording (its stream’s range requests are not audited)',
  },
  'recording.upload': { target: 'recording', description: 'Complete a recording’s upload' },
  'recording.metadata_update': {
    target: 'recording',
    description: 'Edit a recording’s title, notes, tags, custom fields or legal hold',
  },
  'recording.agent_copy_removed': {
    target: 'recording',
    description: "An agent-cache retention policy removed the agent's copy of a confirmed recording",
  },
  'recording.delete': { target: 'recording', description: 'Delete a finished recording and its files' },
  'recording.export': { target: null, description: 'Export the recording library (CSV or NDJSON)' },
  'upload_queue.enqueue': {
    target: 'upload_queue_item',
    description: 'Queue a copy of a recording to an upload provider (by a policy, or by hand)',
  },
  'upload_queue.verify': {
    target: 'upload_queue_item',
    description: 'A copy of a recording at an upload provider was verified against its SHA-256',
  },
  'upload_queue.fail': {
    target: 'upload_queue_item',
    description: 'A copy of a recording to an upload provider failed its last attempt',
  },
  'upload_queue.retry': { target: 'upload_queue_item', description: 'Queue a failed copy again' },
  'upload_runner.run': { target: null, description: 'Ask the upload runner for a pass now' },
  'retention.delete': {
    target: 'recording',
    description: "A retention policy removed the controller's copy of a recording (its policy and rule)",
  },
  'retention.run': {
    target: null,
    description: 'Apply the retention policies now, or list what they would remove',
  },
  'recording_job.claim': { target: 'recording_job', description: 'An agent claims a queued job' },
  'recording_job.recording_start': {
    target: 'recording_job',
    description: 'An agent reports the job recording',
  },
  'recording_job.upload_start': {
    target: 'recording_job',
    description: 'The job starts uploading (heartbeat or first upload call)',
  },
  'recording_job.fail': { target: 'recording_job', description: 'An agent reports the job failed' },
  'recording_job.cancel': { target: 'recording_job', description: 'An agent reports the job cancelled' },
  'recording_job.contact_lose': {
    target: 'recording_job',
    description: 'A held job’s lease runs out with no heartbeat: lost contact (not failed)',
  },
  'recording_job.contact_regain': {
    target: 'recording_job',
    description: 'A job in lost contact hears from its node again (right epoch)',
  },
  'recording_job.continue': {
    target: 'recording_job',
    description: 'An agent restarted inside a job’s window registers the part recording the rest',
  },
  'recording_job.retry': {
    target: 'recording_job',
    description: 'Queue a new attempt of a failed or cancelled job (one event per job, bulk too)',
  },
  'recording_job.stop': {
    target: 'recording_job',
    description:
      'A bulk stop refused for one job (not found, outside the scope, nothing to stop); a stop done is recording.stop',
  },
  'recording_job.export': { target: null, description: 'Export recording jobs (CSV or NDJSON)' },

  // Health events
  'health_event.report': {
    target: 'health_event',
    description: 'An agent reports a new health event, or one it reported clears or comes back',
  },
  'health_event.create': { target: 'health_event', description: 'Enter a health event by hand' },
  'health_event.acknowledge': { target: 'health_event', description: 'Acknowledge an open health event' },
  'health_event.suppress': { target: 'health_event', description: 'Suppress a health event until a time' },
  'health_event.resolve': { target: 'health_event', description: 'Resolve a health event' },
  'health_event.reopen': {
    target: 'health_event',
    description: 'Reopen a health event (resolved, acknowledged or suppressed)',
  },
  'health_event.export': { target: null, description: 'Export health events (CSV or NDJSON)' },

  // Notification integrations
  'integration.create': {
    target: 'notification_integration',
    description: 'Create a notification integration (a draft)',
  },
  'integration.update': {
    target: 'notification_integration',
    description: 'Change an integration’s name, URL, routing rules or quiet period',
  },
  'integration.delete': {
    target: 'notification_integration',
    description: 'Delete a notification integration',
  },
  'integration.verify': {
    target: 'notification_integration',
    description: 'Send an integration a test message and record the answer',
  },
  'integration.enable': { target: 'notification_integration', description: 'Enable a verified integration' },
  'integration.disable': { target: 'notification_integration', description: 'Disable an integration' },
  'integration.rotate_secret': {
    target: 'notification_integration',
    description: 'Rotate an integration’s signing secret',
  },

  // Schedules
  'schedule.create': {
    target: 'schedule',
    description: 'Create a schedule (its occurrences are materialised)',
  },
  'schedule.update': { target: 'schedule', description: 'Change a schedule (future occurrences re-planned)' },
  'schedule.delete': {
    target: 'schedule',
    description: 'Delete a schedule and its occurrences not yet begun',
  },
  'schedule.pause': {
    target: 'schedule',
    description: 'Pause a schedule (its future occurrences are removed)',
  },
  'schedule.resume': { target: 'schedule', description: 'Resume a paused schedule' },
  'schedule.skip': { target: 'schedule', description: 'Skip a schedule’s next occurrence' },
  'schedule.unskip': { target: 'schedule', description: 'Bring back a skipped occurrence' },
  'schedule.run_now': { target: 'schedule', description: 'Record a schedule now on its target nodes' },
  'schedule.export': { target: null, description: 'Export schedules (CSV or NDJSON)' },

  // Settings families (recording profiles, watchdog and retention policies…)
  'settings.create': { target: 'settings_object', description: 'Create a settings object (revision 1)' },
  'settings.update': { target: 'settings_object', description: 'Change a settings object (a new revision)' },
  'settings.rollback': {
    target: 'settings_object',
    description: 'Restore an earlier revision of a settings object, as a new revision',
  },
  'settings.delete': { target: 'settings_object', description: 'Delete a settings object (history kept)' },
  'settings.export': { target: null, description: 'Export a settings family (CSV or NDJSON)' },
  'settings.watchdog_policy.calibrate': {
    target: 'settings_object',
    description: 'Propose a watchdog policy from a node’s live meters (changes nothing)',
  },

  // Channel maps: assignments of templates to nodes, staged plans
  'channel_map.assignment.set': {
    target: 'node',
    description: 'Set or replace the channel-map template of a node (a new revision)',
  },
  'channel_map.assignment.clear': {
    target: 'node',
    description: 'Clear a node’s channel map (a new revision)',
  },
  'channel_map.assignment.rollback': {
    target: 'node',
    description: 'Restore an earlier revision of a node’s channel-map assignment, as a new revision',
  },
  'channel_map.plan.stage': {
    target: 'channel_map_plan',
    description: 'Stage a plan of channel-map assignment changes (nothing applied)',
  },
  'channel_map.plan.apply': {
    target: 'channel_map_plan',
    description: 'Apply a staged channel-map plan (its assignments in one transaction)',
  },
  'channel_map.plan.discard': {
    target: 'channel_map_plan',
    description: 'Discard a staged channel-map plan',
  },
  'settings.upload_provider_test': {
    target: 'settings_object',
    description: 'Test an upload provider: write, read back and delete a probe object',
  },

  // Demo data (outside production mode only)
  'demo.seed': { target: null, description: 'Seed demo sites, nodes, recordings and health events' },
  'demo.reset': { target: null, description: 'Remove the demo data the seed created (and only it)' },

  // Attendance: guilds, tracking, periods
  'attendance.guild.register': { target: 'guild', description: 'The bot registers a new guild' },
  'attendance.guild.create': {
    target: 'guild',
    description: 'Register a guild through the API (an attendance source other than the bot)',
  },
  'attendance.guild.update': {
    target: 'guild',
    description: 'A guild’s name or time zone changes (the bot sees a rename, or a user edits it)',
  },
  'attendance.guild.bot_remove': { target: 'guild', description: 'The bot is removed from a guild' },
  'attendance.tracking_mode.update': { target: 'guild', description: 'Change a guild’s tracking mode' },
  'attendance.tracked_channel.add': { target: 'guild', description: 'Track a voice channel' },
  'attendance.tracked_channel.remove': { target: 'guild', description: 'Stop tracking a voice channel' },
  'attendance.fairness.update': { target: 'guild', description: 'Change a guild’s fairness rules' },
  'attendance.sessions.store': { target: 'guild', description: 'Store completed voice sessions' },
  'attendance.webhook.voice_state_receive': {
    target: 'guild',
    description: 'Receive a voice-state event through the attendance webhook',
  },
  'attendance.reset_schedule.update': { target: 'guild', description: 'Change a guild’s reset schedule' },
  'attendance.period.reset': { target: 'guild', description: 'Reset the attendance period by hand' },
  'attendance.period.scheduled_reset': {
    target: 'guild',
    description: 'Reset the attendance period on its schedule',
  },

  // Attendance: signing
  'attendance.signing.generate_key': { target: 'guild', description: 'Generate a guild’s signing key' },
  'attendance.signing.rotate_key': { target: 'guild', description: 'Rotate a guild’s signing key' },
  'attendance.signing.unlock': { target: 'guild', description: 'Unlock a guild’s signing keys' },
  'attendance.sessions.sign_pending': {
    target: 'guild',
    description: 'Sign the sessions stored while the keys were locked',
  },
  'attendance.period.sign_pending': {
    target: 'guild',
    description: 'Sign the periods archived while the keys were locked',
  },
  'attendance.signing.verify_session': {
    target: 'session',
    description: 'Verify a voice session’s signature (through the API)',
  },
  'attendance.signing.verify_period': {
    target: 'period',
    description: 'Verify a period snapshot’s signature (through the API)',
  },

  // Attendance: integrations
  'attendance.subscription.update': { target: 'guild', description: 'Change a guild’s plan' },
  'attendance.log_destination.create': { target: 'guild', description: 'Add a log destination' },
  'attendance.log_destination.delete': { target: 'guild', description: 'Remove a log destination' },
  'attendance.log_destination.types.update': {
    target: 'guild',
    description: 'Change what a log destination receives',
  },
  'attendance.log_destination.frequency.update': {
    target: 'guild',
    description: 'Change how often a log destination gets summaries',
  },
  'attendance.verified_role.create': { target: 'guild', description: 'Add a verified-role rule' },
  'attendance.verified_role.update': { target: 'guild', description: 'Change a verified-role rule' },
  'attendance.verified_role.delete': { target: 'guild', description: 'Remove a verified-role rule' },
  'attendance.verified_role.grant': { target: 'guild', description: 'Grant a verified role to a member' },
  'attendance.webhook_settings.update': {
    target: 'guild',
    description: 'Change a guild’s outbound webhook',
  },
  'attendance.webhook_settings.disable': {
    target: 'guild',
    description: 'Disable a guild’s outbound webhook after repeated failures',
  },
} as const satisfies Record<string, AuditActionInfo>;

/** A catalogued action. */
export type CatalogAuditAction = keyof typeof AUDIT_ACTIONS;

/** The family of central HTTP denials: `http.<method> <route>` (see http/denial-audit.ts). */
export type HttpDenialAction = `http.${string}`;
export const HTTP_DENIAL_ACTION = /^http\.[a-z]+ \/\S*$/;

/** Every action an audit event may be written with. */
export type AuditAction = CatalogAuditAction | HttpDenialAction;

/**
 * Old names of renamed actions → their catalog name. Rows stored under an old name keep it;
 * filters by either name find both (`auditActionNames`).
 */
export const AUDIT_ACTION_ALIASES = {
  'setup.owner_created': 'setup.owner_create',
  'auth.oidc.user_created': 'auth.oidc.user_create',
  'auth.oidc.user_updated': 'auth.oidc.user_update',
  'auth.oidc.access_synced': 'auth.oidc.access_sync',
  'node.enrolled': 'node.enrollment_exchange',
  'node.agent_changed': 'node.agent_change',
  'recording_job.recording': 'recording_job.recording_start',
  'recording_job.uploading': 'recording_job.upload_start',
  'recording_job.failed': 'recording_job.fail',
  'recording_job.cancelled': 'recording_job.cancel',
  'attendance.guild.bot_removed': 'attendance.guild.bot_remove',
  'attendance.webhook.voice_state': 'attendance.webhook.voice_state_receive',
} as const satisfies Record<string, CatalogAuditAction>;

export function isCatalogAuditAction(value: string): value is CatalogAuditAction {
  return Object.hasOwn(AUDIT_ACTIONS, value);
}

/** Whether `value` is an action events may be written with (a catalogued one or an HTTP denial). */
export function isAuditAction(value: string): value is AuditAction {
  return isCatalogAuditAction(value) || HTTP_DENIAL_ACTION.test(value);
}

/** The catalog name of `value`: itself, or what an old name was renamed to. */
export function canonicalAuditAction(value: string): string {
  return Object.hasOwn(AUDIT_ACTION_ALIASES, value)
    ? AUDIT_ACTION_ALIASES[value as keyof typeof AUDIT_ACTION_ALIASES]
    : value;
}

/**
 * Every name an event of `value`'s action may be stored under: its catalog name and the old
 * names of it (given an old name, the same set). Just `[value]` for anything else.
 */
export function auditActionNames(value: string): string[] {
  const canonical = canonicalAuditAction(value);
  const old = Object.entries(AUDIT_ACTION_ALIASES)
    .filter(([, now]) => now === canonical)
    .map(([was]) => was);
  return [canonical, ...old];
}

/** The catalog's names and old names that start with `prefix`, exactly. */
export function auditActionsStartingWith(prefix: string): string[] {
  return [...Object.keys(AUDIT_ACTIONS), ...Object.keys(AUDIT_ACTION_ALIASES)].filter((name) =>
    name.startsWith(prefix),
  );
}
