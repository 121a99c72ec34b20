/**
 * Continuation parts (recorded after a restart inside a job's window) are recorded before
 * the controller knows them: their journal entry carries `pendingPart` and a placeholder job
 * id. The registrar registers such an entry (PUT jobPart, idempotent, so it is retried until
 * the controller answers) and renames the journal entry to the job id the controller gave
 * it. The recorder waits for it before the part's heartbeats, the uploader before its upload.
 * One registration per entry at a time, whoever asks.
 */
import type { AgentHttpClient } from '../link/http-client.js';
import { describeError, isRetryable } from '../link/http-client.js';
import type { JobJournal, JournalEntry } from '../state/journal.js';
import { Backoff, type BackoffOptions, sleep } from '../support/backoff.js';
import type { Logger } from '../support/log.js';

export type PartApi = Pick<AgentHttpClient, 'jobPart'>;

/** The controller refused the part for good (the job it continues is gone or taken over). */
export class PartRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PartRefusedError';
  }
}

export interface PartRegistrarOptions {
  api: PartApi;
  journal: JobJournal;
  log: Logger;
  backoff?: BackoffOptions;
}

export class PartRegistrar {
  private readonly inFlight = new Map<string, Promise<JournalEntry>>();

  constructor(private readonly options: PartRegistrarOptions) {}

  /**
   * The entry registered (its journal entry, renamed), retrying while the controller cannot
   * be reached. Rejects with PartRefusedError when the controller refuses, or with the
   * signal's reason when aborted. An entry with nothing pending resolves at once.
   */
  register(jobId: string, signal: AbortSignal): Promise<JournalEntry> {
    const key = this.options.journal.resolve(jobId);
    let running = this.inFlight.get(key);
    if (!running) {
      running = this.run(key, signal).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, running);
    }
    return running;
  }

  private async run(key: string, signal: AbortSignal): Promise<JournalEntry> {
    const { api, journal, log } = this.options;
    const backoff = new Backoff({ baseMs: 500, capMs: 30_000, ...this.options.backoff });
    for (;;) {
      const entry = journal.get(key);
      if (!entry) throw new PartRefusedError(`job ${key} is no longer in the journal`);
      const pending = entry.pendingPart;
      const parent = entry.continues;
      if (!pending) return entry;
      if (!parent)
        throw new PartRefusedError(`part ${entry.recordingId} does not say which job it continues`);
      try {
        const lease = await api.jobPart(parent.jobId, entry.recordingId, pending, signal);
        const registered = await journal.rekey(entry.jobId, lease.jobId, {
          epoch: lease.epoch,
          pendingPart: undefined,
        });
        log.info(
          { jobId: lease.jobId, recordingId: entry.recordingId, continues: parent.jobId, part: lease.part },
          'continuation part registered with the controller',
        );
        return registered;
      } catch (error) {
        if (signal.aborted) throw signal.reason ?? error;
        if (!isRetryable(error)) {
          throw new PartRefusedError(`the controller refused the continuation part: ${describeError(error)}`);
        }
        const level = backoff.failures === 0 ? 'info' : 'debug';
        log[level](
          { recordingId: entry.recordingId },
          `cannot register the part yet: ${describeError(error)}`,
        );
        await sleep(backoff.next(), signal);
      }
    }
  }
}
