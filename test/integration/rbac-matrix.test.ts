/**
 * The RBAC matrix: every route × each built-in role × a node inside / outside the
 * caller's scope. The table below says, by hand, which permission each route needs
 * and whether it acts on a node-owned object; the expected outcome follows:
 *   role lacks the permission            → 403
 *   route is fleet-wide (`fleet`)        → 403 (every role here is granted over one site)
 *   holds it, object outside its scope   → 404
 *   holds it, object inside its scope    → anything but 401/403/404
 * Adding a route without a row here fails the suite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_ROLES, type BuiltInRoleName, type Permission } from '../../shared/src/permissions.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { createRecording } from '../support/recordings.js';
import { SETTINGS_FAMILY_NAMES } from '../support/settings-families.js';

type Need = Permission | 'authenticated' | 'public' | 'agent';
interface Row {
  need: Need;
  /** The route acts on a node-owned object: checked in and out of the caller's scope. */
  node?: true;
  /** Fleet-wide by nature: needs the permission over the whole fleet, not one site. */
  fleet?: true;
  /** Streams forever when allowed: only refusals are exercised. */
  stream?: true;
  /** A fixed outcome for every role (e.g. session-only routes called with an API token). */
  always?: number;
  /**
   * The route acts on a guild's attendance data. Roles here are granted over a site,
   * not a guild, so a guild is outside every scope: allowed means anything but 401/403
   * (the scope check itself is covered in attendance-api.test.ts).
   */
  guild?: true;
}

/** Every settings family has the same routes, all fleet-wide (settings are fleet objects). */
const SETTINGS_ROWS: Record<string, Row> = Object.fromEntries(
  SETTINGS_FAMILY_NAMES.flatMap((family) => {
    const base = `/api/v1/settings/${family}`;
    const read = { need: 'settings:read', fleet: true } as const;
    const manage = { need: 'settings:manage', fleet: true } as const;
    return [
      [`GET ${base}`, read],
      [`GET ${base}/export`, read],
      [`POST ${base}/export`, read],
      [`GET ${base}/:id`, read],
      [`GET ${base}/:id/actions`, read],
      [`GET ${base}/:id/history`, read],
      [`POST ${base}`, manage],
      [`PATCH ${base}/:id`, manage],
      [`DELETE ${base}/:id`, manage],
      [`POST ${base}/:id/rollback`, manage],
    ];
  }),
);

/** The families' index. */
SETTINGS_ROWS['GET /api/v1/settings'] = { need: 'settings:read', fleet: true };

/** Channel-map assignments and plans act on nodes: scoped like node routes. */
const CHANNEL_MAP_ROWS: Record<string, Row> = {
  'GET /api/v1/settings/channel-map-assignments': { need: 'settings:read' },
  'PUT /api/v1/settings/channel-map-assignments/:nodeId': { need: 'settings:manage', node: true },
  'DELETE /api/v1/settings/channel-map-assignments/:nodeId': { need: 'settings:manage', node: true },
  'POST /api/v1/settings/channel-map-assignments/bulk': { need: 'settings:manage' },
  'GET /api/v1/settings/channel-map-assignments/:nodeId/history': { need: 'settings:read', node: true },
  // In scope: restores revision 1 when there is one, else a 400 (still allowed).
  'POST /api/v1/settings/channel-map-assignments/:nodeId/rollback': { need: 'settings:manage', node: true },
  'POST /api/v1/settings/channel-map-plans': { need: 'settings:manage' },
  'GET /api/v1/settings/channel-map-plans': { need: 'settings:read' },
  'GET /api/v1/settings/channel-map-plans/:id': { need: 'settings:read' },
  'GET /api/v1/settings/channel-map-plans/:id/actions': { need: 'settings:read' },
  'POST /api/v1/settings/channel-map-plans/:id/apply': { need: 'settings:manage' },
  'POST /api/v1/settings/channel-map-plans/:id/discard': { need: 'settings:manage' },
  'GET /api/v1/nodes/:id/channel-map-assignments': { need: 'agent' },
};

