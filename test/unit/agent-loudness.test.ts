/**
 * The loudness meter against EBU conformance signals, built here from their definitions (sines
 * at stated levels and durations): EBU Tech 3341 cases 1–6 and 9 (momentary, short-term,
 * integrated), true peak of sines whose samples miss their crest (in the form of Tech 3341
 * cases 15–18), and EBU Tech 3342 cases 1–4 (loudness range). Tolerances are the documents':
 * ±0.1 LU for loudness, +0.2/−0.4 dB for true peak at 48 kHz (+0.3 at 12 kHz, see there), ±1 LU
 * for the range.
 */
import { describe, expect, it } from 'vitest';
import { INTERPOLATOR, LoudnessMeter } from '../../agent/src/capture/loudness.js';

const RATE = 48_000;

interface Segment {
  seconds: number;
  /** Peak level of the sine per channel, dBFS. */
  dbfs: number[];
  hz?: number;
  /** Phase of the first sample, degrees. */
  phaseDeg?: number;
  /** A raised-cosine fade-in this long (s): an abrupt start is a step, which overshoots any interpolator. */
  fadeInS?: number;
}

/** Feeds the segments in order; `onBlock` is called every 100 ms with the meter. */
function feed(
  meter: LoudnessMeter,
  segments: Segment[],
  onReading?: (m: LoudnessMeter, atS: number) => void,
) {
  let n = 0;
  for (const { seconds, dbfs, hz = 1000, phaseDeg = 0, fadeInS = 0 } of segments) {
    const amplitudes = dbfs.map((d) => 10 ** (d / 20));
    const frames = Math.round(seconds * RATE);
    const phase = (phaseDeg * Math.PI) / 180;
    const fadeFrames = Math.round(fadeInS * RATE);
    for (let i = 0; i < frames; i++, n++) {
      const gain = i < fadeFrames ? 0.5 - 0.5 * Math.cos((Math.PI * i) / fadeFrames) : 1;
      const s = gain * Math.sin((2 * Math.PI * hz * i) / RATE + phase);
      for (let c = 0; c < amplitudes.length; c++) meter.add(c, amplitudes[c]! * s);
      meter.endFrame();
      if (onReading && (n + 1) % meter.blockFrames === 0) onReading(meter, (n + 1) / RATE);
    }
  }
}

const stereo = (dbfs: number, seconds: number): Segment => ({ seconds, dbfs: [dbfs, dbfs] });

describe('loudness: EBU Tech 3341', () => {
  for (const [name, level] of [
    ['case 1: stereo 1 kHz at −23 dBFS reads −23 LUFS (M, S, I)', -23],
    ['case 2: stereo 1 kHz at −33 dBFS reads −33 LUFS (M, S, I)', -33],
  ] as const) {
    it(name, () => {
      const meter = new LoudnessMeter(RATE, 2, { summary: true });
      feed(meter, [stereo(level, 20)]);
      const { programme } = meter.reading();
      expect(Math.abs(programme.momentaryLufs - level)).toBeLessThanOrEqual(0.1);
      expect(Math.abs(programme.shortTermLufs - level)).toBeLessThanOrEqual(0.1);
      expect(Math.abs(meter.summary().integratedLufs! - level)).toBeLessThanOrEqual(0.1);
    });
  }

  it('case 3: −36/−23/−36 dBFS for 10/60/10 s integrates to −23 LUFS (relative gate)', () => {
    const meter = new LoudnessMeter(RATE, 2, { summary: true });
    feed(meter, [stereo(-36, 10), stereo(-23, 60), stereo(-36, 10)]);
    expect(Math.abs(meter.summary().integratedLufs! - -23)).toBeLessThanOrEqual(0.1);
  });

  it('case 4: −72/−36/−23/−36/−72 dBFS for 10/10/60/10/10 s integrates to −23 LUFS (both gates)', () => {
    const meter = new LoudnessMeter(RATE, 2, { summary: true });
    feed(meter, [stereo(-72, 10), stereo(-36, 10), stereo(-23, 60), stereo(-36, 10), stereo(-72, 10)]);
    expect(Math.abs(meter.summary().integratedLufs! - -23)).toBeLessThanOrEqual(0.1);
  });

  it('case 5: −26/−20/−26 dBFS for 20/20.1/20 s integrates to −23 LUFS', () => {
    const meter = new LoudnessMeter(RATE, 2, { summary: true });
    feed(meter, [stereo(-26, 20), stereo(-20, 20.1), stereo(-26, 20)]);
    expect(Math.abs(meter.summary().integratedLufs! - -23)).toBeLessThanOrEqual(0.1);
  });

  it('case 6: 5.0 (L R C Ls Rs at −28/−28/−24/−30/−30 dBFS) integrates to −23 LUFS (surround weights)', () => {
    const meter = new LoudnessMeter(RATE, 5, { summary: true });
    feed(meter, [{ seconds: 20, dbfs: [-28, -28, -24, -30, -30] }]);
    expect(Math.abs(meter.summary().integratedLufs! - -23)).toBeLessThanOrEqual(0.1);
  });

  it('case 9: alternating 1.34 s at −20 and 1.66 s at −30 dBFS keeps the short-term loudness at −23 LUFS', () => {
    const meter = new LoudnessMeter(RATE, 2);
    const readings: number[] = [];
    const segments = Array.from({ length: 5 }, () => [stereo(-20, 1.34), stereo(-30, 1.66)]).flat();
    feed(meter, segments, (m, atS) => {
      if (atS >= 3) readings.push(m.reading().programme.shortTermLufs);
    });
    expect(readings.length).toBeGreaterThan(100);
    for (const s of readings) expect(Math.abs(s - -23)).toBeLessThanOrEqual(0.1);
  });
});

