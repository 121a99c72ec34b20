/**
 * The console at fleet scale, against a scripted API (test/support/console-scripted-api.ts:
 * 200 nodes × 8 channels paged as `GET /nodes` pages them, 10,000 recordings, a scripted events
 * stream) and the built console from a plain static server, in headless Chromium: the fleet
 * overview shows every tile, its filters narrow them (kept in the URL), problems come first,
 * at a desktop and a phone size, without sideways scrolling on the phone; a read of the list
 * is applied in place (only a changed node's tile changes).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtConsole, launchChromium } from '../support/console.js';
import { type ScriptedApi, scriptedApi, staticConsole } from '../support/console-scripted-api.js';

const RANK: Record<string, number> = { offline: 0, degraded: 1, recording: 2, online: 3 };

const VIEWPORTS = [
  { name: 'desktop', width: 1440, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const;

describe('console against a scripted API (200 nodes × 8 channels, 10,000 recordings)', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof staticConsole>>;
  let script: ScriptedApi;

  beforeAll(async () => {
    server = await staticConsole(await builtConsole());
    script = scriptedApi({ nodes: 200, channels: 8, recordings: 10_000 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(viewport: { width: number; height: number }, path = '/fleet'): Promise<Page> {
    const page = await (await browser.newContext({ viewport })).newPage();
    await script.route(page);
    await page.goto(`${server.url}${path}`);
    return page;
  }

  const tiles = (page: Page) => page.locator('li.tile');

  /** Every tile's state, site by site in page order. */
  const states = (page: Page) =>
    page.$$eval('section.site', (sections) =>
      sections.map((section) =>
        [...section.querySelectorAll('li.tile')].map((tile) => tile.getAttribute('data-state') ?? ''),
      ),
    );

  for (const viewport of VIEWPORTS)
    it(`shows all 200 tiles problems first, filters them, no sideways scroll (${viewport.name} ${viewport.width}×${viewport.height})`, async () => {
      const page = await open(viewport);
      try {
        await tiles(page).nth(199).waitFor();
        expect(await tiles(page).count()).toBe(200);
        const expectedProblems = script.nodes.filter(
          (node) => !node.presence.online || node.capture.state === 'error',
        ).length;

        // Problems first: within a site, tiles by rank; sites by their worst tile.
        const bySite = await states(page);
        expect(bySite).toHaveLength(8);
        for (const site of bySite) {
          const ranks = site.map((s) => RANK[s]!);
          expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
        }
        const worst = bySite.map((site) => Math.min(...site.map((s) => RANK[s]!)));
        expect(worst).toEqual([...worst].sort((a, b) => a - b));

        // No sideways scrolling at any width.
        const overflow = await page.evaluate(() => document.scrollingElement!.scrollWidth);
        expect(overflow).toBeLessThanOrEqual(viewport.width);

        // Filters: a site, a tag, only problems; each kept in the URL.
        await page.getByLabel('Site', { exact: true }).selectOption({ label: 'Site C' });
        await page.waitForFunction(() => document.querySelectorAll('li.tile').length === 25);
        expect(new URL(page.url()).searchParams.get('site')).toBe('site-2');
        await page.getByLabel('Tag', { exact: true }).selectOption('booth');
        const expectedBooth = script.nodes.filter((n) => n.site.id === 'site-2' && n.tags.includes('booth'));
        await page.waitForFunction(
          (n) => document.querySelectorAll('li.tile').length === n,
          expectedBooth.length,
        );
        const shown = await tiles(page).evaluateAll((els) =>
          els.map((el) => el.getAttribute('data-node-id')),
        );
        expect(shown.sort()).toEqual(expectedBooth.map((n) => n.id).sort());
        await page.getByLabel('Site', { exact: true }).selectOption({ label: 'All sites' });
        await page.getByLabel('Tag', { exact: true }).selectOption('');
        await page.getByLabel('Only problems').check();
        expect(new URL(page.url()).search).toBe('?problems=1');
        await page.waitForFunction(() =>
          [...document.querySelectorAll('li.tile')].every((tile) =>
            ['offline', 'degraded'].includes(tile.getAttribute('data-state') ?? ''),
          ),
        );
        // Degraded: offline, capture error, clock skew or an open alert.
        const problemCount = await tiles(page).count();
        expect(problemCount).toBeGreaterThanOrEqual(expectedProblems);
        expect(problemCount).toBeLessThan(200);
        expect(await page.evaluate(() => document.scrollingElement!.scrollWidth)).toBeLessThanOrEqual(
          viewport.width,
        );
        // Back steps through the filters.
        await page.goBack();
        await page.waitForFunction(() => document.querySelectorAll('li.tile').length === 200);
        // Grouped by tag instead of site: a heading per tag, kept in the URL.
        await page.getByLabel('Group by').selectOption('tag');
        expect(new URL(page.url()).searchParams.get('group')).toBe('tag');
        await expect
          .poll(async () =>
            (await page.locator('section.site h2').allTextContents()).map((h) => h.split(' ')[0]).sort(),
          )
          .toEqual(['booth', 'lobby', 'spare', 'stage']);
        await page.getByLabel('Group by').selectOption('site');
      } finally {
        await page.context().close();
      }
    });

  it('keeps the overview live from the scripted stream and reads the nodes again as changes arrive', async () => {
    const live = scriptedApi({ nodes: 200, eventsPerBatch: 5, eventsRetryMs: 200 });
    const page = await (await browser.newContext()).newPage();
    try {
      await live.route(page);
      await page.goto(`${server.url}/fleet`);
      await tiles(page).nth(199).waitFor();
      const before = live.stats.requests;
      // Events arrive in batches; the page reads the list again (at most once a frame), and stays whole.
      await expect.poll(() => live.stats.events, { timeout: 10_000 }).toBeGreaterThanOrEqual(20);
      expect(live.stats.requests).toBeGreaterThan(before);
      expect(await tiles(page).count()).toBe(200);
    } finally {
      await page.context().close();
    }
  });

  it('applies a read in place: a changed node renders its own tile again, the other tiles stay as they were', async () => {
    const live = scriptedApi({ nodes: 200, eventsPerBatch: 5, eventsRetryMs: 200 });
    const page = await (await browser.newContext()).newPage();
    try {
      await live.route(page);
      await page.goto(`${server.url}/fleet`);
      await tiles(page).nth(199).waitFor();
      // The tiles whose content or state the page changes (their "last seen" ages apart).
      await page.evaluate(`(() => {
        window.changed = new Set();
        new MutationObserver((records) => {
          for (const r of records) {
            const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
            if (!el || el.closest('time')) continue;
            const tile = el.closest('li.tile');
            if (tile) window.changed.add(tile.dataset.nodeId);
          }
        }).observe(document.getElementById('content'), {
          subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['class', 'data-state'],
        });
      })()`);
      const reads = live.stats.requests;
      live.nodes[10]!.diskFreeBytes = 1e9;
      live.nodes[10]!.headroomHours = 12.5;
      const facts = page.locator('li.tile[data-node-id="node-010"] .tile-facts');
      await expect.poll(() => facts.textContent(), { timeout: 10_000 }).toContain('1.0 GB free · 12 h left');
      // Reads went on meanwhile (the stream's changes); only node-010's tile changed.
      await expect.poll(() => live.stats.requests, { timeout: 10_000 }).toBeGreaterThan(reads + 4);
      expect(await page.evaluate('[...window.changed]')).toEqual(['node-010']);
      // A node gone offline changes its place: first among its site's tiles.
      live.nodes[12]!.presence.online = false;
      const moved = page.locator('li.tile[data-node-id="node-012"]');
      await expect.poll(() => moved.getAttribute('data-state'), { timeout: 10_000 }).toBe('offline');
      expect(await tiles(page).count()).toBe(200);
    } finally {
      await page.context().close();
    }
  });
});
