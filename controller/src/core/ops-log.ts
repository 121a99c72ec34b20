/**
 * The operational event log's port: what happened to the controller itself (started, stopped,
 * migrations applied, broker listening, the Discord bot's connection, a background runner's
 * failed pass, a settings change), for an operator reading back after an incident. Distinct
 * from the audit trail (who did what, hash-chained, in the change's transaction): an ops event
 * is written after the fact, in the background, and never fails or delays the caller; a write
 * that fails is logged. The ops module implements it (modules/ops) and serves the log at
 * `GET /api/v1/ops-events`.
 */

import type { OpsEventKind } from '../../../shared/src/ops-kinds.js';

/** The kinds of ops event: an API contract the console shares (shared/src/ops-kinds.ts). */
export { OPS_EVENT_KINDS, type OpsEventKind } from '../../../shared/src/ops-kinds.js';

export type OpsLevel = 'info' | 'warning' | 'error';
export const OPS_LEVELS: readonly OpsLevel[] = ['info', 'warning', 'error'];

export interface OpsEventInput {
  kind: OpsEventKind;
  level: OpsLevel;
  /** One line an operator reads, e.g. "copying recordings to upload providers failed: ECONNREFUSED". */
  message: string;
  /** Small, JSON-safe facts; never a secret. */
  data?: Record<string, unknown>;
}

export interface OpsLog {
  /** Writes the event in the background; returns at once and never throws. */
  record(event: OpsEventInput): void;
}

/** For parts built without the log (tests of one service). */
export const NO_OPS_LOG: OpsLog = { record: () => {} };

/**
 * A background runner's failures, as the log hears them: the first failed pass of a run of
 * failures (`runner.failed`, with its error) and the pass that works again (`runner.recovered`,
 * with how many failed), not one event per pass (a runner every 5 s failing for a day would
 * write 17,000). Used by platform/periodic-task.ts and the schedule runner.
 */
export class RunnerFailures {
  private failedPasses = 0;

  constructor(
    private readonly ops: OpsLog | undefined,
    private readonly what: string,
  ) {}

  failed(err: unknown): void {
    this.failedPasses += 1;
    if (this.failedPasses > 1) return;
    const reason = err instanceof Error ? err.message : String(err);
    this.ops?.record({
      kind: 'runner.failed',
      level: 'error',
      message: `${this.what} failed: ${reason}`.slice(0, 1000),
      data: { runner: this.what },
    });
  }

  succeeded(): void {
    if (this.failedPasses === 0) return;
    const failedPasses = this.failedPasses;
    this.failedPasses = 0;
    this.ops?.record({
      kind: 'runner.recovered',
      level: 'info',
      message: `${this.what} works again after ${failedPasses} failed pass(es)`,
      data: { runner: this.what, failedPasses },
    });
  }
}
