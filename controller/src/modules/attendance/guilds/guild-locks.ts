/**
 * One operation at a time per guild, in this process: storing sessions, signing what
 * is pending and resetting a period must not interleave, or a session stored unsigned
 * while an unlock is signing could stay pending until the next unlock.
 */
export class GuildLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(guildId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(guildId) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(guildId, tail);
    void tail.then(() => {
      if (this.tails.get(guildId) === tail) this.tails.delete(guildId);
    });
    return next;
  }
}
