import { describe, expect, it } from 'vitest';
import type { OpsEventInput } from '../../controller/src/core/ops-log.js';
import { PeriodicTask, type SchedulerTimers } from '../../controller/src/platform/periodic-task.js';

function manualTimers() {
  let fire: (() => void) | undefined;
  const timers: SchedulerTimers = {
    setInterval: (fn) => {
      fire = fn;
      return 'handle';
    },
    clearInterval: () => {
      fire = undefined;
    },
  };
  return { timers, fire: () => fire?.(), armed: () => fire !== undefined };
}

describe('PeriodicTask', () => {
  it('runs a first pass at start unless told to wait, then one per interval, until stopped', async () => {
    for (const passAtStart of [true, false]) {
      const clock = manualTimers();
      let passes = 0;
      const task = new PeriodicTask({
        what: 'counting',
        pass: async () => {
          passes++;
        },
        log: { error: () => {} },
        intervalMs: 1000,
        passAtStart,
        timers: clock.timers,
      });
      task.start();
      task.start(); // once
      await task.stop().then(() => task.start());
      expect(passes).toBe(passAtStart ? 2 : 0);
      await task.tick(); // joins the first pass, or runs one
      expect(passes).toBe(passAtStart ? 2 : 1);
      clock.fire();
      await task.tick(); // joins the pass the timer began
      await task.stop();
      expect(clock.armed()).toBe(false);
      expect(passes).toBe(passAtStart ? 3 : 2);
    }
  });

  it("asks `mayRun` (the leader's lease) before each pass: a no skips the pass, the timer stays", async () => {
    const clock = manualTimers();
    let passes = 0;
    let leading = true;
    const task = new PeriodicTask({
      what: 'leader work',
      pass: async () => {
        passes++;
      },
      log: { error: () => {} },
      intervalMs: 1000,
      timers: clock.timers,
    });
    task.start(() => leading);
    await task.tick();
    expect(passes).toBe(1);
    leading = false;
    clock.fire();
    await task.tick();
    expect(passes).toBe(1);
    expect(clock.armed()).toBe(true);
    await task.stop();
  });

  it('joins a pass under way instead of overlapping it; stop waits for it', async () => {
    let release!: () => void;
    let passes = 0;
    let finished = false;
    const task = new PeriodicTask({
      what: 'slow',
      pass: async () => {
        passes++;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        finished = true;
      },
      log: { error: () => {} },
      intervalMs: 1000,
      timers: manualTimers().timers,
    });
    const first = task.tick();
    expect(task.tick()).toBe(first);
    const stopped = task.stop();
    release();
    await stopped;
    expect(finished).toBe(true);
    expect(passes).toBe(1);
  });

  it('logs a failed pass and runs the next one', async () => {
    const logged: unknown[][] = [];
    let fail = true;
    let passes = 0;
    const task = new PeriodicTask({
      what: 'flaky work',
      pass: async () => {
        passes++;
        if (fail) throw new Error('boom');
      },
      log: { error: ((...args: unknown[]) => logged.push(args)) as never },
      intervalMs: 1000,
      timers: manualTimers().timers,
    });
    await expect(task.tick()).resolves.toBeUndefined();
    expect(logged).toEqual([[{ err: expect.objectContaining({ message: 'boom' }) }, 'flaky work failed']]);
    fail = false;
    await task.tick();
    expect(passes).toBe(2);
    expect(logged).toHaveLength(1);
  });

  it('tells the operational log of the first failed pass of a run, and of the pass that works again', async () => {
    const events: OpsEventInput[] = [];
    const outcomes = [false, false, true, true, false];
    const task = new PeriodicTask({
      what: 'flaky work',
      pass: async () => {
        if (!outcomes.shift()) throw new Error('no disk');
      },
      log: { error: () => {} },
      ops: { record: (event) => events.push(event) },
      intervalMs: 1000,
      timers: manualTimers().timers,
    });
    for (let i = 0; i < 5; i++) await task.tick();
    expect(events.map((e) => [e.kind, e.message])).toEqual([
      ['runner.failed', 'flaky work failed: no disk'],
      ['runner.recovered', 'flaky work works again after 2 failed pass(es)'],
      ['runner.failed', 'flaky work failed: no disk'],
    ]);
  });
});
