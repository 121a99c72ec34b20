/**
 * The console's screenshots: every page the navigation reaches (and a node's page, a
 * recording's, each access tab, the sign-in page and a page with its dialog open) at 1440 × 900
 * and 390 × 844, in the light theme (`<name>-<width>`) and the dark one (`<name>-<width>-dark`:
 * the same load, the OS's scheme switched, which the console follows by default), compared
 * with the committed baselines in test/console-baselines/ (test/support/screenshots.ts: a
 * per-pixel threshold, at most 0.1% of pixels differing; a diff image on failure).
 * `npm run test:screenshots:update` writes them again after a deliberate change. The two sizes
 * of a page are shot side by side (a tab each).
 *
 * Held still so a pixel only changes when the console does: seeded data from a script
 * (test/support/console-screenshot-api.ts, fixed ids, times relative to a fixed instant), the
 * browser's clock fixed at that instant (relative times never move), the time zone UTC and the
 * locale en-US, reduced motion with animations and the caret off, event streams held open with
 * levels that never change, and the fonts pinned to fonts-dejavu-core through fontconfig.
 */
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtConsole } from '../support/console.js';
import { type StillConsole, stillConsole } from '../support/console-screenshot-api.js';
import { SPEECH_PROFILE } from '../support/console-screenshot-data.js';
import {
  type Comparison,
  compareWithBaseline,
  describeFailure,
  pinnedFonts,
  UPDATING,
} from '../support/screenshots.js';
import { until } from '../support/until.js';

/** The instant the browser's clock is held at (a Wednesday morning, UTC). */
const NOW = Date.parse('2026-03-11T09:30:00.000Z');

const SIZES = [
  { width: 1440, height: 900 },
  { width: 390, height: 844 },
] as const;

/** Each page is shot in both, on one load: the OS's colour scheme switched (the console follows it). */
const THEMES = ['light', 'dark'] as const;

/**
 * Each page's screenshot name and path; `signedOut` for the sign-in page, `meters`: the widths at
 * which levels show in the viewport (the shot waits for frames to have arrived); `dialog`: the
 * button whose dialog is open in the shot; `ready`: text the shot waits for.
 */
const BOTH = [1440, 390];
type Shot = {
  name: string;
  path: string;
  signedOut?: boolean;
  meters?: number[];
  dialog?: string;
  /** Text the page shows once a read it makes without a loading marker has been answered. */
  ready?: string;
};
const PAGES: Shot[] = [
  { name: 'sign-in', path: '/fleet', signedOut: true },
  { name: 'fleet', path: '/fleet', meters: BOTH },
  // Recording, clipping, offline, silent.
  { name: 'meters', path: '/meters?nodes=node-001,node-004,node-003,node-006', meters: BOTH },
  // On a phone, the node's meters are below the fold (not watched, so waiting for frames).
  { name: 'node', path: '/nodes/node-004', meters: [1440] },
  { name: 'health', path: '/health' },
  { name: 'listen', path: '/listen?node=node-004' },
  { name: 'recordings', path: '/recordings' },
  { name: 'recording', path: '/recordings/rec-00002' },
  { name: 'schedules', path: '/schedules' },
  { name: 'schedules-new', path: '/schedules', dialog: 'New schedule' },
  { name: 'jobs', path: '/jobs' },
  { name: 'audit', path: '/audit' },
  { name: 'access-users', path: '/access/users' },
  { name: 'access-groups', path: '/access/groups' },
  { name: 'access-roles', path: '/access/roles' },
  { name: 'access-policies', path: '/access/policies' },
  { name: 'access-tokens', path: '/access/tokens' },
  { name: 'settings', path: `/settings?family=recording-profiles&id=${SPEECH_PROFILE}` },
  // A member's detail open below the board: names beside ids, channel names from the gateway.
  {
    name: 'attendance',
    path: '/attendance?guild=111111111111111111&member=200000000000000010',
    ready: 'Rehearsal room',
  },
  { name: 'system', path: '/system' },
];

/** The page has drawn what it will: its heading, nothing loading, fonts in. */
async function settled(page: Page, signedOut: boolean): Promise<void> {
  if (signedOut) await page.getByRole('heading', { name: 'Sign in to Earshot' }).waitFor();
  else {
    await page.locator('#content h1').first().waitFor();
    await page.waitForFunction(() => !document.querySelector('.loading'), undefined, { timeout: 10_000 });
  }
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
}

const SHOT = { animations: 'disabled', caret: 'hide' } as const;

/** A screenshot once two in a row are the same (a late answer or frame would differ). */
async function stillScreenshot(page: Page): Promise<Buffer> {
  let last = await page.screenshot(SHOT);
  for (let attempt = 0; attempt < 10; attempt++) {
    const next = await page.screenshot(SHOT);
    if (next.equals(last)) return next;
    last = next;
  }
  throw new Error('the page kept changing between screenshots');
}

