/**
 * The access generation's reader: one read for the callers that ask before it starts, and never a
 * read that started before a caller asked (it could predate a change committed just before).
 */
import { describe, expect, it } from 'vitest';
import { GenerationReader } from '../../controller/src/modules/access/auth/access-generation.js';

/** A database whose generation is `value`; each read records the value it saw when it started. */
function database(synchronous: boolean) {
  const state = { value: 1, reads: 0 };
  const query = async () => {
    state.reads++;
    const seen = state.value;
    if (!synchronous) await new Promise((resolve) => setTimeout(resolve, 5)); // a round trip
    return seen;
  };
  return { state, query };
}

describe('GenerationReader', () => {
  it('gives the callers of one turn one read (SQLite: statements run synchronously)', async () => {
    const db = database(true);
    const reader = new GenerationReader(db.query);
    const values = await Promise.all(Array.from({ length: 30 }, () => reader.read()));
    expect(values).toEqual(Array(30).fill(1));
    expect(db.state.reads).toBe(1);
  });

  it('never answers with a read that started before the caller asked', async () => {
    const db = database(false);
    const reader = new GenerationReader(db.query);
    const first = reader.read();
    // Let the first read start, then change the generation and ask again while it runs.
    await new Promise((resolve) => setImmediate(resolve));
    db.state.value = 2;
    const second = reader.read();
    const third = reader.read();
    expect(await first).toBe(1);
    expect(await second).toBe(2);
    expect(await third).toBe(2);
    expect(db.state.reads).toBe(2); // the two who asked meanwhile share the next read
  });

  it('reads again for a caller who asks after a read ended', async () => {
    const db = database(true);
    const reader = new GenerationReader(db.query);
    expect(await reader.read()).toBe(1);
    db.state.value = 5;
    expect(await reader.read()).toBe(5);
    expect(db.state.reads).toBe(2);
  });

  it('passes a failed read to every caller that shared it, and reads afresh after', async () => {
    let fail = true;
    const reader = new GenerationReader(async () => {
      if (fail) throw new Error('database is locked');
      return 7;
    });
    const shared = [reader.read(), reader.read()];
    for (const read of shared) await expect(read).rejects.toThrow('database is locked');
    fail = false;
    expect(await reader.read()).toBe(7);
  });
});