describe('true peak (4× oversampling, BS.1770-4 Annex 2)', () => {
  // The Annex 2 interpolator itself gains about +0.27 dB at a quarter of the sample rate (12 kHz):
  // a crest it interpolates there reads up to that much high, so those cases allow +0.3.
  for (const [hz, phaseDeg, over] of [
    [12_000, 0, 0.3],
    [12_000, 45, 0.3],
    [12_000, 60, 0.3],
    [4_800, 67.5, 0.2],
    [997, 30, 0.2],
  ] as const) {
    it(`a ${hz} Hz sine at −6 dBFS, first sample at ${phaseDeg}°, reads −6 dBTP (+${over}/−0.4)`, () => {
      const meter = new LoudnessMeter(RATE, 1);
      feed(meter, [{ seconds: 1, dbfs: [-6], hz, phaseDeg, fadeInS: 0.05 }]);
      const tp = meter.summary().truePeakDbtp;
      expect(tp).toBeGreaterThanOrEqual(-6.4);
      expect(tp).toBeLessThanOrEqual(-6 + over);
    });
  }

  it('reads no peak at the start of a capture that begins mid-waveform (no step from silence)', () => {
    for (const [hz, phaseDeg] of [
      [997, 90],
      [4_800, 67.5],
    ] as const) {
      const meter = new LoudnessMeter(RATE, 1);
      feed(meter, [{ seconds: 0.5, dbfs: [-6], hz, phaseDeg }]);
      expect(meter.summary().truePeakDbtp).toBeLessThanOrEqual(-5.8);
    }
  });

  it('sees the crest between samples that sample peak misses (12 kHz at 45°: samples 3 dB lower)', () => {
    const meter = new LoudnessMeter(RATE, 1);
    let samplePeak = 0;
    for (let i = 0; i < RATE; i++) {
      const x = 10 ** (-6 / 20) * Math.sin((2 * Math.PI * 12_000 * i) / RATE + Math.PI / 4);
      samplePeak = Math.max(samplePeak, Math.abs(x));
      meter.add(0, x);
      meter.endFrame();
    }
    expect(20 * Math.log10(samplePeak)).toBeCloseTo(-9.01, 1);
    expect(meter.summary().truePeakDbtp).toBeGreaterThan(-6.4);
  });
});

