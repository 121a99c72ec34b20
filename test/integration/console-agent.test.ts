/**
 * The console's second tier: the real controller (serving the built console on real HTTP, its
 * broker started) with a real agent daemon capturing (sox) from a PulseAudio null sink that
 * plays a tone, driven from headless Chromium. Sign in; the fleet shows the node online; its
 * node page's meter reads the tone's level and moves when the tone changes; a recording is
 * started from the Schedules page ("Record now"), recorded by the agent, uploaded and completed
 * (the recording page follows it live), then played (the waveform is painted from the server's
 * peaks and the `<audio>` element plays); a setting changed through the API is rolled back from
 * the Settings page. Each step is checked on the page and in what the API stored. Every wait
 * is for something the page (or the API) shows; no sleeps.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/src/agent.js';
import { enrolledAgentSettings, testAgent } from '../support/agent-harness.js';
import { builtConsole, launchChromium, signedInPage } from '../support/console.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';
import { hasPulse, type PulseSink, startPulseSink, useSinkEnv } from '../support/pulse.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const NODE_ID = 'console-agent';
const NODE_NAME = 'Lab mic';
const SCHEDULE = 'Sound check';
const TONE_DBFS = -20;
/** Real things on a loaded 2-core machine: an agent connecting, a recording uploading. */
const REAL_MS = 30_000;

interface RecordingView {
  id: string;
  state: string;
  sha256: string | null;
  durationMs: number | null;
  sizeBytes: number | null;
}

