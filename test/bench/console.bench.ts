/**
 * The operator console against its budgets (issue 16), in headless Chromium (Debian's, driven
 * by playwright-core) with the built console from a plain static server and the scripted API
 * (test/support/console-scripted-api.ts: 200 nodes × 8 channels, 10,000 recordings, a scripted
 * events stream). Each row is reported beside its budget; nothing here passes or fails.
 *
 *   - gzipped sizes: the initial script (what index.html names), all CSS, the largest page chunk;
 *   - the fleet overview with 200 nodes usable (all tiles in the DOM) after a fresh load and
 *     after an in-app navigation, median and worst of several runs;
 *   - streaming: the JS heap (after a forced GC) sampled through N seconds of live events on the
 *     fleet overview (its growth, and its slope as MB per 10 minutes), and the main thread's busy
 *     time per second meanwhile (the forced GCs left out);
 *   - the meters wall with 200 channels (and 64, and 400), frames streamed in real time:
 *     main-thread time per second, animation frames over 50 ms; then the latency from a meter
 *     message sent (the scripted frame's `capturedAtMs`, the server's clock) to the first animation
 *     frame after the message arrived (`performance.timeOrigin + performance.now()` in that frame's
 *     first callback: a meter paints on arrival, or in that frame if it painted since the last one,
 *     so it is the first frame that can show the bars) and to that frame rendered (a task posted
 *     from the callback runs after the frame's style, layout, paint and commit: what bars moved by
 *     `transform` waited for; the meters' desynchronized canvases reach the screen without it); then,
 *     for the 200-channel wall, the heap's slope over N seconds.
 *     Measured on the quiet machine (2026-12-06), p95 message → frame rendered: 200 channels on
 *     canvases 20.2–23.3 ms when the meters painted in the frame, 17.5–17.7 ms since they paint on
 *     arrival; 400 channels 19.4 → 19.8–20.4 ms; 64 channels as bars 25.9 → 22.8–23.0 ms (16 and
 *     32 channels as bars: 19.9 and 21.7 ms: a 3840×2160 page's frame costs 3–5 ms of main thread
 *     in software compositing, whatever the bars). After the bars kept their colours in place (a
 *     `--level` custom property scales the bar and sizes its gradient; 2026-12-06): 64 channels as
 *     bars 23.6–25.1 ms, 109–128 ms/s of main thread; 200 channels on canvases 16.8 ms, 35.7 ms/s.
 *     Since every node's bars are drawn on its canvas, laid over the tracks when in columns (the
 *     labels, clip lights and readouts stay elements; 2026-12-06, 3 runs): 64 channels in columns
 *     16.0–18.1 ms, 36–41 ms/s of main thread (the same page drew its bars as elements at 25.1 ms,
 *     128 ms/s); 200 channels compact 18.0–18.6 ms, 41–56 ms/s; 400 channels 19.5–19.6 ms.
 *
 *   - a 2-hour recording's waveform: from the page asking for the recording's peaks (never the
 *     file; the scripted API answers them as the controller does from its cache) to the waveform
 *     drawn (the canvas's `data-drawn-ms`), after a fresh load, median and worst of several runs,
 *     and how many requests asked for the audio itself (none).
 *
 * Headless Chromium as playwright-core launches it (`--headless --enable-unsafe-swiftshader`, no
 * GPU here): the page's compositing and raster are in software, as on a CI runner.
 *
 * Env: EARSHOT_BENCH_CONSOLE_SECONDS (120: the streaming and the heap phases; over 30 s the fleet
 * page's slope read 10.5–11 MB per 10 minutes from a warm-up of about 0.5 MB that then levels off:
 * over 120 s the same 0.55 MB gave 1.2 MB per 10 minutes),
 * EARSHOT_BENCH_CONSOLE_RUNS (5), EARSHOT_BENCH_CONSOLE_METERS_SECONDS (10),
 * EARSHOT_BENCH_CONSOLE_LATENCY_SECONDS (5), EARSHOT_BENCH_CONSOLE_ONLY (a comma list of
 * `sizes,fleet,streaming,wall,waveform`: only those parts), EARSHOT_BENCH_CONSOLE_WALLS (`25,8,50`:
 * the meters walls measured, as nodes chosen; the heap series runs on the first),
 * EARSHOT_BENCH_CONSOLE_VIEWPORT (`3840x2160`: the walls' viewport).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { builtConsole, launchChromium } from '../support/console.js';
import { scriptedApi, staticConsole } from '../support/console-scripted-api.js';
import { type BenchRow, percentile } from './report.js';

const BENCH = 'console';
const SECONDS = Number(process.env.EARSHOT_BENCH_CONSOLE_SECONDS || 120);
const RUNS = Number(process.env.EARSHOT_BENCH_CONSOLE_RUNS || 5);
/**
 * Nodes chosen on the wall: 25 × 8 = 200 channels (the budget's; past 64 channels on screen the
 * wall is drawn compact), 8 × 8 = 64 (the largest wall in columns, with readouts), and 50 (400).
 * Those on screen are streamed.
 */
