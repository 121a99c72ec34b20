/**
 * The schedules page's reads: the list (`GET /schedules`) and each schedule's occurrences in a
 * window as the controller expanded them (`GET /schedules/:id/occurrences`), turned into the
 * model's `Occurrence`s. The browser never expands a rule itself.
 */
import { ApiError, api } from '../api.js';
import type { Occurrence } from '../schedules-model.js';

export interface Schedule {
  id: string;
  name: string;
  recurrence: string;
  timeZone: string;
  start: string;
  durationSeconds: number;
  preRollSeconds: number;
  postRollSeconds: number;
  targets: { nodeId: string; siteId: string; channels: number[] | null }[];
  enabled: boolean;
  skipped: string[];
  nextOccurrence: string | null;
  updatedAt: string;
}

interface ApiOccurrence {
  occurrenceStart: string;
  plannedStartAt: string;
  plannedEndAt: string;
  skipped: boolean;
  jobs: { nodeId: string; jobId: string; recordingId: string; state: string }[];
}

export async function listSchedules(query: string): Promise<{ data: Schedule[]; more: boolean }> {
  const page = await api<{ data: Schedule[]; nextCursor: string | null }>('GET', `/schedules?${query}`);
  return { data: page.data, more: page.nextCursor !== null };
}

/** One schedule's occurrences in [from, to); a paused schedule's count as skipped (they do not record). */
export async function occurrencesOf(schedule: Schedule, from: number, to: number): Promise<Occurrence[]> {
  const query = new URLSearchParams({
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    limit: '1000',
  });
  const { data } = await api<{ data: { occurrences: ApiOccurrence[] } }>(
    'GET',
    `/schedules/${encodeURIComponent(schedule.id)}/occurrences?${query}`,
  );
  return data.occurrences.map((o) => {
    const start = Date.parse(o.occurrenceStart);
    return {
      scheduleId: schedule.id,
      name: schedule.name,
      nodeIds: schedule.targets.map((t) => t.nodeId),
      start,
      end: start + schedule.durationSeconds * 1000,
      skipped: o.skipped || !schedule.enabled,
      jobs: o.jobs.map((j) => ({ nodeId: j.nodeId, jobId: j.jobId, state: j.state })),
    };
  });
}

/** Every listed schedule's occurrences in the window (a few requests at a time). */
export async function occurrencesIn(
  schedules: readonly Schedule[],
  from: number,
  to: number,
): Promise<Occurrence[]> {
  const all: Occurrence[] = [];
  for (let i = 0; i < schedules.length; i += 6) {
    const batch = await Promise.all(
      schedules.slice(i, i + 6).map((s) =>
        // A schedule deleted since the list was read has no occurrences (not an error for the page).
        occurrencesOf(s, from, to).catch((error: unknown) => {
          if (error instanceof ApiError && error.status === 404) return [];
          throw error;
        }),
      ),
    );
    all.push(...batch.flat());
  }
  return all;
}

/**
 * The schedules sharing a node with `schedule` (each node's list), with their occurrences and
 * its own in [from, to): what a saved schedule's overlap warning is computed from.
 */
export async function neighbourhood(schedule: Schedule, from: number, to: number): Promise<Occurrence[]> {
  const byId = new Map<string, Schedule>([[schedule.id, schedule]]);
  for (const { nodeId } of schedule.targets) {
    const { data } = await listSchedules(new URLSearchParams({ nodeId, limit: '200' }).toString());
    for (const s of data) byId.set(s.id, s);
  }
  return occurrencesIn([...byId.values()], from, to);
}
