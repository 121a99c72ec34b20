/**
 * Jobs & upload queue: recording jobs (state and node filters in the URL) kept live from the
 * tab's stream (`job.state` moves a row at once; the list is read again after), per-job and bulk
 * retry / stop with each job's result on its row, agent uploads' progress (`upload.progress`),
 * and the queue of copies to upload providers (`GET /upload-queue`) with progress and retry.
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api } from '../api.js';
import { type LiveEvent, subscribe } from '../events.js';
import {
  type BulkItem,
  bulkOutcome,
  formatBytes,
  JOB_STATES,
  JOBS_PAGE,
  type JobRow,
  type JobsState,
  jobsQuery,
  jobsStateFromSearch,
  mayRetry,
  mayStop,
  percent,
  QUEUE_STATES,
  queueQuery,
  searchFromJobsState,
  withJobState,
} from '../jobs-model.js';
import { failure, LoadState, useLoaded } from '../loaded.js';
import { location, navigate } from '../router.js';
import { can } from '../session.js';
import './jobs.css';
import { Ago } from '../time-ago.js';

interface QueueItem {
  id: string;
  recordingId: string;
  nodeId: string;
  state: string;
  attempts: number;
  maxAttempts: number;
  sizeBytes: number;
  bytesSent: number;
  lastError: string | null;
  nextAttemptAt: string;
  objectKey: string;
}

type Messages = Record<string, { ok: boolean; text: string }>;

/** The newest `count` rows of a list (or all there are), a page at a time; `more` when the API has further pages. */
async function listPages<T>(
  path: string,
  query: string,
  count: number,
): Promise<{ data: T[]; more: boolean }> {
  const data: T[] = [];
  let cursor: string | null = null;
  do {
    const next: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const page: { data: T[]; nextCursor: string | null } = await api('GET', `${path}?${query}${next}`);
    data.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor && data.length < count);
  return { data, more: cursor !== null };
}

function Time({ iso }: { iso: string | null }) {
  if (!iso) return <>—</>;
  return <Ago iso={iso} />;
}

function Progress({ done, total, label }: { done: number; total: number | null; label: string }) {
  const pct = percent(done, total);
  return (
    <span class="jobs-progress">
      <progress max={100} value={pct} aria-label={label} />{' '}
      {pct === undefined ? formatBytes(done) : `${pct}% of ${formatBytes(total!)}`}
    </span>
  );
}

