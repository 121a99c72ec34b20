import type { ScopeFilter } from '../../core/access-set.js';
import type { Db, Tx } from '../../db/client.js';
import { anyOf, limitClause, type RawDb, type SqlValue, selectColumns } from '../../db/raw.js';
import type { Node, Prisma, Site } from '../../db/rows.js';

export type NodeRow = Node & { site: Site };

/** A recording that holds audio: a stored file, or bytes of an upload under way. */
const WITH_AUDIO = {
  OR: [{ filePath: { not: null } }, { receivedBytes: { gt: 0 } }],
} satisfies Prisma.RecordingWhereInput;

export function scopeWhere(filter: ScopeFilter): Prisma.NodeWhereInput {
  if (filter.all) return {};
  return { OR: [{ siteId: { in: filter.siteIds } }, { id: { in: filter.nodeIds } }] };
}

/** What the node list shows, in the order `nodes/listed-json.ts` reads it. */
export const LISTED_NODE_CELLS = [
  'n."id"',
  'n."name"',
  's."id"',
  's."name"',
  'n."credentialHash" IS NOT NULL',
  'n."credentialHint"',
  'n."lastSeenAt"',
  'n."agentVersion"',
  'n."captureDevice"',
  'n."captureState"',
  'n."sampleRate"',
  'n."channels"',
  'n."diskFreeBytes"',
  'n."clockOffsetMs"',
  'n."tags"',
  'n."location"',
  'n."notes"',
  'n."recordingProfileId"',
  'n."watchdogPolicyId"',
  'n."decommissionedAt"',
  'n."createdAt"',
  'n."headroomHours"',
] as const;
/** The cells of `LISTED_NODE_CELLS` that hold a DateTime. */
const LISTED_NODE_DATES = [6, 19, 20] as const;

