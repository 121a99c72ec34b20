import { describe, expect, it } from 'vitest';
import { ALWAYS_HELD, type LeaderLease } from '../../controller/src/cluster/leader-election.js';
import { leaderWork } from '../../controller/src/modules/attendance/index.js';
import type { AttendanceService } from '../../controller/src/modules/attendance/tracking/sessions.service.js';

function recorder() {
  const calls: string[] = [];
  const step = (name: string) => async () => {
    calls.push(name);
  };
  const attendance = {
    restoreSnapshot: async () => {
      calls.push('restore open sessions');
      return 0;
    },
    handOver: async ({ save }: { save: boolean }) => {
      calls.push(save ? 'save open sessions' : 'forget open sessions');
      return 0;
    },
  } as unknown as AttendanceService;
  const task = (name: string) => ({
    start: () => void calls.push(`start ${name}`),
    stop: step(`stop ${name}`),
  });
  const bot = { start: step('start bot'), stop: step('stop bot') };
  return { calls, work: leaderWork(attendance, task('resets'), task('summaries'), bot) };
}

describe('the leader’s once-only work', () => {
  it('on election: the saved open sessions first, then the schedulers, then the bot', async () => {
    const { calls, work } = recorder();
    await work.onElected(ALWAYS_HELD);
    expect(calls).toEqual(['restore open sessions', 'start resets', 'start summaries', 'start bot']);
  });

  it('on stepping down: the bot stops before the period snapshot work, and the open sessions are saved last', async () => {
    const { calls, work } = recorder();
    await work.onElected(ALWAYS_HELD);
    calls.length = 0;
    await work.onDemoted();
    expect(calls).toEqual(['stop bot', 'stop summaries', 'stop resets', 'save open sessions']);
  });

  it('a leader fenced by its lease (frozen past it: another may lead) forgets its open sessions without saving them', async () => {
    const { calls, work } = recorder();
    let unexpired = true;
    const lease: LeaderLease = { holds: () => unexpired, unexpired: () => unexpired };
    await work.onElected(lease);
    unexpired = false;
    calls.length = 0;
    await work.onDemoted();
    expect(calls).toEqual(['stop bot', 'stop summaries', 'stop resets', 'forget open sessions']);
  });

  it('a replica that never led saves nothing when it stops (it would overwrite the leader’s sessions)', async () => {
    const { calls, work } = recorder();
    await work.onDemoted();
    expect(calls).not.toContain('save open sessions');
  });
});
