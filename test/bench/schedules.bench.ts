/**
 * Materialising schedules: 10,000 daily schedules (each on one of 10 nodes) topped up for the
 * horizon (8 days) by the runner's own code path, on SQLite and PostgreSQL. Reports occurrence
 * jobs created per second. The reference, in the same run and database, inserts exactly the same
 * recording and job rows with batched createMany (1000 rows a statement) and nothing else: no
 * rule evaluation, no per-schedule lock or transaction, no existence check.
 */
import { benchController, withPostgres } from './harness.js';
import type { BenchRow } from './report.js';

const SCHEDULES = Number(process.env.EARSHOT_BENCH_SCHEDULES ?? 10_000);
const NODES = 10;
const BATCH = 500;

function chunks<T>(rows: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += BATCH) out.push(rows.slice(i, i + BATCH));
  return out;
}

async function materialiseRun(label: string, databaseUrl?: string): Promise<BenchRow[]> {
  const ctl = await benchController(databaseUrl);
  try {
    for (let n = 0; n < NODES; n++) await ctl.enroll(`sched-${n}`);
    const ids = Array.from({ length: SCHEDULES }, () => crypto.randomUUID());
    for (const batch of chunks(ids.map((id, i) => ({ id, i })))) {
      await ctl.db.schedule.createMany({
        data: batch.map(({ id, i }) => ({
          id,
          name: `bench ${i}`,
          recurrence: 'RRULE:FREQ=DAILY',
          timeZone: i % 2 ? 'Europe/Berlin' : 'America/New_York',
          startLocal: `2026-01-01T${String(6 + (i % 12)).padStart(2, '0')}:00:00`,
          durationSeconds: 1800,
          profile: '{"format":"wav"}',
        })),
      });
      await ctl.db.scheduleTarget.createMany({
        data: batch.map(({ id, i }) => ({ scheduleId: id, nodeId: `sched-${i % NODES}` })),
      });
    }

    const started = performance.now();
    let created = 0;
    for (;;) {
      const pass = await ctl.services.schedules.materialiseDue(1000);
      created += pass.created;
      if (pass.schedules === 0) break;
    }
    const seconds = (performance.now() - started) / 1000;

    // Reference: the very same rows, inserted bare.
    const recordings = await ctl.db.recording.findMany({
      where: { job: { is: { scheduleId: { not: null } } } },
    });
    const jobs = await ctl.db.recordingJob.findMany({ where: { scheduleId: { not: null } } });
    for (const batch of chunks(recordings.map((r) => r.id)))
      await ctl.db.recording.deleteMany({ where: { id: { in: batch } } });
    const refStarted = performance.now();
    for (const batch of chunks(recordings)) await ctl.db.recording.createMany({ data: batch });
    for (const batch of chunks(jobs)) await ctl.db.recordingJob.createMany({ data: batch });
    const refSeconds = (performance.now() - refStarted) / 1000;

    const rate = created / seconds;
    const refRate = jobs.length / refSeconds;
    return [
      {
        bench: 'schedules',
        subject: `${label}: materialise ${SCHEDULES} schedules × 8 days`,
        metric: 'occurrences/s',
        value: rate,
        unit: '/s',
        reference: {
          subject: `${label} bare batched insert of the same rows`,
          value: refRate,
          ratio: rate / refRate,
        },
      },
      { bench: 'schedules', subject: label, metric: 'occurrences created', value: created, unit: '' },
      { bench: 'schedules', subject: label, metric: 'materialise time', value: seconds, unit: 's' },
    ];
  } finally {
    await ctl.stop();
  }
}

export async function schedulesBench(): Promise<BenchRow[]> {
  const sqlite = await materialiseRun('SQLite');
  const pg = await withPostgres((url) => materialiseRun('PostgreSQL', url));
  return [...sqlite, ...pg];
}
