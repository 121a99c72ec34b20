import { describe, expect, it } from 'vitest';
import { MeterReading, MeterStore } from '../../controller/src/modules/meters/meters.store.js';
import type { MeterFrame } from '../../shared/src/mqtt.js';

const frame = (seq: number): MeterFrame => ({
  seq,
  capturedAtMs: seq,
  windowMs: 100,
  sampleRate: 48_000,
  channels: [{ peakDbfs: -20, rmsDbfs: -23, clipCount: 0 }],
});
const reading = (nodeId: string, seq: number) => new MeterReading(nodeId, 'site-1', frame(seq), seq);

describe('meter store', () => {
  it('keeps only the latest frame per node', () => {
    const store = new MeterStore();
    store.put(reading('a', 1));
    store.put(reading('b', 1));
    store.put(reading('a', 2));
    expect(store.latestOf('a')?.frame.seq).toBe(2);
    expect(store.latestOf('b')?.frame.seq).toBe(1);
    expect(store.latestOf('c')).toBeUndefined();
  });

  it('fans out to each subscriber what it accepts, in order', async () => {
    const store = new MeterStore();
    const onlyA = store.subscribe((r) => r.nodeId === 'a');
    const all = store.subscribe(() => true);
    store.put(reading('a', 1));
    store.put(reading('b', 2));
    store.put(reading('a', 3));
    expect([(await onlyA.next())?.frame.seq, (await onlyA.next())?.frame.seq]).toEqual([1, 3]);
    expect(all.buffered).toBe(3);
    expect((await all.next())?.nodeId).toBe('a');
  });

  it('drops the oldest frames of a slow subscriber, and only its own', async () => {
    const store = new MeterStore();
    const slow = store.subscribe(() => true, 3);
    const fast = store.subscribe(() => true, 100);
    for (let seq = 1; seq <= 10; seq++) store.put(reading('a', seq));
    expect(slow.dropped).toBe(7);
    const kept = [];
    for (let i = 0; i < 3; i++) kept.push((await slow.next())?.frame.seq);
    expect(kept).toEqual([8, 9, 10]);
    expect(fast.dropped).toBe(0);
    expect(fast.buffered).toBe(10);
  });

  it('wakes a waiting reader, and ends it on close', async () => {
    const store = new MeterStore();
    const subscription = store.subscribe(() => true);
    const waiting = subscription.next();
    store.put(reading('a', 5));
    expect((await waiting)?.frame.seq).toBe(5);
    const ended = subscription.next();
    store.closeSubscriptions();
    expect(await ended).toBeUndefined();
    expect(store.subscriberCount()).toBe(0);
    store.put(reading('a', 6));
    expect(subscription.buffered).toBe(0);
  });

  it('serialises a frame once for every stream that carries it', () => {
    const r = reading('a', 1);
    expect(r.toEventData()).toBe(JSON.stringify({ nodeId: 'a', frame: frame(1) }));
    expect(r.toEventData()).toBe(r.toEventData());
  });

  it('drains everything buffered at once, in order, across the wrap of the ring; waits when empty; [] once closed', async () => {
    const store = new MeterStore();
    const sub = store.subscribe(() => true, 4);
    for (let seq = 1; seq <= 6; seq++) store.put(reading('a', seq)); // 1 and 2 dropped: the ring wrapped
    expect((await sub.drain()).map((r) => r.frame.seq)).toEqual([3, 4, 5, 6]);
    const waiting = sub.drain();
    store.put(reading('a', 7));
    expect((await waiting).map((r) => r.frame.seq)).toEqual([7]);
    const ended = sub.drain();
    sub.close();
    expect(await ended).toEqual([]);
  });

  it('wakes a waiting stream once for the frames of WAKE_BATCH_MS, however many reads delivered them', async () => {
    const store = new MeterStore();
    const sub = store.subscribe(() => true);
    const waiting = sub.drain();
    for (let seq = 1; seq <= 5; seq++) {
      store.put(reading(`n${seq}`, seq)); // each from a read of its own, a turn of the loop apart
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await waiting).map((r) => r.frame.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('wakes a waiting stream once for all the frames of one turn of the event loop', async () => {
    const store = new MeterStore();
    const sub = store.subscribe(() => true);
    const waiting = sub.drain();
    for (let seq = 1; seq <= 50; seq++) store.put(reading(`n${seq}`, seq)); // as one socket read delivers them
    expect((await waiting).map((r) => r.frame.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });
});
