/** Prisma queries for rate-limit profiles and their route assignments. */
import type { Db, Tx } from '../../db/client.js';
import type { RateLimitAssignment, RateLimitProfile } from '../../db/rows.js';

export type ProfileRow = RateLimitProfile & { _count: { assignments: number } };
export type AssignmentRow = RateLimitAssignment & { profile: RateLimitProfile };

export interface ProfileFields {
  name: string;
  max: number;
  windowSeconds: number;
  description: string | null;
}

const withAssignmentCount = { _count: { select: { assignments: true } } } as const;

export class LimitsRepository {
  constructor(private readonly db: Db) {}

  /** Profiles by name; `afterName` is the cursor. */
  listProfiles(limit: number, afterName?: string): Promise<ProfileRow[]> {
    return this.db.rateLimitProfile.findMany({
      where: afterName === undefined ? {} : { name: { gt: afterName } },
      orderBy: { name: 'asc' },
      take: limit,
      include: withAssignmentCount,
    });
  }

  findProfile(tx: Tx | Db, id: string): Promise<ProfileRow | null> {
    return tx.rateLimitProfile.findUnique({ where: { id }, include: withAssignmentCount });
  }

  findProfileByName(tx: Tx, name: string): Promise<RateLimitProfile | null> {
    return tx.rateLimitProfile.findUnique({ where: { name } });
  }

  createProfile(tx: Tx, fields: ProfileFields): Promise<ProfileRow> {
    return tx.rateLimitProfile.create({ data: fields, include: withAssignmentCount });
  }

  updateProfile(tx: Tx, id: string, fields: ProfileFields): Promise<ProfileRow> {
    return tx.rateLimitProfile.update({ where: { id }, data: fields, include: withAssignmentCount });
  }

  async deleteProfile(tx: Tx, id: string): Promise<void> {
    await tx.rateLimitProfile.delete({ where: { id } });
  }

  /** Assignments by route; `afterRoute` is the cursor. */
  listAssignments(limit: number, afterRoute?: string): Promise<AssignmentRow[]> {
    return this.db.rateLimitAssignment.findMany({
      where: afterRoute === undefined ? {} : { route: { gt: afterRoute } },
      orderBy: { route: 'asc' },
      take: limit,
      include: { profile: true },
    });
  }

  /** Every assignment, for the in-memory enforcement table (one row per limited route). */
  allAssignments(): Promise<AssignmentRow[]> {
    return this.db.rateLimitAssignment.findMany({ include: { profile: true } });
  }

  findAssignment(tx: Tx, id: string): Promise<AssignmentRow | null> {
    return tx.rateLimitAssignment.findUnique({ where: { id }, include: { profile: true } });
  }

  findAssignmentByRoute(tx: Tx, route: string): Promise<RateLimitAssignment | null> {
    return tx.rateLimitAssignment.findUnique({ where: { route } });
  }

  createAssignment(tx: Tx, route: string, profileId: string): Promise<AssignmentRow> {
    return tx.rateLimitAssignment.create({ data: { route, profileId }, include: { profile: true } });
  }

  async deleteAssignment(tx: Tx, id: string): Promise<void> {
    await tx.rateLimitAssignment.delete({ where: { id } });
  }
}
