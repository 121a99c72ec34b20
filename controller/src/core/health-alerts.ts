/**
 * What other modules tell the health module about conditions only the controller sees, so that
 * it raises (and resolves) its own health events: a scheduled occurrence that was not recorded,
 * an upload that keeps failing. Called after the caller's change committed; best effort: the
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
}

/** For services built without a health module (tests of one module). */
export const NO_HEALTH_ALERTS: HealthAlerts = {
  occurrenceMissed: async () => {},
  uploadFailed: async () => {},
  uploadCompleted: async () => {},
};
