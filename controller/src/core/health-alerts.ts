/**
 * What other modules tell the health module about conditions only the controller sees, so that
 * it raises (and resolves) its own health events: a scheduled occurrence that was not recorded,
 * an upload that keeps failing, a broken audit chain. Called after the caller's change committed; best effort: the
 * health module logs its own failures and never throws them at the caller.
 */
export interface HealthAlerts {
  /** A scheduled occurrence of `scheduleId` on the node ended without being recorded. */
  occurrenceMissed(miss: {
    nodeId: string;
    scheduleId: string;
    jobId: string;
    plannedStartAt: Date | null;
    reason: string;
  }): Promise<void>;
  /** One upload request for the recording failed: cut off, too large, or not the declared SHA-256. */
  uploadFailed(failure: { nodeId: string; recordingId: string; reason: string }): Promise<void>;
  /** The recording's upload completed (verified); `scheduleId` when it records a schedule's occurrence. */
  uploadCompleted(done: { nodeId: string; recordingId: string; scheduleId: string | null }): Promise<void>;
  /** A copy of the recording to an upload provider failed its last attempt (the upload queue). */
  providerCopyFailed(failure: {
    nodeId: string;
    recordingId: string;
    itemId: string;
    provider: string;
    attempts: number;
    reason: string;
  }): Promise<void>;
  /** The copy (queue item) was verified at its provider, after a failure or not. */
  providerCopyVerified(done: { nodeId: string; itemId: string; provider: string }): Promise<void>;
  /** The audit chain was verified: broken, or whole (again). */
  auditChainVerified(result: AuditChainResult): Promise<void>;
}

/** What a walk of the audit hash chain found (the audit module's verification). */
export interface AuditChainResult {
  ok: boolean;
  checked: number;
  /** The first event whose link is broken, and why. */
  brokenAt?: { seq: number; id: string; reason: string };
}

/** Where every verification of the audit chain is announced (the audit module's chain watch). */
export interface AuditChainVerifications {
  /** `listener` hears every verification from now on, periodic or asked for. */
  onVerified(listener: (result: AuditChainResult) => Promise<void>): void;
}

/** For services built without a health module (tests of one module). */
export const NO_HEALTH_ALERTS: HealthAlerts = {
  occurrenceMissed: async () => {},
  uploadFailed: async () => {},
  uploadCompleted: async () => {},
  providerCopyFailed: async () => {},
  providerCopyVerified: async () => {},
  auditChainVerified: async () => {},
};
