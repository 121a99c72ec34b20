/** The end of a job the agent gives up on: failed or cancelled, told to the controller. */
import type { JobTerminalBody } from '../../../shared/src/agent-api.js';
import { describeError, isRetryable } from '../link/http-client.js';
import { Backoff, type BackoffOptions, sleep } from '../support/backoff.js';
import type { Logger } from '../support/log.js';

/** Posts failed/cancelled, retrying what can be retried a few times; logs, never throws. */
export async function reportTerminal(
  call: (jobId: string, body: JobTerminalBody, signal?: AbortSignal) => Promise<void>,
  jobId: string,
  body: JobTerminalBody,
  options: { log: Logger; backoff?: BackoffOptions },
  signal?: AbortSignal,
): Promise<boolean> {
  const backoff = new Backoff(options.backoff);
  for (let attempt = 0; attempt < 5 && !signal?.aborted; attempt++) {
    try {
      await call(jobId, body, signal);
      return true;
    } catch (error) {
      if (!isRetryable(error)) {
        options.log.warn({ jobId }, `could not report the job's end: ${describeError(error)}`);
        return false;
      }
      await sleep(backoff.next(), signal);
    }
  }
  options.log.warn({ jobId }, "could not report the job's end: controller unreachable");
  return false;
}
