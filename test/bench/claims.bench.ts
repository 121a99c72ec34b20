/**
 * Job claims: 50 concurrent claimers over 500 queued jobs through the real HTTP API,
 * on SQLite and PostgreSQL. Reports claims/s and double claims (must be zero). The
 * reference is the same database's raw single-row UPDATE rate in the same run.
 *
 * Then the empty poll, what a fleet sends most: claim-next with nothing queued, at the same
 * concurrency (50 keep-alive connections from the api bench's forked load generator), beside
 * a Fastify hello-world under the same load (mean of before and after). Reports req/s, the
 * ratio, and the audit events the polls wrote (must be zero: an empty poll changes nothing).
 *
 * Numbers on the 2-core dev box (shared with other work, so noisy; compare ratios):
 *   before (claim = UPDATE, a second UPDATE for the lease, findUnique with includes; audit =
 *   advisory lock, head read, scope read, model insert; the node read twice per request):
 *     SQLite 122–157 claims/s = 0.08–0.10× raw UPDATE; PostgreSQL 118–143/s = 0.10–0.12×.
 *   after (one UPDATE…RETURNING sets the lease and returns the recording's format; the audit
 *   append guesses the chain head and checks it in the insert; the scope comes from the
 *   caller; no node re-read, the credential read is one raw query; a draining node skips the
 *   empty-poll peek): SQLite 225–347 claims/s = 0.25–0.39×; PostgreSQL 175–237/s =
 *   0.20–0.24×; zero double claims. Empty poll: SQLite 1,745–2,365 req/s = 0.04–0.08×
 *   hello-world, PostgreSQL 1,059–1,827 req/s = 0.04–0.05×, no audit event, no transaction.
 *   What was left was Prisma's cost per call (in-process: tx begin/commit ≈ 0.25 ms, each raw
 *   statement 0.15–0.35 ms, each model-API query ≈ 0.6 ms; the reference is one such query),
 *   and on SQLite the adapter's transaction mutex held across event-loop turns.
 *   now (the claim and its audit append on the raw driver, controller/src/db/raw.ts, on the
 *   connections Prisma uses: SQLite one synchronous BEGIN…COMMIT on the shared handle, taking
 *   turns with Prisma's transactions; PostgreSQL pipelined on the shared pg Pool, BEGIN + claim
 *   in one round trip, then chain lock + append (head read and SHA-256 in SQL) + COMMIT in a
 *   second, so the chain lock is held only while the server runs them; the credential read and
 *   the empty-poll peek on the raw driver too): SQLite 320–758 claims/s = 0.59–0.71× raw UPDATE,
 *   PostgreSQL 304–568/s = 0.45–0.62× (runs with load average 4–6 from other work on the 2 cores;
 *   2,000 claims in-process: SQLite 0.69–0.87×, PostgreSQL 0.62–0.77×); zero double claims, the
 *   chain verifies. Empty poll: SQLite 7,222–10,828 req/s = 0.20–0.36× hello-world, PostgreSQL
 *   2,105–4,793 req/s = 0.08–0.23×.
 *   then (a verified node credential cached while the access generation holds, so a claim or
 *   a poll reads a generation shared by the requests waiting at that moment instead of its own
 *   credential row; modules/nodes/credential-cache.ts): SQLite 0.49–0.69× raw UPDATE,
 *   PostgreSQL 0.43–0.86× (5 of 6 runs ≥ 0.5×; load average 4–7 from other work), zero double
 *   claims; empty poll SQLite 0.31–0.43× hello-world, PostgreSQL 0.18–0.25×. CPU per claim
 *   in-process (claimers and server, 2,000 claims, PostgreSQL): 1,244–1,403 → 1,120–1,250 µs.
 *   2026-12-06, same box, another engineer's capture-cost bench running at times (load average
 *   1.3–4.9), old and new builds alternated: before, SQLite 343–533 claims/s = 0.41–0.55× raw
 *   UPDATE (6 runs; one more on a quiet box: 0.46×), PostgreSQL 455–528/s = 0.78–0.93×. A CPU
 *   profile of the SQLite claim phase (EARSHOT_BENCH_CLAIMS_PROFILE) showed the durable part
 *   small (a COMMIT in WAL with synchronous=FULL ≈ 0.2 ms here) but a tenth of the claim's CPU,
 *   and as much again in Prisma appending the live events the claims raise (a transaction on the
 *   one connection, held across turns of the loop, so claims queued behind it, and the query
 *   compiler run again for each new batch size).
 *   now (group commit: SQLite's raw transactions asked for together run in one BEGIN…COMMIT,
 *   each in its own savepoint, settling after it, db/raw-sqlite.ts; 500 claims took 69 commits,
 *   BEGIN/COMMIT CPU 102 → 32 ms; live events appended on the raw driver, one prepared INSERT
 *   per event, on PostgreSQL lock + inserts + COMMIT in one round trip): SQLite 593–954
 *   claims/s = 0.68–0.95× (15 runs; group commit alone, 2 runs: 0.60–0.80×), PostgreSQL
 *   406–595/s = 0.61–0.97× (7 runs; 0.92–0.97× in the 2 alternated with the old build, which
 *   gave 0.85–0.90× then); 500 of 500 claimed, zero double claims in every run. Empty poll
 *   unchanged: SQLite 12,166–15,199 req/s = 0.27–0.44× hello-world, PostgreSQL 5,615–7,097 =
 *   0.13–0.18×. Left: the HTTP round trip, the claimers' fetch (a fifth of this process's CPU)
 *   and, on PostgreSQL, the sockets' write syscalls to the server.
 * Env: EARSHOT_BENCH_CLAIMS_POLL_SECONDS (5); EARSHOT_BENCH_CLAIMS_PROFILE (a directory: a CPU
 * profile of each database's claim phase is written there, claimers and server alike, as they
 * share this process; open it in Chrome's DevTools or speedscope).
 */
