/**
 * The console's audit trail page in Chromium against the real controller, seeded through the
 * API: a change made through the API appears on the page; filtering by action keeps the filter
 * in the URL and a deep link reopens it; a viewer's refused change shows as denied; a row opens
 * to its before/after side by side; the export link carries the filters and no token (the
 * cookie goes with it). An event appended while the page is open is put on top, live (the
 * stream's `audit.appended`; the tail's pass driven by the test). A viewer has no Audit entry. No Content-Security-Policy violation.
 * Every wait is for something the page shows.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtConsole, launchChromium, signedInPage } from '../support/console.js';
import { bearer, type TestController, testController, userWithRole } from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';

describe('console: audit trail', () => {
  let ctl: TestController;
  let url: string;
  let browser: Browser;
  let page: Page;
  let cspViolations: string[];
  let aliceId: string;
  const owner = async () => bearer(await ctl.ownerToken());

  beforeAll(async () => {
    ctl = await testController({}, undefined, { consoleDir: await builtConsole() });
    const created = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/users',
      headers: await owner(),
      payload: { username: 'audit-alice', password: 'audit-alice-password', grants: [] },
    });
    expect(created.statusCode, created.body).toBe(201);
    aliceId = created.json().data.id;
    const disabled = await ctl.app.inject({
      method: 'PATCH',
      url: `/api/v1/auth/users/${aliceId}/status`,
      headers: await owner(),
      payload: { disabled: true },
    });
    expect(disabled.statusCode, disabled.body).toBe(200);
    // A viewer tries to create a user: refused, and audited as a denial.
    const viewer = await userWithRole(ctl, 'audit-viewer', 'viewer');
    const refused = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/users',
      headers: bearer(viewer),
      payload: { username: 'audit-mallory', password: 'audit-mallory-password' },
    });
    expect(refused.statusCode).toBe(403);
    url = await listeningUrl(ctl);
    browser = await launchChromium();
    ({ page, cspViolations } = await signedInPage(browser, url, '/audit'));
  });
  afterAll(async () => {
    await browser?.close();
    await ctl?.stop();
  });

  const row = (action: string) =>
    page.locator('.audit-row', { has: page.getByText(action, { exact: true }) });

  it('lists the events, newest first; a change made through the API appears', async () => {
    await page.getByRole('heading', { name: 'Audit trail', level: 1 }).waitFor();
    await row('auth.user.disable').first().waitFor();
    await row('auth.user.create').first().waitFor();
    const actions = await page.locator('.audit-action').allTextContents();
    expect(actions.indexOf('auth.user.disable')).toBeLessThan(actions.indexOf('auth.user.create'));
    const enabled = await ctl.app.inject({
      method: 'PATCH',
      url: `/api/v1/auth/users/${aliceId}/status`,
      headers: await owner(),
      payload: { disabled: false },
    });
    expect(enabled.statusCode, enabled.body).toBe(200);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await row('auth.user.enable').waitFor();
    expect(await row('auth.user.enable').locator('.audit-target').textContent()).toBe(`user ${aliceId}`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit trail' }).waitFor();
  });

  it('puts an event appended meanwhile on top, live from the events stream (no reload)', async () => {
    await page.evaluate(() => Object.assign(window, { samePage: true }));
    expect(await row('auth.api_token.create').count()).toBe(0);
    const created = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/api-tokens',
      headers: await owner(),
      payload: { name: 'audit live' },
    });
    expect(created.statusCode, created.body).toBe(201);
    // The events tail's pass (its timer's work, driven here) tells the page the trail grew.
    await expect
      .poll(async () => {
        await ctl.services.events.tick();
        return row('auth.api_token.create').count();
      })
      .toBe(1);
    expect(await page.locator('.audit-action').first().textContent()).toBe('auth.api_token.create');
    // The rows already shown stay below it, once each.
    expect(await row('auth.user.enable').count()).toBe(1);
    expect(await page.evaluate(() => 'samePage' in window)).toBe(true);
  });

  it('filters by action, kept in the URL; a deep link reopens the same view', async () => {
    await page.getByLabel('Action').fill('auth.user.disable');
    await page.getByRole('button', { name: 'Apply' }).click();
    await row('auth.user.create').waitFor({ state: 'detached' });
    // The old rows go before the filtered page arrives: wait for it, not for the gap between.
    await row('auth.user.disable').waitFor();
    expect(new URL(page.url()).searchParams.get('action')).toBe('auth.user.disable');
    expect(await page.locator('.audit-action').allTextContents()).toEqual(['auth.user.disable']);
    const second = await page.context().newPage();
    try {
      await second.goto(`${url}/audit?action=auth.user.disable`);
      await second.locator('.audit-row').first().waitFor();
      expect(await second.locator('.audit-action').allTextContents()).toEqual(['auth.user.disable']);
      expect(await second.getByLabel('Action').inputValue()).toBe('auth.user.disable');
    } finally {
      await second.close();
    }
    // Back returns to the unfiltered list.
    await page.goBack();
    await row('auth.user.create').waitFor();
    expect(new URL(page.url()).search).toBe('');
  });

  it('shows a viewer’s refused change as denied, and filters by outcome', async () => {
    await page.getByLabel('Outcome').selectOption('denied');
    await page.getByRole('button', { name: 'Apply' }).click();
    await row('auth.user.create').waitFor({ state: 'detached' });
    expect(new URL(page.url()).searchParams.get('outcome')).toBe('denied');
    const denied = page.locator('.audit-row[data-outcome="denied"]', { hasText: 'audit-viewer' });
    await denied.waitFor();
    expect(await denied.locator('.audit-outcome').textContent()).toBe('Denied');
    expect(await page.locator('.audit-row:not([data-outcome="denied"])').count()).toBe(0);
  });

  it('filters by actor and time range (the operator’s local time in the form, an instant in the URL)', async () => {
    await page.goto(`${url}/audit`);
    await page.getByLabel('Actor').fill('audit-viewer');
    await page.getByRole('button', { name: 'Apply' }).click();
    // The unfiltered rows (the owner's among them) go before the filtered page arrives.
    await row('auth.user.create').first().waitFor({ state: 'detached' });
    await page.locator('.audit-row[data-outcome="denied"]').waitFor();
    await expect
      .poll(async () => new Set(await page.locator('.audit-actor').allTextContents()))
      .toEqual(new Set(['audit-viewer']));
    // From a minute in the future: nothing yet.
    const later = new Date(Date.now() + 120_000);
    const pad = (n: number) => String(n).padStart(2, '0');
    const local = `${later.getFullYear()}-${pad(later.getMonth() + 1)}-${pad(later.getDate())}T${pad(later.getHours())}:${pad(later.getMinutes())}`;
    await page.getByLabel('From').fill(local);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('No audit event matches these filters.').waitFor();
    const from = new URL(page.url()).searchParams.get('from')!;
    expect(new Date(from).getTime()).toBe(new Date(local).getTime());
    expect(new URL(page.url()).searchParams.get('actorName')).toBe('audit-viewer');
    await page.getByRole('link', { name: 'Clear filters' }).click();
    await row('auth.user.create').waitFor();
    expect(new URL(page.url()).search).toBe('');
  });

  it('opens a row to its before and after, changed keys side by side', async () => {
    await page.goto(`${url}/audit?action=auth.user.disable`);
    const disable = row('auth.user.disable');
    await disable.getByRole('button', { name: 'Details' }).click();
    const changed = disable.locator('.audit-diff tr[data-key="disabled"]');
    await changed.waitFor();
    expect(await changed.locator('td').allTextContents()).toEqual(['false', 'true']);
    expect(await changed.getAttribute('class')).toBe('diff-changed');
    // A key only after (added) has nothing before.
    expect(await disable.locator('.audit-diff tr[data-key="sessionsEnded"] td').first().textContent()).toBe(
      '—',
    );
    expect(await disable.getByRole('button', { name: 'Hide details' }).getAttribute('aria-expanded')).toBe(
      'true',
    );
  });

  it('pages through older events with the cursor in the URL', async () => {
    // 50 more changes to alice: with create, disable and enable, more than one page of 50.
    for (let i = 0; i < 50; i++) {
      const toggled = await ctl.app.inject({
        method: 'PATCH',
        url: `/api/v1/auth/users/${aliceId}/status`,
        headers: await owner(),
        payload: { disabled: i % 2 === 0 },
      });
      expect(toggled.statusCode).toBe(200);
    }
    await page.goto(`${url}/audit?targetId=${aliceId}`);
    await page.locator('.audit-row').nth(49).waitFor();
    expect(await page.locator('.audit-row').count()).toBe(50);
    await page.getByRole('link', { name: 'Older' }).click();
    await row('auth.user.create').waitFor();
    expect(new URL(page.url()).searchParams.get('targetId')).toBe(aliceId);
    expect(new URL(page.url()).searchParams.get('cursor')).toBeTruthy();
    expect(await page.locator('.audit-action').allTextContents()).toEqual([
      'auth.user.enable',
      'auth.user.disable',
      'auth.user.create',
    ]);
    expect(await page.getByRole('link', { name: 'Older' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Newest' }).click();
    await row('auth.user.create').waitFor({ state: 'detached' });
    expect(new URL(page.url()).search).toBe(`?targetId=${aliceId}`);
    await page.goto(`${url}/audit?action=auth.user.disable`);
  });

  it('exports the filtered events through a link with no token in it (the cookie goes with it)', async () => {
    const link = page.getByRole('link', { name: 'CSV' });
    const href = (await link.getAttribute('href'))!;
    expect(href).toBe('/api/v1/audit-events/export?action=auth.user.disable&format=csv');
    expect(href).not.toMatch(/token|csrf/i);
    const download = page.waitForEvent('download');
    await link.click();
    const file = await (await download).createReadStream();
    let text = '';
    for await (const chunk of file) text += String(chunk);
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(/^seq,id,at,/);
    // The first disable and the 25 of the toggles, nothing else.
    expect(lines).toHaveLength(27);
    expect(lines.slice(1).every((line) => line.includes(',auth.user.disable,'))).toBe(true);
    // The export itself is audited, under the owner.
    const exported = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/audit-events?action=audit.export',
      headers: await owner(),
    });
    expect(exported.json().data[0]).toMatchObject({ actor: { name: 'owner' }, outcome: 'success' });
  });

  it('has no Audit entry for a viewer, and no CSP violation', async () => {
    const { page: viewer } = await signedInPage(browser, url, '/fleet', {
      username: 'audit-viewer',
      password: 'audit-viewer-password-123',
    });
    const nav = viewer.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Fleet' }).waitFor();
    expect(await nav.getByRole('link', { name: 'Audit trail' }).count()).toBe(0);
    await viewer.goto(`${url}/audit`);
    await viewer.getByText('Your role cannot use Audit trail.').waitFor();
    await viewer.context().close();
    expect(cspViolations).toEqual([]);
  });
});
