/**
 * Lifecycle jobs (one row per action an operator asked of a node's agent) and the pending
 * credential a rotate-credential hands out. State changes are conditional updates (from the
 * state a job must be in), so two replicas or a late answer cannot move a job twice.
 */
import type { Db, Tx } from '../../db/client.js';
import type { NodeLifecycleJob } from '../../db/rows.js';

export type LifecycleJobRow = NodeLifecycleJob;

/** A job's row without the diagnostics (kept out of lists: up to a megabyte each). */
const LISTED = {
  id: true,
  nodeId: true,
  action: true,
  state: true,
  requestedBy: true,
  message: true,
  createdAt: true,
  sentAt: true,
  finishedAt: true,
  expiresAt: true,
  diagnostics: false,
} as const;
export type ListedLifecycleJob = Omit<LifecycleJobRow, 'diagnostics'>;
/** A listed job and whether diagnostics were uploaded for it. */
export type LifecycleJobSummary = ListedLifecycleJob & { hasDiagnostics: boolean };

export class LifecycleRepository {
  constructor(private readonly db: Db) {}

  create(
    tx: Tx,
    job: Pick<LifecycleJobRow, 'id' | 'nodeId' | 'action' | 'requestedBy' | 'createdAt' | 'expiresAt'>,
  ): Promise<ListedLifecycleJob> {
    return tx.nodeLifecycleJob.create({ data: job, select: LISTED });
  }

  find(nodeId: string, id: string): Promise<LifecycleJobRow | null> {
    return this.db.nodeLifecycleJob.findFirst({ where: { id, nodeId } });
  }

  /**
   * Newest first; `before` is the id of the last job of the previous page. Which of them have
   * diagnostics is a second query by primary key that filters on the column without reading it
   * (Prisma cannot select `diagnostics IS NOT NULL`).
   */
  async list(nodeId: string, limit: number, before?: string): Promise<LifecycleJobSummary[]> {
    const jobs = await this.db.nodeLifecycleJob.findMany({
      where: { nodeId },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      ...(before ? { cursor: { id: before }, skip: 1 } : {}),
      select: LISTED,
    });
    const collecting = jobs.filter((job) => job.action === 'collect-diagnostics').map((job) => job.id);
    const withDiagnostics = new Set(
      collecting.length === 0
        ? []
        : (
            await this.db.nodeLifecycleJob.findMany({
              where: { id: { in: collecting }, diagnostics: { not: null } },
              select: { id: true },
            })
          ).map((job) => job.id),
    );
    return jobs.map((job) => ({ ...job, hasDiagnostics: withDiagnostics.has(job.id) }));
  }

  /** Queued jobs of the node still deliverable at `now`, oldest first. */
  deliverable(nodeId: string, now: Date): Promise<ListedLifecycleJob[]> {
    return this.db.nodeLifecycleJob.findMany({
      where: { nodeId, state: 'queued', expiresAt: { gt: now } },
      orderBy: { createdAt: 'asc' },
      select: LISTED,
    });
  }

  /** Jobs of the node sent but not answered, still within their expiry, oldest first. */
  unanswered(nodeId: string, now: Date): Promise<ListedLifecycleJob[]> {
    return this.db.nodeLifecycleJob.findMany({
      where: { nodeId, state: 'sent', expiresAt: { gt: now } },
      orderBy: { createdAt: 'asc' },
      select: LISTED,
    });
  }

  /** Jobs sent at or before `sentBefore` and not answered, of every node (at most 500). */
  unansweredSince(sentBefore: Date): Promise<ListedLifecycleJob[]> {
    return this.db.nodeLifecycleJob.findMany({
      where: { state: 'sent', sentAt: { lte: sentBefore } },
      orderBy: { sentAt: 'asc' },
      take: 500,
      select: LISTED,
    });
  }

  /** queued → sent; false when it is no longer queued. */
  async markSent(id: string, now: Date): Promise<boolean> {
    const { count } = await this.db.nodeLifecycleJob.updateMany({
      where: { id, state: 'queued' },
      data: { state: 'sent', sentAt: now },
    });
    return count === 1;
  }

  /** Ends a job that is in one of `from`; false when it was not (already ended, or another node's). */
  async finish(
    tx: Tx,
    where: { id: string; nodeId?: string },
    from: readonly string[],
    end: { state: 'succeeded' | 'failed' | 'timed_out'; message: string; at: Date },
  ): Promise<boolean> {
    const { count } = await tx.nodeLifecycleJob.updateMany({
      where: { ...where, state: { in: [...from] } },
      data: { state: end.state, message: end.message, finishedAt: end.at },
    });
    return count === 1;
  }

  /** Jobs to time out at `now`: queued past their expiry, or sent and unanswered since `sentBefore`. */
  overdue(now: Date, sentBefore: Date): Promise<ListedLifecycleJob[]> {
    return this.db.nodeLifecycleJob.findMany({
      where: {
        OR: [
          { state: 'queued', expiresAt: { lte: now } },
          { state: 'sent', sentAt: { lte: sentBefore } },
        ],
      },
      take: 500,
      select: LISTED,
    });
  }

  /** Stores the diagnostics of a collect-diagnostics job still waiting for them. */
  async storeDiagnostics(tx: Tx, nodeId: string, id: string, json: string): Promise<boolean> {
    const { count } = await tx.nodeLifecycleJob.updateMany({
      where: { id, nodeId, action: 'collect-diagnostics', state: { in: ['queued', 'sent'] } },
      data: { diagnostics: json },
    });
    return count === 1;
  }

  // The pending credential (rotate-credential) ------------------------------------------------

  /** Hands out `hash` as the node's pending credential (replacing an unused one); false when retired. */
  async issuePending(tx: Tx, nodeId: string, hash: string): Promise<boolean> {
    const { count } = await tx.node.updateMany({
      where: { id: nodeId, decommissionedAt: null, credentialHash: { not: null } },
      data: { pendingCredentialHash: hash },
    });
    return count === 1;
  }

  pendingOf(
    nodeId: string,
  ): Promise<{ pendingCredentialHash: string | null; credentialHash: string | null; siteId: string } | null> {
    return this.db.node.findUnique({
      where: { id: nodeId },
      select: { pendingCredentialHash: true, credentialHash: true, siteId: true },
    });
  }

  /** The pending credential `hash` becomes the active one (compare-and-set on it); false when it is not pending. */
  async adoptPending(tx: Tx, nodeId: string, hash: string, hint: string): Promise<boolean> {
    const { count } = await tx.node.updateMany({
      where: {
        id: nodeId,
        pendingCredentialHash: hash,
        decommissionedAt: null,
        credentialHash: { not: null },
      },
      data: {
        credentialHash: hash,
        credentialHint: hint,
        pendingCredentialHash: null,
        credentialVersion: { increment: 1 },
      },
    });
    return count === 1;
  }

  /** Forgets a pending credential (an operator rotated the credential, or retired the node). */
  async dropPending(tx: Tx, nodeId: string): Promise<void> {
    await tx.node.updateMany({
      where: { id: nodeId, pendingCredentialHash: { not: null } },
      data: { pendingCredentialHash: null },
    });
  }
}
