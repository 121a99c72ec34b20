/**
 * The console's accessibility tier, in headless Chromium against the real controller with
 * seeded data: axe-core (injected through the DevTools protocol, which the page's
 * Content-Security-Policy does not govern) on the sign-in page and on every page the owner
 * reaches from the navigation (read from the page itself, so a page added later is covered
 * without an edit here) plus the pages reached from others (a node, a recording with its
 * player, the access tabs, a node's health timeline), in the light and the dark theme,
 * and again with a dialog open where the page has one (the sign-out dialog; on a page, a
 * control marked `aria-haspopup="dialog"`, or else a New / Create / Add button that opens a
 * native <dialog>): zero serious or critical violations, and no sideways scrolling on a
 * phone (the light pass runs at 390 × 844, the dark one at 1440 × 900). Keyboard only: every
 * stop shows a focus outline, Esc closes a dialog and focus returns to what opened it. The
 * theme switch: remembered, applied before the first frame, and "system" follows the OS.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtConsole, launchChromium, signedInPage, signIn } from '../support/console.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';
import { completedRecording, wavBytes } from '../support/recordings.js';

type Violation = {
  id: string;
  impact: string;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
};

/** What the injected axe-core puts on `window`. */
type AxeWindow = { axe: { run(context: Document, options: unknown): Promise<{ violations: unknown[] }> } };

const THEMES = ['light', 'dark'] as const;
const VIEWPORT = { light: { width: 390, height: 844 }, dark: { width: 1440, height: 900 } } as const;
/** Serious and critical only (the issue's bar); WCAG 2.x A and AA rules. */
const BLOCKING = new Set(['serious', 'critical']);
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

let axeSource: string;

async function axe(page: Page, where: string, found: string[]): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = (await page.evaluate(
    async (tags) =>
      (
        await (window as unknown as AxeWindow).axe.run(document, { runOnly: { type: 'tag', values: tags } })
      ).violations,
    AXE_TAGS,
  )) as Violation[];
  for (const v of violations.filter((v) => BLOCKING.has(v.impact)))
    found.push(
      `${where}: [${v.impact}] ${v.id}: ${v.help}\n${v.nodes
        .slice(0, 5)
        .map((n) => `    ${n.target.join(' ')}: ${(n.failureSummary ?? '').replace(/\s+/g, ' ')}`)
        .join('\n')}`,
    );
}

/**
 * How far an open modal dialog's backdrop must dim the page behind it (the brightest pixel of the
 * header, as a share of what it was): the dark theme's page is dark already, so a light veil over
 * it hardly shows that the page is out of reach.
 */
const BACKDROP_MAX_BRIGHTNESS = { light: 0.7, dark: 0.35 } as const;

/** The brightest pixel of the page's top band (the header), 0–1 in sRGB luma. */
async function headerBrightness(page: Page): Promise<number> {
  const { data } = PNG.sync.read(await page.screenshot({ clip: { x: 0, y: 0, width: 320, height: 40 } }));
  let brightest = 0;
  for (let i = 0; i < data.length; i += 4)
    brightest = Math.max(
      brightest,
      (0.2126 * data[i]! + 0.7152 * data[i + 1]! + 0.0722 * data[i + 2]!) / 255,
    );
  return brightest;
}

/** Waits for the page to have settled: its heading shown, nothing loading. */
async function settled(page: Page): Promise<void> {
  await page.locator('#content h1').first().waitFor();
  await page.waitForFunction(() => !document.querySelector('#content .loading'), undefined, {
    timeout: 10_000,
  });
}

/** Something on the page that opens a dialog, usable now: marked as such, or else a New / Create / Add button. */
async function dialogOpener(page: Page) {
  const marked = page.locator('#content [aria-haspopup="dialog"]:visible:enabled');
  if ((await marked.count()) > 0) return marked.first();
  const named = page.locator('#content button:visible:enabled', { hasText: /^\s*(New|Create|Add)\b/ });
  return (await named.count()) > 0 ? named.first() : undefined;
}

/** The opener has focus again (or, for a page's own dialog, something outside the dialog). */
const focusIsOn = (page: Page, selector: string) =>
  page.evaluate((s) => document.activeElement === document.querySelector(s), selector);

