/**
 * Recording playback sessions through the real controller and database: POST …/playback opens a
 * session (a ticket, audited once, also set as a cookie scoped to the stream's path), GET
 * …/stream serves the file with HTTP Range to that ticket only, until it expires or its caller's
 * access ends. The browser half (an <audio> element playing and seeking) is in
 * test/e2e/playback-browser.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { completedRecording, createRecording, wavBytes } from '../support/recordings.js';
import { tempDir } from '../support/tmp.js';

describe('recording playback sessions', () => {
  let ctl: TestController;
  let owner: string;
  let clockOffsetMs = 0;
  let east: { nodeId: string; credential: string; siteId: string };
  let west: { nodeId: string; credential: string; siteId: string };
  const body = wavBytes(192_000); // 1 s of 48 kHz stereo s16le
  let recordingId: string;
  let otherId: string;
  let westId: string;

  const inject = (options: InjectOptions) => ctl.app.inject(options);
  const open = async (token: string, id = recordingId) =>
    inject({ method: 'POST', url: `/api/v1/recordings/${id}/playback`, headers: bearer(token) });
  const stream = (ticket: string | undefined, id = recordingId, headers: Record<string, string> = {}) =>
    inject({
      method: 'GET',
      url: `/api/v1/recordings/${id}/stream`,
      headers: { ...(ticket ? { 'x-earshot-ticket': ticket } : {}), ...headers },
    });
  const playbackAudits = (id: string) =>
    ctl.db.auditEvent.findMany({
      where: { action: 'recording.playback', targetId: id },
      orderBy: { seq: 'asc' },
    });

  beforeAll(async () => {
    ctl = await testController({}, () => new Date(Date.now() + clockOffsetMs));
    owner = await ctl.ownerToken();
    vi.spyOn(ctl.broker, 'publishToNode').mockImplementation(async () => {});
    east = await enrolledNode(ctl, { id: 'play-east', site: 'east' });
    west = await enrolledNode(ctl, { id: 'play-west', site: 'west' });
    recordingId = (await completedRecording(ctl, owner, east, body)).id;
    otherId = (await completedRecording(ctl, owner, east, wavBytes(4800))).id;
    westId = (await completedRecording(ctl, owner, west, wavBytes(4800))).id;
  });
  afterAll(async () => ctl.stop());

  it('opens a session: a ticket, its stream URL and a cookie scoped to that stream', async () => {
    const opened = await open(owner);
    expect(opened.statusCode, opened.body).toBe(201);
    const data = opened.json().data;
    expect(data).toEqual({
      sessionId: expect.stringMatching(/^ps_/),
      ticket: expect.any(String),
      streamUrl: `/api/v1/recordings/${recordingId}/stream`,
      expiresAt: expect.any(String),
      contentType: 'audio/wav',
    });
    const ttl = Date.parse(data.expiresAt) - Date.now() - clockOffsetMs;
    expect(ttl).toBeGreaterThan(9 * 60_000);
    expect(ttl).toBeLessThanOrEqual(10 * 60_000);
    const cookie = String(opened.headers['set-cookie']);
    expect(cookie).toContain(`earshot_playback=${data.ticket}`);
    expect(cookie).toContain(`Path=${data.streamUrl}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');

    // The cookie is the credential, as a browser sends it.
    const full = await inject({
      method: 'GET',
      url: data.streamUrl,
      cookies: { earshot_playback: data.ticket },
    });
    expect(full.statusCode, full.body).toBe(200);
    expect(full.headers['content-type']).toBe('audio/wav');
    expect(full.headers['accept-ranges']).toBe('bytes');
    expect(full.headers['content-disposition']).toMatch(/^inline/);
    expect(Buffer.compare(full.rawPayload, body)).toBe(0);
  });

  it('serves byte ranges (206) and refuses unsatisfiable ones (416), audited once for all', async () => {
    const before = (await playbackAudits(recordingId)).length;
    const opened = (await open(owner)).json().data;
    const ranges: [string, number, number][] = [
      ['bytes=0-1', 0, 1],
      ['bytes=44-', 44, body.length - 1],
      ['bytes=100000-100999', 100_000, 100_999],
      ['bytes=-1000', body.length - 1000, body.length - 1],
    ];
    for (let round = 0; round < 3; round++)
      for (const [range, start, end] of ranges) {
        const part = await stream(opened.ticket, recordingId, { range });
        expect(part.statusCode, range).toBe(206);
        expect(part.headers['content-range']).toBe(`bytes ${start}-${end}/${body.length}`);
        expect(part.headers['accept-ranges']).toBe('bytes');
        expect(part.headers['content-type']).toBe('audio/wav');
        expect(Buffer.compare(part.rawPayload, body.subarray(start, end + 1)), range).toBe(0);
      }
    for (const range of [`bytes=${body.length}-`, 'bytes=9-3', 'bytes=0-1,4-5', 'seconds=1-2']) {
      const bad = await stream(opened.ticket, recordingId, { range });
      expect(bad.statusCode, range).toBe(416);
      expect(bad.headers['content-range']).toBe(`bytes */${body.length}`);
      expect(bad.json().error.code).toBe('range_not_satisfiable');
    }
    // Twelve range requests and four refusals after one POST: one audit event, naming the session.
    const audits = await playbackAudits(recordingId);
    expect(audits.length).toBe(before + 1);
    const event = audits.at(-1)!;
    expect(event).toMatchObject({ outcome: 'success', permission: 'recording:playback' });
    expect(JSON.parse(event.after ?? '{}')).toMatchObject({ sessionId: opened.sessionId });
    expect(await ctl.db.auditEvent.count({ where: { action: 'recording.download' } })).toBe(0);
  });

  it('needs a ticket, a valid one, for this recording', async () => {
    const none = await stream(undefined);
    expect(none.statusCode).toBe(401);
    expect(none.json().error.message).toContain(`POST /api/v1/recordings/${recordingId}/playback`);
    // A session token or an API token is not a playback ticket.
    const bearerOnly = await inject({
      method: 'GET',
      url: `/api/v1/recordings/${recordingId}/stream`,
      headers: bearer(owner),
    });
    expect(bearerOnly.statusCode).toBe(401);
    expect((await stream('ept_not-a-ticket')).statusCode).toBe(401);
    expect((await stream(owner)).statusCode).toBe(401);

    const opened = (await open(owner)).json().data;
    const elsewhere = await stream(opened.ticket, otherId);
    expect(elsewhere.statusCode).toBe(403);
    expect(elsewhere.json().error.message).toMatch(/another recording/);
    // The refusals are audited as denials (an unknown ticket, a ticket for another recording).
    const denied = await ctl.db.auditEvent.findMany({
      where: { outcome: 'denied', action: 'http.get /api/v1/recordings/:id/stream' },
    });
    expect(denied.map((e) => e.reason)).toEqual(
      expect.arrayContaining([
        'playback ticket unknown or expired',
        expect.stringMatching(/presented for another recording/),
      ]),
    );
    // The ticket still works for its own recording.
    expect((await stream(opened.ticket)).statusCode).toBe(200);
  });

  it('stops a ticket once it expires (10 minutes)', async () => {
    const opened = (await open(owner)).json().data;
    expect((await stream(opened.ticket, recordingId, { range: 'bytes=0-9' })).statusCode).toBe(206);
    clockOffsetMs += 9 * 60_000;
    try {
      expect((await stream(opened.ticket, recordingId, { range: 'bytes=0-9' })).statusCode).toBe(206);
      clockOffsetMs += 61_000;
      const late = await stream(opened.ticket, recordingId, { range: 'bytes=0-9' });
      expect(late.statusCode).toBe(401);
      expect(late.json().error.message).toMatch(/unknown or expired/);
    } finally {
      clockOffsetMs -= 9 * 60_000 + 61_000;
    }
  });

  it("stops a ticket when its user's token is revoked, their access withdrawn or they are disabled", async () => {
    const viewer = await userWithRole(ctl, 'play-viewer', 'viewer', { type: 'site', id: east.siteId });
    const token = async (name: string) =>
      (
        await inject({
          method: 'POST',
          url: '/api/v1/auth/api-tokens',
          headers: bearer(viewer),
          payload: { name },
        })
      ).json().data as { id: string; token: string };

    // A revoked API token.
    const revocable = await token('revoked');
    const first = (await open(revocable.token)).json().data;
    expect((await stream(first.ticket)).statusCode).toBe(200);
    const revoked = await inject({
      method: 'DELETE',
      url: `/api/v1/auth/api-tokens/${revocable.id}`,
      headers: bearer(viewer),
    });
    expect(revoked.statusCode, revoked.body).toBeLessThan(300);
    const afterRevoke = await stream(first.ticket);
    expect(afterRevoke.statusCode).toBe(401);
    expect(afterRevoke.json().error.message).toMatch(/sign-in that opened this playback session has ended/);

    // Access withdrawn: the user's grant no longer includes recording:playback.
    const user = await ctl.db.user.findUniqueOrThrow({ where: { username: 'play-viewer' } });
    const kept = await token('kept');
    const second = (await open(kept.token)).json().data;
    expect((await stream(second.ticket)).statusCode).toBe(200);
    const changed = await inject({
      method: 'PATCH',
      url: `/api/v1/auth/users/${user.id}/access`,
      headers: bearer(owner),
      payload: { grants: [{ role: 'auditor', scope: { type: 'site', id: east.siteId } }] },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    // The auditor still sees the recording, without recording:playback on it: a 403, not a hidden 404.
    expect((await stream(second.ticket)).statusCode).toBe(403);
    // Ended for good: giving the access back does not revive that ticket.
    await inject({
      method: 'PATCH',
      url: `/api/v1/auth/users/${user.id}/access`,
      headers: bearer(owner),
      payload: { grants: [{ role: 'viewer', scope: { type: 'site', id: east.siteId } }] },
    });
    expect((await stream(second.ticket)).statusCode).toBe(401);

    // A disabled user.
    const third = (await open(kept.token)).json().data;
    expect((await stream(third.ticket)).statusCode).toBe(200);
    const disabled = await inject({
      method: 'PATCH',
      url: `/api/v1/auth/users/${user.id}/status`,
      headers: bearer(owner),
      payload: { disabled: true },
    });
    expect(disabled.statusCode, disabled.body).toBe(200);
    expect((await stream(third.ticket)).statusCode).toBe(401);

    const denials = await ctl.db.auditEvent.findMany({
      where: { outcome: 'denied', action: 'http.get /api/v1/recordings/:id/stream', actorId: user.id },
    });
    expect(denials.length).toBeGreaterThanOrEqual(3);
  });

  it('keeps at most 20 sessions a user: the 21st ends their oldest', async () => {
    const user = await userWithRole(ctl, 'play-many', 'viewer');
    const tickets: string[] = [];
    for (let i = 0; i < 21; i++) tickets.push((await open(user)).json().data.ticket);
    expect((await stream(tickets[0], recordingId, { range: 'bytes=0-0' })).statusCode).toBe(401);
    for (const ticket of [tickets[1], tickets[20]])
      expect((await stream(ticket, recordingId, { range: 'bytes=0-0' })).statusCode).toBe(206);
    // Another user's sessions are not theirs to push out.
    expect(
      (await stream((await open(owner)).json().data.ticket, recordingId, { range: 'bytes=0-0' })).statusCode,
    ).toBe(206);
  });

  it('opens sessions only on complete files the caller may play', async () => {
    const pending = await createRecording(ctl, owner, east.nodeId);
    const notYet = await open(owner, pending.id);
    expect(notYet.statusCode).toBe(409);
    expect(notYet.json().error.message).toMatch(/pending; its file is not available yet/);
    // Outside the caller's scope: 404, as for every recording route.
    const eastViewer = await userWithRole(ctl, 'play-east', 'viewer', { type: 'site', id: east.siteId });
    expect((await open(eastViewer, westId)).statusCode).toBe(404);
    expect((await open(eastViewer, recordingId)).statusCode).toBe(201);
    // Without recording:playback: 403.
    const auditor = await userWithRole(ctl, 'play-auditor', 'auditor');
    expect((await open(auditor, recordingId)).statusCode).toBe(403);
    // An agent's credential is not a user's.
    expect((await open(east.credential, recordingId)).statusCode).toBe(403);
    // Anonymous: 401.
    expect(
      (await inject({ method: 'POST', url: `/api/v1/recordings/${recordingId}/playback` })).statusCode,
    ).toBe(401);
  });

  it('answers bad input with 4xx', async () => {
    const opened = (await open(owner)).json().data;
    expect((await open(owner, 'not a valid id!')).statusCode).toBe(400);
    expect((await open(owner, 'no-such-recording')).statusCode).toBe(404);
    expect((await stream(opened.ticket, 'bad id!')).statusCode).toBe(400);
    expect((await stream('x'.repeat(500))).statusCode).toBe(400);
    expect(
      (await stream(opened.ticket, recordingId, { range: `bytes=${'9'.repeat(200)}-` })).statusCode,
    ).toBe(400);
    // Beyond what a safe integer holds: unsatisfiable, never a 500.
    expect((await stream(opened.ticket, recordingId, { range: `bytes=${'9'.repeat(30)}-` })).statusCode).toBe(
      416,
    );
    // The ticket of one recording, for an unknown one: refused before anything is looked up.
    expect((await stream(opened.ticket, 'no-such-recording')).statusCode).toBe(403);
  });

  it('plays a FLAC recording as audio/flac', async () => {
    const dir = await tempDir('flac');
    try {
      const path = join(dir.path, 'tone.flac');
      execFileSync('sox', [
        '-n',
        '-r',
        '48000',
        '-c',
        '2',
        '-b',
        '16',
        path,
        'synth',
        '0.5',
        'sine',
        '440',
        'vol',
        '0.5',
      ]);
      const flac = await readFile(path);
      const id = (await completedRecording(ctl, owner, east, flac)).id;
      const opened = (await open(owner, id)).json().data;
      expect(opened.contentType).toBe('audio/flac');
      const part = await stream(opened.ticket, id, { range: 'bytes=0-3' });
      expect(part.statusCode).toBe(206);
      expect(part.headers['content-type']).toBe('audio/flac');
      expect(part.body).toBe('fLaC');
    } finally {
      await dir.cleanup();
    }
  });
});
