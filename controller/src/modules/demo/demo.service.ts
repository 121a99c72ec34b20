/**
 * Demo data for a console to show (development and demos only: the module is not built in
 * production mode). `seed` adds two sites, four nodes (three recently seen), a few finished
 * recordings and health events; `reset` removes what the seed added and nothing else. The rule
 * for "what the seed added": nodes whose id starts with `demo-` *and* whose tags hold `demo`
 * (an operator's own node matches only if both were chosen on purpose), everything recorded
 * under them, then the seed's two sites if no other node is in them. Both are one transaction
 * with their audit event; a seed while demo nodes exist is refused (409: reset first).
 */
import { randomUUID } from 'node:crypto';
import type { AuditWriter } from '../../core/audit.types.js';
import { conflict } from '../../core/errors.js';
import type { OpsLog } from '../../core/ops-log.js';
import type { CallContext } from '../../core/principal.js';
import type { Db, Tx } from '../../db/client.js';
import { DEMO_PREFIX, type DemoHealthEvent, type DemoNode, type DemoRepository } from './demo.repository.js';

export const DEMO_SITES = [`${DEMO_PREFIX}north`, `${DEMO_PREFIX}south`] as const;

export interface DemoCounts {
  sites: number;
  nodes: number;
  recordings: number;
  healthEvents: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export class DemoService {
  constructor(
    private readonly deps: { db: Db; repo: DemoRepository; audit: AuditWriter; ops: OpsLog; now: () => Date },
  ) {}

  async seed(ctx: CallContext): Promise<DemoCounts> {
    const { db, repo, audit, ops } = this.deps;
    const at = this.deps.now();
    const counts = await db.$transaction(async (tx) => {
      const existing = await repo.nodeIds(tx);
      if (existing.length > 0)
        throw conflict(`Demo data is already seeded (${existing.length} demo nodes): reset it first.`);
      const counts = await this.write(tx, at);
      await audit.recordChange(tx, ctx, {
        permission: 'auth:manage',
        action: 'demo.seed',
        target: null,
        after: counts,
      });
      return counts;
    });
    ops.record({ kind: 'demo.seeded', level: 'info', message: 'demo data seeded', data: { ...counts } });
    return counts;
  }

  async reset(ctx: CallContext): Promise<DemoCounts> {
    const { db, repo, audit, ops } = this.deps;
    const counts = await db.$transaction(async (tx) => {
      const counts = await repo.remove(tx, await repo.nodeIds(tx), DEMO_SITES);
      await audit.recordChange(tx, ctx, {
        permission: 'auth:manage',
        action: 'demo.reset',
        target: null,
        before: counts,
      });
      return counts;
    });
    ops.record({ kind: 'demo.reset', level: 'info', message: 'demo data removed', data: { ...counts } });
    return counts;
  }

  private async write(tx: Tx, at: Date): Promise<DemoCounts> {
    const { repo } = this.deps;
    const seen = (minutesAgo: number) => new Date(at.getTime() - minutesAgo * MINUTE);
    const nodes: DemoNode[] = [
      {
        id: 'demo-north-hall',
        name: 'North hall',
        site: DEMO_SITES[0],
        location: 'Main stage',
        lastSeenAt: seen(0),
      },
      {
        id: 'demo-north-foyer',
        name: 'North foyer',
        site: DEMO_SITES[0],
        location: 'Foyer',
        lastSeenAt: seen(0),
      },
      {
        id: 'demo-south-studio',
        name: 'South studio',
        site: DEMO_SITES[1],
        location: 'Studio B',
        lastSeenAt: seen(0),
      },
      {
        id: 'demo-south-annex',
        name: 'South annex',
        site: DEMO_SITES[1],
        location: 'Annex',
        lastSeenAt: seen(90),
      },
    ];
    const sites = new Map<string, string>();
    for (const name of DEMO_SITES) sites.set(name, await repo.addSite(tx, name));
    for (const node of nodes) await repo.addNode(tx, node, sites.get(node.site)!, at);
    let recordings = 0;
    for (const [i, node] of nodes.entries()) {
      for (const day of [1, 2]) {
        await repo.addRecording(tx, {
          id: randomUUID(),
          nodeId: node.id,
          title: `${node.name}: session ${day}`,
          createdAt: new Date(at.getTime() - day * 24 * HOUR - i * HOUR),
          durationMs: (45 + 15 * i) * MINUTE,
        });
        recordings++;
      }
    }
    const events = healthEvents(at);
    for (const event of events) await repo.addHealthEvent(tx, event);
    return { sites: DEMO_SITES.length, nodes: nodes.length, recordings, healthEvents: events.length };
  }
}

function healthEvents(at: Date): DemoHealthEvent[] {
  const ago = (minutes: number) => new Date(at.getTime() - minutes * MINUTE);
  const event = (e: Omit<DemoHealthEvent, 'id'>): DemoHealthEvent => ({ id: randomUUID(), ...e });
  return [
    event({
      nodeId: 'demo-north-foyer',
      type: 'clipping',
      severity: 'warning',
      status: 'open',
      message: 'Channel 1 clipped 14 times in the last minute',
      firstSeenAt: ago(35),
      lastSeenAt: ago(2),
      resolvedAt: null,
    }),
    event({
      nodeId: 'demo-south-annex',
      type: 'node_offline',
      severity: 'critical',
      status: 'open',
      message: 'No heartbeat for 90 minutes',
      firstSeenAt: ago(85),
      lastSeenAt: ago(1),
      resolvedAt: null,
    }),
    event({
      nodeId: 'demo-south-studio',
      type: 'silence',
      severity: 'info',
      status: 'resolved',
      message: 'Silence on all channels for 10 minutes',
      firstSeenAt: ago(300),
      lastSeenAt: ago(290),
      resolvedAt: ago(290),
    }),
  ];
}
