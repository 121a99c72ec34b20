import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { MeterFeed } from '../../agent/src/capture/meter-feed.js';
import type { SupervisorEvents } from '../../agent/src/capture/supervisor.js';
import type { MeterFrame } from '../../shared/src/mqtt.js';

describe('MeterFeed', () => {
  class FakeCapture extends EventEmitter<SupervisorEvents> {
    format = { sampleRate: 1000, channels: 1 };
  }
  /** One window (100 ms at 1 kHz) of a mono s16le tone. */
  const window = () => Buffer.alloc(200, 0x40);

  it('publishes a frame per window, resets on a restart, and stops listening on stop', () => {
    const capture = new FakeCapture();
    const frames: MeterFrame[] = [];
    const feed = new MeterFeed({ source: capture, windowMs: () => 100, publish: (f) => frames.push(f) });
    feed.start();
    capture.emit('data', window().subarray(0, 100)); // half a mono window
    // A restart at another format: a fresh accumulator (two channels: 400 bytes a window).
    capture.emit('restarted', { sampleRate: 1000, channels: 2 });
    capture.emit('data', window()); // the old mono one would have made a frame of 100 + 200 bytes
    expect(frames).toHaveLength(0);
    capture.emit('data', window());
    expect(frames).toHaveLength(1);
    expect(frames[0]?.channels).toHaveLength(2);
    feed.stop();
    capture.emit('data', window());
    expect(frames).toHaveLength(1);
    expect(capture.listenerCount('data')).toBe(0);
  });
});
