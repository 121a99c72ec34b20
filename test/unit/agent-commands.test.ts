import { describe, expect, it, vi } from 'vitest';
import { agentCommandTable, dispatchCommand, runCommand } from '../../agent/src/link/commands.js';

function targets() {
  return {
    wakeClaimLoop: vi.fn(),
    stopRecording: vi.fn((jobId: string | undefined) => jobId === undefined || jobId === 'job-1'),
    refetchConfig: vi.fn(async () => {}),
    syncSchedule: vi.fn(async () => {}),
  };
}

describe('command dispatch table', () => {
  it('job-available wakes the claim loop and answers with the command id', async () => {
    const t = targets();
    const result = await dispatchCommand(agentCommandTable(t), { id: 'c1', type: 'job-available' });
    expect(t.wakeClaimLoop).toHaveBeenCalledOnce();
    expect(result).toMatchObject({ id: 'c1', ok: true });
  });

  it('job-stop stops the named recording, and fails for a job not recording here', async () => {
    const t = targets();
    const table = agentCommandTable(t);
    expect(
      await dispatchCommand(table, { id: 'c2', type: 'job-stop', args: { jobId: 'job-1' } }),
    ).toMatchObject({
      id: 'c2',
      ok: true,
    });
    expect(t.stopRecording).toHaveBeenLastCalledWith('job-1');
    const other = await dispatchCommand(table, { id: 'c3', type: 'job-stop', args: { jobId: 'job-9' } });
    expect(other).toEqual({ id: 'c3', ok: false, message: 'job job-9 is not recording on this node' });
  });

  it('config-changed refetches the config; a failure becomes ok:false with the reason', async () => {
    const t = targets();
    const table = agentCommandTable(t);
    expect(await dispatchCommand(table, { id: 'c4', type: 'config-changed' })).toMatchObject({ ok: true });
    expect(t.refetchConfig).toHaveBeenCalledOnce();
    t.refetchConfig.mockRejectedValueOnce(new Error('controller unreachable'));
    expect(await dispatchCommand(table, { id: 'c5', type: 'config-changed' })).toEqual({
      id: 'c5',
      ok: false,
      message: 'controller unreachable',
    });
  });

  it('schedule-changed syncs the occurrences now; a failure becomes ok:false with the reason', async () => {
    const t = targets();
    const table = agentCommandTable(t);
    expect(await dispatchCommand(table, { id: 'c8', type: 'schedule-changed' })).toEqual({
      id: 'c8',
      ok: true,
      message: 'schedule synced',
    });
    expect(t.syncSchedule).toHaveBeenCalledOnce();
    t.syncSchedule.mockRejectedValueOnce(new Error('controller unreachable'));
    expect(await dispatchCommand(table, { id: 'c9', type: 'schedule-changed' })).toEqual({
      id: 'c9',
      ok: false,
      message: 'controller unreachable',
    });
  });

  it('answers a command type without a handler as unsupported, never throws', async () => {
    const result = await dispatchCommand(agentCommandTable(targets()), { id: 'c6', type: 'listen-start' });
    expect(result).toEqual({ id: 'c6', ok: false, message: 'listen-start is not supported by this agent' });
  });

  it('a handler that throws synchronously is reported, not propagated', async () => {
    const result = await dispatchCommand(
      {
        lifecycle: () => {
          throw new Error('boom');
        },
      },
      { id: 'c7', type: 'lifecycle' },
    );
    expect(result).toEqual({ id: 'c7', ok: false, message: 'boom' });
  });

  it('lifecycle: runs an allowlisted action once per job id, refuses anything else, and answers before a restart', async () => {
    const restart = vi.fn();
    const reload = vi.fn(async () => 'config reloaded');
    const lifecycle = {
      'restart-agent': () => ({ message: 'agent restarting', afterAnswer: restart }),
      'restart-capture': vi.fn(),
      'reload-config': reload,
      'rotate-credential': vi.fn(),
      'upload-now': vi.fn(),
      'collect-diagnostics': vi.fn(),
    };
    const table = agentCommandTable({ ...targets(), lifecycle });
    const ask = (id: string, action: unknown) =>
      runCommand(table, { id, type: 'lifecycle', args: { action } });
    expect((await ask('lc-1', 'reload-config')).result).toEqual({
      id: 'lc-1',
      ok: true,
      message: 'config reloaded',
    });
    // Delivered or sent again: not run twice, answered the same.
    expect((await ask('lc-1', 'reload-config')).result).toEqual({
      id: 'lc-1',
      ok: true,
      message: 'config reloaded',
    });
    expect(reload).toHaveBeenCalledOnce();
    const forged = await ask('lc-2', 'rm -rf /');
    expect(forged.result).toMatchObject({ ok: false, message: /not on this agent's lifecycle allowlist/ });
    const restarting = await ask('lc-3', 'restart-agent');
    expect(restarting.result).toEqual({ id: 'lc-3', ok: true, message: 'agent restarting' });
    expect(restart).not.toHaveBeenCalled(); // the caller runs it once the answer is sent
    restarting.afterAnswer?.();
    expect(restart).toHaveBeenCalledOnce();
    // Sent again while it restarts: the same answer, and no second restart.
    const again = await ask('lc-3', 'restart-agent');
    expect(again.result).toEqual({ id: 'lc-3', ok: true, message: 'agent restarting' });
    again.afterAnswer?.();
    expect(restart).toHaveBeenCalledOnce();
  });
});
