/**
 * `earshot-controller verify-audit` as a process against a real database: exit 0 on
 * an intact chain; exit 1 naming the broken event after a row is edited, and after a
 * row is deleted, straight in the database.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type TestController, testController } from '../support/controller.js';
import { ROOT } from '../support/processes.js';

const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CLI = join(ROOT, 'controller/src/cli.ts');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('earshot-controller verify-audit', () => {
  let ctl: TestController;

  /** Runs the CLI on the test's database: the SQLite data dir, or DATABASE_URL for PostgreSQL. */
  function verifyAudit(): Promise<CliResult> {
    const env: NodeJS.ProcessEnv = { ...process.env, EARSHOT_LOG_LEVEL: 'warn' };
    delete env.DATABASE_URL;
    delete env.EARSHOT_CONFIG_FILE;
    if (ctl.target.provider === 'postgresql') env.DATABASE_URL = ctl.target.url;
    else env.EARSHOT_DATA_DIR = ctl.config.dataDir;
    return new Promise((resolve) => {
      execFile(TSX, [CLI, 'verify-audit'], { env, cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  beforeAll(async () => {
    ctl = await testController();
    const token = await ctl.ownerToken();
    for (let i = 0; i < 6; i++) {
      const created = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/auth/api-tokens',
        headers: bearer(token),
        payload: { name: `cli-${i}` },
      });
      expect(created.statusCode).toBe(201);
    }
  });
  afterAll(async () => ctl.stop());

  it('exits 0 on an intact chain', async () => {
    const events = await ctl.db.auditEvent.count();
    const result = await verifyAudit();
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout).toContain(`audit chain intact: ${events} events checked`);
  });

  it('exits 1 and names the edited event', async () => {
    const victim = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'auth.api_token.create' },
      orderBy: { seq: 'asc' },
    });
    await ctl.db.auditEvent.update({ where: { seq: victim.seq }, data: { outcome: 'denied' } });
    const broken = await verifyAudit();
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`audit chain BROKEN at event #${victim.seq} (${victim.id})`);
    expect(broken.stderr).toContain('event content was edited');

    await ctl.db.auditEvent.update({ where: { seq: victim.seq }, data: { outcome: victim.outcome } });
    expect((await verifyAudit()).code).toBe(0);
  });

  it('exits 1 and names the event after a deleted one', async () => {
    const rows = await ctl.db.auditEvent.findMany({ orderBy: { seq: 'asc' }, take: 5 });
    await ctl.db.auditEvent.delete({ where: { seq: rows[3]!.seq } });
    const broken = await verifyAudit();
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`audit chain BROKEN at event #${rows[4]!.seq} (${rows[4]!.id})`);
    expect(broken.stderr).toContain('previous event missing or changed');
  });
});
