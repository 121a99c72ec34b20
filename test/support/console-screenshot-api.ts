import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { normalize } from 'node:path';
import type { Page, Route } from 'playwright-core';
import type { MeterFrame } from '../../shared/src/mqtt.js';
import { seededAnswer } from './console-screenshot-data.js';
import { type ScriptedApi, scriptedApi, serveConsoleFile } from './console-scripted-api.js';

export interface StillConsole {
  url: string;
  script: ScriptedApi;
  /** Answers the page's API requests (signed in, or not: the sign-in page). */
  /** `tab` names the page's streams in `meters`. */
  route(page: Page, options?: { signedIn?: boolean; tab?: string }): Promise<void>;
  /** Per tab: the ticks (with frames) its latest meter stream has sent. */
  meters: Map<string, { stream: number; ticks: number }>;
  close(): Promise<void>;
}

/** The same frame for a node every time: levels by node and channel, one clipping, one silent. */
function stillFrames(script: ScriptedApi, query: URLSearchParams, nowMs: number): string {
  const named = [query.get('nodes'), query.get('meters')].flatMap((list) => list?.split(',') ?? []);
  const wanted = new Set([...query.getAll('nodeId'), ...named]);
  let chunk = '';
  for (const node of script.nodes) {
    if (!wanted.has(node.id) || !node.presence.online) continue;
    const index = Number(node.id.slice(-3)) || 0;
    const frame: MeterFrame = {
      v: 2,
      seq: 1,
      capturedAtMs: nowMs,
      windowMs: 100,
      sampleRate: node.capture.sampleRate,
      channels: Array.from({ length: node.capture.channels }, (_, c) => {
        const level = index % 7 === 6 ? -120 : -42 + ((index * 5 + c * 7) % 36);
        return {
          peakDbfs: Math.min(0, level + 6),
          rmsDbfs: level,
          clipCount: index === 4 && c === 1 ? 1 : 0,
        };
      }),
    };
    chunk += `event: meter\ndata: ${JSON.stringify({ nodeId: node.id, frame })}\n\n`;
  }
  return chunk;
}

function holdOpen(response: ServerResponse, first: string, tick?: () => void): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  response.write(first);
  if (!tick) return;
  const timer = setInterval(tick, 250);
  response.on('close', () => clearInterval(timer));
}

/** Which tab a stream is for (set on the way out by `route`). */
const TAB_HEADER = 'x-earshot-tab';

export async function stillConsole(dir: string, nowMs: number): Promise<StillConsole> {
  const script = scriptedApi({ nodes: 24, channels: 8, recordings: 120, sites: 3, nowMs });
  const meters = new Map<string, { stream: number; ticks: number }>();
  let streams = 0;
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const path = normalize(decodeURIComponent(url.pathname));
    const ready = 'id: 1\nevent: ready\ndata: {"id":1}\n\n';
    if (path === '/api/v1/events' && !url.searchParams.has('meters')) return holdOpen(response, ready);
    if (path === '/api/v1/meter-events' || path === '/api/v1/events') {
      const tab = String(request.headers[TAB_HEADER] ?? '');
      const latest = { stream: ++streams, ticks: 0 };
      meters.set(tab, latest);
      return holdOpen(response, path === '/api/v1/events' ? ready : ': meters\n\n', () => {
        const frames = stillFrames(script, url.searchParams, nowMs);
        response.write(frames);
        if (frames && meters.get(tab) === latest) latest.ticks += 1;
      });
    }
    serveConsoleFile(dir, path, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  async function route(page: Page, options: { signedIn?: boolean; tab?: string } = {}): Promise<void> {
    await script.route(page);
    // Registered after the script's, so asked first; what it leaves goes on to the script.
    await page.route('**/api/v1/**', async (route: Route) => {
      const request = route.request();
      const url = new URL(request.url());
      const path = url.pathname.replace(/^\/api\/v1/, '');
      if (path === '/events' || path === '/meter-events')
        return route.continue({ headers: { ...request.headers(), [TAB_HEADER]: options.tab ?? '' } });
      if (options.signedIn === false && path === '/auth/me')
        return route.fulfill({
          status: 401,
          contentType: 'application/json',
          body: JSON.stringify({
            error: { code: 'unauthenticated', message: 'Sign in first' },
            requestId: 'still',
          }),
        });
      const body = seededAnswer(script, nowMs, request.method(), path, url.searchParams);
      if (body === undefined) return route.fallback();
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
    });
  }

  return {
    url: `http://127.0.0.1:${port}`,
    script,
    route,
    meters,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
