/**
 * The window a recording's attendance is looked up in: what was recorded (first sample in
 * controller time, for the recorded duration, or to the job's end, or to now while capturing),
 * else the planned window, else none.
 */
import { describe, expect, it } from 'vitest';
import type {
  ContextJob,
  ContextRecording,
} from '../../controller/src/modules/recording-context/recording-context.repository.js';
import { attendanceWindow } from '../../controller/src/modules/recording-context/recording-context.service.js';

const t = (hhmm: string) => new Date(`2025-10-06T${hhmm}:00.000Z`);
const NOW = t('10:40');

function recording(fields: Partial<ContextRecording> = {}): ContextRecording {
  return {
    firstSampleAt: null,
    clockOffsetMs: null,
    durationMs: null,
    plannedStartAt: null,
    ...fields,
  } as ContextRecording;
}
function job(fields: Partial<ContextJob> = {}): ContextJob {
  return {
    state: 'queued',
    startedAt: null,
    finishedAt: null,
    plannedStartAt: null,
    plannedEndAt: null,
    ...fields,
  } as ContextJob;
}
const iso = (w: ReturnType<typeof attendanceWindow>) =>
  w && { from: w.from.toISOString(), to: w.to.toISOString(), basis: w.basis };

describe('attendance window of a recording', () => {
  it('recorded: from the first sample, moved by the clock offset, for the recorded duration', () => {
    const w = attendanceWindow(
      recording({
        firstSampleAt: new Date(t('10:00').getTime() - 1500),
        clockOffsetMs: -1500,
        durationMs: 90_000,
      }),
      job({ state: 'completed', startedAt: t('09:59'), finishedAt: t('11:00') }),
      NOW,
    );
    expect(iso(w)).toEqual({
      from: '2025-10-06T10:00:00.000Z',
      to: '2025-10-06T10:01:30.000Z',
      basis: 'recorded',
    });
  });

  it('still capturing: to now; ended without a duration: to the job end', () => {
    const started = job({ state: 'recording', startedAt: t('10:00'), plannedEndAt: t('11:00') });
    expect(iso(attendanceWindow(recording(), started, NOW))?.to).toBe('2025-10-06T10:40:00.000Z');
    const failed = job({ state: 'failed', startedAt: t('10:00'), finishedAt: t('10:20') });
    expect(iso(attendanceWindow(recording(), failed, NOW))?.to).toBe('2025-10-06T10:20:00.000Z');
  });

  it('not started: the planned window; an ad-hoc job not started: none', () => {
    const planned = job({ plannedStartAt: t('11:00'), plannedEndAt: t('12:00') });
    expect(iso(attendanceWindow(recording(), planned, NOW))).toEqual({
      from: '2025-10-06T11:00:00.000Z',
      to: '2025-10-06T12:00:00.000Z',
      basis: 'planned',
    });
    expect(attendanceWindow(recording(), job(), NOW)).toBeNull();
    expect(attendanceWindow(recording(), null, NOW)).toBeNull();
  });
});
