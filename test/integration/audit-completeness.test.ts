/**
 * Every mutating route writes an audit event, checked route by route. The table
 * below has one row per mutating route: how to call it successfully and which
 * action it must audit. A new mutating route without a row fails this suite.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeListenFrame } from '../../shared/src/listen.js';
import { guildApi } from '../support/api.js';
import { uncataloguedEvents } from '../support/audit-catalog.js';
import {
  bearer,
  enrolledNode,
  OWNER,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { claimNext, createRecording, sha256, uploadHeaders, wavBytes } from '../support/recordings.js';
import { SETTINGS_FAMILY_NAMES } from '../support/settings-families.js';
import { voiceState } from '../support/voice.js';

interface Env {
  ctl: TestController;
  owner: string;
  node: { nodeId: string; credential: string };
  /** A job claimed by `node`, fresh for each row that needs one. */
  claimedJob: () => Promise<{ recordingId: string; jobId: string; epoch: number }>;
}

type Row = { action: RegExp; call: (env: Env) => Promise<InjectOptions> };

let userSeq = 0;
/** A fresh user (viewer over the fleet) created through the API, for the access rows. */
async function newUser({ ctl, owner }: Env): Promise<string> {
  const created = await ctl.app.inject({
    method: 'POST',
    url: '/api/v1/auth/users',
    headers: bearer(owner),
    payload: {
      username: `row-user-${++userSeq}`,
      password: 'a perfectly long password',
      grants: [{ role: 'viewer', scope: { type: 'fleet' } }],
    },
  });
  return created.json().data.id;
}
/** A daily schedule on the env's node, first occurring within the hour. */
async function newSchedule({ ctl, owner, node }: Env, action?: 'skip-next' | 'pause'): Promise<string> {
  const start = new Date(Date.now() + 3600_000).toISOString().slice(0, 16);
  const created = await ctl.app.inject({
    method: 'POST',
    url: '/api/v1/schedules',
    headers: bearer(owner),
    payload: {
      name: `row-schedule-${++userSeq}`,
      recurrence: 'RRULE:FREQ=DAILY',
      timeZone: 'UTC',
      start,
      durationSeconds: 60,
      targets: [{ nodeId: node.nodeId }],
    },
  });
  const id = created.json().data.id as string;
  if (action)
    await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/schedules/${id}/${action}`,
      headers: bearer(owner),
    });
  return id;
}
/** A recording its agent claimed and uploaded: complete, with its file. */
async function completedRecordingId({ ctl, node, claimedJob }: Env): Promise<string> {
  const { recordingId, epoch } = await claimedJob();
  const bytes = wavBytes(4800);
  await ctl.app.inject({
    method: 'PUT',
    url: `/api/v1/recordings/${recordingId}/cache-file`,
    headers: uploadHeaders(node.credential, epoch, sha256(bytes), bytes.length),
    payload: bytes,
  });
  return recordingId;
}
let providerSeq = 0;
/** An upload provider (a directory under the controller's data dir), created through the API. */
async function uploadProvider({ ctl, owner }: Env): Promise<string> {
  const root = join(ctl.config.dataDir, `copies-${++providerSeq}`);
  await mkdir(root, { recursive: true });
  const created = await ctl.app.inject({
    method: 'POST',
    url: '/api/v1/settings/upload-providers',
    headers: bearer(owner),
    payload: { name: `row provider ${providerSeq}`, body: { kind: 'filesystem', root } },
  });
  return created.json().data.id;
}
/** A recording copied to a provider and verified there (the runner's pass). */
async function verifiedCopy(env: Env): Promise<string> {
  const recordingId = await completedRecordingId(env);
  const queued = await env.ctl.app.inject({
    method: 'POST',
    url: `/api/v1/recordings/${recordingId}/upload-queue`,
    headers: bearer(env.owner),
    payload: { providerId: await uploadProvider(env) },
  });
  await env.ctl.services.uploadRunner.run();
  return queued.json().data.id;
}
/** A copy whose last attempt failed. */
async function failedCopy(env: Env): Promise<string> {
  const id = await verifiedCopy(env);
  await env.ctl.db.uploadQueueItem.update({ where: { id }, data: { state: 'failed', lastError: 'gave up' } });
  return id;
}
/** A job its agent claimed and reported failed before any audio: one a retry may queue again. */
async function failedJob({ ctl, node, claimedJob }: Env): Promise<string> {
  const { jobId, epoch } = await claimedJob();
  await ctl.app.inject({
    method: 'POST',
    url: `/api/v1/recording-jobs/${jobId}/failed`,
    headers: bearer(node.credential),
    payload: { epoch, reason: 'device busy' },
  });
  return jobId;
}
/** The node's agent reports one (new) device: the others it reported before go absent. */
function reportInterface(node: Env['node'], ref: string): InjectOptions {
  return {
    method: 'PUT',
    url: `/api/v1/nodes/${node.nodeId}/interfaces`,
    headers: bearer(node.credential),
    payload: { interfaces: [{ ref, kind: 'alsa', description: ref, channels: 2, sampleRate: null }] },
  };
}
async function newGroup({ ctl, owner }: Env): Promise<string> {
  const created = await ctl.app.inject({
    method: 'POST',
    url: '/api/v1/auth/groups',
    headers: bearer(owner),
    payload: { name: `row-group-${++userSeq}` },
  });
  return created.json().data.id;
}
async function newRole({ ctl, owner }: Env): Promise<string> {
  const created = await ctl.app.inject({
    method: 'POST',
    url: '/api/v1/auth/roles',
    headers: bearer(owner),
    payload: { name: `row-role-${++userSeq}`, permissions: ['node:read'] },
  });
  return created.json().data.id;
}

const WEBHOOK_SECRET = 'audit-webhook-secret-0123456789';
const PASSPHRASE = 'a long enough passphrase';
let guildSeq = 0;
/** A fresh guild, as the Discord bot would register it; optionally with a member in voice. */
async function newGuild({ ctl }: Env, withMember = false): Promise<string> {
  const guildId = `3000000000000${String(++guildSeq).padStart(5, '0')}`;
  const member = voiceState('400000000000000001', '500000000000000001');
  await ctl.services.attendance.onGuildAvailable(guildId, 'audit guild', withMember ? [member] : [], null);
  return guildId;
}
function guildCall(method: 'POST' | 'PATCH' | 'DELETE', path: string, payload?: object) {
  return async (env: Env): Promise<InjectOptions> => ({
    method,
    url: `/api/v1/guilds/${await newGuild(env)}${path}`,
    headers: bearer(env.owner),
    ...(payload ? { payload } : {}),
  });
}

/** A fresh guild with one log destination, or on the Pro plan with one verified role rule. */
async function guildWith(env: Env, what: 'destination' | 'rule'): Promise<{ guildId: string; id: string }> {
  const guildId = await newGuild(env);
  const call = guildApi(
    () => env.ctl.app,
    () => env.owner,
    guildId,
  );
  if (what === 'destination')
    return {
      guildId,
      id: (await call('POST', '/log-destinations', { channel_id: '500000000000000007' })).json().data.id,
    };
  await call('PATCH', '/subscription', { tier: 'pro' });
  const rule = await call('POST', '/verified-roles', {
    role_id: '600000000000000001',
    threshold_seconds: 600,
  });
  return { guildId, id: rule.json().data.id };
}
function destinationCall(method: 'PATCH' | 'DELETE', suffix: string, payload?: object) {
  return async (env: Env): Promise<InjectOptions> => {
    const { guildId, id } = await guildWith(env, 'destination');
    return {
      method,
      url: `/api/v1/guilds/${guildId}/log-destinations/${id}${suffix}`,
      headers: bearer(env.owner),
      ...(payload ? { payload } : {}),
    };
  };
}

const TABLE: Record<string, Row> = {
  ...settingsRows(),
  ...channelMapRows(),
  ...healthRows(),
  ...integrationRows(),
  'POST /api/v1/guilds': {
    action: /^attendance\.guild\.create$/,
    call: async ({ owner }) => ({
      method: 'POST',
      url: '/api/v1/guilds',
      headers: bearer(owner),
      payload: { id: '390000000000000001', name: 'registered through the API' },
    }),
  },
  'PATCH /api/v1/guilds/:guildId': {
    action: /^attendance\.guild\.update$/,
    call: guildCall('PATCH', '', { name: 'renamed through the API', time_zone: 'Europe/Berlin' }),
  },
  'PATCH /api/v1/guilds/:guildId/reset-interval': {
    action: /^attendance\.reset_schedule\.update$/,
    call: guildCall('PATCH', '/reset-interval', { kind: 'calendar', unit: 'day', timeZone: 'Europe/Berlin' }),
  },
  'POST /api/v1/guilds/:guildId/reset-now': {
    action: /^attendance\.period\.reset$/,
    call: guildCall('POST', '/reset-now'),
  },
  'POST /api/v1/guilds/:guildId/signing/generate-keys': {
    action: /^attendance\.signing\.generate_key$/,
    call: guildCall('POST', '/signing/generate-keys', { passphrase: PASSPHRASE }),
  },
  'POST /api/v1/guilds/:guildId/signing/unlock': {
    action: /^attendance\.signing\.unlock$/,
    call: async (env) => {
      const guildId = await newGuild(env);
      await env.ctl.app.inject({
        method: 'POST',
        url: `/api/v1/guilds/${guildId}/signing/generate-keys`,
        headers: bearer(env.owner),
        payload: { passphrase: PASSPHRASE },
      });
      return {
        method: 'POST',
        url: `/api/v1/guilds/${guildId}/signing/unlock`,
        headers: bearer(env.owner),
        payload: { passphrase: PASSPHRASE },
      };
    },
  },
  'POST /api/v1/guilds/:guildId/signing/verify-session': {
    action: /^attendance\.signing\.verify_session$/,
    call: async (env) => {
      const guildId = await newGuild(env, true);
      await env.ctl.app.inject({
        method: 'POST',
        url: `/api/v1/guilds/${guildId}/reset-now`,
        headers: bearer(env.owner),
      });
      const session = await env.ctl.db.voiceSession.findFirstOrThrow({ where: { guildId } });
      return {
        method: 'POST',
        url: `/api/v1/guilds/${guildId}/signing/verify-session`,
        headers: bearer(env.owner),
        payload: { session_id: session.id },
      };
    },
  },
  'POST /api/v1/guilds/:guildId/signing/verify-period': {
    action: /^attendance\.signing\.verify_period$/,
    call: async (env) => {
      const guildId = await newGuild(env);
      await env.ctl.app.inject({
        method: 'POST',
        url: `/api/v1/guilds/${guildId}/reset-now`,
        headers: bearer(env.owner),
      });
      return {
        method: 'POST',
        url: `/api/v1/guilds/${guildId}/signing/verify-period`,
        headers: bearer(env.owner),
        payload: { period_index: 0 },
      };
    },
  },
  'PATCH /api/v1/guilds/:guildId/tracking-mode': {
    action: /^attendance\.tracking_mode\.update$/,
    call: guildCall('PATCH', '/tracking-mode', { mode: 'allowlist' }),
  },
  'POST /api/v1/guilds/:guildId/tracked-channels': {
    action: /^attendance\.tracked_channel\.add$/,
    call: guildCall('POST', '/tracked-channels', { channel_id: '500000000000000002' }),
  },
  'DELETE /api/v1/guilds/:guildId/tracked-channels/:channelId': {
    action: /^attendance\.tracked_channel\.remove$/,
    call: async (env) => {
      const guildId = await newGuild(env);
      await env.ctl.app.inject({
        method: 'POST',
        url: `/api/v1/guilds/${guildId}/tracked-channels`,
        headers: bearer(env.owner),
        payload: { channel_id: '500000000000000003' },
      });
      return {
        method: 'DELETE',
        url: `/api/v1/guilds/${guildId}/tracked-channels/500000000000000003`,
        headers: bearer(env.owner),
      };
    },
  },
  'PATCH /api/v1/guilds/:guildId/fairness': {
    action: /^attendance\.fairness\.update$/,
    call: guildCall('PATCH', '/fairness', { pause_on_mute: true, min_session_seconds: 30 }),
  },
  'PATCH /api/v1/guilds/:guildId/subscription': {
    action: /^attendance\.subscription\.update$/,
    call: guildCall('PATCH', '/subscription', { tier: 'pro' }),
  },
  'POST /api/v1/guilds/:guildId/log-destinations': {
    action: /^attendance\.log_destination\.create$/,
    call: guildCall('POST', '/log-destinations', {
      channel_id: '500000000000000008',
      log_types: ['sessions'],
    }),
  },
  'DELETE /api/v1/guilds/:guildId/log-destinations/:destinationId': {
    action: /^attendance\.log_destination\.delete$/,
    call: destinationCall('DELETE', ''),
  },
  'PATCH /api/v1/guilds/:guildId/log-destinations/:destinationId/types': {
    action: /^attendance\.log_destination\.types\.update$/,
    call: destinationCall('PATCH', '/types', { log_type: 'summary', enabled: false }),
  },
  'PATCH /api/v1/guilds/:guildId/log-destinations/:destinationId/frequency': {
    action: /^attendance\.log_destination\.frequency\.update$/,
    call: destinationCall('PATCH', '/frequency', { frequency: 'daily' }),
  },
  'POST /api/v1/guilds/:guildId/verified-roles': {
    action: /^attendance\.verified_role\.create$/,
    call: async (env) => {
      const guildId = await newGuild(env);
      await env.ctl.app.inject({
        method: 'PATCH',
        url: `/api/v1/guilds/${guildId}/subscription`,
        headers: bearer(env.owner),
        payload: { tier: 'pro' },
      });
      return {
        method: 'POST',
        url: `/api/v1/guilds/${guildId}/verified-roles`,
        headers: bearer(env.owner),
        payload: { role_id: '600000000000000002', threshold_seconds: 3600 },
      };
    },
  },
  'DELETE /api/v1/guilds/:guildId/verified-roles/:ruleId': {
    action: /^attendance\.verified_role\.delete$/,
    call: async (env) => {
      const { guildId, id } = await guildWith(env, 'rule');
      return {
        method: 'DELETE',
        url: `/api/v1/guilds/${guildId}/verified-roles/${id}`,
        headers: bearer(env.owner),
      };
    },
  },
  'PATCH /api/v1/guilds/:guildId/webhooks/settings': {
    action: /^attendance\.webhook_settings\.update$/,
    call: async (env) => {
      const guildId = await newGuild(env);
      await env.ctl.app.inject({
        method: 'PATCH',
        url: `/api/v1/guilds/${guildId}/subscription`,
        headers: bearer(env.owner),
        payload: { tier: 'pro' },
      });
      return {
        method: 'PATCH',
        url: `/api/v1/guilds/${guildId}/webhooks/settings`,
        headers: bearer(env.owner),
        // Nothing listens there: the PATCH only stores it (delivery is never synchronous).
        payload: { url: 'https://hooks.example.invalid/earshot', events: ['session.completed'] },
      };
    },
  },
  'POST /api/v1/webhooks/attendance': {
    action: /^attendance\.webhook\.voice_state_receive$/,
    call: async (env) => ({
      method: 'POST',
      url: '/api/v1/webhooks/attendance',
      headers: { 'x-webhook-secret': WEBHOOK_SECRET },
      payload: {
        guild_id: await newGuild(env),
        user_id: '400000000000000009',
        channel_id: '500000000000000009',
      },
    }),
  },
  'POST /api/v1/setup': {
    action: /^setup\.owner_create$/,
    call: async () => ({ method: 'POST', url: '/api/v1/setup', payload: OWNER }),
  },
  'POST /api/v1/auth/login': {
    action: /^auth\.login$/,
    call: async () => ({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER }),
  },
  'POST /api/v1/auth/logout': {
    action: /^auth\.logout$/,
    call: async ({ ctl }) => {
      const login = await ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER });
      return { method: 'POST', url: '/api/v1/auth/logout', headers: bearer(login.json().data.token) };
    },
  },
  'POST /api/v1/auth/api-tokens': {
    action: /^auth\.api_token\.create$/,
    call: async ({ owner }) => ({
      method: 'POST',
      url: '/api/v1/auth/api-tokens',
      headers: bearer(owner),
      payload: { name: 'row' },
    }),
  },
  'DELETE /api/v1/auth/api-tokens/:id': {
    action: /^auth\.api_token\.revoke$/,
    call: async ({ ctl, owner }) => {
      const created = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/auth/api-tokens',
        headers: bearer(owner),
        payload: { name: 'gone' },
      });
      return {
        method: 'DELETE',
        url: `/api/v1/auth/api-tokens/${created.json().data.id}`,
        headers: bearer(owner),
      };
    },
  },
  'POST /api/v1/auth/refresh': {
    action: /^auth\.session\.refresh$/,
    call: async ({ ctl }) => {
      const login = await ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER });
      return { method: 'POST', url: '/api/v1/auth/refresh', headers: bearer(login.json().data.token) };
    },
  },
  'POST /api/v1/auth/users': {
    action: /^auth\.user\.create$/,
    call: async ({ owner }) => ({
      method: 'POST',
      url: '/api/v1/auth/users',
      headers: bearer(owner),
      payload: { username: 'row-created', password: null },
    }),
  },
  'PATCH /api/v1/auth/users/:id/access': {
    action: /^auth\.user\.access_update$/,
    call: async (env) => ({
      method: 'PATCH',
      url: `/api/v1/auth/users/${await newUser(env)}/access`,
      headers: bearer(env.owner),
      payload: { grants: [{ role: 'auditor', scope: { type: 'fleet' } }] },
    }),
  },
  'PATCH /api/v1/auth/me/password': {
    action: /^auth\.own_password_change$/,
    call: async ({ ctl }) => {
      const username = `self-${Date.now()}`;
      const token = await userWithRole(ctl, username, 'viewer');
      return {
        method: 'PATCH',
        url: '/api/v1/auth/me/password',
        headers: bearer(token),
        payload: { currentPassword: `${username}-password-123`, password: 'a brand new long password' },
      };
    },
  },
  'PATCH /api/v1/auth/users/:id/password': {
    action: /^auth\.user\.password_set$/,
    call: async (env) => ({
      method: 'PATCH',
      url: `/api/v1/auth/users/${await newUser(env)}/password`,
      headers: bearer(env.owner),
      payload: { password: 'another perfectly long password' },
    }),
  },
  'PATCH /api/v1/auth/users/:id/status': {
    action: /^auth\.user\.disable$/,
    call: async (env) => ({
      method: 'PATCH',
      url: `/api/v1/auth/users/${await newUser(env)}/status`,
      headers: bearer(env.owner),
      payload: { disabled: true },
    }),
  },
  'DELETE /api/v1/auth/users/:id': {
    action: /^auth\.user\.delete$/,
    call: async (env) => ({
      method: 'DELETE',
      url: `/api/v1/auth/users/${await newUser(env)}`,
      headers: bearer(env.owner),
    }),
  },
  'POST /api/v1/auth/groups': {
    action: /^auth\.group\.create$/,
    call: async ({ owner }) => ({
      method: 'POST',
      url: '/api/v1/auth/groups',
      headers: bearer(owner),
      payload: { name: 'row-viewers', grants: [{ role: 'viewer', scope: { type: 'fleet' } }] },
    }),
  },
  'PATCH /api/v1/auth/groups/:id': {
    action: /^auth\.group\.update$/,
    call: async (env) => ({
      method: 'PATCH',
      url: `/api/v1/auth/groups/${await newGroup(env)}`,
      headers: bearer(env.owner),
      payload: { oidcGroup: 'idp-row', grants: [{ role: 'viewer', scope: { type: 'fleet' } }] },
    }),
  },
  'DELETE /api/v1/auth/groups/:id': {
    action: /^auth\.group\.delete$/,
    call: async (env) => ({
      method: 'DELETE',
      url: `/api/v1/auth/groups/${await newGroup(env)}`,
      headers: bearer(env.owner),
    }),
  },
  'PUT /api/v1/auth/groups/:id/members/:userId': {
    action: /^auth\.group\.member_add$/,
    call: async (env) => ({
      method: 'PUT',
      url: `/api/v1/auth/groups/${await newGroup(env)}/members/${await newUser(env)}`,
      headers: bearer(env.owner),
    }),
  },
  'DELETE /api/v1/auth/groups/:id/members/:userId': {
    action: /^auth\.group\.member_remove$/,
    call: async (env) => {
      const [group, user] = [await newGroup(env), await newUser(env)];
      await env.ctl.app.inject({
        method: 'PUT',
        url: `/api/v1/auth/groups/${group}/members/${user}`,
        headers: bearer(env.owner),
      });
      return {
        method: 'DELETE',
        url: `/api/v1/auth/groups/${group}/members/${user}`,
        headers: bearer(env.owner),
      };
    },
  },
  'POST /api/v1/auth/roles': {
    action: /^auth\.role\.create$/,
    call: async ({ owner }) => ({
      method: 'POST',
      url: '/api/v1/auth/roles',
      headers: bearer(owner),
      payload: { name: 'row-role', permissions: ['node:read', 'recording:read'] },
    }),
  },
  'PATCH /api/v1/auth/roles/:id': {
    action: /^auth\.role\.update$/,
    call: async (env) => ({
      method: 'PATCH',
      url: `/api/v1/auth/roles/${await newRole(env)}`,
      headers: bearer(env.owner),
      payload: { permissions: ['node:read', 'health:read'] },
    }),
  },
  'DELETE /api/v1/auth/roles/:id': {
    action: /^auth\.role\.delete$/,
    call: async (env) => ({
      method: 'DELETE',
      url: `/api/v1/auth/roles/${await newRole(env)}`,
      headers: bearer(env.owner),
    }),
  },
  'PATCH /api/v1/auth/access-policies': {
    action: /^auth\.access_policy\.update$/,
    call: async ({ owner }) => ({
      method: 'PATCH',
      url: '/api/v1/auth/access-policies',
      headers: bearer(owner),
      payload: { password: { minLength: 14 } },
    }),
  },
  'POST /api/v1/nodes/enroll': {
    action: /^node\.enroll$/,
    call: async ({ owner }) => ({
      method: 'POST',
      url: '/api/v1/nodes/enroll',
      headers: bearer(owner),
      payload: { name: 'n', site: 'audit' },
    }),
  },
  'POST /api/v1/agent/enroll': {
    action: /^node\.enrollment_exchange$/,
    call: async ({ ctl, owner }) => {
      const enroll = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/nodes/enroll',
        headers: bearer(owner),
        payload: { name: 'n2', site: 'audit' },
      });
      return {
        method: 'POST',
        url: '/api/v1/agent/enroll',
        payload: { token: enroll.json().data.enrollmentToken },
      };
    },
  },
  'POST /api/v1/nodes/:id/credentials/rotate': {
    action: /^node\.credential_rotate$/,
    call: async ({ ctl, owner }) => {
      await enrolledNode(ctl, { id: 'rotate-me', site: 'audit' });
      return { method: 'POST', url: '/api/v1/nodes/rotate-me/credentials/rotate', headers: bearer(owner) };
    },
  },
  'POST /api/v1/nodes/:id/lifecycle/:action': {
    action: /^node\.lifecycle_request$/,
    call: async ({ owner, node }) => ({
      method: 'POST',
      url: `/api/v1/nodes/${node.nodeId}/lifecycle/reload-config`,
      headers: bearer(owner),
    }),
  },
  'POST /api/v1/nodes/:id/credential': {
    action: /^node\.credential_issue$/,
    call: async ({ ctl, owner }) => {
      const agent = await enrolledNode(ctl, { id: `rotating-${++userSeq}`, site: 'audit' });
      const asked = await ctl.app.inject({
        method: 'POST',
        url: `/api/v1/nodes/${agent.nodeId}/lifecycle/rotate-credential`,
        headers: bearer(owner),
      });
      return {
        method: 'POST',
        url: `/api/v1/nodes/${agent.nodeId}/credential`,
        headers: bearer(agent.credential),
        payload: { jobId: asked.json().data.id },
      };
    },
  },
  'PUT /api/v1/nodes/:id/lifecycle-jobs/:jobId/diagnostics': {
    action: /^node\.diagnostics_upload$/,
    call: async ({ ctl, owner, node }) => {
      const asked = await ctl.app.inject({
        method: 'POST',
        url: `/api/v1/nodes/${node.nodeId}/lifecycle/collect-diagnostics`,
        headers: bearer(owner),
      });
      return {
        method: 'PUT',
        url: `/api/v1/nodes/${node.nodeId}/lifecycle-jobs/${asked.json().data.id}/diagnostics`,
        headers: bearer(node.credential),
        payload: {
          agentVersion: '1.0.0',
          collectedAt: new Date().toISOString(),
          config: {},
          logLines: ['a line'],
          devices: [],
          capture: { device: 'default', state: 'idle' },
          disk: { freeBytes: 1, totalBytes: 2 },
          pendingUploads: 0,
        },
      };
    },
  },
  'PATCH /api/v1/nodes/:id': {
    action: /^node\.update$/,
    call: async ({ owner, node }) => ({
      method: 'PATCH',
      url: `/api/v1/nodes/${node.nodeId}`,
      headers: bearer(owner),
      payload: { tags: ['audited'], location: 'rack 2' },
    }),
  },
  'PUT /api/v1/nodes/:id/interfaces': {
    // An unchanged report is telemetry; a new device is audited.
    action: /^node\.interface\.report$/,
    call: async ({ node }) => reportInterface(node, `row-device-${++userSeq}`),
  },
  'PATCH /api/v1/nodes/:id/interfaces/:iid': {
    action: /^node\.interface\.update$/,
    call: async ({ ctl, owner, node }) => {
      const ref = `row-device-${++userSeq}`;
      await ctl.app.inject(reportInterface(node, ref));
      const { id } = await ctl.db.nodeInterface.findFirstOrThrow({ where: { nodeId: node.nodeId, ref } });
      return {
        method: 'PATCH',
        url: `/api/v1/nodes/${node.nodeId}/interfaces/${id}`,
        headers: bearer(owner),
        payload: { alias: 'audited', enabledChannels: [1] },
      };
    },
  },
  'POST /api/v1/settings/watchdog-policies/:id/calibrate': {
    // Listens for 5 s to the node's live frames (fed here as the broker would).
    action: /^settings\.watchdog_policy\.calibrate$/,
    call: async (env) => {
      const { ctl, owner, node } = env;
      const id = await newSettings(env, 'watchdog-policies');
      const from = { nodeId: node.nodeId, siteId: (await ctl.services.nodes.scopeOf(node.nodeId))!.siteId };
      const channels = [{ peakDbfs: -30, rmsDbfs: -40, clipCount: 0 }];
      const feed = setInterval(() => {
        ctl.services.meters.record(from, {
          seq: 0,
          capturedAtMs: Date.now(),
          windowMs: 100,
          sampleRate: 48_000,
          channels,
        });
      }, 100);
      setTimeout(() => clearInterval(feed), 7_000).unref();
      return {
        method: 'POST',
        url: `/api/v1/settings/watchdog-policies/${id}/calibrate`,
        headers: bearer(owner),
        payload: { nodeId: node.nodeId, windowSeconds: 5 },
      };
    },
  },
  'POST /api/v1/nodes/:id/decommission': {
    action: /^node\.decommission$/,
    call: async ({ ctl, owner }) => {
      await enrolledNode(ctl, { id: 'retire-me', site: 'audit' });
      return { method: 'POST', url: '/api/v1/nodes/retire-me/decommission', headers: bearer(owner) };
    },
  },
  'POST /api/v1/nodes/:id/listen': {
    action: /^listen\.start$/,
    call: async ({ owner, node }) => ({
      method: 'POST',
      url: `/api/v1/nodes/${node.nodeId}/listen`,
      headers: bearer(owner),
      payload: {},
    }),
  },
  'POST /api/v1/events/tickets': {
    action: /^events\.ticket_create$/,
    call: async ({ owner }) => ({ method: 'POST', url: '/api/v1/events/tickets', headers: bearer(owner) }),
  },
  'DELETE /api/v1/nodes/:id/listen/:sid': {
    action: /^listen\.end$/,
    call: async ({ ctl, owner, node }) => {
      const opened = await ctl.app.inject({
        method: 'POST',
        url: `/api/v1/nodes/${node.nodeId}/listen`,
        headers: bearer(owner),
        payload: {},
      });
      const { id } = opened.json().data.session;
      return { method: 'DELETE', url: `/api/v1/nodes/${node.nodeId}/listen/${id}`, headers: bearer(owner) };
    },
  },
  'DELETE /api/v1/nodes/:id': {
    action: /^node\.delete$/,
    call: async ({ ctl, owner }) => {
      await enrolledNode(ctl, { id: 'delete-me', site: 'audit' });
      await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/nodes/delete-me/decommission',
        headers: bearer(owner),
      });
      return { method: 'DELETE', url: '/api/v1/nodes/delete-me', headers: bearer(owner) };
    },
  },
  'POST /api/v1/nodes/export': {
    action: /^node\.export$/,
    call: async ({ owner, node }) => ({
      method: 'POST',
      url: '/api/v1/nodes/export',
      headers: bearer(owner),
      payload: { ids: [node.nodeId], format: 'csv' },
    }),
  },
  'POST /api/v1/nodes/:id/heartbeat': {
    // Telemetry alone is not audited; a changed agent version is.
    action: /^node\.agent_change$/,
    call: async ({ node }) => ({
      method: 'POST',
      url: `/api/v1/nodes/${node.nodeId}/heartbeat`,
      headers: bearer(node.credential),
      payload: {
        agentVersion: `9.${Date.now()}`,
        captureDevice: 'hw:0',
        captureState: 'idle',
        diskFreeBytes: 1,
        sentAtMs: Date.now(),
      },
    }),
  },
  'POST /api/v1/recordings': {
    action: /^recording\.create$/,
    call: async ({ owner, node }) => ({
      method: 'POST',
      url: '/api/v1/recordings',
      headers: bearer(owner),
      payload: { nodeId: node.nodeId, durationSeconds: 5 },
    }),
  },
  'POST /api/v1/recordings/export': {
    action: /^recording\.export$/,
    call: async (env) => ({
      method: 'POST',
      url: '/api/v1/recordings/export',
      headers: bearer(env.owner),
      payload: { ids: [await completedRecordingId(env)], format: 'csv' },
    }),
  },
  'PATCH /api/v1/recordings/:id/metadata': {
    action: /^recording\.metadata_update$/,
    call: async (env) => ({
      method: 'PATCH',
      url: `/api/v1/recordings/${await completedRecordingId(env)}/metadata`,
      headers: bearer(env.owner),
      payload: { tags: ['audited'] },
    }),
  },
  'POST /api/v1/recordings/bulk-metadata': {
    action: /^recording\.metadata_update$/,
    call: async (env) => ({
      method: 'POST',
      url: '/api/v1/recordings/bulk-metadata',
      headers: bearer(env.owner),
      payload: { ids: [await completedRecordingId(env)], set: { legalHold: true } },
    }),
  },
  'POST /api/v1/recordings/:id/download': {
    action: /^recording\.download$/,
    call: async (env) => ({
      method: 'POST',
      url: `/api/v1/recordings/${await completedRecordingId(env)}/download`,
      headers: bearer(env.owner),
      payload: { ids: [await completedRecordingId(env)] },
    }),
  },
  'DELETE /api/v1/recordings/:id': {
    action: /^recording\.delete$/,
    call: async (env) => ({
      method: 'DELETE',
      url: `/api/v1/recordings/${await completedRecordingId(env)}`,
      headers: bearer(env.owner),
    }),
  },
  'POST /api/v1/recordings/bulk-delete': {
    action: /^recording\.delete$/,
    call: async (env) => ({
      method: 'POST',
      url: '/api/v1/recordings/bulk-delete',
      headers: bearer(env.owner),
      payload: { ids: [await completedRecordingId(env)] },
    }),
  },
  'POST /api/v1/recordings/:id/upload-queue': {
    action: /^upload_queue\.enqueue$/,
    call: async (env) => ({
      method: 'POST',
      url: `/api/v1/recordings/${await completedRecordingId(env)}/upload-queue`,
      headers: bearer(env.owner),
      payload: { providerId: await uploadProvider(env) },
    }),
  },
  'POST /api/v1/recordings/bulk-upload-queue': {
    action: /^upload_queue\.enqueue$/,
    call: async (env) => ({
      method: 'POST',
      url: '/api/v1/recordings/bulk-upload-queue',
      headers: bearer(env.owner),
      payload: { ids: [await completedRecordingId(env)], providerId: await uploadProvider(env) },
    }),
  },
  'POST /api/v1/upload-queue/:id/verify': {
    action: /^upload_queue\.verify$/,
    call: async (env) => ({
      method: 'POST',
      url: `/api/v1/upload-queue/${await verifiedCopy(env)}/verify`,
      headers: bearer(env.owner),
    }),
  },
  'POST /api/v1/upload-queue/:id/retry': {
    action: /^upload_queue\.retry$/,
    call: async (env) => ({
      method: 'POST',
      url: `/api/v1/upload-queue/${await failedCopy(env)}/retry`,
      headers: bearer(env.owner),
    }),
  },
  'POST /api/v1/retention/run': {
    action: /^retention\.run$/,
    call: async ({ owner }) => ({
      method: 'POST',
      url: '/api/v1/retention/run',
      headers: bearer(owner),
      payload: { dryRun: true },
    }),
  },
  'POST /api/v1/demo/seed': {
    action: /^demo\.seed$/,
    call: async ({ owner }) => ({ method: 'POST', url: '/api/v1/demo/seed', headers: bearer(owner) }),
  },
  'POST /api/v1/demo/reset': {
    action: /^demo\.reset$/,
    call: async ({ owner }) => ({ method: 'POST', url: '/api/v1/demo/reset', headers: bearer(owner) }),
  },
  'POST /api/v1/upload-runner/run': {
    action: /^upload_runner\.run$/,
    call: async ({ owner }) => ({ method: 'POST', url: '/api/v1/upload-runner/run', headers: bearer(owner) }),
  },
  'POST /api/v1/recordings/:id/stop': {
    action: /^recording\.stop$/,
    call: async ({ owner, claimedJob }) => {
      const { recordingId } = await claimedJob();
      return { method: 'POST', url: `/api/v1/recordings/${recordingId}/stop`, headers: bearer(owner) };
    },
  },
  'POST /api/v1/recordings/:id/playback': {
    action: /^recording\.playback$/,
    call: async ({ ctl, owner, node, claimedJob }) => {
      const { recordingId, epoch } = await claimedJob();
      const bytes = wavBytes(4800);
      await ctl.app.inject({
        method: 'PUT',
        url: `/api/v1/recordings/${recordingId}/cache-file`,
        headers: uploadHeaders(node.credential, epoch, sha256(bytes), bytes.length),
        payload: bytes,
      });
      return { method: 'POST', url: `/api/v1/recordings/${recordingId}/playback`, headers: bearer(owner) };
    },
  },
  'POST /api/v1/nodes/:id/recording-jobs/claim-next': {
    action: /^recording_job\.claim$/,
    call: async ({ ctl, owner, node }) => {
      await createRecording(ctl, owner, node.nodeId, { durationSeconds: 5 });
      return {
        method: 'POST',
        url: `/api/v1/nodes/${node.nodeId}/recording-jobs/claim-next`,
        headers: bearer(node.credential),
        payload: {},
      };
    },
  },
  'POST /api/v1/recording-jobs/:jid/heartbeat': {
    action: /^recording_job\.recording_start$/,
    call: async ({ node, claimedJob }) => {
      const { jobId, epoch } = await claimedJob();
      return {
        method: 'POST',
        url: `/api/v1/recording-jobs/${jobId}/heartbeat`,
        headers: bearer(node.credential),
        payload: { epoch, state: 'recording' },
      };
    },
  },
  'PUT /api/v1/recording-jobs/:jid/parts/:rid': {
    action: /^recording_job\.continue$/,
    call: async ({ node, claimedJob }) => {
      const { jobId, epoch } = await claimedJob();
      return {
        method: 'PUT',
        url: `/api/v1/recording-jobs/${jobId}/parts/${crypto.randomUUID()}`,
        headers: bearer(node.credential),
        payload: { epoch, reason: 'agent restarted', startedAtMs: Date.now(), durationSeconds: 30 },
      };
    },
  },
  'POST /api/v1/nodes/:id/occurrences/sync': {
    action: /^recording_job\.claim$/,
    call: async (env) => {
      await newSchedule(env);
      return {
        method: 'POST',
        url: `/api/v1/nodes/${env.node.nodeId}/occurrences/sync`,
        headers: bearer(env.node.credential),
      };
    },
  },
  'POST /api/v1/schedules/export': {
    action: /^schedule\.export$/,
    call: async (env) => ({
      method: 'POST',
      url: '/api/v1/schedules/export',
      headers: bearer(env.owner),
      payload: { ids: [await newSchedule(env)], format: 'csv' },
    }),
  },
  'POST /api/v1/schedules': {
    action: /^schedule\.create$/,
    call: async ({ owner, node }) => ({
      method: 'POST',
      url: '/api/v1/schedules',
      headers: bearer(owner),
      payload: {
        name: 'row schedule',
        timeZone: 'Europe/Berlin',
        start: '2030-06-01T10:00',
        durationSeconds: 60,
        targets: [{ nodeId: node.nodeId }],
      },
    }),
  },
  'PATCH /api/v1/schedules/:id': {
    action: /^schedule\.update$/,
    call: async (env) => ({
      method: 'PATCH',
      url: `/api/v1/schedules/${await newSchedule(env)}`,
      headers: bearer(env.owner),
      payload: { durationSeconds: 120 },
    }),
  },
  'DELETE /api/v1/schedules/:id': {
    action: /^schedule\.delete$/,
    call: async (env) => ({
      method: 'DELETE',
      url: `/api/v1/schedules/${await newSchedule(env)}`,
      headers: bearer(env.owner),
    }),
  },
  'POST /api/v1/schedules/:id/run-now': {
    action: /^schedule\.run_now$/,
    call: async (env) => ({
      method: 'POST',
      url: `/api/v1/schedules/${await newSchedule(env)}/run-now`,
      headers: bearer(env.owner),
    }),
  },
  'POST /api/v1/schedules/:id/skip-next': {
    action: /^schedule\.skip$/,
    call: async (env) => ({
      method: 'POST',
      url: `/api/v1/schedules/${await newSchedule(env)}/skip-next`,
      headers: bearer(env.owner),
    }),
  },
  'POST /api/v1/schedules/:id/unskip': {
    action: /^schedule\.unskip$/,
    call: async (env) => {
      const id = await newSchedule(env, 'skip-next');
      const schedule = await env.ctl.app.inject({
        method: 'GET',
        url: `/api/v1/schedules/${id}`,
        headers: bearer(env.owner),
      });
      return {
        method: 'POST',
        url: `/api/v1/schedules/${id}/unskip`,
        headers: bearer(env.owner),
        payload: { occurrenceStart: schedule.json().data.skipped[0] },
      };
    },
  },
  'POST /api/v1/schedules/:id/pause': {
    action: /^schedule\.pause$/,
    call: async (env) => ({
      method: 'POST',
      url: `/api/v1/schedules/${await newSchedule(env)}/pause`,
      headers: bearer(env.owner),
    }),
  },
  'POST /api/v1/schedules/:id/resume': {
    action: /^schedule\.resume$/,
    call: async (env) => ({
      method: 'POST',
      url: `/api/v1/schedules/${await newSchedule(env, 'pause')}/resume`,
      headers: bearer(env.owner),
    }),
  },
  'POST /api/v1/recording-jobs/:jid/failed': {
    action: /^recording_job\.fail$/,
    call: async ({ node, claimedJob }) => {
      const { jobId, epoch } = await claimedJob();
      return {
        method: 'POST',
        url: `/api/v1/recording-jobs/${jobId}/failed`,
        headers: bearer(node.credential),
        payload: { epoch, reason: 'device lost' },
      };
    },
  },
  'POST /api/v1/recording-jobs/:jid/cancelled': {
    action: /^recording_job\.cancel$/,
    call: async ({ node, claimedJob }) => {
      const { jobId, epoch } = await claimedJob();
      return {
        method: 'POST',
        url: `/api/v1/recording-jobs/${jobId}/cancelled`,
        headers: bearer(node.credential),
        payload: { epoch },
      };
    },
  },
  'POST /api/v1/recording-jobs/export': {
    action: /^recording_job\.export$/,
    call: async ({ owner, claimedJob }) => ({
      method: 'POST',
      url: '/api/v1/recording-jobs/export',
      headers: bearer(owner),
      payload: { ids: [(await claimedJob()).jobId], format: 'csv' },
    }),
  },
  'POST /api/v1/recording-jobs/:jid/retry': {
    action: /^recording_job\.retry$/,
    call: async (env) => ({
      method: 'POST',
      url: `/api/v1/recording-jobs/${await failedJob(env)}/retry`,
      headers: bearer(env.owner),
    }),
  },
  'POST /api/v1/recording-jobs/bulk-retry': {
    action: /^recording_job\.retry$/,
    call: async (env) => ({
      method: 'POST',
      url: '/api/v1/recording-jobs/bulk-retry',
      headers: bearer(env.owner),
      payload: { ids: [await failedJob(env)] },
    }),
  },
  'POST /api/v1/recording-jobs/bulk-stop': {
    action: /^recording\.stop$/,
    call: async ({ owner, claimedJob }) => ({
      method: 'POST',
      url: '/api/v1/recording-jobs/bulk-stop',
      headers: bearer(owner),
      payload: { ids: [(await claimedJob()).jobId] },
    }),
  },
  'PUT /api/v1/recordings/:id/cache-file': {
    action: /^recording\.upload$/,
    call: async ({ node, claimedJob }) => {
      const { recordingId, epoch } = await claimedJob();
      const bytes = wavBytes(4800);
      return {
        method: 'PUT',
        url: `/api/v1/recordings/${recordingId}/cache-file`,
        headers: uploadHeaders(node.credential, epoch, sha256(bytes), bytes.length),
        payload: bytes,
      };
    },
  },
  'POST /api/v1/audit-events/export': {
    action: /^audit\.export$/,
    call: async ({ owner }) => ({
      method: 'POST',
      url: '/api/v1/audit-events/export',
      headers: bearer(owner),
      payload: { ids: ['any'], format: 'csv' },
    }),
  },
  'POST /api/v1/recordings/:id/agent-copy/removed': {
    action: /^recording\.agent_copy_removed$/,
    call: async (env) => ({
      method: 'POST',
      url: `/api/v1/recordings/${await completedRecordingId(env)}/agent-copy/removed`,
      headers: bearer(env.node.credential),
      payload: {
        policy: { id: 'p', name: 'agent spare', revision: 1 },
        rule: 'maxAgeDays',
        removedAt: new Date().toISOString(),
      },
    }),
  },
  'POST /api/v1/admin/limits/profiles': {
    action: /^limits\.profile\.create$/,
    call: async ({ owner }) => ({
      method: 'POST',
      url: '/api/v1/admin/limits/profiles',
      headers: bearer(owner),
      payload: { name: 'row-create', max: 1000, windowSeconds: 60 },
    }),
  },
  'PUT /api/v1/admin/limits/profiles/:id': {
    action: /^limits\.profile\.update$/,
    call: async (env) => ({
      method: 'PUT',
      url: `/api/v1/admin/limits/profiles/${await limitProfile(env, 'row-update')}`,
      headers: bearer(env.owner),
      payload: { name: 'row-update', max: 2000, windowSeconds: 60 },
    }),
  },
  'DELETE /api/v1/admin/limits/profiles/:id': {
    action: /^limits\.profile\.delete$/,
    call: async (env) => ({
      method: 'DELETE',
      url: `/api/v1/admin/limits/profiles/${await limitProfile(env, 'row-delete')}`,
      headers: bearer(env.owner),
    }),
  },
  'POST /api/v1/admin/limits/assignments': {
    action: /^limits\.assignment\.create$/,
    call: async (env) => ({
      method: 'POST',
      url: '/api/v1/admin/limits/assignments',
      headers: bearer(env.owner),
      payload: { route: 'GET /api/v1/audit-events/verify', profileId: await limitProfile(env, 'row-assign') },
    }),
  },
  'DELETE /api/v1/admin/limits/assignments/:id': {
    action: /^limits\.assignment\.delete$/,
    call: async (env) => {
      const assigned = await env.ctl.app.inject({
        method: 'POST',
        url: '/api/v1/admin/limits/assignments',
        headers: bearer(env.owner),
        payload: {
          route: 'GET /api/v1/audit-events/:id',
          profileId: await limitProfile(env, 'row-unassign'),
        },
      });
      return {
        method: 'DELETE',
        url: `/api/v1/admin/limits/assignments/${assigned.json().data.id}`,
        headers: bearer(env.owner),
      };
    },
  },
};

let settingsSeq = 0;
/** The body a family's objects need beyond its defaults (what they name must exist). */
const SETTINGS_BODIES: Record<string, (env: Env) => Promise<object>> = {
  'upload-providers': async (env) => ({ kind: 'filesystem', root: env.ctl.config.dataDir }),
  'upload-policies': async (env) => ({ provider: await newSettings(env, 'upload-providers') }),
};
/** A fresh settings object of `family` (defaults, plus what it must name), created through the API. */
async function newSettings(env: Env, family: string): Promise<string> {
  const created = await env.ctl.app.inject({
    method: 'POST',
    url: `/api/v1/settings/${family}`,
    headers: bearer(env.owner),
    payload: { name: `row ${++settingsSeq}`, body: await SETTINGS_BODIES[family]?.(env) },
  });
  return created.json().data.id;
}

/** The mutating routes of every settings family: create, update, rollback, delete, export, commands. */
function settingsRows(): Record<string, Row> {
  const families = SETTINGS_FAMILY_NAMES;
  return Object.fromEntries(
    families.flatMap((family) => {
      const base = `/api/v1/settings/${family}`;
      const as = (env: Env, method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) => ({
        method,
        url,
        headers: bearer(env.owner),
        ...(payload ? { payload } : {}),
      });
      const rows: [string, Row][] = [
        [
          `POST ${base}`,
          {
            action: /^settings\.create$/,
            call: async (env) =>
              as(env, 'POST', base, { name: `${family} row`, body: await SETTINGS_BODIES[family]?.(env) }),
          },
        ],
        [
          `PATCH ${base}/:id`,
          {
            action: /^settings\.update$/,
            call: async (env) =>
              as(env, 'PATCH', `${base}/${await newSettings(env, family)}`, {
                name: `renamed ${++settingsSeq}`,
              }),
          },
        ],
        [
          `POST ${base}/:id/rollback`,
          {
            action: /^settings\.rollback$/,
            call: async (env) => {
              const id = await newSettings(env, family);
              await env.ctl.app.inject(
                as(env, 'PATCH', `${base}/${id}`, { name: `changed ${++settingsSeq}` }),
              );
              return as(env, 'POST', `${base}/${id}/rollback`, { revision: 1 });
            },
          },
        ],
        [
          `DELETE ${base}/:id`,
          {
            action: /^settings\.delete$/,
            call: async (env) => as(env, 'DELETE', `${base}/${await newSettings(env, family)}`),
          },
        ],
        [
          `POST ${base}/export`,
          {
            action: /^settings\.export$/,
            call: async (env) => as(env, 'POST', `${base}/export`, { ids: [await newSettings(env, family)] }),
          },
        ],
      ];
      if (family === 'upload-providers')
        rows.push([
          `POST ${base}/:id/test`,
          {
            action: /^settings\.upload_provider_test$/,
            call: async (env) => as(env, 'POST', `${base}/${await newSettings(env, family)}/test`),
          },
        ]);
      return rows;
    }),
  );
}

/** A fresh rate-limit profile (generous, so rows that assign it limit nothing in practice). */
async function limitProfile({ ctl, owner }: Env, name: string): Promise<string> {
  const created = await ctl.app.inject({
    method: 'POST',
    url: '/api/v1/admin/limits/profiles',
    headers: bearer(owner),
    payload: { name, max: 1000, windowSeconds: 60 },
  });
  return created.json().data.id;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Mutating routes that carry live telemetry and change nothing stored (the HTTP fallback of the
 * agent's MQTT `meters` and `listen`, which are not audited either): each must answer 2xx and
 * write no audit event, or the trail would grow by frames.
 */
const TELEMETRY: Record<string, (env: Env) => Promise<InjectOptions>> = {
  'POST /api/v1/nodes/:id/meter-frame': async ({ node }) => ({
    method: 'POST',
    url: `/api/v1/nodes/${node.nodeId}/meter-frame`,
    headers: bearer(node.credential),
    payload: {
      seq: 1,
      capturedAtMs: Date.now(),
      windowMs: 100,
      sampleRate: 48_000,
      channels: [{ peakDbfs: -20, rmsDbfs: -26, clipCount: 0 }],
    },
  }),
  'POST /api/v1/nodes/:id/listen/chunk': async ({ node }) => ({
    method: 'POST',
    url: `/api/v1/nodes/${node.nodeId}/listen/chunk`,
    headers: { ...bearer(node.credential), 'content-type': 'application/octet-stream' },
    payload: encodeListenFrame({
      streamId: 'audit-row',
      seq: 0,
      capturedAtMs: Date.now(),
      sampleRate: 48_000,
      channels: 1,
      samples: 960,
      packet: new Uint8Array([0xf8, 0xff, 0xfe]),
    }),
  }),
};

describe('audit completeness, route by route', () => {
  let env: Env;
  beforeAll(async () => {
    const ctl = await testController({ attendanceWebhookSecret: WEBHOOK_SECRET });
    env = {
      ctl,
      owner: '',
      node: { nodeId: '', credential: '' },
      claimedJob: async () => {
        const recording = await createRecording(ctl, env.owner, env.node.nodeId, { durationSeconds: 5 });
        // Claims are oldest-first: drain until ours comes up.
        for (;;) {
          const { lease } = await claimNext(ctl, env.node.nodeId, env.node.credential);
          if (!lease) throw new Error('no job to claim');
          if (lease.recordingId === recording.id)
            return { recordingId: recording.id, jobId: lease.jobId, epoch: lease.epoch };
        }
      },
    };
  });
  afterAll(async () => env.ctl.stop());

  it('has a row for every mutating route', () => {
    const routes = env.ctl.routes.filter((r) => MUTATING.has(r.method)).map((r) => `${r.method} ${r.url}`);
    const missing = routes.filter((r) => !(r in TABLE) && !(r in TELEMETRY));
    expect(missing, 'add a row to TABLE in this file for each new mutating route').toEqual([]);
    const stale = [...Object.keys(TABLE), ...Object.keys(TELEMETRY)].filter((k) => !routes.includes(k));
    expect(stale, 'rows for routes that no longer exist').toEqual([]);
  });

  // setup first: every other row needs the owner.
  const order = ['POST /api/v1/setup', ...Object.keys(TABLE).filter((k) => k !== 'POST /api/v1/setup')];
  for (const key of order) {
    it(`${key} writes its audit event`, async () => {
      const { ctl } = env;
      if (key !== 'POST /api/v1/setup' && !env.node.nodeId) {
        env.owner = await ctl.ownerToken();
        env.node = await enrolledNode(ctl, { id: 'audited-node', site: 'audit' });
      }
      const options = await TABLE[key]!.call(env);
      const before = await ctl.db.auditEvent.aggregate({ _max: { seq: true } });
      const response = await ctl.app.inject(options);
      expect(response.statusCode, response.body).toBeLessThan(300);
      const events = await ctl.db.auditEvent.findMany({ where: { seq: { gt: before._max.seq ?? 0 } } });
      expect(events.map((e) => e.action)).toEqual(
        expect.arrayContaining([expect.stringMatching(TABLE[key]!.action)]),
      );
      const event = events.find((e) => TABLE[key]!.action.test(e.action))!;
      expect(event.outcome).toBe('success');
      expect(event.requestId).toBe(response.headers['x-request-id']);
      if (key === 'POST /api/v1/setup') env.owner = await ctl.ownerToken();
    });
  }

  for (const [key, call] of Object.entries(TELEMETRY))
    it(`${key} is telemetry: answered, and no audit event`, async () => {
      const { ctl } = env;
      const before = await ctl.db.auditEvent.aggregate({ _max: { seq: true } });
      const response = await ctl.app.inject(await call(env));
      expect(response.statusCode, response.body).toBeLessThan(300);
      expect(await ctl.db.auditEvent.count({ where: { seq: { gt: before._max.seq ?? 0 } } })).toBe(0);
    });

  it('leaves an intact chain', async () => {
    expect((await env.ctl.services.audit.verifyChain()).ok).toBe(true);
  });

  it('stored only actions from the catalog, with their catalogued target types', async () => {
    expect(await uncataloguedEvents(env.ctl.db)).toEqual([]);
  });
});

/** Channel-map assignments of the env's node (2 channels: the default template fits) and plans. */
function channelMapRows(): Record<string, Row> {
  const base = '/api/v1/settings/channel-map-assignments';
  const plans = '/api/v1/settings/channel-map-plans';
  const as = (env: Env, method: 'POST' | 'PUT' | 'DELETE', url: string, payload?: object): InjectOptions => ({
    method,
    url,
    headers: bearer(env.owner),
    ...(payload ? { payload } : {}),
  });
  const assign = async (env: Env, templateId: string | null) =>
    env.ctl.app.inject(as(env, 'PUT', `${base}/${env.node.nodeId}`, { templateId }));
  const stage = async (env: Env) => {
    const templateId = await newSettings(env, 'channel-map-templates');
    const items = [{ nodeId: env.node.nodeId, templateId }];
    const staged = await env.ctl.app.inject(as(env, 'POST', plans, { name: `plan ${++settingsSeq}`, items }));
    return staged.json().data.id as string;
  };
  return {
    [`PUT ${base}/:nodeId`]: {
      action: /^channel_map\.assignment\.set$/,
      call: async (env) =>
        as(env, 'PUT', `${base}/${env.node.nodeId}`, {
          templateId: await newSettings(env, 'channel-map-templates'),
        }),
    },
    [`DELETE ${base}/:nodeId`]: {
      action: /^channel_map\.assignment\.clear$/,
      call: async (env) => as(env, 'DELETE', `${base}/${env.node.nodeId}`),
    },
    [`POST ${base}/bulk`]: {
      action: /^channel_map\.assignment\.set$/,
      call: async (env) =>
        as(env, 'POST', `${base}/bulk`, {
          items: [{ nodeId: env.node.nodeId, templateId: await newSettings(env, 'channel-map-templates') }],
        }),
    },
    [`POST ${base}/:nodeId/rollback`]: {
      action: /^channel_map\.assignment\.rollback$/,
      call: async (env) => {
        await assign(env, await newSettings(env, 'channel-map-templates'));
        const revision = (await assign(env, null)).json().data.revision as number;
        return as(env, 'POST', `${base}/${env.node.nodeId}/rollback`, { revision: revision - 1 });
      },
    },
    [`POST ${plans}`]: {
      action: /^channel_map\.plan\.stage$/,
      call: async (env) =>
        as(env, 'POST', plans, {
          name: `plan ${++settingsSeq}`,
          items: [{ nodeId: env.node.nodeId, templateId: null }],
        }),
    },
    [`POST ${plans}/:id/apply`]: {
      action: /^channel_map\.plan\.apply$/,
      call: async (env) => as(env, 'POST', `${plans}/${await stage(env)}/apply`),
    },
    [`POST ${plans}/:id/discard`]: {
      action: /^channel_map\.plan\.discard$/,
      call: async (env) => as(env, 'POST', `${plans}/${await stage(env)}/discard`),
    },
  };
}

let healthSeq = 0;
/** Health events: the agent's report, manual events, each lifecycle step, bulk and export. */
function healthRows(): Record<string, Row> {
  const base = '/api/v1/health-events';
  const report = (env: Env): InjectOptions => {
    const seen = new Date().toISOString();
    return {
      method: 'POST',
      url: `/api/v1/nodes/${env.node.nodeId}/health-events`,
      headers: bearer(env.node.credential),
      payload: {
        ...{ id: `row-health-${++healthSeq}`, type: 'disk_low', severity: 'warning', state: 'open' },
        ...{ message: 'disk filling', firstSeenAt: seen, lastSeenAt: seen, count: 1 },
      },
    };
  };
  /** A fresh open event reported by the env's node, taken through `steps` first. */
  const event = async (env: Env, ...steps: string[]) => {
    const id = (await env.ctl.app.inject(report(env))).json().data.id as string;
    for (const step of steps)
      await env.ctl.app.inject({
        method: 'POST',
        url: `${base}/${id}/${step}`,
        headers: bearer(env.owner),
        payload: {},
      });
    return id;
  };
  const as = (env: Env, url: string, payload: object = {}): InjectOptions => ({
    method: 'POST',
    url,
    headers: bearer(env.owner),
    payload,
  });
  const until = () => new Date(Date.now() + 3600_000).toISOString();
  return {
    'POST /api/v1/nodes/:id/health-events': {
      action: /^health_event\.report$/,
      call: async (env) => report(env),
    },
    [`POST ${base}`]: {
      action: /^health_event\.create$/,
      call: async (env) => as(env, base, { nodeId: env.node.nodeId, severity: 'info', message: 'by hand' }),
    },
    [`POST ${base}/export`]: {
      action: /^health_event\.export$/,
      call: async (env) => as(env, `${base}/export`, { ids: [await event(env)], format: 'csv' }),
    },
    [`POST ${base}/bulk-lifecycle`]: {
      action: /^health_event\.acknowledge$/,
      call: async (env) =>
        as(env, `${base}/bulk-lifecycle`, {
          ids: [await event(env), await event(env)],
          action: 'acknowledge',
        }),
    },
    [`POST ${base}/:id/acknowledge`]: {
      action: /^health_event\.acknowledge$/,
      call: async (env) => as(env, `${base}/${await event(env)}/acknowledge`),
    },
    [`POST ${base}/:id/suppress`]: {
      action: /^health_event\.suppress$/,
      call: async (env) => as(env, `${base}/${await event(env)}/suppress`, { until: until() }),
    },
    [`POST ${base}/:id/resolve`]: {
      action: /^health_event\.resolve$/,
      call: async (env) => as(env, `${base}/${await event(env)}/resolve`),
    },
    [`POST ${base}/:id/reopen`]: {
      action: /^health_event\.reopen$/,
      call: async (env) => as(env, `${base}/${await event(env, 'resolve')}/reopen`),
    },
  };
}

/**
 * Notification integrations. The receiver here is a name that does not resolve (no network in
 * tests): a verification records its failure, and is audited all the same; enabling needs a
 * verified integration, marked so in the database.
 */
function integrationRows(): Record<string, Row> {
  const base = '/api/v1/integrations';
  let n = 0;
  const as = (
    env: Env,
    method: 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
  ): InjectOptions => ({
    method,
    url,
    headers: bearer(env.owner),
    ...(payload ? { payload } : {}),
  });
  const create = async (env: Env, kind = 'webhook') => {
    const created = await env.ctl.app.inject(
      as(env, 'POST', base, { name: `row-integration-${++n}`, kind, url: 'https://receiver.invalid/hook' }),
    );
    return created.json().data.id as string;
  };
  return {
    [`POST ${base}`]: {
      action: /^integration\.create$/,
      call: async (env) =>
        as(env, 'POST', base, { name: 'row-create', kind: 'slack', url: 'https://receiver.invalid/x' }),
    },
    [`PATCH ${base}/:id`]: {
      action: /^integration\.update$/,
      call: async (env) => as(env, 'PATCH', `${base}/${await create(env)}`, { quietSeconds: 60 }),
    },
    [`DELETE ${base}/:id`]: {
      action: /^integration\.delete$/,
      call: async (env) => as(env, 'DELETE', `${base}/${await create(env)}`),
    },
    [`POST ${base}/:id/verify`]: {
      action: /^integration\.verify$/,
      call: async (env) => as(env, 'POST', `${base}/${await create(env)}/verify`),
    },
    [`POST ${base}/:id/enable`]: {
      action: /^integration\.enable$/,
      call: async (env) => {
        const id = await create(env);
        await env.ctl.db.notificationIntegration.update({ where: { id }, data: { verifiedAt: new Date() } });
        return as(env, 'POST', `${base}/${id}/enable`);
      },
    },
    [`POST ${base}/:id/disable`]: {
      action: /^integration\.disable$/,
      call: async (env) => as(env, 'POST', `${base}/${await create(env)}/disable`),
    },
    [`POST ${base}/:id/rotate-secret`]: {
      action: /^integration\.rotate_secret$/,
      call: async (env) => as(env, 'POST', `${base}/${await create(env)}/rotate-secret`, {}),
    },
  };
}
