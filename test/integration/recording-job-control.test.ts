/**
 * The recording-jobs routes operators use: the filtered list, `/actions`, the CSV/NDJSON export,
 * retry (what it re-queues and what it refuses, and why), and the bulk retry and stop (one result
 * and one audit event per job; a job outside the caller's scope answers like one that does not
 * exist). The agents' own job routes are in recordings/lost-contact tests; the read an agent
 * shares with users is checked here too, so both modes keep working.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  enrolledNode,
  ownerApiToken,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { claimNext, createRecording } from '../support/recordings.js';

type Node = { nodeId: string; credential: string; siteId: string };
type Job = { id: string; recordingId: string; state: string; epoch: number; stopRequested: boolean };
type Item = { id: string; ok: boolean; status: number; error?: { code: string; message: string }; job?: Job };

const ndjson = (body: string) =>
  body
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Job & { nodeId: string; siteId: string });

describe('recording jobs: list, actions, export, retry, bulk retry and stop', () => {
  let ctl: TestController;
  let owner: string;
  let east: Node;
  let west: Node;
  /** Operator and viewer over the east site only. */
  let eastOperator: string;
  let eastViewer: string;

  beforeAll(async () => {
    ctl = await testController({ leaseSeconds: 30 });
    owner = await ownerApiToken(ctl);
    east = await enrolledNode(ctl, { id: 'jobs-east', site: 'east' });
    west = await enrolledNode(ctl, { id: 'jobs-west', site: 'west' });
    eastOperator = await userWithRole(ctl, 'east-operator', 'operator', { type: 'site', id: east.siteId });
    eastViewer = await userWithRole(ctl, 'east-viewer', 'viewer', { type: 'site', id: east.siteId });
  });
  afterAll(async () => ctl.stop());

  function api(token: string, method: InjectOptions['method'], url: string, payload?: unknown) {
    return ctl.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: bearer(token),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  }

  const eventsOf = (response: { headers: Record<string, unknown> }) =>
    ctl.db.auditEvent.findMany({
      where: { requestId: response.headers['x-request-id'] as string },
      orderBy: { seq: 'asc' },
    });

  /** A new job on `node`, claimed by its agent (claims are oldest first: drained until ours). */
  async function claimed(node: Node) {
    const recording = await createRecording(ctl, owner, node.nodeId, { durationSeconds: 5 });
    for (;;) {
      const { lease } = await claimNext(ctl, node.nodeId, node.credential);
      if (!lease) throw new Error('no job to claim');
      if (lease.recordingId === recording.id) return { jobId: lease.jobId, epoch: lease.epoch, recording };
    }
  }

  /** A job its agent claimed and reported failed before recording anything. */
  async function failed(node: Node, outcome: 'failed' | 'cancelled' = 'failed') {
    const job = await claimed(node);
    const reported = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/recording-jobs/${job.jobId}/${outcome}`,
      headers: bearer(node.credential),
      payload: { epoch: job.epoch, reason: 'capture device busy' },
    });
    expect(reported.statusCode, reported.body).toBe(200);
    return job;
  }

  async function queued(node: Node) {
    const recording = await createRecording(ctl, owner, node.nodeId, { durationSeconds: 5 });
    return { jobId: recording.job.id, recording };
  }

  describe('GET /recording-jobs', () => {
    it('filters by state, node, site and creation time, newest first, with a cursor', async () => {
      const a = await failed(east);
      const b = await queued(east);
      const w = await queued(west);
      const ids = (body: string) => (JSON.parse(body).data as Job[]).map((j) => j.id);

      const failedOnly = await api(owner, 'GET', '/recording-jobs?state=failed');
      expect(ids(failedOnly.body)).toContain(a.jobId);
      expect(ids(failedOnly.body)).not.toContain(b.jobId);

      const westOnly = await api(owner, 'GET', '/recording-jobs?site=west');
      expect(ids(westOnly.body)).toEqual(expect.arrayContaining([w.jobId]));
      expect(ids(westOnly.body)).not.toContain(a.jobId);
      expect(ids((await api(owner, 'GET', `/recording-jobs?nodeId=${east.nodeId}`)).body)).not.toContain(
        w.jobId,
      );
      expect(ids((await api(owner, 'GET', '/recording-jobs?site=nowhere')).body)).toEqual([]);

      const all = await ctl.db.recordingJob.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
      const future = new Date(Date.now() + 3600_000).toISOString();
      expect(ids((await api(owner, 'GET', `/recording-jobs?from=${future}`)).body)).toEqual([]);
      expect(ids((await api(owner, 'GET', `/recording-jobs?to=${future}`)).body)).toEqual(
        all.map((j) => j.id),
      );
      const since = all[1]!.createdAt.toISOString();
      expect(ids((await api(owner, 'GET', `/recording-jobs?from=${since}`)).body)).toEqual(
        all.filter((j) => j.createdAt >= all[1]!.createdAt).map((j) => j.id),
      );

      // Pages of 2 walk the whole list once, newest first.
      const walked: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await api(
          owner,
          'GET',
          `/recording-jobs?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        walked.push(...ids(page.body));
        cursor = JSON.parse(page.body).nextCursor;
      } while (cursor);
      expect(walked).toEqual(all.map((j) => j.id));
    });

    it('shows a site-scoped user only its site', async () => {
      await queued(west);
      const listed = JSON.parse((await api(eastViewer, 'GET', '/recording-jobs?limit=200')).body).data as {
        nodeId: string;
      }[];
      expect(listed.length).toBeGreaterThan(0);
      expect(new Set(listed.map((j) => j.nodeId))).toEqual(new Set([east.nodeId]));
      expect(JSON.parse((await api(eastViewer, 'GET', '/recording-jobs?site=west')).body).data).toEqual([]);
    });

    it('counts what the filters select by state and node, within the caller’s scope', async () => {
      await failed(east);
      await queued(west);
      type Facets = {
        total: number;
        state: { value: string; count: number }[];
        nodeId: { value: string; count: number }[];
      };
      const facets = async (token: string, query = '') => {
        const response = await api(token, 'GET', `/recording-jobs/facets${query}`);
        expect(response.statusCode, response.body).toBe(200);
        return JSON.parse(response.body).data as Facets;
      };
      // The counts are what the list says, for the whole fleet and under a filter.
      const jobs = await ctl.db.recordingJob.findMany();
      const all = await facets(owner);
      expect(all.total).toBe(jobs.length);
      const byState = Object.fromEntries(all.state.map((f) => [f.value, f.count]));
      for (const state of new Set(jobs.map((j) => j.state)))
        expect(byState[state], state).toBe(jobs.filter((j) => j.state === state).length);
      expect(all.state.map((f) => f.count)).toEqual(all.state.map((f) => f.count).sort((a, b) => b - a));
      const failedOnly = await facets(owner, '?state=failed');
      expect(failedOnly.state).toEqual([
        { value: 'failed', count: jobs.filter((j) => j.state === 'failed').length },
      ]);
      // A site's viewer counts its site only.
      const eastOnly = await facets(eastViewer);
      expect(eastOnly.nodeId.map((f) => f.value)).toEqual([east.nodeId]);
      expect(eastOnly.total).toBe(jobs.filter((j) => j.nodeId === east.nodeId).length);
      expect((await api(owner, 'GET', '/recording-jobs/facets?state=sleeping')).statusCode).toBe(400);
    });

    it('refuses bad filters with a 400 that says what is wrong', async () => {
      for (const query of [
        'state=sleeping',
        'from=yesterday',
        'limit=2.5',
        'cursor=not-a-cursor',
        'colour=blue',
        `nodeId=${encodeURIComponent('a/b')}`,
        'from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z',
      ]) {
        const response = await api(owner, 'GET', `/recording-jobs?${query}`);
        expect(response.statusCode, query).toBe(400);
        expect(response.json().error.message, query).toMatch(/\S/);
      }
      expect((await api(owner, 'GET', '/recording-jobs?colour=blue')).json().error.message).toMatch(
        /additional properties \(unknown: colour\)/,
      );
      // An enum names its choices, so the caller can fix the request.
      expect((await api(owner, 'GET', '/recording-jobs?state=sleeping')).json().error.message).toMatch(
        /\(allowed for state: "queued", "claimed", .*"failed"/,
      );
    });
  });

  describe('GET /recording-jobs/:jid (users and agents)', () => {
    it('serves a user in scope and the job’s own agent, and hides it from everyone else', async () => {
      const { jobId } = await queued(east);
      expect((await api(eastViewer, 'GET', `/recording-jobs/${jobId}`)).statusCode).toBe(200);
      expect((await api(east.credential, 'GET', `/recording-jobs/${jobId}`)).json().data.id).toBe(jobId);
      expect((await api(west.credential, 'GET', `/recording-jobs/${jobId}`)).statusCode).toBe(404);
      const westJob = await queued(west);
      expect((await api(eastViewer, 'GET', `/recording-jobs/${westJob.jobId}`)).statusCode).toBe(404);
    });
  });

  describe('GET /recording-jobs/:jid/actions', () => {
    it('says what the caller can do now, with the reason when not', async () => {
      const gone = await failed(east);
      expect((await api(eastOperator, 'GET', `/recording-jobs/${gone.jobId}/actions`)).json().data).toEqual({
        retry: { allowed: true, reason: null },
        stop: { allowed: false, reason: 'the job is failed: there is nothing to stop' },
        download: { allowed: false, reason: 'the recording is failed: its file is not available yet' },
      });
      const waiting = await queued(east);
      const actions = (await api(eastOperator, 'GET', `/recording-jobs/${waiting.jobId}/actions`)).json()
        .data;
      expect(actions.retry).toEqual({
        allowed: false,
        reason: 'the job is queued already: no agent has claimed it yet',
      });
      expect(actions.stop).toEqual({ allowed: true, reason: null });
      // A viewer sees the job but may not act on it.
      const viewed = (await api(eastViewer, 'GET', `/recording-jobs/${gone.jobId}/actions`)).json().data;
      expect(viewed.retry).toEqual({ allowed: false, reason: "needs recording:control on this job's node" });
      expect(viewed.stop.allowed).toBe(false);
    });

    it('is a 404 outside the scope (audited as a denial) and a 400 for a malformed id', async () => {
      const westJob = await queued(west);
      const hidden = await api(eastOperator, 'GET', `/recording-jobs/${westJob.jobId}/actions`);
      expect(hidden.statusCode).toBe(404);
      expect((await eventsOf(hidden)).map((e) => e.outcome)).toEqual(['denied']);
      expect((await api(owner, 'GET', '/recording-jobs/not%20an%20id/actions')).statusCode).toBe(400);
      expect((await api(owner, 'GET', '/recording-jobs/unknown-job/actions')).statusCode).toBe(404);
    });
  });

  describe('POST /recording-jobs/:jid/retry', () => {
    it('queues a failed job again, audited with the change; the next claim fences the old lease', async () => {
      const job = await failed(east);
      const response = await api(eastOperator, 'POST', `/recording-jobs/${job.jobId}/retry`);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json().data).toMatchObject({
        id: job.jobId,
        state: 'queued',
        epoch: job.epoch,
        failureReason: null,
        finishedAt: null,
        leaseExpiresAt: null,
      });
      const recording = (await api(owner, 'GET', `/recordings/${job.recording.id}`)).json().data;
      expect(recording.state).toBe('pending');
      const events = await eventsOf(response);
      expect(events.map((e) => [e.action, e.outcome, e.targetId])).toEqual([
        ['recording_job.retry', 'success', job.jobId],
      ]);
      expect(JSON.parse(events[0]!.before!)).toMatchObject({
        state: 'failed',
        failureReason: 'capture device busy',
      });

      // The agent claims the new attempt under a new epoch; the old epoch is stale.
      let lease = (await claimNext(ctl, east.nodeId, east.credential)).lease;
      while (lease && lease.jobId !== job.jobId)
        lease = (await claimNext(ctl, east.nodeId, east.credential)).lease;
      expect(lease?.epoch).toBe(job.epoch + 1);
      const stale = await ctl.app.inject({
        method: 'POST',
        url: `/api/v1/recording-jobs/${job.jobId}/heartbeat`,
        headers: bearer(east.credential),
        payload: { epoch: job.epoch, state: 'recording' },
      });
      expect(stale.statusCode).toBe(409);
      expect(stale.json().error.code).toBe('stale_lease');
    });

    it('queues a cancelled job again, and an occurrence its node never held while its window is open', async () => {
      const cancelled = await failed(east, 'cancelled');
      expect((await api(owner, 'POST', `/recording-jobs/${cancelled.jobId}/retry`)).statusCode).toBe(200);
      // An occurrence stopped before its node ever leased it (epoch 0), its window still open.
      const occurrence = await queued(east);
      await ctl.db.recordingJob.update({
        where: { id: occurrence.jobId },
        data: {
          state: 'cancelled',
          stopRequested: true,
          plannedStartAt: new Date(Date.now() - 60_000),
          plannedEndAt: new Date(Date.now() + 600_000),
        },
      });
      const retried = await api(owner, 'POST', `/recording-jobs/${occurrence.jobId}/retry`);
      expect(retried.statusCode, retried.body).toBe(200);
      expect(retried.json().data).toMatchObject({ state: 'queued', stopRequested: false });
    });

    it('refuses with 409 and the reason when a new attempt would not record the same thing', async () => {
      const cases: [string, () => Promise<string>, RegExp][] = [
        ['queued', async () => (await queued(east)).jobId, /queued already/],
        ['claimed', async () => (await claimed(east)).jobId, /claimed on its node: stop it/],
        [
          'captured audio',
          async () => {
            const job = await claimed(east);
            await ctl.app.inject({
              method: 'POST',
              url: `/api/v1/recording-jobs/${job.jobId}/heartbeat`,
              headers: bearer(east.credential),
              payload: { epoch: job.epoch, state: 'recording' },
            });
            await ctl.app.inject({
              method: 'POST',
              url: `/api/v1/recording-jobs/${job.jobId}/failed`,
              headers: bearer(east.credential),
              payload: { epoch: job.epoch, reason: 'disk full' },
            });
            return job.jobId;
          },
          /captured audio before it failed.*start a new recording/,
        ],
        [
          'lost contact',
          async () => {
            const job = await claimed(east);
            await ctl.db.recordingJob.update({ where: { id: job.jobId }, data: { state: 'lost_contact' } });
            return job.jobId;
          },
          /may still be recording/,
        ],
        [
          'completed',
          async () => {
            const job = await claimed(east);
            await ctl.db.recordingJob.update({ where: { id: job.jobId }, data: { state: 'completed' } });
            return job.jobId;
          },
          /recording is complete/,
        ],
        [
          'window ended',
          async () => {
            const job = await failed(east);
            await ctl.db.recordingJob.update({
              where: { id: job.jobId },
              data: {
                plannedStartAt: new Date('2026-01-01T09:00:00Z'),
                plannedEndAt: new Date('2026-01-01T10:00:00Z'),
              },
            });
            return job.jobId;
          },
          /window ended at 2026-01-01T10:00:00\.000Z/,
        ],
        [
          'occurrence held before',
          async () => {
            const job = await failed(east);
            await ctl.db.recordingJob.update({
              where: { id: job.jobId },
              data: {
                plannedStartAt: new Date(Date.now() - 60_000),
                plannedEndAt: new Date(Date.now() + 600_000),
              },
            });
            return job.jobId;
          },
          /does not start one twice: use the schedule’s run-now/,
        ],
        [
          'continuation part',
          async () => {
            const job = await failed(east);
            await ctl.db.recordingJob.update({
              where: { id: job.jobId },
              data: { part: 2, parentJobId: 'root-job' },
            });
            return job.jobId;
          },
          /part 2 of job root-job/,
        ],
      ];
      for (const [label, make, reason] of cases) {
        const jobId = await make();
        const before = await ctl.db.recordingJob.findUniqueOrThrow({ where: { id: jobId } });
        const response = await api(owner, 'POST', `/recording-jobs/${jobId}/retry`);
        expect(response.statusCode, label).toBe(409);
        expect(response.json().error.message, label).toMatch(reason);
        // Nothing changed, nothing audited as a change.
        expect(await ctl.db.recordingJob.findUniqueOrThrow({ where: { id: jobId } }), label).toEqual(before);
        expect(await eventsOf(response), label).toEqual([]);
      }
    });

    it('refuses a job on a decommissioned node', async () => {
      const node = await enrolledNode(ctl, { id: 'jobs-retired', site: 'east' });
      const job = await failed(node);
      expect((await api(owner, 'POST', `/nodes/${node.nodeId}/decommission`)).statusCode).toBe(200);
      const response = await api(owner, 'POST', `/recording-jobs/${job.jobId}/retry`);
      expect(response.statusCode).toBe(409);
      expect(response.json().error.message).toMatch(/decommissioned/);
    });

    it('is a 403 without recording:control, a 404 outside the scope, a 400 for a malformed id', async () => {
      const job = await failed(east);
      expect((await api(eastViewer, 'POST', `/recording-jobs/${job.jobId}/retry`)).statusCode).toBe(403);
      const westJob = await failed(west);
      const hidden = await api(eastOperator, 'POST', `/recording-jobs/${westJob.jobId}/retry`);
      expect(hidden.statusCode).toBe(404);
      expect((await eventsOf(hidden)).map((e) => e.outcome)).toEqual(['denied']);
      expect((await ctl.db.recordingJob.findUniqueOrThrow({ where: { id: westJob.jobId } })).state).toBe(
        'failed',
      );
      expect((await api(owner, 'POST', '/recording-jobs/bad%20id!/retry')).statusCode).toBe(400);
    });
  });

  describe('POST /recording-jobs/bulk-retry and /bulk-stop', () => {
    it('retries per item: one 200 answer, one audit event per job, hidden jobs reported as not found', async () => {
      const ok = await failed(east);
      const waiting = await queued(east);
      const westJob = await failed(west);
      const ids = [ok.jobId, waiting.jobId, westJob.jobId, 'no-such-job'];
      const response = await api(eastOperator, 'POST', '/recording-jobs/bulk-retry', { ids });
      expect(response.statusCode, response.body).toBe(200);
      const {
        results,
        succeeded,
        failed: failures,
      } = response.json().data as {
        results: Item[];
        succeeded: number;
        failed: number;
      };
      expect([succeeded, failures]).toEqual([1, 3]);
      expect(results.map((r) => [r.id, r.ok, r.status, r.error?.code ?? null])).toEqual([
        [ok.jobId, true, 200, null],
        [waiting.jobId, false, 409, 'conflict'],
        [westJob.jobId, false, 404, 'not_found'],
        ['no-such-job', false, 404, 'not_found'],
      ]);
      expect(results[0]!.job).toMatchObject({ id: ok.jobId, state: 'queued' });
      // A job outside the scope reads exactly like one that does not exist.
      expect(results[2]!.error!.message).toBe(results[3]!.error!.message);
      expect(JSON.stringify(results[2])).not.toContain(west.nodeId);
      // One event per item: the change, a refusal (failure), the denial, a failure.
      const events = await eventsOf(response);
      expect(events.map((e) => [e.action, e.outcome, e.targetId])).toEqual([
        ['recording_job.retry', 'success', ok.jobId],
        ['recording_job.retry', 'failure', waiting.jobId],
        ['recording_job.retry', 'denied', westJob.jobId],
        ['recording_job.retry', 'failure', 'no-such-job'],
      ]);
      expect((await ctl.db.recordingJob.findUniqueOrThrow({ where: { id: westJob.jobId } })).state).toBe(
        'failed',
      );
    });

    it('stops per item through the recording stop: a queued job is cancelled, a running one asked to stop', async () => {
      // Claims drain the node's queue: the queued job is made after the others are claimed.
      const running = await claimed(east);
      const done = await failed(east);
      const waiting = await queued(east);
      const westJob = await queued(west);
      const ids = [waiting.jobId, running.jobId, done.jobId, westJob.jobId];
      const response = await api(eastOperator, 'POST', '/recording-jobs/bulk-stop', { ids });
      expect(response.statusCode, response.body).toBe(200);
      const results = response.json().data.results as Item[];
      expect(results.map((r) => [r.ok, r.status])).toEqual([
        [true, 200],
        [true, 200],
        [false, 409],
        [false, 404],
      ]);
      expect(results[0]!.job).toMatchObject({ state: 'cancelled', stopRequested: true });
      expect(results[1]!.job).toMatchObject({ state: 'claimed', stopRequested: true });
      expect(results[2]!.error!.message).toMatch(/nothing to stop/);
      const events = await eventsOf(response);
      expect(events.map((e) => [e.action, e.outcome, e.targetId])).toEqual([
        ['recording.stop', 'success', waiting.recording.id],
        ['recording.stop', 'success', running.recording.id],
        ['recording_job.stop', 'failure', done.jobId],
        ['recording_job.stop', 'denied', westJob.jobId],
      ]);
      expect((await ctl.db.recordingJob.findUniqueOrThrow({ where: { id: westJob.jobId } })).state).toBe(
        'queued',
      );
      // Stopping it again changes nothing: reported ok, nothing to audit (like a second recording stop).
      const again = await api(eastOperator, 'POST', '/recording-jobs/bulk-stop', { ids: [running.jobId] });
      expect((again.json().data.results as Item[]).map((r) => [r.ok, r.status])).toEqual([[true, 200]]);
      expect(await eventsOf(again)).toEqual([]);
      // The agent hears the stop in its next heartbeat.
      const beat = await ctl.app.inject({
        method: 'POST',
        url: `/api/v1/recording-jobs/${running.jobId}/heartbeat`,
        headers: bearer(east.credential),
        payload: { epoch: running.epoch, state: 'recording' },
      });
      expect(beat.json().data.stopRequested).toBe(true);
    });

    it('refuses bad input with a 400 naming the problem, and a viewer with a 403', async () => {
      const many = Array.from({ length: 1001 }, (_, i) => `job-${i}`);
      for (const url of ['/recording-jobs/bulk-retry', '/recording-jobs/bulk-stop']) {
        for (const [label, body, message] of [
          ['no ids', { ids: [] }, /ids/],
          ['too many', { ids: many }, /ids/],
          ['twice', { ids: ['a', 'a'] }, /ids|duplicate|unique/i],
          ['malformed', { ids: ['bad id!'] }, /ids/],
          ['unknown field', { ids: ['a'], force: true }, /unknown: force/],
          ['no body', undefined, /body/],
        ] as const) {
          const response = await api(owner, 'POST', url, body);
          expect(response.statusCode, `${url} ${label}`).toBe(400);
          expect(response.json().error.message, `${url} ${label}`).toMatch(message);
        }
        expect((await api(eastViewer, 'POST', url, { ids: ['a'] })).statusCode).toBe(403);
      }
    });
  });

  describe('GET|POST /recording-jobs/export', () => {
    it('exports what the list selects as CSV or NDJSON, scoped and audited once', async () => {
      const eastJob = await failed(east);
      const westJob = await failed(west);
      const csv = await api(eastViewer, 'GET', '/recording-jobs/export?format=csv&state=failed');
      expect(csv.statusCode).toBe(200);
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      expect(csv.headers['content-disposition']).toMatch(/attachment; filename="recording-jobs-.*\.csv"/);
      const [header, ...lines] = csv.body.trim().split('\n');
      expect(header!.split(',').slice(0, 5)).toEqual(['id', 'recordingId', 'nodeId', 'siteId', 'state']);
      expect(lines.some((l) => l.startsWith(eastJob.jobId))).toBe(true);
      expect(csv.body).not.toContain(westJob.jobId);
      expect(lines.every((l) => l.includes(',failed,'))).toBe(true);
      const events = await eventsOf(csv);
      expect(events.map((e) => [e.action, e.outcome])).toEqual([['recording_job.export', 'success']]);
      expect(JSON.parse(events[0]!.after!)).toEqual({ count: lines.length, format: 'csv' });

      const ndjsonAnswer = await api(owner, 'GET', '/recording-jobs/export?site=west');
      expect(ndjsonAnswer.headers['content-type']).toMatch(/^application\/x-ndjson/);
      const rows = ndjson(ndjsonAnswer.body);
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => r.siteId))).toEqual(new Set([west.siteId]));
    });

    it('exports selected ids, leaving out those outside the scope', async () => {
      const eastJob = await queued(east);
      const westJob = await queued(west);
      const response = await api(eastViewer, 'POST', '/recording-jobs/export', {
        ids: [eastJob.jobId, westJob.jobId, 'no-such-job'],
      });
      expect(response.statusCode).toBe(200);
      expect(ndjson(response.body).map((r) => r.id)).toEqual([eastJob.jobId]);
      const events = await eventsOf(response);
      expect(JSON.parse(events[0]!.after!)).toEqual({ count: 1, format: 'ndjson' });
    });

    it('refuses bad input with a 400', async () => {
      expect((await api(owner, 'GET', '/recording-jobs/export?format=xml')).statusCode).toBe(400);
      expect((await api(owner, 'GET', '/recording-jobs/export?cursor=x')).statusCode).toBe(400);
      expect((await api(owner, 'GET', '/recording-jobs/export?state=nap')).statusCode).toBe(400);
      expect((await api(owner, 'POST', '/recording-jobs/export', { ids: [] })).statusCode).toBe(400);
      expect((await api(owner, 'POST', '/recording-jobs/export', { ids: ['bad id!'] })).statusCode).toBe(400);
      expect((await api(owner, 'POST', '/recording-jobs/export', { ids: ['a'], extra: 1 })).statusCode).toBe(
        400,
      );
    });
  });
});
