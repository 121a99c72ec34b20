/**
 * The audit writer guesses the chain head (the last hash it appended) and checks the guess in
 * the append itself. These pin that a wrong guess never forks the chain: another replica on
 * the same database appending in between, and an append that rolled back.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AuditInput } from '../../controller/src/core/audit.types.js';
import { type Db, openDatabase } from '../../controller/src/db/client.js';
import { AuditRepository, AuditService } from '../../controller/src/modules/audit/index.js';
import { type TestController, testController } from '../support/controller.js';

const event = (n: number): AuditInput => ({
  actor: { type: 'system', name: 'audit-chain test' },
  action: 'setup.owner_create',
  target: { type: 'user', id: `u-${n}` },
  outcome: 'success',
  after: { n },
});

describe(`audit chain with a cached head (${inject('testDb')})`, () => {
  let ctl: TestController;
  let replicaDb: Db;
  /** Another writer, as a second replica's would be: its own connections on PostgreSQL (replicas
   * share PostgreSQL only; on SQLite one process owns the file, so it shares the connection). */
  let replica: AuditService;

  beforeAll(async () => {
    ctl = await testController();
    const { provider } = ctl.target;
    replicaDb = provider === 'postgresql' ? openDatabase(ctl.target) : ctl.db;
    replica = new AuditService(replicaDb, new AuditRepository(replicaDb, provider));
  });
  afterAll(async () => {
    if (replicaDb !== ctl.db) await replicaDb.$disconnect();
    await ctl.stop();
  });

  it('keeps one chain when two replicas append in turn and at once', async () => {
    const a = ctl.services.audit;
    const b = replica;
    const before = await ctl.db.auditEvent.count();
    // In turn: each writer's guess is stale every time.
    for (let n = 0; n < 6; n++) await (n % 2 === 0 ? a : b).recordAlone(event(n));
    // At once, interleaved.
    await Promise.all(
      Array.from({ length: 40 }, (_, n) => (n % 3 === 0 ? b : a).recordAlone(event(100 + n))),
    );
    expect(await ctl.db.auditEvent.count()).toBe(before + 46);
    expect(await a.verifyChain()).toMatchObject({ ok: true, checked: before + 46 });
  });

  it('links the next event to the committed head after an append rolled back', async () => {
    const a = ctl.services.audit;
    await a.recordAlone(event(1));
    await expect(
      ctl.db.$transaction(async (tx) => {
        await a.record(tx, event(2)); // the writer now guesses this event's hash
        throw new Error('the change failed after its audit event was written');
      }),
    ).rejects.toThrow('the change failed');
    const id = await a.recordAlone(event(3));
    const last = await ctl.db.auditEvent.findUniqueOrThrow({ where: { id } });
    const previous = await ctl.db.auditEvent.findFirstOrThrow({
      where: { seq: { lt: last.seq } },
      orderBy: { seq: 'desc' },
    });
    expect(last.prevHash).toBe(previous.hash);
    expect((await a.verifyChain()).ok).toBe(true);
  });
});
