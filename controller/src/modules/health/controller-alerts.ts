/**
 * The controller's own health events for what other modules see (the `HealthAlerts` port), each
 * raised and resolved through `HealthReports.raise` (audited as the system, one event per id):
 *
 * - `occurrence_missed` (critical): one event per node and schedule, opened when an occurrence of
 *   the schedule ends unrecorded on the node, counting every further miss; it resolves when the
 *   node's next recording of that schedule is uploaded, and opens again at the next miss.
 * - `upload_failing` (warning): one event per recording, opened at its
 *   UPLOAD_FAILURES_BEFORE_EVENT-th failed upload request (cut off, too large, or not the
 *   declared SHA-256), counting every further one; it resolves when the upload completes. The
 *   failures before the event are counted in this process (a restart starts again from zero);
 *   once open, the event's count carries on from the database.
 * - `audit_chain` (critical): one event for the controller (no node: only callers holding
 *   `health:read` over the whole fleet see it), opened when a verification of the audit chain
 *   finds a broken link, counting every further failed verification; it resolves when a
 *   verification passes again.
 *
 * - `disk_low` (warning): one event for the controller's own disk (no node), opened when the
 *   controller disk watch (controller-disk-watch.ts) finds it low, resolved when it is clear again.
 *
 * Event ids derive from what they are about, so replicas raising the same condition store it once.
 */
import { createHash } from 'node:crypto';
import type { HealthEventMessage } from '../../../../shared/src/mqtt.js';
import type { AuditChainResult, HealthAlerts } from '../../core/health-alerts.js';
import type { Logger } from '../../core/logger.js';
import type { DiskReading } from './controller-disk-watch.js';
import type { HealthRepository } from './health.repository.js';
import type { HealthReports } from './health-reports.js';

/** Failed upload requests of one recording before it counts as an upload that keeps failing. */
export const UPLOAD_FAILURES_BEFORE_EVENT = 3;
/** Recordings whose failures are tallied in memory at most (the oldest tally is dropped first). */
const MAX_TALLIED_UPLOADS = 10_000;

/** One id per node and schedule (a hash: both ids together may pass the 64 characters allowed). */
export function occurrenceMissedId(nodeId: string, scheduleId: string): string {
  const digest = createHash('sha256').update(`${nodeId}\n${scheduleId}`).digest('hex');
  return `occurrence-missed-${digest.slice(0, 40)}`;
}

/** The one audit chain of this controller's database. */
export const AUDIT_CHAIN_EVENT_ID = 'audit-chain';
/** The controller's own disk (its data dir). */
export const CONTROLLER_DISK_EVENT_ID = 'controller-disk-low';

const GIB = 1024 ** 3;

export function uploadFailingId(recordingId: string): string {
  return `upload-failing-${recordingId}`.slice(0, 64);
}

export function providerCopyFailingId(itemId: string): string {
  return `copy-failing-${itemId}`.slice(0, 64);
}

export class ControllerAlerts implements HealthAlerts {
  /** Failed requests per recording before its event exists. */
  private readonly tallies = new Map<string, number>();

  constructor(
    private readonly deps: {
      repo: HealthRepository;
      reports: HealthReports;
      now: () => Date;
      log: Logger;
    },
  ) {}

  occurrenceMissed(miss: Parameters<HealthAlerts['occurrenceMissed']>[0]): Promise<void> {
    return this.safely('occurrence_missed', miss.nodeId, async () => {
      const id = occurrenceMissedId(miss.nodeId, miss.scheduleId);
      const existing = await this.deps.repo.find(id);
      const now = this.deps.now();
      const count = (existing?.count ?? 0) + 1;
      const when = miss.plannedStartAt ? ` planned for ${miss.plannedStartAt.toISOString()}` : '';
      await this.raise(miss.nodeId, {
        id,
        type: 'occurrence_missed',
        severity: 'critical',
        state: 'open',
        message: `a scheduled occurrence${when} was not recorded (${miss.reason}); ${count} missed on this schedule`,
        values: {
          scheduleId: miss.scheduleId,
          jobId: miss.jobId,
          plannedStartAt: miss.plannedStartAt?.toISOString() ?? null,
        },
        firstSeenAt: now.toISOString(),
        lastSeenAt: now.toISOString(),
        count,
      });
    });
  }

  uploadFailed(failure: Parameters<HealthAlerts['uploadFailed']>[0]): Promise<void> {
    return this.safely('upload_failing', failure.nodeId, async () => {
      const id = uploadFailingId(failure.recordingId);
      const existing = await this.deps.repo.find(id);
      const open = existing !== null && existing.status !== 'resolved';
      const count = open ? existing.count + 1 : this.tally(failure.recordingId);
      if (count < UPLOAD_FAILURES_BEFORE_EVENT) return;
      this.tallies.delete(failure.recordingId);
      const now = this.deps.now().toISOString();
      await this.raise(failure.nodeId, {
        id,
        type: 'upload_failing',
        severity: 'warning',
        state: 'open',
        message: `the upload of recording ${failure.recordingId} keeps failing (${count} failed requests; last: ${failure.reason})`,
        values: {
          recordingId: failure.recordingId,
          failures: count,
          lastFailure: failure.reason.slice(0, 200),
        },
        firstSeenAt: now,
        lastSeenAt: now,
        count,
      });
    });
  }

