/**
 * System: the controller's version and health (`GET /health`), its health history as a chart
 * (the chart code is its own chunk, loaded when there is history), the operational event log
 * (`GET /ops-events`, newest first, a page at a time, its kind and cursor in the URL) and the
 * notification integrations (for roles that manage them: their state, enable and disable).
 */
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { subscribe } from '../events.js';
import { diskFree } from '../fleet-model.js';
import { LoadState, useLoaded, useResource } from '../loaded.js';
import { location, navigate } from '../router.js';
import { can } from '../session.js';
import {
  type HealthSample,
  historySeries,
  logsChange,
  OPS_KINDS,
  RANGES,
  type SystemView,
  systemSearch,
  systemViewFrom,
  uptime,
} from '../system-model.js';
import './system.css';
import { Ago } from '../time-ago.js';
import { Integrations } from './system-integrations.js';

interface Health {
  version: string;
  instanceId: string;
  startedAt: string;
  uptimeSeconds: number;
  at: string;
  nodes: { total: number; online: number };
  controller: {
    database: { provider: string; reachable: boolean; latencyMs: number | null };
    broker: { listening: boolean; port: number | null; clients: number };
    discordBot: { enabled: boolean; state: string };
    queues: {
      recordingJobs: { queued: number; active: number };
      uploadQueue: { queued: number; uploading: number; failed: number };
      webhookDeliveriesPending: number;
      notificationDeliveriesPending: number;
    } | null;
    disk: { freeBytes: number; totalBytes: number; headroomHours: number | null } | null;
  } | null;
}

interface OpsEvent {
  id: string;
  at: string;
  kind: string;
  level: 'info' | 'warning' | 'error';
  instanceId: string;
  message: string;
  data: Record<string, unknown>;
}

const message = (err: unknown) =>
  err instanceof ApiError || err instanceof Error ? err.message : 'The controller did not answer.';

function go(view: Partial<SystemView>) {
  navigate(`${location.value.path}${systemSearch(view)}`);
}

export default function SystemPage() {
  const view = systemViewFrom(location.value.search);
  return (
    <section class="page system-page">
      <h1>System</h1>
      <ControllerHealth />
      <HealthHistory view={view} />
      <OpsLog view={view} />
      {can('integrations:manage') && <Integrations />}
    </section>
  );
}

