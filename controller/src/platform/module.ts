/**
 * What a module is to the composition root (app.ts): a unit built by one factory in its
 * `modules/<name>/index.ts`, from the core and the ports of modules listed before it, that
 * returns its routes, its components (started in list order, stopped in reverse), its metric
 * collectors and the ports it offers to the modules after it.
 */
import type { FastifyPluginAsync, RawServerDefault } from 'fastify';
import type { Config } from '../config.js';
import type { AuditWriter } from '../core/audit.types.js';
import type { ChangeFeed } from '../core/change-feed.js';
import type { Logger } from '../core/logger.js';
import type { OpsLog } from '../core/ops-log.js';
import type { Db, Provider } from '../db/client.js';
import type { RawDb } from '../db/raw.js';
import type { Metrics } from '../metrics.js';

/** What every module may use. */
export interface ModuleCore {
  config: Config;
  db: Db;
  /** The driver beneath `db`, on its connections: for the few hottest queries (db/raw.ts). */
  raw: RawDb;
  provider: Provider;
  /** The clock (injected by tests). */
  now: () => Date;
  log: Logger;
  metrics: Metrics;
  audit: AuditWriter;
  /** Committed changes announced to the modules that act on them (core/change-feed.ts). */
  changes: ChangeFeed;
  /** The operational event log (core/ops-log.ts): start, stop, failing runners, for operators. */
  ops: OpsLog;
}

/** Something with a life: started once in list order, stopped once in reverse. */
export interface Component {
  name: string;
  start?: () => Promise<void>;
  stop?: () => Promise<void>;
}

/**
 * A part of the leader's work: started with the leader's lease, which it asks before each unit
 * of work (`holds()`: false at once when this replica may no longer lead; cluster/leader-election.ts).
 */
export interface LeaderComponent {
  name: string;
  start?: (lease: { holds(): boolean; unexpired(): boolean }) => Promise<void>;
  stop?: () => Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: route plugins use the TypeBox provider's own types.
export type RoutePlugin = FastifyPluginAsync<any, RawServerDefault, any>;

export interface AppModule<Ports extends object = object> {
  name: string;
  /** Routes under `/api/v1`, registered in the module list's order. */
  routes?: RoutePlugin[];
  /** Routes at the root (probes, `/metrics`, the MQTT WebSocket). */
  rootRoutes?: RoutePlugin[];
  components?: Component[];
  /**
   * Work that must run once across the replicas sharing a database (cluster/leader-work.ts):
   * started when this replica is elected leader, stopped when it no longer is. On SQLite the
   * one controller is the leader while it runs.
   */
  leaderComponents?: LeaderComponent[];
  /** Run before each `/metrics` scrape. */
  collectors?: (() => Promise<void>)[];
  ports: Ports;
}
