/**
 * The pre- and post-roll a node's recording profile asks for. A scheduled occurrence's window on
 * a node is at least the profile's: effective pre-roll = max(the schedule's preRollSeconds, the
 * node's profile's preRollSeconds), and the same for post-roll (schedule-plans.ts). Profiles are
 * read through a port (the nodes module's settings resolution), once per profile per call, and
 * always before a transaction opens (SQLite has one connection).
 *
 * A profile edit or a node's profile assignment changes no schedule row, so the runner compares
 * each node's rolls with what it saw last (`RollWatch`) and re-plans the schedules on nodes whose
 * rolls changed; the first pass after a start re-plans them all.
 */
import type { SchedulesRepository } from './schedules.repository.js';

export interface Rolls {
  preRollSeconds: number;
  postRollSeconds: number;
}

/** A node's profile rolls; undefined when it has no profile (the schedule's rolls apply). */
export type RollsOf = (nodeId: string) => Rolls | undefined;

export const noProfileRolls: RollsOf = () => undefined;

/** Reads one recording profile's rolls by id; undefined when it does not exist. */
export type ProfileRollsReader = (profileId: string) => Promise<Rolls | undefined>;

/** The schedule's own rolls widened to the node profile's. */
export function effectiveRolls(schedule: Rolls, profile: Rolls | undefined): Rolls {
  return {
    preRollSeconds: Math.max(schedule.preRollSeconds, profile?.preRollSeconds ?? 0),
    postRollSeconds: Math.max(schedule.postRollSeconds, profile?.postRollSeconds ?? 0),
  };
}

export class ProfileRolls {
  constructor(
    private readonly repo: Pick<SchedulesRepository, 'nodeProfiles'>,
    private readonly read: ProfileRollsReader,
  ) {}

  /** The rolls of `nodeIds`' profiles now. */
  async of(nodeIds: Iterable<string>): Promise<Map<string, Rolls>> {
    const profiles = await this.repo.nodeProfiles([...new Set(nodeIds)]);
    const byProfile = new Map<string, Promise<Rolls | undefined>>();
    const out = new Map<string, Rolls>();
    for (const [nodeId, profileId] of profiles) {
      if (profileId === null) continue;
      if (!byProfile.has(profileId)) byProfile.set(profileId, this.read(profileId));
      const rolls = await byProfile.get(profileId)!;
      if (rolls) out.set(nodeId, rolls);
    }
    return out;
  }

  /** The same, as the plan functions take it. */
  async lookup(nodeIds: Iterable<string>): Promise<RollsOf> {
    const rolls = await this.of(nodeIds);
    return (nodeId) => rolls.get(nodeId);
  }
}

/** Which nodes' profile rolls changed since the last look (every node on the first). */
export class RollWatch {
  private seen: Map<string, string> | undefined;

  /** The nodes among `current` whose rolls differ from the last call's; all of them the first time. */
  changed(nodeIds: Iterable<string>, current: Map<string, Rolls>): Set<string> {
    const now = new Map<string, string>();
    for (const nodeId of nodeIds) {
      const rolls = current.get(nodeId);
      now.set(nodeId, rolls ? `${rolls.preRollSeconds}/${rolls.postRollSeconds}` : '-');
    }
    const changed = new Set<string>();
    for (const [nodeId, key] of now) if (this.seen?.get(nodeId) !== key) changed.add(nodeId);
    this.seen = now;
    return changed;
  }

  /** Forgets what it saw: the next call reports every node. */
  reset(): void {
    this.seen = undefined;
  }
}
