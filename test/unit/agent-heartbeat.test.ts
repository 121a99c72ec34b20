import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { Heartbeat } from '../../agent/src/link/heartbeat.js';
import { silentLogger } from '../../agent/src/support/log.js';
import type { HeartbeatBody } from '../../shared/src/agent-api.js';

async function firstBeat(headroomHours: () => number | undefined): Promise<HeartbeatBody> {
  let resolve!: (body: HeartbeatBody) => void;
  const sent = new Promise<HeartbeatBody>((r) => {
    resolve = r;
  });
  const heartbeat = new Heartbeat({
    api: {
      heartbeat: async (body) => {
        resolve(body);
        return { serverTimeMs: Date.now() };
      },
    },
    agentVersion: '1.0.0',
    cacheDir: tmpdir(),
    capture: () => ({ device: 'default', state: 'capturing' }),
    intervalMs: () => 60_000,
    clock: { offsetMs: undefined, record: () => {} } as unknown as ConstructorParameters<
      typeof Heartbeat
    >[0]['clock'],
    headroomHours,
    log: silentLogger(),
  });
  heartbeat.start();
  try {
    return await sent;
  } finally {
    await heartbeat.stop();
  }
}

describe('agent heartbeat', () => {
  it('carries the hours of recording headroom, rounded, when the health monitor knows them', async () => {
    expect((await firstBeat(() => 12.345)).headroomHours).toBe(12.3);
  });

  it('leaves headroom out when nothing records (unknown or unlimited)', async () => {
    expect(await firstBeat(() => undefined)).not.toHaveProperty('headroomHours');
    expect(await firstBeat(() => Number.POSITIVE_INFINITY)).not.toHaveProperty('headroomHours');
  });
});
