// Continuation parts are registered (PUT jobPart) once the controller answers: retried while
// it cannot be reached, one registration per part whoever asks, the journal entry renamed to
// the controller's job id; a refusal is final.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PartRefusedError, PartRegistrar } from '../../agent/src/jobs/part-registrar.js';
import { ApiError, NetworkError } from '../../agent/src/link/http-client.js';
import {
  JobJournal,
  type JournalEntry,
  journalPath,
  pendingPartJobId,
} from '../../agent/src/state/journal.js';
import { silentLogger } from '../../agent/src/support/log.js';
import type { ContinuationBody, JobLease } from '../../shared/src/agent-api.js';
import { type TempDir, tempDir } from '../support/tmp.js';

let dir: TempDir;
let journal: JobJournal;
beforeEach(async () => {
  dir = await tempDir('agent-part-registrar');
  journal = new JobJournal(journalPath(dir.path));
  await journal.load();
});
afterEach(async () => {
  await dir.cleanup();
});

const body: ContinuationBody = { epoch: 3, reason: 'continues', startedAtMs: 1000, durationSeconds: 60 };
const part = (recordingId: string): JournalEntry => ({
  jobId: pendingPartJobId(recordingId),
  recordingId,
  epoch: 1,
  state: 'recording',
  path: `/cache/${recordingId}.wav`,
  sampleRate: 48_000,
  channels: 2,
  startedAtMs: 1000,
  continues: { jobId: 'job-root', epoch: 3 },
  pendingPart: body,
});
const lease = (jobId: string, recordingId: string): JobLease => ({
  jobId,
  recordingId,
  nodeId: 'node-1',
  epoch: 1,
  leaseExpiresAt: new Date(0).toISOString(),
  durationSeconds: 60,
  stopRequested: false,
  sampleRate: 48_000,
  channels: 2,
  part: 2,
});

describe('PartRegistrar', () => {
  it('retries while the controller is away, registers once for every asker, renames the entry', async () => {
    await journal.put(part('rec-2'));
    let calls = 0;
    const api = {
      jobPart: vi.fn(async (jobId: string, recordingId: string, sent: ContinuationBody) => {
        expect([jobId, recordingId, sent]).toEqual(['job-root', 'rec-2', body]);
        if (++calls < 3) throw new NetworkError('connection refused');
        return lease('job-2', recordingId);
      }),
    };
    const registrar = new PartRegistrar({
      api,
      journal,
      log: silentLogger(),
      backoff: { baseMs: 1, capMs: 2 },
    });
    const signal = new AbortController().signal;
    const [a, b] = await Promise.all([
      registrar.register(pendingPartJobId('rec-2'), signal),
      registrar.register(pendingPartJobId('rec-2'), signal),
    ]);
    expect(api.jobPart).toHaveBeenCalledTimes(3);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ jobId: 'job-2', epoch: 1, continues: { jobId: 'job-root', epoch: 3 } });
    expect(a.pendingPart).toBeUndefined();
    expect(journal.get(pendingPartJobId('rec-2'))?.jobId).toBe('job-2');
    // Registered: asking again costs nothing.
    await registrar.register('job-2', signal);
    expect(api.jobPart).toHaveBeenCalledTimes(3);
  });

  it('a refusal (the job it continues was stopped or superseded) is final', async () => {
    await journal.put(part('rec-3'));
    const api = {
      jobPart: vi.fn(async () => {
        throw new ApiError(409, 'stale_lease', 'epoch is not current');
      }),
    };
    const registrar = new PartRegistrar({ api, journal, log: silentLogger() });
    await expect(registrar.register(pendingPartJobId('rec-3'), new AbortController().signal)).rejects.toThrow(
      PartRefusedError,
    );
    expect(journal.get(pendingPartJobId('rec-3'))?.pendingPart).toEqual(body);
  });
});