/** How long a shot that differs from its baseline is taken again (a late answer or frame). */
const SETTLE_MS = 3000;

/**
 * The page's screenshot against its baseline: the first shot that matches, within SETTLE_MS;
 * else (and always when updating) the page is shot until it holds still, and that counts.
 */
async function compared(page: Page, name: string): Promise<Comparison> {
  if (!UPDATING) {
    const deadline = Date.now() + SETTLE_MS;
    do {
      const result = await compareWithBaseline(name, await page.screenshot(SHOT));
      if (result.status === 'same') return result;
    } while (Date.now() < deadline);
  }
  return compareWithBaseline(name, await stillScreenshot(page));
}

describe('console screenshots', () => {
  let browser: Browser;
  let still: StillConsole;
  /** The largest share of pixels differing among the shots that matched (0 when all are exact). */
  let largestRatio = 0;
  /** The navigation's links, read on the signed-in pages shot. */
  const navLinks = new Set<string>();
  let fontsConf: string;
  /** One tab per size, side by side (the two sizes of a page are shot at once). */
  const tabs = new Map<number, { page: Page; unanswered: string[] }>();

  beforeAll(async () => {
    fontsConf = await pinnedFonts();
    still = await stillConsole(await builtConsole(), NOW);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--font-render-hinting=none', '--force-color-profile=srgb', '--hide-scrollbars'],
      env: { ...process.env, FONTCONFIG_FILE: fontsConf },
    });
    for (const size of SIZES) {
      const context = await browser.newContext({
        viewport: size,
        deviceScaleFactor: 1,
        colorScheme: 'light',
        reducedMotion: 'reduce',
        timezoneId: 'UTC',
        locale: 'en-US',
      });
      await context.clock.setFixedTime(NOW);
      const page = await context.newPage();
      const unanswered: string[] = [];
      // An API request the seeded data does not answer (a page's new read) fails the page's shot.
      page.on('response', (response) => {
        const url = new URL(response.url());
        if (response.status() === 404 && url.pathname.startsWith('/api/'))
          unanswered.push(`${response.request().method()} ${url.pathname}${url.search}`);
      });
      tabs.set(size.width, { page, unanswered });
    }
  });
  afterAll(async () => {
    console.info(
      `screenshots: largest difference from a baseline ${(largestRatio * 100).toFixed(4)}% of pixels`,
    );
    await browser?.close();
    await still?.close();
    if (fontsConf) await rm(dirname(fontsConf), { recursive: true, force: true });
  });

  /** Shoots one page at one size; what failed, one line each. */
  async function shoot(
    size: (typeof SIZES)[number],
    { name, path, signedOut, meters, dialog, ready }: Shot,
  ): Promise<string[]> {
    const { page, unanswered } = tabs.get(size.width)!;
    const shotName = `${name}-${size.width}`;
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    unanswered.length = 0;
    await still.route(page, { signedIn: !signedOut, tab: shotName });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(`${still.url}${path}`);
    await settled(page, Boolean(signedOut));
    if (ready) await page.locator('#content').getByText(ready).first().waitFor();
    if (dialog) {
      await page.locator('#content').getByRole('button', { name: dialog }).click();
      await page.locator('dialog[open]').waitFor();
    }
    if (meters?.includes(size.width))
      await until(() => (still.meters.get(shotName)?.ticks ?? 0) >= 2, {
        timeoutMs: 10_000,
        what: `meter frames for ${path} at ${size.width}`,
      });
    if (!signedOut)
      for (const href of await page
        .locator('nav[aria-label="Main"] a')
        .evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? '')))
        navLinks.add(href);
    const failures: string[] = [];
    for (const theme of THEMES) {
      const themed = theme === 'light' ? shotName : `${shotName}-${theme}`;
      await page.emulateMedia({ colorScheme: theme });
      const result = await compared(page, themed);
      if (result.status === 'same') largestRatio = Math.max(largestRatio, result.ratio);
      if (UPDATING && result.status !== 'same') console.info(`${themed}: ${result.status}`);
      const failure = describeFailure(themed, result);
      if (failure) failures.push(failure);
    }
    return [
      ...unanswered.map((request) => `${shotName}: the seeded data does not answer ${request}`),
      ...failures,
    ];
  }

  it.each(PAGES)('$name ($path) at 1440 × 900 and 390 × 844, light and dark', async (shot) => {
    const failures = (await Promise.all(SIZES.map((size) => shoot(size, shot)))).flat();
    if (failures.length > 0) expect.fail(failures.join('\n'));
  });

  it('covered every page in the navigation', () => {
    expect(navLinks.size).toBeGreaterThan(5);
    const shot = new Set(PAGES.map((p) => p.path.replace(/\/users$/, '').replace(/\?.*/, '')));
    expect(
      [...navLinks].filter((path) => !shot.has(path)),
      'navigation links without a screenshot',
    ).toEqual([]);
  });
});
