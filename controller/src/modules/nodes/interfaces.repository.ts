/**
 * The only Prisma calls for a node's audio interfaces (NodeInterface rows).
 */
import type { ReportedInterface } from '../../../../shared/src/agent-api.js';
import type { Db, Tx } from '../../db/client.js';
import type { NodeInterface, Prisma } from '../../db/rows.js';

export type InterfaceRow = NodeInterface;

export class InterfacesRepository {
  /** The node's interfaces, present ones first, then by reference. */
  list(tx: Tx | Db, nodeId: string): Promise<InterfaceRow[]> {
    return tx.nodeInterface.findMany({ where: { nodeId }, orderBy: [{ present: 'desc' }, { ref: 'asc' }] });
  }

  find(tx: Tx | Db, nodeId: string, id: string): Promise<InterfaceRow | null> {
    return tx.nodeInterface.findFirst({ where: { id, nodeId } });
  }

  create(tx: Tx, nodeId: string, reported: ReportedInterface, now: Date): Promise<InterfaceRow> {
    return tx.nodeInterface.create({
      data: { nodeId, ...reported, present: true, firstSeenAt: now, lastSeenAt: now },
    });
  }

  /** The facts the agent reports, and present again. */
  refresh(tx: Tx, id: string, reported: ReportedInterface, now: Date): Promise<InterfaceRow> {
    const { kind, description, channels, sampleRate } = reported;
    return tx.nodeInterface.update({
      where: { id },
      data: { kind, description, channels, sampleRate, present: true, lastSeenAt: now },
    });
  }

  async touch(tx: Tx, ids: string[], now: Date): Promise<void> {
    if (ids.length > 0)
      await tx.nodeInterface.updateMany({ where: { id: { in: ids } }, data: { lastSeenAt: now } });
  }

  async markAbsent(tx: Tx, ids: string[]): Promise<void> {
    if (ids.length > 0)
      await tx.nodeInterface.updateMany({ where: { id: { in: ids } }, data: { present: false } });
  }

  update(tx: Tx, id: string, data: Prisma.NodeInterfaceUpdateInput): Promise<InterfaceRow> {
    return tx.nodeInterface.update({ where: { id }, data });
  }
}
