/**
 * The console's attendance page in Chromium against the real controller: a guild seeded through
 * the attendance service and its inbound webhook (two members in voice, the period archived
 * and signed), the archived leaderboard by period (in the URL) with the members' names, a
 * member's detail, the
 * signature verified through the API, the signed export downloaded with the session cookie
 * (no token in the URL), and the current period. No Content-Security-Policy violation.
 */
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtConsole, launchChromium, signedInPage } from '../support/console.js';
import { seriousAxeViolations } from '../support/console-axe.js';
import { bearer, type TestController, testController } from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';

const GUILD = '120000000000000001';
const VOICE = '220000000000000001';
const ALICE = '320000000000000001';
const BOB = '320000000000000002';
const SECRET = 'console-attendance-webhook-secret';
const H = 3_600_000;

describe('console: attendance', () => {
  let ctl: TestController;
  let url: string;
  let browser: Browser;
  let page: Page;
  let cspViolations: string[];
  let archived: number;
  // The controller's clock: hours back while the members are in voice, then real time.
  const real = Date.now();
  let nowMs = real - 3 * H;

  const voice = async (userId: string, channelId: string | null, displayName?: string) => {
    const response = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/attendance',
      headers: { 'x-webhook-secret': SECRET },
      payload: {
        guild_id: GUILD,
        user_id: userId,
        channel_id: channelId,
        ...(displayName ? { display_name: displayName } : {}),
      },
    });
    expect(response.statusCode, response.body).toBe(200);
  };
  const owner = async (method: 'POST' | 'PATCH', path: string, payload: object = {}) => {
    const response = await ctl.app.inject({
      method,
      url: `/api/v1/guilds/${GUILD}${path}`,
      headers: bearer(await ctl.ownerToken()),
      payload,
    });
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response.json().data;
  };

  beforeAll(async () => {
    ctl = await testController({ attendanceWebhookSecret: SECRET }, () => new Date(nowMs), {
      consoleDir: await builtConsole(),
    });
    await ctl.services.attendance.onGuildAvailable(GUILD, 'Choir', [], null);
    nowMs = real - 2 * H;
    await voice(ALICE, VOICE, 'Alice');
    await voice(BOB, VOICE);
    nowMs = real - H;
    await voice(BOB, null);
    nowMs = real - H / 2;
    await voice(ALICE, null);
    nowMs = real;
    archived = (await owner('POST', '/reset-now')).archived_period_index;
    await owner('POST', '/signing/generate-keys', { passphrase: 'a long enough passphrase' });
    await owner('PATCH', '/subscription', { tier: 'pro' });
    // In the current period, still in voice; named only now (the archived board shows today's names).
    await voice(BOB, VOICE, 'Bob B.');
    url = await listeningUrl(ctl);
    browser = await launchChromium();
    ({ page, cspViolations } = await signedInPage(browser, url, '/attendance'));
  });
  afterAll(async () => {
    await browser?.close();
    await ctl?.stop();
  });

  it('opens on the guild’s current period, with the signing status', async () => {
    await page.getByRole('heading', { name: 'Attendance', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Leaderboard, current period' }).waitFor();
    expect(new URL(page.url()).searchParams.get('guild')).toBe(GUILD);
    expect(await page.locator('.attendance-signing').textContent()).toContain('Unlocked');
  });

  it('shows an archived period’s signed leaderboard (period in the URL), and a member', async () => {
    await page.getByLabel('Period', { exact: true }).selectOption(String(archived));
    await page.getByRole('heading', { name: `Leaderboard, period ${archived}` }).waitFor();
    expect(new URL(page.url()).searchParams.get('period')).toBe(String(archived));
    const rows = page.locator('.attendance-board tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-user-id')))).toEqual([
      ALICE,
      BOB,
    ]);
    expect(await rows.first().textContent()).toContain('1 h 30 min');
    // The signed snapshot holds ids; the names are asked for beside it.
    await page.getByRole('link', { name: `Alice ${ALICE}` }).waitFor();
    await page.getByRole('link', { name: `Bob B. ${BOB}` }).waitFor();
    await page.locator('.attendance-signature[data-signed="true"]').waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);

    await page.getByRole('link', { name: BOB }).click();
    await page.getByRole('heading', { name: `Member Bob B. ${BOB}` }).waitFor();
    expect(await page.locator('.attendance-member').textContent()).toContain('Rank 2 · 1 h 00 min active');
    expect(new URL(page.url()).searchParams.get('member')).toBe(BOB);
    await page.goBack();
    await page.getByRole('heading', { name: `Member Bob B. ${BOB}` }).waitFor({ state: 'detached' });
  });

  it('verifies the period’s signature through the API', async () => {
    await page.getByRole('button', { name: 'Verify signature' }).click();
    await page.getByText('Verified', { exact: true }).waitFor();
  });

  it('downloads the signed export with the session cookie, no token in its URL', async () => {
    const link = page.getByRole('link', { name: 'Download the signed export' });
    const href = await link.getAttribute('href');
    expect(href).toBe(`/api/v1/guilds/${GUILD}/export/period/${archived}`);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.url()).not.toMatch(/token|csrf/i);
    const exported = JSON.parse(await readFile((await download.path())!, 'utf8'));
    expect(JSON.stringify(exported)).toContain(GUILD);
  });

  it('says so for a guild it cannot show, and shows the current period’s live figures', async () => {
    await page.goto(`${url}/attendance?guild=129999999999999999`);
    await page.getByRole('alert').getByText('No such guild (or not yours to see).').waitFor();
    await page.goto(`${url}/attendance?guild=${GUILD}&member=${BOB}`);
    await page.getByRole('heading', { name: 'Leaderboard, current period' }).waitFor();
    await page.locator(`.attendance-board tr[data-user-id="${BOB}"]`).waitFor();
    expect(await page.locator(`.attendance-board tr[data-user-id="${BOB}"]`).textContent()).toContain(
      'Bob B.',
    );
    await page.getByRole('heading', { name: `Member Bob B. ${BOB}` }).waitFor();
    await page.getByText(/Rank 1 · .* active · .* paused · 1 session$/).waitFor();
  });

  it('violates no Content-Security-Policy', () => {
    expect(cspViolations).toEqual([]);
  });
});
