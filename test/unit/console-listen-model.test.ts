/** The Listen page's model: frames read in the browser, the jitter buffer, latency, clocks, levels, the URL. */
import { describe, expect, it } from 'vitest';
import {
  channelChoices,
  clockOffset,
  dateBounds,
  decayed,
  FLOOR_DB,
  intersect,
  latencyMs,
  levelFraction,
  listenFromSearch,
  median,
  PlayoutQueue,
  peakDb,
  readListenFrame,
  searchFromListen,
} from '../../controller/console/src/listen-model.js';
import { encodeListenFrame } from '../../shared/src/listen.js';

describe('readListenFrame', () => {
  it('reads what the controller relays (shared/src/listen.ts)', () => {
    const packet = new Uint8Array([0xf8, 1, 2, 3]);
    const wire = encodeListenFrame({
      streamId: 'sAbc_1',
      seq: 4_000_000_123,
      capturedAtMs: 1_764_000_000_123.25,
      sampleRate: 48_000,
      channels: 2,
      samples: 960,
      packet,
    });
    const frame = readListenFrame(Uint8Array.from(wire).buffer);
    expect(frame).toMatchObject({
      seq: 4_000_000_123,
      channels: 2,
      samples: 960,
      capturedAtMs: 1_764_000_000_123.25,
    });
    expect([...frame!.packet]).toEqual([...packet]);
  });

  it('refuses what is not a frame', () => {
    expect(readListenFrame(new ArrayBuffer(10))).toBeUndefined();
    const wrongVersion = new Uint8Array(40);
    wrongVersion[0] = 2;
    expect(readListenFrame(wrongVersion.buffer)).toBeUndefined();
  });
});

describe('PlayoutQueue', () => {
  const d = 0.02;

  it('starts target ahead, then plays packets back to back', () => {
    const q = new PlayoutQueue(0.06, 0.3);
    expect(q.schedule(1, d)).toBeCloseTo(1.06);
    expect(q.schedule(1.001, d)).toBeCloseTo(1.08);
    expect(q.schedule(1.021, d)).toBeCloseTo(1.1);
    expect(q.queuedS(1.021)).toBeCloseTo(0.099);
    expect(q.underruns).toBe(0);
  });

  it('counts an underrun and starts again target ahead when the queue ran dry', () => {
    const q = new PlayoutQueue(0.06, 0.3);
    q.schedule(1, d);
    expect(q.schedule(2, d)).toBeCloseTo(2.06);
    expect(q.underruns).toBe(1);
  });

  it('drops packets that would sit more than max ahead (a burst), keeping the rest in order', () => {
    const q = new PlayoutQueue(0.06, 0.11);
    const at = Array.from({ length: 6 }, () => q.schedule(1, d));
    expect(at.slice(0, 3).map((v) => v?.toFixed(2))).toEqual(['1.06', '1.08', '1.10']);
    expect(at.slice(3)).toEqual([undefined, undefined, undefined]);
    expect(q.dropped).toBe(3);
    expect(q.schedule(1.05, d)).toBeCloseTo(1.12);
  });
});

describe('latency and clocks', () => {
  it('is capture to ear: network, queue and output, with both clocks brought to the controller', () => {
    expect(
      latencyMs({
        capturedAtMs: 10_000,
        nodeClockOffsetMs: null,
        browserNowMs: 10_030,
        browserOffsetMs: 0,
        queuedMs: 60,
        outputMs: 10,
      }),
    ).toBe(100);
    // The agent is 500 ms ahead of the controller, this browser 2 s behind it.
    expect(
      latencyMs({
        capturedAtMs: 10_500,
        nodeClockOffsetMs: 500,
        browserNowMs: 8_030,
        browserOffsetMs: 2_000,
        queuedMs: 60,
        outputMs: 10,
      }),
    ).toBe(100);
  });

  it('bounds the controller clock minus the browser clock from a whole-second Date header', () => {
    const date = new Date(100_000).toUTCString();
    expect(dateBounds(99_990, 100_010, date)).toEqual({ lowMs: -10, highMs: 1010 });
    expect(dateBounds(0, 1, null)).toBeUndefined();
    expect(dateBounds(0, 1, 'not a date')).toBeUndefined();
  });

  it('narrows with each answer, and corrects only by what the bounds demand', () => {
    const both = intersect({ lowMs: -10, highMs: 1010 }, { lowMs: -600, highMs: 400 });
    expect(both).toEqual({ lowMs: -10, highMs: 400 });
    expect(clockOffset(both)).toBe(0);
    expect(clockOffset({ lowMs: 2_000, highMs: 2_900 })).toBe(2_000);
    expect(clockOffset({ lowMs: -3_000, highMs: -2_100 })).toBe(-2_100);
    expect(clockOffset(undefined)).toBe(0);
    // Bounds that disagree (the clock was stepped): the newer wins.
    expect(intersect({ lowMs: 0, highMs: 10 }, { lowMs: 5_000, highMs: 5_900 })).toEqual({
      lowMs: 5_000,
      highMs: 5_900,
    });
  });

  it('reads the median of recent latencies', () => {
    expect(median([])).toBeUndefined();
    expect(median([300, 100, 200])).toBe(200);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('levels', () => {
  it('reads a peak in dBFS, silence at the floor', () => {
    expect(peakDb(new Float32Array([0, 0.5, -1]))).toBeCloseTo(0);
    expect(peakDb(new Float32Array([0.1]))).toBeCloseTo(-20);
    expect(peakDb(new Float32Array(4))).toBe(FLOOR_DB);
    expect(peakDb(new Float32Array([1e-9]))).toBe(FLOOR_DB);
  });

  it('fills the bar on the dBFS scale and falls back slowly', () => {
    expect(levelFraction(0)).toBe(1);
    expect(levelFraction(-30)).toBe(0.5);
    expect(levelFraction(-90)).toBe(0);
    expect(decayed(-10, -40, 0.5)).toBe(-20);
    expect(decayed(-10, -5, 0.5)).toBe(-5);
    expect(decayed(-55, -70, 1)).toBe(FLOOR_DB);
  });
});

describe('channels and the URL', () => {
  it('offers each channel and each adjacent pair', () => {
    expect(channelChoices(3).map((c) => c.value)).toEqual(['1', '2', '3', '1,2']);
    expect(channelChoices(4).map((c) => c.value)).toEqual(['1', '2', '3', '4', '1,2', '3,4']);
  });

  it('reads the node and channels, falling back to channel 1', () => {
    expect(listenFromSearch('?node=n-1&channels=3,4')).toEqual({ nodeId: 'n-1', channels: [3, 4] });
    expect(listenFromSearch('?node=bad/id&channels=1,1')).toEqual({ nodeId: undefined, channels: [1] });
    expect(listenFromSearch('?channels=1,2,3')).toEqual({ nodeId: undefined, channels: [1] });
    expect(listenFromSearch('')).toEqual({ nodeId: undefined, channels: [1] });
  });

  it('writes them back, channel 1 left out', () => {
    expect(searchFromListen('n-1', [1])).toBe('?node=n-1');
    expect(searchFromListen('n-1', [1, 2])).toBe('?node=n-1&channels=1,2');
    expect(searchFromListen(undefined, [1])).toBe('');
  });
});