import { AGENT_ROUTES, API_PREFIX } from '../../shared/src/agent-api.js';
import { helloWorld, LoadGenerator, type Measured, measure, type Target } from './api.bench.js';
import { type BenchController, benchController, profiled, withPostgres } from './harness.js';
import type { BenchRow } from './report.js';

const CLAIMERS = 50;
const JOBS = 500;
const NODES = 5;

const POLL_SECONDS = Number(process.env.EARSHOT_BENCH_CLAIMS_POLL_SECONDS || 5);
const PROFILE_DIR = process.env.EARSHOT_BENCH_CLAIMS_PROFILE;

interface PollContext {
  generator: LoadGenerator;
  hello: Target;
}

/** Empty claim-next polls vs hello-world, same connections, same windows. */
async function pollRun(
  label: string,
  ctl: BenchController,
  node: { nodeId: string; credential: string },
  { generator, hello }: PollContext,
): Promise<BenchRow[]> {
  const settings = { connections: CLAIMERS, seconds: POLL_SECONDS, warmupSeconds: 1 };
  const poll: Target = {
    port: Number(new URL(ctl.base).port),
    path: `${API_PREFIX}${AGENT_ROUTES.claimNext(node.nodeId)}`,
    headers: { authorization: `Bearer ${node.credential}` },
    method: 'POST',
  };
  const before = await measure(generator, settings, `${label}: hello-world (before)`, hello);
  const auditBefore = await ctl.db.auditEvent.count();
  const polled: Measured = await measure(generator, settings, `${label}: empty claim-next`, poll);
  const auditWritten = (await ctl.db.auditEvent.count()) - auditBefore;
  const after = await measure(generator, settings, `${label}: hello-world (after)`, hello);
  const ref = (before.perSecond + after.perSecond) / 2;
  const subject = `${label}: empty claim-next poll, ${CLAIMERS} conns`;
  return [
    {
      bench: 'claims',
      subject,
      metric: 'req/s',
      value: polled.perSecond,
      unit: '/s',
      reference: { subject: `hello-world, ${CLAIMERS} conns`, value: ref, ratio: polled.perSecond / ref },
    },
    { bench: 'claims', subject, metric: 'p99', value: polled.p99Ms, unit: 'ms' },
    {
      bench: 'claims',
      subject,
      metric: 'audit events written',
      value: auditWritten,
      unit: `by ${polled.requests}`,
    },
  ];
}

async function claimRun(label: string, polls: PollContext, databaseUrl?: string): Promise<BenchRow[]> {
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
    await profiled(PROFILE_DIR, `claims-${label}`, () =>
      Promise.all(
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
      ),
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
      ...(await pollRun(label, ctl, credentials[0]!, polls)),
    ];
  } finally {
    await ctl.stop();
  }
}

export async function claimsBench(): Promise<BenchRow[]> {
  const hello = await helloWorld();
  const generator = new LoadGenerator();
  try {
    const polls = { generator, hello: { port: hello.port, path: '/hello', headers: {} } };
    const sqlite = await claimRun('SQLite', polls);
    const pg = await withPostgres((url) => claimRun('PostgreSQL', polls, url));
    return [...sqlite, ...pg];
  } finally {
    await generator.close();
    await hello.close();
  }
}
