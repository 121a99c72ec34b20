/**
 * The embedded brokers of several controller replicas, clustered through one Redis
 * (EARSHOT_REDIS_URL): aedes' message bus is mqemitter-redis (a publish on any replica
 * reaches the subscribers on every one: an agent's `cmd`, the controller's own
 * subscriptions) and its persistence is aedes-persistence-redis (retained statuses, last
 * wills a surviving replica publishes for a dead one, client-id takeover). Connection epochs
 * are a Redis counter. An adapter: built by `openCluster`, closed by `close()` after aedes closed.
 */
import persistence, { type RedisPersistence } from 'aedes-persistence-redis';
import { Redis } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import type { Logger } from '../core/logger.js';
import { type ConnectionEpochs, RedisEpochs } from './connection-epochs.js';

/** How often replicas announce themselves; one silent for 3 beats is dead (its wills publish). */
export const CLUSTER_HEARTBEAT_MS = 1_000;

/** The control topic a replica asks every one on to close a node's connection (never an agent's). */
export const REVOKE_TOPIC = '$EARSHOT/revoke';

export interface BrokerCluster {
  /** aedes' `mq` and `persistence` options. */
  mq: unknown;
  persistence: RedisPersistence;
  epochs: ConnectionEpochs;
  close(): Promise<void>;
}

export function openCluster(redisUrl: string, log: Pick<Logger, 'warn' | 'error'>): BrokerCluster {
  const onError = (err: Error) => log.warn({ err: err.message }, 'Redis (clustered broker) error');
  const connection = () => new Redis(redisUrl, { lazyConnect: false }).on('error', onError);
  const counters = connection();
  const mq = mqemitterRedis({ subConn: connection(), pubConn: connection(), matchEmptyLevels: true });
  // Without a listener, an error of the bus would be thrown.
  (mq as unknown as { state: { on(event: 'error', f: (err: Error) => void): void } }).state.on(
    'error',
    onError,
  );
  const storeConnection = connection();
  const store = persistence({ conn: storeConnection });
  let closing: Promise<void> | undefined;
  return {
    mq,
    persistence: store,
    epochs: new RedisEpochs(counters),
    close: () => {
      // After aedes closed its bus: the store's own unsubscribe (destroy) would wait on that bus
      // forever, so its connection is closed instead (what the store holds lives in Redis).
      closing ??= Promise.all([storeConnection.quit(), counters.quit()]).then(
        () => undefined,
        (err: unknown) => log.error({ err }, 'closing the clustered broker connections failed'),
      );
      return closing;
    },
  };
}
