/**
 * Every mutating route writes an audit event, checked route by route. The table
 * below has one row per mutating route: how to call it successfully and which
 * action it must audit. A new mutating route without a row fails this suite.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, enrolledNode, OWNER, type TestController, testController } from '../support/controller.js';
import { claimNext, createRecording, sha256, uploadHeaders, wavBytes } from '../support/recordings.js';

interface Env {
  ctl: TestController;
  owner: string;
  node: { nodeId: string; credential: string };
  /** A job claimed by `node`, fresh for each row that needs one. */
  claimedJob: () => Promise<{ recordingId: string; jobId: string; epoch: number }>;
}

type Row = { action: RegExp; call: (env: Env) => Promise<InjectOptions> };

const TABLE: Record<string, Row> = {
  'POST /api/v1/setup': {
    action: /^setup\.owner_created$/,
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
    action: /^node\.enrolled$/,
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
  'POST /api/v1/nodes/:id/heartbeat': {
    // Telemetry alone is not audited; a changed agent version is.
    action: /^node\.agent_changed$/,
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
  'POST /api/v1/recordings/:id/stop': {
    action: /^recording\.stop$/,
    call: async ({ owner, claimedJob }) => {
      const { recordingId } = await claimedJob();
      return { method: 'POST', url: `/api/v1/recordings/${recordingId}/stop`, headers: bearer(owner) };
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
    action: /^recording_job\.recording$/,
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
  'POST /api/v1/recording-jobs/:jid/failed': {
    action: /^recording_job\.failed$/,
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
    action: /^recording_job\.cancelled$/,
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
};

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

describe('audit completeness, route by route', () => {
  let env: Env;
  beforeAll(async () => {
    const ctl = await testController();
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
    const missing = routes.filter((r) => !(r in TABLE));
    expect(missing, 'add a row to TABLE in this file for each new mutating route').toEqual([]);
    const stale = Object.keys(TABLE).filter((k) => !routes.includes(k));
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

  it('leaves an intact chain', async () => {
    expect((await env.ctl.services.audit.verifyChain()).ok).toBe(true);
  });
});
