/**
 * The console against a scripted API: the built console (`builtConsole()`) served by a plain
 * static server (the shell for page paths, with the controller's Content-Security-Policy), and
 * every `/api/v1/**` request answered in the browser by `page.route` from a script shaped as
 * the real API shapes it (typed against the routes' schemas): a signed-in owner, a fleet of
 * nodes × channels paged as `GET /nodes` pages it, recordings paged, open health events, and
 * an events stream (`GET /api/v1/events`) whose body is a batch of `node.changed` events with
 * `retry:`, so the browser reads a new batch each time (a scripted, steady stream), carrying
 * with `meters=` the frames of the nodes asked for the same way (as /meter-events does too).
 * For the browser tier's fleet-scale tests and for `npm run bench console`.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import type { Page, Route } from 'playwright-core';
import type { Static } from 'typebox';
import type { MeResponse } from '../../controller/src/modules/access/auth/auth.schemas.js';
import { CONSOLE_CSP } from '../../controller/src/modules/console/console.routes.js';
import type { HealthEventSchema, HealthFacets } from '../../controller/src/modules/health/health.schemas.js';
import type { NodeSchema } from '../../controller/src/modules/nodes/nodes.schemas.js';
import type { RecordingSchema } from '../../controller/src/modules/recordings/recordings.schemas.js';
import type { MeterFrame } from '../../shared/src/mqtt.js';
import { PERMISSIONS } from '../../shared/src/permissions.js';

type NodeView = Static<typeof NodeSchema>;
type RecordingView = Static<typeof RecordingSchema>;
type HealthEventView = Static<typeof HealthEventSchema>;
type Me = Static<typeof MeResponse>['data'];

export interface ScriptOptions {
  nodes?: number;
  channels?: number;
  recordings?: number;
  sites?: number;
  /** The scripted clock (every time in the script is relative to it). */
  nowMs?: number;
  /** Events per batch of the events stream, and the pause before the browser reads the next. */
  eventsPerBatch?: number;
  eventsRetryMs?: number;
  /** The meter stream (`GET /meter-events`): each answer carries this many ms of frames, then `retry:`. */
  meterBatchMs?: number;
  /**
   * The meter stream left to the page's origin instead (`staticConsole(dir, { meters: script })`
   * streams it there in real time, a tick every 100 ms or 1 s): for measuring a meters wall.
   */
  liveMeters?: boolean;
  /**
   * The recording page's parts answered: `GET /recordings/:id/peaks` (a waveform of this length,
   * as the controller answers it from its cache), `…/actions`, `…/context`, and no copies nor
   * audit rows; without it that page shows what is not in the script.
   */
  peaks?: { durationMs: number };
}

export interface ScriptedApi {
  nodes: NodeView[];
  recordings: RecordingView[];
  health: HealthEventView[];
  me: Me;
  /** How many events the stream has sent, and how many API requests were answered. */
  stats: { events: number; meterFrames: number; requests: number };
  /** One tick of the meter stream: a frame for each node asked for (`nodes=a,b`, `nodeId=`), as SSE. */
  meterTick(query: URLSearchParams, windowMs: number): string;
  /** Answers every `/api/v1/**` request of the page from the script. */
  route(page: Page): Promise<void>;
}

const MAX_PAGE = 200;
const DEFAULT_PAGE = 50;

function state(i: number): Pick<NodeView, 'presence' | 'capture' | 'clockOffsetMs'> & {
  alerts: number;
} {
  // Mostly healthy, some of each problem, spread over the sites (deterministic).
  const online = i % 11 !== 3;
  const captureState = i % 13 === 5 ? 'error' : i % 4 === 1 ? 'capturing' : 'idle';
  return {
    presence: { online, lastSeenAt: null },
    capture: { device: 'default', state: captureState, sampleRate: 48_000, channels: 8 },
    clockOffsetMs: i % 17 === 7 ? 2400 : (i % 5) * 40 - 80,
    alerts: i % 19 === 2 ? 2 : 0,
  };
}

