/**
 * The jobs & upload queue page's model: its state in the URL, a job list kept live from
 * `job.state` events, agent upload progress from `upload.progress`, and bulk results per item.
 */

export const JOB_STATES = [
  'queued',
  'claimed',
  'recording',
  'uploading',
  'completed',
  'failed',
  'cancelled',
  'lost_contact',
] as const;
export const QUEUE_STATES = ['queued', 'uploading', 'verified', 'failed'] as const;

export interface JobsState {
  /** A job state, or '' for every job. */
  state: string;
  nodeId: string;
  /** The upload queue's state filter, or '' for every item. */
  queue: string;
  /** A job to point out (a link from elsewhere). */
  jobId: string;
  /** How many jobs are shown (the newest; more pages asked for): JOBS_PAGE unless said. */
  shown?: number;
  /** How many upload queue items are shown, the same way. */
  queueShown?: number;
}

/** Jobs shown at first, and added each time the operator asks for more. */
export const JOBS_PAGE = 100;
/** The most a URL may ask to show at once. */
export const MAX_JOBS_SHOWN = 5000;

export function jobsStateFromSearch(search: string): JobsState {
  const p = new URLSearchParams(search);
  const state = p.get('state') ?? '';
  const queue = p.get('queue') ?? '';
  return {
    state: (JOB_STATES as readonly string[]).includes(state) ? state : '',
    nodeId: p.get('nodeId') ?? '',
    queue: (QUEUE_STATES as readonly string[]).includes(queue) ? queue : '',
    jobId: p.get('jobId') ?? '',
    ...shownFrom('shown', p.get('shown')),
    ...shownFrom('queueShown', p.get('queueShown')),
  };
}

/** A count shown from the URL: a whole number of pages past the first, up to MAX_JOBS_SHOWN. */
function shownFrom(key: 'shown' | 'queueShown', value: string | null): Partial<JobsState> {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= JOBS_PAGE || n % JOBS_PAGE !== 0) return {};
  return { [key]: Math.min(n, MAX_JOBS_SHOWN) };
}

export function searchFromJobsState(state: JobsState): string {
  const p = new URLSearchParams();
  if (state.state) p.set('state', state.state);
  if (state.nodeId) p.set('nodeId', state.nodeId);
  if (state.queue) p.set('queue', state.queue);
  if (state.jobId) p.set('jobId', state.jobId);
  if (state.shown && state.shown > JOBS_PAGE) p.set('shown', String(state.shown));
  if (state.queueShown && state.queueShown > JOBS_PAGE) p.set('queueShown', String(state.queueShown));
  const text = p.toString();
  return text ? `?${text}` : '';
}

export function jobsQuery(state: JobsState, limit = 100): string {
  const p = new URLSearchParams({ limit: String(limit) });
  if (state.state) p.set('state', state.state);
  if (state.nodeId) p.set('nodeId', state.nodeId);
  return p.toString();
}

export function queueQuery(state: JobsState, limit = 100): string {
  const p = new URLSearchParams({ limit: String(limit) });
  if (state.queue) p.set('state', state.queue);
  return p.toString();
}

export interface JobRow {
  id: string;
  recordingId: string;
  nodeId: string;
  state: string;
  failureReason: string | null;
  stopRequested: boolean;
  scheduleId: string | null;
  plannedStartAt: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/**
 * A `job.state` event applied to the list shown: the job's new state (a job that left the
 * filtered state stays, marked by its new state, until the list is read again); `undefined`
 * when the event is about no job shown.
 */
export function withJobState(rows: readonly JobRow[], jobId: string, state: string): JobRow[] | undefined {
  if (!rows.some((r) => r.id === jobId && r.state !== state)) return undefined;
  return rows.map((r) =>
    r.id === jobId
      ? {
          ...r,
          state,
          ...(state === 'queued' ? { failureReason: null, finishedAt: null, stopRequested: false } : {}),
        }
      : r,
  );
}

/** What a job may be asked now (the server decides again): retry a failed or cancelled one, stop an active one. */
export function mayRetry(job: Pick<JobRow, 'state'>): boolean {
  return job.state === 'failed' || job.state === 'cancelled';
}
export function mayStop(job: Pick<JobRow, 'state' | 'stopRequested'>): boolean {
  return ['queued', 'claimed', 'recording', 'lost_contact'].includes(job.state) && !job.stopRequested;
}

export interface BulkItem {
  id: string;
  ok: boolean;
  status: number;
  error?: { code: string; message: string };
  job?: JobRow;
}

/** Per job: "retried" / "stopped" or the server's reason, and the jobs as they now are. */
export function bulkOutcome(
  rows: readonly JobRow[],
  results: readonly BulkItem[],
  done: string,
): { rows: JobRow[]; messages: Record<string, { ok: boolean; text: string }> } {
  const messages: Record<string, { ok: boolean; text: string }> = {};
  const changed = new Map<string, JobRow>();
  for (const r of results) {
    messages[r.id] = { ok: r.ok, text: r.ok ? done : (r.error?.message ?? `refused (${r.status})`) };
    if (r.job) changed.set(r.id, r.job);
  }
  return { rows: rows.map((row) => changed.get(row.id) ?? row), messages };
}

/** Percent of an upload (0‥100), or undefined when the size is not known. */
export function percent(done: number, total: number | null): number | undefined {
  if (total === null || total <= 0) return undefined;
  return Math.min(100, Math.floor((done / total) * 100));
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