function ControllerHealth() {
  const health = useResource<Health>('/health');
  const h = health.data.value;
  if (!h) return <LoadState of={health} />;
  const c = h.controller;
  const facts: [string, string][] = [
    ['Version', h.version],
    ['Instance', h.instanceId],
    ['Up for', uptime(h.uptimeSeconds)],
    ['Nodes online', `${h.nodes.online} of ${h.nodes.total}`],
  ];
  if (c) {
    const q = c.queues;
    facts.push(
      [
        'Database',
        `${c.database.provider} · ${c.database.reachable ? 'reachable' : 'unreachable'}${
          c.database.latencyMs === null ? '' : ` · ${Math.round(c.database.latencyMs)} ms`
        }`,
      ],
      [
        'Broker',
        c.broker.listening ? `listening on ${c.broker.port} · ${c.broker.clients} clients` : 'not listening',
      ],
      ['Discord bot', c.discordBot.enabled ? c.discordBot.state : 'not configured'],
      [
        'Queues',
        q
          ? `jobs ${q.recordingJobs.queued} queued, ${q.recordingJobs.active} active · uploads ${q.uploadQueue.queued} queued, ${q.uploadQueue.uploading} uploading, ${q.uploadQueue.failed} failed · notifications ${q.notificationDeliveriesPending} pending`
          : 'could not be read',
      ],
      [
        'Disk',
        c.disk
          ? `${diskFree(c.disk.freeBytes) ?? ''} of ${diskFree(c.disk.totalBytes) ?? ''}${
              c.disk.headroomHours === null ? '' : ` · ${Math.floor(c.disk.headroomHours)} h of headroom`
            }`
          : 'not read yet',
      ],
    );
  }
  return (
    <section aria-labelledby="system-health">
      <h2 id="system-health">Controller</h2>
      <dl class="facts" data-version={h.version}>
        {facts.map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
        <div>
          <dt>Started</dt>
          <dd>
            <Ago iso={h.startedAt} />
          </dd>
        </div>
      </dl>
    </section>
  );
}

const PAGE = 200;
/** At most this many pages of history (a week of minutes is 50 pages of 200). */
const MAX_PAGES = 60;

async function readHistory(hours: number): Promise<HealthSample[]> {
  const from = new Date(Date.now() - hours * 3_600_000).toISOString();
  const samples: HealthSample[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query: string = `from=${encodeURIComponent(from)}&limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const answer: { data: HealthSample[]; nextCursor: string | null } = await api(
      'GET',
      `/health/history?${query}`,
    );
    samples.push(...answer.data);
    cursor = answer.nextCursor;
    if (!cursor) break;
  }
  return samples;
}

function HealthHistory({ view }: { view: SystemView }) {
  const history = useLoaded(() => readHistory(view.range), [view.range], { clear: true });
  const { data: samples, error } = history;
  const chart = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const found = samples.value;
    const into = chart.current;
    if (!found?.length || !into) return;
    let stop: (() => void) | undefined;
    let gone = false;
    void import('./system-chart.js').then(
      ({ drawHistory }) => {
        if (!gone) stop = drawHistory(into, historySeries(found));
      },
      (err) => {
        if (!gone) error.value = message(err);
      },
    );
    return () => {
      gone = true;
      stop?.();
    };
  }, [samples.value]);

  return (
    <section aria-labelledby="system-history">
      <h2 id="system-history">Health history</h2>
      <form class="filters" aria-label="History range" onSubmit={(e) => e.preventDefault()}>
        <label for="system-range">Range</label>
        <select
          id="system-range"
          value={String(view.range)}
          onChange={(e) => go({ ...view, range: Number(e.currentTarget.value) as SystemView['range'] })}
        >
          {RANGES.map((hours) => (
            <option key={hours} value={hours}>
              {hours < 24 ? `${hours} h` : `${hours / 24} d`}
            </option>
          ))}
        </select>
      </form>
      <LoadState of={history} empty="No samples in this range yet (one is taken every minute)." />
      {samples.value && samples.value.length > 0 && (
        <figure class="system-chart">
          <div
            ref={chart}
            role="img"
            aria-label={`Nodes online and database latency, last ${view.range} h`}
          />
          <figcaption>{samples.value.length} samples, one a minute; times in your time zone.</figcaption>
        </figure>
      )}
    </section>
  );
}

function OpsLog({ view }: { view: SystemView }) {
  const page = useSignal<{ data: OpsEvent[]; next: string | null } | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const version = useSignal(0);
  /** A settings change heard live whose log entry the first page does not show yet. */
  const awaited = useRef<{ id: string; revision: unknown; tries: number } | undefined>(undefined);

  useEffect(() => {
    let stale = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const query = new URLSearchParams({ limit: '50' });
    if (view.kind) query.set('kind', view.kind);
    if (view.cursor) query.set('cursor', view.cursor);
    api<{ data: OpsEvent[]; nextCursor: string | null }>('GET', `/ops-events?${query}`).then(
      (answer) => {
        if (stale) return;
        page.value = { data: answer.data, next: answer.nextCursor };
        error.value = undefined;
        // The entry is written beside the live event: read again, a few times, until it shows.
        const change = awaited.current;
        if (!change || logsChange(answer.data, change) || change.tries >= 5) awaited.current = undefined;
        else {
          change.tries += 1;
          retry = setTimeout(
            () => {
              version.value += 1;
            },
            200 * 2 ** change.tries,
          );
        }
      },
      (err) => {
        if (!stale) error.value = message(err);
      },
    );
    return () => {
      stale = true;
      if (retry !== undefined) clearTimeout(retry);
    };
  }, [view.kind, view.cursor, version.value]);

  // Settings changes are logged as they happen: the first page reads again.
  useEffect(
    () =>
      subscribe('settings.', (event) => {
        if (view.cursor || (view.kind && view.kind !== 'settings.changed')) return;
        if (event !== 'reset')
          awaited.current = { id: event.subject.id, revision: event.data.revision, tries: 0 };
        version.value += 1;
      }),
    [view.cursor, view.kind],
  );

  return (
    <section aria-labelledby="system-ops">
      <h2 id="system-ops">Operational log</h2>
      <form class="filters" aria-label="Filter the operational log" onSubmit={(e) => e.preventDefault()}>
        <label for="system-kind">Kind</label>
        <select
          id="system-kind"
          value={view.kind ?? ''}
          onChange={(e) =>
            go({ range: view.range, kind: (e.currentTarget.value || undefined) as SystemView['kind'] })
          }
        >
          <option value="">all</option>
          {OPS_KINDS.map((kind) => (
            <option key={kind} value={kind}>
              {kind}
            </option>
          ))}
        </select>
      </form>
      <LoadState of={{ data: page, error }} />
      {page.value?.data.length === 0 && (
        <p class="empty">No events{view.kind ? ` of kind ${view.kind}` : ''}.</p>
      )}
      {page.value && page.value.data.length > 0 && (
        <ul class="ops-log">
          {page.value.data.map((event) => (
            <li key={event.id} class={`ops-${event.level}`} data-kind={event.kind}>
              <Ago iso={event.at} />
              <span class="ops-level">{event.level}</span>
              <span class="ops-kind">{event.kind}</span>
              <span class="ops-message">{event.message}</span>
            </li>
          ))}
        </ul>
      )}
      <p class="pager">
        {view.cursor && (
          <a href={`${location.value.path}${systemSearch({ range: view.range, kind: view.kind })}`}>Newest</a>
        )}
        {page.value?.next && (
          <a href={`${location.value.path}${systemSearch({ ...view, cursor: page.value.next })}`}>Older</a>
        )}
      </p>
    </section>
  );
}