export function scriptedApi(options: ScriptOptions = {}): ScriptedApi {
  const count = options.nodes ?? 200;
  const channels = options.channels ?? 8;
  const siteCount = options.sites ?? 8;
  const nowMs = options.nowMs ?? Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const pad = (n: number, width = 3) => String(n).padStart(width, '0');
  const tags = ['stage', 'booth', 'lobby', 'spare'];

  const nodes: NodeView[] = [];
  const alerts = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const s = state(i);
    const site = i % siteCount;
    const id = `node-${pad(i)}`;
    nodes.push({
      id,
      name: `Room ${pad(i)}`,
      site: { id: `site-${site}`, name: siteName(`site-${site}`) },
      enrolled: true,
      credentialHint: 'ab12',
      presence: {
        online: s.presence.online,
        lastSeenAt: iso(nowMs - (s.presence.online ? 5_000 : 3_600_000)),
      },
      agentVersion: '0.1.0',
      capture: { ...s.capture, channels },
      diskFreeBytes: 40e9 + i * 1e8,
      headroomHours: 40 + i,
      clockOffsetMs: s.clockOffsetMs,
      tags: [tags[i % tags.length]!],
      location: null,
      notes: null,
      recordingProfileId: null,
      watchdogPolicyId: null,
      decommissionedAt: null,
      createdAt: iso(nowMs - 86_400_000 * 30),
    });
    if (s.alerts > 0) alerts.set(id, s.alerts);
  }

  const health: HealthEventView[] = [...alerts].flatMap(([nodeId, n]) =>
    Array.from({ length: n }, (_, k) => ({
      id: `he-${nodeId}-${k}`,
      nodeId,
      siteId: nodes.find((node) => node.id === nodeId)!.site.id,
      type: k === 0 ? 'level_silence' : 'disk_low',
      severity: k === 0 ? 'warning' : 'critical',
      status: 'open' as const,
      channel: k === 0 ? 1 : null,
      message: k === 0 ? 'No signal on channel 1' : 'Disk almost full',
      values: {},
      firstSeenAt: iso(nowMs - 600_000),
      lastSeenAt: iso(nowMs - 60_000),
      count: 3,
      resolvedAt: null,
      suppressedUntil: null,
      acknowledgedBy: null,
      acknowledgedAt: null,
      source: 'agent',
      createdAt: iso(nowMs - 600_000),
      updatedAt: iso(nowMs - 60_000),
    })),
  );

  const recordings: RecordingView[] = Array.from({ length: options.recordings ?? 10_000 }, (_, i) => {
    const node = nodes[i % nodes.length]!;
    const start = nowMs - (i + 1) * 3_600_000;
    return {
      id: `rec-${pad(i, 5)}`,
      nodeId: node.id,
      siteId: node.site.id,
      title: `${node.name} session ${i + 1}`,
      state: i % 97 === 0 ? 'failed' : 'completed',
      sampleRate: 48_000,
      channels,
      bitDepth: 24,
      container: 'flac',
      sizeBytes: 500_000_000,
      receivedBytes: 500_000_000,
      sha256: 'a'.repeat(64),
      durationMs: 3_000_000,
      plannedStartAt: iso(start),
      firstSampleAt: iso(start + 120),
      clockOffsetMs: 12,
      partial: false,
      partialReason: null,
      loudness: null,
      notes: null,
      tags: [],
      customFields: {},
      legalHold: false,
      createdAt: iso(start),
      completedAt: iso(start + 3_000_000),
      job: null,
    };
  });

  const me: Me = {
    user: { id: 'user-owner', username: 'owner', displayName: 'Owner' },
    via: 'session',
    csrfToken: 'scripted-csrf-token-0123456789',
    permissions: PERMISSIONS.map((permission) => ({ permission, scopes: [{ type: 'global', id: null }] })),
  };

  const stats = { events: 0, meterFrames: 0, requests: 0 };
  const meterBatchMs = options.meterBatchMs ?? 1000;
  let meterSeq = 0;
  /** The `meters=` list the events stream last carried frames for, and when. */
  let framesFor = '';
  let framesAt = 0;
  /** The id of the last event the stream sent. */
  let lastSentId = 0;
  const eventsPerBatch = options.eventsPerBatch ?? 0;
  const retryMs = options.eventsRetryMs ?? 1000;

  /** A page of `rows` as the API pages it: opaque cursor (the offset), limit clamped to 1..200. */
  function paged<T>(rows: T[], query: URLSearchParams): { data: T[]; nextCursor: string | null } {
    const limit = Math.min(Math.max(Number(query.get('limit') ?? DEFAULT_PAGE) || DEFAULT_PAGE, 1), MAX_PAGE);
    const cursor = query.get('cursor');
    const offset = cursor ? Number(Buffer.from(cursor, 'base64url').toString('utf8')) : 0;
    const data = rows.slice(offset, offset + limit);
    const next = offset + limit;
    return { data, nextCursor: next < rows.length ? Buffer.from(String(next)).toString('base64url') : null };
  }

  /** A batch of events, and with `meters=` the frames of a batch too (the console's one stream). */
  function eventsBody(lastEventId: number, query: URLSearchParams): string {
    // Frames at their rate, not at every answer: a batch when `meterBatchMs` has passed since the
    // last (or the nodes asked for changed), so a busy events stream does not speed the meters up.
    const meters = query.get('meters') ?? '';
    const due = meters !== '' && (meters !== framesFor || Date.now() - framesAt >= meterBatchMs - 50);
    if (due) {
      framesFor = meters;
      framesAt = Date.now();
    }
    const frames = due ? metersBody(query).replace(/^: meters\nretry: \d+\n\n/, '') : '';
    let body = `retry: ${query.has('meters') ? Math.min(retryMs, meterBatchMs) : retryMs}\n\n${frames}`;
    if (eventsPerBatch === 0)
      return `${body}id: ${lastEventId}\nevent: ready\ndata: {"id":${lastEventId}}\n\n`;
    // Ids go on from the last sent: a page whose stream was opened again with `lastEventId=` in
    // its URL resumes with a Last-Event-ID header that page.route does not show, and events
    // sent again under ids it passed on would be skipped (the stream would look dead).
    const from = Math.max(lastEventId, lastSentId);
    lastSentId = from + eventsPerBatch;
    for (let k = 1; k <= eventsPerBatch; k++) {
      const id = from + k;
      const node = nodes[id % nodes.length]!;
      const event = {
        id,
        type: 'node.changed',
        at: new Date().toISOString(),
        siteId: node.site.id,
        nodeId: node.id,
        subject: { type: 'node', id: node.id },
        data: { diskFreeBytes: node.diskFreeBytes },
      };
      body += `id: ${id}\nevent: node.changed\ndata: ${JSON.stringify(event)}\n\n`;
    }
    stats.events += eventsPerBatch;
    return body;
  }

  /**
   * A frame for each node asked for (`meters=a,b` on the events stream, `nodes=a,b` and repeated
   * `nodeId=` on /meter-events): levels that move (a
   * slow sine per channel), one clipping channel now and then, a silent node.
   */
  function meterTick(query: URLSearchParams, windowMs: number, at = Date.now()): string {
    const named = [...query.getAll('nodeId'), query.get('nodes'), query.get('meters')];
    const wanted = new Set(named.flatMap((list) => list?.split(',') ?? []));
    meterSeq += 1;
    let chunk = '';
    for (const node of nodes) {
      if (wanted.size > 0 && !wanted.has(node.id)) continue;
      const index = Number(node.id.slice(-3)) || 0;
      const silent = index % 23 === 9;
      const frame: MeterFrame = {
        v: 2,
        seq: meterSeq,
        capturedAtMs: Math.round(at),
        windowMs,
        sampleRate: node.capture.sampleRate,
        channels: Array.from({ length: node.capture.channels }, (_, c) => {
          const level = silent ? -120 : -30 + 18 * Math.sin((meterSeq + c * 3 + index) / 5);
          return {
            peakDbfs: Math.min(0, level + 6),
            rmsDbfs: level,
            clipCount: c === 7 && index % 29 === 4 ? 1 : 0,
          };
        }),
      };
      chunk += `event: meter\ndata: ${JSON.stringify({ nodeId: node.id, frame })}\n\n`;
      stats.meterFrames += 1;
    }
    return chunk;
  }

  /** `meterBatchMs` of frames at `rate=1` or 10 Hz in one answer, then `retry:`. */
  function metersBody(query: URLSearchParams): string {
    const hz = (query.get('meterRate') ?? query.get('rate')) === '1' ? 1 : 10;
    const frames = Math.max(1, Math.round((meterBatchMs / 1000) * hz));
    let body = `: meters\nretry: ${meterBatchMs}\n\n`;
    const now = Date.now();
    for (let f = 0; f < frames; f++) body += meterTick(query, 1000 / hz, now + f * (1000 / hz));
    return body;
  }

  function answer(method: string, path: string, query: URLSearchParams, lastEventId: number) {
    if (path === '/auth/me') return { data: me };
    if (path === '/auth/logout' && method === 'POST') return null;
    if (path === '/auth/oidc/config') return { data: { enabled: false, buttonLabel: 'Single sign-on' } };
    if (path === '/events') return eventsBody(lastEventId, query);
    if (path === '/meter-events') return metersBody(query);
    if (path === '/nodes') {
      const site = query.get('site');
      return paged(site ? nodes.filter((n) => n.site.name === site) : nodes, query);
    }
    const node = /^\/nodes\/([\w-]+)$/.exec(path);
    if (node) {
      const found = nodes.find((n) => n.id === node[1]);
      return found ? { data: found } : undefined;
    }
    if (path === '/health-events/facets') {
      const facets: Static<typeof HealthFacets> = {
        total: health.length,
        status: [{ value: 'open', count: health.length }],
        severity: [],
        type: [],
        nodeId: [...alerts].map(([value, n]) => ({ value, count: n })),
      };
      return { data: facets };
    }
    if (path === '/health-events') {
      const nodeId = query.get('nodeId');
      return paged(
        health.filter((h) => !nodeId || h.nodeId === nodeId),
        query,
      );
    }
    if (path === '/recordings') return paged(filteredRecordings(recordings, query), query);
    if (path === '/recordings/facets')
      return { data: recordingFacets(filteredRecordings(recordings, query)) };
    const peaks = /^\/recordings\/([\w-]+)\/peaks$/.exec(path);
    if (peaks && options.peaks) return { data: scriptedPeaks(peaks[1]!, query, options.peaks.durationMs) };
    if (options.peaks && /^\/recordings\/[\w-]+\/actions$/.test(path)) {
      const allowed = { allowed: true, reason: null };
      const no = { allowed: false, reason: 'scripted' };
      return { data: { playback: allowed, download: allowed, editMetadata: no, stop: no, delete: no } };
    }
    if (options.peaks && (path === '/upload-queue' || path === '/audit-events'))
      return { data: [], nextCursor: null }; // the recording page's copies and audit rows: none
    const context = /^\/recordings\/([\w-]+)\/context$/.exec(path);
    const recorded = context && options.peaks ? recordings.find((r) => r.id === context[1]) : undefined;
    if (recorded)
      return {
        data: {
          checksums: { sha256: recorded.sha256, expectedSha256: recorded.sha256 },
          upload: {
            state: 'completed',
            receivedBytes: recorded.receivedBytes,
            expectedBytes: recorded.sizeBytes,
          },
          attendance: null,
        },
      };
    const recording = /^\/recordings\/([\w-]+)$/.exec(path);
    if (recording) {
      const found = recordings.find((r) => r.id === recording[1]);
      return found ? { data: found } : undefined;
    }
    return undefined;
  }

  async function handle(route: Route): Promise<void> {
    const request = route.request();
    const url = new URL(request.url());
    const path = url.pathname.replace(/^\/api\/v1/, '');
    stats.requests += 1;
    const live = path === '/meter-events' || (path === '/events' && url.searchParams.has('meters'));
    if (options.liveMeters && live) return route.continue();
    const resume = request.headers()['last-event-id'] ?? url.searchParams.get('lastEventId');
    const lastEventId = Number(resume ?? 0) || 0;
    const body = answer(request.method(), path, url.searchParams, lastEventId);
    if (typeof body === 'string')
      return route.fulfill({
        status: 200,
        headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store' },
        body,
      });
    if (body === null) return route.fulfill({ status: 204 });
    if (body === undefined)
      return route.fulfill({
        status: 404,
        contentType: 'application/json',
        body: JSON.stringify({
          error: { code: 'not_found', message: `Not in the script: ${request.method()} ${path}` },
          requestId: 'scripted',
        }),
      });
    return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
  }

  return {
    nodes,
    recordings,
    health,
    me,
    stats,
    meterTick: (query, windowMs) => meterTick(query, windowMs),
    route: async (page) => {
      await page.route('**/api/v1/**', handle);
    },
  };
}

