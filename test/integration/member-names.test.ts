/**
 * The member names kept from voice states, on the real database: a name is written when it is
 * new or changed, and again once ten minutes have passed (so `seen_at` stays roughly true); a
 * member seen without a name writes nothing; a write that fails (the guild is not registered)
 * is not remembered, so the next sighting writes it; a name kept in a caller's transaction (the
 * webhook's) commits or rolls back with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemberNamesService } from '../../controller/src/modules/attendance/members/member-names.service.js';
import { MembersRepository } from '../../controller/src/modules/attendance/members/members.repository.js';
import { type TestController, testController } from '../support/controller.js';

const GUILD = '110000000000000001';
const UNREGISTERED = '110000000000000009';
const ALICE = '310000000000000001';
const BOB = '310000000000000002';
const MIN = 60_000;

describe('member names', () => {
  let ctl: TestController;
  let nowMs = Date.parse('2026-12-06T10:00:00Z');
  let names: MemberNamesService;
  const stored = (guildId = GUILD) =>
    ctl.db.guildMember.findMany({ where: { guildId }, orderBy: { userId: 'asc' } });

  beforeAll(async () => {
    ctl = await testController();
    await ctl.db.guild.create({ data: { id: GUILD, name: 'Choir' } });
    names = new MemberNamesService({ repo: new MembersRepository(ctl.db), now: () => new Date(nowMs) });
  });
  afterAll(async () => {
    await ctl?.stop();
  });

  it('writes a name when first seen, not again while it stays the same, and again when it changes', async () => {
    const first = new Date(nowMs);
    await names.seen(GUILD, [{ userId: ALICE, displayName: 'Alice' }, { userId: BOB }]);
    expect(await stored()).toEqual([
      expect.objectContaining({ userId: ALICE, displayName: 'Alice', seenAt: first }),
    ]);
    nowMs += MIN;
    await names.seen(GUILD, [{ userId: ALICE, displayName: 'Alice' }]);
    expect((await stored())[0]!.seenAt).toEqual(first); // not written again
    await names.seen(GUILD, [{ userId: ALICE, displayName: 'Alice (host)' }]);
    expect(await stored()).toEqual([
      expect.objectContaining({ userId: ALICE, displayName: 'Alice (host)', seenAt: new Date(nowMs) }),
    ]);
    expect(await names.namesOf(GUILD, [ALICE, BOB])).toEqual(new Map([[ALICE, 'Alice (host)']]));
  });

  it('writes an unchanged name again once ten minutes have passed since it was written', async () => {
    const written = (await stored())[0]!.seenAt.getTime();
    nowMs = written + 9 * MIN;
    await names.seen(GUILD, [{ userId: ALICE, displayName: 'Alice (host)' }]);
    expect((await stored())[0]!.seenAt.getTime()).toBe(written);
    nowMs = written + 10 * MIN;
    await names.seen(GUILD, [{ userId: ALICE, displayName: 'Alice (host)' }]);
    expect((await stored())[0]!.seenAt.getTime()).toBe(nowMs);
  });

  it('does not remember a name whose write failed: the next sighting writes it', async () => {
    await expect(names.seen(UNREGISTERED, [{ userId: BOB, displayName: 'Bob' }])).rejects.toThrow();
    await ctl.db.guild.create({ data: { id: UNREGISTERED, name: 'Later' } });
    await names.seen(UNREGISTERED, [{ userId: BOB, displayName: 'Bob' }]);
    expect(await stored(UNREGISTERED)).toEqual([
      expect.objectContaining({ userId: BOB, displayName: 'Bob' }),
    ]);
  });

  it("a name kept within a caller's transaction goes with it: rolled back, nothing is kept", async () => {
    const rolledBack = ctl.db.$transaction(async (tx) => {
      await names.keepIn(tx, GUILD, { userId: BOB, displayName: 'Bob' });
      throw new Error('the event was refused');
    });
    await expect(rolledBack).rejects.toThrow('the event was refused');
    expect((await stored()).map((m) => m.userId)).toEqual([ALICE]);
    await ctl.db.$transaction((tx) => names.keepIn(tx, GUILD, { userId: BOB, displayName: 'Bob' }));
    expect((await stored()).map((m) => [m.userId, m.displayName])).toEqual([
      [ALICE, 'Alice (host)'],
      [BOB, 'Bob'],
    ]);
  });

  it('goes with its guild', async () => {
    await ctl.db.guild.delete({ where: { id: UNREGISTERED } });
    expect(await stored(UNREGISTERED)).toEqual([]);
  });
});
