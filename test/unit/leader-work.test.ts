/**
 * The leader's work in parts (controller/src/cluster/leader-work.ts): started in order when
 * elected, stopped in reverse when demoted; a part failing to start is undone with those before
 * it and the failure reaches the election; a part failing to stop does not keep the others running.
 */
import { describe, expect, it } from 'vitest';
import { ALWAYS_HELD } from '../../controller/src/cluster/leader-election.js';
import { type LeaderPart, leaderWorkOf } from '../../controller/src/cluster/leader-work.js';

const log = { info: () => undefined, error: () => undefined };

function parts(calls: string[], failStart?: string, failStop?: string): LeaderPart[] {
  return ['attendance', 'retention', 'audit chain watch'].map((name) => ({
    name,
    start: async () => {
      calls.push(`start ${name}`);
      if (name === failStart) throw new Error(`${name} cannot start`);
    },
    stop: async () => {
      calls.push(`stop ${name}`);
      if (name === failStop) throw new Error(`${name} cannot stop`);
    },
  }));
}

describe('leader work', () => {
  it('starts the parts in order when elected and stops them in reverse when demoted', async () => {
    const calls: string[] = [];
    const work = leaderWorkOf(parts(calls), log);
    await work.onElected(ALWAYS_HELD);
    await work.onDemoted();
    await work.onDemoted(); // nothing left to stop
    expect(calls).toEqual([
      'start attendance',
      'start retention',
      'start audit chain watch',
      'stop audit chain watch',
      'stop retention',
      'stop attendance',
    ]);
  });

  it('a part that fails to start is stopped with those before it, and the failure is the election’s', async () => {
    const calls: string[] = [];
    const work = leaderWorkOf(parts(calls, 'retention'), log);
    await expect(work.onElected(ALWAYS_HELD)).rejects.toThrow('retention cannot start');
    expect(calls).toEqual(['start attendance', 'start retention', 'stop retention', 'stop attendance']);
    await work.onDemoted();
    expect(calls).toHaveLength(4);
  });

  it('a part that fails to stop is logged and the others still stop', async () => {
    const calls: string[] = [];
    const errors: string[] = [];
    const errorLog = { info: () => undefined, error: (_obj: unknown, msg: string) => void errors.push(msg) };
    const work = leaderWorkOf(parts(calls, undefined, 'retention'), errorLog as unknown as typeof log);
    await work.onElected(ALWAYS_HELD);
    await work.onDemoted();
    expect(calls.slice(3)).toEqual(['stop audit chain watch', 'stop retention', 'stop attendance']);
    expect(errors).toEqual(['leader work: stopping retention failed']);
  });
});
