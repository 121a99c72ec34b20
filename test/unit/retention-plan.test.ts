/** The retention plan alone: its order, what it never takes, and that it takes each recording once. */
import { describe, expect, it } from 'vitest';
import {
  planRetention,
  type RetentionPolicy,
  type StoredRecording,
} from '../../controller/src/modules/retention/retention-plan.js';

const now = new Date('2026-06-01T00:00:00Z');
const day = 86_400_000;
const recording = (id: string, ageDays: number, over: Partial<StoredRecording> = {}): StoredRecording => ({
  id,
  sizeBytes: 100,
  completedAt: new Date(now.getTime() - ageDays * day),
  tagged: false,
  legalHold: false,
  verifiedAt: new Set(['p1']),
  ...over,
});
const policy = (name: string, over: Partial<RetentionPolicy>): RetentionPolicy => ({
  id: `id-${name}`,
  name,
  maxAgeDays: null,
  maxBytes: null,
  minFreeDiskPercent: null,
  deleteOnlyAfterVerifiedUploadTo: [],
  keepTagged: true,
  ...over,
});
const disk = { freeBytes: 10_000, totalBytes: 100_000 };

describe('planRetention', () => {
  it('takes the oldest first, each once, by the first policy (by name) that takes it', () => {
    const plan = planRetention({
      policies: [policy('b bytes', { maxBytes: 250 }), policy('a age', { maxAgeDays: 30 })],
      stored: [recording('new', 1), recording('old', 60), recording('mid', 10), recording('older', 90)],
      disk,
      now,
    });
    expect(plan.removals.map((r) => [r.recordingId, r.policyName, r.rule])).toEqual([
      ['older', 'a age', 'max-age'],
      ['old', 'a age', 'max-age'],
    ]);
    expect(plan.freedBytes).toBe(200);
  });

  it('never takes a held, a tagged (when kept), an unverified recording, or the last verified copy', () => {
    const plan = planRetention({
      policies: [policy('all', { maxAgeDays: 1, deleteOnlyAfterVerifiedUploadTo: ['p1', 'p2'] })],
      stored: [
        recording('held', 10, { legalHold: true, verifiedAt: new Set(['p1', 'p2']) }),
        recording('tagged', 10, { tagged: true, verifiedAt: new Set(['p1', 'p2']) }),
        recording('half', 10),
        recording('both', 10, { verifiedAt: new Set(['p1', 'p2']) }),
      ],
      disk,
      now,
    });
    expect(plan.removals.map((r) => r.recordingId)).toEqual(['both']);
    expect(plan.kept).toEqual({ 'legal-hold': 1, tagged: 1, 'not-uploaded': 1, 'last-copy': 0 });
    const only = planRetention({
      policies: [policy('no uploads needed', { maxAgeDays: 1 })],
      stored: [recording('only copy', 10, { verifiedAt: new Set() })],
      disk,
      now,
    });
    expect(only.removals).toEqual([]);
    expect(only.kept['last-copy']).toBe(1);
  });

  it('frees disk until the policy’s free share is reached, counting what earlier rules freed', () => {
    const plan = planRetention({
      policies: [policy('disk', { minFreeDiskPercent: 10, keepTagged: false })],
      stored: [
        recording('a', 5, { sizeBytes: 4_000 }),
        recording('b', 4, { sizeBytes: 4_000 }),
        recording('c', 3),
      ],
      disk: { freeBytes: 3_000, totalBytes: 100_000 },
      now,
    });
    expect(plan.removals.map((r) => r.recordingId)).toEqual(['a', 'b']);
  });
});
