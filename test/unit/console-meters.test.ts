/** The live meters' model: the dBFS scale, peak hold, clip latch, no-signal and stale states. */
import { describe, expect, it } from 'vitest';
import {
  ariaLevel,
  barPosition,
  clipped,
  DB_FLOOR,
  formatDb,
  HOLD_FALL_DB_PER_S,
  HOLD_MS,
  heldPeak,
  meterStreamQuery,
  NodeMeters,
  nodeState,
  nodesFromSearch,
  STALE_MS,
  searchFromNodes,
} from '../../controller/console/src/meter-model.js';
import { foldFrames } from '../../controller/src/modules/meters/meters.rate.js';

const channel = (peakDbfs: number, clipCount = 0) => ({ peakDbfs, rmsDbfs: peakDbfs - 10, clipCount });

describe('console meters: the dBFS scale', () => {
  it('places a level between the scale ends, clamped', () => {
    expect(barPosition(0)).toBe(1);
    expect(barPosition(-60)).toBe(0);
    expect(barPosition(-30)).toBeCloseTo(0.5);
    expect(barPosition(-6)).toBeCloseTo(0.9);
    expect(barPosition(3)).toBe(1); // over full scale (a true peak): the top
    expect(barPosition(DB_FLOOR)).toBe(0);
    expect(barPosition(Number.NaN)).toBe(0);
    expect(barPosition(Number.NEGATIVE_INFINITY)).toBe(0);
  });

  it('reads levels out with a true minus, −∞ at the floor and — when absent', () => {
    expect(formatDb(-12.34)).toBe('−12.3');
    expect(formatDb(0)).toBe('0.0');
    expect(formatDb(DB_FLOOR)).toBe('−∞');
    expect(formatDb(undefined)).toBe('—');
    expect(formatDb(Number.NaN)).toBe('—');
    expect(ariaLevel(-12.6)).toBe(-13);
    expect(ariaLevel(-100)).toBe(-60);
    expect(ariaLevel(2)).toBe(0);
  });
});

describe('console meters: peak hold', () => {
  it('holds for HOLD_MS, then falls at HOLD_FALL_DB_PER_S down to the floor', () => {
    expect(heldPeak(-6, 1000, 1000)).toBe(-6);
    expect(heldPeak(-6, 1000, 1000 + HOLD_MS)).toBe(-6);
    expect(heldPeak(-6, 1000, 1000 + HOLD_MS + 500)).toBeCloseTo(-6 - HOLD_FALL_DB_PER_S / 2);
    expect(heldPeak(-6, 0, 3_600_000)).toBe(DB_FLOOR);
  });

  it('takes a louder peak at once, and a quieter one only once the hold fell below it', () => {
    const m = new NodeMeters();
    m.take({ channels: [channel(-6), channel(-20)] }, 0);
    expect([m.hold[0], m.hold[1]]).toEqual([-6, -20]);
    m.take({ channels: [channel(-30), channel(-10)] }, 100);
    expect(m.hold[0]).toBe(-6); // held
    expect(m.hold[1]).toBe(-10); // louder: taken
    expect(m.peak[0]).toBe(-30); // the bar follows the latest frame
    // After the hold and 1.2 s of fall (24 dB): -6 fell to -30, so -29 is taken anew.
    m.take({ channels: [channel(-29), channel(-40)] }, HOLD_MS + 1200);
    expect(m.hold[0]).toBe(-29);
    expect(m.holdAt[0]).toBe(HOLD_MS + 1200);
    expect(m.hold[1]).toBe(-10);
  });
});

describe('console meters: clip latch', () => {
  it('latches on a counted clip or a full-scale peak, and stays until cleared', () => {
    expect(clipped(channel(-20, 1))).toBe(true);
    expect(clipped(channel(-0.05))).toBe(true);
    expect(clipped(channel(-1))).toBe(false);
    const m = new NodeMeters();
    expect(m.take({ channels: [channel(-20), channel(-20, 2)] }, 0)).toEqual([1]);
    expect(m.take({ channels: [channel(-20), channel(-20, 1)] }, 100)).toEqual([]); // already latched
    m.take({ channels: [channel(-40), channel(-40)] }, 200);
    expect([...m.clip.slice(0, 2)]).toEqual([0, 1]); // quiet frames do not clear it
    m.dirty = false;
    m.clearClip(1);
    expect(m.clip[1]).toBe(0);
    expect(m.dirty).toBe(true); // the painter shows it cleared
    expect(m.take({ channels: [channel(-40), channel(0)] }, 300)).toEqual([1]); // a new clip latches again
  });
});

