/**
 * The controller's health as an operator reads it: `health` (now: version, uptime, the caller's
 * nodes online, and for callers holding health:read over the whole fleet the controller-wide
 * figures: database, broker, Discord bot, queues, disk), `history` (the figures sampled every
 * minute, health-sampler.ts) and `events` (the operational event log, core/ops-log.ts).
 */
import { packageVersion } from '../../../../shared/src/version.js';
import type { ScopeFilter } from '../../core/access-set.js';
import { badRequest, forbidden } from '../../core/errors.js';
import type { OpsEventKind, OpsLevel } from '../../core/ops-log.js';
import { parsePositionCursor, positionCursor } from '../../core/page-position.js';
import { clampLimit, decodeCursor, encodeCursor, pageOf } from '../../core/pagination.js';
import type { Principal } from '../../core/principal.js';
import type { Provider } from '../../db/client.js';
import type { HealthSampleRow, OpsEventRow, OpsRepository } from './ops.repository.js';
import type {
  ControllerFigures,
  Health,
  HealthSampleView,
  HistoryQuery,
  OpsEventQuery,
  OpsEventView,
} from './ops.schemas.js';

/** What the ops module reads from the rest of the controller (ports, wired in app.ts). */
export interface OpsSources {
  nodes: { presences(filter?: ScopeFilter): Promise<{ online: boolean }[]> };
  broker: { isReady(): boolean; port(): number | undefined; connectedClients(): number };
  discord: { readonly enabled: boolean; readonly state: string };
  diskWatch: {
    last(): { freeBytes: number; totalBytes: number; headroomHours: number; at: Date } | undefined;
  };
}

const LEVEL_RANK: Record<OpsLevel, number> = { info: 0, warning: 1, error: 2 };

export class OpsService {
  constructor(
    private readonly deps: OpsSources & {
      repo: OpsRepository;
      provider: Provider;
      instanceId: string;
      startedAt: Date;
      now: () => Date;
    },
  ) {}

  async health(principal: Principal): Promise<Health> {
    if (principal.kind !== 'user') throw forbidden('users only');
    const { now, startedAt, instanceId } = this.deps;
    const at = now();
    const fleet = principal.access.hasFleet('health:read');
    const [nodes, controller] = await Promise.all([
      this.nodeCounts(principal.access.filter('health:read')),
      fleet ? this.controllerFigures() : null,
    ]);
    return {
      version: packageVersion(),
      instanceId,
      startedAt: startedAt.toISOString(),
      uptimeSeconds: Math.max(0, Math.floor((at.getTime() - startedAt.getTime()) / 1000)),
      at: at.toISOString(),
      nodes,
      controller,
    };
  }

  /** The fleet-wide figures a sample keeps. */
  async sample(): Promise<{ nodes: HealthSampleView['nodes']; controller: ControllerFigures }> {
    const [nodes, controller] = await Promise.all([this.nodeCounts({ all: true }), this.controllerFigures()]);
    return { nodes, controller };
  }

  /** Samples oldest first; `nextCursor` continues after the last minute of the page. */
  async history(query: HistoryQuery) {
    const limit = clampLimit(query.limit);
    const from = dateOf(query.from, 'from');
    const to = dateOf(query.to, 'to');
    if (from && to && from > to) throw badRequest('from must not be after to');
    const afterMs = decodeCursor<number>(query.cursor, 'time');
    const after = afterMs === undefined ? undefined : new Date(afterMs);
    const rows = await this.deps.repo.listSamples({ from, to, after }, limit);
    return pageOf(rows, limit, presentSample, (row) => encodeCursor(row.minute.getTime()));
  }

  /** Newest first. */
  async events(query: OpsEventQuery) {
    const limit = clampLimit(query.limit);
    const since = dateOf(query.since, 'since');
    const until = dateOf(query.until, 'until');
    if (since && until && since > until) throw badRequest('since must not be after until');
    const levels = query.level
      ? (Object.keys(LEVEL_RANK) as OpsLevel[]).filter((l) => LEVEL_RANK[l] >= LEVEL_RANK[query.level!])
      : undefined;
    const rows = await this.deps.repo.listEvents(
      { kinds: query.kind ? [query.kind] : undefined, levels, since, until },
      limit,
      parsePositionCursor(query.cursor),
    );
    return pageOf(rows, limit, presentEvent, (row) => positionCursor({ createdAt: row.at, id: row.id }));
  }

  private async nodeCounts(filter: ScopeFilter) {
    const presences = await this.deps.nodes.presences(filter);
    return { total: presences.length, online: presences.filter((p) => p.online).length };
  }

  private async controllerFigures(): Promise<ControllerFigures> {
    const { repo, provider, broker, discord, diskWatch } = this.deps;
    // A database that does not answer is a figure here, not a failed request.
    const [database, queues] = await Promise.all([repo.ping(), repo.queueDepths().catch(() => null)]);
    const reading = diskWatch.last();
    return {
      database: { provider, ...database },
      broker: {
        listening: broker.isReady(),
        port: broker.port() ?? null,
        clients: broker.connectedClients(),
      },
      discordBot: { enabled: discord.enabled, state: discord.state },
      queues,
      disk: reading
        ? {
            freeBytes: Math.max(0, Math.round(reading.freeBytes)),
            totalBytes: Math.max(0, Math.round(reading.totalBytes)),
            headroomHours: Number.isFinite(reading.headroomHours) ? Math.max(0, reading.headroomHours) : null,
            readAt: reading.at.toISOString(),
          }
        : null,
    };
  }
}

function dateOf(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw badRequest(`${name} is not a valid date-time`);
  return date;
}

function presentSample(row: HealthSampleRow): HealthSampleView {
  const figures = JSON.parse(row.figures) as Pick<HealthSampleView, 'nodes' | 'controller'>;
  return {
    minute: row.minute.toISOString(),
    takenAt: row.takenAt.toISOString(),
    instanceId: row.instanceId,
    ...figures,
  };
}

function presentEvent(row: OpsEventRow): OpsEventView {
  return {
    id: row.id,
    at: row.at.toISOString(),
    kind: row.kind as OpsEventKind,
    level: row.level as OpsLevel,
    instanceId: row.instanceId,
    message: row.message,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}
