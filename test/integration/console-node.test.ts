/**
 * The node page and the health events page in headless Chromium against the real controller:
 * the node's interfaces and channels, its current job (live from `job.state`), a lifecycle
 * action asked first in a dialog (Esc cancels and sends nothing; confirming sends it with the
 * CSRF token and the API holds the request), the actions hidden from a viewer; a health event
 * suppressed from the page (stored until the chosen time); the node's health timeline listing
 * an open and a resolved event. Every wait is for something the page shows.
 */
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtConsole, launchChromium, signedInPage } from '../support/console.js';
import { seriousAxeViolations } from '../support/console-axe.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';
import { claimNext, createRecording } from '../support/recordings.js';

const NODE = 'node-page-hall';

describe('console: node page and health events', () => {
  let ctl: TestController;
  let url: string;
  let browser: Browser;
  let page: Page;
  let owner: Record<string, string>;
  let credential: string;
  let cspViolations: string[];

  const call = async (
    method: 'GET' | 'POST' | 'PATCH' | 'PUT',
    path: string,
    body?: object,
    headers = owner,
  ) => {
    const res = await ctl.app.inject({
      method,
      url: `/api/v1${path}`,
      headers,
      ...(body === undefined ? {} : { payload: body }),
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json().data;
  };

  beforeAll(async () => {
    ctl = await testController({}, undefined, { consoleDir: await builtConsole() });
    owner = bearer(await ctl.ownerToken());
    ({ credential } = await enrolledNode(ctl, { id: NODE, site: 'node-page-site', name: 'Hall P' }));
    await call(
      'PUT',
      `/nodes/${NODE}/interfaces`,
      {
        interfaces: [
          { ref: 'alsa:usb-1', kind: 'pulse', description: 'USB Mixer', channels: 2, sampleRate: 48_000 },
        ],
      },
      bearer(credential),
    );
    const [iface] = (await call('GET', `/nodes/${NODE}/interfaces`)) as { id: string }[];
    await call('PATCH', `/nodes/${NODE}/interfaces/${iface!.id}`, {
      alias: 'Desk mixer',
      channelNames: ['Pulpit', 'Choir'],
      enabledChannels: [1],
    });
    url = await listeningUrl(ctl);
    browser = await launchChromium();
    ({ page, cspViolations } = await signedInPage(browser, url, `/nodes/${NODE}`));
  });
  afterAll(async () => {
    await browser?.close();
    await ctl?.stop();
  });

  it('shows the node’s interfaces and channels, and its current job, live', async () => {
    await page.getByRole('heading', { name: 'Hall P', level: 1 }).waitFor();
    const channels = page.getByRole('region', { name: 'Interfaces and channels' });
    await channels.getByRole('heading', { name: /Desk mixer/ }).waitFor();
    expect(await channels.locator('li li').allTextContents()).toEqual(['1. Pulpit', '2. Choir (not in use)']);
    const job = page.getByRole('region', { name: 'Current job' });
    await job.getByText('No recording job now.').waitFor();
    // A recording asked for: its job appears, then moves as the agent claims it.
    await createRecording(ctl, await ctl.ownerToken(), NODE, { durationSeconds: 60 });
    await job.locator('.node-job[data-state="queued"]').waitFor();
    expect((await claimNext(ctl, NODE, credential)).lease).not.toBeNull();
    await job.locator('.node-job[data-state="claimed"]').waitFor();
    // The configuration in effect: no profile, policy or map yet.
    const config = page.getByRole('region', { name: 'Configuration in effect' });
    await config.getByText('None: WAV at the capture format').waitFor();
    await config.getByText('None: channels as captured').waitFor();
  });

  it('asks before a lifecycle action: Esc cancels (nothing sent), confirming sends it with the CSRF token', async () => {
    const sent: Request[] = [];
    const onRequest = (request: Request) => {
      if (request.method() !== 'GET' && request.url().includes(`/api/v1/nodes/${NODE}`)) sent.push(request);
    };
    page.on('request', onRequest);
    try {
      const actions = page.getByRole('region', { name: 'Actions' });
      const restart = actions.getByRole('button', { name: 'Restart agent' });
      await restart.click();
      const dialog = page.getByRole('dialog', { name: 'Restart agent?' });
      await dialog.getByText('Restart the agent on Hall P?').waitFor();
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      expect(await restart.evaluate((el) => el === document.activeElement)).toBe(true);
      expect(sent).toEqual([]);
      expect(await call('GET', `/nodes/${NODE}/lifecycle-jobs`)).toEqual([]);

      await restart.click();
      await dialog.getByRole('button', { name: 'Restart agent' }).waitFor();
      expect(await seriousAxeViolations(page)).toEqual([]); // the node page with its dialog open
      await dialog.getByRole('button', { name: 'Restart agent' }).click();
      await dialog.waitFor({ state: 'detached' });
      await actions.locator('[data-action="restart-agent"][data-state="queued"]').waitFor();
      await actions.getByText('Restart agent: asked (queued).').waitFor();
      expect(sent.map((r) => new URL(r.url()).pathname)).toEqual([
        `/api/v1/nodes/${NODE}/lifecycle/restart-agent`,
      ]);
      expect(sent[0]!.headers()['x-csrf-token']?.length).toBeGreaterThan(10);
      const stored = (await call('GET', `/nodes/${NODE}/lifecycle-jobs`)) as {
        action: string;
        requestedBy: string;
      }[];
      expect(stored).toMatchObject([{ action: 'restart-agent', requestedBy: 'owner' }]);
      // Delete waits for a decommission: disabled, with the server's reason.
      expect(await actions.getByRole('button', { name: 'Delete' }).isDisabled()).toBe(true);
      await actions.getByText('decommission the node first').waitFor();
    } finally {
      page.off('request', onRequest);
    }
  });

  it('hides the actions from a viewer', async () => {
    await userWithRole(ctl, 'node-viewer', 'viewer');
    const viewer = await signedInPage(browser, url, `/nodes/${NODE}`, {
      username: 'node-viewer',
      password: 'node-viewer-password-123',
    });
    await viewer.page.getByRole('heading', { name: 'Hall P', level: 1 }).waitFor();
    await viewer.page.getByRole('region', { name: 'Interfaces and channels' }).waitFor();
    expect(await viewer.page.getByRole('region', { name: 'Actions' }).count()).toBe(0);
    expect(await viewer.page.getByRole('button', { name: 'Restart agent' }).count()).toBe(0);
    await viewer.page.context().close();
  });

  it('shows a 1 Hz level per channel on the node’s fleet tile, from the events stream at meter rate 1', async () => {
    await ctl.services.nodes.setPresence(NODE, true); // its agent is connected
    const streams: string[] = [];
    const onRequest = (request: Request) => {
      if (new URL(request.url()).pathname === '/api/v1/events') streams.push(request.url());
    };
    page.on('request', onRequest);
    const node = { nodeId: NODE, siteId: (await call('GET', `/nodes/${NODE}`)).site.id as string };
    let seq = 0;
    const send = () =>
      ctl.services.meters.record(node, {
        seq: seq++,
        capturedAtMs: Date.now(),
        windowMs: 100,
        sampleRate: 48_000,
        channels: [
          { peakDbfs: -12, rmsDbfs: -20, clipCount: 0 },
          { peakDbfs: -100, rmsDbfs: -110, clipCount: 0 },
        ],
      });
    const feed = setInterval(send, 200);
    try {
      await page.goto(`${url}/fleet`);
      const levels = page.locator(`.tile[data-node-id="${NODE}"] .tile-levels[data-levels="live"]`);
      await levels.waitFor();
      expect(await levels.getAttribute('aria-label')).toBe('Levels: 1 −12 dBFS, 2 silent');
      const cover = await levels
        .locator('.tile-level-cover')
        .first()
        .evaluate((el) => (el as HTMLElement).style.transform);
      expect(Number(/^scaleX\(([\d.]+)\)$/.exec(cover)?.[1])).toBeCloseTo(12 / 60, 4);
      const query = new URL(streams.at(-1)!).searchParams;
      expect([query.get('meters'), query.get('meterRate')]).toEqual([NODE, '1']);
    } finally {
      clearInterval(feed);
      page.off('request', onRequest);
    }
  });

  it('suppresses a health event from the page for the chosen time', async () => {
    const event = await call('POST', '/health-events', {
      nodeId: NODE,
      severity: 'warning',
      message: 'hum on the pulpit mic',
    });
    await page.goto(`${url}/health?status=open&nodeId=${NODE}`);
    const row = page.locator(`[data-event-id="${event.id}"]`);
    await row.getByText('hum on the pulpit mic').waitFor();
    const before = Date.now();
    await row.getByRole('button', { name: 'Suppress' }).click();
    const dialog = page.getByRole('dialog', { name: 'Suppress health event' });
    await dialog.getByLabel('Suppress for').selectOption('4h');
    await dialog.getByLabel(/Reason/).fill('mic being replaced');
    await dialog.getByRole('button', { name: 'Suppress' }).click();
    await row.waitFor({ state: 'detached' }); // no longer open
    const stored = await call('GET', `/health-events/${event.id}`);
    expect(stored.status).toBe('suppressed');
    const until = Date.parse(stored.suppressedUntil);
    expect(until - before).toBeGreaterThan(4 * 3_600_000 - 60_000);
    expect(until - before).toBeLessThan(4 * 3_600_000 + 60_000);
    await page.getByLabel('Status').selectOption('suppressed');
    await row.getByText(/suppressed until/).waitFor();
  });

  it('lays out the node’s health timeline: an open and a resolved event', async () => {
    const resolved = await call('POST', '/health-events', {
      nodeId: NODE,
      severity: 'critical',
      message: 'capture stopped',
    });
    await call('POST', `/health-events/${resolved.id}/resolve`, {});
    const open = await call('POST', '/health-events', {
      nodeId: NODE,
      severity: 'info',
      message: 'disk filling',
    });
    await page.goto(`${url}/nodes/${NODE}`);
    await page.getByRole('link', { name: 'Health timeline' }).click();
    await page.getByRole('heading', { name: `Health timeline of ${NODE}`, level: 1 }).waitFor();
    expect(new URL(page.url()).searchParams.get('view')).toBe('timeline');
    const timeline = page.getByRole('list', { name: 'Health events over time, newest first' });
    await timeline
      .locator(`[data-event-id="${open.id}"][data-status="open"]`)
      .getByText(/open, for/)
      .waitFor();
    await timeline
      .locator(`[data-event-id="${resolved.id}"][data-status="resolved"]`)
      .getByText(/resolved .* lasted/)
      .waitFor();
    // Live: resolving the open one moves it to resolved.
    await call('POST', `/health-events/${open.id}/resolve`, {});
    await timeline.locator(`[data-event-id="${open.id}"][data-status="resolved"]`).waitFor();
    expect(cspViolations).toEqual([]);
  });

  it('filters health events by type and node from the form, and pages through them, all in the URL', async () => {
    for (let i = 0; i < 101; i++)
      await call('POST', '/health-events', { nodeId: NODE, severity: 'info', message: `paged ${i}` });
    await page.goto(`${url}/health`);
    await page.getByRole('combobox', { name: /^Type/ }).selectOption('manual');
    await page.waitForURL(/[?&]type=manual/);
    await page.getByRole('textbox', { name: /^Node/ }).fill(NODE);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(new RegExp(`[?&]nodeId=${NODE}`));
    const messages = () => page.locator('.health-row .health-message').allTextContents();
    await expect.poll(async () => (await messages()).filter((m) => m.startsWith('paged ')).length).toBe(100);
    const first = await messages();
    const steps = page.getByRole('navigation', { name: 'Health event pages' });
    expect(await steps.getByRole('link', { name: 'Newest' }).count()).toBe(0);
    await steps.getByRole('link', { name: 'Older' }).click();
    await page.waitForURL(/[?&]cursor=/);
    await expect.poll(async () => (await messages()).some((m) => first.includes(m))).toBe(false);
    // The two pages hold every event once.
    const all = [...first, ...(await messages())].filter((m) => m.startsWith('paged '));
    expect(new Set(all).size).toBe(101);
    expect(all).toHaveLength(101);
    // A deep link reopens that page; Newest goes back to the first, the filters kept.
    const older = page.url();
    await page.goto(older);
    await expect.poll(async () => (await messages()).some((m) => first.includes(m))).toBe(false);
    await steps.getByRole('link', { name: 'Newest' }).click();
    await expect.poll(async () => (await messages()).includes(first[0]!)).toBe(true);
    const query = new URL(page.url()).searchParams;
    expect([query.get('cursor'), query.get('type'), query.get('nodeId')]).toEqual([null, 'manual', NODE]);
    // Resolved again, for the tests after this one.
    for (let round = 0; round < 2; round++)
      for (const event of await call(
        'GET',
        `/health-events?nodeId=${NODE}&type=manual&status=open&limit=100`,
      ))
        await call('POST', `/health-events/${event.id}/resolve`, {});
  });

  it('assigns channel maps and restores an earlier revision from the node page, each a revision in its history', async () => {
    const left = await call('POST', '/settings/channel-map-templates', {
      name: 'Pulpit left',
      body: { groups: [{ name: 'left', channels: [1] }] },
    });
    const pair = await call('POST', '/settings/channel-map-templates', {
      name: 'Organ pair',
      body: { groups: [{ name: 'organ', channels: [1, 2] }] },
    });
    await page.goto(`${url}/nodes/${NODE}`);
    const section = page.getByRole('region', { name: 'Channel map history' });
    await section.getByText('No channel map was ever assigned.').waitFor();
    const form = section.getByRole('form', { name: 'Assign a channel map' });
    const template = form.getByRole('combobox', { name: /^Template/ });
    await template.selectOption({ label: 'Pulpit left' });
    await form.getByRole('textbox', { name: /^Reason/ }).fill('the pulpit mic only');
    await form.getByRole('button', { name: 'Assign' }).click();
    await section.locator('tr[data-revision="1"]').getByText('the pulpit mic only').waitFor();
    await template.selectOption({ label: 'Organ pair' });
    await form.getByRole('button', { name: 'Assign' }).click();
    await section.locator('tr[data-revision="2"]').getByText('Pulpit left → Organ pair').waitFor();
    await section.getByRole('button', { name: 'Restore revision 1' }).click();
    const confirm = page.getByRole('dialog', { name: 'Restore revision 1?' });
    await confirm.getByRole('button', { name: 'Restore' }).click();
    await section.locator('tr[data-revision="3"]').getByText('Organ pair → Pulpit left').waitFor();
    const [assigned] = await call('GET', `/settings/channel-map-assignments?nodeId=${NODE}`);
    expect(assigned).toMatchObject({ template: { id: left.id }, revision: 3 });
    expect(pair.id).not.toBe(left.id);
  });

  it('shows the server’s refusal in the dialog: the node decommissioned behind the page’s back', async () => {
    await page.goto(`${url}/nodes/${NODE}`);
    const actions = page.getByRole('region', { name: 'Actions' });
    await actions.getByRole('button', { name: 'Reload configuration' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reload configuration?' });
    await dialog.getByText('Ask Hall P to read its configuration again?').waitFor();
    await call('POST', `/nodes/${NODE}/decommission`, {});
    await dialog.getByRole('button', { name: 'Reload configuration' }).click();
    await dialog
      .getByRole('alert')
      .getByText(/decommissioned/)
      .waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    // The page follows: decommission is no longer offered, with the server's reason.
    await actions.getByText('already decommissioned').waitFor();
    expect(await actions.getByRole('button', { name: 'Decommission' }).isDisabled()).toBe(true);
    expect(
      ((await call('GET', `/nodes/${NODE}/lifecycle-jobs`)) as { action: string }[]).map((j) => j.action),
    ).toEqual(['restart-agent']);
  });
});
