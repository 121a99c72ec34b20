import type { RawDb } from '../../../db/raw.js';

/**
 * One operation at a time per guild: storing sessions, signing what is pending and resetting a
 * period must not interleave, or a session stored unsigned while an unlock is signing could stay
 * pending until the next unlock. In this process, a chain per guild; across the controllers on
 * one PostgreSQL (replicas: the leader's bot stores sessions while any replica serves the API),
 * each operation also holds the guild's advisory lock (`RawDb.exclusive`).
 */
export class GuildLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(private readonly cluster: Pick<RawDb, 'exclusive'>) {}

  run<T>(guildId: string, fn: () => Promise<T>): Promise<T> {
    const held = () => this.cluster.exclusive(`attendance-guild:${guildId}`, fn);
    const previous = this.tails.get(guildId) ?? Promise.resolve();
    const next = previous.then(held, held);
    const tail = next.catch(() => undefined);
    this.tails.set(guildId, tail);
    void tail.then(() => {
      if (this.tails.get(guildId) === tail) this.tails.delete(guildId);
    });
    return next;
  }
}
