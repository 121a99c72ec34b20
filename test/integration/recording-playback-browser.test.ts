/**
 * Recording playback in a real browser: headless Chromium (Debian's, driven by playwright-core)
 * on a page of the controller's own origin signs in, opens a playback session with fetch (the
 * ticket arrives as an HttpOnly cookie scoped to the stream's path), and an <audio> element plays
 * the stream with no token in its URL: it becomes playable with the recording's duration, and a
 * seek makes Chromium ask the server for a range that starts past the beginning, after which
 * playback continues past the seek point. Event-driven: no fixed sleeps.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { enrolledNode, OWNER, type TestController, testController } from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';
import { completedRecording, wavBytes } from '../support/recordings.js';

/**
 * 60 s of 48 kHz mono s16le: big enough (5.8 MB) that Chromium, preloading metadata only, fetches
 * a seek's bytes with a new range request.
 */
const SAMPLE_RATE = 48_000;
const SECONDS = 60;
const SEEK_TO = 50;

interface Seen {
  url: string;
  range: string | undefined;
  cookie: boolean;
  /** Its answer (read once the browser has played from it: its status line was sent). */
  response: ServerResponse;
}

describe('recording playback in headless Chromium', () => {
  let ctl: TestController;
  let url: string;
  let browser: Browser;
  let recordingId: string;
  const seen: Seen[] = [];

  beforeAll(async () => {
    ctl = await testController();
    const owner = await ctl.ownerToken();
    vi.spyOn(ctl.broker, 'publishToNode').mockImplementation(async () => {});
    const node = await enrolledNode(ctl, { id: 'browser-node', site: 'browser' });
    const wav = wavBytes(SAMPLE_RATE * 2 * SECONDS, SAMPLE_RATE, 1);
    recordingId = (await completedRecording(ctl, owner, node, wav)).id;
    url = await listeningUrl(ctl);
    // What the server saw of each stream request (its Range header, its answer).
    ctl.app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      if (!request.url?.endsWith('/stream')) return;
      seen.push({
        url: request.url,
        range: request.headers.range,
        cookie: /earshot_playback=/.test(request.headers.cookie ?? ''),
        response,
      });
    });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await ctl?.stop();
  });

  it('plays the stream in an <audio> element and seeks with a Range request', async () => {
    const page = await browser.newPage();
    // A page of the controller's origin, so the SameSite=Strict cookies go with its requests.
    await page.goto(`${url}/healthz`);
    const opened = await page.evaluate(
      async ({ id, owner }) => {
        const login = await fetch('/api/v1/auth/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(owner),
        });
        const { csrfToken } = (await login.json()).data as { csrfToken: string };
        const response = await fetch(`/api/v1/recordings/${id}/playback`, {
          method: 'POST',
          headers: { 'x-csrf-token': csrfToken },
          credentials: 'same-origin',
        });
        return { status: response.status, data: (await response.json()).data };
      },
      { id: recordingId, owner: OWNER },
    );
    expect(opened.status).toBe(201);
    expect(opened.data.streamUrl).toBe(`/api/v1/recordings/${recordingId}/stream`);
    // HttpOnly: the page's script cannot read the ticket cookie.
    expect(await page.evaluate(() => document.cookie)).not.toContain('earshot_playback');

    const played = await page.evaluate(
      async ({ src, seekTo }) => {
        const audio = new Audio();
        audio.preload = 'metadata';
        const once = (event: string) =>
          new Promise<void>((resolve, reject) => {
            audio.addEventListener(event, () => resolve(), { once: true });
            audio.addEventListener('error', () => reject(new Error(`media error ${audio.error?.code}`)), {
              once: true,
            });
          });
        const canPlay = once('canplay');
        audio.src = src; // no token in the URL: the cookie is the credential
        await canPlay;
        const duration = audio.duration;
        await audio.play();
        const seeked = once('seeked');
        audio.currentTime = seekTo;
        await seeked;
        // Playback continues from the seek point.
        await new Promise<void>((resolve) => {
          const check = () => {
            if (audio.currentTime > seekTo + 0.2) {
              audio.removeEventListener('timeupdate', check);
              resolve();
            }
          };
          audio.addEventListener('timeupdate', check);
        });
        const at = audio.currentTime;
        audio.pause();
        return { duration, at, paused: audio.paused, error: audio.error?.code ?? null };
      },
      { src: opened.data.streamUrl, seekTo: SEEK_TO },
    );
    expect(played.error).toBeNull();
    expect(played.duration).toBeCloseTo(SECONDS, 1);
    expect(played.at).toBeGreaterThan(SEEK_TO);

    // The server saw the browser's range requests, each with the cookie, and served them.
    const streams = seen.filter((s) => s.url === opened.data.streamUrl);
    const described = JSON.stringify(streams.map((s) => [s.range, s.response.statusCode, s.cookie]));
    expect(streams.length, described).toBeGreaterThanOrEqual(2);
    expect(streams.every((s) => s.cookie)).toBe(true);
    const seekByte = 44 + SEEK_TO * SAMPLE_RATE * 2;
    const seekRequests = streams.filter((s) => {
      const start = Number(/^bytes=(\d+)-/.exec(s.range ?? '')?.[1] ?? 0);
      return start > 0 && start <= seekByte;
    });
    expect(seekRequests.length, described).toBeGreaterThanOrEqual(1);
    expect(seekRequests.every((s) => s.response.statusCode === 206)).toBe(true);
    expect(seekRequests[0]!.response.getHeader('content-type')).toBe('audio/wav');
    // One session, one audit event, however many range requests the browser made.
    expect(
      await ctl.db.auditEvent.count({ where: { action: 'recording.playback', targetId: recordingId } }),
    ).toBe(1);
    await page.close();
  });
});
