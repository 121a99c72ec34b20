/**
 * Live events: every change on the core change feed, written down for a retention window and
 * streamed to the users who may see it, as Server-Sent Events or over a WebSocket
 * (events.service.ts). Several replicas sharing one database each tail the same table.
 */
import type { NodeDirectory } from '../../core/node-directory.js';
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { PeriodicTask } from '../../platform/periodic-task.js';
import { EventsRepository } from './events.repository.js';
import { EVENTS_SOCKET_PATH, eventsRoutes, type MeterFeeds } from './events.routes.js';
import { type EventsAccess, type EventsAuditFeed, EventsService } from './events.service.js';

export type { EventsService } from './events.service.js';

/** How often the tail reads the other replicas' events (this replica's own wake it at once). */
const TAIL_MS = 1000;
/** How often events past the retention window, and expired tickets, are removed. */
const PRUNE_MS = 10 * 60_000;

export function createEventsModule(
  core: ModuleCore,
  ports: {
    auth: Pick<EventsAccess, 'current'>;
    accessGeneration: EventsAccess['generation'];
    nodes: Pick<NodeDirectory, 'scopeOf'>;
    /** Live meter frames, carried on a stream that asks for them (`?meters=`). */
    meters: MeterFeeds;
    /** The audit trail's growth, told to its readers (`audit.appended`). */
    auditFeed?: EventsAuditFeed;
  },
): AppModule<{ events: EventsService }> {
  const { config, log } = core;
  const events = new EventsService({
    db: core.db,
    repo: new EventsRepository(core.db, core.provider, core.raw),
    nodes: ports.nodes,
    access: { current: (principal) => ports.auth.current(principal), generation: ports.accessGeneration },
    audit: core.audit,
    metrics: core.metrics,
    log,
    now: core.now,
    retention: { maxAgeMs: config.liveEventsRetentionHours * 3600_000, maxEvents: config.liveEventsMaxKept },
    websocketPath: `/api/v1${EVENTS_SOCKET_PATH}`,
    ...(ports.auditFeed ? { auditFeed: ports.auditFeed } : {}),
  });
  // Every change, from every module, from now on (the feed is in-process: this replica's changes).
  core.changes.subscribe((change) => events.record(change));
  const tail = new PeriodicTask({
    what: 'live events tail',
    pass: () => events.tick(),
    log,
    intervalMs: TAIL_MS,
  });
  const prune = new PeriodicTask({
    what: 'live events pruning',
    pass: () => events.prune(),
    log,
    intervalMs: PRUNE_MS,
  });
  return {
    name: 'events',
    routes: [eventsRoutes(events, ports.meters)],
    components: [
      {
        name: 'live events',
        start: async () => {
          tail.start();
          prune.start();
        },
        stop: async () => {
          await Promise.all([tail.stop(), prune.stop()]);
          await events.stopAll();
        },
      },
    ],
    ports: { events },
  };
}
