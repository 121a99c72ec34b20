import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentHealthEvent } from '../../agent/src/health/condition.js';
import { HealthEventQueue } from '../../agent/src/health/event-queue.js';
import { HealthReporter, healthMessage } from '../../agent/src/health/health-reporter.js';
import { ApiError, NetworkError } from '../../agent/src/link/http-client.js';
import { silentLogger } from '../../agent/src/support/log.js';
import { decodePayload } from '../../shared/src/mqtt.js';

function event(id: string, patch: Partial<AgentHealthEvent> = {}): AgentHealthEvent {
  return {
    id,
    type: 'silence',
    severity: 'warning',
    state: 'open',
    channel: 1,
    message: 'channel 1 is silent',
    values: { rmsDbfs: -80 },
    firstSeenAtMs: 1_000,
    lastSeenAtMs: 2_000,
    count: 3,
    ...patch,
  };
}

describe('agent health event queue and reporter', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'health-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps one entry per event id, survives a restart, and drops the oldest when full, counting them', async () => {
    const queue = new HealthEventQueue(dir, 3);
    await queue.push(event('a'));
    await queue.push(event('a', { state: 'resolved', lastSeenAtMs: 5_000 }));
    for (const id of ['b', 'c', 'd', 'e']) await queue.push(event(id));
    const reloaded = new HealthEventQueue(dir, 3);
    await reloaded.load();
    const pending = reloaded.pending(9_000);
    expect(pending.map((e) => e.id).slice(1)).toEqual(['c', 'd', 'e']);
    expect(pending[0]).toMatchObject({ type: 'events_dropped', values: { dropped: 2 }, count: 2 });
    await reloaded.sent(pending[0]!);
    expect(reloaded.pending(9_000).map((e) => e.id)).toEqual(['c', 'd', 'e']);
  });

  it('sends over MQTT while connected, else over HTTP; a failed send stays queued, in order', async () => {
    const queue = new HealthEventQueue(dir);
    await queue.load();
    const viaMqtt: string[] = [];
    const viaHttp: string[] = [];
    let connected = false;
    let httpDown = true;
    const reporter = new HealthReporter({
      nodeId: 'node-1',
      queue,
      log: silentLogger(),
      retryMs: 60_000,
      transport: {
        mqtt: {
          get connected() {
            return connected;
          },
          publishHealthEvent: async (m) => {
            viaMqtt.push(`${m.id}:${m.state}`);
          },
        },
        http: {
          healthEvent: async (m) => {
            if (httpDown) throw new NetworkError('connection refused');
            viaHttp.push(`${m.id}:${m.state}`);
          },
        },
      },
    });
    reporter.report(event('a'));
    reporter.report(event('b'));
    await reporter.flush();
    expect(viaHttp).toEqual([]);
    expect(queue.size).toBe(2);

    httpDown = false;
    await reporter.flush();
    expect(viaHttp).toEqual(['a:open', 'b:open']);
    expect(queue.size).toBe(0);

    connected = true;
    reporter.report(event('a', { state: 'resolved', lastSeenAtMs: 3_000 }));
    await reporter.flush();
    expect(viaMqtt).toEqual(['a:resolved']);
    reporter.stop();
  });

  it('drops an event the controller refuses for good (4xx) instead of blocking the queue', async () => {
    const queue = new HealthEventQueue(dir);
    const sent: string[] = [];
    const reporter = new HealthReporter({
      nodeId: 'node-1',
      queue,
      log: silentLogger(),
      transport: {
        mqtt: { connected: false, publishHealthEvent: async () => {} },
        http: {
          healthEvent: async (m) => {
            if (m.id === 'bad') throw new ApiError(400, 'validation_failed', 'no', undefined);
            sent.push(m.id);
          },
        },
      },
    });
    await queue.push(event('bad'));
    await queue.push(event('good'));
    await reporter.flush();
    expect(sent).toEqual(['good']);
    expect(queue.size).toBe(0);
  });

  it('a message follows the contract', () => {
    const message = healthMessage('node-1', event('0f8fad5b-d9cb-469f-a165-70867728950e'));
    expect(decodePayload('events', JSON.stringify(message))).toMatchObject({ ok: true });
    expect(message).toMatchObject({
      nodeId: 'node-1',
      type: 'silence',
      firstSeenAt: new Date(1_000).toISOString(),
      lastSeenAt: new Date(2_000).toISOString(),
    });
  });
});
