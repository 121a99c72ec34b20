/**
 * What other modules do when a recording is deleted: each hook reads, inside the deletion's
 * transaction and before the rows go, what it must clean up (the upload queue: the recording's
 * copies at upload providers), and answers the work to do once the deletion committed.
 */
import type { Tx } from '../../db/client.js';

/** The outcome of one after-commit clean-up, reported with the deletion. */
export interface CleanupResult {
  /** What was cleaned up: e.g. `upload provider archive`. */
  target: string;
  ok: boolean;
  error?: string;
}

export type DeletionHook = (tx: Tx, recordingId: string) => Promise<() => Promise<CleanupResult[]>>;

export class RecordingDeletions {
  private readonly hooks: DeletionHook[] = [];

  /** `hook` runs in every deletion from now on. */
  register(hook: DeletionHook): void {
    this.hooks.push(hook);
  }

  /** Every hook's after-commit work for the recording (called inside the deletion's transaction). */
  async prepare(tx: Tx, recordingId: string): Promise<() => Promise<CleanupResult[]>> {
    const after: (() => Promise<CleanupResult[]>)[] = [];
    for (const hook of this.hooks) after.push(await hook(tx, recordingId));
    return async () => (await Promise.all(after.map((work) => work()))).flat();
  }
}