export default function JobsPage() {
  const state = jobsStateFromSearch(location.value.search);
  /** Jobs shown (in the URL): a page more each time the operator asks. */
  const shown = state.shown ?? JOBS_PAGE;
  const go = (patch: Partial<JobsState>) =>
    navigate(
      `${location.value.path}${searchFromJobsState({ ...state, ...patch, jobId: '', shown: undefined, queueShown: undefined })}`,
    );
  // A job's state event moves its row at once (below); the list is read again after, once a frame.
  const loaded = useLoaded(
    () => listPages<JobRow>('/recording-jobs', jobsQuery(state, JOBS_PAGE), shown),
    [location.value.search],
    {
      live: { prefixes: ['job.'] },
    },
  );
  const jobs = loaded.data;
  const selected = useSignal<Set<string>>(new Set());
  const messages = useSignal<Messages>({});
  const busy = useSignal(false);
  const uploads = useSignal<Record<string, { received: number; expected: number | null }>>({});
  const announcement = useSignal('');

  useEffect(() => {
    const offJobs = subscribe('job.', (event) => {
      if (event === 'reset' || !jobs.value) return;
      const state = String(event.data.state ?? '');
      const next = withJobState(jobs.value.data, event.subject.id, state);
      if (next) {
        jobs.value = { ...jobs.value, data: next };
        // Announced for the jobs the operator acted on only (a busy fleet would talk over itself).
        if (messages.value[event.subject.id]) announcement.value = `Job ${event.subject.id} is ${state}`;
      }
    });
    const offUploads = subscribe('upload.progress', (event: LiveEvent | 'reset') => {
      if (event === 'reset') return;
      uploads.value = {
        ...uploads.value,
        [event.subject.id]: {
          received: Number(event.data.receivedBytes ?? 0),
          expected: typeof event.data.expectedBytes === 'number' ? event.data.expectedBytes : null,
        },
      };
    });
    return () => {
      offJobs();
      offUploads();
    };
  }, []);

  async function bulk(action: 'retry' | 'stop', ids: string[]) {
    if (!jobs.value || ids.length === 0) return;
    busy.value = true;
    try {
      const { data } = await api<{ data: { results: BulkItem[] } }>(
        'POST',
        `/recording-jobs/bulk-${action}`,
        { ids },
      );
      const outcome = bulkOutcome(
        jobs.value.data,
        data.results,
        action === 'retry' ? 'retried' : 'stop asked',
      );
      jobs.value = { ...jobs.value, data: outcome.rows };
      messages.value = { ...messages.value, ...outcome.messages };
      selected.value = new Set();
    } catch (err) {
      const text = failure(err);
      messages.value = {
        ...messages.value,
        ...Object.fromEntries(ids.map((id) => [id, { ok: false, text }])),
      };
    } finally {
      busy.value = false;
    }
  }

  async function retryOne(job: JobRow) {
    busy.value = true;
    try {
      const { data } = await api<{ data: JobRow }>(
        'POST',
        `/recording-jobs/${encodeURIComponent(job.id)}/retry`,
        {},
      );
      if (jobs.value)
        jobs.value = { ...jobs.value, data: jobs.value.data.map((r) => (r.id === job.id ? data : r)) };
      messages.value = { ...messages.value, [job.id]: { ok: true, text: 'retried' } };
    } catch (err) {
      const text = failure(err);
      messages.value = { ...messages.value, [job.id]: { ok: false, text } };
    } finally {
      busy.value = false;
    }
  }

  const mayControl = can('recording:control');
  const rows = jobs.value?.data ?? [];
  const chosen = [...selected.value].filter((id) => rows.some((r) => r.id === id));
  const toggle = (id: string, on: boolean) => {
    const next = new Set(selected.value);
    if (on) next.add(id);
    else next.delete(id);
    selected.value = next;
  };
  return (
    <section class="page jobs">
      <h1>Jobs &amp; uploads</h1>
      <p class="sr-only" aria-live="polite">
        {announcement.value}
      </p>
      <h2>Recording jobs</h2>
      <form class="filters" aria-label="Filter recording jobs" onSubmit={(e) => e.preventDefault()}>
        <label>
          State
          <select value={state.state} onChange={(e) => go({ state: e.currentTarget.value })}>
            <option value="">All</option>
            {JOB_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Node
          <input
            key={`node-${state.nodeId}`}
            defaultValue={state.nodeId}
            onChange={(e) => go({ nodeId: e.currentTarget.value.trim() })}
          />
        </label>
      </form>
      {mayControl && rows.length > 0 && (
        <fieldset class="jobs-bulk" aria-label="Selected jobs">
          <span>{chosen.length} selected</span>
          <button
            type="button"
            disabled={busy.value || chosen.length === 0}
            onClick={() => void bulk('retry', chosen)}
          >
            Retry selected
          </button>
          <button
            type="button"
            disabled={busy.value || chosen.length === 0}
            onClick={() => void bulk('stop', chosen)}
          >
            Stop selected
          </button>
        </fieldset>
      )}
      <LoadState of={loaded} />
      {jobs.value?.data.length === 0 && <p class="empty">No recording jobs match.</p>}
      {rows.length > 0 && (
        <div class="table-scroll">
          <table class="jobs-table">
            <thead>
              <tr>
                {mayControl && (
                  <th scope="col">
                    <input
                      type="checkbox"
                      aria-label="Select all jobs shown"
                      checked={chosen.length === rows.length}
                      onChange={(e) => {
                        selected.value = e.currentTarget.checked ? new Set(rows.map((r) => r.id)) : new Set();
                      }}
                    />
                  </th>
                )}
                <th scope="col">Job</th>
                <th scope="col">Node</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((job) => {
                const upload = uploads.value[job.recordingId];
                const message = messages.value[job.id];
                return (
                  <tr key={job.id} data-job-id={job.id} class={job.id === state.jobId ? 'jobs-pointed' : ''}>
                    {mayControl && (
                      <td>
                        <input
                          type="checkbox"
                          aria-label={`Select job ${job.id}`}
                          checked={selected.value.has(job.id)}
                          onChange={(e) => toggle(job.id, e.currentTarget.checked)}
                        />
                      </td>
                    )}
                    <td>
                      <code>{job.id}</code>
                      {job.plannedStartAt && (
                        <div class="muted">
                          scheduled for{' '}
                          <time dateTime={job.plannedStartAt}>
                            {new Date(job.plannedStartAt).toLocaleString()}
                          </time>
                        </div>
                      )}
                    </td>
                    <td>
                      <a href={`/nodes/${encodeURIComponent(job.nodeId)}`}>{job.nodeId}</a>
                    </td>
                    <td>
                      <span class={`job-state job-${job.state}`}>{job.state}</span>
                      {job.stopRequested && <span class="muted"> (stop asked)</span>}
                      {job.state === 'uploading' && upload && (
                        <Progress
                          done={upload.received}
                          total={upload.expected}
                          label={`Upload of job ${job.id}`}
                        />
                      )}
                      {job.failureReason && <div class="muted">{job.failureReason}</div>}
                    </td>
                    <td>
                      <Time iso={job.createdAt} />
                    </td>
                    <td class="jobs-actions">
                      {mayControl && mayRetry(job) && (
                        <button type="button" disabled={busy.value} onClick={() => void retryOne(job)}>
                          Retry
                        </button>
                      )}
                      {mayControl && mayStop(job) && (
                        <button
                          type="button"
                          disabled={busy.value}
                          onClick={() => void bulk('stop', [job.id])}
                        >
                          Stop
                        </button>
                      )}
                      {message && (
                        <span class={message.ok ? 'ok' : 'error'} role={message.ok ? undefined : 'alert'}>
                          {message.text}
                        </span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {jobs.value?.more && (
        <p>
          <a href={`${location.value.path}${searchFromJobsState({ ...state, shown: shown + JOBS_PAGE })}`}>
            Show {JOBS_PAGE} more jobs
          </a>
        </p>
      )}
      <UploadQueue state={state} go={go} />
    </section>
  );
}

function UploadQueue(props: { state: JobsState; go: (p: Partial<JobsState>) => void }) {
  const shown = props.state.queueShown ?? JOBS_PAGE;
  const loaded = useLoaded(
    () => listPages<QueueItem>('/upload-queue', queueQuery(props.state, JOBS_PAGE), shown),
    [props.state.queue, shown],
    // A job that completes may queue copies: read the queue again then.
    { live: { prefixes: ['job.state'], when: (event) => event.data.state === 'completed' } },
  );
  const items = loaded.data;
  const messages = useSignal<Messages>({});

  async function retry(item: QueueItem) {
    try {
      await api('POST', `/upload-queue/${encodeURIComponent(item.id)}/retry`, {});
      messages.value = { ...messages.value, [item.id]: { ok: true, text: 'queued again' } };
      loaded.reload();
    } catch (err) {
      const text = failure(err);
      messages.value = { ...messages.value, [item.id]: { ok: false, text } };
    }
  }

  const mayControl = can('recording:control');
  return (
    <>
      <h2>Upload queue</h2>
      <form class="filters" aria-label="Filter the upload queue" onSubmit={(e) => e.preventDefault()}>
        <label>
          Copy state
          <select value={props.state.queue} onChange={(e) => props.go({ queue: e.currentTarget.value })}>
            <option value="">All</option>
            {QUEUE_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={loaded.reload}>
          Refresh
        </button>
      </form>
      <LoadState of={loaded} />
      {items.value?.data.length === 0 && <p class="empty">No copies in the upload queue.</p>}
      {items.value && items.value.data.length > 0 && (
        <div class="table-scroll">
          <table class="jobs-table">
            <thead>
              <tr>
                <th scope="col">Recording</th>
                <th scope="col">Node</th>
                <th scope="col">State</th>
                <th scope="col">Progress</th>
                <th scope="col">Attempts</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {items.value.data.map((item) => {
                const message = messages.value[item.id];
                return (
                  <tr key={item.id} data-queue-id={item.id}>
                    <td>
                      <code>{item.recordingId}</code>
                      <div class="muted">{item.objectKey}</div>
                    </td>
                    <td>{item.nodeId}</td>
                    <td>
                      <span class={`job-state job-${item.state}`}>{item.state}</span>
                      {item.lastError && <div class="muted">{item.lastError}</div>}
                    </td>
                    <td>
                      <Progress
                        done={item.bytesSent}
                        total={item.sizeBytes}
                        label={`Copy of ${item.recordingId}`}
                      />
                    </td>
                    <td>
                      {item.attempts} / {item.maxAttempts}
                      {item.state === 'queued' && (
                        <div class="muted">
                          next at{' '}
                          <time dateTime={item.nextAttemptAt}>
                            {new Date(item.nextAttemptAt).toLocaleString()}
                          </time>
                        </div>
                      )}
                    </td>
                    <td class="jobs-actions">
                      {mayControl && item.state === 'failed' && (
                        <button type="button" onClick={() => void retry(item)}>
                          Retry copy
                        </button>
                      )}
                      {message && (
                        <span class={message.ok ? 'ok' : 'error'} role={message.ok ? undefined : 'alert'}>
                          {message.text}
                        </span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {items.value?.more && (
        <p>
          <a
            href={`${location.value.path}${searchFromJobsState({ ...props.state, queueShown: shown + JOBS_PAGE })}`}
          >
            Show {JOBS_PAGE} more uploads
          </a>
        </p>
      )}
    </>
  );
}