const TABLE: Record<string, Row> = {
  ...SETTINGS_ROWS,
  ...CHANNEL_MAP_ROWS,
  // Family commands: they use stored secrets, so they need settings:manage like a change.
  'POST /api/v1/settings/upload-providers/:id/test': { need: 'settings:manage', fleet: true },
  'GET /healthz': { need: 'public' },
  'GET /readyz': { need: 'public' },
  'GET /metrics': { need: 'metrics:read', fleet: true },
  'GET /openapi.json': { need: 'public' },
  'GET /openapi.yaml': { need: 'public' },
  'GET /mqtt': { need: 'public' },
  // The operator console's files: no data in them; the API it calls decides.
  'GET /': { need: 'public' },
  'GET /assets/*': { need: 'public' },
  'GET /*': { need: 'public' },
  'GET /api/v1/setup': { need: 'public' },
  'POST /api/v1/setup': { need: 'public' },
  'POST /api/v1/auth/login': { need: 'public' },
  'POST /api/v1/auth/logout': { need: 'authenticated' },
  'POST /api/v1/auth/refresh': { need: 'authenticated', always: 403 },
  'GET /api/v1/auth/me': { need: 'authenticated' },
  'PATCH /api/v1/auth/me/password': { need: 'authenticated' },
  'GET /api/v1/auth/api-tokens': { need: 'authenticated' },
  'POST /api/v1/auth/api-tokens': { need: 'authenticated' },
  'DELETE /api/v1/auth/api-tokens/:id': { need: 'authenticated' },
  'GET /api/v1/auth/users': { need: 'auth:manage' },
  'POST /api/v1/auth/users': { need: 'auth:manage' },
  'GET /api/v1/auth/users/:id': { need: 'auth:manage' },
  'GET /api/v1/auth/users/:id/actions': { need: 'auth:manage' },
  'PATCH /api/v1/auth/users/:id/access': { need: 'auth:manage' },
  'PATCH /api/v1/auth/users/:id/password': { need: 'auth:manage' },
  'PATCH /api/v1/auth/users/:id/status': { need: 'auth:manage' },
  'DELETE /api/v1/auth/users/:id': { need: 'auth:manage' },
  'GET /api/v1/auth/groups': { need: 'auth:manage' },
  'POST /api/v1/auth/groups': { need: 'auth:manage' },
  'GET /api/v1/auth/groups/:id/actions': { need: 'auth:manage' },
  'GET /api/v1/auth/groups/:id': { need: 'auth:manage' },
  'PATCH /api/v1/auth/groups/:id': { need: 'auth:manage' },
  'DELETE /api/v1/auth/groups/:id': { need: 'auth:manage' },
  'PUT /api/v1/auth/groups/:id/members/:userId': { need: 'auth:manage' },
  'DELETE /api/v1/auth/groups/:id/members/:userId': { need: 'auth:manage' },
  'GET /api/v1/auth/roles': { need: 'auth:manage' },
  'POST /api/v1/auth/roles': { need: 'auth:manage' },
  'PATCH /api/v1/auth/roles/:id': { need: 'auth:manage' },
  'DELETE /api/v1/auth/roles/:id': { need: 'auth:manage' },
  'GET /api/v1/auth/access-policies': { need: 'auth:manage', fleet: true },
  'PATCH /api/v1/auth/access-policies': { need: 'auth:manage', fleet: true },
  'GET /api/v1/auth/oidc/config': { need: 'public' },
  'GET /api/v1/auth/oidc/login': { need: 'public' },
  'GET /api/v1/auth/oidc/callback': { need: 'public' },
  'GET /api/v1/auth/oidc/discovery': { need: 'auth:manage', fleet: true },
  'GET /api/v1/audit-events': { need: 'audit:read' },
  'GET /api/v1/audit-events/facets': { need: 'audit:read' },
  'GET /api/v1/audit-events/export': { need: 'audit:read' },
  'POST /api/v1/audit-events/export': { need: 'audit:read' },
  'GET /api/v1/audit-events/verify': { need: 'audit:read', fleet: true },
  'GET /api/v1/audit-events/:id': { need: 'audit:read' },
  'GET /api/v1/nodes': { need: 'node:read' },
  'GET /api/v1/nodes/facets': { need: 'node:read' },
  'GET /api/v1/status': { need: 'node:read' },
  'GET /api/v1/health': { need: 'health:read' },
  'GET /api/v1/health/history': { need: 'health:read', fleet: true },
  'GET /api/v1/ops-events': { need: 'health:read', fleet: true },
  'POST /api/v1/demo/seed': { need: 'auth:manage', fleet: true },
  'POST /api/v1/demo/reset': { need: 'auth:manage', fleet: true },
  'GET /api/v1/nodes/:id': { need: 'node:read', node: true },
  'POST /api/v1/nodes/enroll': { need: 'node:manage' },
  'POST /api/v1/agent/enroll': { need: 'public' },
  'POST /api/v1/nodes/:id/credentials/rotate': { need: 'node:manage', node: true },
  'GET /api/v1/nodes/export': { need: 'node:read' },
  'POST /api/v1/nodes/export': { need: 'node:read' },
  'PATCH /api/v1/nodes/:id': { need: 'node:manage', node: true },
  'GET /api/v1/nodes/:id/interfaces': { need: 'node:read', node: true },
  'PATCH /api/v1/nodes/:id/interfaces/:iid': { need: 'node:manage', node: true },
  'PUT /api/v1/nodes/:id/interfaces': { need: 'agent' },
  'POST /api/v1/settings/watchdog-policies/:id/calibrate': { need: 'settings:manage', fleet: true },
  'GET /api/v1/nodes/:id/actions': { need: 'node:read', node: true },
  'GET /api/v1/nodes/:id/command-results': { need: 'node:read', node: true },
  'POST /api/v1/nodes/:id/lifecycle/:action': { need: 'node:manage', node: true },
  'GET /api/v1/nodes/:id/lifecycle-jobs': { need: 'node:read', node: true },
  'GET /api/v1/nodes/:id/lifecycle-jobs/:jobId': { need: 'node:read', node: true },
  'GET /api/v1/nodes/:id/lifecycle-jobs/:jobId/diagnostics': { need: 'node:manage', node: true },
  'POST /api/v1/nodes/:id/credential': { need: 'agent' },
  'PUT /api/v1/nodes/:id/lifecycle-jobs/:jobId/diagnostics': { need: 'agent' },
  // The first role allowed decommissions the in-scope node; later ones get 409 (still allowed).
  'POST /api/v1/nodes/:id/decommission': { need: 'node:manage', node: true },
  // Refused with 409 (recordings and a schedule keep the node): allowed, nothing is deleted.
  'DELETE /api/v1/nodes/:id': { need: 'node:manage', node: true },
  'GET /api/v1/nodes/:id/config': { need: 'agent' },
  'POST /api/v1/nodes/:id/heartbeat': { need: 'agent' },
  'POST /api/v1/recordings': { need: 'recording:create', node: true },
  'GET /api/v1/recordings': { need: 'recording:read' },
  'GET /api/v1/recordings/:id': { need: 'recording:read', node: true },
  'GET /api/v1/recordings/:id/context': { need: 'recording:read', node: true },
  'POST /api/v1/recordings/:id/stop': { need: 'recording:control', node: true },
  'GET /api/v1/recordings/facets': { need: 'recording:read' },
  'GET /api/v1/recordings/export': { need: 'recording:read' },
  'POST /api/v1/recordings/export': { need: 'recording:read' },
  'POST /api/v1/recordings/bulk-metadata': { need: 'recording:edit' },
  'POST /api/v1/recordings/bulk-delete': { need: 'recording:delete' },
  'GET /api/v1/recordings/:id/actions': { need: 'recording:read', node: true },
  // In scope the matrix's recording is not complete: 409 (still allowed).
  'GET /api/v1/recordings/:id/peaks': { need: 'recording:read', node: true },
  // In scope the matrix's recording is not complete: 409 (still allowed).
  'POST /api/v1/recordings/:id/download': { need: 'recording:download', node: true },
  'PATCH /api/v1/recordings/:id/metadata': { need: 'recording:edit', node: true },
  // In scope the matrix's recording is held: 409 (still allowed), nothing is deleted.
  'DELETE /api/v1/recordings/:id': { need: 'recording:delete', node: true },
  'GET /api/v1/recordings/:id/file': { need: 'recording:download', node: true },
  // In scope the matrix's recording is not complete yet: 409 (still allowed).
  'POST /api/v1/recordings/:id/playback': { need: 'recording:playback', node: true },
  // Its credential is the playback session's ticket (recording-playback.test.ts).
  'GET /api/v1/recordings/:id/stream': { need: 'public' },
  'GET /api/v1/upload-queue': { need: 'recording:read' },
  'GET /api/v1/upload-queue/facets': { need: 'recording:read' },
  'GET /api/v1/upload-queue/:id': { need: 'recording:read', node: true },
  'GET /api/v1/upload-queue/:id/actions': { need: 'recording:read', node: true },
  // In scope the matrix's copy is queued, not failed nor verified: 409 (still allowed).
  'POST /api/v1/upload-queue/:id/retry': { need: 'recording:control', node: true },
  'POST /api/v1/upload-queue/:id/verify': { need: 'recording:control', node: true },
  // The matrix's recording is not complete: 409, or 400 for the matrix's empty body (allowed).
  'POST /api/v1/recordings/:id/upload-queue': { need: 'recording:control', node: true },
  'POST /api/v1/recordings/bulk-upload-queue': { need: 'recording:control' },
  'GET /api/v1/upload-runner': { need: 'recording:read', fleet: true },
  'GET /api/v1/upload-runner/actions': { need: 'recording:read', fleet: true },
  'POST /api/v1/upload-runner/run': { need: 'recording:control', fleet: true },
  'GET /api/v1/retention': { need: 'recording:read', fleet: true },
  // The matrix sends an empty body: a run now, which removes nothing (no retention policy).
  'POST /api/v1/retention/run': { need: 'recording:delete', fleet: true },
  'POST /api/v1/nodes/:id/recording-jobs/claim-next': { need: 'agent' },
  'POST /api/v1/recording-jobs/:jid/heartbeat': { need: 'agent' },
  'POST /api/v1/recording-jobs/:jid/failed': { need: 'agent' },
  'POST /api/v1/recording-jobs/:jid/cancelled': { need: 'agent' },
  'GET /api/v1/recording-jobs/:jid': { need: 'recording:read', node: true },
  'GET /api/v1/recording-jobs': { need: 'recording:read' },
  'GET /api/v1/recording-jobs/facets': { need: 'recording:read' },
  'GET /api/v1/recording-jobs/export': { need: 'recording:read' },
  'POST /api/v1/recording-jobs/export': { need: 'recording:read' },
  'GET /api/v1/recording-jobs/:jid/actions': { need: 'recording:read', node: true },
  // The in-scope job is queued: a retry is refused with 409 (still allowed).
  'POST /api/v1/recording-jobs/:jid/retry': { need: 'recording:control', node: true },
  // An empty body: a 400 once allowed (per-item scope is checked in recording-job-control.test.ts).
  'POST /api/v1/recording-jobs/bulk-retry': { need: 'recording:control' },
  'POST /api/v1/recording-jobs/bulk-stop': { need: 'recording:control' },
  'POST /api/v1/nodes/:id/occurrences/sync': { need: 'agent' },
  'PUT /api/v1/recording-jobs/:jid/parts/:rid': { need: 'agent' },
  'GET /api/v1/schedules': { need: 'schedule:read' },
  'GET /api/v1/schedules/facets': { need: 'schedule:read' },
  'GET /api/v1/schedules/export': { need: 'schedule:read' },
  'POST /api/v1/schedules/export': { need: 'schedule:read' },
  'GET /api/v1/schedules/:id': { need: 'schedule:read', node: true },
  'GET /api/v1/schedules/:id/actions': { need: 'schedule:read', node: true },
  'GET /api/v1/schedules/:id/occurrences': { need: 'schedule:read', node: true },
  'POST /api/v1/schedules': { need: 'schedule:manage' },
  'PATCH /api/v1/schedules/:id': { need: 'schedule:manage', node: true },
  // Not `node`: the first role allowed would delete the schedule the others are checked on.
  'DELETE /api/v1/schedules/:id': { need: 'schedule:manage' },
  'POST /api/v1/schedules/:id/run-now': { need: 'schedule:manage', node: true },
  'POST /api/v1/schedules/:id/skip-next': { need: 'schedule:manage', node: true },
  'POST /api/v1/schedules/:id/pause': { need: 'schedule:manage', node: true },
  'POST /api/v1/schedules/:id/resume': { need: 'schedule:manage', node: true },
  'POST /api/v1/schedules/:id/unskip': { need: 'schedule:manage', node: true },
  'GET /api/v1/health-events': { need: 'health:read' },
  'GET /api/v1/health-events/facets': { need: 'health:read' },
  'GET /api/v1/health-events/export': { need: 'health:read' },
  'POST /api/v1/health-events/export': { need: 'health:read' },
  'GET /api/v1/health-events/:id': { need: 'health:read', node: true },
  'GET /api/v1/health-events/:id/actions': { need: 'health:read', node: true },
  // A body naming no node: a 400 once allowed (the manual event is checked in health-events.test.ts).
  'POST /api/v1/health-events': { need: 'health:acknowledge' },
  'POST /api/v1/health-events/bulk-lifecycle': { need: 'health:acknowledge' },
  // The first role allowed changes the event; later ones may get 409 (still allowed).
  'POST /api/v1/health-events/:id/acknowledge': { need: 'health:acknowledge', node: true },
  'POST /api/v1/health-events/:id/suppress': { need: 'health:acknowledge', node: true },
  'POST /api/v1/health-events/:id/resolve': { need: 'health:acknowledge', node: true },
  'POST /api/v1/health-events/:id/reopen': { need: 'health:acknowledge', node: true },
  'POST /api/v1/nodes/:id/health-events': { need: 'agent' },
  'GET /api/v1/recordings/:id/cache-file': { need: 'agent' },
  'PUT /api/v1/recordings/:id/cache-file': { need: 'agent' },
  'GET /api/v1/nodes/:id/meters': { need: 'node:read', node: true },
  'GET /api/v1/meter-events': { need: 'node:read', stream: true },
  'POST /api/v1/nodes/:id/meter-frame': { need: 'agent' },
  // Live events: any user; each event is filtered by its kind's read permission and scope (live-events.test.ts).
  'GET /api/v1/events': { need: 'authenticated', stream: true },
  'POST /api/v1/events/tickets': { need: 'authenticated' },
  'GET /api/v1/events/stream': { need: 'public' },
  'POST /api/v1/nodes/:id/listen': { need: 'listen:monitor', node: true },
  'GET /api/v1/nodes/:id/listen': { need: 'listen:monitor', node: true },
  'POST /api/v1/recordings/:id/agent-copy/removed': { need: 'agent' },
  // Only the session's own user ends it: an unknown session is a 404 for everyone allowed.
  'DELETE /api/v1/nodes/:id/listen/:sid': { need: 'listen:monitor' },
  'GET /api/v1/nodes/:id/listen/stream': { need: 'public' },
  'POST /api/v1/nodes/:id/listen/chunk': { need: 'agent' },
  'GET /api/v1/admin/limits/profiles': { need: 'settings:read', fleet: true },
  'POST /api/v1/admin/limits/profiles': { need: 'settings:manage', fleet: true },
  'PUT /api/v1/admin/limits/profiles/:id': { need: 'settings:manage', fleet: true },
  'DELETE /api/v1/admin/limits/profiles/:id': { need: 'settings:manage', fleet: true },
  'GET /api/v1/admin/limits/assignments': { need: 'settings:read', fleet: true },
  'POST /api/v1/admin/limits/assignments': { need: 'settings:manage', fleet: true },
  'DELETE /api/v1/admin/limits/assignments/:id': { need: 'settings:manage', fleet: true },
  'POST /api/v1/guilds': { need: 'attendance:manage', guild: true },
  'GET /api/v1/guilds': { need: 'attendance:read' },
  'GET /api/v1/guilds/:guildId': { need: 'attendance:read', guild: true },
  'PATCH /api/v1/guilds/:guildId': { need: 'attendance:manage', guild: true },
  // Notification integrations: fleet-wide objects (an integration hears about every node it routes).
  'GET /api/v1/integrations': { need: 'integrations:manage', fleet: true },
  'POST /api/v1/integrations': { need: 'integrations:manage', fleet: true },
  'GET /api/v1/integrations/:id': { need: 'integrations:manage', fleet: true },
  'GET /api/v1/integrations/:id/actions': { need: 'integrations:manage', fleet: true },
  'PATCH /api/v1/integrations/:id': { need: 'integrations:manage', fleet: true },
  'DELETE /api/v1/integrations/:id': { need: 'integrations:manage', fleet: true },
  'POST /api/v1/integrations/:id/verify': { need: 'integrations:manage', fleet: true },
  'POST /api/v1/integrations/:id/enable': { need: 'integrations:manage', fleet: true },
  'POST /api/v1/integrations/:id/disable': { need: 'integrations:manage', fleet: true },
  'POST /api/v1/integrations/:id/rotate-secret': { need: 'integrations:manage', fleet: true },
  'GET /api/v1/integrations/:id/deliveries': { need: 'integrations:manage', fleet: true },
  'GET /api/v1/guilds/:guildId/overview': { need: 'attendance:read', guild: true },
  'GET /api/v1/guilds/:guildId/leaderboard': { need: 'attendance:read', guild: true },
  'GET /api/v1/guilds/:guildId/stats': { need: 'attendance:read', guild: true },
  'GET /api/v1/guilds/:guildId/channel-stats': { need: 'attendance:read', guild: true },
  'GET /api/v1/guilds/:guildId/analytics/heatmap': { need: 'attendance:read', guild: true },
  'GET /api/v1/guilds/:guildId/analytics/live-occupancy': { need: 'attendance:read', guild: true },
  'PATCH /api/v1/guilds/:guildId/reset-interval': { need: 'attendance:manage', guild: true },
  'POST /api/v1/guilds/:guildId/reset-now': { need: 'attendance:manage', guild: true },
  'GET /api/v1/guilds/:guildId/signing/history': { need: 'attendance:read', guild: true },
  'GET /api/v1/guilds/:guildId/export/period/:periodIndex': { need: 'attendance:read', guild: true },
  'POST /api/v1/guilds/:guildId/signing/generate-keys': { need: 'attendance:manage', guild: true },
  'POST /api/v1/guilds/:guildId/signing/unlock': { need: 'attendance:manage', guild: true },
  'GET /api/v1/guilds/:guildId/signing/status': { need: 'attendance:read', guild: true },
  'GET /api/v1/guilds/:guildId/signing/public-key': { need: 'attendance:read', guild: true },
  'POST /api/v1/guilds/:guildId/signing/verify-session': { need: 'attendance:read', guild: true },
  'POST /api/v1/guilds/:guildId/signing/verify-period': { need: 'attendance:read', guild: true },
  'PATCH /api/v1/guilds/:guildId/tracking-mode': { need: 'attendance:manage', guild: true },
  'GET /api/v1/guilds/:guildId/tracked-channels': { need: 'attendance:read', guild: true },
  'POST /api/v1/guilds/:guildId/tracked-channels': { need: 'attendance:manage', guild: true },
  'DELETE /api/v1/guilds/:guildId/tracked-channels/:channelId': { need: 'attendance:manage', guild: true },
  'GET /api/v1/guilds/:guildId/fairness': { need: 'attendance:read', guild: true },
  'PATCH /api/v1/guilds/:guildId/fairness': { need: 'attendance:manage', guild: true },
  'GET /api/v1/guilds/:guildId/channels': { need: 'attendance:read', guild: true },
  'GET /api/v1/guilds/:guildId/bot-present': { need: 'attendance:read', guild: true },
  'GET /api/v1/guilds/:guildId/members': { need: 'attendance:read', guild: true },
  'GET /api/v1/guilds/:guildId/subscription': { need: 'attendance:read', guild: true },
  'PATCH /api/v1/guilds/:guildId/subscription': { need: 'settings:manage', guild: true, fleet: true },
  'GET /api/v1/guilds/:guildId/log-destinations': { need: 'attendance:read', guild: true },
  'POST /api/v1/guilds/:guildId/log-destinations': { need: 'attendance:manage', guild: true },
  'DELETE /api/v1/guilds/:guildId/log-destinations/:destinationId': {
    need: 'attendance:manage',
    guild: true,
  },
  'PATCH /api/v1/guilds/:guildId/log-destinations/:destinationId/types': {
    need: 'attendance:manage',
    guild: true,
  },
  'PATCH /api/v1/guilds/:guildId/log-destinations/:destinationId/frequency': {
    need: 'attendance:manage',
    guild: true,
  },
  'GET /api/v1/guilds/:guildId/verified-roles': { need: 'attendance:read', guild: true },
  'POST /api/v1/guilds/:guildId/verified-roles': { need: 'attendance:manage', guild: true },
  'DELETE /api/v1/guilds/:guildId/verified-roles/:ruleId': { need: 'attendance:manage', guild: true },
  'GET /api/v1/guilds/:guildId/webhooks/settings': { need: 'attendance:read', guild: true },
  'PATCH /api/v1/guilds/:guildId/webhooks/settings': { need: 'attendance:manage', guild: true },
  'GET /api/v1/guilds/:guildId/webhooks/deliveries': { need: 'attendance:read', guild: true },
  'GET /api/v1/verify/session/:sessionId': { need: 'public' },
  'GET /api/v1/verify/period/:guildId/:periodIndex': { need: 'public' },
  'POST /api/v1/webhooks/attendance': { need: 'public' },
};

