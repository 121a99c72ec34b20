/**
 * The live meters in the console (headless Chromium against the real controller): the meters
 * wall from a deep link (`/meters?nodes=…`) opens one meter stream for the nodes on screen, its
 * meters move with the frames a node sends (fed at 10 Hz as the broker would, through the
 * meters service), a clip latches until clicked, the node turns stale when its frames stop;
 * choosing nodes changes the URL; the node page shows its node's meters. No CSP violation.
 * Every wait is for something the page shows.
 */
import type { Browser, Locator, Page, Request } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STALE_MS } from '../../controller/console/src/meter-model.js';
import type { MeterFrame } from '../../shared/src/mqtt.js';
import { builtConsole, launchChromium, signedInPage } from '../support/console.js';
import { seriousAxeViolations as axeViolations } from '../support/console-axe.js';
import { enrolledNode, type TestController, testController } from '../support/controller.js';
import { listeningUrl } from '../support/listen.js';

type Channel = MeterFrame['channels'][number];

/** Five nodes of 64 channels: 320 on screen, past the compact threshold (64). */
const WALL = ['wall-1', 'wall-2', 'wall-3', 'wall-4', 'wall-5'];

/**
 * How high (0…1 of its track) the bar drawn over `meter` reaches: the topmost pixel of its middle
 * column at least `greener` greener than red (80: the RMS bar; 25: the faint peak bar too).
 */
async function barHeight(meter: Locator, greener: number): Promise<number> {
  const png = PNG.sync.read(await meter.screenshot({ animations: 'disabled' }));
  const x = Math.floor(png.width / 2);
  for (let y = 0; y < png.height; y++) {
    const at = (y * png.width + x) * 4;
    if (png.data[at + 1]! - png.data[at]! >= greener) return 1 - y / png.height;
  }
  return 0;
}

/** The colour drawn in `meter`'s middle column at `fromBottom` (0…1) of its height: [r, g, b]. */
async function pixelAt(meter: Locator, fromBottom: number): Promise<number[]> {
  const png = PNG.sync.read(await meter.screenshot({ animations: 'disabled' }));
  const x = Math.floor(png.width / 2);
  const y = Math.floor(png.height * (1 - fromBottom));
  const at = (y * png.width + x) * 4;
  return [...png.data.subarray(at, at + 3)];
}

/**
 * How bright (0…255) the hold line over `meter` is: down its middle column, the first pixels that
 * differ from the empty track at its top (the line is 2 px; its edge is blended), the most
 * different of them.
 */
async function holdInk(meter: Locator): Promise<number> {
  const png = PNG.sync.read(await meter.screenshot({ animations: 'disabled' }));
  const x = Math.floor(png.width / 2);
  const pixel = (y: number) => [...png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3)];
  const empty = pixel(0);
  const away = (p: number[]) => p.reduce((sum, v, i) => sum + Math.abs(v - empty[i]!), 0);
  const top = Array.from({ length: png.height }, (_, y) => y).find((y) => away(pixel(y)) > 60);
  if (top === undefined) return -1;
  const line = [top, top + 1, top + 2].map(pixel).sort((a, b) => away(b) - away(a))[0]!;
  return (line[0]! + line[1]! + line[2]!) / 3;
}