/** The WHERE of a page of the inventory: the caller's scope, a site by name, after an id. */
function listWhere(raw: RawDb, filter: ScopeFilter, query: { site?: string }, afterId?: string) {
  const params: SqlValue[] = [];
  const param = (value: SqlValue) => `$${params.push(value)}`;
  const where: string[] = [];
  if (!filter.all)
    where.push(
      anyOf(raw, param, [
        ['n."siteId"', filter.siteIds],
        ['n."id"', filter.nodeIds],
      ]),
    );
  if (query.site !== undefined) where.push(`s."name" = ${param(query.site)}`);
  if (afterId !== undefined) where.push(`n."id" > ${param(afterId)}`);
  return { where: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
}

export class NodesRepository {
  constructor(
    private readonly db: Db,
    private readonly raw: RawDb,
  ) {}

  /** Enrolled nodes still in service (not decommissioned) in `filter`: those whose presence is watched. */
  inService(
    filter: ScopeFilter = { all: true },
  ): Promise<{ id: string; name: string; lastSeenAt: Date | null }[]> {
    return this.db.node.findMany({
      where: { AND: [scopeWhere(filter), { credentialHash: { not: null }, decommissionedAt: null }] },
      select: { id: true, name: true, lastSeenAt: true },
      orderBy: { id: 'asc' },
    });
  }

  /** The operator's enabled channels of the node's interface `ref` (JSON text), if it has one. */
  async enabledChannelsOf(nodeId: string, ref: string): Promise<string | null> {
    const found = await this.db.nodeInterface.findUnique({
      where: { nodeId_ref: { nodeId, ref } },
      select: { enabledChannels: true },
    });
    return found?.enabledChannels ?? null;
  }

  find(id: string): Promise<NodeRow | null> {
    return this.db.node.findUnique({ where: { id }, include: { site: true } });
  }

  /**
   * What checking a node credential needs, and only that: every agent request does it, so one
   * query on the raw driver (db/raw.ts; a fraction of Prisma's cost) for three columns.
   */
  async credentialOf(
    id: string,
  ): Promise<{ id: string; siteId: string; credentialHash: string | null } | null> {
    const rows = await this.raw.query<{ id: string; siteId: string; credentialHash: string | null }>(
      'SELECT "id", "siteId", "credentialHash" FROM "Node" WHERE "id" = $1',
      [id],
    );
    return rows[0] ?? null;
  }

  /** A page of the inventory in `filter`, by id, with the same rows as the model API (exports). */
  async list(
    filter: ScopeFilter,
    query: { site?: string },
    limit: number,
    afterId?: string,
  ): Promise<NodeRow[]> {
    const { where, params } = listWhere(this.raw, filter, query, afterId);
    return this.raw.query<NodeRow>(
      `SELECT ${selectColumns('Node', 'n')}, ${selectColumns('Site', 's', 'site.')}
       FROM "Node" n JOIN "Site" s ON s."id" = n."siteId" ${where}
       ORDER BY n."id" ASC ${limitClause(limit)}`,
      params,
    );
  }

  /**
   * A page of the inventory as `GET /nodes` shows it: the API's hottest read, so one query on the
   * raw driver (db/raw.ts) for only what the list shows, each row one JSON array in the order of
   * `LISTED_NODE_CELLS`, dates made ISO-8601 text (nodes/listed-json.ts writes the page).
   */
  async listed(
    filter: ScopeFilter,
    query: { site?: string },
    limit: number,
    afterId?: string,
  ): Promise<unknown[][]> {
    const { where, params } = listWhere(this.raw, filter, query, afterId);
    const rows = await this.raw.query<{ cells: string }>(
      `SELECT ${this.raw.jsonArray(LISTED_NODE_CELLS)} AS "cells"
       FROM "Node" n JOIN "Site" s ON s."id" = n."siteId" ${where}
       ORDER BY n."id" ASC ${limitClause(limit)}`,
      params,
    );
    return rows.map((row) => {
      const cells = JSON.parse(row.cells) as unknown[];
      for (const i of LISTED_NODE_DATES) if (cells[i] !== null) cells[i] = this.raw.isoDate(cells[i]);
      return cells;
    });
  }

  /** What the inventory's facets count, of every node in `filter` (`GET /nodes/facets`). */
  facetRows(filter: ScopeFilter, query: { site?: string }) {
    return this.db.node.findMany({
      where: { AND: [scopeWhere(filter), query.site === undefined ? {} : { site: { name: query.site } }] },
      select: {
        id: true,
        lastSeenAt: true,
        credentialHash: true,
        decommissionedAt: true,
        captureState: true,
        site: { select: { name: true } },
      },
    });
  }

  findSiteByName(tx: Tx, name: string): Promise<Site | null> {
    return tx.site.findUnique({ where: { name } });
  }

  createSite(tx: Tx, name: string): Promise<Site> {
    return tx.site.create({ data: { name } });
  }

  create(tx: Tx, data: Prisma.NodeUncheckedCreateInput): Promise<NodeRow> {
    return tx.node.create({ data, include: { site: true } });
  }

  /** Consumes the enrollment secret exactly once; false when it was already used or is wrong. */
  async consumeEnrollment(
    tx: Tx,
    id: string,
    enrollmentHash: string,
    now: Date,
    credential: { hash: string; hint: string },
  ): Promise<boolean> {
    const result = await tx.node.updateMany({
      where: { id, enrollmentHash, enrollmentExpiresAt: { gt: now } },
      data: {
        enrollmentHash: null,
        enrollmentExpiresAt: null,
        credentialHash: credential.hash,
        credentialHint: credential.hint,
        credentialVersion: { increment: 1 },
        enrolledAt: now,
      },
    });
    return result.count === 1;
  }

  /**
   * Replaces the one active credential if nobody rotated it meanwhile (compare-and-set on the
   * version); a credential pending from an agent's rotate-credential is dropped with it.
   */
  async replaceCredential(
    tx: Tx,
    id: string,
    expectedVersion: number,
    credential: { hash: string; hint: string },
  ): Promise<boolean> {
    const result = await tx.node.updateMany({
      where: { id, credentialVersion: expectedVersion },
      data: {
        credentialHash: credential.hash,
        credentialHint: credential.hint,
        credentialVersion: expectedVersion + 1,
        pendingCredentialHash: null,
      },
    });
    return result.count === 1;
  }

  update(tx: Tx | Db, id: string, data: Prisma.NodeUncheckedUpdateInput): Promise<NodeRow> {
    return tx.node.update({ where: { id }, data, include: { site: true } });
  }

  /** The nodes among `ids` inside the scope, in id order. */
  findMany(filter: ScopeFilter, ids: string[]): Promise<NodeRow[]> {
    return this.db.node.findMany({
      where: { AND: [scopeWhere(filter), { id: { in: ids } }] },
      orderBy: { id: 'asc' },
      include: { site: true },
    });
  }

  /**
   * Revokes the credential (and any unused enrollment token) and marks the node retired, if it
   * is not already: false when someone else decommissioned it meanwhile.
   */
  async decommission(tx: Tx, id: string, now: Date): Promise<boolean> {
    const result = await tx.node.updateMany({
      where: { id, decommissionedAt: null },
      data: {
        decommissionedAt: now,
        credentialHash: null,
        enrollmentHash: null,
        enrollmentExpiresAt: null,
        credentialVersion: { increment: 1 },
      },
    });
    return result.count === 1;
  }

  /**
   * What still depends on a node: jobs not finished, schedules targeting it, and recordings that
   * hold audio (a stored file, or bytes of an upload). Recordings without audio (cancelled,
   * failed, missed occurrences) do not count: they go with the node.
   */
  async dependents(tx: Tx | Db, id: string, pendingStates: readonly string[]) {
    const [jobs, schedules, recordings] = await Promise.all([
      tx.recordingJob.groupBy({
        by: ['state'],
        where: { nodeId: id, state: { in: [...pendingStates] } },
        _count: { _all: true },
      }),
      tx.scheduleTarget.count({ where: { nodeId: id } }),
      tx.recording.count({ where: { nodeId: id, ...WITH_AUDIO } }),
    ]);
    return {
      jobs: jobs.map((j) => ({ state: j.state, count: j._count._all })),
      schedules,
      recordings,
    };
  }

  /**
   * Deletes a decommissioned node with its recordings that hold no audio (their jobs cascade);
   * `undefined` when the node is not decommissioned (or is gone), else how many recordings went.
   */
  async deleteDecommissioned(tx: Tx, id: string): Promise<number | undefined> {
    const node = await tx.node.findFirst({
      where: { id, decommissionedAt: { not: null } },
      select: { id: true },
    });
    if (!node) return undefined;
    const empty = await tx.recording.deleteMany({
      where: { nodeId: id, NOT: WITH_AUDIO },
    });
    await tx.node.delete({ where: { id } });
    return empty.count;
  }
}
