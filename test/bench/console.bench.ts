/**
 * The operator console against its budgets (issue 16), in headless Chromium (Debian's, driven
 * by playwright-core) with the built console from a plain static server and the scripted API
 * (test/support/console-scripted-api.ts: 200 nodes × 8 channels, 10,000 recordings, a scripted
 * events stream). Each row is reported beside its budget; nothing here passes or fails.
 *
 *   - gzipped sizes: the initial script (what index.html names), all CSS, the largest page chunk;
 *   - the fleet overview with 200 nodes usable (all tiles in the DOM) after a fresh load and
 *     after an in-app navigation, median and worst of several runs;
 *   - streaming: the JS heap (after a forced GC) before and after N seconds of live events on the
 *     fleet overview, and the main thread's busy time per second meanwhile;
 *   - the meters wall with 200 channels, frames streamed in real time: main-thread time per
 *     second, animation frames over 50 ms (the message-to-paint latency is not measured here).
 *
 * Env: EARSHOT_BENCH_CONSOLE_SECONDS (30), EARSHOT_BENCH_CONSOLE_RUNS (5),
 * EARSHOT_BENCH_CONSOLE_METERS_SECONDS (10).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { builtConsole, launchChromium } from '../support/console.js';
import { scriptedApi, staticConsole } from '../support/console-scripted-api.js';
import { type BenchRow, percentile } from './report.js';

const BENCH = 'console';
const SECONDS = Number(process.env.EARSHOT_BENCH_CONSOLE_SECONDS || 30);
const RUNS = Number(process.env.EARSHOT_BENCH_CONSOLE_RUNS || 5);
/**
 * Nodes chosen on the wall: 25 × 8 = 200 channels (bars; those on screen are streamed), and 50
 * (400 channels: past ~300 the wall draws on canvas).
 */
const WALL_NODES = [25, 50];
const METERS_SECONDS = Number(process.env.EARSHOT_BENCH_CONSOLE_METERS_SECONDS || 10);
const KB = 1024;

const BUDGET = {
  initialJs: 60 * KB,
  css: 15 * KB,
  chunk: 30 * KB,
  fleetUsableMs: 1000,
  mainThreadMsPerS: 150,
  longestFrameMs: 50,
  /** Over 10 minutes of streaming. */
  heapGrowthBytes: 5 * 1024 * 1024,
};

function row(subject: string, metric: string, value: number, unit: string, budget?: number): BenchRow {
  return {
    bench: BENCH,
    subject,
    metric,
    value,
    unit,
    ...(budget === undefined
      ? {}
      : { reference: { subject: 'budget', value: budget, ratio: value / budget } }),
  };
}

async function sizeRows(dir: string): Promise<BenchRow[]> {
  const assets = await readdir(join(dir, 'assets'));
  const shell = await readFile(join(dir, 'index.html'), 'utf8');
  const gz = async (name: string) => gzipSync(await readFile(join(dir, 'assets', name))).length;
  const scripts = assets.filter((name) => name.endsWith('.js'));
  const initial = scripts.filter((name) => shell.includes(`/assets/${name}`));
  const chunks = scripts.filter((name) => !initial.includes(name));
  let initialBytes = 0;
  for (const name of initial) initialBytes += await gz(name);
  let cssBytes = 0;
  for (const name of assets.filter((n) => n.endsWith('.css'))) cssBytes += await gz(name);
  const chunkSizes = await Promise.all(chunks.map(async (name) => ({ name, bytes: await gz(name) })));
  chunkSizes.sort((a, b) => b.bytes - a.bytes);
  const largest = chunkSizes[0];
  return [
    row('build', 'initial JS (gzip)', initialBytes / KB, 'KB', BUDGET.initialJs / KB),
    row('build', 'CSS (gzip)', cssBytes / KB, 'KB', BUDGET.css / KB),
    row(
      'build',
      `largest chunk of ${chunks.length} (gzip)${largest ? `: ${largest.name}` : ''}`,
      (largest?.bytes ?? 0) / KB,
      'KB',
      BUDGET.chunk / KB,
    ),
    row('build', 'chunks over budget', chunkSizes.filter((c) => c.bytes > BUDGET.chunk).length, 'chunks'),
  ];
}

