/** Demo data in the database: the only place the demo module calls Prisma. */
import type { Tx } from '../../db/client.js';

/** How seeded rows are marked: node ids start with it and their tags hold it; sites are named with it. */
export const DEMO_MARK = 'demo';
export const DEMO_PREFIX = `${DEMO_MARK}-`;

export interface DemoNode {
  id: string;
  name: string;
  site: string;
  location: string;
  lastSeenAt: Date | null;
}

export interface DemoRecording {
  id: string;
  nodeId: string;
  title: string;
  createdAt: Date;
  durationMs: number;
}

export interface DemoHealthEvent {
  id: string;
  nodeId: string;
  type: string;
  severity: string;
  status: string;
  message: string;
  firstSeenAt: Date;
  lastSeenAt: Date;
  resolvedAt: Date | null;
}

export class DemoRepository {
  /** Ids of the seeded nodes still there: ids starting with `demo-` and tagged `demo` (both). */
  async nodeIds(tx: Tx): Promise<string[]> {
    const rows = await tx.node.findMany({
      where: { id: { startsWith: DEMO_PREFIX }, tags: { contains: `"${DEMO_MARK}"` } },
      select: { id: true },
    });
    return rows.map((r) => r.id);
  }

  async addSite(tx: Tx, name: string): Promise<string> {
    const existing = await tx.site.findUnique({ where: { name } });
    if (existing) return existing.id;
    return (await tx.site.create({ data: { name } })).id;
  }

  async addNode(tx: Tx, node: DemoNode, siteId: string, at: Date): Promise<void> {
    await tx.node.create({
      data: {
        id: node.id,
        name: node.name,
        siteId,
        enrolledAt: at,
        lastSeenAt: node.lastSeenAt,
        agentVersion: 'demo',
        captureState: node.lastSeenAt ? 'capturing' : null,
        sampleRate: 48000,
        channels: 2,
        tags: JSON.stringify([DEMO_MARK]),
        location: node.location,
        notes: 'Demo data (POST /api/v1/demo/seed); removed by POST /api/v1/demo/reset.',
      },
    });
  }

  async addRecording(tx: Tx, recording: DemoRecording): Promise<void> {
    const finishedAt = new Date(recording.createdAt.getTime() + recording.durationMs);
    await tx.recording.create({
      data: {
        id: recording.id,
        nodeId: recording.nodeId,
        title: recording.title,
        state: 'completed',
        sampleRate: 48000,
        channels: 2,
        durationMs: recording.durationMs,
        createdAt: recording.createdAt,
        completedAt: finishedAt,
        notes: 'Demo data: no audio file.',
        customFields: JSON.stringify({ [DEMO_MARK]: 'true' }),
        job: {
          create: {
            nodeId: recording.nodeId,
            state: 'completed',
            durationSeconds: Math.round(recording.durationMs / 1000),
            requestedBy: 'demo seed',
            createdAt: recording.createdAt,
            startedAt: recording.createdAt,
            finishedAt,
          },
        },
      },
    });
  }

  async addHealthEvent(tx: Tx, event: DemoHealthEvent): Promise<void> {
    await tx.healthEvent.create({ data: { ...event, source: 'agent', measured: '{}' } });
  }

  /** Removes the nodes and everything recorded under them; then the seed's sites, when left empty. */
  async remove(tx: Tx, nodeIds: string[], siteNames: readonly string[]) {
    const recordings = await tx.recording.findMany({
      where: { nodeId: { in: nodeIds } },
      select: { id: true },
    });
    const recordingIds = recordings.map((r) => r.id);
    const byNode = { nodeId: { in: nodeIds } };
    await tx.recordingTag.deleteMany({ where: { recordingId: { in: recordingIds } } });
    await tx.uploadQueueItem.deleteMany({ where: { recordingId: { in: recordingIds } } });
    await tx.recordingJob.deleteMany({ where: byNode });
    await tx.recording.deleteMany({ where: byNode });
    const healthEvents = (await tx.healthEvent.deleteMany({ where: byNode })).count;
    await tx.nodeLifecycleJob.deleteMany({ where: byNode });
    await tx.nodeInterface.deleteMany({ where: byNode });
    await tx.scheduleTarget.deleteMany({ where: byNode });
    await tx.channelMapPlanItem.deleteMany({ where: byNode });
    await tx.channelMapAssignment.deleteMany({ where: byNode });
    const nodes = (await tx.node.deleteMany({ where: { id: { in: nodeIds } } })).count;
    const sites = (await tx.site.deleteMany({ where: { name: { in: [...siteNames] }, nodes: { none: {} } } }))
      .count;
    return { sites, nodes, recordings: recordingIds.length, healthEvents };
  }
}
