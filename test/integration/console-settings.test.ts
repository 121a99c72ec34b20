/**
 * The console's settings page in Chromium against the real controller: the families listed
 * from the API, an object changed through the API shows up live (its history and the diff of
 * two revisions, both in the URL), a rollback through the confirmation dialog (Esc cancels and
 * focus returns; confirming sends the CSRF token) restores the earlier value in the API and is
 * audited. A new object is created from a dialog (a refused body said in it) and deleted behind
 * a confirmation, each change with the CSRF token. No Content-Security-Policy violation. Every wait is for something the page shows.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtConsole, launchChromium, signedInPage } from '../support/console.js';
import { seriousAxeViolations } from '../support/console-axe.js';
import { bearer, type TestController, testController, userWithRole } from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';

describe('console: settings', () => {
  let ctl: TestController;
  let url: string;
  let browser: Browser;
  let page: Page;
  let cspViolations: string[];
  let profileId: string;
  const owner = async () => bearer(await ctl.ownerToken());
  const profile = async () =>
    (
      await ctl.app.inject({
        method: 'GET',
        url: `/api/v1/settings/recording-profiles/${profileId}`,
        headers: await owner(),
      })
    ).json().data as { revision: number; body: { sampleRate: number; preRollSeconds: number } };

  beforeAll(async () => {
    ctl = await testController({}, undefined, { consoleDir: await builtConsole() });
    const created = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/settings/recording-profiles',
      headers: await owner(),
      payload: { name: 'Lecture hall', body: { sampleRate: 48000, preRollSeconds: 5 } },
    });
    expect(created.statusCode, created.body).toBe(201);
    profileId = created.json().data.id;
    url = await listeningUrl(ctl);
    browser = await launchChromium();
    ({ page, cspViolations } = await signedInPage(
      browser,
      url,
      `/settings?family=recording-profiles&id=${profileId}`,
    ));
  });
  afterAll(async () => {
    await browser?.close();
    await ctl?.stop();
  });

  it('lists the families from the API and shows the object’s current value', async () => {
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    const families = await page.getByLabel('Family').locator('option').allTextContents();
    expect(families).toEqual(expect.arrayContaining(['Recording profiles', 'Watchdog policies']));
    await page.getByRole('heading', { name: /Lecture hall/ }).waitFor();
    expect(await page.getByLabel('sampleRate').inputValue()).toBe('48000');
    await page.locator('.settings-object[data-revision="1"]').waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('shows a change made through the API live: a new revision in the history and its diff', async () => {
    const changed = await ctl.app.inject({
      method: 'PATCH',
      url: `/api/v1/settings/recording-profiles/${profileId}`,
      headers: await owner(),
      payload: { body: { sampleRate: 96000 }, reason: 'music recital' },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    await page.locator('.settings-object[data-revision="2"]').waitFor();
    expect(await page.getByLabel('sampleRate').inputValue()).toBe('96000');
    const history = page.locator('.settings-history tbody tr');
    expect(await history.count()).toBe(2);
    expect(await history.first().textContent()).toContain('music recital');
    const diff = page.locator('.settings-diff tbody tr');
    expect(await diff.count()).toBe(1);
    expect(await diff.first().textContent()).toBe('sampleRate4800096000');
  });

  it('keeps the compared revisions in the URL (back returns to the previous pair)', async () => {
    await page.getByLabel('From').selectOption('2');
    await page.getByText('Choose two different revisions.').waitFor();
    expect(new URL(page.url()).searchParams.get('from')).toBe('2');
    await page.goBack();
    await page.locator('.settings-diff').waitFor();
    expect(new URL(page.url()).searchParams.get('from')).toBeNull();
    // A revision the history does not hold (an old link): the newest, against the one before.
    await page.goto(`${url}/settings?family=recording-profiles&id=${profileId}&from=1&to=99`);
    await page.locator('.settings-diff tbody tr').first().waitFor();
    expect(await page.getByLabel('To', { exact: true }).inputValue()).toBe('2');
    expect(await page.locator('.settings-diff tbody tr').first().textContent()).toBe('sampleRate4800096000');
  });

  it('rolls back behind a confirmation: Esc cancels and returns focus, confirming restores the value (audited)', async () => {
    const rollBack = page.getByRole('button', { name: 'Roll back to revision 1' });
    await rollBack.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: /back to revision 1/ });
    await dialog.waitFor();
    expect(await dialog.locator('.settings-diff').textContent()).toContain('sampleRate');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await rollBack.evaluate((element) => element === document.activeElement)).toBe(true);
    expect((await profile()).revision).toBe(2);

    await rollBack.click();
    await dialog.getByLabel('Reason').fill('recital over');
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await page.getByText('Rolled back to revision 1: now revision 3.').waitFor();
    await page.locator('.settings-object[data-revision="3"]').waitFor();
    expect(await page.getByLabel('sampleRate').inputValue()).toBe('48000');
    const stored = await profile();
    expect(stored.revision).toBe(3);
    expect(stored.body.sampleRate).toBe(48000);

    const audit = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/audit-events?action=settings.rollback',
      headers: await owner(),
    });
    const rows = audit.json().data as { action: string; reason: string | null; outcome?: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]!.reason).toBe('recital over');
  });

  it('saves a change from the form as a new revision', async () => {
    await page.getByLabel('preRollSeconds').fill('30');
    await page.getByLabel('Reason', { exact: true }).fill('longer pre-roll');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved as revision 4.').waitFor();
    expect((await profile()).body.preRollSeconds).toBe(30);
  });

  it('creates an object from a dialog (a refused body said there) and deletes it behind a confirmation', async () => {
    const changes: { method: string; csrf: string | undefined }[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/v1/settings/') && !['GET', 'HEAD'].includes(request.method()))
        changes.push({ method: request.method(), csrf: request.headers()['x-csrf-token'] });
    });
    const opener = page.getByRole('button', { name: 'New recording profile…' });
    await opener.click();
    const dialog = page.getByRole('dialog', { name: 'New recording profile' });
    await dialog.getByLabel('Name').fill('Chapel');
    await dialog.getByLabel(/^Body/).fill('{"sampleRate": ');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByRole('alert').getByText('The body is not valid JSON.').waitFor();
    await dialog.getByLabel(/^Body/).fill('{"sampleRate": "fast"}');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog
      .getByRole('alert')
      .getByText(/sampleRate/)
      .waitFor(); // the server's own words
    await dialog.getByLabel(/^Body/).fill('{"sampleRate": 44100}');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: /Chapel/ }).waitFor();
    const chapelId = new URL(page.url()).searchParams.get('id')!;
    expect(chapelId).not.toBe(profileId);
    expect(await page.getByLabel('sampleRate').inputValue()).toBe('44100');
    await page.getByRole('navigation', { name: 'Objects' }).getByRole('link', { name: 'Chapel' }).waitFor();

    await page.getByRole('button', { name: 'Delete…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete Chapel?' });
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await confirm.waitFor({ state: 'detached' });
    await page.getByRole('navigation', { name: 'Objects' }).getByRole('link', { name: 'Chapel' }).waitFor({
      state: 'detached',
    });
    expect(new URL(page.url()).searchParams.get('id')).toBeNull();
    const gone = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/settings/recording-profiles/${chapelId}`,
      headers: await owner(),
    });
    expect(gone.statusCode).toBe(404);
    // Two refused creates (the server's), one create, one delete: each with the CSRF token.
    expect(changes.map((c) => c.method)).toEqual(['POST', 'POST', 'DELETE']);
    expect(changes.every((c) => Boolean(c.csrf))).toBe(true);
  });

  it('shows a viewer the value and history read-only: no save, no rollback (the server decides too)', async () => {
    await userWithRole(ctl, 'settings-viewer', 'viewer');
    const viewer = await signedInPage(browser, url, `/settings?family=recording-profiles&id=${profileId}`, {
      username: 'settings-viewer',
      password: 'settings-viewer-password-123',
    });
    await viewer.page.locator('.settings-history tbody tr').first().waitFor();
    expect(await viewer.page.getByLabel('sampleRate').getAttribute('readonly')).not.toBeNull();
    expect(await viewer.page.getByRole('button', { name: 'Save' }).count()).toBe(0);
    expect(await viewer.page.getByRole('button', { name: /Roll back|New |Delete/ }).count()).toBe(0);
    expect(viewer.cspViolations).toEqual([]);
    await viewer.page.context().close();
  });

  it('violates no Content-Security-Policy', () => {
    expect(cspViolations).toEqual([]);
  });
});
