/**
 * The controller's own disk: how much is free where it keeps recordings (its data dir), and how
 * many hours that lasts at the rate recordings arrived over the last hour. Both are Prometheus
 * gauges (`earshot_controller_disk_free_bytes`, `earshot_controller_disk_headroom_seconds`,
 * +Inf while nothing arrives), and a `disk_low` event of no node (source controller) opens when
 * the headroom falls under HEADROOM_LOW_HOURS or the free share under FREE_LOW_FRACTION, and
 * resolves only once both are back above their resolve levels (a level at the threshold does
 * not flap).
 */
import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../../core/logger.js';
import type { OpsLog } from '../../core/ops-log.js';
import type { Metrics } from '../../metrics.js';
import { PeriodicTask } from '../../platform/periodic-task.js';

export const DISK_WATCH_MS = 60_000;
/** The ingest rate is measured over this much time (less just after a start). */
export const RATE_WINDOW_MS = 3_600_000;
export const HEADROOM_LOW_HOURS = 24;
export const HEADROOM_RESOLVE_HOURS = 36;
export const FREE_LOW_FRACTION = 0.05;
export const FREE_RESOLVE_FRACTION = 0.07;

export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
}

export interface DiskReading extends DiskSpace {
  /** Hours until full at the last hour's ingest rate; Infinity while nothing arrives. */
  headroomHours: number;
  bytesPerHour: number;
}

/** What the disk reading means: `low` opens the event, `clear` resolves it, null changes nothing. */
export function diskCondition(reading: DiskReading): 'low' | 'clear' | null {
  const share = reading.totalBytes > 0 ? reading.freeBytes / reading.totalBytes : 1;
  if (reading.headroomHours < HEADROOM_LOW_HOURS || share < FREE_LOW_FRACTION) return 'low';
  if (reading.headroomHours >= HEADROOM_RESOLVE_HOURS && share >= FREE_RESOLVE_FRACTION) return 'clear';
  return null;
}

/**
 * The free and total space of the file system `dir` is on, or will be on: a data directory not
 * made yet (a controller on PostgreSQL writes there only once a recording arrives) is measured at
 * its nearest existing parent.
 */
export async function diskSpaceOf(dir: string): Promise<DiskSpace> {
  for (let at = resolve(dir); ; at = dirname(at)) {
    try {
      const stats = await statfs(at);
      return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw error;
    }
  }
}

export class ControllerDiskWatch {
  private readonly task: PeriodicTask;
  /** (time, bytes ingested so far) samples over the rate window, oldest first. */
  private readonly samples: { atMs: number; bytes: number }[] = [];
  private latest: (DiskReading & { at: Date }) | undefined;

  constructor(
    private readonly deps: {
      dataDir: string;
      space?: (dir: string) => Promise<DiskSpace>;
      /** Recording bytes received by this controller since it started. */
      ingestedBytes: () => Promise<number>;
      alerts: { controllerDisk(condition: 'low' | 'clear', reading: DiskReading): Promise<void> };
      metrics: Pick<Metrics, 'controllerDiskFree' | 'controllerDiskHeadroom'>;
      now: () => Date;
      log: Logger;
      /** Failed passes for the operational event log. */
      ops?: OpsLog;
    },
  ) {
    this.task = new PeriodicTask({
      what: 'controller disk watch',
      pass: () => this.pass(),
      log: deps.log,
      ops: deps.ops,
      intervalMs: DISK_WATCH_MS,
    });
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** The last reading and when it was taken; undefined before the first (GET /api/v1/health). */
  last(): (DiskReading & { at: Date }) | undefined {
    return this.latest;
  }

  /** One reading now (single-flight with the timer's). */
  sweep(): Promise<void> {
    return this.task.tick();
  }

  private async pass(): Promise<void> {
    const { deps } = this;
    const space = await (deps.space ?? diskSpaceOf)(deps.dataDir);
    const atMs = deps.now().getTime();
    const bytes = await deps.ingestedBytes();
    this.samples.push({ atMs, bytes });
    while (this.samples.length > 2 && this.samples[1]!.atMs <= atMs - RATE_WINDOW_MS) this.samples.shift();
    const oldest = this.samples[0]!;
    const hours = (atMs - oldest.atMs) / 3_600_000;
    const bytesPerHour = hours > 0 ? (bytes - oldest.bytes) / hours : 0;
    const reading: DiskReading = {
      ...space,
      bytesPerHour,
      headroomHours: bytesPerHour > 0 ? space.freeBytes / bytesPerHour : Number.POSITIVE_INFINITY,
    };
    this.latest = { ...reading, at: new Date(atMs) };
    deps.metrics.controllerDiskFree.set(reading.freeBytes);
    deps.metrics.controllerDiskHeadroom.set(reading.headroomHours * 3600);
    const condition = diskCondition(reading);
    if (condition) await deps.alerts.controllerDisk(condition, reading);
  }
}
