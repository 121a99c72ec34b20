/**
 * Scheduled start accuracy: 50 back-to-back one-second occurrences recorded by the agent's own
 * schedule runner and recorder from the PulseAudio sink (sox, as in the field; a real-time fake
 * sound card when PulseAudio is missing), with no controller at all (the agent's offline case).
 * Reports p50 / p99 of (first sample time − planned start) as the recordings' capture facts say,
 * and of (the block holding the start delivered to the agent − planned start): the capture
 * latency, how long after the start the agent has the audio. The
 * reference, in the same run: plain setTimeout wake-ups armed for the same instants, the accuracy
 * a timer-driven start would have.
 */
import { join } from 'node:path';
import { PcmTap } from '../../agent/src/capture/pcm-tap.js';
import { type CaptureFactory, CaptureSupervisor } from '../../agent/src/capture/supervisor.js';
import { PartRegistrar } from '../../agent/src/jobs/part-registrar.js';
import { Recorder } from '../../agent/src/jobs/recorder.js';
import { ScheduleRunner } from '../../agent/src/jobs/schedule-runner.js';
import { type AgentHttpClient, NetworkError } from '../../agent/src/link/http-client.js';
import { JobJournal, journalPath } from '../../agent/src/state/journal.js';
import { OfflineCache } from '../../agent/src/state/offline-cache.js';
import { silentLogger } from '../../agent/src/support/log.js';
import type { ScheduledOccurrence } from '../../shared/src/agent-api.js';
import { RealtimeFakeCapture } from '../support/agent-harness.js';
import { hasPulse, startPulseSink } from '../support/pulse.js';
import { tempDir } from '../support/tmp.js';
import { type BenchRow, percentile } from './report.js';

const OCCURRENCES = Number(process.env.EARSHOT_BENCH_OCCURRENCES ?? 50);
const RATE = 48_000;

/** The p-th percentile of unsorted values. */
const pct = (values: number[], p: number) =>
  percentile(
    [...values].sort((a, b) => a - b),
    p,
  );

/** The controller is not there: every call fails like a refused connection. */
const offline = new Proxy({} as AgentHttpClient, {
  get: () => async () => {
    throw new NetworkError('controller not reachable (benchmark runs offline)');
  },
});

function occurrence(i: number, startMs: number): ScheduledOccurrence {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    jobId: `bench-job-${i}`,
    recordingId: `bench-rec-${i}`,
    nodeId: 'bench-node',
    epoch: 1,
    leaseExpiresAt: iso(startMs + 1000),
    durationSeconds: 1,
    stopRequested: false,
    sampleRate: RATE,
    channels: 2,
    channelSelection: null,
    part: 1,
    scheduleId: 'bench',
    scheduleName: 'bench',
    occurrenceStart: iso(startMs),
    plannedStartAt: iso(startMs),
    plannedEndAt: iso(startMs + 1000),
  };
}

export async function scheduleStartBench(): Promise<BenchRow[]> {
  const dir = await tempDir('bench-schedule-start');
  const pulse = await hasPulse();
  const sink = pulse ? await startPulseSink({ sampleRate: RATE, channels: 2 }) : undefined;
  const savedEnv = { ...process.env };
  if (sink) Object.assign(process.env, sink.env, { PULSE_LATENCY_MSEC: '30' });
  const log = silentLogger();
  const createCapture: CaptureFactory | undefined = sink ? undefined : (o) => new RealtimeFakeCapture(o);
  const capture = new CaptureSupervisor({
    capture: { device: sink?.monitor, sampleRate: RATE, channels: 2 },
    log,
    createCapture,
  });
  const tap = new PcmTap(capture);
  const journal = new JobJournal(journalPath(dir.path));
  await journal.load();
  const cache = new OfflineCache(dir.path);
  await cache.loadStarted();
  const firstBlockLateMs: number[] = [];
  const recorder = new Recorder({
    api: offline,
    journal,
    registrar: new PartRegistrar({ api: offline, journal, log }),
    uploader: { enqueue: () => {} },
    tap,
    recordingsDir: join(dir.path, 'recordings'),
    log,
    jobHeartbeatIntervalMs: () => 3_600_000,
    clockOffsetMs: () => undefined,
  });
  const schedule = new ScheduleRunner({ recorder, journal, started: cache, api: offline, log });
  const timerLateMs: number[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    tap.start();
    capture.start();
    await recorder.start();
    // Wait for audio, then schedule from a whole second 3 s ahead, back to back.
    await new Promise<void>((resolve) => capture.once('data', () => resolve()));
    const firstStart = Math.ceil((Date.now() + 3000) / 1000) * 1000;
    const plan = Array.from({ length: OCCURRENCES }, (_, i) => occurrence(i, firstStart + i * 1000));
    const unsubscribe = tap.subscribe({
      block: (block) => {
        const next = firstStart + firstBlockLateMs.length * 1000;
        if (firstBlockLateMs.length < OCCURRENCES && block.endMs >= next)
          firstBlockLateMs.push(Date.now() - next);
      },
      fault: () => {},
    });
    // Reference: a timer armed for each instant, as a timer-driven start would be.
    for (const o of plan) {
      const at = Date.parse(o.plannedStartAt);
      timers.push(setTimeout(() => timerLateMs.push(Date.now() - at), at - Date.now()));
    }
    schedule.update(plan);
    schedule.start();
    const lastEnd = firstStart + OCCURRENCES * 1000;
    await new Promise((resolve) => setTimeout(resolve, lastEnd - Date.now() + 1500));
    await recorder.stop();
    unsubscribe();
    const firstSampleLateMs = journal
      .list()
      .filter((e) => e.capture?.firstSampleAtMs !== undefined && e.capture.plannedStartMs !== undefined)
      .map((e) => e.capture!.firstSampleAtMs! - e.capture!.plannedStartMs!);
    if (firstSampleLateMs.length < OCCURRENCES) {
      throw new Error(`only ${firstSampleLateMs.length} of ${OCCURRENCES} occurrences recorded`);
    }
    const subject = `${OCCURRENCES} × 1 s scheduled starts (${sink ? 'sox from the PulseAudio sink' : 'fake real-time capture'})`;
    const rows: BenchRow[] = [];
    for (const p of [50, 99]) {
      const reference = pct(timerLateMs, p);
      const value = pct(firstSampleLateMs, p);
      rows.push({
        bench: 'schedule-start',
        subject,
        metric: `p${p} first sample − planned start`,
        value,
        unit: 'ms',
        reference: {
          subject: 'setTimeout wake-up − the same instants',
          value: reference,
          ratio: reference === 0 ? 0 : value / reference,
        },
      });
      rows.push({
        bench: 'schedule-start',
        subject,
        metric: `p${p} start's audio delivered − planned start`,
        value: pct(firstBlockLateMs, p),
        unit: 'ms',
      });
    }
    return rows;
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await schedule.stop();
    await recorder.stop();
    await capture.stop();
    tap.stop();
    process.env = savedEnv;
    await sink?.stop();
    await dir.cleanup();
  }
}