/** The guild the attendance rows act on (outside every site-scoped role's scope). */
const MATRIX_GUILD = '100000000000000001';

const ROLES = Object.keys(BUILT_IN_ROLES) as BuiltInRoleName[];

interface Target {
  nodeId: string;
  recordingId: string;
  jobId: string;
  scheduleId: string;
  /** An audio interface the node's agent reported. */
  interfaceId: string;
  /** A health event the node's agent reported. */
  healthEventId: string;
  /** A collect-diagnostics lifecycle job of the node, with its diagnostics. */
  lifecycleJobId: string;
  /** A copy of the recording queued for an upload provider. */
  uploadItemId: string;
}

describe('RBAC matrix', () => {
  let ctl: TestController;
  const tokens = new Map<BuiltInRoleName, string>();
  let inScope: Target;
  let outOfScope: Target;
  let spareUserId: string;

  async function target(nodeId: string, site: string, owner: string): Promise<Target> {
    const node = await enrolledNode(ctl, { id: nodeId, site });
    await ctl.app.inject({
      method: 'PUT',
      url: `/api/v1/nodes/${nodeId}/interfaces`,
      headers: bearer(node.credential),
      payload: {
        interfaces: [{ ref: 'mic', kind: 'pulse', description: 'mic', channels: 2, sampleRate: null }],
      },
    });
    const interfaceId = (await ctl.db.nodeInterface.findFirstOrThrow({ where: { nodeId } })).id;
    const healthEventId = `health-${nodeId}`;
    const now = new Date().toISOString();
    await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${nodeId}/health-events`,
      headers: bearer(node.credential),
      payload: {
        ...{ id: healthEventId, type: 'silence', severity: 'warning', state: 'open', message: 'quiet' },
        ...{ firstSeenAt: now, lastSeenAt: now, count: 1 },
      },
    });
    const recording = await createRecording(ctl, owner, nodeId, { durationSeconds: 5 });
    // Held, so a DELETE allowed in scope is refused (409) after a role's stop ended it.
    await ctl.db.recording.update({ where: { id: recording.id }, data: { legalHold: true } });
    const schedule = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/schedules',
      headers: bearer(owner),
      payload: {
        name: `matrix ${nodeId}`,
        recurrence: 'RRULE:FREQ=DAILY',
        timeZone: 'UTC',
        start: '2030-01-01T09:00',
        durationSeconds: 60,
        targets: [{ nodeId }],
      },
    });
    const scheduleId = schedule.json().data.id as string;
    const lifecycleJobId = `lc-matrix-${nodeId}`;
    await ctl.db.nodeLifecycleJob.create({
      data: {
        id: lifecycleJobId,
        nodeId,
        action: 'collect-diagnostics',
        state: 'succeeded',
        requestedBy: 'matrix',
        diagnostics: '{}',
        expiresAt: new Date(Date.now() + 3600_000),
      },
    });
    const uploadItem = await ctl.db.uploadQueueItem.create({
      data: {
        recordingId: recording.id,
        providerId: '00000000-0000-4000-8000-0000000000aa',
        state: 'queued',
        maxAttempts: 1,
        nextAttemptAt: new Date(Date.now() + 3600_000),
        objectKey: `recordings/${nodeId}/${recording.id}.wav`,
        sizeBytes: 0n,
        sha256: '0'.repeat(64),
      },
    });
    return {
      nodeId,
      uploadItemId: uploadItem.id,
      recordingId: recording.id,
      jobId: recording.job.id,
      scheduleId,
      interfaceId,
      healthEventId,
      lifecycleJobId,
    };
  }

  beforeAll(async () => {
    ctl = await testController();
    const owner = await ctl.ownerToken();
    inScope = await target('east-1', 'east', owner);
    outOfScope = await target('west-1', 'west', owner);
    const east = await ctl.db.site.findUniqueOrThrow({ where: { name: 'east' } });
    for (const role of ROLES) {
      // Each role granted over the east site only; API tokens so logout cannot end the run.
      const session = await userWithRole(ctl, `matrix-${role}`, role, { type: 'site', id: east.id });
      const created = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/auth/api-tokens',
        headers: bearer(session),
        payload: { name: 'matrix' },
      });
      tokens.set(role, created.json().data.token);
    }
    await ctl.services.attendance.onGuildAvailable(MATRIX_GUILD, 'matrix guild', [], null);
    spareUserId = (await ctl.db.user.findFirstOrThrow({ where: { username: 'matrix-viewer' } })).id;
  });
  afterAll(async () => ctl.stop());

  it('has a row for every route, and no row for a route that is gone', () => {
    const routes = ctl.routes.map((r) => `${r.method} ${r.url}`);
    expect(
      routes.filter((r) => !(r in TABLE)),
      'add a row to TABLE in test/integration/rbac-matrix.test.ts',
    ).toEqual([]);
    expect(Object.keys(TABLE).filter((k) => !routes.includes(k))).toEqual([]);
  });

  it('the table agrees with what each route declares', () => {
    for (const route of ctl.routes) {
      const row = TABLE[`${route.method} ${route.url}`]!;
      const declared = route.access.public ? 'public' : (route.access.user ?? 'agent');
      expect(declared, `${route.method} ${route.url}`).toBe(row.need);
      expect(route.access.scope === 'fleet', `${route.method} ${route.url} fleet-wide`).toBe(
        row.fleet === true,
      );
    }
  });

  function request(method: string, url: string, t: Target) {
    const path = url
      .replace(':jid', t.jobId)
      .replace(':userId', spareUserId)
      .replace(':guildId', MATRIX_GUILD)
      .replace(':periodIndex', '0')
      .replace(':channelId', '200000000000000001')
      .replace(':destinationId', '00000000-0000-4000-8000-000000000001')
      .replace(':ruleId', '00000000-0000-4000-8000-000000000002')
      .replace(':iid', t.interfaceId)
      .replace(':jobId', t.lifecycleJobId)
      .replace(':action', 'upload-now')
      .replace(':sid', 'ls_matrix')
      .replace(':nodeId', t.nodeId)
      .replace(/\/(recordings)\/:id/, `/$1/${t.recordingId}`)
      // DELETE gets an unknown schedule: deleting the real one would leave nothing to check the rest on.
      .replace(
        /\/(schedules)\/:id/,
        `/$1/${method === 'DELETE' ? '00000000-0000-4000-8000-00000000dead' : t.scheduleId}`,
      )
      .replace(/\/(health-events)\/:id/, `/$1/${t.healthEventId}`)
      .replace(/\/(upload-queue)\/:id/, `/$1/${t.uploadItemId}`)
      .replace(/\/(nodes)\/:id/, `/$1/${t.nodeId}`)
      .replace(':id', 'not-a-real-id');
    const body =
      method === 'POST' && url === '/api/v1/recordings'
        ? { nodeId: t.nodeId, durationSeconds: 5 }
        : url === '/api/v1/schedules/:id' && method === 'PATCH'
          ? { name: 'renamed by the matrix' }
          : url === '/api/v1/recordings/:id/upload-queue'
            ? { providerId: '00000000-0000-4000-8000-0000000000aa' }
            : (url === '/api/v1/nodes/:id' && method === 'PATCH') || url === '/api/v1/recordings/:id/metadata'
              ? { notes: 'noted by the matrix' }
              : url === '/api/v1/nodes/:id/interfaces/:iid'
                ? { alias: 'matrix' }
                : url.endsWith('/suppress')
                  ? { until: new Date(Date.now() + 3600_000).toISOString() }
                  : url.endsWith('/unskip')
                    ? { occurrenceStart: '2030-01-02T09:00:00Z' }
                    : url.startsWith('/api/v1/settings/channel-map-assignments/:nodeId')
                      ? method === 'PUT'
                        ? { templateId: null }
                        : { revision: 1 }
                      : method === 'GET' || method === 'DELETE'
                        ? undefined
                        : {};
    return { method: method as 'GET', url: path, ...(body === undefined ? {} : { payload: body }) };
  }

  for (const role of ROLES) {
    it(`${role}: 403 without the permission, 404 outside its scope, allowed inside`, async () => {
      const held = new Set<string>(BUILT_IN_ROLES[role]);
      const failures: string[] = [];
      for (const route of ctl.routes) {
        const key = `${route.method} ${route.url}`;
        const row = TABLE[key]!;
        if (row.need === 'public') continue;
        const allowed = row.need === 'authenticated' || held.has(row.need);
        const cases: [string, Target, number | 'allowed'][] = [];
        if (row.always) cases.push(['any', inScope, row.always]);
        else if (!allowed || row.fleet) cases.push(['any', inScope, 403]);
        else if (row.stream) continue;
        else if (row.guild) cases.push(['guild', inScope, 'allowed']);
        else if (row.node) cases.push(['in scope', inScope, 'allowed'], ['out of scope', outOfScope, 404]);
        else cases.push(['unscoped', inScope, 'allowed']);
        for (const [label, t, expected] of cases) {
          const response = await ctl.app.inject({
            ...request(route.method, route.url, t),
            headers: bearer(tokens.get(role)!),
          });
          const ok =
            expected === 'allowed'
              ? ![401, 403].includes(response.statusCode) && !(row.node && response.statusCode === 404)
              : response.statusCode === expected;
          if (!ok)
            failures.push(
              `${key} (${label}): expected ${expected}, got ${response.statusCode} ${response.body.slice(0, 160)}`,
            );
        }
      }
      expect(failures).toEqual([]);
    });
  }
});