/** Meter frames in real time: a tick every 100 ms (rate 1: every second) until the page leaves (no events). */
function streamMeters(script: ScriptedApi, query: URLSearchParams, response: ServerResponse): void {
  const periodMs = (query.get('meterRate') ?? query.get('rate')) === '1' ? 1000 : 100;
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  response.write(': meters\n\n');
  const timer = setInterval(() => response.write(script.meterTick(query, periodMs)), periodMs);
  response.on('close', () => clearInterval(timer));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};

/** A console build's file for `path`: the asset under `assets/`, else the shell with the CSP. */
export function serveConsoleFile(dir: string, path: string, response: ServerResponse): void {
  const isAsset = path.startsWith('/assets/') && !path.includes('..');
  const file = isAsset ? join(dir, path) : join(dir, 'index.html');
  readFile(file).then(
    (content) => {
      response.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        ...(isAsset ? {} : { 'content-security-policy': CONSOLE_CSP, 'cache-control': 'no-store' }),
      });
      response.end(content);
    },
    () => {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end('{"error":{"code":"not_found","message":"no such file"}}');
    },
  );
}

/**
 * A plain static server for a console build: files under `assets/`, the shell (with the
 * controller's Content-Security-Policy) for every other path. Answers nothing under `/api`
 * (the scripted API does, in the browser).
 */