const WALL_NODES = (process.env.EARSHOT_BENCH_CONSOLE_WALLS || '25,8,50').split(',').map(Number);
/** The meters walls' viewport: a wall display (3840×2160) unless EARSHOT_BENCH_CONSOLE_VIEWPORT says `WxH`. */
const WALL_VIEWPORT = (() => {
  const [width, height] = (process.env.EARSHOT_BENCH_CONSOLE_VIEWPORT || '3840x2160').split('x').map(Number);
  if (!width || !height)
    throw new Error('EARSHOT_BENCH_CONSOLE_VIEWPORT: expected WIDTHxHEIGHT, e.g. 1440x900');
  return { width, height };
})();
const METERS_SECONDS = Number(process.env.EARSHOT_BENCH_CONSOLE_METERS_SECONDS || 10);
const LATENCY_SECONDS = Number(process.env.EARSHOT_BENCH_CONSOLE_LATENCY_SECONDS || 5);
const ONLY = (process.env.EARSHOT_BENCH_CONSOLE_ONLY ?? '').split(',').filter(Boolean);
const wantPart = (part: string) => ONLY.length === 0 || ONLY.includes(part);
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
  messageToPaintP95Ms: 20,
  waveformDrawnMs: 500,
};
const MB = 1024 * 1024;

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

/**
 * The JS heap after a forced GC, and the main thread's busy time so far without the forced GCs
 * (one DevTools session per page).
 */
