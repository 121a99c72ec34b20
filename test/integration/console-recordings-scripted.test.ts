/**
 * The Recordings list at library scale, against the scripted API (10,000 recordings,
 * test/support/console-scripted-api.ts) and the built console from a static server, in
 * headless Chromium: the first page and its facet counts, "More" by the cursor, a facet
 * filter kept in the URL, and no sideways scrolling of the page at a phone's width.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtConsole, launchChromium } from '../support/console.js';
import { type ScriptedApi, scriptedApi, staticConsole } from '../support/console-scripted-api.js';

describe('console recordings against a scripted API (10,000 recordings)', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof staticConsole>>;
  let script: ScriptedApi;

  beforeAll(async () => {
    server = await staticConsole(await builtConsole());
    script = scriptedApi({ nodes: 20, channels: 2, recordings: 10_000 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(viewport: { width: number; height: number }, path: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport })).newPage();
    await script.route(page);
    await page.goto(`${server.url}${path}`);
    return page;
  }

  it('pages 10,000 recordings by the cursor, with the server facets as filter counts', async () => {
    const page = await open({ width: 1440, height: 900 }, '/recordings');
    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(50);
    expect(await page.getByTestId('rec-summary').textContent()).toMatch(/^10000 recordings/);
    const failed = script.recordings.filter((r) => r.state === 'failed').length;
    expect(await page.getByLabel('State').locator('option[value="failed"]').textContent()).toBe(
      `failed (${failed})`,
    );
    // Older: the next 50, the page in the URL (a deep link and back/forward keep it).
    const steps = page.getByRole('navigation', { name: 'Recording pages' });
    await steps.getByRole('link', { name: 'Older' }).click();
    await page.waitForURL(/\/recordings\?cursor=/);
    await expect.poll(() => rows.first().getAttribute('data-recording-id')).toBe(script.recordings[50]!.id);
    expect(await rows.count()).toBe(50);
    await page.goto(page.url());
    await expect.poll(() => rows.first().getAttribute('data-recording-id')).toBe(script.recordings[50]!.id);
    await page.goBack();
    await expect.poll(() => rows.first().getAttribute('data-recording-id')).toBe(script.recordings[0]!.id);
    await page.getByLabel('State').selectOption('failed');
    await page.waitForURL(/\/recordings\?state=failed$/);
    // The unfiltered page also shows 50 rows: wait for the filtered answer's summary, not the count.
    await expect
      .poll(() => page.getByTestId('rec-summary').textContent())
      .toMatch(new RegExp(`^${failed} recordings`));
    expect(await rows.count()).toBe(50);
    await page.context().close();
  });

  it('does not scroll sideways at 390 px (the table scrolls in its own box)', async () => {
    const page = await open({ width: 390, height: 844 }, '/recordings');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(50);
    expect(await page.evaluate(() => document.scrollingElement!.scrollWidth)).toBeLessThanOrEqual(390);
    await page.context().close();
  });
});