describe('console meters: no-signal and stale', () => {
  it('is waiting before a frame, stale after STALE_MS without one, no-signal at the floor', () => {
    expect(nodeState(undefined, 0, -10)).toBe('waiting');
    expect(nodeState(1000, 1000 + STALE_MS, -10)).toBe('live');
    expect(nodeState(1000, 1001 + STALE_MS, -10)).toBe('stale');
    expect(nodeState(1000, 1500, -95)).toBe('no-signal');
    expect(nodeState(1000, 1001 + STALE_MS, -95)).toBe('stale'); // stale says more than silent
    // Offline (the controller's presence) once no frame comes; frames still coming say more.
    expect(nodeState(undefined, 0, -10, true)).toBe('offline');
    expect(nodeState(1000, 1001 + STALE_MS, -10, true)).toBe('offline');
    expect(nodeState(1000, 1500, -10, true)).toBe('live');
    const m = new NodeMeters();
    expect(m.state(0)).toBe('waiting');
    m.take({ channels: [channel(DB_FLOOR), channel(DB_FLOOR)] }, 10);
    expect(m.state(20)).toBe('no-signal');
    m.take({ channels: [channel(DB_FLOOR), channel(-30)] }, 100);
    expect(m.state(200)).toBe('live');
    expect(m.state(100 + STALE_MS + 1)).toBe('stale');
  });

  it('keeps loudness only where the frame carries it, and forgets channels a frame drops', () => {
    const m = new NodeMeters();
    m.take(
      {
        channels: [{ ...channel(-10, 1), truePeakDbtp: -9, shortTermLufs: -23 }, channel(-12)],
        programme: { momentaryLufs: -22 },
      },
      0,
    );
    expect(m.truePeak[0]).toBe(-9);
    expect(m.shortTerm[0]).toBe(-23);
    expect(Number.isNaN(m.truePeak[1]!)).toBe(true);
    expect(Number.isNaN(m.programme[0]!)).toBe(true);
    expect(m.programme[1]).toBe(-22);
    m.take({ channels: [channel(-10)] }, 100);
    expect(m.channels).toBe(1);
    expect(Number.isNaN(m.truePeak[0]!)).toBe(true);
  });
});

describe('console meters: the chosen nodes in the URL', () => {
  it('reads valid ids once each, in order, and writes them back', () => {
    expect(nodesFromSearch('?nodes=a,b,a,bad/id,,c')).toEqual(['a', 'b', 'c']);
    expect(nodesFromSearch('')).toEqual([]);
    expect(nodesFromSearch('?nodes=a,b,c', 2)).toEqual(['a', 'b']);
    expect(searchFromNodes(['a', 'b'])).toBe('?nodes=a,b');
    expect(searchFromNodes([])).toBe('');
  });
});

describe('console meters: the frames on the one events stream', () => {
  it('asks for the nodes on screen, sorted and once each, at the highest rate wanted', () => {
    expect(meterStreamQuery(['b', 'a', 'b'], [1, 1])).toBe('meters=a,b&meterRate=1');
    expect(meterStreamQuery(['b', 'a'], [1, 10])).toBe('meters=a,b&meterRate=10');
    expect(meterStreamQuery([], [10])).toBe('');
    expect(meterStreamQuery(['c', 'b', 'a'], [10], 2)).toBe('meters=a,b&meterRate=10');
  });
});

describe('meter stream at 1 Hz: folding frames', () => {
  it('keeps the highest peak and true peak, sums clips, takes the latest RMS and loudness', () => {
    const base = { seq: 1, capturedAtMs: 0, windowMs: 100, sampleRate: 48_000 };
    const held = {
      ...base,
      channels: [{ peakDbfs: -3, rmsDbfs: -20, clipCount: 2, truePeakDbtp: -2.5, momentaryLufs: -20 }],
      programme: { truePeakDbtp: -2.5, momentaryLufs: -20 },
    };
    const next = {
      ...base,
      seq: 2,
      channels: [
        { peakDbfs: -10, rmsDbfs: -30, clipCount: 1, momentaryLufs: -25 },
        { peakDbfs: -8, rmsDbfs: -18, clipCount: 0 },
      ],
      programme: { momentaryLufs: -24 },
    };
    expect(foldFrames(held, next)).toEqual({
      ...base,
      seq: 2,
      windowMs: 200,
      channels: [
        { peakDbfs: -3, rmsDbfs: -30, clipCount: 3, truePeakDbtp: -2.5, momentaryLufs: -25 },
        { peakDbfs: -8, rmsDbfs: -18, clipCount: 0 },
      ],
      programme: { truePeakDbtp: -2.5, momentaryLufs: -24 },
    });
  });
});