async function probe(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const taskSeconds = async () =>
    (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0;
  /** The main thread's time spent in our forced GCs (and their reads), left out of the page's. */
  let ours = 0;
  return {
    async read(): Promise<{ heap: number; taskSeconds: number }> {
      const before = await taskSeconds();
      await cdp.send('HeapProfiler.collectGarbage');
      const { usedSize } = await cdp.send('Runtime.getHeapUsage');
      const page = before - ours; // the page's time so far, our earlier GCs left out
      ours += (await taskSeconds()) - before;
      return { heap: usedSize, taskSeconds: page };
    },
    detach: () => cdp.detach(),
  };
}

/**
 * The heap after a GC every `seconds / samples` for `seconds`: growth, and the slope (least
 * squares) in MB per 10 minutes; the main thread's busy time meanwhile, our GCs left out.
 */
async function heapSeries(
  devtools: Awaited<ReturnType<typeof probe>>,
  seconds: number,
  samples = 10,
): Promise<{ first: number; last: number; slopeMbPer10Min: number; busyMsPerS: number; elapsedS: number }> {
  const points: { t: number; heap: number }[] = [];
  const startedAt = Date.now();
  let busy = 0;
  let previous = await devtools.read();
  points.push({ t: 0, heap: previous.heap });
  for (let k = 1; k <= samples; k++) {
    await sleep(Math.max(0, startedAt + (seconds * 1000 * k) / samples - Date.now()));
    const now = await devtools.read();
    busy += now.taskSeconds - previous.taskSeconds;
    previous = now;
    points.push({ t: (Date.now() - startedAt) / 1000, heap: now.heap });
  }
  const elapsedS = (Date.now() - startedAt) / 1000;
  const mean = (f: (p: { t: number; heap: number }) => number) =>
    points.reduce((sum, p) => sum + f(p), 0) / points.length;
  const mt = mean((p) => p.t);
  const mh = mean((p) => p.heap);
  const slope =
    points.reduce((sum, p) => sum + (p.t - mt) * (p.heap - mh), 0) /
    Math.max(
      1e-9,
      points.reduce((sum, p) => sum + (p.t - mt) ** 2, 0),
    );
  return {
    first: points[0]!.heap,
    last: points[points.length - 1]!.heap,
    slopeMbPer10Min: (slope * 600) / MB,
    busyMsPerS: (busy * 1000) / elapsedS,
    elapsedS,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
    await sleep(2000);
    const devtools = await probe(page);
    const eventsBefore = script.stats.events;
    const heap = await heapSeries(devtools, SECONDS);
    await devtools.detach();
    const events = script.stats.events - eventsBefore;
    const subject = `fleet streaming ${SECONDS} s, ${Math.round(events / heap.elapsedS)} events/s`;
    return [
      ...heapRows(subject, heap),
      row(subject, 'main thread busy', heap.busyMsPerS, 'ms/s', BUDGET.mainThreadMsPerS),
      row(subject, 'tiles on screen at the end', await page.locator('li.tile').count(), 'tiles'),
    ];
  } finally {
    await context.close();
  }
}

function heapRows(subject: string, heap: Awaited<ReturnType<typeof heapSeries>>): BenchRow[] {
  const budget = BUDGET.heapGrowthBytes / MB;
  return [
    row(subject, 'JS heap after GC, start', heap.first / MB, 'MB'),
    row(subject, 'JS heap after GC, end', heap.last / MB, 'MB'),
    row(
      subject,
      `heap growth in ${Math.round(heap.elapsedS)} s (budget: 10 min)`,
      (heap.last - heap.first) / MB,
      'MB',
      budget,
    ),
    row(subject, 'heap slope (least squares), per 10 min', heap.slopeMbPer10Min, 'MB', budget),
  ];
}

/**
 * An init script (a string: tsx would wrap a named function in a helper the page does not
 * have): notes when each meter message arrives (the `capturedAtMs` of the frames it carries),
 * while `window.latency.on`; the bench's animation-frame callback then takes the pending ones
 * (painted on arrival or in this frame) and, from a task posted there, their time to the frame
 * rendered. Wraps the listeners of `meter` and `meters` messages on any EventSource.
 */
const LATENCY_PROBE = `(() => {
  const state = { on: false, pending: [], toFrame: [], toRendered: [] };
  window.latency = state;
  const add = EventSource.prototype.addEventListener;
  const stamp = /"capturedAtMs":(\\d+)/g;
  EventSource.prototype.addEventListener = function (type, listener, options) {
    if ((type === 'meter' || type === 'meters') && typeof listener === 'function') {
      const inner = listener;
      listener = function (message) {
        if (state.on) for (const m of String(message.data).matchAll(stamp)) state.pending.push(Number(m[1]));
        return inner.call(this, message);
      };
    }
    return add.call(this, type, listener, options);
  };
  const channel = new MessageChannel();
  let rendered = [];
  channel.port1.onmessage = () => {
    const now = performance.timeOrigin + performance.now();
    for (const sent of rendered) state.toRendered.push(now - sent);
    rendered = [];
  };
  function tick() {
    if (state.pending.length > 0) {
      const now = performance.timeOrigin + performance.now();
      for (const sent of state.pending) state.toFrame.push(now - sent);
      rendered = state.pending;
      state.pending = [];
      channel.port2.postMessage(0);
    }
    if (state.on) requestAnimationFrame(tick);
  }
  state.start = () => {
    state.on = true;
    requestAnimationFrame(tick);
  };
})()`;

/**
 * The meters wall with `wallNodes` × 8 channels chosen (those on screen reported), frames streamed in real
 * time by the static server at the rate the page asks for: main-thread busy time per second and
 * frames (animation frames) over 50 ms.
 */
/** The latency probe's figures over LATENCY_SECONDS: message sent → its animation frame, → rendered. */
async function messageToPaint(page: Page): Promise<BenchRow[]> {
  await page.evaluate('window.latency.start()');
  await sleep(LATENCY_SECONDS * 1000);
  const { toFrame, toRendered } = (await page.evaluate(`(() => {
    window.latency.on = false;
    return { toFrame: window.latency.toFrame, toRendered: window.latency.toRendered };
  })()`)) as { toFrame: number[]; toRendered: number[] };
  const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
  const frame = sorted(toFrame);
  const rendered = sorted(toRendered);
  return [
    row('', 'meter messages timed', frame.length, 'messages'),
    row('', 'message sent → its animation frame (median)', percentile(frame, 50), 'ms'),
    row(
      '',
      'message sent → its animation frame (p95)',
      percentile(frame, 95),
      'ms',
      BUDGET.messageToPaintP95Ms,
    ),
    row('', 'message sent → frame rendered (median)', percentile(rendered, 50), 'ms'),
    row(
      '',
      'message sent → frame rendered (p95)',
      percentile(rendered, 95),
      'ms',
      BUDGET.messageToPaintP95Ms,
    ),
  ];
}

async function metersWall(
  browser: Browser,
  dir: string,
  wallNodes: number,
  withHeap: boolean,
): Promise<BenchRow[]> {
  const script = scriptedApi({ nodes: 200, channels: 8, recordings: 0, liveMeters: true });
  const server = await staticConsole(dir, { meters: script });
  // A wall display: every meter on screen (the page streams only the nodes on screen).
  const context = await browser.newContext({ viewport: WALL_VIEWPORT });
  try {
    const page = await context.newPage();
    await script.route(page);
    let rate = '';
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/api/v1/meter-events') rate = url.searchParams.get('rate') ?? '10';
    });
    const ids = script.nodes.slice(0, wallNodes).map((node) => node.id);
    await page.addInitScript(LATENCY_PROBE);
    await page.goto(`${server.url}/meters?nodes=${ids.join(',')}`);
    await page
      .locator('.meter-node')
      .nth(wallNodes - 1)
      .waitFor();
    await sleep(2000); // the stream running
    // The nodes getting frames: those on screen (whatever the transport).
    const streamed = await page
      .locator('.meter-node[data-state="live"], .meter-node[data-state="no-signal"]')
      .count();
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
    const elapsedS = (Date.now() - startedAt) / 1000;
    const received = script.stats.meterFrames - framesBefore;
    const mode = (await page.locator('.meter-track').count()) > 0 ? 'columns' : 'compact';
    const subject = `meters wall ${WALL_VIEWPORT.width}×${WALL_VIEWPORT.height}, ${wallNodes} chosen: ${streamed} on screen × 8 = ${streamed * 8} ch (${mode}) at rate=${rate || '?'}, ${METERS_SECONDS} s`;
    const latency = await messageToPaint(page);
    const heap = withHeap ? await heapSeries(devtools, SECONDS) : undefined;
    await devtools.detach();
    return [
      row(subject, 'meter frames received', received / elapsedS, 'frames/s'),
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
      ...latency.map((r) => ({ ...r, subject: `${subject}; latency ${LATENCY_SECONDS} s` })),
      ...(heap ? heapRows(`${subject}; heap ${SECONDS} s`, heap) : []),
    ];
  } finally {
    await context.close();
    await server.close();
  }
}

