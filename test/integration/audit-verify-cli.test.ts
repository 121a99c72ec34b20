/**
 * `earshot-controller verify-audit` as a process against a real database: exit 0 on
 * an intact chain; exit 1 naming the broken event after a row is edited, and after a
 * row is deleted, straight in the database.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type TestController, testController } from '../support/controller.js';
import { ROOT } from '../support/processes.js';
import { tempDir } from '../support/tmp.js';

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
  function verifyAudit(args = ['verify-audit'], dataDir?: string): Promise<CliResult> {
    const env: NodeJS.ProcessEnv = { ...process.env, EARSHOT_LOG_LEVEL: 'warn' };
    delete env.DATABASE_URL;
    delete env.EARSHOT_CONFIG_FILE;
    if (dataDir) env.EARSHOT_DATA_DIR = dataDir;
    else if (ctl.target.provider === 'postgresql') env.DATABASE_URL = ctl.target.url;
    else env.EARSHOT_DATA_DIR = ctl.config.dataDir;
    return new Promise((resolve) => {
      execFile(TSX, [CLI, ...args], { env, cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
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

  it('says where it looked when there is no database there, and creates none', async () => {
    const empty = await tempDir('verify-audit-empty');
    try {
      const result = await verifyAudit(['verify-audit'], empty.path);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`no controller database at ${join(empty.path, 'earshot.db')}`);
      expect(result.stderr).toContain('EARSHOT_DATA_DIR');
      expect(result.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
      expect(await readdir(empty.path)).toEqual([]);
    } finally {
      await empty.cleanup();
    }
  });

  it('names an unknown command as such, not as arguments to run', async () => {
    const result = await verifyAudit(['verfy-audit']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("unknown command 'verfy-audit'");
    expect(result.stderr).toContain('verify-audit');
  });

  it('names the setting when the HTTP port is taken, without a stack trace', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    const dir = await tempDir('port-taken');
    try {
      const result = await new Promise<CliResult>((resolve) => {
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          EARSHOT_DATA_DIR: dir.path,
          EARSHOT_HTTP_HOST: '127.0.0.1',
          EARSHOT_HTTP_PORT: String(port),
          EARSHOT_MQTT_PORT: '0',
          EARSHOT_LOG_LEVEL: 'warn',
        };
        delete env.DATABASE_URL;
        delete env.EARSHOT_CONFIG_FILE;
        execFile(TSX, [CLI, 'run'], { env, cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
        );
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${port} is already in use (EARSHOT_HTTP_PORT)`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      holder.close();
      await dir.cleanup();
    }
  });
});