describe.skipIf(!(await hasPulse()))('console against a real agent on a PulseAudio sink', () => {
  let ctl: TestController;
  let url: string;
  let dir: TempDir;
  let sink: PulseSink;
  let agent: Agent;
  let browser: Browser;
  let page: Page;
  let cspViolations: string[];
  let restoreEnv = () => {};
  let scheduleId: string;
  let profileId: string;
  let recordingId: string;

  const api = async <T = Record<string, unknown>>(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    payload?: object,
  ): Promise<T> => {
    const response = await ctl.app.inject({
      method,
      url: `/api/v1${path}`,
      headers: bearer(await ctl.ownerToken()),
      payload,
    });
    expect(response.statusCode, `${method} ${path}: ${response.body}`).toBeLessThan(300);
    return response.json().data as T;
  };

  beforeAll(async () => {
    dir = await tempDir('console-agent');
    sink = await startPulseSink({ peakDbfs: TONE_DBFS, hz: 1000, sampleRate: 48_000, channels: 2 });
    restoreEnv = useSinkEnv(sink);
    ctl = await testController({ mqttHost: '127.0.0.1', httpHost: '127.0.0.1' }, undefined, {
      consoleDir: await builtConsole(),
    });
    await ctl.start();
    url = await listeningUrl(ctl);
    const node = await enrolledNode(ctl, { id: NODE_ID, site: 'lab', name: NODE_NAME });
    // Past the horizon jobs are materialised for: only "Record now" makes it record here.
    const schedule = await api<{ id: string }>('POST', '/schedules', {
      name: SCHEDULE,
      timeZone: 'UTC',
      start: new Date(Date.now() + 60 * 86_400_000).toISOString().slice(0, 19),
      durationSeconds: 3,
      targets: [{ nodeId: NODE_ID }],
    });
    scheduleId = schedule.id;
    const profile = await api<{ id: string }>('POST', '/settings/recording-profiles', {
      name: 'Lab profile',
      body: { sampleRate: 48000, preRollSeconds: 5 },
    });
    profileId = profile.id;
    const settings = await enrolledAgentSettings(
      dir.path,
      node,
      url,
      `mqtt://127.0.0.1:${ctl.broker.port()}`,
      { EARSHOT_AGENT_DEVICE: sink.monitor },
    );
    agent = testAgent(settings, { createCapture: undefined }); // the real sox capture
    await agent.start();
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await ctl?.stop();
    restoreEnv();
    await sink?.stop();
    await dir?.cleanup();
  });

  it('signs in and shows the agent’s node online on the fleet', async () => {
    ({ page, cspViolations } = await signedInPage(browser, url, '/fleet'));
    page.setDefaultTimeout(15_000);
    await page.getByRole('heading', { name: 'Fleet', level: 1 }).waitFor();
    const tile = page.locator(`.tile[data-node-id="${NODE_ID}"]`);
    await page.locator(`.tile[data-node-id="${NODE_ID}"][data-state="online"]`).waitFor({ timeout: REAL_MS });
    expect(await tile.locator('.tile-state').textContent()).toBe('Online');
    const stored = await api<{ presence: { online: boolean }; agentVersion: string | null }>(
      'GET',
      `/nodes/${NODE_ID}`,
    );
    expect(stored.presence.online).toBe(true);
    expect(stored.agentVersion).not.toBeNull();
  });

  it('opens the node: its meter reads the tone and moves when the tone changes', async () => {
    await page.locator(`.tile[data-node-id="${NODE_ID}"]`).getByRole('link', { name: NODE_NAME }).click();
    await page.getByRole('heading', { name: NODE_NAME, level: 1 }).waitFor();
    const meter = page.getByRole('meter', { name: `${NODE_NAME} channel 1 level` });
    const level = async () => Number(await meter.getAttribute('aria-valuenow'));
    // The scale's bottom until frames arrive; then the tone's peak (whole dB, updated at 1 Hz).
    await expect.poll(level, { timeout: REAL_MS }).toBe(TONE_DBFS);
    const frame = (
      await api<{ frame: { channels: { peakDbfs: number }[] } | null }>('GET', `/nodes/${NODE_ID}/meters`)
    ).frame;
    expect(Math.abs(frame!.channels[0]!.peakDbfs - TONE_DBFS)).toBeLessThan(0.5);

    await sink.play({ peakDbfs: -6 });
    await expect.poll(level, { timeout: REAL_MS }).toBe(-6);
    await sink.play({ peakDbfs: TONE_DBFS });
    await expect.poll(level, { timeout: REAL_MS }).toBe(TONE_DBFS);
  });

  it('starts a recording from the Schedules page; the agent records and uploads it', async () => {
    const jobsOfNode = () =>
      api<{ id: string; recordingId: string }[]>('GET', `/recording-jobs?nodeId=${NODE_ID}`);
    expect(await jobsOfNode()).toEqual([]);
    await page.getByRole('link', { name: 'Schedules' }).click();
    await page.getByRole('heading', { name: 'Schedules', level: 1 }).waitFor();
    await page.getByRole('button', { name: `Record ${SCHEDULE} now` }).click();
    const dialog = page.getByRole('dialog', { name: `Record now: ${SCHEDULE}?` });
    await dialog.getByRole('button', { name: 'Record now' }).click();
    await dialog.waitFor({ state: 'detached' });
    const jobs = await jobsOfNode();
    expect(jobs).toEqual([expect.objectContaining({ scheduleId })]);
    recordingId = jobs[0]!.recordingId;

    // The recording's page, from the list; it follows the recording live until it is complete.
    await page.goto(`${url}/recordings?nodeId=${NODE_ID}`);
    await page.locator(`a[href="/recordings/${recordingId}"]`).first().click();
    await page.waitForURL(`${url}/recordings/${recordingId}`);
    const wave = page.getByTestId('rec-wave');
    await wave.waitFor({ timeout: REAL_MS });
    const stored = await api<RecordingView>('GET', `/recordings/${recordingId}`);
    expect(stored.state).toBe('completed');
    expect(stored.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.durationMs).toBeGreaterThanOrEqual(2900);
    await expect.poll(() => page.getByTestId('rec-sha256').textContent()).toBe(stored.sha256);
    const context = await api<{
      upload: { state: string; receivedBytes: number; expectedBytes: number | null };
    }>('GET', `/recordings/${recordingId}/context`);
    expect(context.upload.state).toBe('completed');
    expect(context.upload.receivedBytes).toBe(stored.sizeBytes);
    await page.locator('.facts dd', { hasText: /^completed, / }).waitFor();
  });

  it('plays the recording: the waveform is painted from the peaks and the audio plays', async () => {
    const wave = page.getByTestId('rec-wave');
    await expect.poll(() => wave.getAttribute('data-painted'), { timeout: REAL_MS }).toMatch(/^\d+$/);
    // Painted at the tone's level: −20 dBFS is a tenth of full scale, so its columns span about a
    // tenth of the height (the tallest of a few columns: one may fall in the looped tone's seam).
    const inked = await wave.evaluate((canvas: HTMLCanvasElement) => {
      const ctx = canvas.getContext('2d')!;
      let most = 0;
      for (const at of [0.2, 0.35, 0.5, 0.65, 0.8]) {
        const { data } = ctx.getImageData(Math.floor(canvas.width * at), 0, 1, canvas.height);
        let rows = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) rows += 1;
        most = Math.max(most, rows / canvas.height);
      }
      return most;
    });
    expect(inked).toBeGreaterThan(0.07);
    expect(inked).toBeLessThan(0.2);

    // Media events do not bubble: heard on the document in the capture phase.
    await page.evaluate(() => {
      document.addEventListener(
        'playing',
        () => {
          document.body.dataset.audioPlaying = 'yes';
        },
        { capture: true, once: true },
      );
    });
    await page.getByRole('button', { name: 'Play' }).click();
    const audio = page.getByTestId('rec-audio');
    await audio.waitFor();
    expect(await audio.getAttribute('src')).toBe(`/api/v1/recordings/${recordingId}/stream`);
    await page.locator('body[data-audio-playing="yes"]').waitFor({ timeout: REAL_MS });
    await page.waitForFunction(
      () => {
        const element = document.querySelector('audio');
        return element !== null && !element.paused && element.currentTime > 0.3;
      },
      undefined,
      { timeout: REAL_MS },
    );
    expect(await audio.evaluate((element: HTMLAudioElement) => element.error)).toBeNull();
  });

  it('rolls back a setting changed through the API from the Settings page', async () => {
    await api('PATCH', `/settings/recording-profiles/${profileId}`, {
      body: { preRollSeconds: 30 },
      reason: 'longer pre-roll',
    });
    await page.goto(`${url}/settings?family=recording-profiles&id=${profileId}`);
    await page.locator('.settings-object[data-revision="2"]').waitFor();
    expect(await page.getByLabel('preRollSeconds').inputValue()).toBe('30');
    await page.getByRole('button', { name: 'Roll back to revision 1' }).click();
    const dialog = page.getByRole('dialog', { name: /back to revision 1/ });
    await dialog.getByLabel('Reason').fill('back to the lab default');
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await page.getByText('Rolled back to revision 1: now revision 3.').waitFor();
    // The notice shows before the object is read again; the form holds revision 3's value once
    // the page shows revision 3 (read before that, it could still hold 30).
    await page.locator('.settings-object[data-revision="3"]').waitFor();
    expect(await page.getByLabel('preRollSeconds').inputValue()).toBe('5');
    const stored = await api<{ revision: number; body: { preRollSeconds: number } }>(
      'GET',
      `/settings/recording-profiles/${profileId}`,
    );
    expect(stored).toMatchObject({ revision: 3, body: { preRollSeconds: 5 } });
  });

  it('violates no Content-Security-Policy', () => {
    expect(cspViolations).toEqual([]);
  });
});
