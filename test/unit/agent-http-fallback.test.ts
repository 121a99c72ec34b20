/**
 * What the agent sends over HTTP while MQTT is down (agent/src/link/http-fallback.ts): the
 * newest meter frame once per interval, listen frames in order with a few in flight and the
 * oldest dropped past the backlog, and a pause after a failed request. The clock is faked; the
 * transport is a recorder whose requests the test settles.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NetworkError } from '../../agent/src/link/http-client.js';
import { HttpFallback, LISTEN_BACKLOG, LISTEN_IN_FLIGHT } from '../../agent/src/link/http-fallback.js';
import type { Logger } from '../../agent/src/support/log.js';
import { silentLogger } from '../../agent/src/support/log.js';
import type { ListenFrame } from '../../shared/src/listen.js';
import type { MeterFrame } from '../../shared/src/mqtt.js';

interface Request {
  kind: 'meter' | 'listen';
  seq: number;
  settle: (error?: Error) => void;
}

function recorder() {
  const requests: Request[] = [];
  const request = (kind: Request['kind'], seq: number) =>
    new Promise<void>((resolve, reject) =>
      requests.push({ kind, seq, settle: (error) => (error ? reject(error) : resolve()) }),
    );
  return {
    requests,
    api: {
      meterFrame: (frame: MeterFrame) => request('meter', frame.seq),
      listenChunk: (frame: ListenFrame) => request('listen', frame.seq),
    },
  };
}

const meter = (seq: number): MeterFrame => ({
  seq,
  capturedAtMs: Date.now(),
  windowMs: 100,
  sampleRate: 48_000,
  channels: [{ peakDbfs: -20, rmsDbfs: -26, clipCount: 0 }],
});
const listenFrame = (seq: number): ListenFrame => ({
  streamId: 's1',
  seq,
  capturedAtMs: Date.now(),
  sampleRate: 48_000,
  channels: 1,
  samples: 960,
  packet: new Uint8Array([1, 2, 3]),
});

/** Lets settled requests' continuations run. */
const flush = () => vi.advanceTimersByTimeAsync(0);

describe('agent HTTP fallback of live data', () => {
  let fallback: HttpFallback | undefined;
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-12-07T00:00:00Z') });
  });
  afterEach(() => {
    fallback?.stop();
    vi.useRealTimers();
  });

  it('sends the newest meter frame at most once a second, dropping those in between', async () => {
    const transport = recorder();
    fallback = new HttpFallback({ api: transport.api, log: silentLogger() });
    for (let seq = 0; seq < 35; seq++) {
      fallback.meter(meter(seq));
      for (const request of transport.requests) request.settle();
      await vi.advanceTimersByTimeAsync(100);
    }
    // 3.5 s of frames at 10 Hz: the first at once, then each second the newest (offered 100 ms before).
    expect(transport.requests.map((r) => r.seq)).toEqual([0, 9, 19, 29]);
    expect(transport.requests.every((r) => r.kind === 'meter')).toBe(true);
  });

  it('holds a meter frame back while a request is in flight, then sends the newest', async () => {
    const transport = recorder();
    fallback = new HttpFallback({ api: transport.api, log: silentLogger() });
    fallback.meter(meter(1));
    await vi.advanceTimersByTimeAsync(1500); // the request is slow
    fallback.meter(meter(2));
    fallback.meter(meter(3));
    await flush();
    expect(transport.requests.map((r) => r.seq)).toEqual([1]);
    transport.requests[0]!.settle();
    await flush();
    expect(transport.requests.map((r) => r.seq)).toEqual([1, 3]);
  });

  it(`sends listen frames in order, ${LISTEN_IN_FLIGHT} at a time, dropping the oldest past ${LISTEN_BACKLOG} waiting`, async () => {
    const transport = recorder();
    fallback = new HttpFallback({ api: transport.api, log: silentLogger() });
    const total = LISTEN_IN_FLIGHT + LISTEN_BACKLOG + 10;
    for (let seq = 0; seq < total; seq++) fallback.listen(listenFrame(seq));
    expect(transport.requests.map((r) => r.seq)).toEqual([0]);
    // Settle every request as it comes: the rest go in order, the ten oldest of the backlog gone.
    for (let i = 0; i < transport.requests.length; i++) {
      transport.requests[i]!.settle();
      await flush();
    }
    const sent = transport.requests.map((r) => r.seq);
    expect(sent).toHaveLength(LISTEN_IN_FLIGHT + LISTEN_BACKLOG);
    expect(sent.slice(LISTEN_IN_FLIGHT)).toEqual(
      Array.from({ length: LISTEN_BACKLOG }, (_, i) => LISTEN_IN_FLIGHT + 10 + i),
    );
  });

  it('after a failed request sends nothing for the retry pause, says so once, then tries again', async () => {
    const transport = recorder();
    const warnings: string[] = [];
    const infos: string[] = [];
    const log = {
      ...silentLogger(),
      warn: (message: unknown) => void warnings.push(String(message)),
      info: (message: unknown) => void infos.push(String(message)),
    } as Logger;
    fallback = new HttpFallback({ api: transport.api, log, retryAfterMs: 5000 });
    fallback.listen(listenFrame(0));
    transport.requests[0]!.settle(new NetworkError('POST /api/v1/nodes/n/listen/chunk failed'));
    await flush();
    fallback.meter(meter(1));
    for (let seq = 1; seq < 20; seq++) fallback.listen(listenFrame(seq));
    await vi.advanceTimersByTimeAsync(4900);
    expect(transport.requests).toHaveLength(1); // paused: nothing sent
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cannot reach the controller over HTTP either.*every 5 s/);

    await vi.advanceTimersByTimeAsync(200);
    expect(transport.requests.map((r) => [r.kind, r.seq])).toEqual([
      ['listen', 0],
      ['meter', 1],
    ]);
    transport.requests[1]!.settle();
    await flush();
    expect(infos).toEqual(['live data reaches the controller over HTTP again']);
    fallback.listen(listenFrame(20));
    expect(transport.requests.at(-1)).toMatchObject({ kind: 'listen', seq: 20 });
  });

  it('drops a waiting meter frame once MQTT carries frames again', async () => {
    const transport = recorder();
    fallback = new HttpFallback({ api: transport.api, log: silentLogger() });
    fallback.meter(meter(1));
    transport.requests[0]!.settle();
    await flush();
    fallback.meter(meter(2)); // waits for its second
    fallback.meterSentElsewhere(); // frame 3 went over MQTT
    await vi.advanceTimersByTimeAsync(2000);
    expect(transport.requests.map((r) => r.seq)).toEqual([1]);
  });

  it('sends nothing once stopped', async () => {
    const transport = recorder();
    fallback = new HttpFallback({ api: transport.api, log: silentLogger() });
    fallback.stop();
    fallback.meter(meter(1));
    fallback.listen(listenFrame(1));
    await vi.advanceTimersByTimeAsync(2000);
    expect(transport.requests).toEqual([]);
  });
});
