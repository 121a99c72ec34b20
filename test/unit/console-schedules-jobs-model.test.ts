/** The jobs & upload queue page's model: URL ↔ state, live job states, bulk results, progress. */
import { describe, expect, it } from 'vitest';
import {
  bulkOutcome,
  formatBytes,
  type JobRow,
  jobsQuery,
  jobsStateFromSearch,
  mayRetry,
  mayStop,
  percent,
  queueQuery,
  searchFromJobsState,
  withJobState,
} from '../../controller/console/src/jobs-model.js';

function job(id: string, state: string, over: Partial<JobRow> = {}): JobRow {
  return {
    id,
    recordingId: `r-${id}`,
    nodeId: 'n1',
    state,
    failureReason: state === 'failed' ? 'capture device busy' : null,
    stopRequested: false,
    scheduleId: null,
    plannedStartAt: null,
    createdAt: '2026-06-01T09:00:00.000Z',
    finishedAt: null,
    ...over,
  };
}

describe('jobs page state in the URL', () => {
  it('round-trips its filters and drops unknown states', () => {
    const search = '?state=failed&nodeId=hall-a&queue=failed&jobId=j1';
    expect(searchFromJobsState(jobsStateFromSearch(search))).toBe(search);
    expect(jobsStateFromSearch('?state=exploded&queue=gone')).toEqual({
      state: '',
      nodeId: '',
      queue: '',
      jobId: '',
    });
    expect(searchFromJobsState(jobsStateFromSearch(''))).toBe('');
  });

  it('keeps how many jobs are shown in the URL: whole pages past the first, capped', () => {
    expect(jobsStateFromSearch('?shown=300').shown).toBe(300);
    expect(searchFromJobsState(jobsStateFromSearch('?state=queued&shown=300'))).toBe(
      '?state=queued&shown=300',
    );
    for (const bad of ['100', '150', '-200', 'x'])
      expect(jobsStateFromSearch(`?shown=${bad}`).shown).toBeUndefined();
    expect(jobsStateFromSearch('?shown=900000').shown).toBe(5000);
    expect(searchFromJobsState(jobsStateFromSearch('?queue=failed&queueShown=200'))).toBe(
      '?queue=failed&queueShown=200',
    );
  });

  it('builds the API queries', () => {
    const state = jobsStateFromSearch('?state=failed&nodeId=hall-a&queue=uploading');
    expect(jobsQuery(state)).toBe('limit=100&state=failed&nodeId=hall-a');
    expect(queueQuery(state)).toBe('limit=100&state=uploading');
  });
});

describe('live job states', () => {
  it('applies a job.state event to the row it is about, clearing a retried job’s failure', () => {
    const rows = [job('a', 'failed'), job('b', 'recording')];
    const next = withJobState(rows, 'a', 'queued')!;
    expect(next[0]).toMatchObject({ state: 'queued', failureReason: null });
    expect(next[1]).toBe(rows[1]);
    expect(withJobState(rows, 'zzz', 'queued')).toBeUndefined();
    expect(withJobState(rows, 'b', 'recording')).toBeUndefined();
  });

  it('offers retry for failed and cancelled jobs, stop for active ones not yet asked', () => {
    expect(mayRetry(job('a', 'failed'))).toBe(true);
    expect(mayRetry(job('a', 'completed'))).toBe(false);
    expect(mayStop(job('a', 'recording'))).toBe(true);
    expect(mayStop(job('a', 'recording', { stopRequested: true }))).toBe(false);
    expect(mayStop(job('a', 'failed'))).toBe(false);
  });
});

describe('bulk results', () => {
  it('gives each job its outcome and takes the jobs as the server returned them', () => {
    const rows = [job('a', 'failed'), job('b', 'completed')];
    const { rows: after, messages } = bulkOutcome(
      rows,
      [
        { id: 'a', ok: true, status: 200, job: job('a', 'queued') },
        {
          id: 'b',
          ok: false,
          status: 409,
          error: { code: 'conflict', message: 'The job cannot be retried: completed.' },
        },
      ],
      'retried',
    );
    expect(after.map((r) => r.state)).toEqual(['queued', 'completed']);
    expect(messages).toEqual({
      a: { ok: true, text: 'retried' },
      b: { ok: false, text: 'The job cannot be retried: completed.' },
    });
  });
});

describe('upload progress', () => {
  it('says percent when the size is known, and bytes in binary units', () => {
    expect(percent(512, 1024)).toBe(50);
    expect(percent(2048, 1024)).toBe(100);
    expect(percent(5, null)).toBeUndefined();
    expect(formatBytes(900)).toBe('900 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(300 * 1024 ** 2)).toBe('300 MiB');
  });
});