/** An init script: notes (in the page) when `expected` tiles are in the DOM, from the navigation's start. */
function watchTiles(expected: number): void {
  new MutationObserver((_, observer) => {
    if (document.querySelectorAll('li.tile').length >= expected) {
      (window as unknown as { tilesAt?: number }).tilesAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
}

async function fleetUsable(browser: Browser, url: string): Promise<BenchRow[]> {
  const script = scriptedApi({ nodes: 200, channels: 8, recordings: 10_000 });
  const fresh: number[] = [];
  const inApp: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const page = await context.newPage();
      await script.route(page);
      await page.addInitScript(watchTiles, 200);
      // A fresh load of the overview: from the navigation's start to every tile in the DOM.
      await page.goto(`${url}/fleet`);
      await page.waitForFunction(() => (window as unknown as { tilesAt?: number }).tilesAt !== undefined);
      fresh.push(await page.evaluate(() => (window as unknown as { tilesAt: number }).tilesAt));
      // An in-app navigation: away, then the Fleet link.
      await page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Health events' })
        .click();
      await page.waitForURL('**/health');
      await page.locator('#content h1').waitFor();
      await page.evaluate(() => {
        const w = window as unknown as { tilesAt?: number; clickedAt?: number };
        w.tilesAt = undefined;
        new MutationObserver((_, observer) => {
          if (document.querySelectorAll('li.tile').length >= 200) {
            w.tilesAt = performance.now();
            observer.disconnect();
          }
        }).observe(document, { childList: true, subtree: true });
        w.clickedAt = performance.now();
        (document.querySelector('nav[aria-label="Main"] a[href="/fleet"]') as HTMLAnchorElement).click();
      });
      await page.waitForFunction(() => (window as unknown as { tilesAt?: number }).tilesAt !== undefined);
      inApp.push(
        await page.evaluate(() => {
          const w = window as unknown as { tilesAt: number; clickedAt: number };
          return w.tilesAt - w.clickedAt;
        }),
      );
    } finally {
      await context.close();
    }
  }
  const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
  const subject = `fleet, 200 nodes × 8 ch, ${RUNS} runs`;
  return [
    row(
      subject,
      'fresh load → all tiles (median)',
      percentile(sorted(fresh), 50),
      'ms',
      BUDGET.fleetUsableMs,
    ),
    row(subject, 'fresh load → all tiles (worst)', Math.max(...fresh), 'ms', BUDGET.fleetUsableMs),
    row(
      subject,
      'in-app navigation → all tiles (median)',
      percentile(sorted(inApp), 50),
      'ms',
      BUDGET.fleetUsableMs,
    ),
    row(subject, 'in-app navigation → all tiles (worst)', Math.max(...inApp), 'ms', BUDGET.fleetUsableMs),
  ];
}

/** The JS heap after a forced GC, and the main thread's busy time so far (one DevTools session per page). */
async function probe(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  return {
    async read(): Promise<{ heap: number; taskSeconds: number }> {
      // The main thread's time first: the forced GC below is ours, not the page's.
      const { metrics } = await cdp.send('Performance.getMetrics');
      await cdp.send('HeapProfiler.collectGarbage');
      const { usedSize } = await cdp.send('Runtime.getHeapUsage');
      return { heap: usedSize, taskSeconds: metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0 };
    },
    detach: () => cdp.detach(),
  };
}

async function streaming(browser: Browser, url: string): Promise<BenchRow[]> {
  // 20 node changes every ~100 ms: a busy fleet, each change making the overview read the list again.
  const script = scriptedApi({
    nodes: 200,
    channels: 8,
    recordings: 0,
    eventsPerBatch: 20,
    eventsRetryMs: 100,
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  try {
    const page = await context.newPage();
    await script.route(page);
    await page.goto(`${url}/fleet`);
    await page.locator('li.tile').nth(199).waitFor();
    // Warm-up: the stream running, the first reads done.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const devtools = await probe(page);
    const before = await devtools.read();
    const eventsBefore = script.stats.events;
    const startedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    const after = await devtools.read();
    await devtools.detach();
    const elapsedS = (Date.now() - startedAt) / 1000;
    const events = script.stats.events - eventsBefore;
    const subject = `fleet streaming ${SECONDS} s, ${Math.round(events / elapsedS)} events/s`;
    return [
      row(subject, 'JS heap after GC, start', before.heap / 1024 / 1024, 'MB'),
      row(subject, 'JS heap after GC, end', after.heap / 1024 / 1024, 'MB'),
      row(
        subject,
        `heap growth (budget: 10 min of streaming)`,
        (after.heap - before.heap) / 1024 / 1024,
        'MB',
        BUDGET.heapGrowthBytes / 1024 / 1024,
      ),
      row(
        subject,
        'main thread busy',
        ((after.taskSeconds - before.taskSeconds) * 1000) / elapsedS,
        'ms/s',
        BUDGET.mainThreadMsPerS,
      ),
      row(subject, 'tiles on screen at the end', await page.locator('li.tile').count(), 'tiles'),
    ];
  } finally {
    await context.close();
  }
}

/**
 * The meters wall with `wallNodes` × 8 channels chosen (those on screen reported), frames streamed in real
 * time by the static server at the rate the page asks for: main-thread busy time per second and
 * frames (animation frames) over 50 ms.
 */
async function metersWall(browser: Browser, dir: string, wallNodes: number): Promise<BenchRow[]> {
  const script = scriptedApi({ nodes: 200, channels: 8, recordings: 0, liveMeters: true });
  const server = await staticConsole(dir, { meters: script });
  // A wall display: every meter on screen (the page streams only the nodes on screen).
  const context = await browser.newContext({ viewport: { width: 3840, height: 2160 } });
  try {
    const page = await context.newPage();
    await script.route(page);
    let rate = '';
    let streamed = 0;
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname !== '/api/v1/meter-events') return;
      rate = url.searchParams.get('rate') ?? '10';
      streamed = url.searchParams.get('nodes')?.split(',').length ?? url.searchParams.getAll('nodeId').length;
    });
    const ids = script.nodes.slice(0, wallNodes).map((node) => node.id);
    await page.goto(`${server.url}/meters?nodes=${ids.join(',')}`);
    await page
      .locator('.meter-node')
      .nth(wallNodes - 1)
      .waitFor();
    await new Promise((resolve) => setTimeout(resolve, 2000)); // the stream running
    const devtools = await probe(page);
    const before = await devtools.read();
    const framesBefore = script.stats.meterFrames;
    // A string: tsx would wrap a named function in a helper the page does not have.
    await page.evaluate(`(() => {
      window.longFrames = [];
      window.frameCount = 0;
      window.watching = true;
      let last = performance.now();
      requestAnimationFrame(function tick(now) {
        if (now - last > 50) window.longFrames.push(now - last);
        last = now;
        window.frameCount += 1;
        if (window.watching) requestAnimationFrame(tick);
      });
    })()`);
    const startedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, METERS_SECONDS * 1000));
    const frames = await page.evaluate(() => {
      const w = window as unknown as { longFrames: number[]; frameCount: number; watching: boolean };
      w.watching = false;
      return { long: w.longFrames, count: w.frameCount };
    });
    const after = await devtools.read();
    await devtools.detach();
    const elapsedS = (Date.now() - startedAt) / 1000;
    const subject = `meters wall 3840×2160, ${wallNodes} chosen: ${streamed} on screen × 8 = ${streamed * 8} ch at rate=${rate || '?'}, ${METERS_SECONDS} s`;
    return [
      row(subject, 'meter frames received', (script.stats.meterFrames - framesBefore) / elapsedS, 'frames/s'),
      row(
        subject,
        'main thread busy',
        ((after.taskSeconds - before.taskSeconds) * 1000) / elapsedS,
        'ms/s',
        BUDGET.mainThreadMsPerS,
      ),
      row(subject, 'animation frames', frames.count / elapsedS, 'fps'),
      row(subject, 'animation frames over 50 ms', frames.long.length, 'frames'),
      row(subject, 'longest animation frame', Math.max(0, ...frames.long), 'ms', BUDGET.longestFrameMs),
    ];
  } finally {
    await context.close();
    await server.close();
  }
}

export async function consoleBench(): Promise<BenchRow[]> {
  const dir = await builtConsole();
  const server = await staticConsole(dir);
  const browser = await launchChromium();
  try {
    return [
      ...(await sizeRows(dir)),
      ...(await fleetUsable(browser, server.url)),
      ...(await streaming(browser, server.url)),
      ...(await (async () => {
        const rows: BenchRow[] = [];
        for (const nodes of WALL_NODES) rows.push(...(await metersWall(browser, dir, nodes)));
        return rows;
      })()),
    ];
  } finally {
    await browser.close();
    await server.close();
  }
}
