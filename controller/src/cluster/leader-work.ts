/**
 * The work the elected leader runs, in parts: each part is started in order when this replica
 * is elected and stopped in reverse when it is demoted (or stops). A part that fails to start
 * is stopped with the ones started before it, and the failure goes to the election (which steps down).
 * A part that fails to stop is logged; the others still stop.
 *
 * The parts: attendance's (the Discord bot, its scheduled resets and summaries, the open
 * sessions handed over in the database) and the modules' `leaderComponents` (retention, the
 * audit chain watch): what must run once across replicas and is not made safe by row claims.
 */
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../metrics.js';
import {
  electLeader,
  type LeaderCallbacks,
  type LeaderElection,
  type LeaderLease,
} from './leader-election.js';

/** A part of the leader's work: a name (for the log), its start (given the lease it asks before each unit) and stop. */
export interface LeaderPart {
  name: string;
  start?: (lease: LeaderLease) => Promise<void>;
  stop?: () => Promise<void>;
}

/** Attendance's callbacks as a part. */
export function leaderPart(name: string, work: LeaderCallbacks): LeaderPart {
  return { name, start: (lease) => work.onElected(lease), stop: () => work.onDemoted() };
}

export function leaderWorkOf(parts: LeaderPart[], log: Pick<Logger, 'info' | 'error'>): LeaderCallbacks {
  let started: LeaderPart[] = [];
  const stopAll = async () => {
    for (const part of started.reverse()) {
      try {
        await part.stop?.();
      } catch (err) {
        log.error({ err, part: part.name }, `leader work: stopping ${part.name} failed`);
      }
    }
    started = [];
  };
  return {
    onElected: async (lease) => {
      for (const part of parts) {
        started.push(part); // a part that fails to start is stopped too (it undoes what it began)
        try {
          await part.start?.(lease);
        } catch (err) {
          await stopAll();
          throw err;
        }
      }
      log.info(
        { parts: parts.map((p) => p.name) },
        `leader work started: ${parts.map((p) => p.name).join(', ')}`,
      );
    },
    onDemoted: async () => {
      if (started.length === 0) return;
      await stopAll();
      log.info({}, 'leader work stopped');
    },
  };
}

/**
 * The leader election of this app: its work is attendance's (the bot first), then the modules'
 * leader components; with a PostgreSQL URL the replicas sharing it elect one, else this
 * process leads alone.
 */
export function electLeaderFor(
  modules: { leaderComponents?: LeaderPart[] }[],
  attendanceWork: LeaderCallbacks,
  options: { provider: string; databaseUrl?: string; log: Pick<Logger, 'info' | 'warn' | 'error'> },
): LeaderElection {
  const parts = [
    leaderPart('attendance', attendanceWork),
    ...modules.flatMap((m) => m.leaderComponents ?? []),
  ];
  const connectionString = options.provider === 'postgresql' ? options.databaseUrl : undefined;
  return electLeader({ work: leaderWorkOf(parts, options.log), connectionString, log: options.log });
}

/** The cluster gauges, before each scrape: this replica's role and the agents it holds. */
export function clusterGauges(
  metrics: Pick<Metrics, 'setCluster'>,
  leadership: Pick<LeaderElection, 'role'>,
  replica: string,
  broker: { connectedClients(): number },
): () => Promise<void> {
  return async () => metrics.setCluster(replica, leadership.role, broker.connectedClients());
}
