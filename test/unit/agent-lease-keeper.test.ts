import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jobHeartbeatIntervalMs, LeaseKeeper } from '../../agent/src/jobs/lease-keeper.js';
import { ApiError, NetworkError } from '../../agent/src/link/http-client.js';
import { silentLogger } from '../../agent/src/support/log.js';
import type { JobHeartbeatResult } from '../../shared/src/agent-api.js';
import { ERROR_CODES } from '../../shared/src/errors.js';

const answer = (stopRequested = false) =>
  ({ leaseExpiresAt: new Date(0).toISOString(), stopRequested, state: 'recording' }) as JobHeartbeatResult;
const stale = () => new ApiError(409, ERROR_CODES.staleLease, 'epoch is not current');

function keeper(
  jobHeartbeat: (jobId: string, body: unknown, signal?: AbortSignal) => Promise<JobHeartbeatResult>,
  extra: { beatAtStart?: boolean; unref?: boolean; onStopRequested?: () => void } = {},
) {
  const onLeaseLost = vi.fn();
  const api = { jobHeartbeat: vi.fn(jobHeartbeat) };
  const signal = new AbortController().signal;
  const lease = new LeaseKeeper({
    api,
    jobId: 'job-1',
    body: { epoch: 3, state: 'uploading' },
    intervalMs: 1000,
    signal,
    log: silentLogger(),
    onLeaseLost,
    ...extra,
  });
  return { lease, api, onLeaseLost, signal };
}

describe('LeaseKeeper', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('beats every interval with the body and the owner signal; not at start unless asked', async () => {
    const { lease, api, signal } = keeper(async () => answer());
    lease.start();
    expect(api.jobHeartbeat).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(2500);
    expect(api.jobHeartbeat).toHaveBeenCalledTimes(2);
    expect(api.jobHeartbeat).toHaveBeenLastCalledWith('job-1', { epoch: 3, state: 'uploading' }, signal);
    lease.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(api.jobHeartbeat).toHaveBeenCalledTimes(2);
  });

  it('beats at once with beatAtStart (recording)', () => {
    const { lease, api } = keeper(async () => answer(), { beatAtStart: true });
    lease.start();
    expect(api.jobHeartbeat).toHaveBeenCalledOnce();
    lease.stop();
  });

  it('reports a stale lease on every stale answer, and only a stale one', async () => {
    let error: Error = new NetworkError('down');
    const { lease, onLeaseLost } = keeper(async () => {
      throw error;
    });
    lease.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(lease.leaseLost).toBe(false);
    expect(onLeaseLost).not.toHaveBeenCalled();
    error = stale();
    await vi.advanceTimersByTimeAsync(2000);
    expect(lease.leaseLost).toBe(true);
    expect(onLeaseLost).toHaveBeenCalledTimes(2);
    lease.stop();
  });

  it('passes stopRequested on when asked to, and ignores it otherwise', async () => {
    const onStopRequested = vi.fn();
    const withStop = keeper(async () => answer(true), { beatAtStart: true, onStopRequested });
    withStop.lease.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(onStopRequested).toHaveBeenCalledOnce();
    withStop.lease.stop();

    const without = keeper(async () => answer(true), { beatAtStart: true });
    without.lease.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(without.lease.leaseLost).toBe(false);
    without.lease.stop();
  });

  it('holds the process for its timer unless unref is set (uploads)', () => {
    const spy = vi.spyOn(globalThis, 'setInterval');
    const held = keeper(async () => answer());
    held.lease.start();
    const unref = keeper(async () => answer(), { unref: true });
    unref.lease.start();
    const [first, second] = spy.mock.results.map((r) => r.value as NodeJS.Timeout);
    expect(first?.hasRef()).toBe(true);
    expect(second?.hasRef()).toBe(false);
    held.lease.stop();
    unref.lease.stop();
    spy.mockRestore();
  });

  it('a 404 means the job is gone: lease lost, reason gone', async () => {
    const { lease, onLeaseLost } = keeper(async () => {
      throw new ApiError(404, 'not_found', 'no such job');
    });
    lease.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(lease.leaseLost).toBe(true);
    expect(lease.lossReason).toBe('gone');
    expect(onLeaseLost).toHaveBeenCalledWith('gone');
    lease.stop();
  });

  it('reads a body function per beat and reports what was delivered; beatNow sends at once', async () => {
    let fail = true;
    const api = {
      jobHeartbeat: vi.fn(async () => {
        if (fail) throw new NetworkError('down');
        return answer();
      }),
    };
    let delivered = false;
    const facts = { firstSampleAtMs: 5 };
    const lease = new LeaseKeeper({
      api,
      jobId: 'job-1',
      body: () => ({ epoch: 1, state: 'recording', ...(delivered ? {} : { capture: facts }) }),
      onDelivered: (body) => {
        if (body.capture) delivered = true;
      },
      intervalMs: 1000,
      signal: new AbortController().signal,
      log: silentLogger(),
      onLeaseLost: () => {},
    });
    lease.start();
    lease.beatNow();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.jobHeartbeat).toHaveBeenLastCalledWith(
      'job-1',
      { epoch: 1, state: 'recording', capture: facts },
      expect.anything(),
    );
    fail = false;
    await vi.advanceTimersByTimeAsync(1000); // facts again: the first did not arrive
    expect(api.jobHeartbeat).toHaveBeenLastCalledWith(
      'job-1',
      { epoch: 1, state: 'recording', capture: facts },
      expect.anything(),
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(api.jobHeartbeat).toHaveBeenLastCalledWith(
      'job-1',
      { epoch: 1, state: 'recording' },
      expect.anything(),
    );
    lease.stop();
  });

  it('beats at a third of the lease, never more often than once a second', () => {
    expect(jobHeartbeatIntervalMs(60)).toBe(20_000);
    expect(jobHeartbeatIntervalMs(1)).toBe(1000);
  });
});
