/**
 * The operator console: the real controller serving a fresh build of `controller/console/`
 * (built by Vite from the sources it sits beside, test/support/console.ts),
 * its HTTP contract (the SPA shell never answers an API path, security headers, caching), and
 * the app in headless Chromium (Debian's, driven by playwright-core): sign in from a deep link
 * and land back on it, a node's tile changes state as its presence does (the live events stream,
 * one per tab), an expired session returns to sign-in and then to the same URL, sign out. No
 * token is kept in web storage and the Content-Security-Policy is never violated.
 * Event-driven: every wait is for something the page shows.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleDir } from '../../controller/src/modules/console/index.js';
import { builtConsole, launchChromium, signIn } from '../support/console.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';

/** Past the heartbeat window (nodes.service.ts): a node is online only while MQTT says so. */
const PAST_HEARTBEAT_MS = 60_000;

describe('operator console', () => {
  let outDir: string;
  let ctl: TestController;
  let url: string;
  let browser: Browser;
  // The controller's clock, moved past the heartbeat window by hand; it starts at the browser's
  // time, which the session cookie's expiry is read against.
  let nowMs = Date.now();
  let nodeId: string;
  let siteId: string;
  let otherSiteId: string;

  beforeAll(async () => {
    outDir = await builtConsole();
    ctl = await testController({}, () => new Date(nowMs), { consoleDir: outDir });
    await ctl.ownerToken();
    ({ nodeId, siteId } = await enrolledNode(ctl, {
      id: 'console-node',
      site: 'console-site',
      name: 'Hall A',
    }));
    otherSiteId = (await enrolledNode(ctl, { id: 'console-other', site: 'other-site', name: 'Hall B' }))
      .siteId;
    nowMs += PAST_HEARTBEAT_MS;
    url = await listeningUrl(ctl);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await ctl?.stop();
  });

  describe('over HTTP', () => {
    it('serves the shell at / and at any page path, with a strict CSP, nosniff and no caching', async () => {
      for (const path of ['/', '/fleet', '/recordings/abc?from=2026-01-01']) {
        const response = await ctl.app.inject({ method: 'GET', url: path });
        expect(response.statusCode, path).toBe(200);
        expect(response.headers['content-type']).toMatch(/^text\/html/);
        expect(response.body).toContain('<div id="app"></div>');
        const csp = String(response.headers['content-security-policy']);
        expect(csp).toContain("default-src 'self'");
        expect(csp).toContain("script-src 'self'");
        expect(csp).toContain("connect-src 'self'");
        expect(csp).not.toContain('unsafe-inline');
        expect(csp).not.toContain('unsafe-eval');
        expect(response.headers['x-content-type-options']).toBe('nosniff');
        expect(response.headers['cache-control']).toBe('no-store');
      }
    });

    it('never answers an API, probe or missing-file path with the shell', async () => {
      for (const [method, path] of [
        ['GET', '/api/v1/nope'],
        ['GET', '/api/v1/nodes/console-node/nothing/here'],
        ['GET', '/api'],
        ['POST', '/api/v1/nope'],
        ['GET', '/metrics/x'],
        ['GET', '/openapi.txt'],
        ['GET', '/healthz/deep'],
        ['GET', '/mqtt/x'],
        ['GET', '/favicon.ico'],
        ['GET', '/assets/missing-abc123.js'],
        ['GET', '/assets/../index.html'],
      ] as const) {
        const response = await ctl.app.inject({ method, url: path });
        expect(response.statusCode, `${method} ${path}`).toBe(404);
        expect(response.headers['content-type'], path).toMatch(/^application\/json/);
        expect(response.json().error.code, path).toBe('not_found');
      }
      // The API's own routes are untouched.
      expect((await ctl.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
      expect((await ctl.app.inject({ method: 'GET', url: '/api/v1/nodes' })).statusCode).toBe(401);
    });

    it('serves hashed assets with a year of immutable caching', async () => {
      const assets = await readdir(join(outDir, 'assets'));
      const script = assets.find((name) => name.endsWith('.js'))!;
      const response = await ctl.app.inject({ method: 'GET', url: `/assets/${script}` });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/javascript/);
      expect(response.headers['cache-control']).toMatch(/max-age=31536000/);
      expect(response.headers['cache-control']).toMatch(/immutable/);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    });

    it('sends an asset compressed to a browser that accepts it (built once, not per request)', async () => {
      const assets = await readdir(join(outDir, 'assets'));
      const script = assets.find((name) => name.endsWith('.js'))!;
      const plain = await readFile(join(outDir, 'assets', script));
      const get = (encoding?: string) =>
        ctl.app.inject({
          method: 'GET',
          url: `/assets/${script}`,
          headers: encoding ? { 'accept-encoding': encoding } : {},
        });
      const brotli = await get('gzip, deflate, br');
      expect(brotli.headers['content-encoding']).toBe('br');
      expect(brotli.headers['content-type']).toMatch(/javascript/);
      expect(brotli.headers.vary).toMatch(/accept-encoding/i);
      expect(brotliDecompressSync(brotli.rawPayload).equals(plain)).toBe(true);
      expect(brotli.rawPayload.length).toBeLessThan(plain.length / 2);
      const gzip = await get('gzip');
      expect(gzip.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(gzip.rawPayload).equals(plain)).toBe(true);
      const identity = await get();
      expect(identity.headers['content-encoding']).toBeUndefined();
      expect(identity.rawPayload.equals(plain)).toBe(true);
    });

    it('stays within the size budgets: initial JS ≤ 60 KB, CSS ≤ 15 KB, each page chunk ≤ 30 KB gzipped', async () => {
      const assets = await readdir(join(outDir, 'assets'));
      const gzipped = async (names: string[]) => {
        let total = 0;
        for (const name of names) total += gzipSync(await readFile(join(outDir, 'assets', name))).length;
        return total;
      };
      // The shell names what loads first; every other script is a page's chunk, loaded when shown.
      const shell = await readFile(join(outDir, 'index.html'), 'utf8');
      const initial = assets.filter((name) => name.endsWith('.js') && shell.includes(`/assets/${name}`));
      const chunks = assets.filter((name) => name.endsWith('.js') && !initial.includes(name));
      expect(initial).toHaveLength(1);
      expect(chunks.length).toBeGreaterThan(0);
      expect(await gzipped(initial)).toBeLessThanOrEqual(60 * 1024);
      expect(await gzipped(assets.filter((name) => name.endsWith('.css')))).toBeLessThanOrEqual(15 * 1024);
      for (const chunk of chunks) expect(await gzipped([chunk]), chunk).toBeLessThanOrEqual(30 * 1024);
    });

    it('without a build, / says how to build it (a JSON 404), and the API still answers', async () => {
      const empty = await mkdtemp(join(tmpdir(), 'earshot-console-empty-'));
      const bare = await testController({}, undefined, { consoleDir: empty });
      try {
        const response = await bare.app.inject({ method: 'GET', url: '/fleet' });
        expect(response.statusCode).toBe(404);
        expect(response.json().error.message).toMatch(/npm run build/);
        expect((await bare.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      } finally {
        await bare.stop();
        await rm(empty, { recursive: true, force: true });
      }
    });

    it('finds the build beside the controller: dist/console from the sources and from dist/', () => {
      expect(consoleDir()).toBe(fileURLToPath(new URL('../../dist/console/', import.meta.url)));
      expect(consoleDir('/somewhere')).toBe('/somewhere');
    });
  });

  describe('in Chromium', () => {
    let page: Page;
    const cspViolations: string[] = [];
    const streams: string[] = [];
    /** The tab's events streams open now: one at a time, whatever the page shows. */
    let openStreams = 0;

    const tile = () => page.locator(`[data-node-id="${nodeId}"]`);

    beforeAll(async () => {
      page = await (await browser.newContext()).newPage();
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
      });
      const isStream = (request: Request) => new URL(request.url()).pathname === '/api/v1/events';
      page.on('request', (request) => {
        if (!isStream(request)) return;
        streams.push(request.url());
        openStreams += 1;
      });
      const ended = (request: Request) => {
        if (isStream(request)) openStreams -= 1;
      };
      page.on('requestfinished', ended);
      page.on('requestfailed', ended);
    });

    it('signs in from a deep link, lands back on it and shows the node as a tile', async () => {
      await page.goto(`${url}/fleet?view=tiles`);
      await page.getByRole('heading', { name: 'Sign in to Earshot' }).waitFor();
      expect(new URL(page.url()).searchParams.get('next')).toBe('/fleet?view=tiles');
      await signIn(page);
      await page.getByRole('heading', { name: 'Fleet' }).waitFor();
      expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/fleet?view=tiles');
      await tile().waitFor();
      expect(await tile().getAttribute('data-state')).toBe('offline');
      expect(await tile().textContent()).toContain('Hall A');
      await page.getByRole('heading', { name: /console-site/ }).waitFor();
      // The owner sees the fleet in the navigation.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Fleet' }).waitFor();
    });

    it('keeps the tile live from the events stream: online, then offline', async () => {
      await page.locator('.stream-live').waitFor();
      await ctl.services.nodes.setPresence(nodeId, true);
      await page.locator(`[data-node-id="${nodeId}"][data-state="online"]`).waitFor();
      // The change is announced to screen readers (a polite live region), in words.
      expect(await page.getByTestId('fleet-announcement').textContent()).toBe('Hall A is online');
      nowMs += PAST_HEARTBEAT_MS;
      await ctl.services.nodes.setPresence(nodeId, false);
      await page.locator(`[data-node-id="${nodeId}"][data-state="offline"]`).waitFor();
      // One connection: the tile's levels came on it too (opened again with `meters` when the
      // node was online, from the last event seen), never on a second one.
      await expect.poll(() => openStreams).toBe(1);
      expect(streams.filter((s) => s.includes('meter-events'))).toEqual([]);
    });

    it('keeps no token in web storage or in a URL', async () => {
      // A display preference (the theme) may be remembered; nothing secret ever is.
      await page.getByLabel('Theme').selectOption('dark');
      const stored = await page.evaluate(() =>
        [localStorage, sessionStorage].flatMap((storage) =>
          Object.keys(storage).map((key) => `${key}=${storage.getItem(key)}`),
        ),
      );
      expect(stored).toEqual(['earshot.theme=dark']);
      const csrf = await page.evaluate(
        async () => (await (await fetch('/api/v1/auth/me')).json()).data.csrfToken,
      );
      expect(typeof csrf).toBe('string');
      expect(stored.join('\n')).not.toContain(csrf);
      expect(stored.join('\n')).not.toMatch(/token|secret|csrf|session|password/i);
      await page.getByLabel('Theme').selectOption('system');
      expect(page.url()).not.toMatch(/token|csrf/i);
      expect(streams.every((s) => !/token|ticket|csrf/i.test(s))).toBe(true);
    });

    it('returns to sign-in when the session ends, then back to the same page', async () => {
      await page.context().clearCookies();
      // The next change makes the page read the nodes again: refused, so back to sign-in.
      await ctl.services.nodes.setPresence(nodeId, true);
      await page.getByRole('heading', { name: 'Sign in to Earshot' }).waitFor();
      await page.getByText('Your session ended').waitFor();
      expect(new URL(page.url()).searchParams.get('next')).toBe('/fleet?view=tiles');
      await signIn(page);
      await page.locator(`[data-node-id="${nodeId}"][data-state="online"]`).waitFor();
      expect(new URL(page.url()).pathname).toBe('/fleet');
    });

    it('counts open alerts on the tile (degraded), live as they open and resolve', async () => {
      const owner = bearer(await ctl.ownerToken());
      const opened = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/health-events',
        headers: owner,
        payload: { nodeId, severity: 'warning', message: 'hum on channel 2' },
      });
      expect(opened.statusCode, opened.body).toBe(201);
      const degraded = page.locator(`[data-node-id="${nodeId}"][data-state="degraded"]`);
      await degraded.waitFor();
      expect(await degraded.textContent()).toContain('1 open alert');
      const resolved = await ctl.app.inject({
        method: 'POST',
        url: `/api/v1/health-events/${opened.json().data.id}/resolve`,
        headers: owner,
        payload: {},
      });
      expect(resolved.statusCode, resolved.body).toBe(200);
      await page.locator(`[data-node-id="${nodeId}"][data-state="online"]`).waitFor();
    });

    it('opens a node from its tile: its facts and open health events, live; back returns to the fleet', async () => {
      await tile().getByRole('link', { name: 'Hall A' }).click();
      await page.getByRole('heading', { name: 'Hall A', level: 1 }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/nodes/${nodeId}`);
      const detail = page.locator(`.node-detail[data-node-id="${nodeId}"]`);
      expect(await detail.getAttribute('data-state')).toBe('online');
      expect(await detail.locator('.facts').textContent()).toContain('console-site');
      await detail.getByText('None.').waitFor();
      const owner = bearer(await ctl.ownerToken());
      const opened = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/health-events',
        headers: owner,
        payload: { nodeId, severity: 'critical', message: 'the mic cable looks chewed' },
      });
      expect(opened.statusCode, opened.body).toBe(201);
      await detail.getByText('the mic cable looks chewed').waitFor();
      expect(await detail.getAttribute('data-state')).toBe('degraded');
      await ctl.app.inject({
        method: 'POST',
        url: `/api/v1/health-events/${opened.json().data.id}/resolve`,
        headers: owner,
        payload: {},
      });
      await detail.getByText('None.').waitFor();
      await page.goBack();
      await page.getByRole('heading', { name: 'Fleet' }).waitFor();
      await page.locator(`[data-node-id="${nodeId}"][data-state="online"]`).waitFor();
      // A node that is not there (or not the caller's) says so.
      await page.goto(`${url}/nodes/no-such-node`);
      await page.getByText('No such node (or not yours to see).').waitFor();
      await page.goBack();
      await tile().waitFor();
    });

    it('lists open health events and acknowledges and resolves them, each change with the CSRF token', async () => {
      const owner = bearer(await ctl.ownerToken());
      const opened = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/health-events',
        headers: owner,
        payload: { nodeId, severity: 'warning', message: 'fan is loud' },
      });
      const id = opened.json().data.id as string;
      const changes: { url: string; csrf: string | undefined }[] = [];
      const onRequest = (request: import('playwright-core').Request) => {
        if (request.method() === 'POST' && request.url().includes('/api/v1/health-events/'))
          changes.push({ url: request.url(), csrf: request.headers()['x-csrf-token'] });
      };
      page.on('request', onRequest);
      try {
        await page
          .getByRole('navigation', { name: 'Main' })
          .getByRole('link', { name: 'Health events' })
          .click();
        const row = page.locator(`[data-event-id="${id}"]`);
        await row.getByText('fan is loud').waitFor();
        await row.getByRole('button', { name: 'Acknowledge' }).click();
        await row.waitFor({ state: 'detached' }); // no longer open
        await page.getByLabel('Status').selectOption('acknowledged');
        expect(new URL(page.url()).search).toBe('?status=acknowledged');
        await row.getByRole('button', { name: 'Resolve' }).click();
        await page.getByText('No acknowledged health events.').waitFor();
        const stored = await ctl.app.inject({
          method: 'GET',
          url: `/api/v1/health-events/${id}`,
          headers: owner,
        });
        expect(stored.json().data).toMatchObject({ status: 'resolved', acknowledgedBy: 'owner' });
        expect(changes.map((c) => new URL(c.url).pathname)).toEqual([
          `/api/v1/health-events/${id}/acknowledge`,
          `/api/v1/health-events/${id}/resolve`,
        ]);
        expect(changes.every((c) => typeof c.csrf === 'string' && c.csrf.length > 10)).toBe(true);
      } finally {
        page.off('request', onRequest);
      }
      await page.goto(`${url}/fleet`);
      await tile().waitFor();
    });

    it('filters by site, kept in the URL: a deep link opens the same view', async () => {
      const other = page.locator('[data-node-id="console-other"]');
      await other.waitFor();
      await page.getByLabel('Site', { exact: true }).selectOption({ label: 'console-site' });
      await other.waitFor({ state: 'detached' });
      await tile().waitFor();
      expect(new URL(page.url()).searchParams.get('site')).toBe(siteId);
      const second = await page.context().newPage();
      try {
        await second.goto(`${url}/fleet?site=${siteId}`);
        await second.locator(`[data-node-id="${nodeId}"]`).waitFor();
        expect(await second.locator('[data-node-id="console-other"]').count()).toBe(0);
        expect(await second.getByLabel('Site', { exact: true }).inputValue()).toBe(siteId);
      } finally {
        await second.close();
      }
      await page.getByLabel('Only problems').check();
      // console-node is online now: only the offline one would show, and it is in the other site.
      await tile().waitFor({ state: 'detached' });
      await page.getByText('No node matches these filters.').waitFor();
      await page.getByLabel('Site', { exact: true }).selectOption({ label: 'All sites' });
      await other.waitFor();
      expect(new URL(page.url()).search).toBe('?problems=1');
      // Back steps through the filters: the site again, then no filter.
      await page.goBack();
      await page.getByText('No node matches these filters.').waitFor();
      await page.goBack();
      await tile().waitFor();
      expect(new URL(page.url()).search).toBe(`?site=${siteId}`);
    });

    it('is keyboard reachable: the skip link first, then the page; the time zone is named', async () => {
      await page.goto(`${url}/fleet`);
      await tile().waitFor();
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
      await page.keyboard.press('Enter');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('content');
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('fleet-site');
      // An in-app navigation moves focus to the new page.
      await page.goto(`${url}/no-such-page`);
      await page.getByRole('heading', { name: 'Not found' }).waitFor();
      await page.getByRole('link', { name: 'Back to the start' }).click();
      await tile().waitFor();
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('content');
      const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
      expect(await page.locator('.tz').textContent()).toBe(zone);
    });

    it('says so when the controller does not answer, and retries on request', async () => {
      const context = await browser.newContext();
      try {
        const fresh = await context.newPage();
        await fresh.route('**/api/v1/auth/me', (route) => route.abort('connectionrefused'));
        await fresh.goto(`${url}/fleet`);
        await fresh.getByText('The controller did not answer').waitFor();
        await fresh.unroute('**/api/v1/auth/me');
        await fresh.getByRole('button', { name: 'Try again' }).click();
        await fresh.getByRole('heading', { name: 'Sign in to Earshot' }).waitFor();
      } finally {
        await context.close();
      }
    });

    it('shows a site-scoped viewer only the nodes of its site (the API decides)', async () => {
      await userWithRole(ctl, 'console-viewer', 'viewer', { type: 'site', id: otherSiteId });
      const context = await browser.newContext();
      try {
        const viewer = await context.newPage();
        await viewer.goto(`${url}/`);
        await viewer.getByLabel('Username').fill('console-viewer');
        await viewer.getByLabel('Password').fill('console-viewer-password-123');
        await viewer.getByRole('button', { name: 'Sign in' }).click();
        await viewer.locator('[data-node-id="console-other"]').waitFor();
        expect(await viewer.locator(`[data-node-id="${nodeId}"]`).count()).toBe(0);
        await viewer.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Fleet' }).waitFor();
      } finally {
        await context.close();
      }
    });

    // Sign-out is a change made with the cookie: it works only with the CSRF token from sign-in.
    it('signs out: back to sign-in, and the API no longer knows the tab', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page
        .getByRole('dialog', { name: 'Sign out of Earshot?' })
        .getByRole('button', { name: 'Sign out' })
        .click();
      await page.getByRole('heading', { name: 'Sign in to Earshot' }).waitFor();
      const status = await page.evaluate(async () => (await fetch('/api/v1/auth/me')).status);
      expect(status).toBe(401);
      expect(cspViolations).toEqual([]);
    });
  });
});
