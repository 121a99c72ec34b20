/**
 * GET /api/v1/recordings/:id/context on a real database: an ad-hoc recording and its
 * continuation part; a scheduled occurrence (schedule and job rows inserted directly) whose
 * schedule names a voice channel, with attendance sessions (fed through the inbound webhook)
 * inside and outside the recording window: only the overlapping ones appear, each with a
 * receipt that verifies against the keys in the answer; scope: a recording outside the
 * caller's scope is a 404 with one denied audit event, and a guild outside it hides who attended.
 */
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Method, requestAs, voiceWebhook } from '../support/api.js';
import {
  enrolledNode,
  ownerApiToken,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { claimNext, createRecording } from '../support/recordings.js';

const GUILD = '610000000000000001';
const VOICE = '620000000000000001';
const OTHER_CHANNEL = '620000000000000002';
const ALICE = '630000000000000001';
const BOB = '630000000000000002';
const CAROL = '630000000000000003';
const DAVE = '630000000000000004';
const ERIN = '630000000000000005';
const WEBHOOK_SECRET = 'recording-context-webhook-secret';
const at = (hhmm: string) => Date.parse(`2025-10-06T${hhmm}:00.000Z`);

interface Session {
  userId: string;
  displayName: string | null;
  receipt: { signedBytes: string; signature: string; keyId: string; payloadHash: string } | null;
  verification: { valid: boolean };
  id: string;
}

describe('recording context', () => {
  let ctl: TestController;
  let owner: string;
  let nowMs = at('08:00');
  const api = (method: Method, url: string, payload?: object, token = owner) =>
    requestAs(ctl.app, token, method, url, payload);
  const context = (recordingId: string, token = owner) =>
    api('GET', `/api/v1/recordings/${recordingId}/context`, undefined, token);

  /** A scheduled occurrence's recording and job, as the schedules module materialises them. */
  async function occurrenceRows(input: {
    scheduleId: string;
    part: number;
    parentJobId?: string;
    jobState: string;
    occurrenceStart: string;
    recording?: { firstSampleAt: number; clockOffsetMs: number; durationMs: number; sha256: string };
  }) {
    const planned = { plannedStartAt: new Date(at('10:00')), plannedEndAt: new Date(at('11:00')) };
    const rec = input.recording;
    const recording = await ctl.db.recording.create({
      data: {
        nodeId: 'east-1',
        title: `Weekly seminar part ${input.part}`,
        state: input.jobState === 'queued' ? 'pending' : input.jobState,
        sampleRate: 48_000,
        channels: 2,
        plannedStartAt: planned.plannedStartAt,
        ...(rec && {
          firstSampleAt: new Date(rec.firstSampleAt),
          clockOffsetMs: rec.clockOffsetMs,
          durationMs: rec.durationMs,
          sha256: rec.sha256,
          expectedSha256: rec.sha256,
          sizeBytes: 1_000_044n,
          receivedBytes: 1_000_044n,
          expectedBytes: 1_000_044n,
          completedAt: new Date(at('11:02')),
          partial: input.part > 1,
          partialReason: input.part > 1 ? 'agent restarted inside the window' : null,
        }),
      },
    });
    const job = await ctl.db.recordingJob.create({
      data: {
        nodeId: 'east-1',
        recordingId: recording.id,
        state: input.jobState,
        epoch: input.jobState === 'queued' ? 0 : 1,
        scheduleId: input.scheduleId,
        occurrenceStart: new Date(input.occurrenceStart),
        ...planned,
        part: input.part,
        parentJobId: input.parentJobId ?? null,
        ...(rec && { startedAt: new Date(at('10:00')), finishedAt: new Date(at('11:00')) }),
      },
    });
    return { recordingId: recording.id, jobId: job.id };
  }

  beforeAll(async () => {
    ctl = await testController({ attendanceWebhookSecret: WEBHOOK_SECRET }, () => new Date(nowMs));
    await ctl.ownerToken();
    owner = await ownerApiToken(ctl); // the clock moves hours ahead: a session would idle out
    await enrolledNode(ctl, { id: 'east-1', site: 'east', name: 'Lecture hall east' });
    await enrolledNode(ctl, { id: 'west-1', site: 'west' });
  });
  afterAll(async () => ctl.stop());

  it('an ad-hoc recording: node, no schedule, its job and upload state, and its continuation part', async () => {
    const created = await createRecording(ctl, owner, 'east-1', { durationSeconds: 60, title: 'ad hoc' });
    const node = await ctl.db.node.findUniqueOrThrow({ where: { id: 'east-1' } });
    const response = await context(created.id);
    expect(response.statusCode, response.body).toBe(200);
    const data = response.json().data;
    expect(data).toMatchObject({
      recording: { id: created.id, title: 'ad hoc', state: 'pending' },
      node: { id: 'east-1', name: 'Lecture hall east', siteId: node.siteId },
      schedule: null,
      occurrence: null,
      checksums: { sha256: null, expectedSha256: null },
      upload: {
        state: 'pending',
        receivedBytes: 0,
        expectedBytes: null,
        jobId: created.job.id,
        jobState: 'queued',
        epoch: 0,
      },
      capture: { plannedStartAt: null, firstSampleAt: null, partial: false },
      attendance: null,
    });
    expect(data.parts).toEqual([expect.objectContaining({ part: 1, jobId: created.job.id, current: true })]);

    // The agent restarted mid-recording and registered the rest as part 2 (linked by parentJobId).
    const partRecording = await ctl.db.recording.create({
      data: {
        nodeId: 'east-1',
        title: 'ad hoc (part 2)',
        state: 'pending',
        sampleRate: 48_000,
        channels: 2,
        partial: true,
        partialReason: 'agent restarted',
      },
    });
    const partJob = await ctl.db.recordingJob.create({
      data: {
        nodeId: 'east-1',
        recordingId: partRecording.id,
        state: 'queued',
        part: 2,
        parentJobId: created.job.id,
      },
    });
    for (const id of [created.id, partRecording.id]) {
      const parts = (await context(id)).json().data.parts as {
        jobId: string;
        part: number;
        current: boolean;
      }[];
      expect(parts.map((p) => [p.part, p.jobId, p.current])).toEqual([
        [1, created.job.id, id === created.id],
        [2, partJob.id, id === partRecording.id],
      ]);
    }
  });

  it('a claimed job shows its state and epoch', async () => {
    const node = await enrolledNode(ctl, { id: 'east-3', site: 'east' });
    const created = await createRecording(ctl, owner, 'east-3', { durationSeconds: 5 });
    const claimed = await claimNext(ctl, 'east-3', node.credential);
    expect(claimed.lease?.jobId).toBe(created.job.id);
    const data = (await context(created.id)).json().data;
    expect(data.upload).toMatchObject({ jobState: 'claimed', epoch: claimed.lease!.epoch });
  });

  let scheduled: { recordingId: string; jobId: string };
  let part2: { recordingId: string; jobId: string };
  let queued: { recordingId: string };

  it('a scheduled occurrence: schedule, occurrence, parts, checksums, capture facts', async () => {
    // The guild is registered through the API (no bot), keyed, and fed through the inbound webhook.
    expect((await api('POST', '/api/v1/guilds', { id: GUILD, name: 'Seminar server' })).statusCode).toBe(201);
    const keys = await api('POST', `/api/v1/guilds/${GUILD}/signing/generate-keys`, {
      passphrase: 'a passphrase long enough for the key',
    });
    expect(keys.statusCode, keys.body).toBe(201);
    const events: [string, string, string | null][] = [
      ['09:00', CAROL, VOICE],
      ['09:30', ALICE, VOICE],
      ['09:45', CAROL, null], // left before the recording started
      ['10:10', ERIN, OTHER_CHANNEL], // another channel
      ['10:15', ALICE, null], // overlaps the start
      ['10:20', BOB, VOICE],
      ['10:30', ERIN, null],
      ['10:50', BOB, null], // inside
      ['11:05', DAVE, VOICE], // after the end
      ['11:20', DAVE, null],
    ];
    for (const [time, user, channel] of events) {
      nowMs = at(time);
      // Alice's source names her (Bob's does not): the context shows the name beside the id.
      const named = user === ALICE ? { display_name: 'Alice' } : {};
      const sent = await voiceWebhook(ctl.app, WEBHOOK_SECRET, GUILD, user, channel, named);
      expect(sent.statusCode, sent.body).toBe(200);
    }
    expect(await ctl.db.voiceSession.count({ where: { guildId: GUILD } })).toBe(5);

    const schedule = await ctl.db.schedule.create({
      data: {
        name: 'Weekly seminar',
        recurrence: 'RRULE:FREQ=WEEKLY;BYDAY=MO',
        timeZone: 'Europe/Berlin',
        startLocal: '2025-10-06T12:00:00',
        durationSeconds: 3600,
        profile: '{"format":"wav"}',
        voiceGuildId: GUILD,
        voiceChannelId: VOICE,
      },
    });
    const occurrenceStart = '2025-10-06T10:00:00.000Z';
    // Part 1: first sample 10:00:00.250 on the agent's clock, which was 250 ms ahead.
    scheduled = await occurrenceRows({
      scheduleId: schedule.id,
      part: 1,
      jobState: 'completed',
      occurrenceStart,
      recording: {
        firstSampleAt: at('10:00') + 250,
        clockOffsetMs: 250,
        durationMs: 3_600_000,
        sha256: 'a'.repeat(64),
      },
    });
    part2 = await occurrenceRows({
      scheduleId: schedule.id,
      part: 2,
      parentJobId: scheduled.jobId,
      jobState: 'queued',
      occurrenceStart,
    });
    queued = await occurrenceRows({
      scheduleId: schedule.id,
      part: 1,
      jobState: 'queued',
      occurrenceStart: '2025-10-13T10:00:00.000Z',
    });

    nowMs = at('12:00');
    const response = await context(scheduled.recordingId);
    expect(response.statusCode, response.body).toBe(200);
    const data = response.json().data;
    expect(data).toMatchObject({
      node: { id: 'east-1', name: 'Lecture hall east' },
      schedule: {
        id: schedule.id,
        name: 'Weekly seminar',
        timeZone: 'Europe/Berlin',
        voiceGuildId: GUILD,
        voiceChannelId: VOICE,
      },
      occurrence: {
        scheduleId: schedule.id,
        start: occurrenceStart,
        plannedStartAt: '2025-10-06T10:00:00.000Z',
        plannedEndAt: '2025-10-06T11:00:00.000Z',
      },
      checksums: { sha256: 'a'.repeat(64), expectedSha256: 'a'.repeat(64) },
      upload: {
        state: 'completed',
        receivedBytes: 1_000_044,
        expectedBytes: 1_000_044,
        jobState: 'completed',
        epoch: 1,
      },
      capture: {
        plannedStartAt: '2025-10-06T10:00:00.000Z',
        firstSampleAt: '2025-10-06T10:00:00.250Z',
        clockOffsetMs: 250,
        durationMs: 3_600_000,
        partial: false,
      },
    });
    // Both parts of this occurrence; the next week's occurrence is not one of them.
    expect(
      data.parts.map((p: { part: number; jobId: string; current: boolean }) => [p.part, p.jobId, p.current]),
    ).toEqual([
      [1, scheduled.jobId, true],
      [2, part2.jobId, false],
    ]);
    expect(data.parts[1]).toMatchObject({ partial: false, recordingState: 'pending' });
    const fromPart2 = (await context(part2.recordingId)).json().data;
    expect(fromPart2.parts.map((p: { jobId: string }) => p.jobId)).toEqual([scheduled.jobId, part2.jobId]);
  });

  it('who attended the voice channel during the recording, with receipts that verify', async () => {
    const data = (await context(scheduled.recordingId)).json().data;
    const attendance = data.attendance;
    expect(attendance).toMatchObject({
      guildId: GUILD,
      channelId: VOICE,
      guildName: 'Seminar server',
      // The first sample in controller time (offset removed) to the end of what was recorded.
      window: { from: '2025-10-06T10:00:00.000Z', to: '2025-10-06T11:00:00.000Z', basis: 'recorded' },
      visible: true,
      reason: null,
      truncated: false,
    });
    const sessions = attendance.sessions as Session[];
    expect(sessions.map((s) => [s.userId, s.displayName])).toEqual([
      [ALICE, 'Alice'],
      [BOB, null],
    ]);
    expect(attendance.sessions[0]).toMatchObject({
      startedAt: '2025-10-06T09:30:00.000Z',
      endedAt: '2025-10-06T10:15:00.000Z',
      activeSeconds: 45 * 60,
      source: 'webhook',
    });
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: attendance.keys.active.publicKey },
      format: 'jwk',
    });
    for (const session of sessions) {
      expect(session.verification).toEqual({ valid: true, key_id: attendance.keys.active.keyId });
      const receipt = session.receipt!;
      expect(receipt.keyId).toBe(attendance.keys.active.keyId);
      expect(
        nodeVerify(
          null,
          Buffer.from(receipt.signedBytes, 'utf8'),
          publicKey,
          Buffer.from(receipt.signature, 'base64url'),
        ),
      ).toBe(true);
      expect(JSON.parse(receipt.signedBytes)).toMatchObject({
        session_id: session.id,
        user_id: session.userId,
        channel_id: VOICE,
      });
      const publicCheck = await ctl.app.inject({
        method: 'GET',
        url: `/api/v1/verify/session/${session.id}`,
      });
      expect(publicCheck.json().data.valid).toBe(true);
    }
  });

  it('an occurrence not started yet looks in its planned window', async () => {
    const data = (await context(queued.recordingId)).json().data;
    expect(data.attendance.window).toEqual({
      from: '2025-10-06T10:00:00.000Z',
      to: '2025-10-06T11:00:00.000Z',
      basis: 'planned',
    });
    expect(data.parts).toHaveLength(1);
  });

  it('outside the scope: a 404 with one denied audit event; a guild outside it hides who attended', async () => {
    const west = await createRecording(ctl, owner, 'west-1', { durationSeconds: 5 });
    const east = await ctl.db.site.findUniqueOrThrow({ where: { name: 'east' } });
    const viewer = await userWithRole(ctl, 'east-viewer', 'viewer', { type: 'site', id: east.id });
    const refused = await context(west.id, viewer);
    expect(refused.statusCode).toBe(404);
    const events = await ctl.db.auditEvent.findMany({
      where: { requestId: refused.headers['x-request-id'] as string },
    });
    expect(events.map((e) => [e.outcome, e.targetType, e.targetId])).toEqual([
      ['denied', 'recording', west.id],
    ]);
    // Unknown and malformed ids.
    expect((await context('no-such-recording')).statusCode).toBe(404);
    expect((await context('not%20an%20id')).statusCode).toBe(400);

    // The east viewer sees the east recording, but not the guild's attendance (no grant there).
    const seen = await context(scheduled.recordingId, viewer);
    expect(seen.statusCode).toBe(200);
    expect(seen.json().data.attendance).toMatchObject({ visible: false, sessions: [], keys: null });
    expect(seen.json().data.attendance.reason).toMatch(/attendance:read/);
  });
});
