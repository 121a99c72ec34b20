/** Settings objects and their revisions: the only place Prisma is called for settings. */
import { olderThan, type PagePosition } from '../../core/page-position.js';
import type { Db, Tx } from '../../db/client.js';
import type { SettingsObject, SettingsRevision } from '../../db/rows.js';
import type { NodeSettingColumn } from './settings-family.js';

export type SettingsRow = SettingsObject;
export type RevisionRow = SettingsRevision;

export class SettingsRepository {
  constructor(private readonly db: Db) {}

  find(family: string, id: string, tx: Tx | Db = this.db): Promise<SettingsRow | null> {
    return tx.settingsObject.findFirst({ where: { id, family } });
  }

  /** Newest first; `q` is text in the name. */
  list(family: string, q: string | undefined, limit: number, after?: PagePosition): Promise<SettingsRow[]> {
    return this.db.settingsObject.findMany({
      where: { AND: [{ family }, q === undefined ? {} : { name: { contains: q } }, olderThan(after)] },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }

  /** The objects of `family` whose body text contains `text` (e.g. an id they may name). */
  mentioning(family: string, text: string): Promise<SettingsRow[]> {
    return this.db.settingsObject.findMany({
      where: { family, body: { contains: text } },
      orderBy: [{ name: 'asc' }, { id: 'asc' }],
    });
  }

  findMany(family: string, ids: string[]): Promise<SettingsRow[]> {
    return this.db.settingsObject.findMany({
      where: { family, id: { in: ids } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    });
  }

  create(tx: Tx, data: { id: string; family: string; name: string; body: string; createdBy: string | null }) {
    return tx.settingsObject.create({ data: { ...data, revision: 1 } });
  }

  /** Moves the object from `revision` to the next; null when another change came first. */
  async update(
    tx: Tx,
    id: string,
    revision: number,
    data: { name: string; body: string },
  ): Promise<SettingsRow | null> {
    const { count } = await tx.settingsObject.updateMany({
      where: { id, revision },
      data: { ...data, revision: revision + 1 },
    });
    return count === 1 ? tx.settingsObject.findUnique({ where: { id } }) : null;
  }

  async delete(tx: Tx, id: string, revision: number): Promise<boolean> {
    const { count } = await tx.settingsObject.deleteMany({ where: { id, revision } });
    return count === 1;
  }

  addRevision(tx: Tx, data: Omit<RevisionRow, 'id' | 'at'> & { at: Date }) {
    return tx.settingsRevision.create({ data });
  }

  /** Up to `limit` revisions of the object after the revision numbered `after`, oldest first. */
  revisions(id: string, limit: number, after?: number): Promise<RevisionRow[]> {
    return this.db.settingsRevision.findMany({
      where: { objectId: id, ...(after === undefined ? {} : { revision: { gt: after } }) },
      orderBy: { revision: 'asc' },
      take: limit,
    });
  }

  /** The newest revision of the object numbered `revision` or lower; null when there is none. */
  revisionAtOrBefore(id: string, revision: number): Promise<RevisionRow | null> {
    return this.db.settingsRevision.findFirst({
      where: { objectId: id, revision: { lte: revision } },
      orderBy: { revision: 'desc' },
    });
  }

  /** The nodes naming the object in `column`, decommissioned ones too (they keep the reference). */
  nodesUsing(column: NodeSettingColumn, id: string) {
    return this.db.node.findMany({
      where: { [column]: id },
      select: { id: true, name: true },
      orderBy: { id: 'asc' },
    });
  }

  /** Every node not decommissioned (their agents apply fleet-wide objects). */
  nodesInService() {
    return this.db.node.findMany({ where: { decommissionedAt: null }, select: { id: true } });
  }

  revision(id: string, revision: number): Promise<RevisionRow | null> {
    return this.db.settingsRevision.findUnique({ where: { objectId_revision: { objectId: id, revision } } });
  }
}
