/**
 * The console's system page in Chromium against the real controller: the version and health
 * from `/health`, the health history drawn as a chart (uPlot's canvas, from samples the sampler
 * took), the operational log listing a settings change (live, its kind filter in the URL), and
 * the notification integrations: a refused enable shown on its row, a disable reaching the API.
 * No Content-Security-Policy violation. Every wait is for something the page shows.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageVersion } from '../../shared/src/version.js';
import { builtConsole, launchChromium, signedInPage } from '../support/console.js';
import { seriousAxeViolations } from '../support/console-axe.js';
import { bearer, type TestController, testController, userWithRole } from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';

describe('console: system', () => {
  let ctl: TestController;
  let url: string;
  let browser: Browser;
  let page: Page;
  let cspViolations: string[];
  let integrationId: string;
  // The controller's clock: moved back a few minutes to take history samples, then real time.
  let nowMs = Date.now();
  const owner = async () => bearer(await ctl.ownerToken());

  beforeAll(async () => {
    // The test's webhook receiver listens on loopback.
    ctl = await testController({ webhookAllowPrivateNetworks: true }, () => new Date(nowMs), {
      consoleDir: await builtConsole(),
    });
    await ctl.services.healthSampler.stop(); // its passes are taken by hand
    const start = Date.now() - 5 * 60_000;
    for (let minute = 0; minute < 3; minute++) {
      nowMs = start + minute * 60_000;
      await ctl.services.healthSampler.pass();
    }
    nowMs = Date.now();
    const created = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/integrations',
      headers: await owner(),
      payload: {
        name: 'Ops chat',
        kind: 'slack',
        url: 'https://hooks.slack.com/services/T000/B000/XXXXXXXX',
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    integrationId = created.json().data.id;
    url = await listeningUrl(ctl);
    browser = await launchChromium();
    ({ page, cspViolations } = await signedInPage(browser, url, '/system'));
  });
  afterAll(async () => {
    await browser?.close();
    await ctl?.stop();
  });

  it('shows the version and the controller’s health', async () => {
    await page.getByRole('heading', { name: 'System', level: 1 }).waitFor();
    const facts = page.locator(`.facts[data-version="${packageVersion()}"]`);
    await facts.waitFor();
    expect(await facts.textContent()).toContain('reachable');
  });

  it('draws the health history as a chart (uPlot’s canvas)', async () => {
    await page.locator('.system-chart canvas').waitFor();
    expect(await page.locator('.system-chart figcaption').textContent()).toContain('3 samples');
    await page.getByRole('img', { name: /Nodes online/ }).waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    // A theme change draws it again, in the theme's colours.
    const drawn = await page.locator('.system-chart canvas').elementHandle();
    await page.getByLabel('Theme').selectOption('dark');
    await page.waitForFunction((canvas) => !canvas?.isConnected, drawn);
    await page.locator('.system-chart canvas').waitFor();
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.getByLabel('Theme').selectOption('system');
  });

  it('lists a settings change in the operational log, live, and filters by kind in the URL', async () => {
    ctl.services.opsLog.record({ kind: 'demo.seeded', level: 'info', message: 'demo data seeded' });
    await ctl.services.opsLog.flush();
    const created = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/settings/watchdog-policies',
      headers: await owner(),
      payload: { name: 'Quiet rooms' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const row = page.locator('.ops-log li[data-kind="settings.changed"]', { hasText: 'Quiet rooms' });
    await row.waitFor();
    const demo = page.locator('.ops-log li[data-kind="demo.seeded"]');
    await demo.waitFor();
    await page.getByLabel('Kind').selectOption('settings.changed');
    await demo.waitFor({ state: 'detached' });
    expect(new URL(page.url()).searchParams.get('kind')).toBe('settings.changed');
    await row.waitFor();
    expect(await page.locator('.ops-log li').count()).toBe(1);
    await page.goBack();
    await demo.waitFor();
    expect(new URL(page.url()).searchParams.get('kind')).toBeNull();
  });

  it('pages through the log by the API’s cursor (in the URL); back returns to the newest', async () => {
    for (let i = 0; i < 60; i++)
      ctl.services.opsLog.record({ kind: 'demo.reset', level: 'info', message: `demo reset ${i}` });
    await ctl.services.opsLog.flush();
    await page.getByLabel('Kind').selectOption('demo.reset');
    const rows = page.locator('.ops-log li[data-kind="demo.reset"]');
    await rows.nth(49).waitFor();
    expect(await rows.count()).toBe(50);
    await page.getByRole('link', { name: 'Older' }).click();
    await page.getByRole('link', { name: 'Newest' }).waitFor();
    await rows.nth(10).waitFor({ state: 'detached' });
    expect(await rows.count()).toBe(10);
    expect(new URL(page.url()).searchParams.get('cursor')).toBeTruthy();
    expect(await page.getByRole('link', { name: 'Older' }).count()).toBe(0);
    await page.goBack();
    await rows.nth(49).waitFor();
    expect(new URL(page.url()).searchParams.get('cursor')).toBeNull();
  });

  it('lists the integrations: an enable the API refuses says why; a disable reaches the API', async () => {
    const row = page.locator(`[data-integration-id="${integrationId}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('draft');
    await row.getByRole('button', { name: 'Enable Ops chat' }).click();
    await row.getByRole('alert').waitFor();
    expect(await row.getAttribute('data-status')).toBe('draft');

    await ctl.db.notificationIntegration.update({
      where: { id: integrationId },
      data: { status: 'enabled' },
    });
    await page.reload();
    await page.locator(`[data-integration-id="${integrationId}"][data-status="enabled"]`).waitFor();
    await row.getByRole('button', { name: 'Disable Ops chat' }).click();
    await page.locator(`[data-integration-id="${integrationId}"][data-status="disabled"]`).waitFor();
    const stored = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/integrations/${integrationId}`,
      headers: await owner(),
    });
    expect(stored.json().data.status).toBe('disabled');
  });

  it('creates a webhook (its secret shown once), tests it, reads its deliveries, edits, rotates and deletes it', async () => {
    const received: string[] = [];
    const receiver = createServer((request, response) => {
      received.push(request.headers['x-earshot-signature'] ? 'signed' : 'unsigned');
      request.resume().on('end', () => response.writeHead(204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      await page.goto(`${url}/system`);
      const section = page.getByRole('region', { name: 'Notification integrations' });
      await section.getByRole('button', { name: 'New integration…' }).click();
      const create = page.getByRole('dialog', { name: 'New integration' });
      await create.getByLabel('Name').fill('Pager relay');
      await create.getByLabel('URL').fill(hook);
      await create.getByRole('button', { name: 'Create' }).click();
      const shown = page.getByRole('dialog', { name: 'Signing secret of the integration' });
      const secret = await shown.getByLabel('Secret').inputValue();
      expect(secret.length).toBeGreaterThan(16);
      await shown.getByRole('button', { name: 'Done' }).click();
      const [stored] = await ctl.db.notificationIntegration.findMany({ where: { name: 'Pager relay' } });
      const row = page.locator(`[data-integration-id="${stored!.id}"]`);
      await row.getByRole('button', { name: 'Test Pager relay' }).click();
      await row.getByText(/test passed/).waitFor();
      await row.getByRole('button', { name: 'Deliveries Pager relay' }).click();
      await row
        .getByRole('table', { name: 'Deliveries of Pager relay' })
        .locator('[data-delivery-status="delivered"]')
        .first()
        .waitFor();
      expect(received.length).toBeGreaterThan(0);
      await row.getByRole('button', { name: 'Enable Pager relay' }).click();
      await page.locator(`[data-integration-id="${stored!.id}"][data-status="enabled"]`).waitFor();

      await row.getByRole('button', { name: 'Edit… Pager relay' }).click();
      const edit = page.getByRole('dialog', { name: 'Edit Pager relay' });
      await edit.getByLabel('Name').fill('Night pager');
      await edit.getByLabel('health.changed').check();
      await edit.getByRole('button', { name: 'Save' }).click();
      await row.locator('strong', { hasText: 'Night pager' }).waitFor();
      const edited = await ctl.app.inject({
        method: 'GET',
        url: `/api/v1/integrations/${stored!.id}`,
        headers: await owner(),
      });
      expect(edited.json().data).toMatchObject({
        name: 'Night pager',
        rules: { events: expect.arrayContaining(['health.changed']) },
      });

      await row.getByRole('button', { name: 'Rotate secret… Night pager' }).click();
      await page
        .getByRole('dialog', { name: 'Rotate the secret of Night pager?' })
        .getByRole('button', { name: 'Rotate' })
        .click();
      const rotated = page.getByRole('dialog', { name: 'Signing secret of Night pager' });
      expect(await rotated.getByLabel('Secret').inputValue()).not.toBe(secret);
      await rotated.getByRole('button', { name: 'Done' }).click();

      await row.getByRole('button', { name: 'Delete… Night pager' }).click();
      await page
        .getByRole('dialog', { name: 'Delete Night pager?' })
        .getByRole('button', { name: 'Delete' })
        .click();
      await row.waitFor({ state: 'detached' });
      expect(await ctl.db.notificationIntegration.count({ where: { id: stored!.id } })).toBe(0);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('shows a viewer (no integrations:manage) the health and the log, not the integrations', async () => {
    await userWithRole(ctl, 'system-viewer', 'viewer');
    const viewer = await signedInPage(browser, url, '/system', {
      username: 'system-viewer',
      password: 'system-viewer-password-123',
    });
    await viewer.page.locator('.ops-log li').first().waitFor();
    await viewer.page.locator('.system-chart canvas').waitFor();
    expect(await viewer.page.getByRole('heading', { name: 'Notification integrations' }).count()).toBe(0);
    expect(viewer.cspViolations).toEqual([]);
    await viewer.page.context().close();
  });

  it('violates no Content-Security-Policy', () => {
    expect(cspViolations).toEqual([]);
  });
});
