/**
 * Numbered revisions of settings (`SettingsRevision`): each change writes one in its own
 * transaction with who made it, when and why; history reads them back oldest first, each with
 * the state before it. Shared by the settings objects of every family and by settings kept
 * elsewhere (channel-map assignments), so history looks and works the same everywhere.
 */
import type { AuditInput, AuditWriter } from '../../core/audit.types.js';
import { AppError } from '../../core/errors.js';
import { encodeCursor } from '../../core/pagination.js';
import { actorOf, type CallContext } from '../../core/principal.js';
import type { Tx } from '../../db/client.js';
import type { RevisionRow, SettingsRepository } from './settings.repository.js';

export type RevisionAction = 'create' | 'update' | 'rollback' | 'delete';

/** One revision to write: the object's name and body (JSON text) after the change. */
export interface RevisionInput {
  objectId: string;
  family: string;
  revision: number;
  action: RevisionAction;
  name: string;
  body: string;
  reason: string | null;
}

/** What a revision records: the object's state after it. */
export interface RevisionState {
  name: string;
  body: Record<string, unknown>;
}

export const revisionStateOf = (row: { name: string; body: string }): RevisionState => ({
  name: row.name,
  body: JSON.parse(row.body) as Record<string, unknown>,
});

export class SettingsRevisions {
  constructor(
    private readonly repo: SettingsRepository,
    private readonly now: () => Date,
  ) {}

  /** Writes one revision, by the caller, inside the change's transaction. */
  add(tx: Tx, ctx: CallContext, input: RevisionInput) {
    const actor = actorOf(ctx.principal);
    return this.repo.addRevision(tx, {
      ...input,
      actorId: actor.id ?? null,
      actorName: actor.name ?? null,
      at: this.now(),
    });
  }

  /** The revision numbered `revision` of the object; null when there is none. */
  find(objectId: string, revision: number): Promise<RevisionRow | null> {
    return this.repo.revision(objectId, revision);
  }

  /**
   * A page of the revisions, oldest first, each with who made it, when, and the state before and
   * after; `after` is the revision number the previous page ended on (its `nextCursor`).
   */
  async history(objectId: string, limit: number, after?: number) {
    const revisions = await this.repo.revisions(objectId, limit, after);
    // The state before the page's first revision is the one the previous page ended on.
    const previous = after === undefined ? null : await this.repo.revisionAtOrBefore(objectId, after);
    const data = revisions.map((r, i) => {
      const prior = i === 0 ? previous : revisions[i - 1]!;
      return {
        revision: r.revision,
        action: r.action as RevisionAction,
        at: r.at.toISOString(),
        actor: { id: r.actorId, name: r.actorName },
        reason: r.reason,
        before: prior ? revisionStateOf(prior) : null,
        after: revisionStateOf(r),
      };
    });
    const last = revisions[revisions.length - 1];
    return { data, nextCursor: revisions.length === limit && last ? encodeCursor(last.revision) : null };
  }
}

/**
 * A refused change (bad input, conflict) is audited as a failed attempt, alone (nothing was
 * written); then the error goes on to the caller. Other errors are not refusals: rethrown as is.
 */
export async function refuseAudited(audit: AuditWriter, base: AuditInput, error: unknown): Promise<never> {
  if (error instanceof AppError) {
    await audit.recordAlone({ ...base, outcome: 'failure', reason: error.message });
  }
  throw error;
}
