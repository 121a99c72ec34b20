/**
 * Connection epochs: each authenticated MQTT connection of a node gets a number larger than
 * any earlier connection of that node (across replicas when clustered: a Redis counter). The
 * broker stamps it into every `status` it passes on, the agent's last will included (stamped
 * when the agent connects), so a stale `offline` (the will of a connection that another has
 * replaced, published seconds later by the replica that held it, or by a surviving one on a
 * dead replica's behalf) loses to the newer connection's `online`.
 */
import { decodePayload, type NodeStatus } from '../../../shared/src/mqtt.js';

export interface ConnectionEpochs {
  /** A new connection of the node: its epoch (larger than every earlier one). */
  next(nodeId: string): Promise<number>;
  /** The newest epoch handed out for the node (0: none). */
  current(nodeId: string): Promise<number>;
}

/** One controller: a counter in memory. */
export class LocalEpochs implements ConnectionEpochs {
  private readonly epochs = new Map<string, number>();

  async next(nodeId: string): Promise<number> {
    const epoch = (this.epochs.get(nodeId) ?? 0) + 1;
    this.epochs.set(nodeId, epoch);
    return epoch;
  }

  async current(nodeId: string): Promise<number> {
    return this.epochs.get(nodeId) ?? 0;
  }
}

/** The part of a Redis client the clustered epochs use (ioredis). */
export interface EpochStore {
  eval(script: string, numberOfKeys: number, key: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
}

/**
 * The next epoch: Redis' clock in microseconds, or one more than the last when that is not
 * larger. From the clock, so epochs keep growing when Redis restarts without its data (a
 * counter would start again at 1 and every new connection would look stale to the replicas
 * that remember larger ones); one Redis clock for every replica, so their clocks do not matter.
 */
const NEXT_EPOCH = `
local t = redis.call('TIME')
local epoch = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if epoch <= last then epoch = last + 1 end
redis.call('SET', KEYS[1], string.format('%.0f', epoch))
return string.format('%.0f', epoch)
`;

/** Replicas sharing a Redis: one epoch per node there. */
export class RedisEpochs implements ConnectionEpochs {
  constructor(private readonly redis: EpochStore) {}

  async next(nodeId: string): Promise<number> {
    return Number(await this.redis.eval(NEXT_EPOCH, 1, epochKey(nodeId)));
  }

  async current(nodeId: string): Promise<number> {
    return Number((await this.redis.get(epochKey(nodeId))) ?? 0);
  }
}

const epochKey = (nodeId: string) => `earshot:mqtt:epoch:${nodeId}`;

/** A status as the broker passes it on: the agent's, plus the epoch of its connection. */
export function stampStatus(status: NodeStatus, epoch: number): Buffer {
  return Buffer.from(JSON.stringify({ ...status, epoch }), 'utf8');
}

/**
 * A stamped status (`stampStatus`), checked against the contract without its epoch; undefined
 * when it is not one (no epoch, or an invalid status).
 */
export function readStampedStatus(
  payload: Buffer | string,
): { status: NodeStatus; epoch: number } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { epoch, ...rest } = parsed as Record<string, unknown>;
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0) return undefined;
  const decoded = decodePayload('status', JSON.stringify(rest));
  return decoded.ok ? { status: decoded.payload, epoch } : undefined;
}