describe('console accessibility', () => {
  let ctl: TestController;
  let url: string;
  let browser: Browser;
  let recordingId: string;

  beforeAll(async () => {
    const require = createRequire(import.meta.url);
    axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
    ctl = await testController({}, undefined, { consoleDir: await builtConsole() });
    const node = await enrolledNode(ctl, { id: 'a11y-node', site: 'a11y-site', name: 'Hall A' });
    const { nodeId } = node;
    recordingId = (
      await completedRecording(ctl, await ctl.ownerToken(), node, wavBytes(16_000, 16_000, 1), {
        title: 'Hall A tone',
      })
    ).id;
    await enrolledNode(ctl, { id: 'a11y-other', site: 'a11y-site', name: 'Hall B' });
    await ctl.services.nodes.setPresence(nodeId, true);
    const opened = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/health-events',
      headers: bearer(await ctl.ownerToken()),
      payload: { nodeId, severity: 'warning', message: 'hum on channel 2' },
    });
    expect(opened.statusCode, opened.body).toBe(201);
    url = await listeningUrl(ctl);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await ctl?.stop();
  });

  it('the sign-in page has no serious or critical violation, in either theme', async () => {
    const found: string[] = [];
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      for (const colorScheme of THEMES) {
        await page.emulateMedia({ colorScheme });
        await page.goto(`${url}/`);
        await page.getByRole('heading', { name: 'Sign in to Earshot' }).waitFor();
        await axe(page, `sign-in (${colorScheme})`, found);
      }
    } finally {
      await context.close();
    }
    expect(found, found.join('\n')).toEqual([]);
  });

  it('every page from the navigation (and a node), both themes, with a dialog open: no serious or critical violation, no sideways scrolling at 390 px', async () => {
    const found: string[] = [];
    const { page } = await signedInPage(browser, url, '/fleet');
    try {
      await page.locator('[data-node-id="a11y-node"]').waitFor();
      const nav = await page.$$eval('nav[aria-label="Main"] a', (links) =>
        links.map((a) => ({ path: a.getAttribute('href') ?? '', title: (a.textContent ?? '').trim() })),
      );
      expect(nav.map((link) => link.path)).toContain('/fleet');
      // And the pages reached from others: a node, a recording (its player), the other access
      // tabs, a node's health timeline.
      const pages = [
        ...nav,
        { path: '/nodes/a11y-node', title: 'Node' },
        { path: `/recordings/${recordingId}`, title: 'Recording' },
        ...['groups', 'roles', 'policies', 'tokens'].map((tab) => ({
          path: `/access/${tab}`,
          title: 'Users & access',
        })),
        { path: '/health?nodeId=a11y-node&view=timeline', title: 'Health events' },
      ];
      const paths = pages.map((p) => p.path);
      const withDialog: string[] = [];
      for (const theme of THEMES) {
        // Light on a phone, dark on a desktop: both sizes checked without doubling the runs.
        const viewport = VIEWPORT[theme];
        await page.setViewportSize(viewport);
        await page.getByLabel('Theme').selectOption(theme);
        for (const { path, title } of pages) {
          // In the app, as an operator moves (a link, not a reload): the page's title says it is shown.
          await page.evaluate((to) => {
            const link = document.createElement('a');
            link.href = to;
            document.querySelector('.shell')!.append(link);
            link.click();
            link.remove();
          }, path);
          await page.waitForFunction((t) => document.title === `${t} · Earshot`, title);
          await settled(page);
          const width = await page.evaluate(() => document.scrollingElement!.scrollWidth);
          if (width > viewport.width)
            found.push(`${path} (${viewport.width}×${viewport.height}): ${width} px wide, scrolls sideways`);
          expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
          await axe(page, `${path} (${theme})`, found);
          const opener = await dialogOpener(page);
          if (!opener) continue;
          await opener.click();
          const dialog = page.locator('dialog[open]');
          await dialog.waitFor();
          await axe(page, `${path} (${theme}) with "${(await opener.textContent())?.trim()}" dialog`, found);
          await page.keyboard.press('Escape');
          await page.waitForFunction(() => !document.querySelector('dialog[open]'));
          if (!(await opener.evaluate((el) => el === document.activeElement)))
            found.push(`${path} (${theme}): focus did not return to the dialog's opener after Esc`);
          withDialog.push(path);
        }
        // The shell's own dialog; its backdrop dims the page enough to show it is out of reach.
        const undimmed = await headerBrightness(page);
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByRole('dialog', { name: 'Sign out of Earshot?' }).waitFor();
        const dimmed = (await headerBrightness(page)) / undimmed;
        if (dimmed > BACKDROP_MAX_BRIGHTNESS[theme])
          found.push(
            `sign-out dialog (${theme}): the backdrop leaves the page at ${dimmed.toFixed(2)} of its brightness`,
          );
        await axe(page, `sign-out dialog (${theme})`, found);
        await page.keyboard.press('Escape');
        await page.getByRole('dialog').waitFor({ state: 'hidden' });
      }
      console.info(
        `axe: ${paths.length} pages × 2 themes (light at 390 px, dark at 1440 px); dialogs opened on: ${withDialog.join(', ') || 'none'}`,
      );
    } finally {
      await page.context().close();
    }
    expect(found, found.join('\n\n')).toEqual([]);
  });

  it('keyboard only: every stop shows a focus outline; Esc closes the sign-out dialog and focus returns', async () => {
    const { page } = await signedInPage(browser, url, '/fleet');
    try {
      await page.locator('[data-node-id="a11y-node"]').waitFor();
      const unringed: string[] = [];
      const seen = new Set<string>();
      let signOutReached = false;
      for (let stop = 0; stop < 60; stop++) {
        await page.keyboard.press('Tab');
        const focus = await page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          if (!el || el === document.body) return undefined;
          const style = getComputedStyle(el);
          const ring =
            (style.outlineStyle !== 'none' && Number.parseFloat(style.outlineWidth) >= 1) ||
            style.boxShadow !== 'none';
          const name = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${(el.textContent ?? '').trim().slice(0, 30)}"`;
          return { name, ring, path: el.outerHTML.slice(0, 80) };
        });
        if (!focus) continue;
        if (seen.has(focus.path)) break; // around once
        seen.add(focus.path);
        if (!focus.ring) unringed.push(focus.name);
        if (focus.name.startsWith('button') && focus.name.includes('"Sign out"')) {
          signOutReached = true;
          // Open the dialog from the keyboard; Esc closes it and focus comes back.
          await page.keyboard.press('Enter');
          const dialog = page.getByRole('dialog', { name: 'Sign out of Earshot?' });
          await dialog.waitFor();
          expect(await page.evaluate(() => Boolean(document.activeElement?.closest('dialog')))).toBe(true);
          await page.keyboard.press('Escape');
          await dialog.waitFor({ state: 'hidden' });
          expect(await focusIsOn(page, 'button[aria-haspopup="dialog"]')).toBe(true);
        }
      }
      expect(seen.size).toBeGreaterThan(5);
      expect(signOutReached).toBe(true);
      expect(unringed, `no visible focus on: ${unringed.join(', ')}`).toEqual([]);
      // Still signed in: Esc cancelled.
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
    } finally {
      await page.context().close();
    }
  });

  it('the theme switch: remembered across loads, applied before the first frame, "system" follows the OS', async () => {
    const context = await browser.newContext({ colorScheme: 'light' });
    // Before the page's own scripts: note the theme and background of the first frame painted.
    await context.addInitScript(() => {
      requestAnimationFrame(() => {
        (window as unknown as { firstFrame: unknown }).firstFrame = {
          theme: document.documentElement.dataset.theme,
          background: getComputedStyle(document.body).backgroundColor,
        };
      });
    });
    const tab = await context.newPage();
    const background = () => tab.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const DARK = 'rgb(17, 20, 24)';
    const LIGHT = 'rgb(246, 247, 249)';
    try {
      await tab.goto(`${url}/`);
      await signIn(tab);
      await tab.getByLabel('Theme').waitFor();
      expect(await tab.getByLabel('Theme').inputValue()).toBe('system');
      expect(await background()).toBe(LIGHT);
      await tab.getByLabel('Theme').selectOption('dark');
      expect(await tab.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
      expect(await background()).toBe(DARK);
      // A new load: dark from the first frame (no light flash), and the switch says so.
      await tab.reload();
      await tab.getByLabel('Theme').waitFor();
      expect(await tab.evaluate(() => (window as unknown as { firstFrame: unknown }).firstFrame)).toEqual({
        theme: 'dark',
        background: DARK,
      });
      expect(await tab.getByLabel('Theme').inputValue()).toBe('dark');
      // Light wins over a dark OS; "system" follows the OS both ways.
      await tab.emulateMedia({ colorScheme: 'dark' });
      await tab.getByLabel('Theme').selectOption('light');
      expect(await background()).toBe(LIGHT);
      await tab.getByLabel('Theme').selectOption('system');
      expect(await background()).toBe(DARK);
      await tab.emulateMedia({ colorScheme: 'light' });
      expect(await background()).toBe(LIGHT);
      expect(await tab.evaluate(() => localStorage.getItem('earshot.theme'))).toBeNull();
    } finally {
      await context.close();
    }
  });
});
