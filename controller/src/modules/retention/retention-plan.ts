/**
 * What retention removes from the controller's store, decided without touching anything (the
 * dry run answers exactly this; a run then removes it).
 *
 * The order: policies by name; within a policy its rules in turn (maximum age, then maximum
 * bytes of the store, then minimum free disk); within a rule the oldest recordings first
 * (completion time, then id). A recording is taken once, by the first policy and rule that
 * takes it. A recording is never taken when it is:
 *   - under legal hold;
 *   - tagged, when the policy keeps tagged recordings;
 *   - not verified at every upload provider the policy waits for;
 *   - the last verified copy: with no verified copy at any provider, the controller's is the
 *     only one, and it stays.
 */

export interface StoredRecording {
  id: string;
  sizeBytes: number;
  completedAt: Date;
  tagged: boolean;
  legalHold: boolean;
  /** Upload providers holding a verified copy. */
  verifiedAt: ReadonlySet<string>;
}

export interface RetentionPolicy {
  id: string;
  name: string;
  maxAgeDays: number | null;
  maxBytes: number | null;
  minFreeDiskPercent: number | null;
  deleteOnlyAfterVerifiedUploadTo: readonly string[];
  keepTagged: boolean;
}

export type RetentionRule = 'max-age' | 'max-bytes' | 'min-free-disk';

export interface PlannedRemoval {
  recordingId: string;
  policyId: string;
  policyName: string;
  rule: RetentionRule;
  sizeBytes: number;
}

export interface RetentionPlan {
  removals: PlannedRemoval[];
  /** Recordings a rule would have taken but may not (held, tagged, not uploaded yet), by reason. */
  kept: Record<'legal-hold' | 'tagged' | 'not-uploaded' | 'last-copy', number>;
  freedBytes: number;
}

export function planRetention(input: {
  policies: readonly RetentionPolicy[];
  /** Every recording whose file is on the controller's disk. */
  stored: readonly StoredRecording[];
  disk: { freeBytes: number; totalBytes: number };
  now: Date;
}): RetentionPlan {
  const oldestFirst = [...input.stored].sort(
    (a, b) => a.completedAt.getTime() - b.completedAt.getTime() || (a.id < b.id ? -1 : 1),
  );
  const taken = new Set<string>();
  const removals: PlannedRemoval[] = [];
  const keptBy = new Map<string, keyof RetentionPlan['kept']>();
  let storeBytes = oldestFirst.reduce((sum, r) => sum + r.sizeBytes, 0);
  let freeBytes = input.disk.freeBytes;

  for (const policy of [...input.policies].sort(
    (a, b) => a.name.localeCompare(b.name) || (a.id < b.id ? -1 : 1),
  )) {
    const take = (recording: StoredRecording, rule: RetentionRule): boolean => {
      if (taken.has(recording.id)) return false;
      const refusal = keepReason(recording, policy);
      if (refusal) {
        keptBy.set(recording.id, refusal);
        return false;
      }
      taken.add(recording.id);
      keptBy.delete(recording.id);
      removals.push({
        recordingId: recording.id,
        policyId: policy.id,
        policyName: policy.name,
        rule,
        sizeBytes: recording.sizeBytes,
      });
      storeBytes -= recording.sizeBytes;
      freeBytes += recording.sizeBytes;
      return true;
    };
    if (policy.maxAgeDays !== null) {
      const cutoff = input.now.getTime() - policy.maxAgeDays * 86_400_000;
      for (const recording of oldestFirst)
        if (recording.completedAt.getTime() < cutoff) take(recording, 'max-age');
    }
    if (policy.maxBytes !== null)
      for (const recording of oldestFirst) {
        if (storeBytes <= policy.maxBytes) break;
        take(recording, 'max-bytes');
      }
    if (policy.minFreeDiskPercent !== null && input.disk.totalBytes > 0) {
      const wanted = (policy.minFreeDiskPercent / 100) * input.disk.totalBytes;
      for (const recording of oldestFirst) {
        if (freeBytes >= wanted) break;
        take(recording, 'min-free-disk');
      }
    }
  }
  const kept: RetentionPlan['kept'] = { 'legal-hold': 0, tagged: 0, 'not-uploaded': 0, 'last-copy': 0 };
  for (const reason of keptBy.values()) kept[reason]++;
  return { removals, kept, freedBytes: removals.reduce((sum, r) => sum + r.sizeBytes, 0) };
}

function keepReason(recording: StoredRecording, policy: RetentionPolicy): keyof RetentionPlan['kept'] | null {
  if (recording.legalHold) return 'legal-hold';
  if (policy.keepTagged && recording.tagged) return 'tagged';
  if (policy.deleteOnlyAfterVerifiedUploadTo.some((provider) => !recording.verifiedAt.has(provider)))
    return 'not-uploaded';
  if (recording.verifiedAt.size === 0) return 'last-copy';
  return null;
}
