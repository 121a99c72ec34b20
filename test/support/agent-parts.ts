/**
 * The agent's job pipeline as agent.ts wires it (PCM tap → recorder → uploader → claim loop,
 * and the schedule runner), for tests that drive the parts without the whole daemon.
 */
import { join } from 'node:path';
import { type PcmSource, PcmTap } from '../../agent/src/capture/pcm-tap.js';
import { ClaimLoop } from '../../agent/src/jobs/claim-loop.js';
import { PartRegistrar } from '../../agent/src/jobs/part-registrar.js';
import { Recorder } from '../../agent/src/jobs/recorder.js';
import type { AgentHttpClient } from '../../agent/src/link/http-client.js';
import type { JobJournal } from '../../agent/src/state/journal.js';
import type { BackoffOptions } from '../../agent/src/support/backoff.js';
import type { Logger } from '../../agent/src/support/log.js';
import { Uploader } from '../../agent/src/uploads/uploader.js';

export interface AgentPartsOptions {
  api: AgentHttpClient;
  journal: JobJournal;
  source: PcmSource;
  cacheDir: string;
  log: Logger;
  jobHeartbeatIntervalMs: number;
  jobPollIntervalMs: number;
  backoff?: BackoffOptions;
  clockOffsetMs?: () => number | undefined;
}

export function agentParts(options: AgentPartsOptions) {
  const { api, journal, log, backoff } = options;
  const tap = new PcmTap(options.source);
  const registrar = new PartRegistrar({ api, journal, log, backoff });
  const uploader = new Uploader({
    api,
    journal,
    registrar,
    log,
    jobHeartbeatIntervalMs: () => options.jobHeartbeatIntervalMs,
    backoff,
  });
  const recorder = new Recorder({
    api,
    journal,
    registrar,
    uploader,
    tap,
    recordingsDir: join(options.cacheDir, 'recordings'),
    log,
    jobHeartbeatIntervalMs: () => options.jobHeartbeatIntervalMs,
    clockOffsetMs: options.clockOffsetMs ?? (() => undefined),
    backoff,
  });
  const claimLoop = new ClaimLoop({
    api,
    recorder,
    log,
    timings: () => ({ jobPollIntervalMs: options.jobPollIntervalMs }),
    backoff,
  });
  return { tap, registrar, uploader, recorder, claimLoop };
}