describe('console: live meters', () => {
  let ctl: TestController;
  let url: string;
  let browser: Browser;
  let page: Page;
  let cspViolations: string[];
  const node = { nodeId: 'meter-hall', siteId: '' };
  const meterRequests: string[] = [];
  /** The tab's live events streams open now (each carries the meters on screen). */
  const openStreams = new Set<Request>();
  const isEventsStream = (request: Request) => new URL(request.url()).pathname === '/api/v1/events';
  /** The events stream asking for exactly these meters (its lastEventId varies). */
  const metersStream = (query: string) => (request: Request) =>
    isEventsStream(request) && request.url().startsWith(`${url}/api/v1/events?${query}&`);
  let feed: ReturnType<typeof setInterval> | undefined;
  let seq = 0;
  const wallNodes: { nodeId: string; siteId: string }[] = [];

  /** Sends the node's frames at 10 Hz, as its agent would, until told otherwise. */
  function sendFrames(channels: Channel[]): void {
    stopFrames();
    const send = () =>
      ctl.services.meters.record(node, {
        seq: seq++,
        capturedAtMs: Date.now(),
        windowMs: 100,
        sampleRate: 48_000,
        channels,
      });
    send();
    feed = setInterval(send, 100);
  }
  function stopFrames(): void {
    if (feed !== undefined) clearInterval(feed);
    feed = undefined;
  }

  beforeAll(async () => {
    ctl = await testController({}, undefined, { consoleDir: await builtConsole() });
    await ctl.ownerToken();
    node.siteId = (await enrolledNode(ctl, { id: node.nodeId, site: 'meter-site', name: 'Hall M' })).siteId;
    await enrolledNode(ctl, { id: 'meter-other', site: 'meter-site', name: 'Hall N' });
    for (const id of WALL) wallNodes.push(await enrolledNode(ctl, { id, site: 'meter-site', name: id }));
    await ctl.services.nodes.setPresence(node.nodeId, true); // its agent is connected
    url = await listeningUrl(ctl);
    browser = await launchChromium();
    // The page's clock is driven (stale comes STALE_MS after the last frame: no waiting it out).
    ({ page, cspViolations } = await signedInPage(browser, url, `/meters?nodes=${node.nodeId}`, undefined, {
      fakeClock: true,
    }));
    page.on('request', (request) => {
      if (request.url().includes('/meter-events') || request.url().includes('meters='))
        meterRequests.push(request.url());
      if (isEventsStream(request)) openStreams.add(request);
    });
    const ended = (request: Request) => openStreams.delete(request);
    page.on('requestfinished', ended);
    page.on('requestfailed', ended);
  });
  afterAll(async () => {
    stopFrames();
    await browser?.close();
    await ctl?.stop();
  });

  it('meters the chosen node: levels move, a clip latches until cleared, stale when frames stop', async () => {
    await page.getByRole('heading', { name: 'Meters', level: 1 }).waitFor();
    const hall = page.getByRole('region', { name: 'Hall M meters' });
    await hall.getByText('Waiting for meter frames…').waitFor();

    sendFrames([
      { peakDbfs: -12, rmsDbfs: -20, clipCount: 0, truePeakDbtp: -11.5, shortTermLufs: -23 },
      { peakDbfs: -30, rmsDbfs: -40, clipCount: 0 },
    ]);
    const left = hall.getByRole('meter', { name: 'Hall M channel 1 level' });
    const right = hall.getByRole('meter', { name: 'Hall M channel 2 level' });
    await page.waitForFunction(
      (el) => el?.getAttribute('aria-valuenow') === '-12',
      await left.elementHandle(),
    );
    expect(await right.getAttribute('aria-valuenow')).toBe('-30');
    expect(await left.getAttribute('aria-valuetext')).toBe('peak −12.0 dBFS, RMS −20.0 dBFS');
    await hall.getByText('Live', { exact: true }).waitFor();
    await hall.getByText('−12.0 / −20.0 · TP −11.5 · S −23.0').waitFor();
    // The scale's "0" (on the scale's top edge) is whole, not cut by the channels' scrolling box.
    const zero = await hall.locator('.meter-mark-0').boundingBox();
    const box = await hall.locator('.meter-channels').boundingBox();
    expect(zero!.y, 'the top of the scale\'s "0"').toBeGreaterThanOrEqual(box!.y);
    // The RMS bar is drawn to its place on the −60…0 dBFS scale (the node's canvas, over the track).
    await expect.poll(() => barHeight(left, 80)).toBeCloseTo(40 / 60, 1);
    expect(await barHeight(right, 80)).toBeCloseTo(20 / 60, 1); // each channel's bar over its own track
    // A larger font moves and grows the tracks: the canvas is fitted to them again.
    await page.evaluate(() => {
      document.documentElement.style.fontSize = '24px';
    });
    await expect.poll(() => barHeight(right, 80)).toBeCloseTo(20 / 60, 1);
    await page.evaluate(() => {
      document.documentElement.style.fontSize = '';
    });
    // Its colours stay where the scale puts them: RMS at −20 dBFS is green to its top (the red
    // of −6…0 dBFS and the amber of −18…−6 are not squeezed into a shorter bar).
    const [r, g] = await pixelAt(hall.getByRole('meter', { name: 'Hall M channel 1 level' }), 0.64);
    expect(g, `rgb ${r}, ${g} just under the RMS bar's top`).toBeGreaterThan(r! + 40);

    // The page opened one meter stream, for exactly this node (as the server audited it).
    const opened = await ctl.db.auditEvent.findMany({ where: { action: 'meters.stream_open' } });
    expect(opened.map((row) => row.targetId)).toEqual([node.nodeId]);

    // A clip on channel 2 latches; the live region says so; a quiet frame does not clear it.
    expect(await hall.locator('.meter-clip:visible').count()).toBe(0);
    sendFrames([
      { peakDbfs: -12, rmsDbfs: -20, clipCount: 0 },
      { peakDbfs: -0.01, rmsDbfs: -6, clipCount: 4 },
    ]);
    const clip = hall.getByRole('button', { name: 'Clip on channel 2: clear' });
    await clip.waitFor();
    await hall.getByText('Hall M: channel 2 clipped.').waitFor();
    expect(await axeViolations(page)).toEqual([]); // meters, readouts and a clip light shown
    sendFrames([
      { peakDbfs: -12, rmsDbfs: -20, clipCount: 0 },
      { peakDbfs: -40, rmsDbfs: -50, clipCount: 0 },
    ]);
    await page.waitForFunction(
      (el) => el?.getAttribute('aria-valuenow') === '-40',
      await right.elementHandle(),
    );
    expect(await clip.isVisible()).toBe(true);
    await clip.click();
    await clip.waitFor({ state: 'hidden' });

    // Frames stop: the node turns stale, and that is announced.
    stopFrames();
    // The page's clock moves past STALE_MS (its once-a-second check fires) instead of waiting.
    await page.clock.fastForward(STALE_MS + 1000);
    await hall.getByText('Stale: no frames for a few seconds').waitFor();
    await hall.getByText('Hall M: meter frames stopped.').waitFor();
    expect(await hall.getAttribute('data-state')).toBe('stale');

    // The controller says the node went offline (the tab's events stream): said so, and announced.
    await ctl.services.nodes.setPresence(node.nodeId, false);
    await hall.getByText('Offline', { exact: true }).waitFor();
    await hall.getByText('Hall M is offline.').waitFor();
  });

  it('keeps the choice of nodes in the URL and meters only those', async () => {
    const opened = page.waitForRequest(metersStream(`meters=${node.nodeId},meter-other&meterRate=10`));
    await page.getByText(/Choose nodes/).click();
    await page.getByRole('checkbox', { name: /Hall N/ }).check();
    await page.waitForURL(`${url}/meters?nodes=${node.nodeId},meter-other`);
    await page.getByRole('region', { name: 'Hall N meters' }).waitFor();
    // The tab's one stream again, now for both nodes (the one before it closed).
    await opened;
    await page.waitForFunction(() => document.querySelector('.meters-link')?.textContent === 'Meters live');
    await expect.poll(() => openStreams.size).toBe(1);
    const other = metersStream('meters=meter-other&meterRate=10');
    const reopened = page.waitForRequest(other);
    await page.getByRole('checkbox', { name: /Hall M/ }).uncheck();
    await page.waitForURL(`${url}/meters?nodes=meter-other`);
    const otherStream = await reopened;
    expect(await page.getByRole('region', { name: 'Hall M meters' }).count()).toBe(0);
    // None chosen: the empty state with the choice open; the stream goes on without meters
    // (a stream the page closes ends as an aborted request).
    const closed = Promise.race([
      page.waitForEvent('requestfinished', (r) => r === otherStream),
      page.waitForEvent('requestfailed', (r) => r === otherStream),
    ]);
    const plain = page.waitForRequest((r) => isEventsStream(r) && !r.url().includes('meters='));
    await page.getByRole('button', { name: 'Clear choice' }).click();
    await page.waitForURL(`${url}/meters`);
    await page.getByText('No nodes chosen: choose the nodes to meter above.').waitFor();
    await closed; // the meters ended with the last meter on screen
    await plain;
    await expect.poll(() => openStreams.size).toBe(1);
    expect(await page.getByRole('checkbox', { name: /Hall M/ }).isVisible()).toBe(true);
    expect(await axeViolations(page)).toEqual([]);
    await page.goBack();
    await page.waitForURL(`${url}/meters?nodes=meter-other`);
    // A node that is not there is named, and not asked for.
    const without = page.waitForRequest(other);
    await page.goto(`${url}/meters?nodes=meter-other,no-such-node`);
    await page.getByText('Not found (or not yours to see): no-such-node.').waitFor();
    await without;
    await page.waitForFunction(() => document.querySelector('.meters-link')?.textContent === 'Meters live');
    expect(meterRequests.filter((r) => r.includes('no-such-node'))).toEqual([]);
    // Never a second connection: the frames come on the tab's events stream.
    expect(meterRequests.filter((r) => r.includes('/meter-events'))).toEqual([]);

    // The node list cannot be read: said so, with a retry that works once the controller answers.
    const nodesList = `${url}/api/v1/nodes?limit=200`;
    await page.route(nodesList, (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: '{"error":{"code":"unavailable","message":"down for a moment"}}',
      }),
    );
    await page.goto(`${url}/meters?nodes=meter-other`);
    await page.getByRole('alert').getByText('The nodes could not be read: down for a moment').waitFor();
    await page.unroute(nodesList);
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('region', { name: 'Hall N meters' }).waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
  });

  it("shows the node's meters on its page", async () => {
    await page.goto(`${url}/nodes/${node.nodeId}`);
    await page.getByRole('heading', { name: 'Meters', level: 2 }).waitFor();
    sendFrames([{ peakDbfs: -24, rmsDbfs: -30, clipCount: 0 }]);
    const meter = page.getByRole('meter', { name: 'Hall M channel 1 level' });
    await meter.waitFor();
    await page.waitForFunction(
      (el) => el?.getAttribute('aria-valuenow') === '-24',
      await meter.elementHandle(),
    );
    await expect.poll(() => barHeight(meter, 25)).toBeCloseTo(36 / 60, 1);
    // The hold line on the peak's top is in the theme's text colour: dark on light, light on dark.
    const theme = page.getByLabel('Theme');
    await theme.selectOption('light');
    await expect.poll(() => holdInk(meter)).toBeLessThan(100);
    await theme.selectOption('dark');
    await expect.poll(() => holdInk(meter)).toBeGreaterThan(180);
    await theme.selectOption('system'); // light here
    await expect.poll(() => holdInk(meter)).toBeLessThan(100);
    // Forced colours (a high-contrast theme) leave a canvas as drawn: the bars take the system's
    // highlight colour instead of the zones' green, and go back to it when they end.
    const green = await pixelAt(meter, 0.1);
    await page.emulateMedia({ forcedColors: 'active' });
    const highlight = await page.evaluate(() => {
      const probe = document.createElement('span');
      probe.style.color = 'Highlight';
      document.body.append(probe);
      const colour = getComputedStyle(probe).color;
      probe.remove();
      return colour.match(/\d+/g)!.slice(0, 3).map(Number);
    });
    expect(highlight).not.toEqual(green);
    await expect.poll(() => pixelAt(meter, 0.1)).toEqual(highlight);
    await page.emulateMedia({ forcedColors: 'none' });
    await expect.poll(() => pixelAt(meter, 0.1)).toEqual(green);

    // A hidden tab paints nothing: silence arrives (the state says so), the bar stays put.
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    sendFrames([{ peakDbfs: -120, rmsDbfs: -120, clipCount: 0 }]);
    await page.locator('.meter-node[data-state="no-signal"]').waitFor();
    expect(await barHeight(meter, 25)).toBeCloseTo(36 / 60, 1);
    // Shown again: what arrived is painted.
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await expect.poll(() => barHeight(meter, 25)).toBe(0);
    stopFrames();
    expect(cspViolations).toEqual([]);
  });
  it('draws more than 300 channels on screen on canvases, with the same meter values and clip lights', async () => {
    await page.setViewportSize({ width: 2000, height: 2000 });
    await page.goto(`${url}/meters?nodes=${WALL.join(',')}`);
    const channels = (n: number, clipAt = -1): Channel[] =>
      Array.from({ length: n }, (_, i) => ({
        peakDbfs: i === clipAt ? 0 : -6,
        rmsDbfs: -30,
        clipCount: i === clipAt ? 1 : 0,
      }));
    const send = (clipAt = -1) => {
      for (const wall of wallNodes)
        ctl.services.meters.record(wall, {
          seq: seq++,
          capturedAtMs: Date.now(),
          windowMs: 100,
          sampleRate: 48_000,
          channels: channels(64, wall.nodeId === 'wall-2' ? clipAt : -1),
        });
    };
    send();
    let timer = setInterval(() => send(6), 100);
    try {
      await page.locator('canvas.meter-canvas').nth(4).waitFor();
      expect(await page.locator('.meter-track').count()).toBe(0); // no bar elements left
      // The accessible values are the same (once a second).
      const meter = page.getByRole('meter', { name: 'wall-3 channel 64 level' });
      await page.waitForFunction(
        (el) => el?.getAttribute('aria-valuenow') === '-6',
        await meter.elementHandle(),
      );
      // The bar is drawn: the bottom of channel 1 on wall-1's canvas is green, not empty.
      const canvas = page.getByRole('region', { name: 'wall-1 meters' }).locator('canvas');
      await page.waitForFunction(
        (el) => {
          const c = el as HTMLCanvasElement;
          const [r, g, , a] = c.getContext('2d')!.getImageData(1, c.height - 2, 1, 1).data;
          return a! > 200 && g! > r!;
        },
        await canvas.elementHandle(),
      );
      // Each canvas paints at most once per animation frame (the frames told apart by the time
      // their callbacks get), and only when data arrived: no more paints than frames sent. Each
      // node's frames now come two at once, faster than the page's frames.
      clearInterval(timer);
      timer = setInterval(() => {
        send(6);
        send(6);
      }, 100);
      const sentBefore = seq;
      const IN_FLIGHT = 4;
      await page.evaluate(() => {
        const w = window as unknown as { paints: [string, number][]; frame: number };
        w.paints = [];
        w.frame = 0;
        let lastTime = -1;
        let canvases = 0;
        const raf = window.requestAnimationFrame.bind(window);
        window.requestAnimationFrame = (callback) =>
          raf((time) => {
            if (time !== lastTime) {
              lastTime = time;
              w.frame += 1;
            }
            callback(time);
          });
        const clear = CanvasRenderingContext2D.prototype.clearRect;
        CanvasRenderingContext2D.prototype.clearRect = function (x, y, width, height) {
          const canvas = this.canvas as HTMLCanvasElement;
          canvas.dataset.probe ??= String(canvases++);
          // Counted from the first frame seen here on: a frame the page asked for before this
          // probe was put in runs unseen, and its paints would look like the previous frame's.
          if (w.frame > 0) w.paints.push([canvas.dataset.probe, w.frame]);
          return clear.call(this, x, y, width, height);
        };
      });
      const paints = () => page.evaluate(() => (window as unknown as { paints: [string, number][] }).paints);
      await expect
        .poll(async () => {
          const counts = new Map<string, number>();
          for (const [canvas] of await paints()) counts.set(canvas, (counts.get(canvas) ?? 0) + 1);
          return counts.size === WALL.length && Math.min(...counts.values());
        })
        .toBeGreaterThanOrEqual(5);
      const log = await paints();
      const framesPerNode = (seq - sentBefore) / WALL.length;
      for (const canvas of new Set(log.map(([c]) => c))) {
        const frames = log.filter(([c]) => c === canvas).map(([, frame]) => frame);
        expect(new Set(frames).size, `canvas ${canvas} painted twice in one animation frame`).toBe(
          frames.length,
        );
        // Frames sent before the count began may still be on their way (two at a time).
        expect(frames.length).toBeLessThanOrEqual(framesPerNode + IN_FLIGHT);
      }
      // A clip on wall-2's channel 7 latches its light (a button under the canvas) until cleared.
      const clip = page
        .getByRole('region', { name: 'wall-2 meters' })
        .getByRole('button', { name: 'Clip on channel 7: clear' });
      await clip.waitFor();
      expect(await clip.textContent()).toContain('Clip 7');
      clearInterval(timer);
      await clip.click();
      await clip.waitFor({ state: 'hidden' });
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      clearInterval(timer);
    }
  });

  it('a stream refused with its meters is opened again without them: the tab’s live events go on', async () => {
    const withMeters = (u: URL) => u.pathname === '/api/v1/events' && u.searchParams.has('meters');
    await page.route(withMeters, (route) =>
      route.fulfill({
        status: 404,
        contentType: 'application/json',
        body: '{"error":{"code":"not_found","message":"node not found"}}',
      }),
    );
    try {
      const plain = page.waitForRequest((r) => isEventsStream(r) && !r.url().includes('meters='));
      await page.goto(`${url}/meters?nodes=${node.nodeId}`);
      await page.getByText('Meters disconnected: retrying').waitFor();
      await plain;
      await page.locator('.stream-live').waitFor(); // the header's live events indicator
      // Events still arrive on the stream without meters: the node goes offline, and is shown so.
      await ctl.services.nodes.setPresence(node.nodeId, true);
      await ctl.services.nodes.setPresence(node.nodeId, false);
      await page
        .getByRole('region', { name: 'Hall M meters' })
        .getByText('Offline', { exact: true })
        .waitFor();
    } finally {
      await page.unroute(withMeters);
    }
  });

  it('fits a phone: a node of many channels scrolls inside its card, the page never sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${url}/meters?nodes=wall-1`);
    const card = page.getByRole('region', { name: 'wall-1 meters' });
    await card.waitFor();
    const channels = Array.from({ length: 64 }, () => ({ peakDbfs: -12, rmsDbfs: -20, clipCount: 0 }));
    const send = () =>
      ctl.services.meters.record(wallNodes[0]!, {
        seq: seq++,
        capturedAtMs: Date.now(),
        windowMs: 100,
        sampleRate: 48_000,
        channels,
      });
    send();
    const feed = setInterval(send, 100);
    try {
      await card.locator('.meter-channels').waitFor();
    } finally {
      clearInterval(feed);
    }
    const widths = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      viewport: document.documentElement.clientWidth,
      channels: document.querySelector('.meter-channels')?.scrollWidth ?? 0,
    }));
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    expect(widths.channels).toBeGreaterThan(widths.viewport); // 64 channels: they scroll inside
  });
});
