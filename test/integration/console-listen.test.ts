/**
 * The Listen page in headless Chromium against the real controller and broker: a node played
 * by a real mqtt.js client that answers `listen-start` and streams a tone as Opus frames every
 * 20 ms; the page opens a stereo session, decodes with WebCodecs, shows the latency and the
 * level move, and stops (the agent is told to stop, the end is audited as the user's). The
 * WebSocket's URL carries no ticket or token (the ticket is its first message), and the page
 * raises no Content-Security-Policy violation. An agent's refusal is shown, so is the end of a
 * session whose user lost access; a role without `listen:monitor` is not offered the page.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtConsole, launchChromium, signedInPage } from '../support/console.js';
import { bearer, type TestController, testController, userWithRole } from '../support/controller.js';
import { type FakeListenAgent, fakeListenAgent, listeningUrl, tonePackets } from '../support/listen.js';
import { until } from '../support/until.js';

const NODE = 'listen-page-hall';

describe('console: listen', () => {
  let ctl: TestController;
  let url: string;
  let browser: Browser;
  let page: Page;
  let agent: FakeListenAgent;
  let cspViolations: string[];
  let pacer: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1' }, undefined, { consoleDir: await builtConsole() });
    await ctl.start();
    url = await listeningUrl(ctl);
    agent = await fakeListenAgent(ctl, { id: NODE, site: 'listen-page-site', channels: 2 });
    browser = await launchChromium();
    ({ page, cspViolations } = await signedInPage(browser, url, `/listen?node=${NODE}`));
  });
  afterAll(async () => {
    clearInterval(pacer);
    await browser?.close();
    await agent?.close();
    await ctl?.stop();
  });

  it('plays a node live with its latency and level, and stops', async () => {
    const sockets: string[] = [];
    const sent: string[] = [];
    page.on('websocket', (ws) => {
      sockets.push(ws.url());
      ws.on('framesent', ({ payload }) => {
        if (typeof payload === 'string') sent.push(payload);
      });
    });
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Listen', exact: true })
      .waitFor();
    await page.getByRole('heading', { name: 'Listen', level: 1 }).waitFor();
    const nodeSelect = page.getByLabel('Node', { exact: true });
    await expect.poll(() => nodeSelect.inputValue()).toBe(NODE);
    await page.getByLabel('Channels').selectOption('1,2');
    await page.waitForURL(`**/listen?node=${NODE}&channels=1,2`);

    await page.getByRole('button', { name: 'Start listening' }).click();
    await until(() => agent.streams.size === 1, { what: 'the agent asked to stream' });
    const [stream] = [...agent.streams.values()];
    expect(stream!.channels).toEqual([1, 2]);
    // The agent's capture, paced as a real one: a −6 dBFS tone, one 20 ms frame at a time.
    const packets = tonePackets(50, 997, 0.5, 2);
    let seq = 0;
    pacer = setInterval(() => {
      if (agent.streams.size > 0) agent.send([packets[seq % packets.length]!], { fromSeq: seq++ });
    }, 20);

    await page.getByRole('status').getByText('Listening to channels 1 + 2 (stereo).').waitFor();
    const latency = page.locator('output.listen-latency');
    await expect.poll(() => latency.textContent(), { timeout: 10_000 }).toMatch(/^\d+ ms$/);
    const ms = Number.parseInt((await latency.textContent())!, 10);
    // The page's buffer and the output's latency at least; nowhere near a second on one machine.
    expect(ms).toBeGreaterThan(20);
    expect(ms).toBeLessThan(1000);
    // One machine: the controller's Date header finds the clocks agreeing (no correction).
    await page
      .locator('.listen-facts')
      .getByText(/agrees with the controller within ±\d\.\d s/)
      .waitFor();
    const level = page.getByRole('meter', { name: 'Ch 1' });
    await expect
      .poll(async () => Number(await level.getAttribute('aria-valuenow')), { timeout: 10_000 })
      .toBeGreaterThan(-20);
    const frames = page.locator('.listen-facts').getByText(/\d+ received/);
    await expect.poll(async () => (await frames.textContent()) ?? '').toMatch(/^[1-9]\d* received · 0 lost/);

    // The ticket went as the socket's first message; its URL is the node's stream, nothing more.
    expect(sockets).toEqual([`${url.replace('http', 'ws')}/api/v1/nodes/${NODE}/listen/stream`]);
    expect(sent[0]).toMatch(/^\{"ticket":"elt_[^"]+"\}$/);

    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByRole('status').getByText('Stopped.').waitFor();
    await expect.poll(() => level.getAttribute('aria-valuetext')).toBe('silent');
    expect(await latency.textContent()).toBe('—');
    await until(() => agent.streams.size === 0, { what: 'the agent told to stop' });
    const ends = await ctl.db.auditEvent.findMany({ where: { action: 'listen.end' } });
    expect(ends.map((e) => e.reason)).toEqual(['ended by its user']);
    await page.getByRole('button', { name: 'Start listening' }).waitFor();
    expect(cspViolations).toEqual([]);
  });

  it('says why when the agent refuses to stream, and can start again', async () => {
    agent.answer = (command) =>
      command.type === 'listen-start' ? { ok: false, message: 'capture device busy' } : { ok: true };
    await page.getByRole('button', { name: 'Start listening' }).click();
    await page
      .getByRole('status')
      .getByText('Could not listen: the agent refused: capture device busy.')
      .waitFor();
    await page.getByRole('button', { name: 'Start listening' }).waitFor();
    agent.answer = undefined;
    expect(cspViolations).toEqual([]);
  });

  it("ends when the listener's access is revoked, and says so", async () => {
    await userWithRole(ctl, 'listen-operator', 'operator');
    const user = await ctl.db.user.findUniqueOrThrow({ where: { username: 'listen-operator' } });
    const operator = await signedInPage(browser, url, `/nodes/${NODE}`, {
      username: 'listen-operator',
      password: 'listen-operator-password-123',
    });
    await operator.page.getByRole('link', { name: 'Listen live' }).click();
    await operator.page.waitForURL(`**/listen?node=${NODE}`);
    await operator.page.getByRole('button', { name: 'Start listening' }).click();
    await operator.page
      .locator('.listen-facts')
      .getByText(/[1-9]\d* received/)
      .waitFor();
    const changed = await ctl.app.inject({
      method: 'PATCH',
      url: `/api/v1/auth/users/${user.id}/access`,
      headers: bearer(await ctl.ownerToken()),
      payload: { grants: [{ role: 'viewer', scope: { type: 'fleet' } }] },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    await operator.page.getByRole('status').getByText('Ended: access revoked.').waitFor();
    await until(() => agent.streams.size === 0, { what: 'the agent told to stop' });
    await operator.page.getByRole('button', { name: 'Start listening' }).waitFor();
    expect(operator.cspViolations).toEqual([]);
    await operator.page.close();
  });

  it('is not offered to a role without listen:monitor', async () => {
    await userWithRole(ctl, 'listen-viewer', 'viewer');
    const viewer = await signedInPage(browser, url, `/listen?node=${NODE}`, {
      username: 'listen-viewer',
      password: 'listen-viewer-password-123',
    });
    await viewer.page.getByText('Your role cannot use Listen.').waitFor();
    expect(
      await viewer.page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Listen', exact: true })
        .count(),
    ).toBe(0);
    await viewer.page.close();
  });
});
