// The agent-cache retention plan (pure): which confirmed copies an agent removes, oldest first,
// attributed to the first policy and limit that removes each.
import { describe, expect, it } from 'vitest';
import { type KeptCopy, planCacheRemovals } from '../../agent/src/uploads/cache-retention.js';
import type { CacheRetentionPolicy } from '../../shared/src/agent-api.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 5);
const ROOMY = { totalBytes: 1_000_000, freeBytes: 900_000 };

function policy(name: string, limits: Partial<CacheRetentionPolicy>): CacheRetentionPolicy {
  return {
    id: `id-${name}`,
    name,
    revision: 1,
    maxAgeDays: null,
    maxBytes: null,
    minFreeDiskPercent: null,
    ...limits,
  };
}
const copy = (jobId: string, ageDays: number, sizeBytes = 100): KeptCopy => ({
  jobId,
  sizeBytes,
  confirmedAtMs: NOW - ageDays * DAY,
});
const plan = (kept: KeptCopy[], policies: CacheRetentionPolicy[], disk = ROOMY) =>
  planCacheRemovals(kept, policies, { nowMs: NOW, disk }).map((r) => [
    r.jobId,
    r.policy?.name ?? null,
    r.rule,
  ]);

describe('agent-cache retention plan', () => {
  it('removes copies older than maxAgeDays, oldest first, and keeps the rest', () => {
    const kept = [copy('new', 1), copy('oldest', 10), copy('old', 3)];
    expect(plan(kept, [policy('week', { maxAgeDays: 2 })])).toEqual([
      ['oldest', 'week', 'maxAgeDays'],
      ['old', 'week', 'maxAgeDays'],
    ]);
  });

  it('removes the oldest until what is kept fits maxBytes', () => {
    const kept = [copy('a', 3, 400), copy('b', 2, 400), copy('c', 1, 400)];
    expect(plan(kept, [policy('1k', { maxBytes: 1000 })])).toEqual([['a', '1k', 'maxBytes']]);
    expect(plan(kept, [policy('exact', { maxBytes: 1200 })])).toEqual([]);
  });

  it('removes the oldest until the disk has minFreeDiskPercent free, counting what each frees', () => {
    const kept = [copy('a', 3, 100_000), copy('b', 2, 100_000), copy('c', 1, 100_000)];
    const disk = { totalBytes: 1_000_000, freeBytes: 50_000 }; // 5 % free
    expect(plan(kept, [policy('20%', { minFreeDiskPercent: 20 })], disk)).toEqual([
      ['a', '20%', 'minFreeDiskPercent'],
      ['b', '20%', 'minFreeDiskPercent'],
    ]);
  });

  it('attributes each copy to the first policy that removes it, and never twice', () => {
    const kept = [copy('ancient', 30, 10), copy('a', 3, 600), copy('b', 1, 600)];
    expect(
      plan(kept, [policy('month', { maxAgeDays: 20 }), policy('small', { maxBytes: 700, maxAgeDays: 20 })]),
    ).toEqual([
      ['ancient', 'month', 'maxAgeDays'],
      ['a', 'small', 'maxBytes'],
    ]);
  });

  it('without any policy, every kept copy goes (policies deleted since they were kept)', () => {
    expect(plan([copy('b', 1), copy('a', 2)], [])).toEqual([
      ['a', null, 'noPolicy'],
      ['b', null, 'noPolicy'],
    ]);
  });

  it('keeps everything within every limit', () => {
    const kept = [copy('a', 1, 100), copy('b', 0, 100)];
    expect(plan(kept, [policy('all', { maxAgeDays: 7, maxBytes: 1000, minFreeDiskPercent: 10 })])).toEqual(
      [],
    );
  });
});
