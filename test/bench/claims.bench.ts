/**
 * Job claims: 50 concurrent claimers over 500 queued jobs through the real HTTP API,
 * on SQLite and PostgreSQL. Reports claims/s and double claims (must be zero). The
 * reference is the same database's raw single-row UPDATE rate in the same run.
 */
import { AGENT_ROUTES, API_PREFIX } from '../../shared/src/agent-api.js';
import { benchController, withPostgres } from './harness.js';
import type { BenchRow } from './report.js';

const CLAIMERS = 50;
const JOBS = 500;
const NODES = 5;

async function claimRun(label: string, databaseUrl?: string): Promise<BenchRow[]> {
  const ctl = await benchController(databaseUrl);
  try {
    const credentials: { nodeId: string; credential: string }[] = [];
    for (let n = 0; n < NODES; n++)
      credentials.push({ nodeId: `claim-${n}`, credential: await ctl.enroll(`claim-${n}`) });
    for (let j = 0; j < JOBS; j++) {
      const created = await ctl.api(`${API_PREFIX}/recordings`, {
        body: { nodeId: `claim-${j % NODES}`, durationSeconds: 10 },
        token: ctl.ownerToken,
      });
      if (created.status !== 201)
        throw new Error(`create job: ${created.status} ${JSON.stringify(created.data)}`);
    }
    const claimed: string[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLAIMERS }, async (_, i) => {
        const { nodeId, credential } = credentials[i % NODES]!;
        for (;;) {
          const lease = await ctl.api(`${API_PREFIX}${AGENT_ROUTES.claimNext(nodeId)}`, {
            method: 'POST',
            token: credential,
          });
          if (lease.status !== 200) throw new Error(`claim: ${lease.status} ${JSON.stringify(lease.data)}`);
          if (!lease.data) return;
          claimed.push((lease.data as { jobId: string }).jobId);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const doubles = claimed.length - new Set(claimed).size;
    // Reference: raw updates of one row, same database, same run (no HTTP, no claim query).
    const refStarted = performance.now();
    const REF_UPDATES = 500;
    for (let i = 0; i < REF_UPDATES; i++)
      await ctl.db.node.update({ where: { id: 'claim-0' }, data: { clockOffsetMs: i } });
    const refRate = REF_UPDATES / ((performance.now() - refStarted) / 1000);
    const rate = claimed.length / seconds;
    return [
      {
        bench: 'claims',
        subject: `${label}: ${CLAIMERS} claimers over HTTP`,
        metric: 'claims/s',
        value: rate,
        unit: '/s',
        reference: { subject: `${label} raw single-row UPDATE`, value: refRate, ratio: rate / refRate },
      },
      { bench: 'claims', subject: label, metric: 'jobs claimed', value: claimed.length, unit: `of ${JOBS}` },
      { bench: 'claims', subject: label, metric: 'double claims', value: doubles, unit: '' },
    ];
  } finally {
    await ctl.stop();
  }
}

export async function claimsBench(): Promise<BenchRow[]> {
  const sqlite = await claimRun('SQLite');
  const pg = await withPostgres((url) => claimRun('PostgreSQL', url));
  return [...sqlite, ...pg];
}