  uploadCompleted(done: Parameters<HealthAlerts['uploadCompleted']>[0]): Promise<void> {
    this.tallies.delete(done.recordingId);
    return this.safely('upload completion', done.nodeId, async () => {
      await this.resolve(
        done.nodeId,
        uploadFailingId(done.recordingId),
        `the upload of recording ${done.recordingId} completed`,
      );
      if (done.scheduleId !== null)
        await this.resolve(
          done.nodeId,
          occurrenceMissedId(done.nodeId, done.scheduleId),
          `the node recorded an occurrence of the schedule again (recording ${done.recordingId})`,
        );
    });
  }

  providerCopyFailed(failure: Parameters<HealthAlerts['providerCopyFailed']>[0]): Promise<void> {
    return this.safely('upload_failing', failure.nodeId, async () => {
      const now = this.deps.now().toISOString();
      await this.raise(failure.nodeId, {
        id: providerCopyFailingId(failure.itemId),
        type: 'upload_failing',
        severity: 'warning',
        state: 'open',
        message: `the copy of recording ${failure.recordingId} to upload provider ${failure.provider} failed after ${failure.attempts} attempts: ${failure.reason}`,
        values: {
          recordingId: failure.recordingId,
          queueItemId: failure.itemId,
          provider: failure.provider,
          attempts: failure.attempts,
          lastFailure: failure.reason.slice(0, 200),
        },
        firstSeenAt: now,
        lastSeenAt: now,
        count: 1,
      });
    });
  }

  providerCopyVerified(done: Parameters<HealthAlerts['providerCopyVerified']>[0]): Promise<void> {
    return this.safely('upload completion', done.nodeId, () =>
      this.resolve(
        done.nodeId,
        providerCopyFailingId(done.itemId),
        `the copy reached upload provider ${done.provider} and was verified`,
      ),
    );
  }

  auditChainVerified(result: AuditChainResult): Promise<void> {
    return this.safely('audit_chain', null, async () => {
      const id = AUDIT_CHAIN_EVENT_ID;
      if (result.ok)
        return this.resolve(null, id, `the audit chain verifies again (${result.checked} events)`);
      const existing = await this.deps.repo.find(id);
      const now = this.deps.now().toISOString();
      const at = result.brokenAt;
      await this.raise(null, {
        id,
        type: 'audit_chain',
        severity: 'critical',
        state: 'open',
        message:
          `audit chain verification failed at event ${at?.seq ?? '?'} (${at?.reason ?? 'broken'}); ` +
          `${result.checked} events verified before it`,
        values: {
          brokenAtSeq: at?.seq ?? null,
          brokenAtId: at?.id ?? null,
          reason: at?.reason ?? null,
          checked: result.checked,
        },
        firstSeenAt: now,
        lastSeenAt: now,
        count: (existing?.count ?? 0) + 1,
      });
    });
  }

  /** The controller's disk is low (opened once, while it lasts) or clear (resolved). */
  controllerDisk(condition: 'low' | 'clear', reading: DiskReading): Promise<void> {
    return this.safely('disk_low', null, async () => {
      const id = CONTROLLER_DISK_EVENT_ID;
      const free = `${(reading.freeBytes / GIB).toFixed(1)} GiB free of ${(reading.totalBytes / GIB).toFixed(1)} GiB`;
      const hours = Number.isFinite(reading.headroomHours)
        ? `${reading.headroomHours.toFixed(1)} h at the last hour's ingest rate`
        : 'nothing arriving';
      if (condition === 'clear')
        return this.resolve(null, id, `the controller's disk is clear again: ${free}, ${hours}`);
      const existing = await this.deps.repo.find(id);
      if (existing && existing.status !== 'resolved') return; // open already: one event while it lasts
      const now = this.deps.now().toISOString();
      await this.raise(null, {
        id,
        type: 'disk_low',
        severity: 'warning',
        state: 'open',
        message: `the controller's disk is low: ${free}, ${hours}`,
        values: {
          freeBytes: reading.freeBytes,
          totalBytes: reading.totalBytes,
          headroomHours: Number.isFinite(reading.headroomHours) ? reading.headroomHours : null,
          bytesPerHour: Math.round(reading.bytesPerHour),
        },
        firstSeenAt: now,
        lastSeenAt: now,
        count: (existing?.count ?? 0) + 1,
      });
    });
  }

  /** Resolves the event of this id when it is there and not resolved yet. */
  private async resolve(nodeId: string | null, id: string, message: string): Promise<void> {
    const existing = await this.deps.repo.find(id);
    if (!existing || existing.status === 'resolved') return;
    const type = existing.type as HealthEventMessage['type'];
    const severity = existing.severity as HealthEventMessage['severity'];
    await this.raise(nodeId, {
      id,
      type,
      severity,
      state: 'resolved',
      message,
      firstSeenAt: existing.firstSeenAt.toISOString(),
      lastSeenAt: new Date(Math.max(this.deps.now().getTime(), existing.lastSeenAt.getTime())).toISOString(),
      count: existing.count,
    });
  }

  private async raise(nodeId: string | null, report: HealthEventMessage): Promise<void> {
    await this.deps.reports.raise(nodeId, report);
  }

  private tally(recordingId: string): number {
    const count = (this.tallies.get(recordingId) ?? 0) + 1;
    this.tallies.delete(recordingId); // re-inserted last: the map stays in order of last failure
    this.tallies.set(recordingId, count);
    if (this.tallies.size > MAX_TALLIED_UPLOADS) this.tallies.delete(this.tallies.keys().next().value!);
    return count;
  }

  /** The caller's change is committed: a failure here is logged, never thrown back. */
  private async safely(what: string, nodeId: string | null, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.deps.log.warn({ err: error, nodeId }, `controller health event (${what}) failed`);
    }
  }
}
