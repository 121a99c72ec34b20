/** The recordings in flight behind `GET /status`: the only place Prisma is called for it. */
import type { Db } from '../../db/client.js';
import { ACTIVE_JOB_STATES } from '../recordings/index.js';

export class StatusRepository {
  constructor(private readonly db: Db) {}

  /** Recordings in flight (their job claimed, recording, uploading or out of contact), by node. */
  async inFlight(nodeIds: string[]): Promise<Map<string, number>> {
    const rows = await this.db.recordingJob.groupBy({
      by: ['nodeId'],
      where: { nodeId: { in: nodeIds }, state: { in: [...ACTIVE_JOB_STATES] } },
      _count: { _all: true },
    });
    return new Map(rows.map((r) => [r.nodeId, r._count._all]));
  }
}