export async function staticConsole(
  dir: string,
  options: { meters?: ScriptedApi } = {},
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const path = normalize(decodeURIComponent(url.pathname));
    const metered =
      path === '/api/v1/meter-events' || (path === '/api/v1/events' && url.searchParams.has('meters'));
    if (options.meters && metered) return streamMeters(options.meters, url.searchParams, response);
    serveConsoleFile(dir, path, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A scripted site's name from its id (`site-0` is Site A). */
const siteName = (id: string) => `Site ${String.fromCharCode(65 + Number(id.slice('site-'.length)))}`;

/**
 * The library's filters as `GET /recordings` applies them (words in the title or notes, site,
 * node, state, tag, format, created range).
 */
function filteredRecordings(rows: RecordingView[], query: URLSearchParams): RecordingView[] {
  const [nodeId, siteId, state, tag, container, from, to] = [
    'nodeId',
    'siteId',
    'state',
    'tag',
    'container',
    'from',
    'to',
  ].map((k) => query.get(k));
  const words = (query.get('q') ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const matches = (r: RecordingView) =>
    words.every((w) => r.title.toLowerCase().includes(w) || (r.notes ?? '').toLowerCase().includes(w));
  return rows.filter(
    (r) =>
      (!nodeId || r.nodeId === nodeId) &&
      (!siteId || r.siteId === siteId) &&
      (!state || r.state === state) &&
      (!tag || r.tags.includes(tag)) &&
      (!container || r.container === container) &&
      (!from || r.createdAt >= from) &&
      (!to || r.createdAt < to) &&
      matches(r),
  );
}

/** `GET /recordings/facets` of these recordings. */
function recordingFacets(rows: RecordingView[]) {
  const count = (values: string[]) =>
    [...values.reduce((m, v) => m.set(v, (m.get(v) ?? 0) + 1), new Map<string, number>())]
      .map(([value, n]) => ({ value, count: n }))
      .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
  const complete = rows.filter((r) => r.state === 'completed');
  const created = rows.map((r) => r.createdAt).sort();
  return {
    total: rows.length,
    totalBytes: complete.reduce((sum, r) => sum + (r.sizeBytes ?? 0), 0),
    totalDurationMs: rows.reduce((sum, r) => sum + (r.durationMs ?? 0), 0),
    oldestAt: created[0] ?? null,
    newestAt: created[created.length - 1] ?? null,
    state: count(rows.map((r) => r.state)),
    node: count(rows.map((r) => r.nodeId)),
    site: count(rows.map((r) => r.siteId)).map((c) => ({ ...c, name: siteName(c.value) })),
    container: count(rows.map((r) => r.container)),
    tag: count(rows.flatMap((r) => r.tags)),
    legalHold: rows.filter((r) => r.legalHold).length,
    partial: rows.filter((r) => r.partial).length,
  };
}

/** A waveform as `GET /recordings/:id/peaks` answers it: `points` spans of a tone that swells and fades. */
function scriptedPeaks(recordingId: string, query: URLSearchParams, durationMs: number) {
  const points = Math.max(1, Math.min(Number(query.get('points')) || 1000, 10_000));
  const max = Array.from(
    { length: points },
    (_, i) => Math.round(Math.abs(Math.sin(i / 40)) * 9000) / 10_000,
  );
  return { recordingId, points, durationMs, sampleRate: 48_000, channels: 2, min: max.map((v) => -v), max };
}