/** The recording page's waveform of a 2-hour recording, drawn from its peaks, RUNS fresh loads. */
async function waveformDrawn(browser: Browser, url: string): Promise<BenchRow[]> {
  const script = scriptedApi({ nodes: 20, channels: 2, recordings: 10, peaks: { durationMs: 7_200_000 } });
  const drawn: number[] = [];
  let audioRequests = 0;
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const page = await context.newPage();
      await script.route(page);
      page.on('request', (request) => {
        if (/\/(stream|file)$/.test(new URL(request.url()).pathname)) audioRequests++;
      });
      await page.goto(`${url}/recordings/${script.recordings[1]!.id}`);
      const wave = page.getByTestId('rec-wave');
      await wave.and(page.locator('[data-drawn-ms]')).waitFor({ timeout: 10_000 });
      drawn.push(Number(await wave.getAttribute('data-drawn-ms')));
    } finally {
      await context.close();
    }
  }
  drawn.sort((a, b) => a - b);
  const subject = `recording page, 2-hour waveform from its peaks, ${RUNS} runs`;
  return [
    row(
      subject,
      'peaks asked → waveform drawn (median)',
      percentile(drawn, 50),
      'ms',
      BUDGET.waveformDrawnMs,
    ),
    row(
      subject,
      'peaks asked → waveform drawn (worst)',
      drawn.at(-1) ?? Number.NaN,
      'ms',
      BUDGET.waveformDrawnMs,
    ),
    row(subject, 'requests for the audio itself', audioRequests, 'requests'),
  ];
}

export async function consoleBench(): Promise<BenchRow[]> {
  const dir = await builtConsole();
  const server = await staticConsole(dir);
  const browser = await launchChromium();
  try {
    const rows: BenchRow[] = [];
    if (wantPart('sizes')) rows.push(...(await sizeRows(dir)));
    if (wantPart('fleet')) rows.push(...(await fleetUsable(browser, server.url)));
    if (wantPart('streaming')) rows.push(...(await streaming(browser, server.url)));
    if (wantPart('wall'))
      for (const nodes of WALL_NODES)
        rows.push(...(await metersWall(browser, dir, nodes, nodes === WALL_NODES[0])));
    if (wantPart('waveform')) rows.push(...(await waveformDrawn(browser, server.url)));
    return rows;
  } finally {
    await browser.close();
    await server.close();
  }
}