describe('loudness range: EBU Tech 3342', () => {
  for (const [name, segments, lra] of [
    ['case 1: −20 then −30 dBFS, 20 s each: 10 LU', [stereo(-20, 20), stereo(-30, 20)], 10],
    ['case 2: −20 then −15 dBFS, 20 s each: 5 LU', [stereo(-20, 20), stereo(-15, 20)], 5],
    ['case 3: −40 then −20 dBFS, 20 s each: 20 LU', [stereo(-40, 20), stereo(-20, 20)], 20],
    [
      'case 4: −50/−35/−20/−35/−50 dBFS, 20 s each: 15 LU',
      [stereo(-50, 20), stereo(-35, 20), stereo(-20, 20), stereo(-35, 20), stereo(-50, 20)],
      15,
    ],
  ] as const) {
    it(name, () => {
      const meter = new LoudnessMeter(RATE, 2, { summary: true });
      feed(meter, [...segments]);
      expect(Math.abs(meter.summary().loudnessRangeLu! - lra)).toBeLessThanOrEqual(1);
    });
  }
});

describe('loudness: the chunked path', () => {
  /** Deterministic noise (a linear congruential generator), interleaved, ±`amplitude`. */
  function noise(frames: number, channels: number, amplitude: number): Float32Array {
    const out = new Float32Array(frames * channels);
    let seed = 12345;
    for (let i = 0; i < out.length; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      out[i] = amplitude * (seed / 2 ** 30 - 1);
    }
    return out;
  }

  it('reads the same fed a chunk at a time as a frame at a time', () => {
    const channels = 3;
    const samples = noise(RATE * 4, channels, 0.5);
    const one = new LoudnessMeter(RATE, channels, { summary: true });
    const chunked = new LoudnessMeter(RATE, channels, { summary: true });
    const sizes = [1, 7, 1023, 4800, 333, 9600];
    for (let frame = 0, k = 0; frame < RATE * 4; k++) {
      const count = Math.min(sizes[k % sizes.length]!, RATE * 4 - frame);
      chunked.addFrames(samples, frame, count, 1);
      for (let f = frame; f < frame + count; f++) {
        for (let c = 0; c < channels; c++) one.add(c, samples[f * channels + c]!);
        one.endFrame();
      }
      frame += count;
      if (k % 5 === 4) {
        const [a, b] = [one.reading(), chunked.reading()];
        for (let c = 0; c < channels; c++) {
          expect(b.channels[c]!.momentaryLufs).toBeCloseTo(a.channels[c]!.momentaryLufs, 9);
          expect(b.channels[c]!.shortTermLufs).toBeCloseTo(a.channels[c]!.shortTermLufs, 9);
          expect(b.channels[c]!.truePeakDbtp).toBe(a.channels[c]!.truePeakDbtp);
        }
      }
    }
    const [a, b] = [one.summary(), chunked.summary()];
    expect(b.integratedLufs).toBeCloseTo(a.integratedLufs!, 9);
    expect(b.loudnessRangeLu).toBeCloseTo(a.loudnessRangeLu!, 9);
  });

  it('finds the largest of the interpolator phases (4 at 48 kHz, phases 0 and 2 at 96 kHz) as the 48-tap filter does', () => {
    for (const [rate, phases] of [
      [48_000, [0, 1, 2, 3]],
      [96_000, [0, 2]],
    ] as const) {
      for (let trial = 0; trial < 20; trial++) {
        const frames = 200 + trial * 37;
        const samples = noise(frames + trial, 1, 0.9).subarray(trial);
        const meter = new LoudnessMeter(rate, 1, { summary: true });
        meter.addFrames(samples, 0, frames, 1);
        // The filter over the history primed with the first sample (see the meter).
        const at = (i: number) => samples[Math.max(0, i)]!;
        let peak = 0;
        for (let n = 0; n < frames; n++) {
          peak = Math.max(peak, Math.abs(at(n)));
          for (const p of phases) {
            let y = 0;
            for (let k = 0; k < 12; k++) y += INTERPOLATOR[p]![k]! * at(n - k);
            peak = Math.max(peak, Math.abs(y));
          }
        }
        // The kernel interpolates in single precision: the same peak to well under 0.001 dB.
        expect(meter.summary().truePeakDbtp).toBeCloseTo(20 * Math.log10(peak), 4);
      }
    }
  });
});
